// Embedding plots of the golden PBMC 3k object: the pixels show every
// category's palette colour, the colour bar spans vmin..vmax with the
// colormap's end colours, text sits where titles and labels go, and the SVG
// and PDF back ends write files that parse and render.
#include <gtest/gtest.h>

#include <cmath>

#include "pl_support.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/pl/embedding.hpp"
#include "scanpp/pl/palettes.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using namespace scanpp::testing::plot;
using scanpp::testing::shared;
using scanpp::testing::TempDir;

namespace {

const AnnData& golden() {
  static const AnnData ad = io::read_h5ad(shared("golden/pbmc3k/pbmc3k_scanpy.h5ad"));
  return ad;
}

// The single panel's axes box in pixels at dpi 100 (figure 4 x 4 in).
struct PxBox {
  int x0, y0, x1, y1;
};
PxBox to_px(const pl::Rect& r, double dpi = 100) {
  const double k = dpi / 72;
  return {static_cast<int>(std::ceil(r.x * k)), static_cast<int>(std::ceil(r.y * k)),
          static_cast<int>(std::floor(r.right() * k)), static_cast<int>(std::floor(r.bottom() * k))};
}
pl::Rect subplot_4x4() { return {0.18 * 288, 0.09 * 288, 0.78 * 288, 0.76 * 288}; }

}  // namespace

TEST(PlFigure, PngSizeIsFigsizeTimesDpi) {
  TempDir tmp;
  {
    pl::Figure f(tmp.file("a.png"), 3, 2, 150);
    EXPECT_EQ(f.pixel_width(), 450);
    f.save();
  }
  const Image im = read_png(tmp.file("a.png"));
  EXPECT_EQ(im.width, 450);
  EXPECT_EQ(im.height, 300);
  EXPECT_EQ(count_color(im, pl::kWhite, 0), 450 * 300);  // a blank figure is white, as savefig
  EXPECT_THROW(pl::Figure(tmp.file("a.jpg"), 3, 2), ValueError);
  EXPECT_THROW(pl::Figure(tmp.file("b.png"), 0, 2), ValueError);
}

TEST(PlColor, ParsesMatplotlibColoursAndTables) {
  EXPECT_EQ(pl::to_hex(pl::parse_color("lightgray")), "#d3d3d3");
  EXPECT_EQ(pl::to_hex(pl::parse_color("#1F77B4")), "#1f77b4");
  EXPECT_EQ(pl::to_hex(pl::parse_color("0.8")), "#cccccc");
  EXPECT_EQ(pl::to_hex(pl::parse_color("C2")), "#279e68");  // the style's cycle is default_20
  EXPECT_THROW(pl::parse_color("notacolour"), ValueError);
  // viridis ends as matplotlib lists them; Reds/Blues end on ColorBrewer's extremes.
  EXPECT_EQ(pl::to_hex(pl::colormap("viridis")(0.0)), "#440154");
  EXPECT_EQ(pl::to_hex(pl::colormap("viridis")(1.0)), "#fde725");
  EXPECT_EQ(pl::to_hex(pl::colormap("viridis_r")(0.0)), "#fde725");
  EXPECT_EQ(pl::to_hex(pl::colormap("Reds")(1.0)), "#67000d");
  EXPECT_EQ(pl::to_hex(pl::colormap("RdBu_r")(0.0)), "#053061");
  EXPECT_EQ(pl::to_hex(pl::colormap("bwr")(0.5)), "#fffefe");  // LUT entry 128 of 256, just past white
  EXPECT_EQ(pl::to_hex(pl::colormap("gray_r")(0.0)), "#ffffff");
  EXPECT_THROW(pl::colormap("nope"), ValueError);
  // Scanpy's palettes: default_20 swaps three tab10 colours; 21 categories take default_28.
  EXPECT_EQ(pl::default_palette(3), (std::vector<std::string>{"#1f77b4", "#ff7f0e", "#279e68"}));
  EXPECT_EQ(pl::default_palette(21)[0], "#023fa5");
  EXPECT_EQ(pl::default_palette(29)[0], "#ffff00");
  EXPECT_EQ(pl::default_palette(103)[5], "grey");
  EXPECT_EQ(pl::nice_ticks(0, 3, 6), (std::vector<double>{0, 0.5, 1, 1.5, 2, 2.5, 3}));
  EXPECT_EQ(pl::tick_labels({0, 0.5, 1}), (std::vector<std::string>{"0.0", "0.5", "1.0"}));
}

