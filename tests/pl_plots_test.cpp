// Single-panel plots on the golden PBMC 3k data: sizes, the colours and text
// each must show, the numbers behind them (top expressed genes, PAGA node
// positions stored in uns), and the pipeline step that saves them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "golden_support.hpp"
#include "pl_support.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/pl/palettes.hpp"
#include "scanpp/pl/plots.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using namespace scanpp::testing::plot;
using scanpp::testing::TempDir;

namespace {

const AnnData& golden_ad() {
  static const AnnData ad = io::read_h5ad(scanpp::testing::shared("golden/pbmc3k/pbmc3k_scanpy.h5ad"));
  return ad;
}

}  // namespace

TEST(PlPcaVarianceRatio, RankedLabelsFallFromTopLeft) {
  TempDir tmp;
  pl::PcaVarianceRatioOptions o;
  o.fig.save = tmp.file("vr.png");
  pl::pca_variance_ratio(golden_ad(), o);
  const Image im = read_png(o.fig.save);
  EXPECT_EQ(im.width, 400);
  EXPECT_EQ(im.height, 400);
  // Axes of Scanpy's ranking grid: left .2, right .99, bottom .13, top .9 of the figure.
  const int x0 = 80, x1 = 396, y0 = 40, y1 = 348, xm = (x0 + x1) / 2, ym = (y0 + y1) / 2;
  // PC1..PC3 carry most variance: their labels crowd the top left, the tail lies low on the right.
  const int top_left = count_dark(im, x0 + 2, y0 + 2, xm, ym), top_right = count_dark(im, xm, y0 + 2, x1 - 2, ym);
  EXPECT_GT(top_left, 20);
  EXPECT_GT(top_left, 3 * top_right);
  EXPECT_GT(count_dark(im, xm, ym, x1 - 2, y1 - 2), 100);  // PC16..PC31 labels
  EXPECT_GT(count_dark(im, x0, 0, x1, y0 - 2), 30);        // title "variance ratio"
  EXPECT_GT(count_dark(im, x0, y1 + 20, x1, im.height), 30);  // "ranking" below the tick labels
  // The log variant draws powers of ten on y and the grid of Scanpy's style.
  o.log = true;
  o.fig.save = tmp.file("vr_log.png");
  pl::pca_variance_ratio(golden_ad(), o);
  const Image lg = read_png(o.fig.save);
  int grid = 0;  // light grey grid lines (0.8, lighter where antialiased)
  for (int y = y0 + 2; y < y1 - 2; ++y)
    for (int x = x0 + 2; x < x1 - 2; ++x) {
      const Pixel& q = lg.at(x, y);
      grid += q.r == q.g && q.g == q.b && q.r >= 195 && q.r <= 240;
    }
  EXPECT_GT(grid, 300);
  AnnData none = golden_ad();
  none.uns.erase("pca");
  EXPECT_THROW(pl::pca_variance_ratio(none, o), KeyError);
}

TEST(PlHighestExprGenes, MalatTopsPbmcAndBoxesAreDrawn) {
  TempDir tmp;
  const AnnData counts = golden::pbmc3k_filtered_counts();
  const pl::HighestExpr h = pl::highest_expr(counts, 30);
  ASSERT_EQ(h.genes.size(), 30u);
  // The tutorial's figure: MALAT1 first, ribosomal protein genes filling most of the list.
  EXPECT_EQ(counts.var_names()[static_cast<size_t>(h.genes[0])], "MALAT1");
  double mean0 = 0, mean29 = 0;
  for (double v : h.pct[0]) mean0 += v;
  for (double v : h.pct[29]) mean29 += v;
  EXPECT_GT(mean0, mean29);
  int ribo = 0;
  std::string top;
  for (int64_t g : h.genes) {
    const std::string& name = counts.var_names()[static_cast<size_t>(g)];
    ribo += name.rfind("RPL", 0) == 0 || name.rfind("RPS", 0) == 0;
    top += name + " ";
  }
  EXPECT_GE(ribo, 15) << top;
  pl::HighestExprGenesOptions o;
  o.fig.save = tmp.file("hx.png");
  pl::highest_expr_genes(counts, o);
  const Image im = read_png(o.fig.save);
  EXPECT_EQ(im.width, 500);  // 5 x (0.2 * 30 + 1.5) in
  EXPECT_EQ(im.height, 750);
  // Box colours: default_20 desaturated to 75 % (seaborn), first box #1f77b4 -> #3274a1.
  EXPECT_GT(count_color(im, pl::parse_color("#3274a1"), 2), 20);
  // Gene names left of the axes.
  EXPECT_GT(count_dark(im, 0, 0, 90, im.height), 500);
}

