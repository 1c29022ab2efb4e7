#include "scanpp/io/mtx.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "scanpp/core/array.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/huge_pages.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/text_reader.hpp"

namespace scanpp::io {
namespace {

enum class Field { Real, Integer, Pattern };
enum class Symmetry { General, Symmetric, SkewSymmetric };

std::string line_element(int64_t line) { return "line " + std::to_string(line); }

// The text of a line for an error message, shortened when long.
std::string quote_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  std::string s(line.substr(0, 80));
  if (line.size() > 80) s += "...";
  return "'" + s + "'";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool is_blank_line(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

struct Parsed {
  MtxHeader header;
  Field field = Field::Real;
  Symmetry symmetry = Symmetry::General;
};

// Line 1: %%MatrixMarket matrix coordinate <field> <symmetry>
void parse_banner(std::string_view line, const std::string& path, Parsed& out) {
  const auto tok = split_ws(line);
  if (tok.empty() || lower(tok[0]) != "%%matrixmarket")
    throw InputError(path, line_element(1), "not a MatrixMarket file (the first line must start with %%MatrixMarket)");
  if (tok.size() != 5)
    throw InputError(path, line_element(1),
                     "bad MatrixMarket header " + quote_line(line) + ": expected '%%MatrixMarket matrix <format> <field> <symmetry>'");
  const std::string object = lower(tok[1]), format = lower(tok[2]), field = lower(tok[3]), sym = lower(tok[4]);
  if (object != "matrix")
    throw InputError(path, line_element(1), "unsupported MatrixMarket object '" + std::string(tok[1]) + "' (only 'matrix')");
  if (format == "array")
    throw InputError(path, line_element(1), "unsupported MatrixMarket format 'array' (only sparse 'coordinate' files are read)");
  if (format != "coordinate")
    throw InputError(path, line_element(1), "unknown MatrixMarket format '" + std::string(tok[2]) + "'");
  if (field == "real" || field == "double") out.field = Field::Real, out.header.field = "real";
  else if (field == "integer") out.field = Field::Integer, out.header.field = "integer";
  else if (field == "pattern") out.field = Field::Pattern, out.header.field = "pattern";
  else if (field == "complex")
    throw InputError(path, line_element(1), "unsupported MatrixMarket field 'complex' (only real, integer and pattern)");
  else throw InputError(path, line_element(1), "unknown MatrixMarket field '" + std::string(tok[3]) + "'");
  if (sym == "general") out.symmetry = Symmetry::General;
  else if (sym == "symmetric") out.symmetry = Symmetry::Symmetric;
  else if (sym == "skew-symmetric") out.symmetry = Symmetry::SkewSymmetric;
  else if (sym == "hermitian")
    throw InputError(path, line_element(1), "unsupported MatrixMarket symmetry 'hermitian' (complex matrices are not read)");
  else throw InputError(path, line_element(1), "unknown MatrixMarket symmetry '" + std::string(tok[4]) + "'");
  out.header.symmetry = sym;
}

// The size line: "rows cols entries", three non-negative integers.
void parse_size_line(std::string_view line, const std::string& path, int64_t line_no, Parsed& out) {
  const auto tok = split_ws(line);
  int64_t v[3] = {0, 0, 0};
  bool ok = tok.size() == 3;
  for (size_t i = 0; ok && i < 3; ++i) {
    auto [ptr, ec] = std::from_chars(tok[i].data(), tok[i].data() + tok[i].size(), v[i]);
    ok = ec == std::errc() && ptr == tok[i].data() + tok[i].size() && v[i] >= 0;
  }
  if (!ok)
    throw InputError(path, line_element(line_no),
                     "bad size line " + quote_line(line) + ": expected three non-negative integers 'rows columns entries'");
  constexpr int64_t kMaxDim = std::numeric_limits<int32_t>::max();
  if (v[0] > kMaxDim || v[1] > kMaxDim)
    throw InputError(path, line_element(line_no), "matrix dimensions " + std::to_string(v[0]) + " x " + std::to_string(v[1]) +
                                                      " exceed the supported 2^31-1 per axis");
  out.header.n_rows = v[0];
  out.header.n_cols = v[1];
  out.header.n_entries = v[2];
}

// Runs the header parse over lines given one at a time by `next(line)`;
// returns the number of lines consumed (the size line included).
template <class NextLine>
int64_t parse_header(const std::string& path, Parsed& out, NextLine&& next) {
  std::string_view line;
  if (!next(line)) throw InputError(path, "", "empty file (not a MatrixMarket file)");
  parse_banner(line, path, out);
  int64_t line_no = 1;
  while (next(line)) {
    ++line_no;
    if (!line.empty() && line[0] == '%') continue;
    if (is_blank_line(line)) continue;
    parse_size_line(line, path, line_no, out);
    return line_no;
  }
  throw InputError(path, line_element(line_no), "file ends before the size line 'rows columns entries'");
}

// ---------------------------------------------------------------------------
// Body: entry lines parsed by hand, in independent chunks of whole lines.

// V is float when the target is float32 (casting at parse time gives the same
// values and halves the memory traffic), double otherwise.
template <class V>
struct Chunk {
  const char* begin = nullptr;
  const char* end = nullptr;
  // Views of the file's arrays (Triplets) at this chunk's offset: as many
  // places as the chunk has lines before parsing, as many as it has entries
  // after.
  std::span<int32_t> rows, cols;  // 0-based
  std::span<V> vals;              // empty for pattern files
  int64_t n = 0;                    // entries parsed
  int64_t lines = 0;                // lines parsed (all of them unless an error stopped the chunk)
  int64_t error_line = -1;          // local 0-based line of the first error
  std::string error;
  bool rows_sorted = true, cols_sorted = true;  // non-decreasing within the chunk
};

// '\n' bytes in [p, e), 8 at a time: a byte is '\n' where w ^ 0x0a..0a has a
// zero byte, found exactly (no carries between bytes) and counted per byte
// lane, 255 words at most (255 a lane) between two sums of the lanes, which
// are made in 16-bit lanes (up to 2,040 in all).
int64_t count_newlines(const char* p, const char* e) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kLow7 = 0x7f * kOnes, kHigh = 0x80 * kOnes;
  int64_t n = 0;
  while (e - p >= 8) {
    uint64_t lanes = 0;
    for (int k = 0; k < 255 && e - p >= 8; ++k, p += 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      const uint64_t x = w ^ (0x0a * kOnes);
      lanes += (~(((x & kLow7) + kLow7) | x) & kHigh) >> 7;
    }
    constexpr uint64_t kEven = 0x00ff00ff00ff00ffULL;
    const uint64_t pairs = (lanes & kEven) + ((lanes >> 8) & kEven);
    n += static_cast<int64_t>((pairs * 0x0001000100010001ULL) >> 48);
  }
  for (; p < e; ++p) n += *p == '\n';
  return n;
}

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
inline bool is_digit(char c) { return static_cast<unsigned>(c - '0') < 10u; }

// A 1-based index; false when there are no digits or too many.
inline bool parse_index(const char*& p, int64_t& out) {
  const char* s = p;
  uint64_t x = 0;
  while (is_digit(*p)) x = x * 10 + static_cast<uint64_t>(*p++ - '0');
  out = static_cast<int64_t>(x);
  return p != s && p - s <= 18;
}

enum class ValueStatus { Ok, Malformed, NonFinite };

// Values that are not plain integers: from_chars (correctly rounded, as
// numpy's parser); out-of-range values go through strtod to tell overflow
// (infinity) from underflow (zero or subnormal), as Python's float() does.
[[gnu::noinline]] ValueStatus parse_real_slow(const char*& p, const char* end, double& v) {
  const char* s = p;
  const char* q = s;
  if (*q == '+') {
    ++q;
    if (*q == '-' || *q == '+') return ValueStatus::Malformed;
  }
  auto [ptr, ec] = std::from_chars(q, end, v);
  if (ptr == q) return ValueStatus::Malformed;
  if (ec == std::errc::result_out_of_range) {
    const std::string tok(s, ptr);
    v = std::strtod(tok.c_str(), nullptr);
  } else if (ec != std::errc()) {
    return ValueStatus::Malformed;
  }
  p = ptr;
  return std::isfinite(v) ? ValueStatus::Ok : ValueStatus::NonFinite;
}

template <Field F>
inline ValueStatus parse_value(const char*& p, const char* end, double& v) {
  const char* s = p;
  bool neg = false;
  if (*p == '-' || *p == '+') neg = *p++ == '-';
  const char* d = p;
  uint64_t x = 0;
  while (is_digit(*p)) x = x * 10 + static_cast<uint64_t>(*p++ - '0');
  if constexpr (F == Field::Integer) {
    if (p == d || p - d > 18 || !(p == end || is_space(*p) || *p == '\n')) return ValueStatus::Malformed;
    v = neg ? -static_cast<double>(x) : static_cast<double>(x);
    return ValueStatus::Ok;
  } else {
    // Counts written as plain integers are by far the common case; up to 15
    // digits they are exact in a double.
    if (p > d && p - d <= 15 && (p == end || is_space(*p) || *p == '\n')) {
      v = neg ? -static_cast<double>(x) : static_cast<double>(x);
      return ValueStatus::Ok;
    }
    p = s;
    return parse_real_slow(p, end, v);
  }
}

template <Field F, class V>
void parse_chunk(Chunk<V>& ck, int64_t n_rows, int64_t n_cols) {
  // Room for one entry per line: the count of '\n' plus a last line without.
  const size_t cap = ck.rows.size();
  int32_t* rp = ck.rows.data();
  int32_t* cp = ck.cols.data();
  V* vp = ck.vals.data();
  size_t n = 0;
  int32_t last_r = 0, last_c = 0;
  bool rows_sorted = true, cols_sorted = true;

  const char* p = ck.begin;
  const char* const end = ck.end;
  const char* line_start = p;
  auto line_text = [&]() {
    const void* nl = std::memchr(line_start, '\n', static_cast<size_t>(end - line_start));
    return std::string_view(line_start, nl ? static_cast<size_t>(static_cast<const char*>(nl) - line_start)
                                           : static_cast<size_t>(end - line_start));
  };
  const char* kExpect = F == Field::Pattern ? "'row column'" : "'row column value'";
  auto malformed = [&](const std::string& what) {
    ck.error_line = ck.lines;
    ck.error = "malformed entry " + quote_line(line_text()) + ": expected " + kExpect + what;
  };
  while (p < end) {
    line_start = p;
    while (is_space(*p)) ++p;
    if (p == end) {  // whitespace-only last line without '\n'
      ++ck.lines;
      break;
    }
    if (*p == '\n') {
      ++p;
      ++ck.lines;
      continue;
    }
    if (*p == '%') {  // comments belong in the header, but are harmless here
      const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p));
      p = nl ? static_cast<const char*>(nl) + 1 : end;
      ++ck.lines;
      continue;
    }
    int64_t r = 0, c = 0;
    if (!parse_index(p, r) || !is_space(*p)) {
      malformed(" with 1-based integer indices");
      break;
    }
    while (is_space(*p)) ++p;
    if (!parse_index(p, c) || !(is_space(*p) || *p == '\n' || p == end)) {
      malformed(" with 1-based integer indices");
      break;
    }
    double v = 1.0;
    if constexpr (F != Field::Pattern) {
      if (!is_space(*p)) {
        malformed(" (the value is missing)");
        break;
      }
      while (is_space(*p)) ++p;
      const ValueStatus st = parse_value<F>(p, end, v);
      if (st == ValueStatus::NonFinite) {
        ck.error_line = ck.lines;
        ck.error = "non-finite value in entry " + quote_line(line_text()) + " (NaN and infinity are not accepted)";
        break;
      }
      if (st == ValueStatus::Malformed) {
        malformed(F == Field::Integer ? " with an integer value" : " with a real value");
        break;
      }
    }
    while (is_space(*p)) ++p;
    if (p != end && *p != '\n') {
      malformed(", found more fields");
      break;
    }
    if (r < 1 || r > n_rows || c < 1 || c > n_cols) {
      const bool row = r < 1 || r > n_rows;
      ck.error_line = ck.lines;
      ck.error = std::string(row ? "row" : "column") + " index " + std::to_string(row ? r : c) + " out of range 1.." +
                 std::to_string(row ? n_rows : n_cols) + " in entry " + quote_line(line_text());
      break;
    }
    if (n == cap) {  // cannot happen: an entry takes a line
      ck.error_line = ck.lines;
      ck.error = "more entries than lines (a bug in scanpp's reader)";
      break;
    }
    const auto r0 = static_cast<int32_t>(r - 1), c0 = static_cast<int32_t>(c - 1);
    rows_sorted &= r0 >= last_r;
    cols_sorted &= c0 >= last_c;
    last_r = r0;
    last_c = c0;
    rp[n] = r0;
    cp[n] = c0;
    if constexpr (F != Field::Pattern) vp[n] = static_cast<V>(v);
    ++n;
    ++ck.lines;
    if (p != end) ++p;  // past '\n'
  }
  ck.n = static_cast<int64_t>(n);
  ck.rows = ck.rows.first(n);
  ck.cols = ck.cols.first(n);
  if constexpr (F != Field::Pattern) ck.vals = ck.vals.first(n);
  ck.rows_sorted = rows_sorted;
  ck.cols_sorted = cols_sorted;
}

