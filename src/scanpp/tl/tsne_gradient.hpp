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
  double sum_p = 0.0;        // Σ p_ij
  double sum_p_log_p = 0.0;  // Σ p_ij ln p_ij over the positive entries (constant over the optimisation)
  // The same entries as the per-iteration attraction reads them: p in
  // float32, each row padded to a multiple of 8 entries with zero-weight
  // entries pointing at the row itself (their terms are exactly zero).
  std::vector<int64_t> f32_indptr;
  std::vector<int32_t> f32_indices;
  std::vector<float> f32_values;
};
// CSR/CSC, any float dtype, square; ValueError otherwise or for negative or
// non-finite values.
TsneP tsne_p_from_sparse(const SparseMatrix& P);

// attr[i] = Σ_j p_ij K_ij (y_i − y_j); returns Σ_ij p_ij ln(p_ij / K_ij), the
// part of KL(P‖Q) that needs the stored entries (KL = that + ln Z · Σp), when
// with_error is set (else 0).
double tsne_attraction(const TsneP& P, std::span<const double> y, std::span<double> attr, bool with_error = false);

// The attraction alone in float32 (what every iteration between progress
// checks needs): y32 is y rounded to float32; each entry's term is computed in
// float32, eight entries at a time, and each row's lanes are summed in double
// in lane order. Agrees with tsne_attraction to float32 rounding.
void tsne_attraction_f32(const TsneP& P, std::span<const float> y32, std::span<double> attr);
// Rows [r0, r1) of the above (for callers running it inside their own
// parallel loop).
void tsne_attraction_f32_rows(const TsneP& P, std::span<const float> y32, std::span<double> attr, int64_t r0,
                              int64_t r1);
// Rows [r0, r1) of tsne_attraction; returns their Σ p_ij ln(1 + d_ij²) when
// with_error (else 0). tsne_attraction sums these over blocks of
// kTsneAttractionBlock rows, in block order, onto 0, then adds sum_p_log_p.
inline constexpr int64_t kTsneAttractionBlock = 512;
double tsne_attraction_rows(const TsneP& P, std::span<const double> y, std::span<double> attr, int64_t r0, int64_t r1,
                            bool with_error);

// O(n²) over all pairs.
double tsne_repulsion_exact(std::span<const double> y, std::span<double> rep);

// Barnes–Hut on a quadtree (leaves of up to 8 points) of the points sorted by
// Morton code, traversed once per group (a node of up to 64 points): a node
// is summarised by its centre of mass when (longest side of its points' box)²
// < θ² (distance from that centre to the group's box)², which implies the
// per-point criterion for every point of the group; opened leaves interact
// point by point (exactly). Holds its buffers and the last Morton order
// between calls (not thread-safe itself; the traversal runs in parallel); the
// result depends only on the positions. ValueError for a non-finite
// coordinate.
class TsneBarnesHut {
 public:
  explicit TsneBarnesHut(double theta = 0.5);
  ~TsneBarnesHut();
  TsneBarnesHut(const TsneBarnesHut&) = delete;
  TsneBarnesHut& operator=(const TsneBarnesHut&) = delete;
  double operator()(std::span<const double> y, std::span<double> rep);
  // operator() in two steps, for callers that overlap the (serial) tree
  // build with other work: build() reads the positions, walk() then fills
  // rep and returns Z.
  void build(std::span<const double> y);
  double walk(std::span<double> rep);
  // walk() in pieces, for callers running it inside their own parallel
  // region: after build(), walk_groups over ranges tiling [0, n_groups())
  // (thread-safe for disjoint ranges) fills rep, then z_sum() returns Z.
  int64_t n_groups() const;
  void walk_groups(int64_t g0, int64_t g1, std::span<double> rep);
  double z_sum() const;

 private:
  struct Tree;
  double theta_;
  std::unique_ptr<Tree> tree_;
};

double tsne_repulsion_barnes_hut(std::span<const double> y, std::span<double> rep, double theta = 0.5);

// FIt-SNE's interpolation: the square box around the points is cut into
// n_boxes² boxes (min_boxes across for small embeddings, else boxes of width 1
// as FIt-SNE's one interval per unit, their count rounded up to a 5-smooth
// size; beyond 400 units, boxes wider than 1 on a ladder of quarter powers
// of two so the kernel's spectrum is not recomputed every call), with p = 3 equispaced Lagrange nodes
// per box and dimension; charges are spread to the nodes, convolved with K
// (for Z) and K² (for the forces, charges 1, x, y) by FFT on the zero-padded
// 2m x 2m grid (as 1-D passes that skip the padding's zero rows), and
// interpolated back. Holds FFTW plans, the kernel's spectrum and scratch
// between calls (not thread-safe itself; the transforms of one call run in
// parallel over fixed chunks of rows and columns).
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
