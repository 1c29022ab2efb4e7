// tl.embedding_density against scipy.stats.gaussian_kde (as Scanpy's
// _calc_density uses it) run by /usr/bin/python3 on the golden X_umap.
#include <gtest/gtest.h>

#include <cmath>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/embedding_density.hpp"
#include "scoring_support.hpp"

namespace {

using scanpp::AnnData;
using scanpp::Array;
using scanpp::Dict;
using scoring_test::golden_pbmc;

// Scanpy's _calc_density over all cells, then per leiden category.
const char* kScanpyDensity = R"PY(
import sys
import numpy as np, anndata as ad
from scipy.stats import gaussian_kde
a = ad.read_h5ad(sys.argv[1], backed="r")
umap = np.asarray(a.obsm["X_umap"])
def calc(x, y):
    xy = np.vstack([x, y])
    z = gaussian_kde(xy)(xy)
    return (z - np.min(z)) / (np.max(z) - np.min(z))
print(" ".join(repr(float(v)) for v in calc(umap[:, 0], umap[:, 1])))
leiden = a.obs["leiden"]
dens = np.zeros(a.n_obs)
for cat in leiden.cat.categories:
    m = (leiden == cat).values
    dens[m] = calc(umap[m, 0], umap[m, 1])
print(" ".join(repr(float(v)) for v in dens))
)PY";

TEST(EmbeddingDensity, MatchesScipyGaussianKdeOnGoldenUmap) {
  AnnData a = golden_pbmc();
  scanpp::tl::embedding_density(a, {});
  scanpp::tl::EmbeddingDensityOptions by;
  by.groupby = "leiden";
  scanpp::tl::embedding_density(a, by);

  scanpp::testing::TempDir tmp;
  const std::string out = scoring_test::run_python(tmp, kScanpyDensity, scoring_test::golden_h5ad());
  const auto nl = out.find('\n');
  const auto whole = scoring_test::numbers(out.substr(0, nl));
  const auto grouped = scoring_test::numbers(out.substr(nl + 1));
  const auto got = a.obs.numeric("umap_density");
  const auto got_g = a.obs.numeric("umap_density_leiden");
  ASSERT_EQ(whole.size(), got.size());
  ASSERT_EQ(grouped.size(), got_g.size());
  double dev = 0, dev_g = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    dev = std::max(dev, std::abs(got[i] - whole[i]));
    dev_g = std::max(dev_g, std::abs(got_g[i] - grouped[i]));
  }
  EXPECT_LT(dev, 1e-6);
  EXPECT_LT(dev_g, 1e-6);
  std::printf("[ density ] max |scanpp - scipy|: all cells %.3g, per leiden group %.3g\n", dev, dev_g);
  EXPECT_EQ(*std::min_element(got.begin(), got.end()), 0.0);
  EXPECT_EQ(*std::max_element(got.begin(), got.end()), 1.0);

  const Dict& p = a.uns.at("umap_density_params").get<Dict>();
  EXPECT_FALSE(p.count("covariate"));
  EXPECT_EQ(p.at("components").get<Array>().to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
  const Dict& pg = a.uns.at("umap_density_leiden_params").get<Dict>();
  EXPECT_EQ(pg.at("covariate").get<std::string>(), "leiden");
}

TEST(EmbeddingDensity, SameWithOneAndTwoThreads) {
  AnnData a = golden_pbmc(), b = golden_pbmc();
  const int before = scanpp::num_threads();
  scanpp::set_num_threads(1);
  scanpp::tl::embedding_density(a, {.basis = "tsne"});
  scanpp::set_num_threads(2);
  scanpp::tl::embedding_density(b, {.basis = "tsne"});
  scanpp::set_num_threads(before);
  EXPECT_EQ(a.obs.numeric("tsne_density"), b.obs.numeric("tsne_density"));
}

TEST(EmbeddingDensity, DiffmapComponentsAndKeyAdded) {
  AnnData a = golden_pbmc();
  scanpp::tl::EmbeddingDensityOptions o;
  o.basis = "diffmap";
  o.components = {1, 2};  // Scanpy skips diffmap's first (stationary) component
  o.key_added = "dm_dens";
  scanpp::tl::embedding_density(a, o);
  // The same as the density over columns 2 and 3 of X_diffmap.
  const Array& dm = a.obsm.at("X_diffmap").get<Array>();
  std::vector<double> x, y;
  for (int64_t i = 0; i < dm.rows(); ++i) {
    x.push_back(dm.get_double(i * dm.cols() + 1));
    y.push_back(dm.get_double(i * dm.cols() + 2));
  }
  EXPECT_EQ(a.obs.numeric("dm_dens"), scanpp::tl::scaled_density_2d(x, y));
  EXPECT_EQ(a.uns.at("dm_dens_params").get<Dict>().at("components").get<Array>().to_vector<int64_t>(),
            (std::vector<int64_t>{1, 2}));
}

TEST(EmbeddingDensity, BadInput) {
  AnnData a = golden_pbmc();
  EXPECT_THROW(scanpp::tl::embedding_density(a, {.basis = "phate"}), scanpp::ValueError);
  scanpp::tl::EmbeddingDensityOptions o;
  o.components = {1, 2, 3};
  EXPECT_THROW(scanpp::tl::embedding_density(a, o), scanpp::ValueError);
  o.components = {1, 5};
  EXPECT_THROW(scanpp::tl::embedding_density(a, o), scanpp::ValueError);
  o.components = {};
  o.groupby = "total_counts";
  EXPECT_THROW(scanpp::tl::embedding_density(a, o), scanpp::ValueError);
  o.groupby = "missing";
  EXPECT_THROW(scanpp::tl::embedding_density(a, o), scanpp::ValueError);
  // All points on a line: singular covariance, as scipy's LinAlgError.
  EXPECT_THROW(scanpp::tl::gaussian_kde_2d({0, 1, 2, 3}, {0, 2, 4, 6}), scanpp::ValueError);
  EXPECT_THROW(scanpp::tl::gaussian_kde_2d({0}, {1}), scanpp::ValueError);
}

}  // namespace
