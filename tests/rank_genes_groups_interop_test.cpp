// tl.rank_genes_groups results as Scanpy users meet them: an h5ad written by
// scanpp read by Debian's anndata (record arrays, pts frames, filtered names,
// checked by tests/interop/check_rank_genes_groups.py against Scanpy's golden
// table and an independent numpy recomputation of the filter), the command
// line subcommands, tl.filter_rank_genes_groups and get.rank_genes_groups_df.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "rank_genes_groups_support.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/get/rank_genes_groups_df.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/tl/filter_rank_genes_groups.hpp"
#include "scanpp/tl/rank_genes_groups.hpp"

using namespace scanpp;
using scanpp::testing::run_command;
using scanpp::testing::TempDir;

namespace {

tl::RankGenesGroupsOptions wilcoxon(bool pts) {
  tl::RankGenesGroupsOptions o;
  o.groupby = "leiden";
  o.method = tl::RankGenesMethod::Wilcoxon;
  o.pts = pts;
  return o;
}

}  // namespace

TEST(RankGenesGroupsInterop, AnndataReadsRecordArraysPtsAndFilteredNames) {
  AnnData a = rgg_test::pbmc3k_final();
  tl::rank_genes_groups(a, wilcoxon(true));
  tl::filter_rank_genes_groups(a);
  TempDir tmp;
  const std::string out = tmp.file("rgg.h5ad");
  io::write_h5ad(a, out);
  std::string log;
  const int rc = run_command("/usr/bin/python3 " + std::string(SCANPP_SOURCE_DIR) +
                                 "/tests/interop/check_rank_genes_groups.py " + out + " " +
                                 golden::shared("golden/pbmc3k/rank_genes_groups_wilcoxon_full.csv.gz"),
                             &log);
  std::printf("%s", log.c_str());
  EXPECT_EQ(rc, 0) << log;
  // And scanpp reads its own file back unchanged.
  const AnnData b = io::read_h5ad(out);
  EXPECT_TRUE(b.uns.at("rank_genes_groups") == a.uns.at("rank_genes_groups"));
  EXPECT_TRUE(b.uns.at("rank_genes_groups_filtered") == a.uns.at("rank_genes_groups_filtered"));
}

TEST(RankGenesGroupsInterop, CommandLineRanksAndExportsTable) {
  TempDir tmp;
  const std::string cli = SCANPP_CLI;
  const std::string in = golden::shared("golden/pbmc3k/pbmc3k_scanpy.h5ad");
  const std::string out = tmp.file("ranked.h5ad"), csv = tmp.file("top.csv");
  std::string log;
  ASSERT_EQ(run_command(cli + " tl rank_genes_groups " + in + " " + out + " groupby=leiden method=t-test n_genes=25", &log), 0)
      << log;
  ASSERT_EQ(run_command(cli + " get rank_genes_groups_df " + out + " save=" + csv, &log), 0) << log;
  const auto table = golden::read_csv(csv);
  EXPECT_EQ(table.header,
            (std::vector<std::string>{"group", "names", "scores", "logfoldchanges", "pvals", "pvals_adj"}));
  // Scanpy's golden top 25 per group, same order, scores to 1e-4.
  const auto gold = golden::read_csv(golden::shared("golden/pbmc3k/rank_genes_groups_t-test_top25.csv"));
  ASSERT_EQ(table.rows.size(), gold.rows.size());
  const auto names = table.text("names"), gnames = gold.text("name");
  const auto scores = rgg_test::numbers(table, "scores"), gscores = rgg_test::numbers(gold, "score");
  EXPECT_EQ(table.text("group"), gold.text("group"));
  EXPECT_EQ(names, gnames);
  EXPECT_LT(golden::max_rel_dev(scores, gscores), 1e-4);
  // A bad parameter is one clear message and exit code 2.
  EXPECT_EQ(run_command(cli + " tl rank_genes_groups " + in + " " + tmp.file("x.h5ad") + " groupby=leiden method=ttest", &log), 2);
  EXPECT_NE(log.find("method"), std::string::npos) << log;
  EXPECT_EQ(run_command(cli + " get rank_genes_groups_df " + out + " save=" + tmp.file("y.csv") + " group=[42]", &log), 2);
}

