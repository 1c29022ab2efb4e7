#pragma once
// The scatter matrix S = Xcᵀ·Xc of pp.pca's Lanczos, stored for its products
// as the upper triangle only, in float32, with the diagonal halved:
// S·v = U·v + Uᵀ·v, both read in one pass over U. A product then reads a
// quarter of the bytes of S in double (half of S in float32), which is what
// bounds it: on PBMC 3k (p = 1,838) that is 6.8 MB against the 19 MB of X.
//
// Rounding S to float32 perturbs its eigenvalues by ~1e-7 of the largest, far
// below ARPACK's own float32 run in Scanpy; every product sums in double.
// Rows are split into blocks fixed by p alone; each block's part of Uᵀ·v is
// a private vector, the parts are added in block order, and each row's U·v is
// one dot product in a fixed order: the bits do not depend on the threads.
#include <Eigen/Dense>
#include <cstdint>
#include <memory>
#include <vector>

namespace scanpp::pp::pca_detail {

class PackedScatter {
 public:
  // S: symmetric p × p (only its lower triangle is read: column i of it is
  // row i of U, contiguous in Eigen's column-major storage).
  explicit PackedScatter(const Eigen::MatrixXd& S);
  // The same from S's strict lower triangle in float32 (column-major, p × p,
  // read below the diagonal only) and its diagonal in double: the packed
  // values are those of the double matrix holding the same numbers.
  PackedScatter(const float* lower, const double* diag, int64_t p);
  int64_t size() const { return p_; }
  // out = S·v (v and out of length p; they may not overlap).
  void multiply(const double* v, double* out) const;

  // multiply() in two phases, for callers that run it inside their own
  // parallel region: multiply_block(b, v) for every b < n_blocks() (any
  // threads, disjoint b), then, after a barrier, gather_rows over ranges
  // tiling [0, p). v has padded_size() entries, zero beyond p.
  int64_t padded_size() const { return width_; }
  int64_t n_blocks() const { return static_cast<int64_t>(bounds_.size()) - 1; }
  void multiply_block(int64_t b, const double* v) const;
  void gather_rows(int64_t i0, int64_t i1, double* out) const;

 private:
  // Row i holds columns [first(i), width_) of U: zeros left of the diagonal
  // (first(i) is i rounded down to a multiple of 16, so every row starts on
  // a 64-byte boundary) and zeros beyond p, so the kernels need no remainder loops.
  static int64_t first(int64_t i) { return i & ~int64_t{15}; }
  // Lays out the rows and fills them: entry(j, i) is S(j, i) for j > i
  // (already float32), diag(i) is S(i, i).
  template <class Entry, class Diag>
  void pack(Entry&& entry, Diag&& diag);
  const float* row(int64_t i) const { return vals_.get() + offset_[static_cast<size_t>(i)]; }

  int64_t p_ = 0, width_ = 0;
  std::vector<int64_t> offset_;  // start of each row in vals_
  std::vector<int64_t> bounds_;  // row blocks: [bounds_[b], bounds_[b + 1])
  std::unique_ptr<float[], void (*)(void*)> vals_{nullptr, nullptr};
  // Scratch of multiply(): v padded to width_, and one Uᵀ·v part per block.
  mutable std::vector<double> v_, parts_, dots_;
};

}  // namespace scanpp::pp::pca_detail
