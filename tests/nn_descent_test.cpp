// NN-descent (pp/nn_descent.hpp), the kernel behind the approximate kNN:
// exact on data smaller than a tree leaf, recall against brute force for each
// of its distances, duplicated points, the same graph for 1, 2 and 3
// threads, and parameter checks. Recall on real data (neurons10k) is in
// knn_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <vector>

#include "knn_test_data.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pp/knn.hpp"
#include "scanpp/pp/nn_descent.hpp"
#include "thread_guard.hpp"

using namespace scanpp;

namespace {

using scanpp::testing::ThreadGuard;

double brute_key(pp::NNDescentMetric m, const float* a, const float* b, int d) {
  double s = 0;
  for (int t = 0; t < d; ++t) {
    const double diff = std::fabs(static_cast<double>(a[t]) - static_cast<double>(b[t]));
    if (m == pp::NNDescentMetric::SqEuclidean) s += diff * diff;
    else if (m == pp::NNDescentMetric::Manhattan) s += diff;
    else s = std::max(s, diff);
  }
  return s;
}

// Brute-force k nearest others of every point, by (key, index).
std::vector<std::vector<int32_t>> brute_knn(pp::NNDescentMetric m, const std::vector<float>& x, int64_t n, int d,
                                            int k) {
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    std::vector<std::pair<double, int32_t>> all;
    for (int64_t j = 0; j < n; ++j)
      if (j != i) all.push_back({brute_key(m, &x[static_cast<size_t>(i * d)], &x[static_cast<size_t>(j * d)], d),
                                 static_cast<int32_t>(j)});
    std::partial_sort(all.begin(), all.begin() + k, all.end());
    for (int s = 0; s < k; ++s) out[static_cast<size_t>(i)].push_back(all[static_cast<size_t>(s)].second);
  }
  return out;
}

// The same from the blocked exact search of pp/knn (for larger sets).
std::vector<std::vector<int32_t>> exact_knn(pp::NNDescentMetric m, const Array& x, int k) {
  const pp::KnnMetric km = m == pp::NNDescentMetric::SqEuclidean ? pp::KnnMetric::Euclidean
                           : m == pp::NNDescentMetric::Manhattan ? pp::KnnMetric::Manhattan
                                                                 : pp::KnnMetric::Chebyshev;
  const pp::KnnResult r = pp::knn_exact(x, k + 1, km);
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(r.n));
  for (int64_t i = 0; i < r.n; ++i)
    for (int s = 1; s <= k; ++s) out[static_cast<size_t>(i)].push_back(r.index(i, s));
  return out;
}

double recall(const pp::NNGraph& g, const std::vector<std::vector<int32_t>>& truth) {
  int64_t hit = 0, total = 0;
  for (int64_t i = 0; i < g.n; ++i) {
    const std::set<int32_t> found(g.indices.begin() + i * g.k, g.indices.begin() + (i + 1) * g.k);
    for (int32_t j : truth[static_cast<size_t>(i)]) {
      hit += found.count(j);
      ++total;
    }
  }
  return static_cast<double>(hit) / static_cast<double>(total);
}

}  // namespace

TEST(NNDescent, ExactBelowOneLeaf) {
  // 20 points fit one tree leaf (24): every pair is scored, so the graph is
  // the brute-force one, sorted by (key, index) with float keys.
  const Array a = knn_test_data::clustered(20, 6, 3, 2);
  const std::vector<float> x = a.to_vector<float>();
  for (auto m : {pp::NNDescentMetric::SqEuclidean, pp::NNDescentMetric::Manhattan, pp::NNDescentMetric::Chebyshev}) {
    const pp::NNGraph g = pp::nn_descent(x.data(), 20, 6, 8, m);
    ASSERT_EQ(g.n, 20);
    ASSERT_EQ(g.k, 8);
    const auto truth = brute_knn(m, x, 20, 6, 8);
    for (int64_t i = 0; i < 20; ++i)
      for (int s = 0; s < 8; ++s) {
        const int32_t j = g.indices[static_cast<size_t>(i * 8 + s)];
        EXPECT_EQ(j, truth[static_cast<size_t>(i)][static_cast<size_t>(s)]) << "point " << i << " rank " << s;
        const double want = brute_key(m, &x[static_cast<size_t>(i * 6)], &x[static_cast<size_t>(j) * 6], 6);
        EXPECT_NEAR(g.keys[static_cast<size_t>(i * 8 + s)], want, 1e-5 * (1 + want));
        if (s > 0) {
          EXPECT_LE(g.keys[static_cast<size_t>(i * 8 + s - 1)], g.keys[static_cast<size_t>(i * 8 + s)]);
        }
      }
  }
}

