#pragma once
// The data matrix of pp.pca seen as a linear operator, optionally centred
// implicitly: Xc = X − 1·μᵀ is never formed, products use
// Xc·V = X·V − 1·(μᵀV) and Xcᵀ·U = XᵀU − μ·(1ᵀU). This is how a sparse
// matrix is centred without densifying it, and it saves a copy of dense X.
//
// Values are read in their storage dtype (float32 or float64) and every
// product accumulates in double. Work is split into blocks whose boundaries
// depend only on the matrix shape, and every output element is summed in a
// fixed order, so results are bit-identical for any thread count.
#include <Eigen/Dense>
#include <cstdint>
#include <memory>
#include <vector>

#include "scanpp/core/array.hpp"
#include "scanpp/core/sparse.hpp"
#include "scanpp/pp/pca_packed_scatter.hpp"

namespace scanpp::pp::pca_detail {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Row blocks whose size depends only on n (never on the thread count).
struct RowChunks {
  int64_t n = 0, size = 1, count = 0;
  // Chunk sizes are rounded up to a multiple of `multiple` rows.
  explicit RowChunks(int64_t n_rows, int64_t min_rows = 512, int64_t max_chunks = 64, int64_t multiple = 1);
  int64_t begin(int64_t c) const { return c * size; }
  int64_t end(int64_t c) const { return std::min(n, (c + 1) * size); }
};

class CenteredOperator {
 public:
  virtual ~CenteredOperator() = default;

  int64_t n() const { return n_; }
  int64_t p() const { return p_; }
  // Column means subtracted by every product (all zero without centring).
  const Eigen::VectorXd& mean() const { return mean_; }
  // Per-column Σ_i (x_ij − μ_j)² (with μ = 0 without centring), in double.
  const Eigen::VectorXd& column_ss() const { return col_ss_; }

  // out = Xcᵀ·Xc·v (length p); one pass over X.
  virtual void gram_p(const double* v, double* out) const = 0;
  // out = Xc·Xcᵀ·u (length n).
  void gram_n(const double* u, double* out) const;
  // Xc·V for V of shape p × b.
  virtual Eigen::MatrixXd mul(const Eigen::MatrixXd& V) const = 0;
  // Xcᵀ·U for U of shape n × b.
  virtual Eigen::MatrixXd tmul(const Eigen::MatrixXd& U) const = 0;
  // Rows [r0, r1) of X (not centred) as a dense row-major double block.
  virtual void dense_rows(int64_t r0, int64_t r1, RowMatrix& out) const = 0;

  // The scatter matrices below are symmetric and returned as their lower
  // triangle, the strict upper one left zero: their users (Eigen's
  // self-adjoint solver, PackedScatter) read only the lower one.
  // The scatter matrix Xcᵀ·Xc (p × p), built from dense row blocks.
  Eigen::MatrixXd scatter_p() const;
  // The same with each row block's products rounded to and summed in
  // float32, the blocks and the diagonal in double.
  Eigen::MatrixXd scatter_p_lower_f32() const;
  // That matrix packed for pca_lanczos's products (built without the double
  // matrix when the rows make one block).
  PackedScatter packed_scatter_f32() const;
  // The Gram matrix Xc·Xcᵀ (n × n); needs Xc dense in memory (n × p doubles).
  Eigen::MatrixXd scatter_n() const;
  // Subtracts mean() from each row of a block of p columns.
  void subtract_mean(RowMatrix& rows) const;
  // Rows [r0, r1) of Xc, each value centred in double then rounded to
  // float32, into out (row-major, p columns); each column's Σ xc² over them
  // is added to diag in row order. Dense X does it in one pass over X.
  virtual void centered_rows_f32(int64_t r0, int64_t r1, float* out, double* diag) const;

  // f(r0, rows, Xb) for consecutive chunks of at least min_rows rows of X
  // (not centred), each widened to double: the BLAS-3 products' loop.
  template <class F>
  void for_each_dense_chunk(int64_t min_rows, F&& f) const {
    const RowChunks chunks(n_, min_rows, int64_t{1} << 40);
    RowMatrix Xb;
    for (int64_t c = 0; c < chunks.count; ++c) {
      dense_rows(chunks.begin(c), chunks.end(c), Xb);
      f(chunks.begin(c), chunks.end(c) - chunks.begin(c), Xb);
    }
  }

 protected:
  // block(Sf) for each row block's float32 scatter (lower triangle,
  // column-major p × p, in a buffer reused by the next block); diag gets
  // Σ xc² per column, in double.
  template <class Block>
  void f32_scatter_blocks(Eigen::VectorXd& diag, Block&& block) const;

  int64_t n_ = 0, p_ = 0;
  Eigen::VectorXd mean_, col_ss_;
};

// Dense row-major float32/float64 X (other dtypes must be converted first).
// The Array must outlive the operator. Throws ValueError on NaN or infinity.
std::unique_ptr<CenteredOperator> make_dense_operator(const Array& X, bool center);
// Sparse X (CSR or CSC) of float32/float64 values; both orientations are kept
// so that X·V and Xᵀ·U each run without reductions across threads.
std::unique_ptr<CenteredOperator> make_sparse_operator(const SparseMatrix& X, bool center);


}  // namespace scanpp::pp::pca_detail
