#pragma once
// Helpers for the t-SNE tests: golden inputs and embedding-quality figures.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "scanpp/core/array.hpp"
#include "scanpp/io/npy.hpp"
#include "test_paths.hpp"

namespace tsne_support {

// ‖a/za − e/ze‖ / ‖e/ze‖: the relative error of a repulsion a (with its
// normalisation za) against the exact one e (ze).
inline double rel_err(const std::vector<double>& a, double za, const std::vector<double>& e, double ze) {
  double num = 0.0, den = 0.0;
  for (size_t s = 0; s < a.size(); ++s) {
    const double g = a[s] / za, r = e[s] / ze;
    num += (g - r) * (g - r);
    den += r * r;
  }
  return std::sqrt(num / den);
}

// The first `k` columns (float32) of the first `rows` rows (all if < 0).
inline scanpp::Array first_block(const scanpp::Array& a, int64_t k, int64_t rows = -1) {
  const int64_t n = rows < 0 ? a.rows() : std::min(rows, a.rows());
  const int64_t c = a.cols();
  scanpp::Array out(scanpp::DType::Float32, {n, k});
  auto o = out.as<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j) o[i * k + j] = static_cast<float>(a.get_double(i * c + j));
  return out;
}

// Golden X_pca, first 40 components (what tsne(n_pcs=40) used).
inline scanpp::Array golden_pcs40(int64_t rows = -1) {
  return first_block(scanpp::io::read_npy(scanpp::testing::shared("golden/pbmc3k/X_pca.npy")), 40, rows);
}

// Indices of the k nearest other rows of every row (exact, squared euclidean
// in double, ties by index).
inline std::vector<std::vector<int32_t>> knn_sets(const scanpp::Array& a, int k) {
  const int64_t n = a.rows(), d = a.cols();
  std::vector<double> x(static_cast<size_t>(n * d));
  for (int64_t s = 0; s < n * d; ++s) x[s] = a.get_double(s);
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(n));
  std::vector<std::pair<double, int32_t>> buf(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0.0;
      for (int64_t c = 0; c < d; ++c) s += (x[i * d + c] - x[j * d + c]) * (x[i * d + c] - x[j * d + c]);
      buf[j] = {j == i ? 1e300 : s, static_cast<int32_t>(j)};
    }
    std::partial_sort(buf.begin(), buf.begin() + k, buf.end());
    for (int q = 0; q < k; ++q) out[i].push_back(buf[q].second);
    std::sort(out[i].begin(), out[i].end());
  }
  return out;
}

// Mean fraction of each row's k nearest neighbours in `high` that are also
// among its k nearest in `low`.
inline double neighbourhood_preservation(const std::vector<std::vector<int32_t>>& high,
                                         const std::vector<std::vector<int32_t>>& low) {
  double total = 0.0;
  for (size_t i = 0; i < high.size(); ++i) {
    std::vector<int32_t> common;
    std::set_intersection(high[i].begin(), high[i].end(), low[i].begin(), low[i].end(), std::back_inserter(common));
    total += static_cast<double>(common.size()) / static_cast<double>(high[i].size());
  }
  return total / static_cast<double>(high.size());
}

}  // namespace tsne_support
