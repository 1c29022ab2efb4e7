#include "scanpp/io/npy.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>

#include "scanpp/core/error.hpp"

namespace scanpp::io {

namespace {

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "", "cannot open file");
  in.seekg(0, std::ios::end);
  const std::streamoff n = in.tellg();
  if (n < 0) throw InputError(path, "", "cannot determine file size");
  in.seekg(0, std::ios::beg);
  std::vector<uint8_t> buf(static_cast<size_t>(n));
  if (n > 0 && !in.read(reinterpret_cast<char*>(buf.data()), n)) throw InputError(path, "", "read failed");
  return buf;
}

// What the header's 'descr' says about each element.
struct Descr {
  char kind = 'f';  // f, i, u, b, S, U
  int size = 4;     // bytes per element
  bool big_endian = false;
};

struct Header {
  Descr descr;
  bool fortran = false;
  std::vector<int64_t> shape;
};

// Value of `key` in numpy's header dict literal, as raw text up to the next
// top-level comma or closing brace.
std::string dict_value(const std::string& h, const std::string& key, const std::string& file, const std::string& member) {
  const std::string pat1 = "'" + key + "'", pat2 = "\"" + key + "\"";
  size_t p = h.find(pat1);
  size_t plen = pat1.size();
  if (p == std::string::npos) {
    p = h.find(pat2);
    plen = pat2.size();
  }
  if (p == std::string::npos) throw InputError(file, member, "npy header lacks '" + key + "'");
  p = h.find(':', p + plen);
  if (p == std::string::npos) throw InputError(file, member, "npy header is malformed near '" + key + "'");
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  int depth = 0;
  size_t e = p;
  for (; e < h.size(); ++e) {
    const char c = h[e];
    if (c == '(' || c == '[') ++depth;
    else if (c == ')' || c == ']') --depth;
    else if ((c == ',' || c == '}') && depth == 0) break;
  }
  return h.substr(p, e - p);
}

Header parse_header(const std::string& h, const std::string& file, const std::string& member) {
  Header out;
  std::string d = dict_value(h, "descr", file, member);
  while (!d.empty() && d.back() == ' ') d.pop_back();
  if (d.size() < 4 || (d.front() != '\'' && d.front() != '"'))
    throw InputError(file, member, "unsupported npy dtype " + d + " (structured dtypes are not supported)");
  d = d.substr(1, d.size() - 2);
  size_t i = 0;
  if (d[i] == '<' || d[i] == '>' || d[i] == '|' || d[i] == '=') {
    out.descr.big_endian = d[i] == '>';
    ++i;
  }
  if (i >= d.size()) throw InputError(file, member, "npy dtype '" + d + "' is malformed");
  out.descr.kind = d[i++];
  const std::string digits = d.substr(i);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      digits.size() > 6)
    throw InputError(file, member, "npy dtype '" + d + "' is malformed");
  out.descr.size = std::stoi(digits);
  const std::string kinds = "fiubSU";
  if (kinds.find(out.descr.kind) == std::string::npos || out.descr.size <= 0)
    throw InputError(file, member, "unsupported npy dtype '" + d + "'");

  std::string fo = dict_value(h, "fortran_order", file, member);
  if (fo.rfind("True", 0) == 0) out.fortran = true;
  else if (fo.rfind("False", 0) == 0) out.fortran = false;
  else throw InputError(file, member, "npy header has a malformed fortran_order");

  std::string sh = dict_value(h, "shape", file, member);
  const size_t a = sh.find('('), b = sh.find(')');
  if (a == std::string::npos || b == std::string::npos || b < a) throw InputError(file, member, "npy header has a malformed shape");
  std::string inner = sh.substr(a + 1, b - a - 1);
  size_t pos = 0;
  while (pos < inner.size()) {
    while (pos < inner.size() && (inner[pos] == ' ' || inner[pos] == ',')) ++pos;
    if (pos >= inner.size()) break;
    size_t q = pos;
    while (q < inner.size() && inner[q] >= '0' && inner[q] <= '9') ++q;
    if (q == pos || q - pos > 18) throw InputError(file, member, "npy header has a malformed shape '" + sh + "'");
    out.shape.push_back(std::stoll(inner.substr(pos, q - pos)));
    pos = q;
    while (pos < inner.size() && inner[pos] == ' ') ++pos;
    if (pos < inner.size() && inner[pos] == 'L') ++pos;  // Python 2 longs
  }
  return out;
}

