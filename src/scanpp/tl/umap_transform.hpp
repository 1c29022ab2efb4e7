#pragma once
// umap-learn 0.5's UMAP.transform: places new points into an existing UMAP
// embedding, as Scanpy's tl.ingest uses it.
//
// From each new point's k nearest reference points (distances d_ij):
//  * σ_i by umap-learn's smooth_knn_dist with local_connectivity - 1 = 0, so
//    ρ_i = 0 (the bisection skips the first neighbour, as umap-learn does);
//  * membership w_ij = exp(-d_ij / σ_i) (1 for d_ij = 0);
//  * start position: the w-weighted mean of the neighbours' reference
//    positions (a neighbour with w = 1 is copied instead, umap-learn's
//    init_graph_transform);
//  * edges with w < max(w) / n_epochs dropped; SGD with the reference fixed
//    (move_other=False): attraction along each edge on umap-learn's sampling
//    schedule, negative samples drawn from the whole reference, initial
//    learning rate alpha / 4, n_epochs = 100 (≤ 10,000 new points) or 30.
//
// New points never influence each other, so each one is optimised on its own
// with a counter-based random stream keyed by (random_state, point): the
// result is bit-identical for any thread count. It does not reproduce
// umap-learn's Tausworthe stream.
#include <cstdint>
#include <optional>
#include <vector>

#include "scanpp/core/array.hpp"

namespace scanpp::tl {

struct UmapTransformOptions {
  double a = 0.0, b = 0.0;  // the curve of the reference embedding (uns['umap']['params'])
  // Epochs; nullopt: umap-learn's transform rule, 100 for <= 10,000 new points, else 30.
  std::optional<int> n_epochs = std::nullopt;
  double learning_rate = 1.0;  // the optimisation starts at learning_rate / 4
  double repulsion_strength = 1.0;
  int negative_sample_rate = 5;
  int64_t random_state = 0;
};

struct UmapTransformResult {
  Array embedding;  // float32, n_new x dim
  Array initial;    // float32, the start positions (before the SGD)
  int n_epochs = 0;
};

// reference_embedding: n_ref x dim. indices/distances: n_new x k neighbours
// of each new point among the reference rows (row-major, nearest first).
UmapTransformResult umap_transform(const Array& reference_embedding, const std::vector<int32_t>& indices,
                                   const std::vector<double>& distances, int64_t n_new, int k,
                                   const UmapTransformOptions& opt);

}  // namespace scanpp::tl