// Local 0-based line, within a chunk, of its k-th entry line (k 0-based).
template <class V>
int64_t line_of_entry(const Chunk<V>& ck, int64_t k) {
  const char* p = ck.begin;
  int64_t line = 0;
  while (p < ck.end) {
    const char* q = p;
    while (is_space(*q)) ++q;
    const bool entry = q < ck.end && *q != '\n' && *q != '%';
    if (entry && k-- == 0) return line;
    const void* nl = std::memchr(p, '\n', static_cast<size_t>(ck.end - p));
    p = nl ? static_cast<const char*>(nl) + 1 : ck.end;
    ++line;
  }
  return line;
}

// Every triplet of the file, in file order, split over chunks.
template <class V>
struct Triplets {
  Parsed parsed;
  std::vector<Chunk<V>> chunks;
  int64_t total = 0;
  // Every chunk's entries, each chunk at the offset its lines give: one array
  // of each, large enough for huge pages (arrays of each chunk's own took
  // ~7k page faults on PBMC 3k's matrix), left uninitialised.
  std::vector<int32_t, NoInitAllocator<int32_t>> rows, cols;
  std::vector<V, NoInitAllocator<V>> vals;
};

template <class V>
Triplets<V> parse_file(const TextBuffer& text, const std::string& path) {
  Triplets<V> t;
  const char* p = text.begin();
  const char* const end = text.end();
  auto next_line = [&](std::string_view& line) {
    if (p >= end) return false;
    const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p));
    const char* e = nl ? static_cast<const char*>(nl) : end;
    line = std::string_view(p, static_cast<size_t>(e - p));
    p = nl ? e + 1 : end;
    return true;
  };
  const int64_t header_lines = parse_header(path, t.parsed, next_line);
  const MtxHeader& h = t.parsed.header;

  // Chunks of about 1 MiB of whole lines; boundaries depend on the text only.
  const size_t body = static_cast<size_t>(end - p);
  constexpr size_t kChunk = size_t{1} << 20;
  const size_t n_chunks = std::max<size_t>(1, (body + kChunk - 1) / kChunk);
  t.chunks.resize(n_chunks);
  const char* s = p;
  for (size_t k = 0; k < n_chunks; ++k) {
    t.chunks[k].begin = s;
    const char* stop = k + 1 == n_chunks ? end : std::max(s, p + (k + 1) * kChunk);
    if (stop < end) {
      const void* nl = std::memchr(stop, '\n', static_cast<size_t>(end - stop));
      stop = nl ? static_cast<const char*>(nl) + 1 : end;
    }
    t.chunks[k].end = stop;
    s = stop;
  }
  std::vector<int64_t> room(n_chunks + 1, 0);
  parallel_blocks(static_cast<int64_t>(n_chunks), 1, [&](int64_t a, int64_t b) {
    for (int64_t k = a; k < b; ++k) {
      const Chunk<V>& ck = t.chunks[static_cast<size_t>(k)];
      room[static_cast<size_t>(k) + 1] = count_newlines(ck.begin, ck.end) + 1;
    }
  });
  for (size_t k = 0; k < n_chunks; ++k) room[k + 1] += room[k];
  const bool values = t.parsed.field != Field::Pattern;
  t.rows.resize(static_cast<size_t>(room[n_chunks]));
  t.cols.resize(static_cast<size_t>(room[n_chunks]));
  if (values) t.vals.resize(static_cast<size_t>(room[n_chunks]));
  for (size_t k = 0; k < n_chunks; ++k) {
    const auto at = static_cast<size_t>(room[k]), len = static_cast<size_t>(room[k + 1] - room[k]);
    t.chunks[k].rows = std::span<int32_t>(t.rows.data() + at, len);
    t.chunks[k].cols = std::span<int32_t>(t.cols.data() + at, len);
    if (values) t.chunks[k].vals = std::span<V>(t.vals.data() + at, len);
  }
  parallel_blocks(static_cast<int64_t>(n_chunks), 1, [&](int64_t a, int64_t b) {
    for (int64_t k = a; k < b; ++k) {
      Chunk<V>& ck = t.chunks[static_cast<size_t>(k)];
      switch (t.parsed.field) {
        case Field::Real: parse_chunk<Field::Real>(ck, h.n_rows, h.n_cols); break;
        case Field::Integer: parse_chunk<Field::Integer>(ck, h.n_rows, h.n_cols); break;
        case Field::Pattern: parse_chunk<Field::Pattern>(ck, h.n_rows, h.n_cols); break;
      }
    }
  });

  // First problem in file order: a malformed line, or one entry too many.
  int64_t first_line = header_lines + 1, seen = 0;
  for (const Chunk<V>& ck : t.chunks) {
    if (seen + ck.n > h.n_entries) {
      const int64_t local = line_of_entry(ck, h.n_entries - seen);
      if (ck.error_line < 0 || local < ck.error_line)
        throw InputError(path, line_element(first_line + local),
                         "more entries than the " + std::to_string(h.n_entries) + " declared in the size line");
    }
    if (ck.error_line >= 0) throw InputError(path, line_element(first_line + ck.error_line), ck.error);
    seen += ck.n;
    first_line += ck.lines;
  }
  if (seen < h.n_entries)
    throw InputError(path, line_element(std::max(first_line - 1, header_lines)),
                     "file ends after " + std::to_string(seen) + " of the " + std::to_string(h.n_entries) +
                         " entries declared in the size line (truncated file?)");
  t.total = seen;
  return t;
}

