#pragma once
// Shared by the layout tests (UMAP, draw_graph): Scanpy's final PBMC 3k
// object and the neighbourhood-preservation measure: the mean share of each
// cell's 10 nearest neighbours in a layout that are among its k_ref nearest
// in the first 40 PCs of the golden X_pca.
#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "test_paths.hpp"

namespace layout_quality {

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

inline const std::vector<std::vector<int64_t>>& pca_neighbours(int k_ref) {
  static std::map<int, std::vector<std::vector<int64_t>>> cache;
  auto it = cache.find(k_ref);
  if (it != cache.end()) return it->second;
  const Array& pca = golden().obsm.at("X_pca").get<Array>();
  const int64_t n = pca.rows(), p = pca.cols();
  std::vector<double> x(static_cast<size_t>(n * 40));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < 40; ++c) x[i * 40 + c] = pca.get_double(i * p + c);
  return cache.emplace(k_ref, knn(x, n, 40, k_ref)).first->second;
}

// Mean share of each cell's 10 nearest neighbours in the layout (n x dim,
// row-major) that are among its k_ref nearest in the first 40 PCs.
inline double neighbourhood_share(const std::vector<double>& xy, int64_t dim = 2, int k_ref = 10) {
  const int64_t n = static_cast<int64_t>(xy.size()) / dim;
  const auto nn = knn(xy, n, dim, 10);
  const auto& ref = pca_neighbours(k_ref);
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

}  // namespace layout_quality
