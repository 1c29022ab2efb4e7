// kNN search: Scanpy's exact kNN on the PBMC 3k golden (X_pca[:, :40], k=10),
// every metric against a naive double-precision search, the size rule for
// exact vs approximate search, recall of the approximate search (NN-descent,
// and the HNSW alternative) on real data (neurons10k) and on a synthetic
// clustered set, and 1 vs 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "knn_test_data.hpp"
#include "npy_lite.hpp"
#include "scanpp/io/npy.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pp/knn.hpp"
#include "test_paths.hpp"
#include "thread_guard.hpp"

using namespace scanpp;
using scanpp::testing::shared;

namespace {

using scanpp::testing::ThreadGuard;

const Array& pbmc_pcs40() {
  static const Array x = knn_test_data::first_cols(io::read_npy(shared("golden/pbmc3k/X_pca.npy")), 40);
  return x;
}

double naive_distance(pp::KnnMetric m, const double* a, const double* b, int d) {
  double s = 0;
  switch (m) {
    case pp::KnnMetric::Euclidean:
      for (int t = 0; t < d; ++t) s += (a[t] - b[t]) * (a[t] - b[t]);
      return std::sqrt(s);
    case pp::KnnMetric::Manhattan:
      for (int t = 0; t < d; ++t) s += std::fabs(a[t] - b[t]);
      return s;
    case pp::KnnMetric::Chebyshev:
      for (int t = 0; t < d; ++t) s = std::max(s, std::fabs(a[t] - b[t]));
      return s;
    case pp::KnnMetric::Cosine:
    case pp::KnnMetric::Correlation: {
      double ma = 0, mb = 0;
      if (m == pp::KnnMetric::Correlation) {
        for (int t = 0; t < d; ++t) {
          ma += a[t];
          mb += b[t];
        }
        ma /= d;
        mb /= d;
      }
      double ab = 0, aa = 0, bb = 0;
      for (int t = 0; t < d; ++t) {
        ab += (a[t] - ma) * (b[t] - mb);
        aa += (a[t] - ma) * (a[t] - ma);
        bb += (b[t] - mb) * (b[t] - mb);
      }
      return 1.0 - ab / std::sqrt(aa * bb);
    }
  }
  return s;
}

}  // namespace

TEST(Knn, Pbmc3kExactMatchesScanpyGolden) {
  const Array& x = pbmc_pcs40();
  const Array gi = npy_lite::read(shared("golden/pbmc3k/knn_indices.npy"));
  const Array gd = npy_lite::read(shared("golden/pbmc3k/knn_distances.npy"));
  ASSERT_EQ(gi.shape(), (std::vector<int64_t>{2638, 9}));
  const pp::KnnResult r = pp::knn(x, 10);
  EXPECT_FALSE(r.approximate);  // 2,638 cells: Scanpy's exact path
  ASSERT_EQ(r.n, 2638);
  ASSERT_EQ(r.k, 10);
  const auto gis = gi.as<int64_t>();
  const auto gds = gd.as<double>();
  int64_t set_mismatch = 0, order_mismatch = 0, bit_equal = 0;
  double max_rel = 0;
  for (int64_t i = 0; i < r.n; ++i) {
    EXPECT_EQ(r.index(i, 0), i);
    EXPECT_EQ(r.distance(i, 0), 0.0);
    std::set<int64_t> mine, gold;
    for (int j = 0; j < 9; ++j) {
      mine.insert(r.index(i, j + 1));
      gold.insert(gis[static_cast<size_t>(i * 9 + j)]);
      order_mismatch += r.index(i, j + 1) != gis[static_cast<size_t>(i * 9 + j)];
      const double g = gds[static_cast<size_t>(i * 9 + j)], m = r.distance(i, j + 1);
      max_rel = std::max(max_rel, std::fabs(m - g) / g);
      bit_equal += m == g;
    }
    set_mismatch += mine != gold;
  }
  std::printf("[pbmc3k exact kNN] rows with other neighbour sets: %lld, rank differences: %lld, "
              "distances bit-equal: %lld / %d, max relative difference: %.3g\n",
              static_cast<long long>(set_mismatch), static_cast<long long>(order_mismatch),
              static_cast<long long>(bit_equal), 2638 * 9, max_rel);
  // The golden has no exact ties at this size, so sets and ranks must agree.
  EXPECT_EQ(set_mismatch, 0);
  EXPECT_EQ(order_mismatch, 0);
  EXPECT_LE(max_rel, 1e-5);
}