TEST(RankGenesGroupsInterop, FilterGivesSameNamesFromStoredAndRecomputedStatistics) {
  AnnData a = rgg_test::pbmc3k_final();
  tl::rank_genes_groups(a, wilcoxon(true));  // pts + pts_rest + logfoldchanges stored
  auto bare = wilcoxon(false);
  bare.key_added = "bare";
  tl::rank_genes_groups(a, bare);  // same ranking, statistics recomputed by the filter
  tl::filter_rank_genes_groups(a);
  tl::FilterRankGenesGroupsOptions o;
  o.key = "bare";
  o.key_added = "bare_filtered";
  tl::filter_rank_genes_groups(a, o);
  const auto& stored = a.uns.at("rank_genes_groups_filtered").get<Dict>().at("names").get<RecArray>();
  const auto& recomputed = a.uns.at("bare_filtered").get<Dict>().at("names").get<RecArray>();
  ASSERT_EQ(stored.fields.size(), 9u);
  int kept = 0, differ = 0;
  const auto& pts = a.uns.at("rank_genes_groups").get<Dict>().at("pts").get<DataFrame>();
  std::map<std::string, size_t> row;
  for (size_t i = 0; i < pts.index().size(); ++i) row[pts.index()[i]] = i;
  for (size_t f = 0; f < stored.fields.size(); ++f) {
    const auto s = rgg_test::rec_names(stored, stored.fields[f].name);
    const auto r = rgg_test::rec_names(recomputed, stored.fields[f].name);
    const auto in = pts.numeric(stored.fields[f].name);
    for (size_t k = 0; k < s.size(); ++k) {
      differ += s[k] != r[k];
      if (s[k] != tl::kFilteredName) {
        ++kept;
        EXPECT_GT(in[row.at(s[k])], 0.25) << s[k];
      }
    }
  }
  std::printf("filter keeps %d gene-group pairs; stored and recomputed paths differ in %d\n", kept, differ);
  EXPECT_GT(kept, 100);
  // float32 stored fold changes against float64 recomputed ones may only flip genes at the cut-off.
  EXPECT_LE(differ, 2);
  // compare_abs keeps every gene the signed rule keeps.
  tl::FilterRankGenesGroupsOptions ab;
  ab.compare_abs = true;
  ab.key_added = "abs";
  tl::filter_rank_genes_groups(a, ab);
  const auto& absn = a.uns.at("abs").get<Dict>().at("names").get<RecArray>();
  int kept_abs = 0;
  for (auto& f : absn.fields)
    for (auto& n : std::get<std::vector<std::string>>(f.values)) kept_abs += n != tl::kFilteredName;
  EXPECT_GE(kept_abs, kept);
  o.key = "missing";
  EXPECT_THROW(tl::filter_rank_genes_groups(a, o), KeyError);
}

TEST(RankGenesGroupsInterop, DataFrameCutoffsSymbolsAndSingleGroup) {
  AnnData a = rgg_test::pbmc3k_final();
  tl::rank_genes_groups(a, wilcoxon(true));
  get::RankGenesGroupsDfOptions o;
  o.groups = {"3"};
  o.pval_cutoff = 1e-10;
  o.log2fc_min = 1.5;
  const auto df = get::rank_genes_groups_df(a, o);
  std::vector<std::string> cols;
  for (auto& c : df.columns) cols.push_back(c.name);
  EXPECT_EQ(cols, (std::vector<std::string>{"names", "scores", "logfoldchanges", "pvals", "pvals_adj", "pct_nz_group",
                                             "pct_nz_reference"}));
  const auto& padj = std::get<std::vector<double>>(df.column("pvals_adj").values);
  const auto& lfc = std::get<std::vector<float>>(df.column("logfoldchanges").values);
  ASSERT_GT(df.n_rows(), 5);
  for (int64_t r = 0; r < df.n_rows(); ++r) {
    EXPECT_LT(padj[r], 1e-10);
    EXPECT_GT(lfc[r], 1.5);
  }
  // The same rows as filtering Scanpy's golden table for group 3.
  const auto gold = rgg_test::golden_groups(
      rgg_test::read_csv_gz(golden::shared("golden/pbmc3k/rank_genes_groups_wilcoxon_full.csv.gz")));
  const auto& g3 = gold.at("3");
  std::vector<std::string> want;
  for (size_t k = 0; k < g3.names.size(); ++k)
    if (g3.pvals_adj[k] < 1e-10 && g3.lfc[k] > 1.5) want.push_back(g3.names[k]);
  EXPECT_EQ(std::get<std::vector<std::string>>(df.column("names").values), want);
  // gene_symbols joins a var column on the names (empty for genes outside var).
  get::RankGenesGroupsDfOptions s;
  s.groups = {"0", "1"};
  s.gene_symbols = a.var.column_names().at(0);
  const auto ds = get::rank_genes_groups_df(a, s);
  EXPECT_EQ(ds.columns[0].name, "group");
  EXPECT_EQ(ds.n_rows(), 2 * 13714);
  s.gene_symbols = "no_such_column";
  EXPECT_THROW(get::rank_genes_groups_df(a, s), KeyError);
  s.gene_symbols.reset();
  s.groups = {"nope"};
  EXPECT_THROW(get::rank_genes_groups_df(a, s), KeyError);
}
