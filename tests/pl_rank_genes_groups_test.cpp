// rank_genes_groups plots on the golden object's uns['rgg_wilcoxon']: the
// genes they pick against Scanpy's own top-25 table, the per-group panels,
// the grouped wrappers, and the pipeline steps.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <cmath>
#include <map>

#include "pl_grouped_support.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/pl/rank_genes_groups_plot.hpp"

using namespace scanpp;
using plgrp_test::golden_pbmc;
using plgrp_test::Png;

namespace {

// Scanpy's top genes per group from golden/pbmc3k/rank_genes_groups_wilcoxon_top25.csv.
std::map<std::string, std::vector<std::string>> golden_top() {
  const auto csv = golden::read_csv(golden::shared("golden/pbmc3k/rank_genes_groups_wilcoxon_top25.csv"));
  std::map<std::string, std::vector<std::string>> top;
  const auto g = csv.text("group"), n = csv.text("name");
  for (size_t i = 0; i < g.size(); ++i) top[g[i]].push_back(n[i]);
  return top;
}

}  // namespace

TEST(PlRankGenesGroups, SelectionMatchesScanpyTopGenes) {
  const AnnData& ad = golden_pbmc();
  const auto top = golden_top();
  pl::RankedSelection sel;
  sel.key = "rgg_wilcoxon";
  sel.n_genes = 5;
  const auto [vn, groupby] = pl::ranked_var_names(ad, sel);
  EXPECT_EQ(groupby, "leiden");
  ASSERT_EQ(vn.groups.labels.size(), 9u);
  for (size_t k = 0; k < 9; ++k) {
    const auto& g = vn.groups.labels[k];
    EXPECT_EQ(g, std::to_string(k));
    const auto [a, b] = vn.groups.positions[k];
    EXPECT_EQ(b - a, 4);
    for (int64_t i = a; i <= b; ++i) EXPECT_EQ(vn.names[static_cast<size_t>(i)], top.at(g)[static_cast<size_t>(i - a)]);
  }
  // The last genes with a negative n_genes, and a log-fold-change floor.
  sel.n_genes = -2;
  const auto [last, g2] = pl::ranked_var_names(ad, sel);
  EXPECT_EQ(last.names.size(), 18u);
  sel.n_genes = 5;
  sel.min_logfoldchange = 3;
  const auto [lf, g3] = pl::ranked_var_names(ad, sel);
  const auto r = pl::read_ranked_genes(ad, "rgg_wilcoxon");
  for (size_t k = 0; k < lf.groups.labels.size(); ++k) {
    const auto& g = lf.groups.labels[k];
    for (int64_t i = lf.groups.positions[k].first; i <= lf.groups.positions[k].second; ++i) {
      const auto& names = r.names.at(g);
      const auto at = std::find(names.begin(), names.end(), lf.names[static_cast<size_t>(i)]) - names.begin();
      EXPECT_GE(r.logfoldchanges.at(g)[static_cast<size_t>(at)], 3.0);
    }
  }
  sel.var_names = std::vector<std::string>{"CST3"};
  EXPECT_THROW(pl::ranked_var_names(ad, sel), ValueError);
  pl::RankedSelection missing;
  missing.key = "no_such_key";
  EXPECT_THROW(pl::ranked_var_names(ad, missing), KeyError);
}

TEST(PlRankGenesGroups, PanelsOfRankedNames) {
  AnnData ad = golden_pbmc();
  pl::RankGenesGroupsPlotOptions o;
  o.key = "rgg_wilcoxon";
  scanpp::testing::TempDir tmp;
  const auto info = pl::rank_genes_groups_plot(ad, o, tmp.file("rgg.png"));
  Png png(tmp.file("rgg.png"));
  ASSERT_TRUE(png.ok());
  EXPECT_EQ(png.width, info.figure.width_px);
  // 9 groups in rows of 4: a 4 x 3 grid of 4 in panels (cropped).
  EXPECT_NEAR(static_cast<double>(png.width) / png.height, 4.0 / 3.0, 0.25);
  // Group 0's top gene (LDHB, score 21.9) is written upright at x = 0 above its score:
  // dark pixels in a thin column above that point, nothing far to the right at that height in the panel.
  const auto& m = info.main_px;
  const auto r = pl::read_ranked_genes(ad, "rgg_wilcoxon");
  double ymin = 1e9, ymax = -1e9;
  for (auto& g : r.group_names)
    for (int k = 0; k < 20; ++k) ymin = std::min(ymin, r.scores.at(g)[k]), ymax = std::max(ymax, r.scores.at(g)[k]);
  ymax += 0.3 * (ymax - ymin);
  const double x0 = m.x + (0 + 0.9) / 20.8 * m.w;  // xlim (-0.9, 19.9)
  const double y0 = m.bottom() - (r.scores.at("0")[0] - ymin) / (ymax - ymin) * m.h;
  EXPECT_GT(png.dark_pixels(x0 - 6, y0 - 40, x0 + 6, y0), 20);
  EXPECT_EQ(png.dark_pixels(x0 - 6, m.y + 3, x0 + 6, y0 - 60), 0);
  o.n_genes = 0;
  EXPECT_THROW(pl::rank_genes_groups_plot(ad, o, tmp.file("bad.png")), ValueError);
  o.n_genes = 5;
  o.groups = std::vector<std::string>{"42"};
  EXPECT_THROW(pl::rank_genes_groups_plot(ad, o, tmp.file("bad.png")), KeyError);
}

