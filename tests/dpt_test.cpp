// tl.dpt against Scanpy 1.11.5's golden pseudotime (pbmc3k, root cell 0).
#include "scanpp/tl/dpt.hpp"
#include "scanpp/tl/dpt_branching.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>

#include "golden_support.hpp"
#include "trajectory_support.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/core/connected_components.hpp"
#include "scanpp/tl/diffmap.hpp"

namespace {

using trajectory_test::spearman;

using scanpp::AnnData;
using scanpp::Array;
using scanpp::SparseMatrix;

// Scanpy's graph and diffusion map, without X (not needed with uns['iroot']).
const AnnData& golden_input() {
  static const AnnData a = [] {
    AnnData g = trajectory_test::golden_graph();
    const AnnData& full = trajectory_test::golden_full();
    g.obsm["X_diffmap"] = full.obsm.at("X_diffmap");
    g.uns["diffmap_evals"] = full.uns.at("diffmap_evals");
    g.uns["iroot"] = Array::scalar<int64_t>(0);
    return g;
  }();
  return a;
}

std::vector<double> golden_pseudotime() {
  const auto csv = golden::read_csv(golden::shared("golden/pbmc3k/dpt_pseudotime.csv"));
  return csv.numeric("dpt_pseudotime");
}



std::vector<double> pseudotime_of(const AnnData& a) { return a.obs.numeric("dpt_pseudotime"); }

TEST(DptTest, MatchesScanpyFromScanpysDiffusionMap) {
  AnnData a = golden_input();
  scanpp::tl::dpt(a);
  const auto got = pseudotime_of(a), ref = golden_pseudotime();
  ASSERT_EQ(got.size(), ref.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - ref[i]));
  std::printf("same diffusion map: max |pseudotime - scanpy| = %.3g\n", worst);
  EXPECT_LT(worst, 1e-6);
  EXPECT_EQ(got[0], 0.0);
  EXPECT_EQ(*std::max_element(got.begin(), got.end()), 1.0);
  EXPECT_EQ(a.obs.at("dpt_pseudotime").index(), 0u);  // an Array column
  EXPECT_EQ(std::get<Array>(a.obs.at("dpt_pseudotime")).dtype(), scanpp::DType::Float32);
}

TEST(DptTest, MatchesScanpyFromOwnDiffusionMap) {
  AnnData a = golden_input();
  a.obsm.erase("X_diffmap");  // dpt runs diffmap itself
  a.uns.erase("diffmap_evals");
  scanpp::tl::dpt(a);
  ASSERT_TRUE(a.obsm.count("X_diffmap"));
  const auto got = pseudotime_of(a), ref = golden_pseudotime();
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - ref[i]));
  const double rho = spearman(got, ref);
  std::printf("own diffusion map: spearman = %.7f, max |pseudotime - scanpy| = %.3g\n", rho, worst);
  EXPECT_GE(rho, 0.999);
  EXPECT_LT(worst, 1e-5);
}

TEST(DptTest, BitIdenticalForOneAndTwoThreads) {
  AnnData a1 = golden_input(), a2 = golden_input();
  scanpp::set_num_threads(1);
  scanpp::tl::dpt(a1);
  scanpp::set_num_threads(2);
  scanpp::tl::dpt(a2);
  EXPECT_TRUE(std::get<Array>(a1.obs.at("dpt_pseudotime")) == std::get<Array>(a2.obs.at("dpt_pseudotime")));
  scanpp::set_num_threads(0);  // back to the default for the suites that follow
}

