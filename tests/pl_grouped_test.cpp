// Grouped plots (dotplot, matrixplot, heatmap, stacked_violin, tracksplot,
// dendrogram) on the golden PBMC 3k object: the numbers they draw against
// values computed independently from raw.X (a plain loop here, pandas through
// Debian's python), and the images they write.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "pl_grouped_support.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/pl/dendrogram_plot.hpp"
#include "scanpp/pl/dotplot.hpp"
#include "scanpp/pl/heatmap.hpp"
#include "scanpp/pl/matrixplot.hpp"
#include "scanpp/pl/stacked_violin.hpp"
#include "scanpp/pl/tracksplot.hpp"

using namespace scanpp;
using plgrp_test::golden_pbmc;
using plgrp_test::marker_genes;
using plgrp_test::Png;

namespace {

pl::DotplotOptions marker_dotplot() {
  pl::DotplotOptions o;
  o.var_names = pl::VarNames::list(marker_genes());
  o.groupby = {"leiden"};
  return o;
}

// Centre of cell (row, col) of a main panel in image pixels, for limits
// x in [-xpad, ncols + xpad], y in [nrows + ypad, -ypad] (first row on top).
std::pair<int, int> cell_centre(const pl::Rect& m, int64_t row, int64_t col, int64_t nrows, int64_t ncols, double xpad,
                                double ypad) {
  const double fx = (static_cast<double>(col) + 0.5 + xpad) / (static_cast<double>(ncols) + 2 * xpad);
  const double fy = (static_cast<double>(row) + 0.5 + ypad) / (static_cast<double>(nrows) + 2 * ypad);
  return {static_cast<int>(m.x + fx * m.w), static_cast<int>(m.y + fy * m.h)};
}

}  // namespace

TEST(PlGrouped, DotplotNumbersMatchRawComputedDirectly) {
  AnnData ad = golden_pbmc();
  const auto d = pl::dotplot_data(ad, marker_dotplot());
  const auto ref = plgrp_test::raw_stats(ad, marker_genes(), "leiden");
  ASSERT_EQ(d.color.rows, ref.groups);
  ASSERT_EQ(d.color.cols, marker_genes());
  double worst = 0;
  for (int64_t i = 0; i < d.color.n_rows(); ++i)
    for (int64_t j = 0; j < d.color.n_cols(); ++j) {
      const std::pair<std::string, std::string> k{d.color.rows[static_cast<size_t>(i)],
                                                  d.color.cols[static_cast<size_t>(j)]};
      worst = std::max(worst, std::fabs(d.color.at(i, j) - ref.mean.at(k)));
      EXPECT_NEAR(d.fraction.at(i, j), ref.frac.at(k), 1e-12);
    }
  EXPECT_LT(worst, 1e-9);
  // CST3 in group 1 (monocytes) is expressed almost everywhere: a number to eyeball.
  EXPECT_GT(d.fraction.at(1, 15), 0.95);
}