TEST(NNDescent, RecallAgainstBruteForce) {
  // 6,000 points in 20 dimensions, 25 overlapping clusters.
  const int64_t n = 6000;
  const int d = 20, k = 14;
  const Array xa = knn_test_data::clustered(n, d, 25, 13);
  const std::vector<float> x = xa.to_vector<float>();
  for (auto m : {pp::NNDescentMetric::SqEuclidean, pp::NNDescentMetric::Manhattan, pp::NNDescentMetric::Chebyshev}) {
    const pp::NNGraph g = pp::nn_descent(x.data(), n, d, k, m);
    const double r = recall(g, exact_knn(m, xa, k));
    std::printf("[6000 x 20, k=%d, metric %d] NN-descent recall %.4f after %d rounds\n", k, static_cast<int>(m), r,
                g.rounds);
    EXPECT_GE(r, 0.95);
    EXPECT_GE(g.rounds, 1);
    for (int64_t i = 0; i < n; ++i)
      for (int s = 0; s < k; ++s) {
        const int32_t j = g.indices[static_cast<size_t>(i * k + s)];
        ASSERT_NE(j, i);
        ASSERT_GE(j, 0);
        ASSERT_LT(j, n);
      }
  }
  // A graph built with only the minimum list length is worse than the default.
  const auto truth = exact_knn(pp::NNDescentMetric::SqEuclidean, xa, k);
  const double r_default = recall(pp::nn_descent(x.data(), n, d, k, pp::NNDescentMetric::SqEuclidean), truth);
  const double r_short =
      recall(pp::nn_descent(x.data(), n, d, k, pp::NNDescentMetric::SqEuclidean, {.n_iters = 1, .build_k = k}), truth);
  EXPECT_LT(r_short, r_default);
}

TEST(NNDescent, DuplicatedPoints) {
  // 60 distinct positions, 20 copies of each, shuffled: every point's 12
  // nearest others are copies of it at distance 0, and splits that cannot
  // separate copies must still terminate.
  const int64_t n = 1200;
  const int d = 5;
  const std::vector<float> base = knn_test_data::clustered(60, d, 4, 3).to_vector<float>();
  std::vector<float> x(static_cast<size_t>(n) * d);
  std::vector<int> pos(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    pos[static_cast<size_t>(i)] = static_cast<int>(knn_test_data::mix(99, static_cast<uint64_t>(i)) % 60);
    std::copy_n(&base[static_cast<size_t>(pos[static_cast<size_t>(i)]) * d], d, &x[static_cast<size_t>(i) * d]);
  }
  std::vector<int> copies(60, 0);
  for (int p : pos) ++copies[static_cast<size_t>(p)];
  const int k = 12;
  const pp::NNGraph g = pp::nn_descent(x.data(), n, d, k, pp::NNDescentMetric::SqEuclidean);
  int64_t zero = 0, possible = 0;
  for (int64_t i = 0; i < n; ++i) {
    possible += std::min(k, copies[static_cast<size_t>(pos[static_cast<size_t>(i)])] - 1);
    for (int s = 0; s < k; ++s) zero += g.keys[static_cast<size_t>(i * k + s)] == 0.0f;
  }
  std::printf("[duplicates] zero-distance neighbours found: %lld of %lld\n", static_cast<long long>(zero),
              static_cast<long long>(possible));
  EXPECT_GE(static_cast<double>(zero), 0.99 * static_cast<double>(possible));
}

TEST(NNDescent, SameGraphForAnyThreadCount) {
  ThreadGuard guard;
  // Large enough for two join chunks (16,384 points each).
  const int64_t n = 20000;
  const int d = 16;
  const std::vector<float> x = knn_test_data::clustered(n, d, 30, 21).to_vector<float>();
  std::vector<pp::NNGraph> g;
  for (int t : {1, 2, 3}) {
    set_num_threads(t);
    g.push_back(pp::nn_descent(x.data(), n, d, 10, pp::NNDescentMetric::SqEuclidean, {.seed = 5}));
  }
  for (size_t t = 1; t < g.size(); ++t) {
    EXPECT_EQ(g[0].indices, g[t].indices) << t + 1 << " threads";
    EXPECT_EQ(g[0].keys, g[t].keys) << t + 1 << " threads";
    EXPECT_EQ(g[0].rounds, g[t].rounds);
  }
  // Another seed: another forest and other samples.
  set_num_threads(2);
  const pp::NNGraph other = pp::nn_descent(x.data(), n, d, 10, pp::NNDescentMetric::SqEuclidean, {.seed = 6});
  EXPECT_NE(other.indices, g[0].indices);
}

TEST(NNDescent, BadParametersAreRejected) {
  const std::vector<float> x = knn_test_data::clustered(30, 3, 2, 1).to_vector<float>();
  EXPECT_THROW(pp::nn_descent(x.data(), 30, 3, 30, pp::NNDescentMetric::SqEuclidean), ValueError);
  EXPECT_THROW(pp::nn_descent(x.data(), 30, 3, -1, pp::NNDescentMetric::SqEuclidean), ValueError);
  EXPECT_THROW(pp::nn_descent(x.data(), 30, 0, 3, pp::NNDescentMetric::SqEuclidean), ValueError);
  EXPECT_THROW(pp::nn_descent(x.data(), 0, 3, 0, pp::NNDescentMetric::SqEuclidean), ValueError);
  EXPECT_THROW(pp::nn_descent(x.data(), 30, 3, 5, pp::NNDescentMetric::SqEuclidean, {.n_trees = -1}), ValueError);
  EXPECT_THROW(pp::nn_descent(x.data(), 30, 3, 5, pp::NNDescentMetric::SqEuclidean, {.delta = -0.5}), ValueError);
  // k = 0: an empty graph; k = n - 1: everyone.
  EXPECT_TRUE(pp::nn_descent(x.data(), 30, 3, 0, pp::NNDescentMetric::SqEuclidean).indices.empty());
  const pp::NNGraph all = pp::nn_descent(x.data(), 30, 3, 29, pp::NNDescentMetric::SqEuclidean);
  for (int64_t i = 0; i < 30; ++i) {
    std::set<int32_t> s(all.indices.begin() + i * 29, all.indices.begin() + (i + 1) * 29);
    EXPECT_EQ(s.size(), 29u);
    EXPECT_EQ(s.count(static_cast<int32_t>(i)), 0u);
  }
}