// numpy's astype from float64 for the values an mtx can hold: floats round,
// integers truncate, bools test for non-zero. Integers out of int64's range
// (undefined in C++) become 0 rather than undefined behaviour.
template <class T>
inline T cast_value(double v) {
  if constexpr (std::is_same_v<T, Bool8>) return Bool8(v != 0.0);
  else if constexpr (std::is_floating_point_v<T>) return static_cast<T>(v);
  else return static_cast<T>(std::fabs(v) < 9.2e18 ? static_cast<int64_t>(v) : 0);
}

template <class T, class V>
inline T cast_stored(V v) {
  if constexpr (std::is_same_v<T, V>) return v;
  else return cast_value<T>(static_cast<double>(v));
}

// Major-sorted files (10x files are sorted by column, many others by row):
// the CSR arrays are the chunks' arrays laid end to end, copied in parallel.
template <class T, class V>
void fill_sorted(const Triplets<V>& t, bool transposed, bool pattern, std::vector<int64_t>& ptr,
                 std::vector<int32_t>& idx, T* val) {
  const size_t n_chunks = t.chunks.size();
  std::vector<int64_t> off(n_chunks + 1, 0);
  for (size_t k = 0; k < n_chunks; ++k) off[k + 1] = off[k] + t.chunks[k].n;
  // First major of the next non-empty chunk, to know where each run ends.
  std::vector<int32_t> next_first(n_chunks, -1);
  int32_t nf = -1;
  for (size_t k = n_chunks; k-- > 0;) {
    next_first[k] = nf;
    const auto& maj = transposed ? t.chunks[k].cols : t.chunks[k].rows;
    if (!maj.empty()) nf = maj.front();
  }
  const size_t n_major = ptr.size() - 1;
  std::vector<int64_t> run_end(n_major, -1);
  parallel_blocks(static_cast<int64_t>(n_chunks), 1, [&](int64_t a, int64_t b) {
    for (int64_t kk = a; kk < b; ++kk) {
      const size_t k = static_cast<size_t>(kk);
      const Chunk<V>& ck = t.chunks[k];
      const auto& maj = transposed ? ck.cols : ck.rows;
      const auto& mnr = transposed ? ck.rows : ck.cols;
      const size_t n = maj.size();
      for (size_t e = 0; e < n; ++e) {
        const int32_t m = maj[e];
        const bool run_ends = e + 1 < n ? maj[e + 1] != m : next_first[k] != m;
        if (run_ends) run_end[static_cast<size_t>(m)] = off[k] + static_cast<int64_t>(e) + 1;
      }
      std::copy(mnr.begin(), mnr.end(), idx.begin() + off[k]);
      T* out = val + off[k];
      if (pattern) std::fill(out, out + n, cast_value<T>(1.0));
      else
        for (size_t e = 0; e < n; ++e) out[e] = cast_stored<T>(ck.vals[e]);
    }
  });
  for (size_t i = 0; i < n_major; ++i) ptr[i + 1] = run_end[i] >= 0 ? run_end[i] : ptr[i];
}