DType numeric_dtype(const Descr& d, const std::string& file, const std::string& member) {
  auto bad = [&]() -> DType {
    throw InputError(file, member, std::string("unsupported npy dtype kind '") + d.kind + "' of " + std::to_string(d.size) +
                                       " bytes");
  };
  switch (d.kind) {
    case 'f': return d.size == 4 ? DType::Float32 : d.size == 8 ? DType::Float64 : bad();
    case 'b': return d.size == 1 ? DType::Bool : bad();
    case 'i':
      return d.size == 1 ? DType::Int8 : d.size == 2 ? DType::Int16 : d.size == 4 ? DType::Int32 : d.size == 8 ? DType::Int64 : bad();
    case 'u':
      return d.size == 1 ? DType::UInt8 : d.size == 2 ? DType::UInt16 : d.size == 4 ? DType::UInt32 : d.size == 8 ? DType::UInt64 : bad();
    default: return bad();
  }
}

void append_utf8(std::string& s, uint32_t cp) {
  if (cp < 0x80) s += static_cast<char>(cp);
  else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Splits an .npy image into its header and the offset of its data.
Header split(const std::vector<uint8_t>& bytes, size_t& data_offset, const std::string& file, const std::string& member) {
  static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (bytes.size() < 10 || std::memcmp(bytes.data(), magic, 6) != 0)
    throw InputError(file, member, "not an npy file (bad magic string)");
  const int major = bytes[6];
  size_t hlen = 0, hstart = 0;
  if (major == 1) {
    hlen = static_cast<size_t>(bytes[8]) | (static_cast<size_t>(bytes[9]) << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw InputError(file, member, "truncated npy header");
    hlen = static_cast<size_t>(bytes[8]) | (static_cast<size_t>(bytes[9]) << 8) | (static_cast<size_t>(bytes[10]) << 16) |
           (static_cast<size_t>(bytes[11]) << 24);
    hstart = 12;
  } else {
    throw InputError(file, member, "unsupported npy format version " + std::to_string(major));
  }
  if (hstart + hlen > bytes.size()) throw InputError(file, member, "truncated npy header");
  const std::string h(reinterpret_cast<const char*>(bytes.data() + hstart), hlen);
  data_offset = hstart + hlen;
  return parse_header(h, file, member);
}

int64_t element_count(const Header& h, const std::string& file, const std::string& member) {
  int64_t n = 1;
  for (auto s : h.shape) {
    if (s < 0) throw InputError(file, member, "negative dimension in npy shape");
    if (s != 0 && n > std::numeric_limits<int64_t>::max() / s) throw InputError(file, member, "npy shape overflows");
    n *= s;
  }
  return n;
}

// Row-major position of the element stored at Fortran position `f`.
void fortran_to_c(const std::vector<int64_t>& shape, const uint8_t* src, uint8_t* dst, size_t es) {
  const size_t nd = shape.size();
  int64_t n = 1;
  for (auto s : shape) n *= s;
  std::vector<int64_t> idx(nd, 0), cstride(nd, 1);
  for (size_t k = nd; k-- > 1;) cstride[k - 1] = cstride[k] * shape[k];
  for (int64_t f = 0; f < n; ++f) {
    int64_t c = 0;
    for (size_t k = 0; k < nd; ++k) c += idx[k] * cstride[k];
    std::memcpy(dst + static_cast<size_t>(c) * es, src + static_cast<size_t>(f) * es, es);
    for (size_t k = 0; k < nd; ++k) {  // first index varies fastest in Fortran order
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
}

StringArray parse_npy_strings(const std::vector<uint8_t>& bytes, const std::string& file, const std::string& member) {
  size_t off = 0;
  Header h = split(bytes, off, file, member);
  if (h.descr.kind != 'S' && h.descr.kind != 'U') throw InputError(file, member, "not a string array");
  const int64_t n = element_count(h, file, member);
  const size_t cs = h.descr.kind == 'U' ? 4 : 1;
  const size_t es = static_cast<size_t>(h.descr.size) * cs;
  if (n > 0 && (bytes.size() - off) / es < static_cast<size_t>(n)) throw InputError(file, member, "npy data is truncated");
  std::vector<uint8_t> data(bytes.begin() + static_cast<std::ptrdiff_t>(off),
                            bytes.begin() + static_cast<std::ptrdiff_t>(off + static_cast<size_t>(n) * es));
  if (h.fortran && h.shape.size() > 1) {
    std::vector<uint8_t> c(data.size());
    fortran_to_c(h.shape, data.data(), c.data(), es);
    data.swap(c);
  }
  StringArray out;
  out.shape = h.shape.size() == 1 ? std::vector<int64_t>{} : h.shape;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* p = data.data() + static_cast<size_t>(i) * es;
    std::string s;
    if (cs == 1) {
      size_t len = es;
      while (len > 0 && p[len - 1] == 0) --len;
      s.assign(reinterpret_cast<const char*>(p), len);
    } else {
      for (int k = 0; k < h.descr.size; ++k) {
        uint32_t cp = 0;
        for (int b = 0; b < 4; ++b) {
          const uint32_t byte = p[k * 4 + b];
          cp |= h.descr.big_endian ? byte << (8 * (3 - b)) : byte << (8 * b);
        }
        if (cp == 0) break;
        append_utf8(s, cp);
      }
    }
    out.values.push_back(std::move(s));
  }
  return out;
}

bool is_string_npy(const std::vector<uint8_t>& bytes, const std::string& file, const std::string& member) {
  size_t off = 0;
  Header h = split(bytes, off, file, member);
  return h.descr.kind == 'S' || h.descr.kind == 'U';
}

uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint64_t le64(const uint8_t* p) { return static_cast<uint64_t>(le32(p)) | (static_cast<uint64_t>(le32(p + 4)) << 32); }

std::vector<uint8_t> inflate_raw(const uint8_t* src, size_t n, size_t expected, const std::string& file,
                                 const std::string& member) {
  std::vector<uint8_t> out(expected);
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw InputError(file, member, "cannot initialise zlib");
  size_t in_done = 0, out_done = 0;
  int rc = Z_OK;
  // zlib counts in uInt, so feed very large members in slices.
  const size_t slice = size_t{1} << 30;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0 && in_done < n) {
      const size_t take = std::min(slice, n - in_done);
      zs.next_in = const_cast<Bytef*>(src + in_done);
      zs.avail_in = static_cast<uInt>(take);
      in_done += take;
    }
    if (zs.avail_out == 0) {
      if (out_done >= expected) {
        inflateEnd(&zs);
        throw InputError(file, member, "deflated data is longer than the size the archive states");
      }
      const size_t take = std::min(slice, expected - out_done);
      zs.next_out = out.data() + out_done;
      zs.avail_out = static_cast<uInt>(take);
      out_done += take;
    }
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && in_done >= n) break;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      inflateEnd(&zs);
      throw InputError(file, member, "corrupt deflate stream");
    }
  }
  const size_t produced = zs.total_out;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || produced != expected) throw InputError(file, member, "deflate stream is truncated");
  return out;
}

