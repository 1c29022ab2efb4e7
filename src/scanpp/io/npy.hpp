#pragma once
// Readers for numpy's .npy files and .npz archives (zip files of .npy
// members, stored or deflated), and for scipy.sparse.save_npz archives.
// Every malformed input is reported as an InputError naming the file, the
// member and the problem.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "scanpp/core/array.hpp"
#include "scanpp/core/sparse.hpp"

namespace scanpp::io {

// Contents of one .npz archive: numeric/bool members as Arrays, byte- or
// unicode-string members ('|S3', '<U5') as StringArrays; keys are the member
// names without the '.npy' suffix.
struct NpzFile {
  std::map<std::string, Array> arrays;
  std::map<std::string, StringArray> strings;
  bool has(const std::string& key) const { return arrays.count(key) || strings.count(key); }
  // The numeric member `key`; InputError naming `file` when absent or not numeric.
  const Array& array(const std::string& key, const std::string& file = "") const;
};

// Parses a .npy image held in memory. Fortran-ordered arrays are returned in
// row-major order; big-endian data is byte-swapped. `file`/`member` only name
// the source in error messages. String dtypes are rejected (use read_npz).
Array parse_npy(const std::vector<uint8_t>& bytes, const std::string& file = "", const std::string& member = "");
// Reads a .npy file (numeric or bool dtypes).
Array read_npy(const std::string& path);
// Reads every member of an .npz archive.
NpzFile read_npz(const std::string& path);
// Reads a matrix written by scipy.sparse.save_npz (format 'csr' or 'csc').
SparseMatrix read_sparse_npz(const std::string& path);

}  // namespace scanpp::io