TEST(PlGrouped, GroupMeansFractionsMediansMatchPandas) {
  // pandas on the same file: groupby(leiden) mean, (X > 0).mean(), median of raw values.
  std::string out;
  const std::string genes = "['CST3','NKG7','PPBP','MS4A1','LYZ','IL7R']";
  const std::string py =
      "import anndata, pandas as pd, numpy as np\n"
      "a = anndata.read_h5ad('" + golden::shared("golden/pbmc3k/pbmc3k_scanpy.h5ad") + "')\n"
      "g = " + genes + "\n"
      "r = a.raw.to_adata()\n"
      "df = pd.DataFrame(r[:, g].X.toarray(), columns=g, index=a.obs['leiden'])\n"
      "for name, m in [('mean', df.groupby(level=0).mean()), ('frac', (df > 0).groupby(level=0).mean()),\n"
      "                ('median', df.groupby(level=0).median())]:\n"
      "    for grp in m.index:\n"
      "        print(name, grp, ' '.join(repr(float(v)) for v in m.loc[grp]))\n";
  ASSERT_EQ(plgrp_test::run_python(py, &out), 0) << out;
  AnnData ad = golden_pbmc();
  pl::TidyData t = pl::prepare_dataframe(ad, {"CST3", "NKG7", "PPBP", "MS4A1", "LYZ", "IL7R"}, {"leiden"});
  const pl::GroupMatrix mean = pl::group_mean(t), frac = pl::group_fraction(t, 0), med = pl::group_median(t);
  std::istringstream in(out);
  std::string name, grp;
  int lines = 0;
  while (in >> name >> grp) {
    const pl::GroupMatrix& m = name == "mean" ? mean : name == "frac" ? frac : med;
    const auto row = std::find(m.rows.begin(), m.rows.end(), grp) - m.rows.begin();
    ASSERT_LT(row, m.n_rows());
    for (int64_t j = 0; j < m.n_cols(); ++j) {
      double v;
      in >> v;
      EXPECT_NEAR(m.at(row, j), v, 1e-6 * std::max(1.0, std::fabs(v))) << name << " " << grp << " " << m.cols[j];
    }
    ++lines;
  }
  EXPECT_EQ(lines, 27);  // 3 statistics x 9 groups
}

TEST(PlGrouped, StandardScaleVarAndGroup) {
  AnnData ad = golden_pbmc();
  const auto ref = plgrp_test::raw_stats(ad, marker_genes(), "leiden");
  auto o = marker_dotplot();
  o.standard_scale = "var";
  const auto v = pl::dotplot_data(ad, o);
  for (int64_t j = 0; j < v.color.n_cols(); ++j) {
    double lo = 1e300, hi = -1e300;
    for (auto& g : ref.groups) lo = std::min(lo, ref.mean.at({g, marker_genes()[j]})), hi = std::max(hi, ref.mean.at({g, marker_genes()[j]}));
    for (int64_t i = 0; i < v.color.n_rows(); ++i)
      EXPECT_NEAR(v.color.at(i, j), (ref.mean.at({ref.groups[i], marker_genes()[j]}) - lo) / (hi - lo), 1e-9);
  }
  o.standard_scale = "group";
  const auto g = pl::dotplot_data(ad, o);
  for (int64_t i = 0; i < g.color.n_rows(); ++i) {
    const auto row = std::vector<double>(g.color.v.begin() + i * g.color.n_cols(), g.color.v.begin() + (i + 1) * g.color.n_cols());
    EXPECT_DOUBLE_EQ(*std::min_element(row.begin(), row.end()), 0.0);
    EXPECT_DOUBLE_EQ(*std::max_element(row.begin(), row.end()), 1.0);
  }
  o.standard_scale = "cells";
  EXPECT_THROW(pl::dotplot_data(ad, o), ValueError);
}

