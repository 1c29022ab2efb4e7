// combat: Scanpy's ComBat on the Kang et al. stimulated/control PBMCs against
// Scanpy 1.11's corrected matrix, plus edge cases and thread independence.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "scanpp/core/parallel.hpp"
#include "combat_support.hpp"
#include "scanpp/pp/combat.hpp"

using namespace scanpp;
using scanpp::testing::shared;

using namespace combat_support;

TEST(CombatGolden, KangStimTop1000HvgMatchesScanpy) {
  const Golden& gold = golden();
  ASSERT_EQ(gold.genes.size(), 1000u);
  ASSERT_EQ(gold.cells.size(), 2000u);
  AnnData ad = kang();
  ASSERT_EQ(ad.obs_names(), gold.cells);
  pp::combat(ad, {.key = "stim"});
  ASSERT_TRUE(ad.X->is<Array>());
  ASSERT_EQ(ad.X_dense().dtype(), DType::Float64);
  const auto x = ad.X_dense().as<double>();
  double max_dev = 0, max_rel = 0;
  for (size_t k = 0; k < gold.values.size(); ++k) {
    const double d = std::abs(x[k] - gold.values[k]);
    max_dev = std::max(max_dev, d);
    max_rel = std::max(max_rel, d / std::max(1e-3, std::abs(gold.values[k])));
  }
  std::cout << "[ kang ] combat max |dev| = " << max_dev << " (golden CSV has 7 significant digits), "
            << "max rel dev = " << max_rel << "\n";
  EXPECT_LE(max_dev, 1e-4);
  // Spot values of the golden (numpy reproduces them to 1e-9).
  EXPECT_NEAR(x[0], 0.15184735432156302, 1e-6);
  EXPECT_NEAR(x[1], 3.4087007453526894, 1e-6);
  EXPECT_NEAR(x[5 * 1000 + 10], -0.04634888293393624, 1e-6);
}

TEST(Combat, KernelReportsPriorsIterationsAndThreadsAgree) {
  const AnnData& ad = kang();
  const Categorical c = Categorical::from_strings(std::get<std::vector<std::string>>(ad.obs.at("stim")));
  ASSERT_EQ(c.string_categories(), (std::vector<std::string>{"ctrl", "stim"}));
  const int before = num_threads();
  set_num_threads(1);
  auto a = pp::combat(ad.X_dense(), c.codes, 2);
  set_num_threads(2);
  auto b = pp::combat(ad.X_dense(), c.codes, 2);
  set_num_threads(before);
  EXPECT_EQ(a.X, b.X);
  EXPECT_EQ(a.gamma_star, b.gamma_star);
  // numpy's _it_sol converges in 3 iterations for both batches on these data.
  EXPECT_EQ(a.iterations, (std::vector<int>{3, 3}));
  // Sparse input gives the same numbers.
  auto s = pp::combat(dense_to_csr(ad.X_dense()), c.codes, 2);
  EXPECT_EQ(s.X, a.X);
}

TEST(Combat, ConstantGeneKeepsItsValueAndBatchShiftIsRemoved) {
  // 8 cells, 2 batches; gene 0 constant, gene 1 = batch offset + noise, gene 2 noise.
  const std::vector<double> v = {5, 1.0, 0.3, 5, 1.2, 0.1, 5, 0.9, 0.4, 5, 1.1, 0.2,
                                 5, 3.0, 0.35, 5, 3.3, 0.15, 5, 2.9, 0.25, 5, 3.1, 0.3};
  AnnData ad{Element(Array::from_vector(v, {8, 3}))};
  ad.obs.set("batch", Categorical::from_strings({"a", "a", "a", "a", "b", "b", "b", "b"}));
  auto out = pp::combat(ad, {.inplace = false});
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(ad.X_dense().as<double>()[1], 1.0);  // not in place
  const auto x = out->as<double>();
  for (int i = 0; i < 8; ++i) EXPECT_DOUBLE_EQ(x[static_cast<size_t>(i * 3)], 5.0);
  double ma = 0, mb = 0;
  for (int i = 0; i < 4; ++i) {
    ma += x[static_cast<size_t>(i * 3 + 1)] / 4;
    mb += x[static_cast<size_t>((i + 4) * 3 + 1)] / 4;
  }
  // The raw batch means differ by 2.025; after correction they are much closer.
  EXPECT_LT(std::abs(ma - mb), 0.5);
}

TEST(Combat, BadInputIsReported) {
  AnnData ad{Element(Array::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {3, 2}))};
  ad.obs.set("batch", Categorical::from_strings({"a", "a", "b"}));
  EXPECT_THROW(pp::combat(ad, {.key = "nope"}), ValueError);
  EXPECT_THROW(pp::combat(ad), ValueError);  // batch 'b' has one cell
  EXPECT_THROW(pp::combat(ad, {.covariates = {"batch"}}), ValueError);
  EXPECT_EQ(ad.X_dense().as<double>()[0], 1.0);
  EXPECT_THROW(pp::combat(Array(DType::Float32, {3, 2}), std::vector<int32_t>{0, 1}, 2), ValueError);
}