// Two disconnected rings: the cells of the other ring are unreachable (inf),
// the root can be found from xroot, and the pseudotime of the root's ring
// spans [0, 1].
TEST(DptTest, DisconnectedGraphAndXroot) {
  const int64_t half = 10, n = 2 * half;
  std::vector<float> w(static_cast<size_t>(n * n), 0.0f);
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t i = 0; i < half; ++i) {
      const int64_t a = r * half + i, b = r * half + (i + 1) % half;
      w[a * n + b] = w[b * n + a] = 0.5f + 0.05f * static_cast<float>(i);
    }
  AnnData ad;
  std::vector<std::string> names;
  for (int64_t i = 0; i < n; ++i) names.push_back("c" + std::to_string(i));
  ad.obs = scanpp::DataFrame(names);
  ad.var = scanpp::DataFrame(std::vector<std::string>{"g0", "g1"});
  std::vector<float> x;
  for (int64_t i = 0; i < n; ++i) {
    x.push_back(static_cast<float>(i));
    x.push_back(static_cast<float>(i % 3));
  }
  ad.X = Array::from_vector(x, {n, 2});
  ad.obsp["connectivities"] = scanpp::dense_to_csr(Array::from_vector(w, {n, n}));
  scanpp::Dict nb;
  nb["connectivities_key"] = std::string("connectivities");
  ad.uns["neighbors"] = nb;
  ad.uns["xroot"] = Array::from_vector(std::vector<double>{3.1, 0.1});  // closest to cell 3
  scanpp::tl::dpt(ad, {.n_dcs = 5});
  EXPECT_EQ(ad.uns.at("iroot").get<Array>().get_double(0), 3.0);
  const auto pt = pseudotime_of(ad);
  EXPECT_EQ(pt[3], 0.0);
  double mx = 0;
  for (int64_t i = 0; i < half; ++i) {
    EXPECT_TRUE(std::isfinite(pt[i]));
    mx = std::max(mx, pt[i]);
  }
  EXPECT_EQ(mx, 1.0);
  for (int64_t i = half; i < n; ++i) EXPECT_TRUE(std::isinf(pt[i]));
  const auto labels = scanpp::connected_component_labels(ad.obsp.at("connectivities").get<SparseMatrix>());
  EXPECT_EQ(labels[0], 0);
  EXPECT_EQ(labels[n - 1], 1);
}

TEST(DptTest, BadInputIsRejected) {
  AnnData a = golden_input();
  EXPECT_THROW(scanpp::tl::dpt(a, {.n_dcs = 16}), scanpp::ValueError);
  EXPECT_THROW(scanpp::tl::dpt(a, {.n_branchings = -1}), scanpp::ValueError);
  a.uns["iroot"] = Array::scalar<int64_t>(5000);
  EXPECT_THROW(scanpp::tl::dpt(a), scanpp::ValueError);
}

// Without a root Scanpy warns and computes no pseudotime; branchings still
// run, their first tip being the cell farthest from cell 0.
TEST(DptTest, NoRootWarnsAndStillBranches) {
  AnnData a = golden_input();
  a.uns.erase("iroot");
  scanpp::tl::dpt(a);
  EXPECT_FALSE(a.obs.has("dpt_pseudotime"));
  EXPECT_EQ(a.uns.count("iroot"), 0u);
  scanpp::tl::dpt(a, {.n_branchings = 1});
  EXPECT_FALSE(a.obs.has("dpt_pseudotime"));
  ASSERT_TRUE(a.obs.has("dpt_groups"));
  std::vector<int64_t> cols(10);
  std::iota(cols.begin(), cols.end(), int64_t{0});
  const Array& basis = a.obsm.at("X_diffmap").get<Array>();
  const Array& evals = a.uns.at("diffmap_evals").get<Array>();
  const auto want = scanpp::tl::dpt_branchings(basis.take_cols(cols), evals.take_rows(cols), std::nullopt, {}, {},
                                               {.n_branchings = 1});
  const auto& groups = std::get<scanpp::Categorical>(a.obs.at("dpt_groups"));
  EXPECT_EQ(groups.codes, want.groups);
  EXPECT_GE(want.n_groups, 2);
  // The first tip is the farthest cell from cell 0, as with root 0.
  AnnData r = golden_input();
  scanpp::tl::dpt(r, {.n_branchings = 1});
  EXPECT_EQ(a.uns.at("dpt_grouptips").get<Array>().get_double(0), r.uns.at("dpt_grouptips").get<Array>().get_double(0));
}

}  // namespace
