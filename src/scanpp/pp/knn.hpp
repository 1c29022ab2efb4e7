#pragma once
// k-nearest-neighbour search, the first half of Scanpy's pp.neighbors
// (spec/algorithms.md §9.1).
//
// Exact search mirrors scikit-learn's brute-force KNeighborsTransformer as
// Scanpy 1.11 calls it: blocked dot products in double precision (the data are
// widened from float32 once), every pair scored, the k smallest kept. For
// float32 euclidean input the squared distance is rounded to float32 before
// the square root, because that is what scikit-learn 1.2 returns (checked
// bit-for-bit against the PBMC 3k golden).
//
// Approximate search is NN-descent from a random-projection forest
// (pp/nn_descent.hpp), the algorithm of pynndescent, which Scanpy uses for
// large data. It runs in parallel and is deterministic by construction: the
// graph is the same for any thread count. An HNSW graph (hnswlib) remains
// available as an alternative index; it is built by inserting the points
// one after the other on ONE thread (hnswlib's parallel insertion makes the
// graph depend on thread timing), so it is slower. Either way each cell's
// candidates are re-scored with the exact double-precision metric and sorted
// by (distance, index), so the result is bit-identical for any thread count.
// It is not pynndescent's result: neighbour sets agree with the exact ones to
// the measured recall (>= 0.95), not cell for cell.
//
// Row layout of the result: column 0 is the cell itself at distance exactly 0
// (Scanpy overwrites the self distance with 0); columns 1.. are the nearest
// other cells, nearest first, ties broken by the smaller index.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "scanpp/core/array.hpp"
#include "scanpp/pp/nn_descent.hpp"

namespace scanpp::pp {

enum class KnnMetric { Euclidean, Cosine, Manhattan, Correlation, Chebyshev };

// Scanpy/scikit-learn metric names: "euclidean" ("l2"), "cosine",
// "manhattan" ("cityblock", "l1", "taxicab"), "correlation", "chebyshev"
// ("infinity"). Anything else is a ValueError listing the supported names.
KnnMetric parse_knn_metric(const std::string& name);
// The canonical name, as Scanpy stores it in uns['neighbors']['params'].
std::string knn_metric_name(KnnMetric m);

// auto = Scanpy's rule: exact if (euclidean and n < 8192) or n < 4096;
// approximate otherwise.
enum class KnnMethod { Auto, Exact, Approx };

struct HnswOptions {
  // Graph degree; 16 (32 links on the bottom layer) gives recall >= 0.98 at
  // k <= 30 on 50-dimensional single-cell-like data (see knn_test/bench).
  int M = 16;
  int ef_construction = 100;
  // Candidate list size while searching; nullopt = max(64, 3 * k).
  std::optional<int> ef;
};

// The index behind the approximate search.
enum class ApproxIndex { NNDescent, Hnsw };

struct KnnOptions {
  KnnMetric metric = KnnMetric::Euclidean;
  KnnMethod method = KnnMethod::Auto;
  // Seeds the approximate search (forest and sampling, or HNSW levels).
  int64_t random_state = 0;
  HnswOptions hnsw{};
  ApproxIndex approx_index = ApproxIndex::NNDescent;
  // Forest size, rounds, ... (its seed is random_state).
  NNDescentOptions nndescent{};
};

struct KnnResult {
  int64_t n = 0;  // rows (cells)
  int k = 0;      // columns, self included
  std::vector<int32_t> indices;  // n x k, row-major
  std::vector<double> distances; // n x k, row-major; column 0 is exactly 0
  bool approximate = false;      // which search produced it

  int32_t index(int64_t i, int j) const { return indices[static_cast<size_t>(i) * k + j]; }
  double distance(int64_t i, int j) const { return distances[static_cast<size_t>(i) * k + j]; }
};

// Whether Scanpy 1.11 would search exactly for n cells with this metric.
bool knn_uses_exact(int64_t n, KnnMetric metric);

// The k nearest neighbours (self included) of every row of X (n x d, float32
// or float64). Requires 1 <= k <= n. Throws ValueError for bad k or a
// non-2-D / non-float X, InputError for non-finite values.
KnnResult knn(const Array& X, int k, const KnnOptions& opt = {});

// Exact search forced (what knn() does for small data).
KnnResult knn_exact(const Array& X, int k, KnnMetric metric = KnnMetric::Euclidean);
// Exact neighbours of the selected rows only (searched among all rows), e.g.
// to measure the recall of an approximate search on a sample of queries.
// Row r of the result belongs to rows[r].
KnnResult knn_exact_rows(const Array& X, std::span<const int64_t> rows, int k,
                         KnnMetric metric = KnnMetric::Euclidean);
// Approximate search forced (opt.approx_index chooses the index).
KnnResult knn_approx(const Array& X, int k, const KnnOptions& opt = {});

// The first k columns of a result (self + k-1 nearest).
KnnResult knn_truncate(const KnnResult& r, int k);

// Fraction of the exact non-self neighbours (columns 1..k-1 of `exact`) that
// `approx` also lists among its columns 1..k-1. `rows[r]` is the cell of
// exact's row r (empty = the rows are the same cells in the same order).
double knn_recall(const KnnResult& approx, const KnnResult& exact, std::span<const int64_t> rows = {});

}  // namespace scanpp::pp
