#include "scanpp/io/text_reader.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "scanpp/core/error.hpp"
#include "scanpp/core/huge_pages.hpp"

namespace scanpp::io {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& problem) { throw InputError(path, "", problem); }

std::string errno_text() { return std::strerror(errno); }

// Owns a file descriptor opened for reading.
class Fd {
 public:
  explicit Fd(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail(path, "cannot open file: " + errno_text());
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail(path, "cannot stat file: " + errno_text());
    if (S_ISDIR(st.st_mode)) {
      ::close(fd_);
      fd_ = -1;
      fail(path, "is a folder, not a file");
    }
    size_ = S_ISREG(st.st_mode) ? static_cast<size_t>(st.st_size) : 0;
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  // Reads up to n bytes; 0 only at the end of the file.
  size_t read_some(char* dst, size_t n) {
    for (;;) {
      const ssize_t r = ::read(fd_, dst, std::min<size_t>(n, size_t{1} << 30));
      if (r >= 0) return static_cast<size_t>(r);
      if (errno != EINTR) fail(path_, "cannot read file: " + errno_text());
    }
  }
  // Reads until n bytes or the end of the file; returns the count read.
  size_t read_full(char* dst, size_t n) {
    size_t got = 0;
    while (got < n) {
      const size_t r = read_some(dst + got, n - got);
      if (r == 0) break;
      got += r;
    }
    return got;
  }
  size_t size_hint() const { return size_; }
  int get() const { return fd_; }

 private:
  std::string path_;
  int fd_ = -1;
  size_t size_ = 0;
};

// A growable byte buffer without zero-initialisation (the bytes are about to
// be overwritten by read() or inflate()).
struct Growable {
  std::unique_ptr<char[]> p;
  size_t cap = 0, size = 0;
  void reserve(size_t n) {
    if (n <= cap) return;
    std::unique_ptr<char[]> q(new char[n]);
    if (n >= kHugePageAdviceBytes) advise_huge_pages(q.get(), n);
    if (size) std::memcpy(q.get(), p.get(), size);
    p = std::move(q);
    cap = n;
  }
};

bool has_gzip_magic(const unsigned char* b, size_t n) { return n >= 2 && b[0] == 0x1f && b[1] == 0x8b; }

// Streaming gzip decompression of a byte source, member after member.
class Inflater {
 public:
  explicit Inflater(std::string path) : path_(std::move(path)) {
    std::memset(&zs_, 0, sizeof(zs_));
    // 16 + MAX_WBITS: gzip wrapper only; inflate checks the CRC and length.
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) fail(path_, "cannot initialise zlib");
  }
  ~Inflater() { inflateEnd(&zs_); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Decompresses from in[0, n_in) into out[0, n_out). Returns bytes written;
  // `consumed` tells how much input was used. Sets `finished` when a member
  // ended and no further member follows in the given input (the caller must
  // then say whether more input exists).
  size_t step(const unsigned char* in, size_t n_in, size_t& consumed, char* out, size_t n_out) {
    zs_.next_in = const_cast<unsigned char*>(in);
    zs_.avail_in = static_cast<uInt>(std::min<size_t>(n_in, std::numeric_limits<uInt>::max()));
    zs_.next_out = reinterpret_cast<unsigned char*>(out);
    zs_.avail_out = static_cast<uInt>(std::min<size_t>(n_out, std::numeric_limits<uInt>::max()));
    const uInt in0 = zs_.avail_in, out0 = zs_.avail_out;
    member_done_ = false;
    const int rc = inflate(&zs_, Z_NO_FLUSH);
    consumed = in0 - zs_.avail_in;
    const size_t produced = out0 - zs_.avail_out;
    if (rc == Z_STREAM_END) {
      member_done_ = true;
      inflateReset(&zs_);
      in_member_ = false;
    } else if (rc == Z_OK || rc == Z_BUF_ERROR) {
      if (consumed || produced) in_member_ = true;
    } else {
      fail(path_, std::string("corrupt gzip data (") + (zs_.msg ? zs_.msg : "zlib error " + std::to_string(rc)) + ")");
    }
    return produced;
  }
  bool member_done() const { return member_done_; }
  bool in_member() const { return in_member_; }

 private:
  std::string path_;
  z_stream zs_;
  bool member_done_ = false;
  bool in_member_ = false;
};

// After a complete member, with all the remaining input in view: another
// member follows, or only zero padding (which gzip -d also accepts).
enum class AfterMember { NextMember, End };
AfterMember classify_rest(const std::string& path, const unsigned char* rest, size_t n) {
  if (n >= 2 && has_gzip_magic(rest, n)) return AfterMember::NextMember;
  if (std::all_of(rest, rest + n, [](unsigned char c) { return c == 0; })) return AfterMember::End;
  fail(path, "unexpected bytes after the end of the gzip data");
}

}  // namespace

