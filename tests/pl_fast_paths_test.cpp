// The shortcuts that make the tutorial's figures cheap give exactly what the
// plain computations give: highest_expr's CSR passes against the dense path
// on the PBMC counts (and CSC within rounding), its ranking of ties;
// matrix_columns on sorted, unsorted and repeated sparse indices;
// gaussian_kde_grid against gaussian_kde; the disc splatter's skipped square
// roots against the plain coverage formula; recycled pixel buffers and the
// measuring figure.
#include <cairo.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "golden_support.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/sparse.hpp"
#include "scanpp/pl/figure.hpp"
#include "scanpp/pl/kde.hpp"
#include "scanpp/pl/plot_values.hpp"
#include "scanpp/pl/plots.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using scanpp::testing::TempDir;

TEST(PlFastPaths, HighestExprCsrEqualsDensePathOnPbmc) {
  const AnnData counts = golden::pbmc3k_filtered_counts();
  ASSERT_TRUE(counts.X->is<SparseMatrix>());
  const pl::HighestExpr csr = pl::highest_expr(counts, 20);
  AnnData dense = counts;
  dense.X = Element(to_dense(counts.X->get<SparseMatrix>()));
  const pl::HighestExpr d = pl::highest_expr(dense, 20);
  EXPECT_EQ(csr.genes, d.genes);
  EXPECT_EQ(csr.pct, d.pct);  // bit for bit: same sums in the same order
  EXPECT_EQ(counts.var_names()[static_cast<size_t>(csr.genes[0])], "MALAT1");
  // CSC sums each cell's total in another order: equal to rounding.
  AnnData csc = counts;
  csc.X = Element(convert_format(counts.X->get<SparseMatrix>(), SparseFormat::CSC));
  const pl::HighestExpr c = pl::highest_expr(csc, 20);
  EXPECT_EQ(csr.genes, c.genes);
  double worst = 0;
  for (size_t g = 0; g < csr.pct.size(); ++g)
    for (size_t i = 0; i < csr.pct[g].size(); ++i) worst = std::max(worst, std::fabs(csr.pct[g][i] - c.pct[g][i]));
  EXPECT_LT(worst, 1e-12);
}

TEST(PlFastPaths, HighestExprTiesRankTheLaterGeneFirst) {
  // numpy's argsort(mean)[::-1] as a stable sort reversed: among equal means
  // the gene further right comes first. Genes 1 and 3 tie, 0 and 4 tie.
  const std::vector<float> x = {1, 2, 5, 2, 1,   //
                                3, 1, 0, 1, 3,   //
                                0, 4, 2, 4, 0};
  AnnData ad{Element(dense_to_csr(Array::from_vector(x, {3, 5})))};
  ad.obs.set_index({"a", "b", "c"});
  ad.var.set_index({"g0", "g1", "g2", "g3", "g4"});
  const pl::HighestExpr h = pl::highest_expr(ad, 5);
  std::vector<double> mean(5, 0);
  for (int r = 0; r < 3; ++r) {
    double t = 0;
    for (int c = 0; c < 5; ++c) t += x[static_cast<size_t>(r * 5 + c)];
    for (int c = 0; c < 5; ++c) mean[static_cast<size_t>(c)] += x[static_cast<size_t>(r * 5 + c)] / t * 100;
  }
  std::vector<int64_t> want(5);
  std::iota(want.begin(), want.end(), 0);
  std::stable_sort(want.begin(), want.end(), [&](int64_t a, int64_t b) { return mean[a] < mean[b]; });
  std::reverse(want.begin(), want.end());
  EXPECT_EQ(h.genes, want);
  EXPECT_EQ(mean[1], mean[3]);  // the tie is real
  const pl::HighestExpr top2 = pl::highest_expr(ad, 2);
  EXPECT_EQ(top2.genes, std::vector<int64_t>(want.begin(), want.begin() + 2));
}

namespace {

SparseMatrix csr_of(int64_t rows, int64_t cols, std::vector<int64_t> indptr, std::vector<int32_t> indices,
                    const std::vector<float>& data) {
  SparseMatrix m;
  m.n_rows = rows;
  m.n_cols = cols;
  m.indptr = std::move(indptr);
  m.indices = std::move(indices);
  m.data = Array::from_vector(data);
  return m;
}

}  // namespace