TEST(PlHighlyVariableGenes, TwoPanelsBlackAndGrey) {
  TempDir tmp;
  const auto t = golden::read_csv(golden::shared("golden/pbmc3k/hvg_table.csv"));
  AnnData ad;
  ad.var = DataFrame(t.text("gene"));
  ad.obs = DataFrame(std::vector<std::string>{"c"});
  ad.var.set_array("means", t.numeric("means"));
  ad.var.set_array("dispersions", t.numeric("dispersions"));
  ad.var.set_array("dispersions_norm", t.numeric("dispersions_norm"));
  std::vector<uint8_t> hv;
  for (double v : t.numeric("highly_variable")) hv.push_back(v != 0);
  Array hva(DType::Bool, {static_cast<int64_t>(hv.size())});
  std::memcpy(hva.raw(), hv.data(), hv.size());
  ad.var.set("highly_variable", hva);
  pl::HvgPlotOptions o;
  o.fig.save = tmp.file("hvg.png");
  pl::highly_variable_genes(ad, o);
  const Image im = read_png(o.fig.save);
  EXPECT_EQ(im.width, 800);
  EXPECT_EQ(im.height, 400);
  // Both panels hold black (HVG) and grey (other) points.
  for (int half = 0; half < 2; ++half) {
    const int xa = half * 400, xb = xa + 400;
    EXPECT_GT(count_color(im, pl::parse_color("grey"), 10, xa + 150, 40, xb, 330), 50) << "panel " << half;
    EXPECT_GT(count_dark(im, xa + 150, 40, xb - 20, 330, 60), 50) << "panel " << half;
  }
  ad.var.remove("dispersions_norm");
  EXPECT_THROW(pl::highly_variable_genes(ad, o), KeyError);
}

TEST(PlPaga, NodesInGroupColoursAndPositionsStored) {
  TempDir tmp;
  AnnData ad = golden_ad();
  pl::PagaOptions o;
  o.fig.save = tmp.file("paga.png");
  pl::paga(ad, o);
  const Dict& paga = ad.uns.at("paga").get<Dict>();
  ASSERT_TRUE(paga.count("pos"));
  const Array& pos = paga.at("pos").get<Array>();
  ASSERT_EQ(pos.shape(), (std::vector<int64_t>{9, 2}));
  const auto p1 = pos.to_vector<double>();
  for (double v : p1) EXPECT_TRUE(std::isfinite(v));
  // Strongly connected groups sit closer than weakly connected ones: 0-2 (T cells) vs 0-3 (B cells).
  auto dist = [&](int a, int b) { return std::hypot(p1[2 * a] - p1[2 * b], p1[2 * a + 1] - p1[2 * b + 1]); };
  EXPECT_LT(dist(0, 2), dist(0, 3));
  // Deterministic layout.
  EXPECT_EQ(pl::paga_positions(ad, o), p1);
  const Image im = read_png(o.fig.save);
  EXPECT_EQ(im.width, 400);
  EXPECT_EQ(im.height, 400);
  for (const auto& hex : ad.uns.at("leiden_colors").get<StringArray>().values)
    EXPECT_GT(count_color(im, pl::parse_color(hex), 1), 100) << hex;
  // paga_compare: the embedding and the graph side by side, both in the palette.
  pl::PagaCompareOptions c;
  c.fig.save = tmp.file("cmp.png");
  pl::paga_compare(ad, c);
  const Image cm = read_png(c.fig.save);
  EXPECT_EQ(cm.width, 800);
  const pl::RGBA c0 = pl::parse_color(ad.uns.at("leiden_colors").get<StringArray>().values[0]);
  EXPECT_GT(count_color(cm, c0, 1, 0, 0, 400, 400), 50);
  EXPECT_GT(count_color(cm, c0, 1, 400, 0, 800, 400), 50);
}

