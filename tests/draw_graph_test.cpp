// tl.draw_graph against Scanpy 1.11 on PBMC 3k (golden connectivities):
// a ForceAtlas2 layout that keeps PCA neighbourhoods as well as Scanpy's
// X_draw_graph_fa (within 0.05; 'fr' is in draw_graph_fr_test), Scanpy's keys,
// numpy's start positions, bit-identical results for 1 and 2 threads, the
// other igraph layouts, and errors for bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>

#include "budget_flipper.hpp"
#include "layout_quality_support.hpp"
#include "npy_lite.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/core/thread_budget.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/tl/draw_graph.hpp"
#include "scanpp/tl/forceatlas2.hpp"
#include "test_paths.hpp"

using namespace scanpp;

using namespace layout_quality;

namespace {

struct LayoutRun {
  AnnData adata;
  double seconds = 0;
};

const LayoutRun& run_layout(const std::string& layout) {
  static std::map<std::string, LayoutRun> runs;
  auto it = runs.find(layout);
  if (it != runs.end()) return it->second;
  LayoutRun r{golden(), 0};
  r.adata.obsm.erase("X_draw_graph_" + layout);
  r.adata.uns.erase("draw_graph");
  const auto t0 = std::chrono::steady_clock::now();
  tl::draw_graph(r.adata, {.layout = layout});
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return runs.emplace(layout, std::move(r)).first->second;
}

}  // namespace

TEST(DrawGraphTest, StartPositionsAreNumpysRandomState) {
  // np.random.seed(0); np.random.random((2, 2)) -> Python's own figures
  const std::vector<double> init = tl::draw_graph_random_init(2, 0);
  ASSERT_EQ(init.size(), 4u);
  EXPECT_EQ(init[0], 0.5488135039273248);
  EXPECT_EQ(init[1], 0.7151893663724195);
  EXPECT_EQ(init[2], 0.6027633760716439);
  EXPECT_EQ(init[3], 0.5448831829968969);
}

TEST(DrawGraphTest, ForceAtlas2KeepsNeighbourhoodsAsScanpy) {
  const LayoutRun& r = run_layout("fa");
  const Array& emb = r.adata.obsm.at("X_draw_graph_fa").get<Array>();
  EXPECT_EQ(emb.dtype(), DType::Float64);
  ASSERT_EQ(emb.shape(), (std::vector<int64_t>{2638, 2}));
  for (int64_t k = 0; k < emb.size(); ++k) ASSERT_TRUE(std::isfinite(emb.get_double(k)));
  const double ours = neighbourhood_share(as_vector(emb));
  const double theirs =
      neighbourhood_share(as_vector(npy_lite::read(scanpp::testing::shared("golden/pbmc3k/X_draw_graph_fa.npy"))));
  std::printf("[draw_graph fa] share of 10-NN in 2-D among 10-NN in 40 PCs: scanpp %.4f, Scanpy %.4f; %.3f s\n",
              ours, theirs, r.seconds);
  EXPECT_NEAR(ours, theirs, 0.05);
  // Scanpy's fa2 layout spans a few thousand units from a [0, 1) start: so must ours.
  double lo = 1e300, hi = -1e300;
  for (int64_t k = 0; k < emb.size(); k += 2) {
    lo = std::min(lo, emb.get_double(k));
    hi = std::max(hi, emb.get_double(k));
  }
  const Array gold = npy_lite::read(scanpp::testing::shared("golden/pbmc3k/X_draw_graph_fa.npy"));
  double glo = 1e300, ghi = -1e300;
  for (int64_t k = 0; k < gold.size(); k += 2) {
    glo = std::min(glo, gold.get_double(k));
    ghi = std::max(ghi, gold.get_double(k));
  }
  std::printf("[draw_graph fa] x range: scanpp %.1f, Scanpy %.1f\n", hi - lo, ghi - glo);
  EXPECT_GT(hi - lo, 0.5 * (ghi - glo));
  EXPECT_LT(hi - lo, 2.0 * (ghi - glo));
}

TEST(DrawGraphTest, WritesScanpysKeys) {
  const AnnData& a = run_layout("fa").adata;
  const Dict& params = a.uns.at("draw_graph").get<Dict>().at("params").get<Dict>();
  const Dict& gold = golden().uns.at("draw_graph").get<Dict>().at("params").get<Dict>();
  EXPECT_EQ(params.size(), gold.size());
  EXPECT_EQ(params.at("layout").get<std::string>(), gold.at("layout").get<std::string>());
  EXPECT_EQ(params.at("random_state").get<Array>().get_double(0), gold.at("random_state").get<Array>().get_double(0));
  AnnData b = golden();
  tl::draw_graph(b, {.layout = "fa", .random_state = 3, .key_added_ext = "mine", .maxiter = 5});
  EXPECT_TRUE(b.obsm.count("X_draw_graph_mine"));
  EXPECT_EQ(b.uns.at("draw_graph").get<Dict>().at("params").get<Dict>().at("random_state").get<Array>().get_double(0),
            3);
}

