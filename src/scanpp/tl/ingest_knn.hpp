#pragma once
// Neighbours of new cells among the reference cells (the query half of
// Scanpy's ingest, which asks the reference's pynndescent index, and of
// umap-learn's transform, which computes all query-reference distances for a
// reference under 4,096 cells).
//
// Exact: every query-reference pair is scored in double precision with the
// metric's own formula, and the k smallest are kept, nearest first, ties by
// the smaller reference index. Each query row is independent, so the result
// is bit-identical for any thread count. The cost is n_query x n_ref x dim;
// there is no approximate index for atlas-sized references yet.
#include <cstdint>
#include <vector>

#include "scanpp/core/array.hpp"
#include "scanpp/pp/knn.hpp"

namespace scanpp::tl {

struct QueryKnn {
  int64_t n = 0;  // query rows
  int k = 0;      // neighbours per row
  std::vector<int32_t> indices;   // n x k reference rows, nearest first
  std::vector<double> distances;  // n x k

  int32_t index(int64_t i, int j) const { return indices[static_cast<size_t>(i) * k + j]; }
  double distance(int64_t i, int j) const { return distances[static_cast<size_t>(i) * k + j]; }
};

// reference: n_ref x d, query: n_query x d (any float or integer dtype).
// Requires 1 <= k <= n_ref and equal d; ValueError otherwise, InputError for
// non-finite values.
QueryKnn knn_query(const Array& reference, const Array& query, int k,
                   pp::KnnMetric metric = pp::KnnMetric::Euclidean);

}  // namespace scanpp::tl
