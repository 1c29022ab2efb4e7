// Violins: the KDE behind every violin against scipy's gaussian_kde (what
// seaborn uses), pl.violin's QC and grouped figures, and its colours.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "pl_grouped_support.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/pl/grouped_data.hpp"
#include "scanpp/pl/kde.hpp"
#include "scanpp/pl/palettes.hpp"
#include "scanpp/pl/violin.hpp"

using namespace scanpp;
using plgrp_test::golden_pbmc;
using plgrp_test::Png;

TEST(PlViolin, KdeMatchesScipyGaussianKde) {
  // seaborn: gaussian_kde(x, 'scott'); bw = factor * std(ddof=1); grid of 100 over [min - cut bw, max + cut bw].
  std::string out;
  const std::string py =
      "import anndata, numpy as np\n"
      "from scipy.stats import gaussian_kde\n"
      "a = anndata.read_h5ad('" + golden::shared("golden/pbmc3k/pbmc3k_scanpy.h5ad") + "', backed='r')\n"
      "for key, cut in [('pct_counts_mt', 0), ('total_counts', 0), ('n_genes_by_counts', 2)]:\n"
      "    x = np.asarray(a.obs[key], dtype=float)\n"
      "    k = gaussian_kde(x, 'scott')\n"
      "    bw = k.factor * x.std(ddof=1)\n"
      "    s = np.linspace(x.min() - cut * bw, x.max() + cut * bw, 100)\n"
      "    d = k.evaluate(s)\n"
      "    print(key, cut, repr(bw), ' '.join(repr(float(v)) for v in s), ' '.join(repr(float(v)) for v in d))\n";
  ASSERT_EQ(plgrp_test::run_python(py, &out), 0) << out;
  const AnnData& ad = golden_pbmc();
  std::istringstream in(out);
  std::string key;
  double cut, bw;
  int n = 0;
  while (in >> key >> cut >> bw) {
    const auto x = ad.obs.numeric(key);
    pl::KdeOptions o;
    o.cut = cut;
    const auto v = pl::violin_density(x, o);
    EXPECT_NEAR(v.bandwidth, bw, 1e-9 * bw) << key;
    ASSERT_EQ(v.support.size(), 100u);
    double worst_s = 0, worst_d = 0, peak = 0;
    std::vector<double> s(100), d(100);
    for (auto& a : s) in >> a;
    for (auto& a : d) in >> a;
    for (size_t i = 0; i < 100; ++i) {
      worst_s = std::max(worst_s, std::fabs(v.support[i] - s[i]));
      worst_d = std::max(worst_d, std::fabs(v.density[i] - d[i]));
      peak = std::max(peak, d[i]);
    }
    EXPECT_LT(worst_s, 1e-9 * std::max(1.0, std::fabs(s.back()))) << key;
    EXPECT_LT(worst_d, 1e-9 * peak) << key;
    ++n;
  }
  EXPECT_EQ(n, 3);
}

TEST(PlViolin, DensityNormAndDegenerateData) {
  std::vector<double> a{0, 0, 0, 1, 2, 3}, b{5, 5, 5}, c{};
  std::vector<pl::ViolinDensity> v{pl::violin_density(a), pl::violin_density(b), pl::violin_density(c)};
  EXPECT_TRUE(v[1].single_value());
  EXPECT_TRUE(v[2].empty());
  auto w = v;
  pl::density_norm(w, "width");
  EXPECT_NEAR(*std::max_element(w[0].density.begin(), w[0].density.end()), 1.0, 1e-12);
  auto ar = v;
  pl::density_norm(ar, "count");
  EXPECT_LE(*std::max_element(ar[0].density.begin(), ar[0].density.end()), 1.0 + 1e-12);
  EXPECT_THROW(pl::density_norm(ar, "volume"), ValueError);
  // Jitter: inside the limits, reproducible.
  const auto j1 = pl::strip_jitter(1000, 0.4, 3), j2 = pl::strip_jitter(1000, 0.4, 3);
  EXPECT_EQ(j1, j2);
  EXPECT_LE(*std::max_element(j1.begin(), j1.end()), 0.4);
  EXPECT_GE(*std::min_element(j1.begin(), j1.end()), -0.4);
}

