// ForceAtlas2's Barnes-Hut repulsion (tl/forceatlas2_repulsion.hpp) on the
// Morton quadtree (tl/morton_quadtree.hpp), on Scanpy's own PBMC 3k
// ForceAtlas2 layout with fa2's masses (degree + 1): against the exact
// pairwise sums in double, the tree's bookkeeping (groups tile the points,
// masses and mass centres add up), coincident points, and bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "layout_quality_support.hpp"
#include "npy_lite.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/forceatlas2.hpp"
#include "scanpp/tl/forceatlas2_repulsion.hpp"
#include "scanpp/tl/morton_quadtree.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using namespace layout_quality;

namespace {

const std::vector<double>& scanpy_layout() {
  static const std::vector<double> xy =
      as_vector(npy_lite::read(scanpp::testing::shared("golden/pbmc3k/X_draw_graph_fa.npy")));
  return xy;
}

// fa2's node masses: 1 + the nonzero entries of the row.
std::vector<double> fa2_masses() {
  const SparseMatrix& g = connectivities();
  std::vector<double> m(static_cast<size_t>(g.n_rows), 1.0);
  for (int64_t i = 0; i < g.n_rows; ++i)
    for (int64_t k = g.indptr[i]; k < g.indptr[i + 1]; ++k) m[i] += g.data.get_double(k) != 0.0 ? 1.0 : 0.0;
  return m;
}

// Σ_j m_j (p_i − p_j) / |p_i − p_j|² over every other point, in double.
std::vector<double> exact_sums(const std::vector<double>& xy, const std::vector<double>& mass) {
  const int64_t n = static_cast<int64_t>(mass.size());
  std::vector<double> f(static_cast<size_t>(2 * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const double dx = xy[2 * i] - xy[2 * j], dy = xy[2 * i + 1] - xy[2 * j + 1];
      const double d2 = dx * dx + dy * dy;
      if (d2 == 0.0) continue;
      f[2 * i] += mass[j] * dx / d2;
      f[2 * i + 1] += mass[j] * dy / d2;
    }
  return f;
}

// The same sums through the tree, a group at a time, as forceatlas2 runs them.
std::vector<double> tree_sums(const std::vector<double>& xy, const std::vector<double>& mass, double theta) {
  tl::MortonQuadtreeOptions o;
  o.theta = theta;
  o.size = tl::MortonQuadtreeOptions::Size::twice_radius;
  tl::MortonQuadtree tree;
  tree.build(xy, mass, o);
  std::vector<double> f(xy.size(), 0.0);
  tl::MortonQuadtree::List list;
  std::vector<int32_t> stack;
  for (int32_t g : tree.groups()) {
    const auto& node = tree.nodes()[g];
    tree.gather(g, list, stack, tl::kForceAtlas2Lanes);
    EXPECT_EQ(list.n % tl::kForceAtlas2Lanes, 0);
    const int np = node.end - node.begin;
    std::vector<float> px(static_cast<size_t>(np)), py(static_cast<size_t>(np));
    std::vector<double> fx(static_cast<size_t>(np)), fy(static_cast<size_t>(np));
    for (int p = 0; p < np; ++p) {
      px[p] = static_cast<float>(tree.xs()[node.begin + p] - node.cx);
      py[p] = static_cast<float>(tree.ys()[node.begin + p] - node.cy);
    }
    tl::forceatlas2_repulsion_sums(list, px.data(), py.data(), np, fx.data(), fy.data());
    for (int p = 0; p < np; ++p) {
      const int64_t i = tree.order()[node.begin + p];
      f[2 * i] = fx[p];
      f[2 * i + 1] = fy[p];
    }
  }
  return f;
}

// Relative error of each point's force vector: |f − exact| / |exact|.
std::vector<double> relative_errors(const std::vector<double>& f, const std::vector<double>& exact) {
  std::vector<double> err(f.size() / 2);
  for (size_t i = 0; i < err.size(); ++i)
    err[i] = std::hypot(f[2 * i] - exact[2 * i], f[2 * i + 1] - exact[2 * i + 1]) /
             std::hypot(exact[2 * i], exact[2 * i + 1]);
  return err;
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

}  // namespace

TEST(ForceAtlas2RepulsionTest, BarnesHutMatchesExactSumsOnScanpysLayout) {
  const std::vector<double>& xy = scanpy_layout();
  const std::vector<double> mass = fa2_masses();
  ASSERT_EQ(xy.size(), 2 * mass.size());
  const std::vector<double> exact = exact_sums(xy, mass);
  // theta 0 opens every node: the same pairs in float lanes
  const std::vector<double> all = relative_errors(tree_sums(xy, mass, 0.0), exact);
  // fa2's theta 1.2, judged per group (at least as tight as fa2's per node)
  const std::vector<double> bh = relative_errors(tree_sums(xy, mass, 1.2), exact);
  const double all_max = *std::max_element(all.begin(), all.end());
  const double bh_median = quantile(bh, 0.5), bh_p95 = quantile(bh, 0.95);
  std::printf("[fa2 repulsion] relative error of the force vectors on Scanpy's layout: theta 0 max %.2e; "
              "theta 1.2 median %.4f, 95%% %.4f, max %.4f\n",
              all_max, bh_median, bh_p95, *std::max_element(bh.begin(), bh.end()));
  EXPECT_LT(all_max, 1e-4);
  EXPECT_LT(bh_median, 0.01);
  EXPECT_LT(bh_p95, 0.03);
}

TEST(ForceAtlas2RepulsionTest, TreeBookkeeping) {
  const std::vector<double>& xy = scanpy_layout();
  const std::vector<double> mass = fa2_masses();
  const int64_t n = static_cast<int64_t>(mass.size());
  tl::MortonQuadtreeOptions o;
  o.theta = 1.2;
  o.size = tl::MortonQuadtreeOptions::Size::twice_radius;
  tl::MortonQuadtree tree;
  tree.build(xy, mass, o);
  ASSERT_EQ(tree.size(), n);
  // a permutation
  std::vector<int32_t> seen(tree.order());
  std::sort(seen.begin(), seen.end());
  for (int64_t s = 0; s < n; ++s) ASSERT_EQ(seen[s], s);
  // the groups tile the sorted points in order, each within group_size
  int32_t next = 0;
  for (int32_t g : tree.groups()) {
    const auto& node = tree.nodes()[g];
    EXPECT_EQ(node.begin, next);
    EXPECT_LE(node.end - node.begin, o.group_size);
    next = node.end;
  }
  EXPECT_EQ(next, n);
  // every node's mass and mass centre are its points'
  double worst = 0;
  for (const auto& node : tree.nodes()) {
    double m = 0, sx = 0, sy = 0;
    for (int32_t s = node.begin; s < node.end; ++s) {
      m += tree.masses()[s];
      sx += tree.masses()[s] * tree.xs()[s];
      sy += tree.masses()[s] * tree.ys()[s];
    }
    EXPECT_DOUBLE_EQ(node.mass, m);
    worst = std::max({worst, std::abs(node.cx - sx / m), std::abs(node.cy - sy / m)});
  }
  EXPECT_LT(worst, 1e-9);
  EXPECT_DOUBLE_EQ(tree.nodes()[0].mass, std::accumulate(mass.begin(), mass.end(), 0.0));
  // with theta 0 a group's list is every point exactly, total mass included
  o.theta = 0.0;
  tree.build(xy, mass, o);
  tl::MortonQuadtree::List list;
  std::vector<int32_t> stack;
  tree.gather(tree.groups()[tree.groups().size() / 2], list, stack, 8);
  EXPECT_EQ(list.n, (n + 7) / 8 * 8);
  double total = 0;
  for (int64_t k = 0; k < list.n; ++k) total += list.w[k];
  EXPECT_NEAR(total, std::accumulate(mass.begin(), mass.end(), 0.0), 1e-9);
}

TEST(ForceAtlas2RepulsionTest, CoincidentPointsPushNothing) {
  // 100 points on one spot: one leaf beyond the quantisation, a group larger
  // than group_size (64); no pair has a direction, so no force and no NaN.
  std::vector<double> xy(200, 1.5);
  xy.push_back(4.0);  // and one point elsewhere, pushing all of them alike
  xy.push_back(1.5);
  const std::vector<double> mass(101, 2.0);
  const std::vector<double> f = tree_sums(xy, mass, 1.2);
  for (int64_t i = 0; i < 100; ++i) {
    EXPECT_NEAR(f[2 * i], 2.0 * (1.5 - 4.0) / (2.5 * 2.5), 1e-6);
    EXPECT_EQ(f[2 * i + 1], 0.0);
  }
  EXPECT_NEAR(f[200], 100 * 2.0 / 2.5, 1e-4);
  // ForceAtlas2 from such a start (a ring graph) stays finite
  SparseMatrix ring;
  ring.n_rows = ring.n_cols = 101;
  ring.format = SparseFormat::CSR;
  std::vector<float> data;
  for (int32_t i = 0; i < 101; ++i) {
    for (int32_t j : {(i + 100) % 101, (i + 1) % 101}) {
      ring.indices.push_back(j);
      data.push_back(1.0f);
    }
    std::sort(ring.indices.end() - 2, ring.indices.end());
    ring.indptr.push_back(static_cast<int64_t>(ring.indices.size()));
  }
  ring.data = Array::from_vector(data, {static_cast<int64_t>(data.size())});
  tl::ForceAtlas2Options fo;
  fo.iterations = 50;
  const std::vector<double> pos = tl::forceatlas2(ring, xy, fo);
  for (double v : pos) ASSERT_TRUE(std::isfinite(v));
}

TEST(ForceAtlas2RepulsionTest, BadInput) {
  tl::MortonQuadtree tree;
  const tl::MortonQuadtreeOptions o;
  EXPECT_THROW(tree.build(std::vector<double>{0, 0, 1}, {}, o), ValueError);
  EXPECT_THROW(tree.build(std::vector<double>{0, 0, 1, std::nan("")}, {}, o), ValueError);
  EXPECT_THROW(tree.build(std::vector<double>{0, 0, 1, 1}, std::vector<double>{1.0}, o), ValueError);
  EXPECT_THROW(tree.build(std::vector<double>{0, 0, 1, 1}, std::vector<double>{1.0, -1.0}, o), ValueError);
  tl::MortonQuadtreeOptions neg;
  neg.theta = -1;
  EXPECT_THROW(tree.build(std::vector<double>{0, 0, 1, 1}, {}, neg), ValueError);
  tree.build(std::vector<double>{}, {}, o);
  EXPECT_EQ(tree.size(), 0);
  EXPECT_TRUE(tree.groups().empty());
}

TEST(ForceAtlas2, PositionsBlowingUpFailCleanlyOnAnyThreadCount) {
  // A scaling ratio of 1e308 makes the forces infinite at once: the tree
  // build of the next iteration, inside the layout's parallel region,
  // throws, and every thread must leave the region (no hang) with the error
  // rethrown.
  const int saved = num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    tl::ForceAtlas2Options o;
    o.iterations = 20;
    o.scaling_ratio = 1e308;
    try {
      tl::forceatlas2(connectivities(), scanpy_layout(), o);
      ADD_FAILURE() << "no error on " << threads << " threads";
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("forceatlas2: iteration"), std::string::npos) << e.what();
    }
  }
  set_num_threads(saved);
}

TEST(ForceAtlas2, RepeatedTwoThreadRunsGiveTheOneThreadBits) {
  // The layout's threads share each iteration's work through one counter
  // (tl/layout_team.hpp); a missing wait (a group reading a node's attraction
  // before its block was done) showed in about one run in four as other
  // bits. Several runs from a random start, against one thread's.
  const int saved = num_threads();
  std::vector<double> init(static_cast<size_t>(2 * connectivities().n_rows));
  for (size_t s = 0; s < init.size(); ++s) init[s] = static_cast<double>((s * 7919) % 1000) / 1000.0;
  tl::ForceAtlas2Options o;
  o.iterations = 150;
  set_num_threads(1);
  const std::vector<double> one = tl::forceatlas2(connectivities(), init, o);
  set_num_threads(2);
  int differ = 0;
  for (int r = 0; r < 8; ++r) differ += tl::forceatlas2(connectivities(), init, o) != one ? 1 : 0;
  set_num_threads(saved);
  EXPECT_EQ(differ, 0);
}
