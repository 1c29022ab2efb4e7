// tl.dpt(n_branchings > 0) against Scanpy 1.11.5: dpt(n_branchings=1) from
// root 0 on the final PBMC 3k object (golden pbmc3k_extra/dpt_branching1.csv:
// pseudotime and groups), the Kendall tau pieces against scipy, the order
// keys' consistency, thread independence, and bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "golden_support.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/tl/dpt.hpp"
#include "scanpp/tl/dpt_branching.hpp"

using namespace scanpp;

namespace {

const AnnData& golden_final() {
  static const AnnData a = io::read_h5ad(golden::shared("golden/pbmc3k/pbmc3k_scanpy.h5ad"), {.read_X = false});
  return a;
}

const AnnData& branched() {
  static const AnnData a = [] {
    AnnData c = golden_final();
    c.uns["iroot"] = Array::scalar<int64_t>(0);
    tl::dpt(c, {.n_branchings = 1});
    return c;
  }();
  return a;
}

std::vector<std::string> group_labels(const AnnData& a) {
  const auto& g = std::get<Categorical>(a.obs.at("dpt_groups"));
  std::vector<std::string> out;
  for (int64_t i = 0; i < a.n_obs(); ++i) out.push_back(g.label(i));
  return out;
}

}  // namespace

TEST(DptBranchingTest, KendallTauMatchesScipy) {
  // scipy.stats.kendalltau(...)[0] (tau-b, ties in both sequences)
  const std::vector<float> a1 = {1, 2, 3, 4, 5}, b1 = {5, 6, 7, 8, 7};
  EXPECT_EQ(tl::kendall_tau_b(a1, b1), 0.7378647873726218);
  const std::vector<float> a2 = {3, 1, 2, 2, 5, 4, 0.5f}, b2 = {1, 1, 2, 3, 4, 4, 5};
  EXPECT_EQ(tl::kendall_tau_b(a2, b2), 0.1025978352085154);
  const std::vector<float> flat = {1, 1, 1};
  EXPECT_TRUE(std::isnan(tl::kendall_tau_b(flat, a1.size() == 5 ? std::vector<float>{1, 2, 3} : flat)));
  // Sequences correlated up to index 20 and anti-correlated after split there.
  std::vector<float> a, b;
  for (int i = 0; i < 60; ++i) {
    a.push_back(static_cast<float>(i));
    b.push_back(i <= 20 ? static_cast<float>(i) : static_cast<float>(100 - i));
  }
  const int64_t split = tl::kendall_tau_split(a, b);
  std::printf("[dpt] kendall_tau_split of a kinked sequence (kink at 20): %ld\n", static_cast<long>(split));
  EXPECT_NEAR(static_cast<double>(split), 20.0, 2.0);
  EXPECT_THROW(tl::kendall_tau_split(std::vector<float>(11, 0.f), std::vector<float>(11, 0.f)), ValueError);
}

TEST(DptBranchingTest, GroupsMatchScanpy) {
  const AnnData& a = branched();
  const auto csv = golden::read_csv(golden::shared("golden/pbmc3k_extra/dpt_branching1.csv"));
  const std::vector<std::string> gold = csv.text("dpt_groups");
  const std::vector<std::string> ours = group_labels(a);
  ASSERT_EQ(gold.size(), ours.size());
  int64_t agree = 0;
  std::map<std::string, int64_t> sizes, gold_sizes;
  for (size_t i = 0; i < ours.size(); ++i) {
    agree += ours[i] == gold[i];
    ++sizes[ours[i]];
    ++gold_sizes[gold[i]];
  }
  std::printf("[dpt] n_branchings=1: %ld of %zu cells in Scanpy's group; sizes", static_cast<long>(agree), ours.size());
  for (auto& [k, v] : sizes) std::printf(" %s:%ld (Scanpy %ld)", k.c_str(), static_cast<long>(v), static_cast<long>(gold_sizes[k]));
  std::printf("\n");
  EXPECT_EQ(agree, static_cast<int64_t>(ours.size()));
  // the barcodes line up
  EXPECT_EQ(csv.text("barcode"), a.obs.index());
  // categories are the natsorted segment names
  const auto& g = std::get<Categorical>(a.obs.at("dpt_groups"));
  EXPECT_EQ(g.string_categories(), (std::vector<std::string>{"0", "1", "2"}));
  // and the pseudotime is Scanpy's
  const std::vector<double> pt = golden::as_doubles(a.obs.at("dpt_pseudotime"));
  EXPECT_LT(golden::max_rel_dev(pt, csv.numeric("dpt_pseudotime"), 1e-3), 1e-4);
}

