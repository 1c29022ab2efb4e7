// tl.umap against Scanpy 1.11 on PBMC 3k (golden connectivities): a and b
// equal to Scanpy's, an embedding that keeps PCA neighbourhoods at least as
// well as Scanpy's X_umap, bit-identical results for 1 and 2 threads, and
// the spectral start on disconnected graphs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "npy_lite.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/tl/spectral_layout.hpp"
#include "scanpp/tl/umap.hpp"
#include "scanpp/tl/umap_ab.hpp"
#include "scanpp/tl/umap_sgd.hpp"
#include "layout_quality_support.hpp"
#include "test_paths.hpp"

using namespace scanpp;

namespace {

using namespace layout_quality;

// UMAP is judged against the 15 nearest neighbours in PCA space.
double neighbourhood_share(const Array& emb) { return layout_quality::neighbourhood_share(as_vector(emb), emb.cols(), 15); }

const AnnData& umap_run() {
  static const AnnData a = [] {
    AnnData c = golden();
    c.obsm.erase("X_umap");
    c.uns.erase("umap");
    tl::umap(c);
    return c;
  }();
  return a;
}

}  // namespace

TEST(UmapTest, AbParamsMatchScanpy) {
  const tl::UmapCurve c = tl::find_ab_params(1.0, 0.5);
  const Dict& gold = golden().uns.at("umap").get<Dict>().at("params").get<Dict>();
  const double ga = gold.at("a").get<Array>().get_double(0), gb = gold.at("b").get<Array>().get_double(0);
  std::printf("[umap] a %.9f (Scanpy %.9f), b %.9f (Scanpy %.9f)\n", c.a, ga, c.b, gb);
  EXPECT_NEAR(c.a, ga, 1e-4);
  EXPECT_NEAR(c.b, gb, 1e-4);
  // umap-learn's own default min_dist = 0.1 (values from the spec).
  const tl::UmapCurve d = tl::find_ab_params(1.0, 0.1);
  EXPECT_NEAR(d.a, 1.576943, 1e-4);
  EXPECT_NEAR(d.b, 0.895061, 1e-4);
  EXPECT_THROW(tl::find_ab_params(0.0, 0.5), ValueError);
}

TEST(UmapTest, WritesScanpysKeys) {
  const AnnData& a = umap_run();
  const Array& emb = a.obsm.at("X_umap").get<Array>();
  EXPECT_EQ(emb.dtype(), DType::Float32);
  EXPECT_EQ(emb.shape(), (std::vector<int64_t>{2638, 2}));
  for (int64_t k = 0; k < emb.size(); ++k) ASSERT_TRUE(std::isfinite(emb.get_double(k)));
  const Dict& params = a.uns.at("umap").get<Dict>().at("params").get<Dict>();
  const Dict& gold = golden().uns.at("umap").get<Dict>().at("params").get<Dict>();
  EXPECT_EQ(params.size(), gold.size());  // a and b only: random_state 0 is not written
  EXPECT_NEAR(params.at("a").get<Array>().get_double(0), gold.at("a").get<Array>().get_double(0), 1e-4);
  EXPECT_NEAR(params.at("b").get<Array>().get_double(0), gold.at("b").get<Array>().get_double(0), 1e-4);
}

TEST(UmapTest, KeepsPcaNeighbourhoodsAsWellAsScanpy) {
  const double ours = neighbourhood_share(umap_run().obsm.at("X_umap").get<Array>());
  const Array scanpy = npy_lite::read(scanpp::testing::shared("golden/pbmc3k/X_umap.npy"));
  const double theirs = neighbourhood_share(scanpy);
  std::printf("[umap] share of 10-NN in 2-D among 15-NN in 40 PCs: scanpp %.4f, Scanpy %.4f\n", ours, theirs);
  EXPECT_NEAR(theirs, 0.1144, 1e-3);  // the reference figure computed in Python
  EXPECT_GE(ours, theirs - 0.02);
}

TEST(UmapTest, BitIdenticalForOneAndTwoThreads) {
  const int before = num_threads();
  set_num_threads(1);
  const tl::UmapResult one = tl::umap_layout(connectivities());
  set_num_threads(2);
  const tl::UmapResult two = tl::umap_layout(connectivities());
  set_num_threads(before);
  EXPECT_TRUE(one.embedding == two.embedding);
  EXPECT_TRUE(one.embedding == umap_run().obsm.at("X_umap").get<Array>());
  EXPECT_EQ(one.n_epochs, 500);
  const tl::UmapResult other = tl::umap_layout(connectivities(), {.n_epochs = 50, .random_state = 7});
  EXPECT_FALSE(other.embedding == one.embedding);
}