TEST(PlRankGenesGroups, GroupedWrappersUseTopGenesAndDendrogram) {
  AnnData ad = golden_pbmc();
  pl::RankedSelection sel;
  sel.key = "rgg_wilcoxon";
  sel.n_genes = 3;
  pl::DotplotOptions d;
  d.dendrogram = true;
  scanpp::testing::TempDir tmp;
  pl::rank_genes_groups_dotplot(ad, sel, d, tmp.file("dot.png"));
  // The dendrogram orders the groups, and the gene blocks follow them.
  const auto& ordered = ad.uns.at("dendrogram_leiden").get<Dict>().at("categories_ordered").get<StringArray>().values;
  auto [vn, groupby] = pl::ranked_var_names(ad, sel);
  d.var_names = vn;
  d.groupby = {groupby};
  const auto data = pl::dotplot_data(ad, d);
  EXPECT_EQ(data.color.rows, ordered);
  EXPECT_EQ(data.groups.var_groups.labels, ordered);
  const auto top = golden_top();
  for (size_t k = 0; k < ordered.size(); ++k)
    for (int i = 0; i < 3; ++i) EXPECT_EQ(data.color.cols[3 * k + i], top.at(ordered[k])[static_cast<size_t>(i)]);
  // Each group is among the highest mean expressions of its own top gene.
  for (size_t k = 0; k < ordered.size(); ++k) {
    const double own = data.color.at(static_cast<int64_t>(k), static_cast<int64_t>(3 * k));
    int higher = 0;
    for (int64_t r = 0; r < data.color.n_rows(); ++r) higher += data.color.at(r, static_cast<int64_t>(3 * k)) > own;
    EXPECT_LE(higher, 4) << ordered[k];
  }
  pl::MatrixplotOptions m;
  m.dendrogram = true;
  pl::HeatmapOptions h;
  h.dendrogram = true;
  pl::StackedViolinOptions s;
  s.dendrogram = true;
  pl::TracksplotOptions t;
  EXPECT_NO_THROW(pl::rank_genes_groups_matrixplot(ad, sel, m, tmp.file("m.png")));
  EXPECT_NO_THROW(pl::rank_genes_groups_heatmap(ad, sel, h, tmp.file("h.pdf")));
  EXPECT_NO_THROW(pl::rank_genes_groups_stacked_violin(ad, sel, s, tmp.file("s.svg")));
  EXPECT_NO_THROW(pl::rank_genes_groups_tracksplot(ad, sel, t, tmp.file("t.png")));
  for (auto f : {"dot.png", "m.png", "h.pdf", "s.svg", "t.png"}) EXPECT_GT(std::filesystem::file_size(tmp.file(f)), 1000u) << f;
}

TEST(PlRankGenesGroups, DotplotColouredByLogFoldChange) {
  AnnData ad = golden_pbmc();
  pl::RankedSelection sel;
  sel.key = "rgg_wilcoxon";
  sel.n_genes = 2;
  sel.values_to_plot = "logfoldchanges";
  const auto r = pl::read_ranked_genes(ad, "rgg_wilcoxon");
  auto [vn, groupby] = pl::ranked_var_names(ad, sel);
  const auto [values, title] = pl::ranked_values(ad, sel, vn.names);
  EXPECT_EQ(title, "log fold change");
  ASSERT_EQ(values.rows, r.group_names);
  // Each entry is that gene's log fold change in that group's full result.
  for (size_t g = 0; g < values.rows.size(); ++g)
    for (size_t j = 0; j < vn.names.size(); j += 3) {
      const auto& names = r.names.at(values.rows[g]);
      const auto k = std::find(names.begin(), names.end(), vn.names[j]) - names.begin();
      EXPECT_DOUBLE_EQ(values.at(g, j), r.logfoldchanges.at(values.rows[g])[static_cast<size_t>(k)]);
    }
  pl::DotplotOptions d;
  d.cmap = "bwr";
  d.vmin = -4;
  d.vmax = 4;
  d.dendrogram = false;
  scanpp::testing::TempDir tmp;
  pl::rank_genes_groups_dotplot(ad, sel, d, tmp.file("lfc.png"));
  d.var_names = vn;
  d.groupby = {groupby};
  d.dot_color_df = values;
  const auto data = pl::dotplot_data(ad, d);
  EXPECT_DOUBLE_EQ(data.vmin, -4);
  EXPECT_DOUBLE_EQ(data.color.at(0, 0), values.lookup("0", data.color.cols[0]));
  sel.values_to_plot = "log10_pvals";
  const auto [lp, t2] = pl::ranked_values(ad, sel, {"LDHB"});
  EXPECT_EQ(t2, "log10 p-value");
  EXPECT_NEAR(lp.at(0, 0), -std::log10(r.pvals.at("0")[0]), 1e-9);
  sel.values_to_plot = "log10_scores";
  EXPECT_THROW(pl::ranked_values(ad, sel, {"LDHB"}), ValueError);
}