TEST(Knn, EveryMetricMatchesNaiveSearch) {
  const int64_t n = 300;
  const int d = 7;
  const Array x = knn_test_data::clustered(n, d, 5, 11);
  std::vector<double> xd = x.to_vector<double>();
  for (auto m : {pp::KnnMetric::Euclidean, pp::KnnMetric::Cosine, pp::KnnMetric::Manhattan,
                 pp::KnnMetric::Correlation, pp::KnnMetric::Chebyshev}) {
    const int k = 12;
    const pp::KnnResult r = pp::knn_exact(x, k, m);
    double max_err = 0;
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; ++i) {
      std::vector<std::pair<double, int64_t>> all;
      for (int64_t j = 0; j < n; ++j)
        if (j != i) all.push_back({naive_distance(m, &xd[static_cast<size_t>(i * d)], &xd[static_cast<size_t>(j * d)], d), j});
      std::sort(all.begin(), all.end());
      ASSERT_EQ(r.index(i, 0), i);
      for (int j = 1; j < k; ++j) {
        wrong += r.index(i, j) != all[static_cast<size_t>(j - 1)].second;
        max_err = std::max(max_err, std::fabs(r.distance(i, j) - all[static_cast<size_t>(j - 1)].first));
      }
    }
    EXPECT_EQ(wrong, 0) << pp::knn_metric_name(m);
    // float32 rounding of the squared euclidean distance (as scikit-learn)
    // bounds the euclidean error; the others are plain double arithmetic.
    EXPECT_LT(max_err, m == pp::KnnMetric::Euclidean ? 1e-6 : 1e-12) << pp::knn_metric_name(m);
  }
}

TEST(Knn, TiesBrokenBySmallerIndex) {
  // Cells 1..4 all at distance 1 from cell 0; cell 5 far away.
  const Array x = Array::from_vector(std::vector<float>{0, 0, 1, 0, 0, 1, -1, 0, 0, -1, 5, 5}, {6, 2});
  const pp::KnnResult r = pp::knn_exact(x, 4);
  EXPECT_EQ(r.index(0, 0), 0);
  EXPECT_EQ(r.index(0, 1), 1);
  EXPECT_EQ(r.index(0, 2), 2);
  EXPECT_EQ(r.index(0, 3), 3);
  EXPECT_DOUBLE_EQ(r.distance(0, 3), 1.0);
  // Duplicated points: the cell itself stays first, its twin follows at 0.
  const Array dup = Array::from_vector(std::vector<float>{1, 1, 1, 1, 3, 3}, {3, 2});
  const pp::KnnResult rd = pp::knn_exact(dup, 2);
  EXPECT_EQ(rd.index(1, 0), 1);
  EXPECT_EQ(rd.index(1, 1), 0);
  EXPECT_EQ(rd.distance(1, 1), 0.0);
}

TEST(Knn, ScanpySizeRuleForExactSearch) {
  EXPECT_TRUE(pp::knn_uses_exact(8191, pp::KnnMetric::Euclidean));
  EXPECT_FALSE(pp::knn_uses_exact(8192, pp::KnnMetric::Euclidean));
  EXPECT_TRUE(pp::knn_uses_exact(4095, pp::KnnMetric::Cosine));
  EXPECT_FALSE(pp::knn_uses_exact(4096, pp::KnnMetric::Cosine));
  EXPECT_FALSE(pp::knn_uses_exact(5000, pp::KnnMetric::Manhattan));
  const Array x = knn_test_data::clustered(4200, 10, 8, 3);
  // 4,200 cells: exact for euclidean only.
  EXPECT_TRUE(pp::knn(x, 5, {.metric = pp::KnnMetric::Cosine}).approximate);
  EXPECT_FALSE(pp::knn(x, 5).approximate);
  EXPECT_FALSE(pp::knn(x, 5, {.metric = pp::KnnMetric::Manhattan, .method = pp::KnnMethod::Exact}).approximate);
}

TEST(Knn, ApproximateRecallOnNeurons10k) {
  // log1p of the raw counts, then a Gaussian random projection to 50
  // dimensions (counter-based RNG); 10,000 cells take Scanpy's approximate path.
  const Array x = knn_test_data::neurons10k_projection(shared("data/neurons10k/matrix.mtx"), 50);
  ASSERT_EQ(x.shape()[0], 10000);
  const pp::KnnResult exact = pp::knn_exact(x, 15);
  const pp::KnnResult approx = pp::knn(x, 15);
  ASSERT_TRUE(approx.approximate);
  const double recall = pp::knn_recall(approx, exact);
  std::printf("[neurons10k, 50-d projection, k=15] NN-descent recall vs exact: %.4f\n", recall);
  EXPECT_GE(recall, 0.95);
  // Scanpy's tutorial size, n_neighbors = 10 (knn with 11: 10 others).
  const double recall10 = pp::knn_recall(pp::knn(x, 11), pp::knn_truncate(exact, 11));
  std::printf("[neurons10k, k=11] NN-descent recall vs exact: %.4f\n", recall10);
  EXPECT_GE(recall10, 0.95);
  // Every approximate distance is the exact distance of the pair.
  const std::vector<double> xd = x.to_vector<double>();
  for (int64_t i = 0; i < 10000; i += 97)
    for (int j = 1; j < 15; ++j)
      EXPECT_NEAR(approx.distance(i, j),
                  naive_distance(pp::KnnMetric::Euclidean, &xd[static_cast<size_t>(i * 50)],
                                 &xd[static_cast<size_t>(approx.index(i, j)) * 50], 50),
                  1e-9);
}

