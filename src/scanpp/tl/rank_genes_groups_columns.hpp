#pragma once
// Gene-wise access to a cells x genes matrix for tl.rank_genes_groups. Every
// statistic of the ranking is a per-gene quantity, so the work is cut into
// fixed blocks of genes: each block's non-zero entries are gathered (in cell
// order) from CSR, CSC or dense storage, and blocks run in parallel with
// results that do not depend on the thread count.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "scanpp/core/element.hpp"

namespace scanpp::tl::detail {

// The non-zero entries of genes [first, first + n_genes()), gene by gene,
// cells increasing within a gene.
struct ColumnBlock {
  int64_t first = 0;
  std::vector<int64_t> ptr;     // n_genes() + 1 offsets into cells/values
  std::vector<int32_t> cells;
  std::vector<double> values;
  int64_t n_genes() const { return static_cast<int64_t>(ptr.size()) - 1; }
};

// Reads gene blocks from a matrix held elsewhere (it must outlive this).
class ColumnSource {
 public:
  // x: 2-D Array or SparseMatrix of a numeric dtype. Throws ValueError otherwise.
  explicit ColumnSource(const Element& x);
  int64_t n_cells() const { return n_cells_; }
  int64_t n_genes() const { return n_genes_; }
  // The stored values are float32 (Scanpy squares them in float32).
  bool is_float32() const { return float32_; }
  // Fills `out` with the non-zeros of genes [a, b); thread-safe.
  void extract(int64_t a, int64_t b, ColumnBlock& out) const;
  // Genes per parallel block: depends on the matrix shape only (never on the
  // thread count). Large blocks keep the per-row binary searches of a CSR
  // matrix (one cache miss per row and block) rare; 32 blocks keep threads busy.
  int64_t block_size() const { return std::clamp<int64_t>((n_genes_ + 31) / 32, 64, 1024); }

 private:
  void index_blocks();
  const Array* dense_ = nullptr;
  const SparseMatrix* sparse_ = nullptr;
  bool sorted_ = true;
  bool float32_ = false;
  // CSR with sorted indices: non-zeros per gene as a prefix sum, and for each
  // row where each gene block starts (n_rows x (n_blocks + 1) offsets), so
  // that a block is gathered in one pass without searching the rows.
  std::vector<int64_t> col_start_;
  std::vector<int64_t> cuts_;
  int64_t n_blocks_ = 0;  // CSR minor indices sorted within each row
  int64_t n_cells_ = 0, n_genes_ = 0;
};

}  // namespace scanpp::tl::detail