struct ZipMember {
  std::string name;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t csize = 0, usize = 0, offset = 0;
};

std::vector<ZipMember> zip_directory(const std::vector<uint8_t>& z, const std::string& file) {
  if (z.size() < 22) throw InputError(file, "", "not a zip archive (too short)");
  // The end-of-central-directory record sits in the last 64 KiB + 22 bytes.
  size_t eocd = std::string::npos;
  const size_t lo = z.size() > 22 + 65535 ? z.size() - 22 - 65535 : 0;
  for (size_t p = z.size() - 22 + 1; p-- > lo;)
    if (le32(&z[p]) == 0x06054b50) {
      eocd = p;
      break;
    }
  if (eocd == std::string::npos) throw InputError(file, "", "not a zip archive (no end of central directory)");
  uint64_t count = le16(&z[eocd + 10]);
  uint64_t cd_size = le32(&z[eocd + 12]);
  uint64_t cd_off = le32(&z[eocd + 16]);
  if (count == 0xFFFF || cd_off == 0xFFFFFFFFu || cd_size == 0xFFFFFFFFu) {
    // ZIP64: the locator just before the EOCD points at the zip64 EOCD record.
    if (eocd < 20 || le32(&z[eocd - 20]) != 0x07064b50) throw InputError(file, "", "zip64 locator missing");
    const uint64_t z64 = le64(&z[eocd - 20 + 8]);
    if (z64 + 56 > z.size() || le32(&z[z64]) != 0x06064b50) throw InputError(file, "", "zip64 end record is corrupt");
    count = le64(&z[z64 + 32]);
    cd_size = le64(&z[z64 + 40]);
    cd_off = le64(&z[z64 + 48]);
  }
  if (cd_off > z.size() || cd_size > z.size() - cd_off) throw InputError(file, "", "zip central directory out of range");
  std::vector<ZipMember> out;
  size_t p = static_cast<size_t>(cd_off);
  for (uint64_t k = 0; k < count; ++k) {
    if (p + 46 > z.size() || le32(&z[p]) != 0x02014b50) throw InputError(file, "", "zip central directory is corrupt");
    ZipMember m;
    m.method = le16(&z[p + 10]);
    m.crc = le32(&z[p + 16]);
    m.csize = le32(&z[p + 20]);
    m.usize = le32(&z[p + 24]);
    const size_t nlen = le16(&z[p + 28]), xlen = le16(&z[p + 30]), clen = le16(&z[p + 32]);
    m.offset = le32(&z[p + 42]);
    if (p + 46 + nlen + xlen + clen > z.size()) throw InputError(file, "", "zip central directory is truncated");
    m.name.assign(reinterpret_cast<const char*>(&z[p + 46]), nlen);
    // ZIP64 extra field: 64-bit values for the fields saturated above, in order.
    size_t x = p + 46 + nlen;
    const size_t xend = x + xlen;
    while (x + 4 <= xend) {
      const uint16_t id = le16(&z[x]), sz = le16(&z[x + 2]);
      if (x + 4 + sz > xend) break;
      if (id == 0x0001) {
        size_t q = x + 4;
        auto take = [&](uint64_t& v) {
          if (v == 0xFFFFFFFFu && q + 8 <= x + 4 + sz) {
            v = le64(&z[q]);
            q += 8;
          }
        };
        take(m.usize);
        take(m.csize);
        take(m.offset);
      }
      x += 4 + sz;
    }
    out.push_back(std::move(m));
    p += 46 + nlen + xlen + clen;
  }
  return out;
}