TEST(PlViolin, QcViolinsMultiPanel) {
  AnnData ad = golden_pbmc();
  pl::ViolinOptions o;
  o.keys = {"n_genes_by_counts", "total_counts", "pct_counts_mt"};
  o.jitter = 0.4;
  o.multi_panel = true;
  scanpp::testing::TempDir tmp;
  const auto info = pl::violin(ad, o, tmp.file("qc.png"));
  Png png(tmp.file("qc.png"));
  ASSERT_TRUE(png.ok());
  EXPECT_EQ(png.width, info.figure.width_px);
  // Three seaborn facets of 5 in side by side: wide, not tall.
  EXPECT_GT(png.width, 2.5 * png.height);
  // The violins' colour (the first colour of the cycle, #1f77b4) fills a good part of each panel.
  const auto c = pl::parse_color(pl::default_20()[0]);
  EXPECT_GT(png.count_color(pl::to_byte(c.r), pl::to_byte(c.g), pl::to_byte(c.b), 2), 3 * 3000);
  // Titles above each panel and black strip points inside the first.
  const auto& m = info.main_px;
  EXPECT_GT(png.dark_pixels(m.x, m.y - 30, m.right(), m.y), 40);
  EXPECT_GT(png.dark_pixels(m.x + 2, m.y + 2, m.right() - 2, m.bottom() - 2, 60), 500);
}

TEST(PlViolin, GroupedViolinsUseCategoryColours) {
  AnnData ad = golden_pbmc();
  ad.uns.erase("leiden_colors");
  pl::ViolinOptions o;
  o.keys = {"CST3", "NKG7"};
  o.groupby = "leiden";
  scanpp::testing::TempDir tmp;
  pl::violin(ad, o, tmp.file("v.png"));
  ASSERT_TRUE(ad.uns.count("leiden_colors"));  // written as Scanpy does
  const auto& colors = ad.uns.at("leiden_colors").get<StringArray>().values;
  ASSERT_EQ(colors.size(), 9u);
  EXPECT_EQ(colors[0], pl::default_20()[0]);
  Png png(tmp.file("v.png"));
  ASSERT_TRUE(png.ok());
  for (auto& hex : colors) {
    const auto c = pl::parse_color(hex);
    EXPECT_GT(png.count_color(pl::to_byte(c.r), pl::to_byte(c.g), pl::to_byte(c.b), 2), 30) << hex;
  }
  o.groupby = "total_counts";  // not categorical
  EXPECT_THROW(pl::violin(ad, o, tmp.file("bad.png")), ValueError);
  o.groupby = std::nullopt;
  o.keys = {"leiden"};  // categories are not values
  EXPECT_THROW(pl::violin(ad, o, tmp.file("bad.png")), ValueError);
  o.keys = {"NOT_A_GENE"};
  EXPECT_THROW(pl::violin(ad, o, tmp.file("bad.png")), KeyError);
}

TEST(PlViolin, LogScaleAndSvg) {
  AnnData ad = golden_pbmc();
  pl::ViolinOptions o;
  o.keys = {"total_counts"};
  o.log = true;
  o.stripplot = false;
  scanpp::testing::TempDir tmp;
  pl::violin(ad, o, tmp.file("v.svg"));
  std::string out;
  ASSERT_EQ(plgrp_test::run_python("import xml.etree.ElementTree as ET\n"
                                   "r = ET.parse('" + tmp.file("v.svg") + "').getroot()\n"
                                   "print(sum(1 for e in r.iter() if e.tag.endswith('path')))\n",
                                   &out),
            0)
      << out;
  EXPECT_GT(std::stoi(out), 3);
}