TEST(DptBranchingTest, OrderKeysAreConsistent) {
  const AnnData& a = branched();
  const int64_t n = a.n_obs();
  const std::vector<double> order = golden::as_doubles(a.obs.at("dpt_order"));
  const std::vector<double> idx = golden::as_doubles(a.obs.at("dpt_order_indices"));
  const std::vector<double> pt = golden::as_doubles(a.obs.at("dpt_pseudotime"));
  const auto& g = std::get<Categorical>(a.obs.at("dpt_groups"));
  EXPECT_EQ(std::get<Array>(a.obs.at("dpt_order")).dtype(), DType::Int64);
  for (int64_t k = 0; k < n; ++k) ASSERT_EQ(order[static_cast<int64_t>(idx[k])], static_cast<double>(k));
  // groups ascend along the order, pseudotime ascends within a group
  const Array& cp = a.uns.at("dpt_changepoints").get<Array>();
  std::vector<int64_t> expected_cp;
  for (int64_t k = 0; k + 1 < n; ++k) {
    const int32_t g0 = g.codes[static_cast<int64_t>(idx[k])], g1 = g.codes[static_cast<int64_t>(idx[k + 1])];
    ASSERT_LE(g0, g1);
    if (g0 == g1) {
      ASSERT_LE(pt[static_cast<int64_t>(idx[k])], pt[static_cast<int64_t>(idx[k + 1])]);
    } else {
      expected_cp.push_back(k + 1);
    }
  }
  EXPECT_EQ(cp.to_vector<int64_t>(), expected_cp);
  // tips: n_groups x 2, each pair ordered by pseudotime, inside its group
  const Array& tips = a.uns.at("dpt_grouptips").get<Array>();
  ASSERT_EQ(tips.shape(), (std::vector<int64_t>{3, 2}));
  const std::vector<int64_t> t = tips.to_vector<int64_t>();
  for (int s = 0; s < 3; ++s) {
    EXPECT_LE(pt[t[2 * s]], pt[t[2 * s + 1]]);
  }
}

TEST(DptBranchingTest, SameForOneAndTwoThreadsAndMoreBranchings) {
  const int before = num_threads();
  AnnData one = golden_final(), two = golden_final();
  set_num_threads(1);
  tl::dpt(one, {.n_branchings = 2});
  set_num_threads(2);
  tl::dpt(two, {.n_branchings = 2});
  set_num_threads(before);
  EXPECT_EQ(std::get<Categorical>(one.obs.at("dpt_groups")).codes, std::get<Categorical>(two.obs.at("dpt_groups")).codes);
  EXPECT_TRUE(std::get<Array>(one.obs.at("dpt_order_indices")) == std::get<Array>(two.obs.at("dpt_order_indices")));
  // a second branching splits one of the three segments further
  const auto& g = std::get<Categorical>(one.obs.at("dpt_groups"));
  std::printf("[dpt] n_branchings=2: %ld groups\n", static_cast<long>(g.n_categories()));
  EXPECT_GT(g.n_categories(), 3);
  // the first branching's small branches are not split again (min_group_size 26 cells)
  const std::vector<std::string> first = group_labels(branched());
  for (int64_t i = 0; i < one.n_obs(); ++i)
    if (first[i] != "0") {
      ASSERT_EQ(g.label(i), first[i]) << i;
    }
}

TEST(DptBranchingTest, BadInputAndPipelineStep) {
  AnnData a = golden_final();
  EXPECT_THROW(tl::dpt(a, {.n_branchings = -1}), ValueError);
  EXPECT_THROW(tl::dpt(a, {.n_branchings = 1, .min_group_size = -1}), ValueError);
  YAML::Node node = YAML::Load("{n_branchings: 1}");
  pipeline::Params p("tl.dpt", node, "test");
  pipeline::registry().at("tl.dpt")(p)(a);
  EXPECT_EQ(std::get<Categorical>(a.obs.at("dpt_groups")).codes, std::get<Categorical>(branched().obs.at("dpt_groups")).codes);
}
