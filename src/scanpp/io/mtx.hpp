#pragma once
// MatrixMarket `coordinate` files (.mtx, .mtx.gz) as anndata's read_mtx reads
// them: scipy.io.mmread, cast to the requested dtype, then CSR. Values are
// parsed as double and cast (numpy's float32 from text); duplicate entries
// are summed in the target dtype and explicit zeros kept, as scipy's
// coo -> csr conversion does; column indices come out sorted.
//
// Supported: fields real / integer / pattern, symmetries general / symmetric /
// skew-symmetric. Anything else, and every malformed line, is an InputError
// naming the file and the line.
#include <cstdint>
#include <string>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/sparse.hpp"

namespace scanpp::io {

// What the banner and size line of a MatrixMarket file declare.
struct MtxHeader {
  std::string field;     // "real", "integer" or "pattern"
  std::string symmetry;  // "general", "symmetric" or "skew-symmetric"
  int64_t n_rows = 0, n_cols = 0;
  int64_t n_entries = 0;  // entry lines in the file (before symmetric expansion)
};

// Reads only the header (banner, comments, size line) of a file.
MtxHeader read_mtx_header(const std::string& path);

// The matrix as CSR, rows as in the file.
SparseMatrix read_mtx_matrix(const std::string& path, DType dtype = DType::Float32);

// The transposed matrix as CSR, built directly (no CSR of the file's
// orientation in between): 10x files hold genes x cells, this gives cells x
// genes. Equal to transpose(read_mtx_matrix(path, dtype)).
SparseMatrix read_mtx_matrix_transposed(const std::string& path, DType dtype = DType::Float32);

// anndata.read_mtx: X = the CSR matrix (rows = obs), names '0', '1', ...
AnnData read_mtx(const std::string& path, DType dtype = DType::Float32);

}  // namespace scanpp::io