bool is_gzip_file(const std::string& path) {
  Fd fd(path);
  unsigned char magic[2] = {0, 0};
  const size_t n = fd.read_full(reinterpret_cast<char*>(magic), 2);
  return has_gzip_magic(magic, n);
}

namespace {

// The bytes of a file as they are on disk: mapped when the page after the
// last byte is guaranteed to read as zero (the file does not end on a page
// boundary), read into memory otherwise. (Reading into huge pages instead
// took as long on PBMC 3k's 28 MB matrix: the copy costs what the mapping's
// first touch does.)
TextBuffer raw_file(const std::string& path) {
  Fd fd(path);
  TextBuffer out;
  const size_t n = fd.size_hint();
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  if (n > 0 && n % page != 0) {
    void* m = ::mmap(nullptr, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
    if (m != MAP_FAILED) {
      out.data = static_cast<const char*>(m);
      out.size = n;
      out.owner = std::shared_ptr<const void>(m, [n](const void* q) { ::munmap(const_cast<void*>(q), n); });
      return out;
    }
  }
  Growable raw;
  // Room for the bytes, the terminating zero and the one-byte read that
  // finds the end (with one byte less, that read would first double the buffer).
  raw.reserve(n + 2);
  for (;;) {
    if (raw.cap - raw.size < 2) raw.reserve(std::max<size_t>(raw.cap * 2, 1 << 16));
    const size_t r = fd.read_some(raw.p.get() + raw.size, raw.cap - raw.size - 1);
    if (r == 0) break;
    raw.size += r;
  }
  raw.p[raw.size] = '\0';
  out.data = raw.p.get();
  out.size = raw.size;
  out.owner = std::shared_ptr<const char[]>(raw.p.release());
  return out;
}

}  // namespace

TextBuffer read_text_file(const std::string& path) {
  TextBuffer raw = raw_file(path);
  const auto* in = reinterpret_cast<const unsigned char*>(raw.data);
  if (!has_gzip_magic(in, raw.size)) return raw;
  // The last member's trailer holds its length mod 2^32: a good first guess.
  size_t guess = raw.size * 4;
  if (raw.size >= 18) {
    const unsigned char* t = in + raw.size - 4;
    const size_t isize = size_t{t[0]} | size_t{t[1]} << 8 | size_t{t[2]} << 16 | size_t{t[3]} << 24;
    if (isize >= raw.size / 2) guess = isize;
  }
  Growable dec;
  dec.reserve(guess + 2);  // as raw_file: one byte of room past the end
  Inflater inf(path);
  size_t pos = 0;
  for (;;) {
    if (dec.cap - dec.size < 2) dec.reserve(dec.cap * 2);
    size_t used = 0;
    dec.size += inf.step(in + pos, raw.size - pos, used, dec.p.get() + dec.size, dec.cap - dec.size - 1);
    pos += used;
    if (inf.member_done()) {
      if (classify_rest(path, in + pos, raw.size - pos) == AfterMember::End) break;
      continue;
    }
    if (pos == raw.size && dec.cap - dec.size >= 2) fail(path, "gzip data is truncated (the file ends inside the stream)");
  }
  dec.p[dec.size] = '\0';
  TextBuffer out;
  out.data = dec.p.get();
  out.size = dec.size;
  out.was_gzip = true;
  out.owner = std::shared_ptr<const char[]>(dec.p.release());
  return out;
}

// The raw bytes of a file, decompressed on the fly when gzip.
struct TextBlockReader::Source {
  explicit Source(const std::string& path) : fd(path), path_(path) {
    inbuf.reset(new unsigned char[kIn]);
    in_end = fd.read_full(reinterpret_cast<char*>(inbuf.get()), kIn);
    gzip = has_gzip_magic(inbuf.get(), in_end);
    if (gzip) inf = std::make_unique<Inflater>(path);
  }
  // Up to n decompressed bytes; 0 only at the end.
  size_t read(char* dst, size_t n) {
    if (!gzip) {
      if (in_pos < in_end) {  // bytes read while sniffing the magic
        const size_t k = std::min(n, in_end - in_pos);
        std::memcpy(dst, inbuf.get() + in_pos, k);
        in_pos += k;
        return k;
      }
      return fd.read_full(dst, n);
    }
    for (;;) {
      if (done) return 0;
      if (in_pos == in_end && !in_eof) refill();
      size_t used = 0;
      const size_t got = inf->step(inbuf.get() + in_pos, in_end - in_pos, used, dst, n);
      in_pos += used;
      if (inf->member_done()) {
        // Another member, or zero padding up to the end of the file.
        for (;;) {
          if (in_end - in_pos < 2 && !in_eof) {
            refill();
            continue;
          }
          const unsigned char* r = inbuf.get() + in_pos;
          const size_t left = in_end - in_pos;
          if (left >= 2 && has_gzip_magic(r, left)) break;
          if (!std::all_of(r, r + left, [](unsigned char ch) { return ch == 0; }))
            fail(path_, "unexpected bytes after the end of the gzip data");
          if (in_eof) {
            done = true;
            break;
          }
          in_pos = in_end;
          refill();
        }
      } else if (got == 0 && in_pos == in_end && in_eof) {
        fail(path_, "gzip data is truncated (the file ends inside the stream)");
      }
      if (got > 0) return got;
    }
  }
  void refill() {
    const size_t keep = in_end - in_pos;
    std::memmove(inbuf.get(), inbuf.get() + in_pos, keep);
    in_pos = 0;
    const size_t r = fd.read_full(reinterpret_cast<char*>(inbuf.get()) + keep, kIn - keep);
    in_end = keep + r;
    if (r == 0) in_eof = true;
  }