TEST(UmapTest, OtherStartsAndOptions) {
  AnnData a = golden();
  tl::umap(a, {.maxiter = 30, .init_pos = "random", .random_state = 3, .key_added = "umap_rand"});
  const Array& r = a.obsm.at("umap_rand").get<Array>();
  EXPECT_EQ(r.shape(), (std::vector<int64_t>{2638, 2}));
  EXPECT_EQ(a.uns.at("umap_rand").get<Dict>().at("params").get<Dict>().at("random_state").get<Array>().get_double(0), 3);
  // An obsm start is used: 20 epochs from Scanpy's own embedding keep its
  // neighbourhoods far better than 20 epochs from a random start.
  tl::umap(a, {.maxiter = 20, .init_pos = "X_umap", .key_added = "umap_from_scanpy"});
  tl::umap(a, {.maxiter = 20, .init_pos = "random", .key_added = "umap_random20"});
  const double from_scanpy = neighbourhood_share(a.obsm.at("umap_from_scanpy").get<Array>());
  const double from_random = neighbourhood_share(a.obsm.at("umap_random20").get<Array>());
  std::printf("[umap] 20 epochs: share %.4f from Scanpy's X_umap, %.4f from a random start\n", from_scanpy, from_random);
  EXPECT_GT(from_scanpy, from_random + 0.01);
  tl::umap(a, {.n_components = 3, .maxiter = 20, .key_added = "umap3"});
  EXPECT_EQ(a.obsm.at("umap3").get<Array>().shape(), (std::vector<int64_t>{2638, 3}));
  EXPECT_THROW(tl::umap(a, {.init_pos = "no_such_key"}), ValueError);
  EXPECT_THROW(tl::umap(a, {.init_pos = "paga"}), ValueError);  // the golden file has no uns['paga']['pos']
  EXPECT_THROW(tl::umap(a, {.neighbors_key = "nope"}), KeyError);
  EXPECT_THROW(tl::umap(a, {.n_components = 0}), ValueError);
}

TEST(UmapSgdTest, SimdKernelEqualsScalarKernelBitForBit) {
  // The 32-lane AVX-512 kernel must compute exactly what the scalar kernel
  // computes, vertex by vertex (same operations, same order).
  ASSERT_TRUE(tl::umap_sgd::simd_kernel_available(2)) << "this machine has AVX-512; the SIMD kernel must be used";
  SparseMatrix g = convert_format(connectivities(), SparseFormat::CSR);
  sort_indices(g);
  g.data = g.data.astype(DType::Float64);
  const tl::umap_sgd::Graph sg = tl::umap_sgd::make_graph(g, 60);
  const int64_t n = g.n_rows;
  std::vector<float> start(static_cast<size_t>(n * 2));
  for (size_t k = 0; k < start.size(); ++k) start[k] = static_cast<float>((k * 2654435761u) % 10007) * 1e-3f;
  const tl::UmapCurve c = tl::find_ab_params(1.0, 0.5);
  const tl::umap_sgd::Params p{.a = c.a, .b = c.b, .n_epochs = 60, .dim = 2, .seed = 11};
  std::vector<float> simd = start, scalar = start;
  tl::umap_sgd::optimize(sg, p, simd, tl::umap_sgd::Kernel::Auto);
  tl::umap_sgd::optimize(sg, p, scalar, tl::umap_sgd::Kernel::Scalar);
  int64_t moved = 0, differ = 0;
  for (size_t k = 0; k < start.size(); ++k) {
    moved += simd[k] != start[k];
    differ += simd[k] != scalar[k];
  }
  std::printf("[umap] SIMD vs scalar kernel, 60 epochs: %lld of %zu coordinates moved, %lld differ\n",
              static_cast<long long>(moved), start.size(), static_cast<long long>(differ));
  EXPECT_GT(moved, static_cast<int64_t>(start.size()) * 9 / 10);
  EXPECT_EQ(differ, 0);
  // Three dimensions run on the scalar kernel.
  EXPECT_FALSE(tl::umap_sgd::simd_kernel_available(3));
}

TEST(SpectralLayoutTest, ConnectedGraphGivesLaplacianEigenvectors) {
  // On the connected golden graph each column v satisfies L v = lambda v with small lambda.
  const tl::SpectralLayout sl = tl::spectral_layout(connectivities());
  EXPECT_EQ(sl.n_connected_components, 1);
  EXPECT_FALSE(sl.used_random_fallback);
  const SparseMatrix& g = connectivities();
  const int64_t n = g.n_rows;
  std::vector<double> deg(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = g.indptr[i]; k < g.indptr[i + 1]; ++k) deg[i] += g.data.get_double(k);
  for (int d = 0; d < 2; ++d) {
    std::vector<double> v(static_cast<size_t>(n)), mv(static_cast<size_t>(n), 0.0);
    double norm = 0;
    for (int64_t i = 0; i < n; ++i) norm += sl.coords[i * 2 + d] * sl.coords[i * 2 + d];
    for (int64_t i = 0; i < n; ++i) v[i] = sl.coords[i * 2 + d] / std::sqrt(norm);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = g.indptr[i]; k < g.indptr[i + 1]; ++k)
        mv[i] += g.data.get_double(k) / std::sqrt(deg[i] * deg[g.indices[k]]) * v[g.indices[k]];
    double lambda = 0, resid = 0;
    for (int64_t i = 0; i < n; ++i) lambda += v[i] * (v[i] - mv[i]);
    for (int64_t i = 0; i < n; ++i) resid += std::pow(v[i] - mv[i] - lambda * v[i], 2);
    std::printf("[spectral] eigenvalue %d of L: %.6f, residual %.2e\n", d + 1, lambda, std::sqrt(resid));
    EXPECT_GT(lambda, 1e-8);  // not the trivial eigenvector
    EXPECT_LT(lambda, 0.05);
    EXPECT_LT(std::sqrt(resid), 1e-3);
  }
}

