#pragma once
// A minimal .npy reader for the preprocessing tests only: uncompressed,
// C-ordered, little-endian <f4/<f8/<i4/<i8 arrays, as the goldens are. The
// full reader lives in scanpp/io/npy; this keeps the tests independent of it.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "scanpp/core/array.hpp"

namespace npy_lite {

inline scanpp::Array read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    throw std::runtime_error(path + ": not a .npy file");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else {
    if (bytes.size() < 12) throw std::runtime_error(path + ": truncated header");
    for (int k = 0; k < 4; ++k) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + k])) << (8 * k);
    offset = 12;
  }
  if (offset + header_len > bytes.size()) throw std::runtime_error(path + ": truncated header");
  const std::string header(bytes.data() + offset, header_len);
  offset += header_len;

  auto field = [&](const std::string& key) {
    const size_t p = header.find("'" + key + "'");
    if (p == std::string::npos) throw std::runtime_error(path + ": header lacks " + key);
    return header.substr(header.find(':', p) + 1);
  };
  const std::string descr_field = field("descr");
  const size_t q1 = descr_field.find('\'');
  const std::string descr = descr_field.substr(q1 + 1, descr_field.find('\'', q1 + 1) - q1 - 1);
  if (field("fortran_order").find_first_not_of(' ') != field("fortran_order").find("False"))
    throw std::runtime_error(path + ": Fortran order is not supported here");
  scanpp::DType dt;
  if (descr == "<f4") dt = scanpp::DType::Float32;
  else if (descr == "<f8") dt = scanpp::DType::Float64;
  else if (descr == "<i4") dt = scanpp::DType::Int32;
  else if (descr == "<i8") dt = scanpp::DType::Int64;
  else throw std::runtime_error(path + ": unsupported dtype " + descr);

  const std::string shape_field = field("shape");
  const size_t lp = shape_field.find('('), rp = shape_field.find(')');
  std::vector<int64_t> shape;
  std::string cur;
  for (size_t i = lp + 1; i < rp; ++i) {
    const char c = shape_field[i];
    if (c >= '0' && c <= '9') cur += c;
    else if (!cur.empty()) {
      shape.push_back(std::stoll(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) shape.push_back(std::stoll(cur));

  scanpp::Array a(dt, shape);
  if (bytes.size() - offset < a.nbytes()) throw std::runtime_error(path + ": truncated data");
  std::memcpy(a.raw(), bytes.data() + offset, a.nbytes());
  return a;
}

}  // namespace npy_lite
