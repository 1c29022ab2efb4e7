#pragma once
// Shared by the draw_graph tests: Scanpy's final PBMC 3k object and the
// neighbourhood-preservation measure (as in umap_test.cpp): the mean share of
// each cell's 10 nearest neighbours in a 2-D layout that are among its 10
// nearest in the first 40 PCs of the golden X_pca.
#include <algorithm>
#include <utility>
#include <vector>

#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "test_paths.hpp"

namespace draw_graph_support {

using namespace scanpp;

inline const AnnData& golden() {
  static const AnnData a =
      io::read_h5ad(scanpp::testing::shared("golden/pbmc3k/pbmc3k_scanpy.h5ad"), {.read_X = false});
  return a;
}
inline const SparseMatrix& connectivities() { return golden().obsp.at("connectivities").get<SparseMatrix>(); }

// Indices of the k nearest other rows of each row (exact, squared euclidean,
// ties to the lower index).
inline std::vector<std::vector<int64_t>> knn(const std::vector<double>& x, int64_t n, int64_t d, int k) {
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(n));
  parallel_for(n, [&](int64_t i) {
    std::vector<std::pair<double, int64_t>> dist;
    dist.reserve(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j) {
      if (j == i) continue;
      double s = 0;
      for (int64_t c = 0; c < d; ++c) s += (x[i * d + c] - x[j * d + c]) * (x[i * d + c] - x[j * d + c]);
      dist.emplace_back(s, j);
    }
    std::partial_sort(dist.begin(), dist.begin() + k, dist.end());
    for (int t = 0; t < k; ++t) out[i].push_back(dist[t].second);
  });
  return out;
}

inline const std::vector<std::vector<int64_t>>& pca_neighbours() {
  static const auto nn = [] {
    const Array& pca = golden().obsm.at("X_pca").get<Array>();
    const int64_t n = pca.rows(), p = pca.cols();
    std::vector<double> x(static_cast<size_t>(n * 40));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < 40; ++c) x[i * 40 + c] = pca.get_double(i * p + c);
    return knn(x, n, 40, 10);
  }();
  return nn;
}

// Mean share of each cell's 10 nearest neighbours in the layout that are
// among its 10 nearest in the first 40 PCs.
inline double neighbourhood_share(const std::vector<double>& xy) {
  const int64_t n = static_cast<int64_t>(xy.size() / 2);
  const auto nn = knn(xy, n, 2, 10);
  const auto& ref = pca_neighbours();
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    int hit = 0;
    for (int64_t j : nn[i]) hit += std::find(ref[i].begin(), ref[i].end(), j) != ref[i].end();
    total += hit / 10.0;
  }
  return total / static_cast<double>(n);
}

inline std::vector<double> as_vector(const Array& a) {
  std::vector<double> v(static_cast<size_t>(a.size()));
  for (int64_t k = 0; k < a.size(); ++k) v[k] = a.get_double(k);
  return v;
}

}  // namespace draw_graph_support