std::vector<uint8_t> member_bytes(const std::vector<uint8_t>& z, const ZipMember& m, const std::string& file) {
  const uint64_t p = m.offset;
  if (p + 30 > z.size() || le32(&z[p]) != 0x04034b50) throw InputError(file, m.name, "zip local header is corrupt");
  const uint64_t start = p + 30 + le16(&z[p + 26]) + le16(&z[p + 28]);
  if (start > z.size() || m.csize > z.size() - start) throw InputError(file, m.name, "zip member is truncated");
  const uint8_t* src = z.data() + start;
  std::vector<uint8_t> out;
  if (m.method == 0) {
    if (m.csize != m.usize) throw InputError(file, m.name, "stored zip member has inconsistent sizes");
    out.assign(src, src + m.csize);
  } else if (m.method == 8) {
    out = inflate_raw(src, static_cast<size_t>(m.csize), static_cast<size_t>(m.usize), file, m.name);
  } else {
    throw InputError(file, m.name, "unsupported zip compression method " + std::to_string(m.method));
  }
  uLong crc = crc32(0L, Z_NULL, 0);
  size_t done = 0;
  while (done < out.size()) {
    const size_t take = std::min<size_t>(out.size() - done, size_t{1} << 30);
    crc = crc32(crc, out.data() + done, static_cast<uInt>(take));
    done += take;
  }
  if (static_cast<uint32_t>(crc) != m.crc) throw InputError(file, m.name, "CRC-32 mismatch (corrupt archive)");
  return out;
}

}  // namespace