TEST(PlGrouped, DotplotLargestDotAndColoursInImage) {
  AnnData ad = golden_pbmc();
  const auto o = marker_dotplot();
  const auto d = pl::dotplot_data(ad, o);
  // The largest marker is the highest fraction; dot_max rounds it up to a tenth.
  const auto imax = std::max_element(d.fraction.v.begin(), d.fraction.v.end()) - d.fraction.v.begin();
  EXPECT_EQ(std::max_element(d.size.v.begin(), d.size.v.end()) - d.size.v.begin(), imax);
  EXPECT_DOUBLE_EQ(d.dot_max, std::ceil(d.fraction.v[imax] * 10) / 10);
  const double expect_area = std::pow(d.fraction.v[imax] / d.dot_max, 1.5) * 200;
  EXPECT_NEAR(d.size.v[imax], expect_area, 1e-9);

  scanpp::testing::TempDir tmp;
  const auto info = pl::dotplot(ad, o, tmp.file("dot.png"));
  Png png(tmp.file("dot.png"));
  ASSERT_TRUE(png.ok());
  EXPECT_EQ(png.width, info.figure.width_px);
  EXPECT_EQ(png.height, info.figure.height_px);
  // Scanpy's figure: 17 x 0.37 in + 1.5 in legends wide, max(2.5, 9 x 0.35 + 1) in high, cropped tight.
  EXPECT_GT(png.width, 0.75 * (17 * 0.37 + 1.5) * 100);
  EXPECT_LT(png.width, 1.25 * (17 * 0.37 + 1.5) * 100);
  EXPECT_GT(png.height, 0.8 * (9 * 0.35 + 1) * 100);
  EXPECT_LT(png.height, 1.5 * (9 * 0.35 + 1) * 100);
  // The dot with the highest mean is the colormap's top colour (Reds: #67000d) at its centre.
  const auto cmax = std::max_element(d.color.v.begin(), d.color.v.end()) - d.color.v.begin();
  const auto [cx, cy] = cell_centre(info.main_px, cmax / 17, cmax % 17, 9, 17, 0.3, 0.5);
  EXPECT_NEAR(png.r(cx, cy), 0x67, 3);
  EXPECT_NEAR(png.g(cx, cy), 0x00, 3);
  EXPECT_NEAR(png.b(cx, cy), 0x0d, 3);
  // Its diameter in pixels: sqrt(area) points at 100 dpi.
  const auto [lx, ly] = cell_centre(info.main_px, imax / 17, imax % 17, 9, 17, 0.3, 0.5);
  int w = 0;
  for (int x = lx - 16; x <= lx + 16; ++x)
    if (png.r(x, ly) < 250 || png.g(x, ly) < 250) ++w;
  EXPECT_NEAR(w, std::sqrt(d.size.v[imax]) * 100 / 72, 2.5);
  // Gene names under every column of the main panel.
  const auto& m = info.main_px;
  for (int j = 0; j < 17; ++j) {
    const double x0 = m.x + (j + 0.3) / 17.6 * m.w;
    const double x1 = m.x + (j + 1 + 0.3) / 17.6 * m.w;
    EXPECT_GT(png.dark_pixels(x0 - 3, m.bottom() + 2, x1 + 3, m.bottom() + 60), 15) << "label of column " << j;
  }
}

TEST(PlGrouped, DotplotSizeLegendFollowsScanpy) {
  // dot_max 1: 20 .. 100 %; 0.5: steps of 0.1; 0.3: steps of 0.05 (Scanpy's rules).
  auto [r1, s1] = pl::dot_size_legend(0, 1, 0, 200, 1.5);
  ASSERT_EQ(r1.size(), 5u);
  EXPECT_NEAR(r1.front(), 0.2, 1e-12);
  EXPECT_NEAR(s1.back(), 200, 1e-9);
  auto [r2, s2] = pl::dot_size_legend(0, 0.5, 0, 200, 1.5);
  ASSERT_EQ(r2.size(), 5u);
  EXPECT_NEAR(s2.front(), std::pow(0.2, 1.5) * 200, 1e-9);
  auto [r3, s3] = pl::dot_size_legend(0, 0.3, 0, 200, 1.5);
  EXPECT_EQ(r3.size(), 6u);
}

