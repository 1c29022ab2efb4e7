#pragma once
// Connectivity kernels of Scanpy's pp.neighbors (spec/algorithms.md §9.2-9.4),
// computed from a kNN result or from the stored distance matrix.
//
// * umap: umap-learn 0.5's fuzzy_simplicial_set (smooth_knn_dist +
//   compute_membership_strengths + fuzzy union), in float32 arithmetic as
//   umap-learn's numba code does it (distances cast to float32 first).
// * gauss: Scanpy's sparse Gaussian kernel (σ_i² = median of the squared
//   neighbour distances), from the distances CSR exactly as Scanpy stores it.
// * jaccard: PhenoGraph's Jaccard weights, symmetrised by averaging.
#include <cstdint>
#include <span>
#include <vector>

#include "scanpp/core/sparse.hpp"
#include "scanpp/pp/knn.hpp"

namespace scanpp::pp {

struct SmoothKnnDist {
  std::vector<float> sigmas;  // per cell
  std::vector<float> rhos;    // per cell
};

// umap-learn's smooth_knn_dist on an n x k float32 distance matrix (column 0
// the cell itself), with target log2(n_neighbors) * bandwidth.
SmoothKnnDist smooth_knn_dist(std::span<const float> distances, int64_t n, int k, double n_neighbors,
                              int n_iter = 64, double local_connectivity = 1.0, double bandwidth = 1.0);

struct UmapConnectivityOptions {
  double set_op_mix_ratio = 1.0;
  double local_connectivity = 1.0;
};

// Symmetric float32 CSR (sorted column indices, zero diagonal) of the fuzzy
// union of the directed membership strengths, using all knn.k columns.
SparseMatrix umap_connectivities(const KnnResult& knn, const UmapConnectivityOptions& opt = {});

// Scanpy's gauss kernel (knn=True) on the distances CSR it stores in
// obsp['distances'] (any float dtype; the result has the same dtype).
// n_neighbors counts the cell itself.
SparseMatrix gauss_connectivities(const SparseMatrix& distances, int n_neighbors);

// Scanpy's gauss kernel for knn=False on a dense n x n distance matrix:
// σ_i² = (squared distance to the (k-1)-th other cell) / 4, all pairs,
// weights <= 1e-14 set to 0. Returned dense (float64), as Scanpy does.
Array gauss_connectivities_dense(const Array& distances, int n_neighbors);

// PhenoGraph Jaccard connectivities (float64 CSR, sorted indices) from the
// k-1 non-self neighbours of each cell.
SparseMatrix jaccard_connectivities(const KnnResult& knn);

// Number of connected components of a (symmetric) graph given as CSR.
int64_t connected_components(const SparseMatrix& graph);

}  // namespace scanpp::pp
