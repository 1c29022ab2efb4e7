#pragma once
// Approximate k-nearest-neighbour graph by NN-descent (Dong, Charikar & Li,
// WWW 2011) started from a random-projection forest: the algorithm of
// pynndescent, which Scanpy 1.11 uses above 4,096 cells (spec/algorithms.md
// §9.1).
//
// Parallel and deterministic by construction, so the graph is bit-identical
// for any thread count:
//  * every random choice is a counter-based draw named by (seed, tree) or
//    (seed, round, edge), never a shared generator consumed in thread order;
//  * the trees are built independently, one task each;
//  * a round first computes candidate distances from a frozen graph, in fixed
//    blocks of points, writing proposals into per-block buckets, then applies
//    them with each heap fed its proposals in block order. A heap's content
//    therefore depends only on that fixed sequence, not on which thread ran
//    which block.
// Heaps order entries by (distance, index), so ties never depend on arrival
// order either.
#include <cstdint>
#include <vector>

namespace scanpp::pp {

// The distance NN-descent ranks by. Euclidean works on squared distances
// (same order, no square roots); cosine and correlation run as euclidean on
// unit-normalised rows (|a - b|^2 = 2 - 2 cos), which is how knn() calls it.
enum class NNDescentMetric { SqEuclidean, Manhattan, Chebyshev };

struct NNDescentOptions {
  // 0 = the rule Scanpy hands pynndescent: min(64, 5 + round(sqrt(n) / 20)).
  int n_trees = 0;
  // Points per tree leaf; 0 = pynndescent's max(10, n_neighbors).
  int leaf_size = 0;
  // Maximum NN-descent rounds; 0 = Scanpy's max(5, round(log2 n)).
  int n_iters = 0;
  // New (and old) candidates sampled per point and round; 0 = 60 as umap and
  // Scanpy pass it, capped at n_neighbors (pynndescent's min(60, k)).
  int max_candidates = 0;
  // Neighbours kept per point while the graph is built (0 = max(k, 24));
  // the result keeps the k best. A longer list reaches more true neighbours:
  // with 14 (n_neighbors 15) recall on hard data drops below 0.9.
  int build_k = 0;
  // Stop once a round improves fewer than delta * n * n_neighbors entries.
  double delta = 0.001;
  uint64_t seed = 0;
};

struct NNGraph {
  int64_t n = 0;
  int k = 0;                     // neighbours per row, the point itself excluded
  std::vector<int32_t> indices;  // n x k, row-major, ordered by (key, index)
  std::vector<float> keys;       // n x k: squared euclidean / L1 / L-infinity distance
  int rounds = 0;                // NN-descent rounds run (diagnostics)
};

// The k approximate nearest other points of every row of x (n x d,
// row-major float32). Requires 0 <= k < n (ValueError otherwise).
NNGraph nn_descent(const float* x, int64_t n, int d, int k, NNDescentMetric metric,
                   const NNDescentOptions& opt = {});

}  // namespace scanpp::pp