TEST(PlRankGenesGroups, SplitViolinsOnePerGroup) {
  AnnData ad = golden_pbmc();
  pl::RankGenesGroupsViolinOptions o;
  o.key = "rgg_wilcoxon";
  o.groups = std::vector<std::string>{"3", "8"};
  o.n_genes = 5;
  scanpp::testing::TempDir tmp;
  const auto infos = pl::rank_genes_groups_violin(ad, o, tmp.file("v.png"));
  ASSERT_EQ(infos.size(), 2u);
  for (auto g : {"3", "8"}) {
    Png png(tmp.file(std::string("v_") + g + ".png"));
    ASSERT_TRUE(png.ok()) << g;
    // Left halves in the first colour, right halves ('rest') in the second.
    EXPECT_GT(png.count_color(0x1f, 0x77, 0xb4, 2), 100);
    EXPECT_GT(png.count_color(0xff, 0x7f, 0x0e, 2), 100);
  }
}

TEST(PlRankGenesGroups, PipelineSteps) {
  scanpp::testing::TempDir tmp;
  const std::string in = golden::shared("golden/pbmc3k/pbmc3k_scanpy.h5ad");
  const std::string yaml =
      "- read: {path: " + in + "}\n"
      "- pl.violin: {keys: [n_genes_by_counts, total_counts, pct_counts_mt], jitter: 0.4, multi_panel: true, save: " + tmp.file("qc.png") + "}\n"
      "- pl.dotplot: {var_names: {B: [CD79A, MS4A1], NK: [GNLY, NKG7]}, groupby: leiden, standard_scale: var, save: " + tmp.file("dot.svg") + "}\n"
      "- pl.stacked_violin: {var_names: [CST3, NKG7], groupby: leiden, dendrogram: true, save: " + tmp.file("sv.png") + "}\n"
      "- pl.matrixplot: {var_names: [CST3, NKG7], groupby: leiden, cmap: Blues, save: " + tmp.file("m.png") + "}\n"
      "- pl.heatmap: {var_names: [CST3, NKG7], groupby: leiden, save: " + tmp.file("h.png") + "}\n"
      "- pl.tracksplot: {var_names: [CST3, NKG7], groupby: leiden, save: " + tmp.file("t.png") + "}\n"
      "- pl.dendrogram: {groupby: leiden, save: " + tmp.file("d.png") + "}\n"
      "- pl.rank_genes_groups: {key: rgg_wilcoxon, n_genes: 10, save: " + tmp.file("rgg.png") + "}\n"
      "- pl.rank_genes_groups_dotplot: {key: rgg_wilcoxon, n_genes: 2, save: " + tmp.file("rgd.png") + "}\n"
      "- pl.rank_genes_groups_violin: {key: rgg_wilcoxon, groups: '0', n_genes: 3, save: " + tmp.file("rgv.png") + "}\n";
  AnnData result;
  pipeline::run_yaml(yaml, "p.yaml", {.verbose = false}, &result);
  for (auto f : {"qc.png", "dot.svg", "sv.png", "m.png", "h.png", "t.png", "d.png", "rgg.png", "rgd.png", "rgv.png"})
    EXPECT_TRUE(std::filesystem::exists(tmp.file(f))) << f;
  EXPECT_TRUE(result.uns.count("dendrogram_leiden"));
  EXPECT_TRUE(result.uns.count("leiden_colors"));
  // Parameters are checked before anything runs.
  EXPECT_THROW(pipeline::run_yaml("- read: {path: " + in + "}\n- pl.dotplot: {var_names: [CST3], groupby: leiden, "
                                  "save: " + tmp.file("x.png") + ", dot_size: 3}\n",
                                  "p.yaml", {.verbose = false}),
               Error);
  EXPECT_THROW(pipeline::run_yaml("- pl.dotplot: {groupby: leiden, save: " + tmp.file("x.png") + "}\n", "p.yaml",
                                  {.verbose = false}),
               Error);
}