TEST(PlGrouped, MatrixplotCellsFollowViridisExtremes) {
  AnnData ad = golden_pbmc();
  pl::MatrixplotOptions o;
  o.var_names = pl::VarNames::list(marker_genes());
  o.groupby = {"leiden"};
  const auto d = pl::matrixplot_data(ad, o);
  scanpp::testing::TempDir tmp;
  const auto info = pl::matrixplot(ad, o, tmp.file("m.png"));
  Png png(tmp.file("m.png"));
  ASSERT_TRUE(png.ok());
  const auto imax = std::max_element(d.values.v.begin(), d.values.v.end()) - d.values.v.begin();
  const auto imin = std::min_element(d.values.v.begin(), d.values.v.end()) - d.values.v.begin();
  auto [ax, ay] = cell_centre(info.main_px, imax / 17, imax % 17, 9, 17, 0, 0);
  EXPECT_NEAR(png.r(ax, ay), 0xfd, 3);  // viridis(1) = #fde725
  EXPECT_NEAR(png.g(ax, ay), 0xe7, 3);
  EXPECT_NEAR(png.b(ax, ay), 0x25, 3);
  auto [bx, by] = cell_centre(info.main_px, imin / 17, imin % 17, 9, 17, 0, 0);
  EXPECT_NEAR(png.r(bx, by), 0x44, 3);  // viridis(0) = #440154
  EXPECT_NEAR(png.g(bx, by), 0x01, 3);
  EXPECT_NEAR(png.b(bx, by), 0x54, 3);
  // PPBP (platelets, group 8) is the largest mean of all.
  EXPECT_EQ(d.values.cols[imax % 17], "PPBP");
  EXPECT_EQ(d.values.rows[imax / 17], "8");
}

TEST(PlGrouped, DendrogramReordersCategoriesAndVarGroups) {
  AnnData ad = golden_pbmc();
  ad.uns.erase("dendrogram_leiden");
  pl::MatrixplotOptions o;
  // var groups labelled by the categories: regrouped with them (as rank_genes_groups plots).
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;
  const std::vector<std::string> cats{"0", "1", "2", "3", "4", "5", "6", "7", "8"};
  const std::vector<std::string> top{"LDHB", "LYZ", "RPS12", "CD74", "CCL5", "LST1", "NKG7", "HLA-DPA1", "PF4"};
  for (size_t k = 0; k < cats.size(); ++k) groups.push_back({cats[k], {top[k]}});
  o.var_names = pl::VarNames::mapping(groups);
  o.groupby = {"leiden"};
  o.dendrogram = true;
  const auto d = pl::matrixplot_data(ad, o);
  ASSERT_TRUE(ad.uns.count("dendrogram_leiden"));  // computed with tl.dendrogram's defaults
  const auto& u = ad.uns.at("dendrogram_leiden").get<Dict>();
  const auto ordered = u.at("categories_ordered").get<StringArray>().values;
  EXPECT_EQ(d.values.rows, ordered);
  EXPECT_EQ(d.groups.var_groups.labels, ordered);
  for (size_t k = 0; k < ordered.size(); ++k) {
    EXPECT_EQ(d.values.cols[k], top[std::stoul(ordered[k])]);
    EXPECT_EQ(d.groups.var_groups.positions[k], (std::pair<int64_t, int64_t>{int64_t(k), int64_t(k)}));
  }
  scanpp::testing::TempDir tmp;
  EXPECT_NO_THROW(pl::matrixplot(ad, o, tmp.file("m.svg")));
  pl::DendrogramPlotOptions dp;
  dp.groupby = "leiden";
  const auto info = pl::dendrogram_plot(ad, dp, tmp.file("dendro.png"));
  Png png(tmp.file("dendro.png"));
  ASSERT_TRUE(png.ok());
  // The links are #555555.
  EXPECT_GT(png.count_color(0x55, 0x55, 0x55, 4), 200);
  EXPECT_EQ(png.width, info.figure.width_px);
}