TEST(Knn, ApproximateRecallOnSyntheticClusters) {
  // 12,000 points in 50 dimensions (PCA-like decaying variances, 40
  // clusters); recall on 1,200 query cells against the exact search.
  // (L-infinity is tested on the kernel in nn_descent_test.cpp.)
  const int64_t n = 12000;
  const Array x = knn_test_data::clustered(n, 50, 40, 7);
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < n; i += 10) rows.push_back(i);
  for (auto m : {pp::KnnMetric::Euclidean, pp::KnnMetric::Cosine, pp::KnnMetric::Manhattan,
                 pp::KnnMetric::Correlation}) {
    const pp::KnnResult approx = pp::knn_approx(x, 15, {.metric = m});
    const pp::KnnResult exact = pp::knn_exact_rows(x, rows, 15, m);
    const double recall = pp::knn_recall(approx, exact, rows);
    std::printf("[synthetic 12k x 50, k=15, %s] NN-descent recall vs exact: %.4f\n", pp::knn_metric_name(m).c_str(),
                recall);
    EXPECT_GE(recall, 0.95) << pp::knn_metric_name(m);
  }
}

TEST(Knn, OneAndTwoThreadsBitIdentical) {
  ThreadGuard guard;
  const Array& x = pbmc_pcs40();
  const Array big = knn_test_data::clustered(6000, 30, 20, 5);
  const pp::KnnOptions cos{.metric = pp::KnnMetric::Cosine};
  const pp::KnnOptions l1{.metric = pp::KnnMetric::Manhattan};
  const pp::KnnOptions hnsw{.approx_index = pp::ApproxIndex::Hnsw};
  set_num_threads(1);
  const pp::KnnResult e1 = pp::knn_exact(x, 15);
  const pp::KnnResult c1 = pp::knn_exact(x, 15, pp::KnnMetric::Cosine);
  const pp::KnnResult a1 = pp::knn_approx(big, 15);
  const pp::KnnResult ac1 = pp::knn_approx(big, 15, cos);
  const pp::KnnResult al1 = pp::knn_approx(big, 15, l1);
  const pp::KnnResult h1 = pp::knn_approx(big, 15, hnsw);
  set_num_threads(2);
  const pp::KnnResult e2 = pp::knn_exact(x, 15);
  const pp::KnnResult c2 = pp::knn_exact(x, 15, pp::KnnMetric::Cosine);
  const pp::KnnResult a2 = pp::knn_approx(big, 15);
  const pp::KnnResult ac2 = pp::knn_approx(big, 15, cos);
  const pp::KnnResult al2 = pp::knn_approx(big, 15, l1);
  const pp::KnnResult h2 = pp::knn_approx(big, 15, hnsw);
  EXPECT_EQ(e1.indices, e2.indices);
  EXPECT_EQ(e1.distances, e2.distances);
  EXPECT_EQ(c1.indices, c2.indices);
  EXPECT_EQ(c1.distances, c2.distances);
  EXPECT_EQ(a1.indices, a2.indices);
  EXPECT_EQ(a1.distances, a2.distances);
  EXPECT_EQ(ac1.indices, ac2.indices);
  EXPECT_EQ(ac1.distances, ac2.distances);
  EXPECT_EQ(al1.indices, al2.indices);
  EXPECT_EQ(al1.distances, al2.distances);
  EXPECT_EQ(h1.indices, h2.indices);
  EXPECT_EQ(h1.distances, h2.distances);
  // A different seed gives a different graph, not a different contract.
  const pp::KnnResult a3 = pp::knn_approx(big, 15, {.random_state = 1});
  EXPECT_GE(pp::knn_recall(a3, a1), 0.9);
  // The HNSW alternative finds (nearly) the same neighbours, and both are
  // close to the exact ones.
  EXPECT_GE(pp::knn_recall(h1, a1), 0.95);
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < 6000; i += 5) rows.push_back(i);
  const pp::KnnResult ex = pp::knn_exact_rows(big, rows, 15);
  const double ra = pp::knn_recall(a1, ex, rows), rh = pp::knn_recall(h1, ex, rows);
  std::printf("[synthetic 6k x 30, k=15] recall vs exact: NN-descent %.4f, HNSW %.4f\n", ra, rh);
  EXPECT_GE(ra, 0.95);
  EXPECT_GE(rh, 0.95);
}

TEST(Knn, BadInputIsRejected) {
  const Array x = knn_test_data::clustered(20, 3, 2, 1);
  EXPECT_THROW(pp::knn(x, 0), ValueError);
  EXPECT_THROW(pp::knn(x, 21), ValueError);
  EXPECT_THROW(pp::knn(Array::from_vector(std::vector<float>{1, 2, 3}), 1), ValueError);
  Array bad = x;
  bad.as<float>()[5] = std::nanf("");
  EXPECT_THROW(pp::knn(bad, 3), InputError);
  EXPECT_THROW(pp::parse_knn_metric("hamming"), ValueError);
  EXPECT_EQ(pp::parse_knn_metric("l1"), pp::KnnMetric::Manhattan);
  EXPECT_EQ(pp::parse_knn_metric("cityblock"), pp::KnnMetric::Manhattan);
  EXPECT_THROW(pp::knn_exact_rows(x, std::vector<int64_t>{25}, 3), ValueError);
}
