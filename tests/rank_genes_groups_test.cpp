// tl.rank_genes_groups against Scanpy 1.11's rankings of the PBMC 3k final
// object (raw log-normalised counts, groupby 'leiden'), plus the statistical
// kernels on hand-checkable inputs, thread independence and bad input.
#include "scanpp/tl/rank_genes_groups.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "rank_genes_groups_support.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/get/rank_genes_groups_df.hpp"
#include "scanpp/tl/rank_genes_groups_stats.hpp"

using namespace scanpp;
using rgg_test::compare_with_golden;
using rgg_test::golden_groups;
using rgg_test::pbmc3k_final;
using rgg_test::read_csv_gz;

namespace {

const Dict& run(AnnData& a, const tl::RankGenesGroupsOptions& o, double* seconds = nullptr) {
  const auto t0 = std::chrono::steady_clock::now();
  tl::rank_genes_groups(a, o);
  if (seconds) *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return a.uns.at(o.key_added.empty() ? "rank_genes_groups" : o.key_added).get<Dict>();
}

void report(const char* what, const rgg_test::Deviations& d, double secs) {
  std::printf("%s: max rel dev scores %.2e lfc %.2e pvals %.2e (%s) pvals_adj %.2e, top-25 mismatches %d, %.3f s\n",
              what, d.scores, d.lfc, d.pvals, d.worst_p.c_str(), d.pvals_adj, d.top_mismatches, secs);
}

void expect_close(const rgg_test::Deviations& d) {
  EXPECT_LT(d.scores, 1e-4);
  EXPECT_LT(d.lfc, 1e-4);
  EXPECT_LT(d.pvals, 1e-4);
  EXPECT_LT(d.pvals_adj, 1e-4);
  EXPECT_EQ(d.top_mismatches, 0);
}

tl::RankGenesGroupsOptions leiden(tl::RankGenesMethod m) {
  tl::RankGenesGroupsOptions o;
  o.groupby = "leiden";
  o.method = m;
  return o;
}

}  // namespace

TEST(RankGenesGroupsKernels, StudentTTailMatchesScipy) {
  // scipy 1.10: stats.t.sf(t, df)
  EXPECT_NEAR(tl::student_t_sf(2.0, 10) / 0.036694017385370196, 1.0, 1e-12);
  EXPECT_NEAR(tl::student_t_sf(-1.0, 7) / 0.8246916685898963, 1.0, 1e-12);
  EXPECT_NEAR(tl::student_t_sf(5.0, 3.5) / 0.00527508949593389, 1.0, 1e-12);
  // Far tails keep their relative precision (PBMC-sized df, and a huge df).
  EXPECT_NEAR(tl::student_t_sf(28.0, 2600) / 2.607826495416044e-151, 1.0, 1e-10);
  EXPECT_NEAR(tl::student_t_sf(30.0, 1e9) / 4.90770984398412e-198, 1.0, 1e-5);
  // With df = 1 the tail is the Cauchy one: 1/2 - atan(t)/pi.
  EXPECT_NEAR(tl::student_t_sf(3.0, 1) / (0.5 - std::atan(3.0) / M_PI), 1.0, 1e-12);
  EXPECT_EQ(tl::student_t_sf(INFINITY, 5), 0.0);
  EXPECT_NEAR(tl::normal_two_sided_p(1.959963984540054), 0.05, 1e-15);
}