TEST(PlGrouped, HeatmapOrdersCellsByGroup) {
  AnnData ad = golden_pbmc();
  pl::HeatmapOptions o;
  o.var_names = pl::VarNames::list({"CST3", "NKG7", "PPBP"});
  o.groupby = {"leiden"};
  const auto d = pl::heatmap_data(ad, o);
  const auto& cat = std::get<Categorical>(ad.obs.at("leiden"));
  ASSERT_EQ(d.cell_order.size(), cat.codes.size());
  // Groups follow each other in category order with their sizes.
  size_t pos = 0;
  for (size_t k = 0; k < d.categories.size(); ++k) {
    for (int64_t i = 0; i < d.group_sizes[k]; ++i, ++pos)
      ASSERT_EQ(cat.codes[static_cast<size_t>(d.cell_order[pos])], static_cast<int32_t>(k));
  }
  EXPECT_EQ(pos, cat.codes.size());
  // Values are the raw values of those cells.
  const auto ref = pl::obs_values(ad, {"NKG7"}, {.use_raw = true});
  for (size_t r = 0; r < d.cell_order.size(); r += 97)
    EXPECT_EQ(d.values[r * 3 + 1], ref[0][static_cast<size_t>(d.cell_order[r])]);
  scanpp::testing::TempDir tmp;
  const auto info = pl::heatmap(ad, o, tmp.file("h.png"));
  Png png(tmp.file("h.png"));
  ASSERT_TRUE(png.ok());
  EXPECT_EQ(png.height, info.figure.height_px);
  // Height: Scanpy's heatmap is 6 in high (before cropping).
  EXPECT_GT(png.height, 0.75 * 600);
  EXPECT_LT(png.height, 1.1 * 600);
  // Group colour blocks: each leiden colour (uns['leiden_colors']) appears left of the heatmap.
  const auto& colors = ad.uns.at("leiden_colors").get<StringArray>().values;
  for (auto& hex : colors) {
    const auto c = pl::parse_color(hex);
    EXPECT_GT(png.count_color(pl::to_byte(c.r), pl::to_byte(c.g), pl::to_byte(c.b), 2), 20) << hex;
  }
}

TEST(PlGrouped, NumericGroupbyIsCutLikePandas) {
  std::string out;
  const std::string py =
      "import anndata, pandas as pd\n"
      "a = anndata.read_h5ad('" + golden::shared("golden/pbmc3k/pbmc3k_scanpy.h5ad") + "', backed='r')\n"
      "c = pd.cut(a.obs['total_counts'], 7)\n"
      "print('|'.join(str(x) for x in c.cat.categories))\n"
      "print(' '.join(str(x) for x in c.cat.codes[:50]))\n"
      "j = a.obs[['leiden','louvain_igraph']].apply('_'.join, axis=1).astype('category')\n"
      "from itertools import product\n"
      "order = {'_'.join(k): i for i, k in enumerate(product(a.obs['leiden'].cat.categories, a.obs['louvain_igraph'].cat.categories))}\n"
      "print('|'.join(sorted(j.cat.categories, key=lambda x: order[x])))\n";
  ASSERT_EQ(plgrp_test::run_python(py, &out), 0) << out;
  std::istringstream in(out);
  std::string labels, codes, joined;
  std::getline(in, labels);
  std::getline(in, codes);
  std::getline(in, joined);
  AnnData ad = golden_pbmc();
  const auto g = pl::make_grouping(ad, {"total_counts"}, 7);
  std::string mine;
  for (auto& c : g.categories) mine += (mine.empty() ? "" : "|") + c;
  EXPECT_EQ(mine, labels);
  std::istringstream cs(codes);
  for (size_t i = 0; i < 50; ++i) {
    int c;
    cs >> c;
    EXPECT_EQ(g.codes[i], c) << i;
  }
  const auto two = pl::make_grouping(ad, {"leiden", "louvain_igraph"});
  std::string mine2;
  for (auto& c : two.categories) mine2 += (mine2.empty() ? "" : "|") + c;
  EXPECT_EQ(mine2, joined);
  EXPECT_EQ(two.name, "leiden_louvain_igraph");
}

