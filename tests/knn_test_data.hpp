#pragma once
// Inputs for the kNN / neighbors tests and benchmark: synthetic clustered
// point sets from a counter-based generator (the same numbers on every
// machine and thread count) and a 50-dimensional projection of neurons10k.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "scanpp/core/array.hpp"
#include "scanpp/io/mtx.hpp"

namespace knn_test_data {

// splitmix64 of (seed, counter): a counter-based stream.
inline uint64_t mix(uint64_t seed, uint64_t counter) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + counter + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
inline double uniform(uint64_t seed, uint64_t counter) {
  return (static_cast<double>(mix(seed, counter) >> 11) + 0.5) * 0x1.0p-53;
}
// Standard normal number `counter` of stream `seed` (Box-Muller).
inline double normal(uint64_t seed, uint64_t counter) {
  const double u1 = uniform(seed, 2 * counter), u2 = uniform(seed, 2 * counter + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// n points in d dimensions around n_clusters centres; dimension t has
// variance proportional to exp(-t / 10), like principal components, and the
// centres spread 1.5 times wider than the clusters (they overlap).
inline scanpp::Array clustered(int64_t n, int d, int n_clusters, uint64_t seed) {
  std::vector<double> centres(static_cast<size_t>(n_clusters) * d);
  for (int c = 0; c < n_clusters; ++c)
    for (int t = 0; t < d; ++t)
      centres[static_cast<size_t>(c) * d + t] = 1.5 * std::exp(-t / 20.0) * normal(seed, static_cast<uint64_t>(c) * d + t);
  std::vector<float> x(static_cast<size_t>(n) * d);
  const uint64_t s2 = seed + 0x1000;
  for (int64_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(mix(seed + 7, static_cast<uint64_t>(i)) % static_cast<uint64_t>(n_clusters));
    for (int t = 0; t < d; ++t)
      x[static_cast<size_t>(i) * d + t] = static_cast<float>(
          centres[static_cast<size_t>(c) * d + t] +
          std::exp(-t / 20.0) * normal(s2, static_cast<uint64_t>(i) * d + t));
  }
  return scanpp::Array::from_vector(x, {n, d});
}

inline scanpp::Array first_cols(const scanpp::Array& a, int64_t n_cols) {
  std::vector<int64_t> cols;
  for (int64_t c = 0; c < n_cols; ++c) cols.push_back(c);
  return a.take_cols(cols);
}

// log1p of the counts (cells x genes) times a dims-column Gaussian matrix
// scaled by 1/sqrt(dims): a random projection that keeps distances roughly.
inline scanpp::Array neurons10k_projection(const std::string& mtx, int dims) {
  const scanpp::SparseMatrix a = scanpp::io::read_mtx_matrix_transposed(mtx, scanpp::DType::Float32);
  std::vector<double> r(static_cast<size_t>(a.n_cols) * dims);
  for (size_t t = 0; t < r.size(); ++t) r[t] = normal(2024, t) / std::sqrt(static_cast<double>(dims));
  std::vector<float> x(static_cast<size_t>(a.n_rows) * dims);
  const auto data = a.data.as<float>();
  for (int64_t i = 0; i < a.n_rows; ++i) {
    std::vector<double> acc(static_cast<size_t>(dims), 0.0);
    for (int64_t p = a.indptr[static_cast<size_t>(i)]; p < a.indptr[static_cast<size_t>(i) + 1]; ++p) {
      const double v = std::log1p(static_cast<double>(data[static_cast<size_t>(p)]));
      const double* rr = r.data() + static_cast<size_t>(a.indices[static_cast<size_t>(p)]) * dims;
      for (int t = 0; t < dims; ++t) acc[static_cast<size_t>(t)] += v * rr[t];
    }
    for (int t = 0; t < dims; ++t) x[static_cast<size_t>(i) * dims + t] = static_cast<float>(acc[static_cast<size_t>(t)]);
  }
  return scanpp::Array::from_vector(x, {a.n_rows, static_cast<int64_t>(dims)});
}

}  // namespace knn_test_data