TEST(DrawGraphTest, ForceAtlas2BitIdenticalForOneAndTwoThreads) {
  const int before = num_threads();
  const std::vector<double> init = tl::draw_graph_random_init(connectivities().n_rows, 0);
  set_num_threads(1);
  const std::vector<double> one = tl::forceatlas2(connectivities(), init);
  set_num_threads(2);
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<double> two = tl::forceatlas2(connectivities(), init);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  set_num_threads(before);
  std::printf("[draw_graph fa] ForceAtlas2 on PBMC 3k, 500 iterations, 2 threads: %.3f s (Scanpy 17.5 s)\n", secs);
  EXPECT_TRUE(one == two);
  EXPECT_TRUE(one == as_vector(run_layout("fa").adata.obsm.at("X_draw_graph_fa").get<Array>()));
  // Without Barnes-Hut (exact repulsion) the layout differs but keeps the same structure.
  tl::ForceAtlas2Options exact;
  exact.barnes_hut_optimize = false;
  exact.iterations = 50;
  tl::ForceAtlas2Options approx;
  approx.iterations = 50;
  const double s_exact = neighbourhood_share(tl::forceatlas2(connectivities(), init, exact));
  const double s_approx = neighbourhood_share(tl::forceatlas2(connectivities(), init, approx));
  std::printf("[draw_graph fa] 50 iterations: share %.4f exact repulsion, %.4f Barnes-Hut\n", s_exact, s_approx);
  EXPECT_NEAR(s_exact, s_approx, 0.05);
}

// A layout that leaves the finite numbers (absurd forces) ends with a clear
// error from inside the iterations' parallel region, for any thread count,
// also with more threads than cores (a thread late after a barrier must not
// leave the region while the others wait in it).
// Beside a step of `scanpp run` running ahead, ForceAtlas2 follows its
// thread's budget (core/thread_budget.hpp) from one stretch of iterations to
// the next: the bits are those of a fixed thread count.
TEST(DrawGraphTest, ForceAtlas2FollowsItsThreadBudgetWithTheSameBits) {
  const int before = num_threads();
  const std::vector<double> init = tl::draw_graph_random_init(connectivities().n_rows, 0);
  tl::ForceAtlas2Options opt;
  opt.iterations = 120;
  set_num_threads(1);
  const std::vector<double> plain = tl::forceatlas2(connectivities(), init, opt);
  std::vector<double> flipped;
  {
    const scanpp::testing::BudgetFlipper flipper;
    flipped = tl::forceatlas2(connectivities(), init, opt);
  }
  // A budget raised before the run: the threads are taken.
  set_num_threads(1);
  ThreadBudget budget(2);
  current_thread_budget() = &budget;
  const std::vector<double> raised = tl::forceatlas2(connectivities(), init, opt);
  const int taken = num_threads();
  current_thread_budget() = nullptr;
  set_num_threads(before);
  EXPECT_TRUE(plain == flipped);
  EXPECT_TRUE(plain == raised);
  EXPECT_EQ(taken, 2);
}