TEST(PlScatterAndDpt, ObsAxesAndPseudotimeHeatmap) {
  TempDir tmp;
  AnnData ad = golden_ad();
  pl::ScatterOptions s;
  s.x = "total_counts";
  s.y = "n_genes_by_counts";
  s.color = {"pct_counts_mt"};
  s.fig.save = tmp.file("sc.png");
  pl::scatter(ad, s);
  const Image im = read_png(s.fig.save);
  EXPECT_EQ(im.height, 400);
  // Ticks and numbers on both axes (the embedding hides them, scatter does not).
  EXPECT_GT(count_dark(im, 0, 40, 70, 330), 200);
  EXPECT_GT(count_dark(im, 70, 300, 330, 400), 150);
  EXPECT_GT(count_color(im, pl::colormap("viridis").lut().back(), 2), 3);
  s.x = "leiden";
  EXPECT_THROW(pl::scatter(ad, s), ValueError);

  pl::DptTimeseriesOptions d;
  d.fig.save = tmp.file("dpt.png");
  pl::dpt_timeseries(ad, d);
  const Image dm = read_png(d.fig.save);
  EXPECT_EQ(dm.width, 600);
  EXPECT_EQ(dm.height, 400);
  // The middle of the axes is all heatmap: every sampled pixel is a viridis colour.
  const auto& lut = pl::colormap("viridis").lut();
  for (int y = 140; y < 260; y += 12)
    for (int x = 220; x < 420; x += 20) {
      bool found = false;
      for (const auto& c : lut) found = found || near(dm.at(x, y), c, 4);
      EXPECT_TRUE(found) << x << "," << y;
    }
  ad.obs.remove("dpt_pseudotime");
  EXPECT_THROW(pl::dpt_timeseries(ad, d), KeyError);
}

TEST(PlPipeline, StepsSaveFiguresAndCheckParameters) {
  TempDir tmp;
  const std::string in = tmp.file("in.h5ad");
  io::write_h5ad(golden_ad(), in);
  const std::string yaml = "- read: {path: '" + in + "'}\n"
                           "- pl.umap: {color: [leiden, CST3], save: '" + tmp.file("u.svg") + "', legend_loc: on data}\n"
                           "- pl.tsne: {color: leiden, save: '" + tmp.file("t.pdf") + "'}\n"
                           "- pl.draw_graph: {color: leiden, save: '" + tmp.file("d.png") + "', dpi: 50}\n"
                           "- pl.pca: {color: CST3, components: '2,3', annotate_var_explained: true, save: '" +
                           tmp.file("p.png") + "'}\n"
                           "- pl.paga: {save: '" + tmp.file("g.png") + "'}\n";
  AnnData out;
  pipeline::run_yaml(yaml, "test", {.verbose = false}, &out);
  EXPECT_GT(svg_count(tmp.file("u.svg"), "path"), 2 * 2638);
  EXPECT_EQ(slurp(tmp.file("t.pdf")).rfind("%PDF", 0), 0u);
  EXPECT_EQ(read_png(tmp.file("d.png")).height, 200);
  EXPECT_TRUE(out.uns.count("leiden_colors"));
  EXPECT_TRUE(out.uns.at("paga").get<Dict>().count("pos"));
  // Unknown parameters and a missing save are reported before anything runs.
  EXPECT_THROW(pipeline::run_yaml("- read: {path: '" + in + "'}\n- pl.umap: {color: leiden, colour: x, save: a.png}\n",
                                  "test", {.verbose = false}),
               InputError);
  EXPECT_THROW(pipeline::run_yaml("- read: {path: '" + in + "'}\n- pl.umap: {color: leiden}\n", "test", {.verbose = false}),
               InputError);
}