TEST(RankGenesGroupsKernels, WelchAndCorrections) {
  // stats.ttest_ind_from_stats(1, 1, 10, 0, 2, 20, equal_var=False) (std 1 and 2).
  const auto r = tl::welch_t_test(1.0, 1.0, 10, 0.0, 4.0, 20);
  // scipy: Ttest_indResult(statistic=1.8257418583505536, pvalue=0.07857958786913387)
  EXPECT_NEAR(r.t, 1.8257418583505536, 1e-14);
  EXPECT_NEAR(r.p, 0.07857958786913387, 1e-14);
  // Zero variances: equal means -> score 0, p 1; unequal -> inf, p 0.
  EXPECT_EQ(tl::welch_t_test(1, 0, 5, 1, 0, 5).t, 0.0);
  EXPECT_EQ(tl::welch_t_test(1, 0, 5, 1, 0, 5).p, 1.0);
  EXPECT_TRUE(std::isinf(tl::welch_t_test(2, 0, 5, 1, 0, 5).t));
  EXPECT_EQ(tl::welch_t_test(2, 0, 5, 1, 0, 5).p, 0.0);
  // statsmodels fdr_bh on [0.01, 0.04, 0.03, 0.2, nan]: nan counts as 1.
  const auto q = tl::benjamini_hochberg({0.01, 0.04, 0.03, 0.2, NAN});
  EXPECT_NEAR(q[0], 0.05, 1e-15);
  EXPECT_NEAR(q[1], 0.04 * 5 / 3, 1e-15);
  EXPECT_NEAR(q[2], 0.04 * 5 / 3, 1e-15);
  EXPECT_NEAR(q[3], 0.25, 1e-15);
  EXPECT_EQ(q[4], 1.0);
  const auto b = tl::bonferroni({0.01, 0.7});
  EXPECT_DOUBLE_EQ(b[0], 0.02);
  EXPECT_EQ(b[1], 1.0);
  EXPECT_NEAR(tl::log_fold_change(std::log1p(3.0), std::log1p(1.0), std::nullopt), std::log2((3 + 1e-9) / (1 + 1e-9)),
              1e-12);
  EXPECT_NEAR(tl::log_fold_change(2.0, 1.0, 2.0), std::log2((3 + 1e-9) / (1 + 1e-9)), 1e-12);
}

TEST(RankGenesGroupsKernels, WilcoxonOnSmallMatrixMatchesDirectRanks) {
  // 8 cells x 2 genes with negative values, zeros and ties; groups {0,1,2},{3,4,5}, and two unlabelled cells.
  const std::vector<float> v{0, 1, 2, 1, -1, 0, 0, 3, 1, 0, 2, 1, 0, 0, 5, 2};
  Array x = Array::from_vector(v, {8, 2});
  const std::vector<int32_t> codes{0, 0, 0, 1, 1, 1, -1, -1};
  const auto z = tl::wilcoxon_scores(Element(x), codes, 2, -1, true);
  const auto zs = tl::wilcoxon_scores(Element(dense_to_csr(x)), codes, 2, -1, true);
  EXPECT_EQ(z, zs);
  // Direct computation for gene 0, group 0 (cells 0-2): column 0 is 0,2,-1,0,1,2,0,5.
  const std::vector<double> g0{0, 2, -1, 0, 1, 2, 0, 5};
  std::vector<double> rank(8);
  for (int i = 0; i < 8; ++i) {
    double less = 0, eq = 0;
    for (int k = 0; k < 8; ++k) less += g0[k] < g0[i], eq += g0[k] == g0[i];
    rank[i] = less + (eq + 1) / 2;
  }
  const double r = rank[0] + rank[1] + rank[2];
  const double tc = 1 - (3.0 * 3 * 3 - 3 + 2.0 * 2 * 2 - 2) / (8.0 * 8 * 8 - 8);  // three zeros, two 2s
  const double want = (r - 3 * 9 / 2.0) / std::sqrt(tc * 3 * 5 * 9 / 12.0);
  EXPECT_NEAR(z[0], want, 1e-14);
}

class RankGenesGroupsGolden : public ::testing::Test {
 protected:
  AnnData a = pbmc3k_final();
};

TEST_F(RankGenesGroupsGolden, TTestMatchesScanpy) {
  double secs = 0;
  const Dict& res = run(a, leiden(tl::RankGenesMethod::TTest), &secs);
  const auto d = compare_with_golden(res, golden_groups(read_csv_gz(golden::shared("golden/pbmc3k/rank_genes_groups_t-test_full.csv.gz"))));
  report("t-test", d, secs);
  expect_close(d);
  // The top-25 table too (same genes, same order).
  const auto top = golden_groups(golden::read_csv(golden::shared("golden/pbmc3k/rank_genes_groups_t-test_top25.csv")));
  for (auto& [g, gg] : top)
    for (size_t k = 0; k < gg.names.size(); ++k)
      EXPECT_EQ(rgg_test::rec_names(res.at("names").get<RecArray>(), g)[k], gg.names[k]) << g << " " << k;
  const auto& params = res.at("params").get<Dict>();
  EXPECT_EQ(params.at("method").get<std::string>(), "t-test");
  EXPECT_EQ(params.at("reference").get<std::string>(), "rest");
  EXPECT_EQ(params.at("corr_method").get<std::string>(), "benjamini-hochberg");
  EXPECT_EQ(params.at("use_raw").get<Array>().get_double(0), 1.0);
  EXPECT_EQ(res.at("scores").get<RecArray>().fields[0].name, "0");
  EXPECT_EQ(std::get<Array>(res.at("scores").get<RecArray>().fields[0].values).dtype(), DType::Float32);
  EXPECT_EQ(std::get<Array>(res.at("pvals").get<RecArray>().fields[0].values).dtype(), DType::Float64);
}