TEST(PlEmbedding, CategoricalUmapShowsEveryPaletteColour) {
  TempDir tmp;
  AnnData ad = golden();
  ASSERT_FALSE(ad.uns.count("leiden_colors"));
  pl::EmbeddingOptions o;
  o.basis = "umap";
  o.color = {"leiden"};
  o.fig.save = tmp.file("leiden.png");
  pl::embedding(ad, o);
  // The colours Scanpy stores for 9 categories in its style (default_20).
  const std::vector<std::string> expect = {"#1f77b4", "#ff7f0e", "#279e68", "#d62728", "#aa40fc",
                                           "#8c564b", "#e377c2", "#b5bd61", "#17becf"};
  ASSERT_TRUE(ad.uns.count("leiden_colors"));
  EXPECT_EQ(ad.uns.at("leiden_colors").get<StringArray>().values, expect);
  const Image im = read_png(o.fig.save);
  EXPECT_EQ(im.height, 400);
  EXPECT_GE(im.width, 400);  // widened for the legend on the right
  const PxBox ax = to_px(subplot_4x4());
  for (const auto& hex : expect) {
    const int n = count_color(im, pl::parse_color(hex), 1, ax.x0 + 2, ax.y0 + 2, ax.x1 - 2, ax.y1 - 2);
    EXPECT_GT(n, 10) << hex << " missing from the scatter";
    // And in the legend, right of the axes.
    EXPECT_GT(count_color(im, pl::parse_color(hex), 1, ax.x1 + 2, ax.y0, im.width, ax.y1), 3) << hex;
  }
  // Title above the axes, axis labels below and left of it (black text).
  EXPECT_GT(count_dark(im, ax.x0, 0, ax.x1, ax.y0 - 2), 30);
  EXPECT_GT(count_dark(im, ax.x0, ax.y1 + 2, ax.x1, im.height), 30);
  EXPECT_GT(count_dark(im, 0, ax.y0, ax.x0 - 2, ax.y1), 30);
  // The frame is drawn: the left edge column is dark over most of its height.
  EXPECT_GT(count_dark(im, ax.x0 - 2, ax.y0, ax.x0 + 1, ax.y1, 128), (ax.y1 - ax.y0) * 8 / 10);
}

TEST(PlEmbedding, StoredColoursAreUsedAndGroupsGreyTheRest) {
  TempDir tmp;
  AnnData ad = golden();
  std::vector<std::string> mine = {"#000080", "#800000", "#008000", "#808000", "#800080",
                                   "#008080", "#ff00ff", "#00ffff", "#ffff00"};
  ad.uns["leiden_colors"] = StringArray{mine, {}};
  pl::EmbeddingOptions o;
  o.basis = "X_umap";
  o.color = {"leiden"};
  o.groups = {"0", "3"};
  o.legend_loc = "on data";
  o.fig.save = tmp.file("groups.png");
  pl::embedding(ad, o);
  EXPECT_EQ(ad.uns.at("leiden_colors").get<StringArray>().values, mine);  // kept
  const Image im = read_png(o.fig.save);
  EXPECT_EQ(im.width, 400);  // no legend in the margin
  const PxBox ax = to_px(subplot_4x4());
  EXPECT_GT(count_color(im, pl::parse_color(mine[0]), 1, ax.x0, ax.y0, ax.x1, ax.y1), 50);
  EXPECT_GT(count_color(im, pl::parse_color(mine[3]), 1, ax.x0, ax.y0, ax.x1, ax.y1), 50);
  EXPECT_EQ(count_color(im, pl::parse_color(mine[1]), 1), 0);  // not in groups: grey
  EXPECT_GT(count_color(im, pl::parse_color("lightgray"), 1, ax.x0, ax.y0, ax.x1, ax.y1), 500);
  EXPECT_EQ(count_color(im, pl::parse_color("#1f77b4"), 1), 0);  // no default palette anywhere
}

