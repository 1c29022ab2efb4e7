// subsample and numpy's legacy MT19937 stream: indices equal to numpy 1.24's
// RandomState(seed).choice(n, k, replace=False) (values printed by numpy).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <numeric>

#include "scanpp/core/numpy_random.hpp"
#include "scanpp/pp/subsample.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using scanpp::testing::shared;

TEST(NumpyRandomState, MatchesNumpyLegacyStream) {
  random::NumpyRandomState rs(0);
  EXPECT_EQ(rs.next_uint32(), 2357136044u);
  EXPECT_EQ(rs.next_uint32(), 2546248239u);
  EXPECT_EQ(rs.next_uint32(), 3071714933u);
  EXPECT_EQ(random::NumpyRandomState(0).choice(100, 10, false),
            (std::vector<int64_t>{26, 86, 2, 55, 75, 93, 16, 73, 54, 95}));
  EXPECT_EQ(random::NumpyRandomState(0).permutation(10), (std::vector<int64_t>{2, 8, 4, 9, 1, 6, 7, 3, 0, 5}));
  EXPECT_EQ(random::NumpyRandomState(0).choice(50, 8, true), (std::vector<int64_t>{44, 47, 0, 3, 3, 39, 9, 19}));
  // Ranges above 2^32 take numpy's 64-bit masked path.
  EXPECT_EQ(random::NumpyRandomState(3).choice((int64_t{1} << 33) + 5, 4, true),
            (std::vector<int64_t>{7902520963, 521102280, 2445173525, 6172134035}));
  EXPECT_THROW(random::NumpyRandomState(0).choice(5, 6, false), ValueError);
}

TEST(Subsample, FractionPicksNumpysCellsInNumpysOrder) {
  const std::vector<int64_t> idx = pp::subsample_indices(2700, {.fraction = 0.1});
  ASSERT_EQ(idx.size(), 270u);
  EXPECT_EQ(std::vector<int64_t>(idx.begin(), idx.begin() + 12),
            (std::vector<int64_t>{2312, 2017, 1780, 850, 1414, 2208, 686, 1449, 1282, 196, 2057, 2172}));
  EXPECT_EQ(std::accumulate(idx.begin(), idx.end(), int64_t{0}), 374804);
  std::vector<int64_t> sorted = idx;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());  // without replacement
  // int(fraction * n) truncates, as Python's int() does.
  EXPECT_EQ(pp::subsample_indices(2638, {.fraction = 0.5}).size(), 1319u);
  EXPECT_EQ(pp::subsample_indices(2638, {.fraction = 0.0}).size(), 0u);
  EXPECT_EQ(pp::subsample_indices(2700, {.fraction = 0.1}), idx);  // deterministic for a seed
  EXPECT_NE(pp::subsample_indices(2700, {.fraction = 0.1, .random_state = 1}), idx);
}

TEST(Subsample, AnnDataKeepsTheDrawnCellsOfPbmc3k) {
  std::vector<std::string> barcodes;
  std::ifstream in(shared("golden/pbmc3k/filtered_barcodes.txt"));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) barcodes.push_back(line);
  ASSERT_EQ(barcodes.size(), 2638u);
  std::vector<float> x(barcodes.size());
  std::iota(x.begin(), x.end(), 0.f);
  AnnData ad{Element(Array::from_vector(x, {static_cast<int64_t>(x.size()), 1}))};
  ad.obs.set_index(barcodes);
  pp::subsample(ad, {.n_obs = 5, .random_state = 42});
  // numpy: RandomState(42).choice(2638, 5, replace=False) = [1557, 1089, 2379, 2600, 741]
  const std::vector<int64_t> expect = {1557, 1089, 2379, 2600, 741};
  ASSERT_EQ(ad.n_obs(), 5);
  for (size_t k = 0; k < expect.size(); ++k) {
    EXPECT_EQ(ad.obs_names()[k], barcodes[static_cast<size_t>(expect[k])]);
    EXPECT_EQ(ad.X_dense().as<float>()[k], static_cast<float>(expect[k]));
  }

  auto [sub, rows] = pp::subsample(Element(dense_to_csr(Array::from_vector(x, {2638, 1}))), {.n_obs = 5, .random_state = 42});
  EXPECT_EQ(rows, expect);
  ASSERT_TRUE(sub.is<SparseMatrix>());
  EXPECT_EQ(to_dense(sub.get<SparseMatrix>()).as<float>()[0], 1557.f);
}

TEST(Subsample, BadArgumentsAreReported) {
  EXPECT_THROW(pp::subsample_indices(10, {}), ValueError);
  EXPECT_THROW(pp::subsample_indices(10, {.fraction = 0.5, .n_obs = 3}), ValueError);
  EXPECT_THROW(pp::subsample_indices(10, {.fraction = 1.5}), ValueError);
  EXPECT_THROW(pp::subsample_indices(10, {.fraction = -0.1}), ValueError);
  EXPECT_THROW(pp::subsample_indices(10, {.n_obs = 11}), ValueError);
  EXPECT_THROW(pp::subsample_indices(10, {.n_obs = -1}), ValueError);
}