// Any order: counting sort by major index, stable (file order kept in a row).
template <class T, class V>
void fill_scattered(const Triplets<V>& t, bool transposed, bool pattern, bool mirror, double mirror_sign,
                    std::vector<int64_t>& ptr, std::vector<int32_t>& idx, T* val) {
  const size_t n_major = ptr.size() - 1;
  std::fill(ptr.begin(), ptr.end(), 0);
  for (const Chunk<V>& ck : t.chunks) {
    const auto& maj = transposed ? ck.cols : ck.rows;
    const auto& mnr = transposed ? ck.rows : ck.cols;
    for (size_t e = 0; e < maj.size(); ++e) {
      ++ptr[static_cast<size_t>(maj[e]) + 1];
      if (mirror && maj[e] != mnr[e]) ++ptr[static_cast<size_t>(mnr[e]) + 1];
    }
  }
  for (size_t i = 0; i < n_major; ++i) ptr[i + 1] += ptr[i];
  idx.resize(static_cast<size_t>(ptr[n_major]));
  std::vector<int64_t> pos(ptr.begin(), ptr.end() - 1);
  for (const Chunk<V>& ck : t.chunks) {
    const auto& maj = transposed ? ck.cols : ck.rows;
    const auto& mnr = transposed ? ck.rows : ck.cols;
    for (size_t e = 0; e < maj.size(); ++e) {
      const double v = pattern ? 1.0 : static_cast<double>(ck.vals[e]);
      const int64_t k = pos[static_cast<size_t>(maj[e])]++;
      idx[static_cast<size_t>(k)] = mnr[e];
      val[k] = pattern ? cast_value<T>(1.0) : cast_stored<T>(ck.vals[e]);
      if (mirror && maj[e] != mnr[e]) {
        const int64_t k2 = pos[static_cast<size_t>(mnr[e])]++;
        idx[static_cast<size_t>(k2)] = maj[e];
        val[k2] = cast_value<T>(mirror_sign * v);
      }
    }
  }
}