TEST(PlEmbedding, ColourBarSpansVminToVmax) {
  TempDir tmp;
  AnnData ad = golden();
  pl::EmbeddingOptions o;
  o.basis = "umap";
  o.color = {"CST3"};  // a gene: read from raw, as Scanpy's use_raw default
  o.vmin = {pl::VBound::parse("0")};
  o.vmax = {pl::VBound::parse("3")};
  o.fig.save = tmp.file("cst3.png");
  pl::embedding(ad, o);
  const Image im = read_png(o.fig.save);
  EXPECT_EQ(im.height, 400);
  // Width: the 4 in figure, widened only as far as the colour bar's labels need.
  const pl::Rect ext = pl::colorbar_extent(pl::colorbar_box(subplot_4x4()), 0, 3);
  EXPECT_EQ(im.width, std::max(400L, std::lround((ext.right() + 7.2) / 72 * 100)));
  const PxBox bar = to_px(pl::colorbar_box(subplot_4x4()));
  const int cx = (bar.x0 + bar.x1) / 2;
  const auto& vir = pl::colormap("viridis").lut();
  // Two pixels in from the outline: the first bands are viridis' last/first entries.
  EXPECT_TRUE(near(im.at(cx, bar.y0 + 2), vir.back(), 6)) << "top of the bar is not viridis(1)";
  EXPECT_TRUE(near(im.at(cx, bar.y1 - 3), vir.front(), 6)) << "bottom of the bar is not viridis(0)";
  EXPECT_TRUE(near(im.at(cx, (bar.y0 + bar.y1) / 2), pl::colormap("viridis")(0.5), 6));
  EXPECT_FALSE(near(im.at(cx, bar.y0 + 2), vir.front(), 30));  // not flipped
  // Tick labels "0.0" at the bottom and "3.0" at the top, right of the bar.
  EXPECT_GT(count_dark(im, bar.x1 + 6, bar.y1 - 10, im.width, bar.y1 + 10), 15);
  EXPECT_GT(count_dark(im, bar.x1 + 6, bar.y0 - 10, im.width, bar.y0 + 10), 15);
  // Expression above vmax is clipped to the top colour; below-vmin cells (zeros) are viridis(0).
  const PxBox ax = to_px(pl::shrink_for_colorbar(subplot_4x4()));
  EXPECT_GT(count_color(im, vir.back(), 1, ax.x0, ax.y0, ax.x1, ax.y1), 100);
  EXPECT_GT(count_color(im, vir.front(), 1, ax.x0, ax.y0, ax.x1, ax.y1), 100);
  // Same figure with vmax from a percentile: p100 is the data maximum, so fewer top-coloured cells.
  o.vmax = {pl::VBound::parse("p100")};
  o.fig.save = tmp.file("cst3_p.png");
  pl::embedding(ad, o);
  const Image im2 = read_png(o.fig.save);
  EXPECT_LT(count_color(im2, vir.back(), 1, ax.x0, ax.y0, ax.x1, ax.y1),
            count_color(im, vir.back(), 1, ax.x0, ax.y0, ax.x1, ax.y1) / 4);
}

TEST(PlEmbedding, GridFrameonAndErrors) {
  TempDir tmp;
  AnnData ad = golden();
  pl::EmbeddingOptions o;
  o.basis = "umap";
  o.color = {"CST3", "NKG7", "PPBP", "leiden", "n_genes"};
  o.frameon = false;
  o.fig.save = tmp.file("grid.png");
  pl::embedding(ad, o);
  const Image im = read_png(o.fig.save);
  // Scanpy's grid: 4 columns of 4 x (1 + wspace) in, 2 rows of 4 in.
  const double wspace = 0.75 / 4 + 0.02;
  EXPECT_GE(im.width, static_cast<int>(std::lround(4 * 4 * (1 + wspace) * 100)));
  EXPECT_EQ(im.height, 800);
  pl::EmbeddingOptions bad = o;
  bad.basis = "nope";
  EXPECT_THROW(pl::embedding(ad, bad), KeyError);
  bad = o;
  bad.color = {"NOT_A_GENE"};
  EXPECT_THROW(pl::embedding(ad, bad), KeyError);
  bad = o;
  bad.components = {1, 3};
  EXPECT_THROW(pl::embedding(ad, bad), ValueError);
  bad = o;
  bad.fig.save = tmp.file("x.gif");
  EXPECT_THROW(pl::embedding(ad, bad), ValueError);
  bad = o;
  bad.cmap = "nope";
  EXPECT_THROW(pl::embedding(ad, bad), ValueError);
  EXPECT_THROW(pl::VBound::parse("pxx"), ValueError);
}

TEST(PlEmbedding, SvgAndPdfBackEnds) {
  TempDir tmp;
  AnnData ad = golden();
  pl::EmbeddingOptions o;
  o.basis = "umap";
  o.color = {"leiden"};
  o.fig.save = tmp.file("leiden.svg");
  pl::embedding(ad, o);
  // One path per cell plus frame, legend markers and glyphs.
  const int paths = svg_count(o.fig.save, "path");
  EXPECT_GE(paths, static_cast<int>(ad.n_obs())) << "SVG did not parse or lacks the points";
  EXPECT_NE(slurp(o.fig.save).find("fill:rgb(12.156863%,46.666667%,70.588235%)"), std::string::npos)
      << "category 0's colour #1f77b4 not in the SVG";
  o.fig.save = tmp.file("leiden.pdf");
  pl::embedding(ad, o);
  ASSERT_EQ(slurp(o.fig.save).rfind("%PDF", 0), 0u);
  const Image im = render_pdf(o.fig.save, tmp.file("leiden_pdf"), 50);
  EXPECT_EQ(im.height, 200);  // 4 in at 50 dpi
  EXPECT_GE(im.width, 200);
  const Box b = nonwhite_bbox(im);
  ASSERT_FALSE(b.empty());
  EXPECT_GT((b.x1 - b.x0) * (b.y1 - b.y0), 100 * 100);
  EXPECT_GT(count_color(im, pl::parse_color("#d62728"), 12), 20);  // category 3's red survives rasterising
}