TEST(PlGrouped, StackedViolinMediansAndImage) {
  AnnData ad = golden_pbmc();
  pl::StackedViolinOptions o;
  o.var_names = pl::VarNames::mapping({{"mono", {"CST3", "LYZ"}}, {"NK", {"NKG7"}}, {"platelet", {"PPBP"}}});
  o.groupby = {"leiden"};
  const auto d = pl::stacked_violin_data(ad, o);
  ASSERT_EQ(d.violins.size(), 9u);
  ASSERT_EQ(d.violins[0].size(), 4u);
  for (auto& row : d.violins)
    for (auto& v : row) {
      if (v.single_value()) continue;
      EXPECT_NEAR(*std::max_element(v.density.begin(), v.density.end()), 1.0, 1e-12);  // density_norm 'width'
      // cut = 0: the support spans the data exactly.
      EXPECT_GE(v.support.front(), 0.0);
    }
  scanpp::testing::TempDir tmp;
  const auto info = pl::stacked_violin(ad, o, tmp.file("sv.pdf"));
  std::string out;
  ASSERT_EQ(scanpp::testing::run_command("pdftoppm -png -r 60 " + tmp.file("sv.pdf") + " " + tmp.file("sv"), &out), 0) << out;
  Png png(tmp.file("sv-1.png"));
  ASSERT_TRUE(png.ok());
  EXPECT_NEAR(png.width, info.figure.width_px * 60.0 / 72, 2);
  // Blues at the top of the scale (#08306b) fills the violin with the highest median.
  EXPECT_GT(png.count_color(0x08, 0x30, 0x6b, 8), 3);
  EXPECT_GT(png.dark_pixels(0, 0, png.width, png.height), 100);  // labels and brackets
}

TEST(PlGrouped, SvgAndPdfOpen) {
  AnnData ad = golden_pbmc();
  scanpp::testing::TempDir tmp;
  pl::dotplot(ad, marker_dotplot(), tmp.file("d.svg"));
  pl::TracksplotOptions t;
  t.var_names = pl::VarNames::list({"CST3", "NKG7"});
  t.groupby = {"leiden"};
  pl::tracksplot(ad, t, tmp.file("t.pdf"));
  std::string out;
  const std::string py =
      "import xml.etree.ElementTree as ET\n"
      "r = ET.parse('" + tmp.file("d.svg") + "').getroot()\n"
      "tags = [e.tag.split('}')[-1] for e in r.iter()]\n"
      "print(r.tag.split('}')[-1], tags.count('path'), tags.count('use'))\n";
  ASSERT_EQ(plgrp_test::run_python(py, &out), 0) << out;
  std::istringstream in(out);
  std::string root;
  int paths = 0, uses = 0;
  in >> root >> paths >> uses;
  EXPECT_EQ(root, "svg");
  EXPECT_GT(paths, 9 * 17);  // at least one path per dot
  EXPECT_GT(uses, 60);       // glyphs of the labels
  ASSERT_EQ(scanpp::testing::run_command("pdftoppm -png -r 40 " + tmp.file("t.pdf") + " " + tmp.file("t"), &out), 0) << out;
  Png png(tmp.file("t-1.png"));
  ASSERT_TRUE(png.ok());
  EXPECT_GT(png.width, 300);
}

TEST(PlGrouped, BadInputIsReported) {
  AnnData ad = golden_pbmc();
  auto o = marker_dotplot();
  o.var_names = pl::VarNames::list({"CST3", "NOT_A_GENE"});
  EXPECT_THROW(pl::dotplot_data(ad, o), KeyError);
  o = marker_dotplot();
  o.groupby = {"no_such_column"};
  EXPECT_THROW(pl::dotplot_data(ad, o), ValueError);
  o = marker_dotplot();
  o.dot_max = 1.5;
  EXPECT_THROW(pl::dotplot_data(ad, o), ValueError);
  o = marker_dotplot();
  o.layer = "missing";
  o.use_raw = false;
  EXPECT_THROW(pl::dotplot_data(ad, o), KeyError);
  o = marker_dotplot();
  scanpp::testing::TempDir tmp;
  EXPECT_THROW(pl::dotplot(ad, o, tmp.file("d.bmp")), ValueError);
  pl::VarNames v = pl::VarNames::list({"A", "B"});
  EXPECT_THROW(v.set_groups({"x"}, {{0, 2}}), ValueError);
  EXPECT_FALSE(std::filesystem::exists(tmp.file("d.bmp")));
}
