// tl.rank_genes_groups(method='logreg'): multinomial logistic regression
// (sklearn LogisticRegression defaults, max_iter=1000 as in the golden run)
// against Scanpy's top-25 genes per PBMC 3k Leiden group, the binary case,
// and thread independence.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <set>

#include "rank_genes_groups_support.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/rank_genes_groups.hpp"

using namespace scanpp;

namespace {

tl::RankGenesGroupsOptions logreg(int max_iter) {
  tl::RankGenesGroupsOptions o;
  o.groupby = "leiden";
  o.method = tl::RankGenesMethod::Logreg;
  o.logreg.max_iter = max_iter;
  return o;
}

}  // namespace

TEST(RankGenesGroupsLogreg, TopGenesOverlapScanpy) {
  AnnData a = rgg_test::pbmc3k_final();
  const auto t0 = std::chrono::steady_clock::now();
  tl::rank_genes_groups(a, logreg(1000));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto& res = a.uns.at("rank_genes_groups").get<Dict>();
  EXPECT_EQ(res.count("pvals"), 0u);
  EXPECT_EQ(res.count("logfoldchanges"), 0u);
  EXPECT_EQ(res.at("params").get<Dict>().at("method").get<std::string>(), "logreg");
  const auto gold = rgg_test::golden_groups(golden::read_csv(golden::shared("golden/pbmc3k/rank_genes_groups_logreg_top25.csv")));
  const auto& names = res.at("names").get<RecArray>();
  ASSERT_EQ(names.fields.size(), gold.size());
  std::printf("logreg %.2f s; top-25 overlap per group:", secs);
  for (auto& [g, gg] : gold) {
    const auto mine = rgg_test::rec_names(names, g);
    std::set<std::string> want(gg.names.begin(), gg.names.begin() + 25);
    int overlap = 0;
    for (int k = 0; k < 25; ++k) overlap += want.count(mine[k]);
    std::printf(" %s:%d", g.c_str(), overlap);
    EXPECT_GE(overlap, 20) << "group " << g;
    // Scores are coefficients of the same model: the top score agrees roughly.
    const double top = rgg_test::rec_numbers(res.at("scores").get<RecArray>(), g)[0];
    EXPECT_NEAR(top, gg.scores[0], 0.3 * std::abs(gg.scores[0])) << "group " << g;
  }
  std::printf("\n");
}

TEST(RankGenesGroupsLogreg, TwoGroupsGiveOneBinaryModel) {
  AnnData a = rgg_test::pbmc3k_final();
  auto o = logreg(100);
  o.groups = {"3", "0"};
  tl::rank_genes_groups(a, o);
  const auto& res = a.uns.at("rank_genes_groups").get<Dict>();
  const auto& names = res.at("names").get<RecArray>();
  // sklearn fits one coefficient row for the second class (category '3'),
  // reported for the first listed group only.
  ASSERT_EQ(names.fields.size(), 1u);
  EXPECT_EQ(names.fields[0].name, "3");
  const auto top = rgg_test::rec_names(names, "3");
  // Group 3 are B cells: their markers rank first against CD4 T cells (group 0).
  std::set<std::string> head(top.begin(), top.begin() + 10);
  EXPECT_TRUE(head.count("CD74") || head.count("CD79A") || head.count("HLA-DRA")) << top[0];
  o.groups = {"3"};
  EXPECT_THROW(tl::rank_genes_groups(a, o), ValueError);
}

TEST(RankGenesGroupsLogreg, SameCoefficientsWithOneAndTwoThreads) {
  const AnnData& a = rgg_test::pbmc3k_final();
  const int before = num_threads();
  std::vector<int32_t> labels;
  const auto& cat = std::get<Categorical>(a.obs.at("leiden"));
  for (int32_t c : cat.codes) labels.push_back(c);
  tl::LogregOptions o;
  o.max_iter = 30;
  set_num_threads(1);
  const auto one = tl::logistic_regression(*a.raw->X, labels, static_cast<int>(cat.n_categories()), o);
  set_num_threads(2);
  const auto two = tl::logistic_regression(*a.raw->X, labels, static_cast<int>(cat.n_categories()), o);
  set_num_threads(before);
  EXPECT_EQ(one.coef, two.coef);
  EXPECT_EQ(one.intercept, two.intercept);
  EXPECT_EQ(one.iterations, 30);
  std::printf("30 L-BFGS iterations took %d objective evaluations\n", one.evaluations);
  EXPECT_LT(one.evaluations, 60);
  // Bad input.
  EXPECT_THROW(tl::logistic_regression(*a.raw->X, std::vector<int32_t>(3, 0), 2, o), ValueError);
  o.C = -1;
  EXPECT_THROW(tl::logistic_regression(*a.raw->X, labels, 9, o), ValueError);
}
