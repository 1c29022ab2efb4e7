#pragma once
// The two halves of the t-SNE gradient on a 2-D embedding y (n x 2,
// row-major, double), with K_ij = 1 / (1 + ‖y_i − y_j‖²):
//
//   ∂KL/∂y_i = 4 ( Σ_j p_ij K_ij (y_i − y_j)  −  Σ_j K_ij² (y_i − y_j) / Z ),
//   Z = Σ_{k≠l} K_kl.
//
// The attraction runs over P's stored entries; the repulsion (the sums over
// all pairs, and Z) is computed exactly, by Barnes–Hut or by FFT-accelerated
// interpolation. Each returns Z and writes rep[i] = Σ_j K_ij² (y_i − y_j).
// All are deterministic and independent of the thread count.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "scanpp/core/sparse.hpp"

namespace scanpp::tl {

// P in plain CSR form (the layout the optimiser reads).
struct TsneP {
  int64_t n = 0;
  std::vector<int64_t> indptr;
  std::vector<int32_t> indices;
  std::vector<double> values;
};
// CSR/CSC, any float dtype, square; ValueError otherwise or for negative or
// non-finite values.
TsneP tsne_p_from_sparse(const SparseMatrix& P);

// attr[i] = Σ_j p_ij K_ij (y_i − y_j); returns Σ_ij p_ij ln(p_ij / K_ij), the
// part of KL(P‖Q) that needs the stored entries (KL = that + ln Z · Σp), when
// with_error is set (else 0).
double tsne_attraction(const TsneP& P, std::span<const double> y, std::span<double> attr, bool with_error = false);

// O(n²) over all pairs.
double tsne_repulsion_exact(std::span<const double> y, std::span<double> rep);

// Barnes–Hut on a quadtree: a cell is summarised by its centre of mass when it
// is a leaf or (side length)² / (distance to its centre of mass)² < θ².
double tsne_repulsion_barnes_hut(std::span<const double> y, std::span<double> rep, double theta = 0.5);

// FIt-SNE's interpolation: the square box around the points is cut into
// n_boxes² boxes (min_boxes across for small embeddings, else boxes of width 1
// as FIt-SNE's one interval per unit, their count rounded up to an
// FFT-friendly size and capped at 400), with p = 3 equispaced Lagrange nodes
// per box and dimension; charges are spread to the nodes, convolved with K
// (for Z) and K² (for the forces, charges 1, x, y) by FFT on the zero-padded
// 2m x 2m grid, and interpolated back. Holds FFTW plans and the kernel's
// spectrum between calls (not thread-safe itself; the transforms of one call
// run in parallel).
class TsneFftRepulsion {
 public:
  explicit TsneFftRepulsion(int n_interpolation_points = 3, int min_boxes = 50);
  ~TsneFftRepulsion();
  TsneFftRepulsion(const TsneFftRepulsion&) = delete;
  TsneFftRepulsion& operator=(const TsneFftRepulsion&) = delete;
  double operator()(std::span<const double> y, std::span<double> rep);
  int last_n_boxes() const { return last_n_boxes_; }

 private:
  struct Plans;
  int p_, min_boxes_, last_n_boxes_ = 0;
  std::unique_ptr<Plans> plans_;
};

double tsne_repulsion_fft(std::span<const double> y, std::span<double> rep);

}  // namespace scanpp::tl