TEST(PlFastPaths, MatrixColumnsAgreeAcrossLayouts) {
  // Row 0 sorted, row 1 unsorted, row 2 with a repeated index (adds up), row 3 empty.
  const SparseMatrix m = csr_of(4, 6, {0, 3, 6, 9, 9}, {0, 2, 5, 4, 1, 2, 3, 1, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const std::vector<std::vector<double>> dense_cols = {
      {1, 0, 0, 0}, {0, 5, 8, 0}, {2, 6, 0, 0}, {0, 0, 16, 0}, {0, 4, 0, 0}, {3, 0, 0, 0}};
  const std::vector<int64_t> ask = {3, 1, 3, 5, 0, 2, 4};
  const Element csr{m};
  const auto got = pl::matrix_columns(csr, ask);
  ASSERT_EQ(got.size(), ask.size());
  for (size_t k = 0; k < ask.size(); ++k) {
    EXPECT_EQ(got[k], dense_cols[static_cast<size_t>(ask[k])]) << "column " << ask[k];
    EXPECT_EQ(pl::matrix_column(csr, ask[k]), dense_cols[static_cast<size_t>(ask[k])]) << "column " << ask[k];
  }
  const Element csc{convert_format(m, SparseFormat::CSC)};
  std::vector<double> rows(24);
  for (size_t c = 0; c < 6; ++c)
    for (size_t r = 0; r < 4; ++r) rows[r * 6 + c] = dense_cols[c][r];
  const Element dense{Array::from_vector(rows, {4, 6})};
  EXPECT_EQ(pl::matrix_columns(csc, ask), got);
  EXPECT_EQ(pl::matrix_columns(dense, ask), got);
  EXPECT_THROW(pl::matrix_column(csr, 6), KeyError);
  EXPECT_THROW(pl::matrix_columns(dense, std::vector<int64_t>{-1}), KeyError);
  // The PBMC counts (sorted rows): every way to a handful of genes agrees.
  const AnnData counts = golden::pbmc3k_filtered_counts();
  const std::vector<int64_t> genes = {13, 4000, 77, 13, 9000};
  const auto a = pl::matrix_columns(*counts.X, genes);
  const Element pcsc{convert_format(counts.X->get<SparseMatrix>(), SparseFormat::CSC)};
  EXPECT_EQ(pl::matrix_columns(pcsc, genes), a);
  for (size_t k = 0; k < genes.size(); ++k) EXPECT_EQ(pl::matrix_column(*counts.X, genes[k]), a[k]);
}

TEST(PlFastPaths, KdeOnTheGridMatchesTheDirectSum) {
  // Two clusters far apart (a gap where the density underflows), ties, and
  // seaborn's grid over [min - 2 bw, max + 2 bw].
  std::mt19937_64 rng(3);
  std::normal_distribution<double> n01(0, 1);
  std::vector<double> x;
  for (int i = 0; i < 400; ++i) x.push_back(std::round(n01(rng) * 20) / 20);
  for (int i = 0; i < 50; ++i) x.push_back(60 + n01(rng) * 0.3);
  for (int i = 0; i < 30; ++i) x.push_back(0);
  for (double cut : {0.0, 2.0}) {
    const pl::ViolinDensity v = pl::violin_density(x, {.cut = cut, .gridsize = 100});
    const std::vector<double> direct = pl::gaussian_kde(x, v.bandwidth, v.support);
    ASSERT_EQ(v.density.size(), direct.size());
    const double peak = *std::max_element(direct.begin(), direct.end());
    for (size_t j = 0; j < direct.size(); ++j) {
      EXPECT_LE(std::fabs(v.density[j] - direct[j]), 1e-13 * peak) << j;
      if (direct[j] > 1e-250) {
        EXPECT_LE(std::fabs(v.density[j] - direct[j]), 1e-12 * direct[j]) << j;
      }
    }
  }
}

namespace {

// The disc splatter's coverage formula, applied to every pixel of the box.
void reference_discs(std::vector<uint32_t>& px, int W, int H, const std::vector<double>& X,
                     const std::vector<double>& Y, const std::vector<pl::RGBA>& cols, double r) {
  for (size_t i = 0; i < X.size(); ++i) {
    const float src[4] = {static_cast<float>(cols[i].r * 255), static_cast<float>(cols[i].g * 255),
                          static_cast<float>(cols[i].b * 255), static_cast<float>(cols[i].a)};
    for (int py = std::max(0, static_cast<int>(std::floor(Y[i] - r - 0.5)));
         py <= std::min(H - 1, static_cast<int>(std::ceil(Y[i] + r + 0.5))); ++py)
      for (int qx = std::max(0, static_cast<int>(std::floor(X[i] - r - 0.5)));
           qx <= std::min(W - 1, static_cast<int>(std::ceil(X[i] + r + 0.5))); ++qx) {
        const double dx = qx + 0.5 - X[i], dy = py + 0.5 - Y[i];
        const double cov = std::clamp(r + 0.5 - std::sqrt(dx * dx + dy * dy), 0.0, 1.0);
        if (!(cov > 0)) continue;
        uint32_t& p = px[static_cast<size_t>(py * W + qx)];
        const float a = src[3] * static_cast<float>(cov);
        if (a <= 0) continue;
        const float keep = 1 - a;
        const auto ch = [](float v) { return static_cast<uint32_t>(std::min(255.f, v + 0.5f)); };
        p = ch(255 * a + static_cast<float>(p >> 24) * keep) << 24 |
            ch(src[0] * a + static_cast<float>((p >> 16) & 255) * keep) << 16 |
            ch(src[1] * a + static_cast<float>((p >> 8) & 255) * keep) << 8 |
            ch(src[2] * a + static_cast<float>(p & 255) * keep);
      }
  }
}

}  // namespace

TEST(PlFastPaths, DiscsEqualThePlainCoverageFormula) {
  TempDir tmp;
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  for (double radius_px : {0.6, 1.0, 2.3, 4.65, 9.5}) {
    pl::Figure fig(tmp.file("d.png"), 2, 1.5, 72);  // 1 point = 1 pixel: 144 x 108
    cairo_surface_t* s = cairo_get_target(fig.cr());
    cairo_surface_flush(s);
    const int W = cairo_image_surface_get_width(s), H = cairo_image_surface_get_height(s);
    std::vector<uint32_t> want(static_cast<size_t>(W * H));
    for (int y = 0; y < H; ++y)
      std::memcpy(&want[static_cast<size_t>(y * W)], cairo_image_surface_get_data(s) + y * cairo_image_surface_get_stride(s),
                  static_cast<size_t>(W) * 4);
    std::vector<double> X, Y;
    std::vector<pl::RGBA> cols;
    for (int i = 0; i < 300; ++i) {
      X.push_back(u(rng) * W);
      Y.push_back(u(rng) * H);
      cols.push_back({u(rng), u(rng), u(rng), i % 3 == 0 ? 1.0 : 0.3 + 0.6 * u(rng)});
    }
    fig.discs(X, Y, cols, radius_px, {0, 0, static_cast<double>(W), static_cast<double>(H)});
    reference_discs(want, W, H, X, Y, cols, radius_px);
    cairo_surface_flush(s);
    int differ = 0;
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x)
        differ += reinterpret_cast<const uint32_t*>(cairo_image_surface_get_data(s) +
                                                    y * cairo_image_surface_get_stride(s))[x] !=
                  want[static_cast<size_t>(y * W + x)];
    EXPECT_EQ(differ, 0) << "radius " << radius_px;
  }
}

namespace {

std::vector<uint32_t> decode(const std::string& path) {
  cairo_surface_t* s = cairo_image_surface_create_from_png(path.c_str());
  EXPECT_EQ(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
  std::vector<uint32_t> px;
  for (int y = 0; y < cairo_image_surface_get_height(s); ++y)
    for (int x = 0; x < cairo_image_surface_get_width(s); ++x)
      px.push_back(reinterpret_cast<const uint32_t*>(cairo_image_surface_get_data(s) +
                                                     y * cairo_image_surface_get_stride(s))[x]);
  cairo_surface_destroy(s);
  return px;
}

// A figure whose size is not a whole number of pixels (its last column and
// row are partly covered by the white background, so partly transparent).
void small_figure(const std::string& path) {
  pl::Figure f(path, 1.234, 0.777, 100);
  f.fill_rect({10, 10, 40, 20}, pl::parse_color("#1f77b4"));
  f.text(5, 50, "CST3", {});
  f.save();
}

}  // namespace

TEST(PlFastPaths, RecycledPixelsStartClear) {
  TempDir tmp;
  small_figure(tmp.file("first.png"));
  {
    pl::Figure big(tmp.file("big.png"), 5, 5, 100);  // its pixels go back to the pool dark
    big.fill_rect({0, 0, 360, 360}, pl::kBlack);
    big.save();
  }
  small_figure(tmp.file("again.png"));
  const auto a = decode(tmp.file("first.png")), b = decode(tmp.file("again.png"));
  ASSERT_EQ(a.size(), static_cast<size_t>(123 * 78));
  EXPECT_EQ(a, b);
  int translucent = 0;
  for (uint32_t p : a) translucent += (p >> 24) != 255;
  EXPECT_GT(translucent, 0);  // the partly covered edge: what a stale buffer would change
}

TEST(PlFastPaths, MeasuringFigureDrawsNothingAndCannotBeSaved) {
  pl::Figure m(pl::MeasureOnly{}, 4, 3, 100);
  EXPECT_EQ(m.pixel_width(), 400);
  EXPECT_EQ(m.pixel_height(), 300);
  EXPECT_DOUBLE_EQ(m.width(), 288);
  m.fill_rect({0, 0, 100, 100}, pl::kBlack);
  m.text(10, 10, "label", {});
  const std::vector<double> x = {10, 20}, y = {10, 20};
  const std::vector<pl::RGBA> c = {pl::kBlack, pl::kBlack};
  m.discs(x, y, c, 3, {0, 0, 288, 216});
  EXPECT_THROW(m.discs(x, y, std::vector<pl::RGBA>{pl::kBlack}, 3, {0, 0, 288, 216}), ValueError);
  const pl::Rect b = m.text_box(10, 10, "label", {});
  EXPECT_GT(b.w, 10);
  EXPECT_THROW(m.save(), ValueError);
}

// A PNG beyond cairo's 32,767 pixels a side is refused before its pixels
// (6.4 GB here) are allocated and zeroed, with the figure's path in the error.
TEST(PlFastPaths, OversizedPngIsAClearErrorBeforeAllocating) {
  TempDir tmp;
  const std::string path = tmp.file("huge.png");
  try {
    pl::Figure f(path, 100, 100, 400);
    FAIL() << "a 40000 x 40000 pixel figure was created";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("32767"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("huge.png"), std::string::npos) << e.what();
  }
  pl::Figure ok(tmp.file("edge.png"), 1, 1, 400);  // 400 x 400: fine
  EXPECT_EQ(ok.pixel_width(), 400);
}
