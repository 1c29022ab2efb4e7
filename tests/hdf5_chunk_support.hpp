#pragma once
// Byte-level comparisons for the gzip write tests: an Array's bytes, and the
// stored chunks of an HDF5 dataset as they are in the file.
#include <hdf5.h>

#include <cstring>
#include <string>
#include <vector>

#include "scanpp/core/array.hpp"
#include "scanpp/io/hdf5.hpp"

namespace scanpp::testing {

inline bool same_bytes(const Array& a, const Array& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw(), b.raw(), static_cast<size_t>(a.size()) * dtype_size(a.dtype())) == 0;
}

// Every stored chunk of a dataset, its bytes followed by its filter mask.
inline std::vector<std::vector<char>> raw_chunks(hid_t file, const std::string& name) {
  h5::Handle d(H5Dopen2(file, name.c_str(), H5P_DEFAULT));
  h5::Handle space(H5Dget_space(d));
  hsize_t n = 0;
  H5Dget_num_chunks(d, space, &n);
  std::vector<std::vector<char>> out;
  for (hsize_t i = 0; i < n; ++i) {
    hsize_t off[2] = {0, 0}, size = 0;
    unsigned mask = 0;
    haddr_t addr = 0;
    H5Dget_chunk_info(d, space, i, off, &mask, &addr, &size);
    std::vector<char> buf(size);
    uint32_t filters = 0;
    H5Dread_chunk(d, H5P_DEFAULT, off, &filters, buf.data());
    buf.push_back(static_cast<char>(filters));
    out.push_back(std::move(buf));
  }
  return out;
}

}  // namespace scanpp::testing