TEST(DrawGraphTest, ForceAtlas2DivergingLayoutFailsCleanly) {
  const int before = num_threads();
  const std::vector<double> init = tl::draw_graph_random_init(connectivities().n_rows, 0);
  const tl::ForceAtlas2Options absurd{.iterations = 50, .scaling_ratio = 1e300, .gravity = 1e300};
  for (int threads : {1, 2, 8})
    for (int rep = 0; rep < (threads == 8 ? 20 : 1); ++rep) {
      set_num_threads(threads);
      try {
        tl::forceatlas2(connectivities(), init, absurd);
        ADD_FAILURE() << "no error with " << threads << " threads";
      } catch (const ValueError& e) {
        // From the tree build inside the loop: "forceatlas2: iteration k: quadtree: ... non-finite ..."
        EXPECT_NE(std::string(e.what()).find("iteration"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
      }
    }
  set_num_threads(before);
}

TEST(DrawGraphTest, StartsFromObsmOrPaga) {
  AnnData a = golden();
  // From Scanpy's own FA2 layout, 10 more iterations keep its neighbourhoods.
  a.obsm["fa_start"] = Element(npy_lite::read(scanpp::testing::shared("golden/pbmc3k/X_draw_graph_fa.npy")));
  tl::draw_graph(a, {.layout = "fa", .init_pos = "fa_start", .key_added_ext = "cont", .maxiter = 10});
  tl::draw_graph(a, {.layout = "fa", .key_added_ext = "rand10", .maxiter = 10});
  const double cont = neighbourhood_share(as_vector(a.obsm.at("X_draw_graph_cont").get<Array>()));
  const double rand10 = neighbourhood_share(as_vector(a.obsm.at("X_draw_graph_rand10").get<Array>()));
  std::printf("[draw_graph fa] 10 iterations: share %.4f from Scanpy's layout, %.4f from random\n", cont, rand10);
  EXPECT_GT(cont, rand10 + 0.05);
  // PAGA start: each Leiden group is spread around its node position.
  Dict& paga = a.uns.at("paga").get<Dict>();
  const int64_t n_groups = paga.at("connectivities").get<SparseMatrix>().n_rows;
  std::vector<double> pos(static_cast<size_t>(2 * n_groups));
  for (int64_t c = 0; c < n_groups; ++c) {
    pos[2 * c] = 10.0 * std::cos(static_cast<double>(c));
    pos[2 * c + 1] = 10.0 * std::sin(static_cast<double>(c));
  }
  paga["pos"] = Element(Array::from_vector(pos, {n_groups, 2}));
  const std::vector<double> init = tl::draw_graph_paga_init(a, a.n_obs(), 0);
  const auto& groups = std::get<Categorical>(a.obs.at("leiden"));
  int64_t first0 = -1;
  for (int64_t i = 0; i < a.n_obs(); ++i) {
    const int c = groups.codes[i];
    if (c == 0 && first0 < 0) first0 = i;
    // within half the distance to the nearest group's node... at most 20 units away
    EXPECT_LE(std::hypot(init[2 * i] - pos[2 * c], init[2 * i + 1] - pos[2 * c + 1]), 20.0);
  }
  // group 0 draws first from np.random.seed(0): u = 0.5488..., v = 0.7151...
  const SparseMatrix& coarse = paga.at("connectivities").get<SparseMatrix>();
  int64_t nearest = -1;
  double best = 0;
  for (int64_t k = coarse.indptr[0]; k < coarse.indptr[1]; ++k)
    if (coarse.data.get_double(k) != 0 && (nearest < 0 || coarse.data.get_double(k) > best)) {
      best = coarse.data.get_double(k);
      nearest = coarse.indices[k];
    }
  ASSERT_GE(nearest, 0);
  const double ddx = pos[0] - pos[2 * nearest];
  EXPECT_DOUBLE_EQ(init[2 * first0], pos[0] - 0.5 * ddx + 0.5488135039273248 * ddx);
  tl::draw_graph(a, {.layout = "fa", .init_pos = "paga", .maxiter = 5});
  EXPECT_TRUE(a.obsm.count("X_draw_graph_fa"));
}

TEST(DrawGraphTest, OtherIgraphLayouts) {
  // a 300-cell piece of the graph keeps Kamada-Kawai and DrL quick
  std::vector<int64_t> cells(300);
  std::iota(cells.begin(), cells.end(), int64_t{0});
  AnnData a = golden().subset(cells, std::nullopt);
  for (const std::string layout : {"kk", "drl", "grid_fr", "lgl", "rt", "rt_circular"}) {
    tl::draw_graph(a, {.layout = layout, .root = 0});
    const Array& emb = a.obsm.at("X_draw_graph_" + layout).get<Array>();
    ASSERT_EQ(emb.shape(), (std::vector<int64_t>{300, 2})) << layout;
    double spread = 0;
    for (int64_t k = 0; k < emb.size(); ++k) {
      ASSERT_TRUE(std::isfinite(emb.get_double(k))) << layout;
      spread += std::abs(emb.get_double(k) - emb.get_double(k % 2));
    }
    EXPECT_GT(spread, 0) << layout;
  }
}

TEST(DrawGraphTest, BadInput) {
  AnnData a = golden();
  try {
    tl::draw_graph(a, {.layout = "spring"});
    FAIL() << "unknown layout accepted";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'fa'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(tl::draw_graph(a, {.init_pos = "no_such_key"}), ValueError);
  EXPECT_THROW(tl::draw_graph(a, {.init_pos = "X_pca"}), ValueError);  // 50 columns, not 2
  EXPECT_THROW(tl::draw_graph(a, {.init_pos = "paga"}), ValueError);   // no uns['paga']['pos']
  EXPECT_THROW(tl::draw_graph(a, {.neighbors_key = "nope"}), KeyError);
  EXPECT_THROW(tl::draw_graph(a, {.obsp = "nope"}), KeyError);
  EXPECT_THROW(tl::draw_graph(a, {.random_state = -1}), ValueError);
  EXPECT_THROW(tl::forceatlas2(connectivities(), std::vector<double>(10, 0.0)), ValueError);
  std::vector<double> bad = tl::draw_graph_random_init(connectivities().n_rows, 0);
  bad[3] = std::nan("");
  EXPECT_THROW(tl::forceatlas2(connectivities(), bad), ValueError);
  SparseMatrix rect = connectivities();
  rect.n_cols += 1;
  EXPECT_THROW(tl::forceatlas2(rect, tl::draw_graph_random_init(rect.n_rows, 0)), ValueError);
}

TEST(DrawGraphTest, PipelineStep) {
  auto& reg = pipeline::registry();
  ASSERT_TRUE(reg.count("tl.draw_graph"));
  YAML::Node node = YAML::Load("{layout: fa, maxiter: 3, key_added_ext: step}");
  pipeline::Params p("tl.draw_graph", node, "test");
  pipeline::StepFn fn = reg.at("tl.draw_graph")(p);
  AnnData a = golden();
  fn(a);
  EXPECT_TRUE(a.obsm.count("X_draw_graph_step"));
  YAML::Node bad = YAML::Load("{layout: spring}");
  pipeline::Params pb("tl.draw_graph", bad, "test");
  EXPECT_ANY_THROW(reg.at("tl.draw_graph")(pb));
}