TEST_F(RankGenesGroupsGolden, WilcoxonMatchesScanpy) {
  double secs = 0;
  const Dict& res = run(a, leiden(tl::RankGenesMethod::Wilcoxon), &secs);
  const auto d = compare_with_golden(res, golden_groups(read_csv_gz(golden::shared("golden/pbmc3k/rank_genes_groups_wilcoxon_full.csv.gz"))));
  report("wilcoxon", d, secs);
  expect_close(d);
}

TEST_F(RankGenesGroupsGolden, TTestOverestimVarMatchesScanpy) {
  double secs = 0;
  const Dict& res = run(a, leiden(tl::RankGenesMethod::TTestOverestimVar), &secs);
  const auto d = compare_with_golden(res, golden_groups(read_csv_gz(golden::shared("golden/pbmc3k_extra/rank_genes_groups_t-test_overestim_var_full.csv.gz"))));
  report("t-test_overestim_var", d, secs);
  expect_close(d);
}

TEST_F(RankGenesGroupsGolden, WilcoxonTieCorrectMatchesScanpy) {
  auto o = leiden(tl::RankGenesMethod::Wilcoxon);
  o.tie_correct = true;
  double secs = 0;
  const Dict& res = run(a, o, &secs);
  const auto d = compare_with_golden(res, golden_groups(read_csv_gz(golden::shared("golden/pbmc3k_extra/rank_genes_groups_wilcoxon_tiecorrect_full.csv.gz"))));
  report("wilcoxon tie_correct", d, secs);
  expect_close(d);
}

TEST_F(RankGenesGroupsGolden, TTestBonferroniMatchesScanpy) {
  auto o = leiden(tl::RankGenesMethod::TTest);
  o.corr_method = tl::CorrMethod::Bonferroni;
  double secs = 0;
  const Dict& res = run(a, o, &secs);
  const auto d = compare_with_golden(res, golden_groups(read_csv_gz(golden::shared("golden/pbmc3k_extra/rank_genes_groups_t-test_bonferroni_full.csv.gz"))));
  report("t-test bonferroni", d, secs);
  expect_close(d);
}

TEST_F(RankGenesGroupsGolden, WilcoxonGroupsAgainstReferenceWithPts) {
  auto o = leiden(tl::RankGenesMethod::Wilcoxon);
  o.groups = {"0", "2", "3"};
  o.reference = "1";
  o.pts = true;
  double secs = 0;
  const Dict& res = run(a, o, &secs);
  const auto gold = golden_groups(read_csv_gz(golden::shared("golden/pbmc3k_extra/rank_genes_groups_wilcoxon_ref1_pts_full.csv.gz")));
  const auto d = compare_with_golden(res, gold);
  report("wilcoxon groups 0,2,3 vs 1 with pts", d, secs);
  expect_close(d);
  // pts: genes x (groups, reference), no pts_rest against a reference.
  const auto& pts = res.at("pts").get<DataFrame>();
  EXPECT_EQ(pts.column_names(), (std::vector<std::string>{"0", "2", "3", "1"}));
  EXPECT_EQ(pts.n_rows(), 13714);
  EXPECT_EQ(res.count("pts_rest"), 0u);
  // get.rank_genes_groups_df reproduces Scanpy's table, pct_nz_group included.
  const auto df = get::rank_genes_groups_df(a, {});
  std::vector<std::string> cols;
  for (auto& c : df.columns) cols.push_back(c.name);
  EXPECT_EQ(cols, (std::vector<std::string>{"group", "names", "scores", "logfoldchanges", "pvals", "pvals_adj",
                                             "pct_nz_group"}));
  ASSERT_EQ(df.n_rows(), 3 * 13714);
  const auto& names = std::get<std::vector<std::string>>(df.column("names").values);
  const auto& groups = std::get<std::vector<std::string>>(df.column("group").values);
  const auto& pct = std::get<std::vector<double>>(df.column("pct_nz_group").values);
  double dev = 0;
  for (size_t r = 0; r < names.size(); ++r) {
    const auto& gg = gold.at(groups[r]);
    const size_t q = std::find(gg.names.begin(), gg.names.end(), names[r]) - gg.names.begin();
    ASSERT_LT(q, gg.names.size());
    dev = std::max(dev, std::abs(pct[r] - gg.pts[q]));
  }
  std::printf("pct_nz_group max abs dev %.2e\n", dev);
  EXPECT_LT(dev, 1e-7);
}

