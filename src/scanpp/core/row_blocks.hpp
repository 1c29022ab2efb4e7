#pragma once
// A matrix read as consecutive blocks of rows (DESIGN.md, "X may also be
// backed"): algorithms that only need passes over the cells take a
// RowBlockSource, so the same code serves a matrix in memory, an .h5ad whose
// X stays on disk, and lazily transformed or subset views of either.
//
// Blocks arrive in row order. Algorithms combine per-block results in that
// order only, so their output never depends on the block size or on the
// number of threads.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "scanpp/core/element.hpp"
#include "scanpp/core/sparse.hpp"

namespace scanpp {

class RowBlockSource {
 public:
  virtual ~RowBlockSource() = default;
  virtual int64_t n_obs() const = 0;
  virtual int64_t n_vars() const = 0;
  // Blocks are CSR SparseMatrix (true) or dense row-major 2-D Array (false).
  virtual bool is_sparse() const = 0;
  // dtype of the values in every block.
  virtual DType dtype() const = 0;
  // Stored values in the whole matrix (nnz, or n_obs * n_vars when dense): sizes blocks by memory.
  virtual int64_t n_stored() const = 0;
  // Rows [start, end), 0 <= start <= end <= n_obs, with n_vars columns.
  virtual Element read_rows(int64_t start, int64_t end) const = 0;
};

struct RowBlockOptions {
  // Rows per block; 0 chooses them so that one block holds about budget_bytes.
  int64_t block_rows = 0;
  int64_t budget_bytes = int64_t{128} << 20;
};

// Rows per block for a source under `o` (at least 1).
int64_t block_rows_for(const RowBlockSource& src, const RowBlockOptions& o = {});

// Calls f(block, start, end) over consecutive blocks of rows, in order.
template <class F>
void for_each_row_block(const RowBlockSource& src, const RowBlockOptions& o, F&& f) {
  const int64_t step = block_rows_for(src, o);
  for (int64_t s = 0; s < src.n_obs(); s += step) {
    const int64_t e = std::min(src.n_obs(), s + step);
    Element b = src.read_rows(s, e);
    f(b, s, e);
  }
}

// X held in memory (CSR or dense, read by copying row ranges). A CSC matrix
// is converted to CSR once, at construction (a copy of the same size).
// The matrix must outlive the source.
class MatrixRowSource : public RowBlockSource {
 public:
  explicit MatrixRowSource(const Element& x);
  explicit MatrixRowSource(const SparseMatrix& x);
  explicit MatrixRowSource(const Array& x);
  int64_t n_obs() const override { return n_obs_; }
  int64_t n_vars() const override { return n_vars_; }
  bool is_sparse() const override { return csr_ != nullptr; }
  DType dtype() const override;
  int64_t n_stored() const override;
  Element read_rows(int64_t start, int64_t end) const override;

 private:
  std::optional<SparseMatrix> converted_;
  const SparseMatrix* csr_ = nullptr;
  const Array* dense_ = nullptr;
  int64_t n_obs_ = 0, n_vars_ = 0;
};

// Rows [start, end) of an in-memory CSR matrix (a copy of just those rows).
SparseMatrix csr_row_range(const SparseMatrix& m, int64_t start, int64_t end);

// A subset of another source's rows and/or columns, both given as increasing
// indices (nullopt keeps all), e.g. after filter_cells / filter_genes on a
// backed matrix. Each block reads the underlying rows it needs, then takes.
class SubsetRowSource : public RowBlockSource {
 public:
  SubsetRowSource(std::shared_ptr<const RowBlockSource> base, std::optional<std::vector<int64_t>> rows,
                  std::optional<std::vector<int64_t>> cols);
  int64_t n_obs() const override;
  int64_t n_vars() const override;
  bool is_sparse() const override { return base_->is_sparse(); }
  DType dtype() const override { return base_->dtype(); }
  int64_t n_stored() const override;
  Element read_rows(int64_t start, int64_t end) const override;

 private:
  std::shared_ptr<const RowBlockSource> base_;
  std::optional<std::vector<int64_t>> rows_, cols_;
};

// Another source with a per-block transformation applied on every read
// (normalize_total's division by size factors, log1p). transform(block,
// start) changes the block in place; its result must have `dtype` values.
class TransformedRowSource : public RowBlockSource {
 public:
  using Transform = std::function<void(Element& block, int64_t start)>;
  TransformedRowSource(std::shared_ptr<const RowBlockSource> base, DType dtype, Transform transform);
  int64_t n_obs() const override { return base_->n_obs(); }
  int64_t n_vars() const override { return base_->n_vars(); }
  bool is_sparse() const override { return base_->is_sparse(); }
  DType dtype() const override { return dtype_; }
  int64_t n_stored() const override { return base_->n_stored(); }
  Element read_rows(int64_t start, int64_t end) const override;

 private:
  std::shared_ptr<const RowBlockSource> base_;
  DType dtype_;
  Transform transform_;
};

// Blocks stacked vertically into one block (all CSR or all dense, same
// dtype and width): lets a per-block kernel run on batches of small blocks.
Element concat_rows(const std::vector<Element>& blocks);

// Every row of a source gathered into one in-memory matrix (CSR or dense),
// optionally keeping only `cols` (increasing indices).
Element gather_rows(const RowBlockSource& src, const RowBlockOptions& o = {},
                    const std::optional<std::vector<int64_t>>& cols = std::nullopt);

}  // namespace scanpp