Array parse_npy(const std::vector<uint8_t>& bytes, const std::string& file, const std::string& member) {
  size_t off = 0;
  Header h = split(bytes, off, file, member);
  if (h.descr.kind == 'S' || h.descr.kind == 'U')
    throw InputError(file, member, "holds strings, not numbers");
  const DType dt = numeric_dtype(h.descr, file, member);
  const int64_t n = element_count(h, file, member);
  const size_t es = dtype_size(dt);
  if (n > 0 && (bytes.size() - off) / es < static_cast<size_t>(n))
    throw InputError(file, member, "npy data is truncated: " + std::to_string(bytes.size() - off) + " bytes for " +
                                       std::to_string(n) + " elements of " + std::to_string(es) + " bytes");
  Array out(dt, h.shape);
  uint8_t* dst = static_cast<uint8_t*>(out.raw());
  const uint8_t* src = bytes.data() + off;
  if (h.fortran && h.shape.size() > 1) fortran_to_c(h.shape, src, dst, es);
  else if (n > 0) std::memcpy(dst, src, static_cast<size_t>(n) * es);
  if (h.descr.big_endian && es > 1)
    for (int64_t i = 0; i < n; ++i) std::reverse(dst + static_cast<size_t>(i) * es, dst + static_cast<size_t>(i + 1) * es);
  if (dt == DType::Bool)
    for (int64_t i = 0; i < n; ++i)
      if (dst[i] > 1) throw InputError(file, member, "bool array holds a byte other than 0 or 1");
  return out;
}

Array read_npy(const std::string& path) { return parse_npy(read_all(path), path, ""); }

NpzFile read_npz(const std::string& path) {
  const std::vector<uint8_t> z = read_all(path);
  NpzFile out;
  for (const auto& m : zip_directory(z, path)) {
    if (!m.name.empty() && m.name.back() == '/') continue;  // directory entries
    std::string key = m.name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    const std::vector<uint8_t> bytes = member_bytes(z, m, path);
    if (is_string_npy(bytes, path, m.name)) out.strings[key] = parse_npy_strings(bytes, path, m.name);
    else out.arrays[key] = parse_npy(bytes, path, m.name);
  }
  return out;
}

const Array& NpzFile::array(const std::string& key, const std::string& file) const {
  auto it = arrays.find(key);
  if (it == arrays.end())
    throw InputError(file, key, strings.count(key) ? "member holds strings, expected numbers" : "member is missing");
  return it->second;
}

SparseMatrix read_sparse_npz(const std::string& path) {
  NpzFile z = read_npz(path);
  auto fmt_it = z.strings.find("format");
  if (fmt_it == z.strings.end() || fmt_it->second.values.size() != 1)
    throw InputError(path, "format", "missing: not a scipy.sparse.save_npz archive");
  const std::string fmt = fmt_it->second.values[0];
  SparseMatrix m;
  if (fmt == "csr") m.format = SparseFormat::CSR;
  else if (fmt == "csc") m.format = SparseFormat::CSC;
  else throw InputError(path, "format", "unsupported sparse format '" + fmt + "' (only csr and csc)");
  const Array& shape = z.array("shape", path);
  if (shape.size() != 2 || !dtype_is_integer(shape.dtype())) throw InputError(path, "shape", "must hold two integers");
  m.n_rows = static_cast<int64_t>(shape.get_double(0));
  m.n_cols = static_cast<int64_t>(shape.get_double(1));
  if (m.n_rows < 0 || m.n_cols < 0) throw InputError(path, "shape", "negative dimension");
  const Array& data = z.array("data", path);
  const Array& indices = z.array("indices", path);
  const Array& indptr = z.array("indptr", path);
  if (data.ndim() != 1 || indices.ndim() != 1 || indptr.ndim() != 1)
    throw InputError(path, "data", "data, indices and indptr must be 1-D");
  if (!dtype_is_integer(indices.dtype())) throw InputError(path, "indices", "must be integers");
  if (!dtype_is_integer(indptr.dtype())) throw InputError(path, "indptr", "must be integers");
  if (indices.size() != data.size()) throw InputError(path, "indices", "length differs from data");
  for (int64_t i = 0; i < indices.size(); ++i) {
    const double v = indices.get_double(i);
    if (v < 0 || v > std::numeric_limits<int32_t>::max()) throw InputError(path, "indices", "index out of range");
  }
  m.data = data;
  m.indices = indices.to_vector<int32_t>();
  m.indptr = indptr.to_vector<int64_t>();
  m.validate(path, "");
  return m;
}

}  // namespace scanpp::io