TEST_F(RankGenesGroupsGolden, SameResultWithOneAndTwoThreads) {
  const int before = num_threads();
  for (auto m : {tl::RankGenesMethod::TTest, tl::RankGenesMethod::Wilcoxon}) {
    auto o = leiden(m);
    o.pts = true;
    o.tie_correct = true;
    set_num_threads(1);
    AnnData one = a;
    tl::rank_genes_groups(one, o);
    set_num_threads(2);
    AnnData two = a;
    tl::rank_genes_groups(two, o);
    EXPECT_TRUE(one.uns.at("rank_genes_groups") == two.uns.at("rank_genes_groups")) << tl::to_string(m);
  }
  set_num_threads(before);
}

TEST_F(RankGenesGroupsGolden, DenseCscAndCsrAgree) {
  // 300 genes of raw.X as CSR, CSC and dense, with n_genes and rankby_abs.
  Indices rows(static_cast<size_t>(a.n_obs())), cols;
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
  for (int64_t j = 0; j < 13714; j += 45) cols.push_back(j);
  const SparseMatrix csr = std::get<SparseMatrix>(take_2d(*a.raw->X, rows, cols).value);
  AnnData small = a;
  small.raw.reset();
  small.var = DataFrame();
  std::vector<std::string> nm;
  for (int64_t j : cols) nm.push_back(a.raw->var.index()[static_cast<size_t>(j)]);
  small.var.set_index(nm);
  small.obsm.clear();
  small.varm.clear();
  std::vector<Dict> out;
  for (int kind = 0; kind < 3; ++kind) {
    small.X = kind == 0 ? Element(csr) : kind == 1 ? Element(convert_format(csr, SparseFormat::CSC)) : Element(to_dense(csr));
    for (auto m : {tl::RankGenesMethod::TTest, tl::RankGenesMethod::Wilcoxon}) {
      auto o = leiden(m);
      o.n_genes = 20;
      o.rankby_abs = true;
      o.pts = true;
      tl::rank_genes_groups(small, o);
      out.push_back(small.uns.at("rank_genes_groups").get<Dict>());
    }
  }
  EXPECT_TRUE(out[0] == out[2] && out[2] == out[4]);
  EXPECT_TRUE(out[1] == out[3] && out[3] == out[5]);
  const auto& sc = out[0].at("scores").get<RecArray>();
  EXPECT_EQ(sc.n_records, 20);
  const auto s = rgg_test::rec_numbers(sc, "3");
  for (size_t k = 1; k < s.size(); ++k) EXPECT_GE(std::abs(s[k - 1]), std::abs(s[k]));
}

TEST_F(RankGenesGroupsGolden, BadInputIsReported) {
  auto o = leiden(tl::RankGenesMethod::TTest);
  EXPECT_THROW(tl::parse_rank_genes_method("t_test"), ValueError);
  EXPECT_THROW(tl::parse_corr_method("holm"), ValueError);
  o.groupby = "nope";
  EXPECT_THROW(tl::rank_genes_groups(a, o), KeyError);
  o.groupby = "leiden";
  o.reference = "42";
  EXPECT_THROW(tl::rank_genes_groups(a, o), ValueError);
  o.reference = "rest";
  o.groups = {"0", "x"};
  EXPECT_THROW(tl::rank_genes_groups(a, o), ValueError);
  o.groups = {};
  o.layer = "counts";
  EXPECT_THROW(tl::rank_genes_groups(a, o), ValueError);  // layer with use_raw (default: raw present)
  o.use_raw = false;
  EXPECT_THROW(tl::rank_genes_groups(a, o), KeyError);  // no such layer
  o.layer.clear();
  // A group of one cell cannot be tested.
  auto& cat = std::get<Categorical>(a.obs.at("leiden"));
  auto cats = cat.string_categories();
  cats.push_back("solo");
  cat.categories = cats;
  cat.codes[0] = static_cast<int32_t>(cats.size() - 1);
  o.use_raw.reset();
  EXPECT_THROW(tl::rank_genes_groups(a, o), ValueError);
  o.n_genes = 0;
  EXPECT_THROW(tl::rank_genes_groups(a, o), ValueError);
}
