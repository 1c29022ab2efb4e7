#pragma once
// Reading text inputs (MatrixMarket, TSV, CSV), plain or gzip-compressed,
// either whole into one buffer (parsers that split the work over threads) or
// in blocks of complete lines (streaming parsers that must not hold the text
// of a large file). Compression is recognised by the gzip magic bytes, not by
// the name, so a plain file called *.gz or a gzipped one without the suffix
// both read correctly. Every failure is an InputError naming the file.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace scanpp::io {

// The decompressed bytes of a file. One '\0' follows the last byte, so
// parsers may look one character past the end without a bounds check.
// Plain files are memory-mapped (no copy); gzip files are inflated into memory.
struct TextBuffer {
  const char* data = nullptr;
  size_t size = 0;
  bool was_gzip = false;
  std::shared_ptr<const void> owner;  // keeps the mapping or allocation alive
  const char* begin() const { return data; }
  const char* end() const { return data + size; }
  std::string_view view() const { return {data, size}; }
};

// True when the file starts with the gzip magic bytes 1f 8b.
bool is_gzip_file(const std::string& path);
// Whole file, decompressed when gzip (several concatenated members allowed).
TextBuffer read_text_file(const std::string& path);

// Blocks of whole lines: every block returned by next() ends just after a
// '\n' (or at the end of the file), so a line never straddles two blocks.
class TextBlockReader {
 public:
  explicit TextBlockReader(const std::string& path, size_t block_bytes = size_t{8} << 20);
  ~TextBlockReader();
  TextBlockReader(const TextBlockReader&) = delete;
  TextBlockReader& operator=(const TextBlockReader&) = delete;

  // Next block of complete lines; false at the end of the file. The view stays
  // valid until the next call.
  bool next(std::string_view& block);
  const std::string& path() const { return path_; }
  bool is_gzip() const;

 private:
  struct Source;
  std::string path_;
  std::unique_ptr<Source> src_;
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0, begin_ = 0, end_ = 0;  // unread bytes are buf_[begin_, end_)
  bool eof_ = false;
};

// Lines of a file one by one (without the '\n'; a trailing '\r' is kept for
// the caller to decide), with 1-based line numbers for error messages.
class LineReader {
 public:
  explicit LineReader(const std::string& path, size_t block_bytes = size_t{8} << 20)
      : blocks_(path, block_bytes) {}
  bool next(std::string_view& line);
  int64_t line_number() const { return line_no_; }
  const std::string& path() const { return blocks_.path(); }

 private:
  TextBlockReader blocks_;
  std::string_view block_;
  int64_t line_no_ = 0;
};

}  // namespace scanpp::io