TEST(SpectralLayoutTest, DisconnectedGraphsPlaceEachComponentInItsOwnRegion) {
  // Cut the golden graph along Scanpy's Leiden clusters: 9 components (> 2 * dim,
  // so centroids in PCA space place them) and, with 3 clusters kept, 3 (+/- unit vectors).
  const auto& leiden = std::get<Categorical>(golden().obs.at("leiden"));
  for (int kept_clusters : {9, 3}) {
    std::vector<int64_t> cells;
    for (int64_t i = 0; i < golden().n_obs(); ++i)
      if (leiden.codes[i] < kept_clusters) cells.push_back(i);
    SparseMatrix g = take(connectivities(), cells, cells);
    std::vector<float> vals(g.data.as<float>().begin(), g.data.as<float>().end());
    for (int64_t r = 0; r < g.n_rows; ++r)
      for (int64_t k = g.indptr[r]; k < g.indptr[r + 1]; ++k)
        if (leiden.codes[cells[r]] != leiden.codes[cells[g.indices[k]]]) vals[k] = 0.0f;
    g.data = Array::from_vector(vals);
    const Array pca = golden().obsm.at("X_pca").get<Array>().take_rows(cells);
    const tl::SpectralLayout sl = tl::spectral_layout(g, {}, &pca);
    EXPECT_EQ(sl.n_connected_components, kept_clusters);
    // Each component is laid out on its own: its coordinates are an affine
    // image (one scale, per-axis sign and shift) of the component's own
    // spectral layout, computed independently here.
    for (int c = 0; c < kept_clusters; ++c) {
      std::vector<int64_t> local, global;
      for (size_t r = 0; r < cells.size(); ++r)
        if (leiden.codes[cells[r]] == c) local.push_back(static_cast<int64_t>(r));
      const tl::SpectralLayout own = tl::spectral_layout(take(g, local, local));
      ASSERT_EQ(own.n_connected_components, 1);
      double scale = -1;
      for (int d = 0; d < 2; ++d) {
        double mx = 0, my = 0;
        for (size_t t = 0; t < local.size(); ++t) mx += own.coords[t * 2 + d], my += sl.coords[local[t] * 2 + d];
        mx /= local.size(), my /= local.size();
        double sxy = 0, sxx = 0, syy = 0;
        for (size_t t = 0; t < local.size(); ++t) {
          const double x = own.coords[t * 2 + d] - mx, y = sl.coords[local[t] * 2 + d] - my;
          sxy += x * y, sxx += x * x, syy += y * y;
        }
        EXPECT_GT(std::fabs(sxy) / std::sqrt(sxx * syy), 0.9999) << "component " << c << " axis " << d;
        const double s_d = std::sqrt(syy / sxx);
        if (scale < 0) scale = s_d;
        else EXPECT_NEAR(s_d / scale, 1.0, 1e-6) << "one scale for both axes, component " << c;
      }
    }
    if (kept_clusters == 3) {
      // Three components sit on +e1, +e2, -e1: clusters stay apart.
      std::vector<double> mean(6, 0.0), count(3, 0.0);
      for (size_t r = 0; r < cells.size(); ++r) {
        const int c = leiden.codes[cells[r]];
        mean[c * 2] += sl.coords[r * 2], mean[c * 2 + 1] += sl.coords[r * 2 + 1], count[c] += 1;
      }
      for (int c = 0; c < 3; ++c) mean[c * 2] /= count[c], mean[c * 2 + 1] /= count[c];
      int64_t misplaced = 0;
      for (size_t r = 0; r < cells.size(); ++r) {
        int best = -1;
        double bd = 1e300;
        for (int c = 0; c < 3; ++c) {
          const double d = std::hypot(sl.coords[r * 2] - mean[c * 2], sl.coords[r * 2 + 1] - mean[c * 2 + 1]);
          if (d < bd) bd = d, best = c;
        }
        misplaced += best != leiden.codes[cells[r]];
      }
      std::printf("[spectral] 3 components: %lld of %zu cells nearer another component's centre\n",
                  static_cast<long long>(misplaced), cells.size());
      EXPECT_LT(misplaced, static_cast<int64_t>(cells.size()) / 50);
    }
    // UMAP runs through it and keeps the clusters apart.
    const tl::UmapResult res = tl::umap_layout(g, {.n_epochs = 100}, tl::UmapInit::Spectral, nullptr, &pca);
    for (int64_t k = 0; k < res.embedding.size(); ++k) ASSERT_TRUE(std::isfinite(res.embedding.get_double(k)));
  }
}