  static constexpr size_t kIn = size_t{1} << 20;
  Fd fd;
  std::string path_;
  std::unique_ptr<unsigned char[]> inbuf;
  size_t in_pos = 0, in_end = 0;
  bool in_eof = false, gzip = false, done = false;
  std::unique_ptr<Inflater> inf;
};

TextBlockReader::TextBlockReader(const std::string& path, size_t block_bytes)
    : path_(path), src_(std::make_unique<Source>(path)), cap_(std::max<size_t>(block_bytes, 4096)) {
  buf_.reset(new char[cap_]);
}

TextBlockReader::~TextBlockReader() = default;

bool TextBlockReader::is_gzip() const { return src_->gzip; }

bool TextBlockReader::next(std::string_view& block) {
  if (eof_ && begin_ == end_) return false;
  if (begin_ > 0) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  for (;;) {
    while (!eof_ && end_ < cap_) {
      const size_t r = src_->read(buf_.get() + end_, cap_ - end_);
      if (r == 0) eof_ = true;
      end_ += r;
    }
    if (eof_) {
      if (end_ == 0) return false;
      block = {buf_.get(), end_};
      begin_ = end_;
      return true;
    }
    const void* nl = ::memrchr(buf_.get(), '\n', end_);
    if (nl) {
      const size_t n = static_cast<size_t>(static_cast<const char*>(nl) - buf_.get()) + 1;
      block = {buf_.get(), n};
      begin_ = n;
      return true;
    }
    // One line longer than the whole buffer: make room for it.
    std::unique_ptr<char[]> bigger(new char[cap_ * 2]);
    std::memcpy(bigger.get(), buf_.get(), end_);
    buf_ = std::move(bigger);
    cap_ *= 2;
  }
}

bool LineReader::next(std::string_view& line) {
  if (block_.empty() && !blocks_.next(block_)) return false;
  const size_t nl = block_.find('\n');
  if (nl == std::string_view::npos) {
    line = block_;
    block_ = {};
  } else {
    line = block_.substr(0, nl);
    block_.remove_prefix(nl + 1);
  }
  ++line_no_;
  return true;
}

}  // namespace scanpp::io
