#pragma once
// Compressed sparse matrices (SciPy's CSR/CSC layout) with 32-bit minor
// indices and 64-bit pointers: a million-cell matrix has more than 2^31
// non-zeros, and 32-bit pointers are a known way to lose data.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "scanpp/core/array.hpp"

namespace scanpp {

enum class SparseFormat : uint8_t { CSR, CSC };

struct SparseMatrix {
  SparseFormat format = SparseFormat::CSR;
  int64_t n_rows = 0, n_cols = 0;
  Array data{DType::Float32, {0}};   // 1-D, nnz values of any numeric dtype
  std::vector<int32_t> indices;      // minor index of each value
  std::vector<int64_t> indptr{0};    // n_major + 1 offsets

  int64_t nnz() const { return static_cast<int64_t>(indices.size()); }
  int64_t n_major() const { return format == SparseFormat::CSR ? n_rows : n_cols; }
  int64_t n_minor() const { return format == SparseFormat::CSR ? n_cols : n_rows; }
  DType dtype() const { return data.dtype(); }

  // Throws InputError naming `where` when the structure is inconsistent.
  void validate(const std::string& file = "", const std::string& where = "") const;

  bool operator==(const SparseMatrix& o) const = default;
};

// The same matrix in the other compressed format (CSR <-> CSC), indices sorted.
SparseMatrix convert_format(const SparseMatrix& m, SparseFormat to);
// Transposed matrix: a CSR of A becomes the CSR of A^T (through the CSC of A).
SparseMatrix transpose(const SparseMatrix& m);
// Rows/columns (in matrix orientation, not major/minor) selected and reordered.
SparseMatrix take(const SparseMatrix& m, std::span<const int64_t> rows, std::span<const int64_t> cols);
// take() without a second copy of the matrix: a CSR matrix keeps the selected
// rows and columns, both given in increasing order, by moving values forward
// within its own buffers (peak memory stays at the matrix's own size). Other
// cases (CSC, unsorted or repeated indices) fall back to take().
void take_inplace(SparseMatrix& m, std::span<const int64_t> rows, std::span<const int64_t> cols);
// Dense row-major copy.
Array to_dense(const SparseMatrix& m);
// Build a CSR matrix from a dense row-major 2-D array, skipping zeros.
SparseMatrix dense_to_csr(const Array& dense);
// Sort minor indices within each major slice (duplicates are kept).
void sort_indices(SparseMatrix& m);

}  // namespace scanpp