// CSR whose rows are the file's rows (or columns when `transposed`), with
// sorted minor indices and duplicates summed in T.
template <class T, class V>
SparseMatrix build_csr(const Triplets<V>& t, bool transposed) {
  const MtxHeader& h = t.parsed.header;
  const bool mirror = t.parsed.symmetry != Symmetry::General;
  const double mirror_sign = t.parsed.symmetry == Symmetry::SkewSymmetric ? -1.0 : 1.0;
  const bool pattern = t.parsed.field == Field::Pattern;

  SparseMatrix m;
  m.format = SparseFormat::CSR;
  m.n_rows = transposed ? h.n_cols : h.n_rows;
  m.n_cols = transposed ? h.n_rows : h.n_cols;
  const size_t n_major = static_cast<size_t>(m.n_rows);

  bool sorted = !mirror;
  for (size_t k = 0; sorted && k < t.chunks.size(); ++k) {
    const Chunk<V>& ck = t.chunks[k];
    sorted = transposed ? ck.cols_sorted : ck.rows_sorted;
    // Across the boundary with the previous non-empty chunk.
    if (sorted && ck.n > 0)
      for (size_t j = k; j-- > 0;)
        if (t.chunks[j].n > 0) {
          const auto& a = transposed ? t.chunks[j].cols : t.chunks[j].rows;
          const auto& b = transposed ? ck.cols : ck.rows;
          sorted = a.back() <= b.front();
          break;
        }
  }

  std::vector<int64_t> ptr(n_major + 1, 0);
  std::vector<int32_t> idx;
  Array data;
  if (sorted) {
    // The zero-fill of what fill_sorted overwrites: on huge pages, not one
    // fault per 4 KiB (~2k on PBMC 3k).
    resize_on_huge_pages(idx, static_cast<size_t>(t.total));
    data = Array::uninitialized(dtype_of<T>(), {t.total});  // fill_sorted writes every entry
    fill_sorted<T, V>(t, transposed, pattern, ptr, idx, data.as<T>().data());
  } else {
    int64_t nnz = t.total;
    if (mirror)
      for (const Chunk<V>& ck : t.chunks)
        for (size_t e = 0; e < ck.rows.size(); ++e) nnz += ck.rows[e] != ck.cols[e];
    data = Array::uninitialized(dtype_of<T>(), {nnz});  // fill_scattered writes every entry
    fill_scattered<T, V>(t, transposed, pattern, mirror, mirror_sign, ptr, idx, data.as<T>().data());
  }
  T* val = data.as<T>().data();

  // Rows hold their entries in file order; sort them stably by index (10x
  // files list each column's genes in descending order: a plain reversal).
  std::vector<uint8_t> has_dup(n_major, 0);
  parallel_blocks(static_cast<int64_t>(n_major), 256, [&](int64_t a, int64_t b) {
    std::vector<std::pair<int32_t, T>> tmp;
    for (int64_t i = a; i < b; ++i) {
      const int64_t lo = ptr[static_cast<size_t>(i)], hi = ptr[static_cast<size_t>(i) + 1];
      int32_t* ix = idx.data() + lo;
      T* vx = val + lo;
      const int64_t n = hi - lo;
      bool inc = true, dec = true;
      for (int64_t k = 1; k < n && (inc || dec); ++k) {
        inc &= ix[k - 1] < ix[k];
        dec &= ix[k - 1] > ix[k];
      }
      if (inc) continue;
      if (dec) {
        std::reverse(ix, ix + n);
        std::reverse(vx, vx + n);
        continue;
      }
      tmp.resize(static_cast<size_t>(n));
      for (int64_t k = 0; k < n; ++k) tmp[static_cast<size_t>(k)] = {ix[k], vx[k]};
      std::stable_sort(tmp.begin(), tmp.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
      for (int64_t k = 0; k < n; ++k) {
        ix[k] = tmp[static_cast<size_t>(k)].first;
        vx[k] = tmp[static_cast<size_t>(k)].second;
        if (k > 0 && ix[k] == ix[k - 1]) has_dup[static_cast<size_t>(i)] = 1;
      }
    }
  });

  if (std::find(has_dup.begin(), has_dup.end(), uint8_t{1}) != has_dup.end()) {
    // Sum duplicates in file order and close the gaps.
    int64_t w = 0;
    for (size_t i = 0; i < n_major; ++i) {
      const int64_t lo = ptr[i], hi = ptr[i + 1];
      ptr[i] = w;
      for (int64_t k = lo; k < hi; ++k) {
        if (k > lo && idx[static_cast<size_t>(k)] == idx[static_cast<size_t>(w - 1)]) {
          if constexpr (std::is_same_v<T, Bool8>) val[w - 1] = Bool8(val[w - 1].v || val[k].v);
          else val[w - 1] = static_cast<T>(val[w - 1] + val[k]);
        } else {
          idx[static_cast<size_t>(w)] = idx[static_cast<size_t>(k)];
          val[w] = val[k];
          ++w;
        }
      }
    }
    ptr[n_major] = w;
    idx.resize(static_cast<size_t>(w));
    Array shrunk(dtype_of<T>(), {w});
    if (w) std::memcpy(shrunk.raw(), data.raw(), static_cast<size_t>(w) * sizeof(T));
    data = std::move(shrunk);
  }
  m.indices = std::move(idx);
  m.indptr = std::move(ptr);
  m.data = std::move(data);
  return m;
}

SparseMatrix read_matrix(const std::string& path, DType dtype, bool transposed) {
  const TextBuffer text = read_text_file(path);
  if (dtype == DType::Float32) return build_csr<float>(parse_file<float>(text, path), transposed);
  const Triplets t = parse_file<double>(text, path);
  return dispatch_dtype(dtype, [&](auto tag) { return build_csr<decltype(tag)>(t, transposed); });
}

}  // namespace

MtxHeader read_mtx_header(const std::string& path) {
  LineReader lines(path, size_t{1} << 16);
  Parsed parsed;
  parse_header(path, parsed, [&](std::string_view& line) { return lines.next(line); });
  return parsed.header;
}

SparseMatrix read_mtx_matrix(const std::string& path, DType dtype) { return read_matrix(path, dtype, false); }

SparseMatrix read_mtx_matrix_transposed(const std::string& path, DType dtype) { return read_matrix(path, dtype, true); }

AnnData read_mtx(const std::string& path, DType dtype) { return AnnData(Element(read_mtx_matrix(path, dtype))); }

}  // namespace scanpp::io
