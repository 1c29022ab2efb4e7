// MortonQuadtree::gather (tl/morton_quadtree.hpp) against a plain
// depth-first stack walk written here from the documented rule (a node is
// summarised when it does not hold the group and (size/θ)² is below the
// squared distance from its mass centre to the group's box; opened leaves give
// their points; children in order), entry for entry and bit for bit, on
// Scanpy's PBMC 3k t-SNE and ForceAtlas2 layouts and on awkward point sets:
// coincident points (deep leaves larger than a group), massless points, θ = 0
// (every node opened), both size measures, several paddings, and a rebuild
// from the last order after the points moved.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "npy_lite.hpp"
#include "scanpp/core/numpy_random.hpp"
#include "scanpp/tl/morton_quadtree.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using tl::MortonQuadtree;
using tl::MortonQuadtreeOptions;

namespace {

struct RefList {
  std::vector<float> x, y, w;
};

// The reference walk over the public nodes: the group's box is its points'
// bounding box (what a node's box is).
RefList reference_gather(const MortonQuadtree& qt, int32_t g, int pad) {
  const auto& nodes = qt.nodes();
  const auto& xs = qt.xs();
  const auto& ys = qt.ys();
  const auto& ms = qt.masses();
  const MortonQuadtree::Node& grp = nodes[g];
  double x0 = xs[grp.begin], x1 = x0, y0 = ys[grp.begin], y1 = y0;
  for (int32_t s = grp.begin; s < grp.end; ++s) {
    x0 = std::min(x0, xs[s]);
    x1 = std::max(x1, xs[s]);
    y0 = std::min(y0, ys[s]);
    y1 = std::max(y1, ys[s]);
  }
  RefList out;
  const auto push = [&](double x, double y, double w) {
    out.x.push_back(static_cast<float>(x - grp.cx));
    out.y.push_back(static_cast<float>(y - grp.cy));
    out.w.push_back(static_cast<float>(w));
  };
  std::vector<int32_t> stack{0};
  while (!stack.empty()) {
    const MortonQuadtree::Node& c = nodes[stack.back()];
    stack.pop_back();
    const double dx = std::max(std::max(x0 - c.cx, 0.0), c.cx - x1);
    const double dy = std::max(std::max(y0 - c.cy, 0.0), c.cy - y1);
    const bool holds = c.begin <= grp.begin && grp.end <= c.end;
    if (!holds && c.open2 < dx * dx + dy * dy) {
      out.x.push_back(static_cast<float>(c.cx - grp.cx));
      out.y.push_back(static_cast<float>(c.cy - grp.cy));
      out.w.push_back(static_cast<float>(c.mass));
    } else if (c.first_child < 0) {
      for (int32_t s = c.begin; s < c.end; ++s) push(xs[s], ys[s], ms[s]);
    } else {
      for (int32_t k = c.n_children - 1; k >= 0; --k) stack.push_back(c.first_child + k);
    }
  }
  while (out.x.size() % static_cast<size_t>(pad) != 0) push(grp.cx, grp.cy, 0.0);
  return out;
}

// Every group's list equals the reference's, bit for bit; returns the number
// of entries compared (so a caller can check the walk did real work).
int64_t expect_same_lists(const MortonQuadtree& qt, int pad) {
  MortonQuadtree::List list;
  std::vector<int32_t> scratch;
  int64_t compared = 0;
  for (int32_t g : qt.groups()) {
    qt.gather(g, list, scratch, pad);
    const RefList ref = reference_gather(qt, g, pad);
    EXPECT_EQ(list.n, static_cast<int64_t>(ref.x.size())) << "group " << g;
    if (list.n != static_cast<int64_t>(ref.x.size())) return compared;
    for (int64_t j = 0; j < list.n; ++j) {
      // exact: the padding entries are zeros in both
      const bool same = list.x[j] == ref.x[j] && list.y[j] == ref.y[j] && list.w[j] == ref.w[j] &&
                        std::signbit(list.w[j]) == std::signbit(ref.w[j]);
      EXPECT_TRUE(same) << "group " << g << " entry " << j << ": (" << list.x[j] << ", " << list.y[j] << ", "
                        << list.w[j] << ") vs (" << ref.x[j] << ", " << ref.y[j] << ", " << ref.w[j] << ")";
      if (!same) return compared;
    }
    compared += list.n;
  }
  return compared;
}

std::vector<double> golden_layout(const char* name) {
  const Array a = npy_lite::read(scanpp::testing::shared(std::string("golden/pbmc3k/") + name));
  std::vector<double> xy(static_cast<size_t>(a.size()));
  for (size_t s = 0; s < xy.size(); ++s) xy[s] = a.get_double(static_cast<int64_t>(s));
  return xy;
}

}  // namespace

TEST(MortonQuadtree, GatherMatchesPlainWalkOnPbmcLayouts) {
  for (const char* name : {"X_tsne.npy", "X_draw_graph_fa.npy"}) {
    const std::vector<double> xy = golden_layout(name);
    ASSERT_EQ(xy.size(), 2u * 2638u) << name;
    for (const double theta : {0.5, 1.2}) {
      for (const auto size : {MortonQuadtreeOptions::Size::longest_side, MortonQuadtreeOptions::Size::twice_radius}) {
        MortonQuadtree qt;
        qt.build(xy, {}, {.theta = theta, .size = size, .leaf_size = 8, .group_size = 64});
        const int64_t compared = expect_same_lists(qt, 8);
        // Barnes-Hut does summarise: far fewer entries than all pairs
        EXPECT_GT(compared, 2638);
        EXPECT_LT(compared, int64_t{2638} * static_cast<int64_t>(qt.groups().size()) / 2) << name << " " << theta;
      }
    }
  }
}

TEST(MortonQuadtree, GatherMatchesPlainWalkOnAwkwardPoints) {
  random::NumpyRandomState rs(11);
  const int n = 1500;
  std::vector<double> xy(2 * n), mass(n);
  for (int i = 0; i < n; ++i) {
    // three clusters of very different spreads, every fifth point a copy of
    // an earlier one (coincident points fill leaves at the deepest level)
    const int c = i % 3;
    const double spread = c == 0 ? 1e-3 : (c == 1 ? 1.0 : 50.0);
    if (i >= 10 && i % 5 == 0) {
      const int j = static_cast<int>(rs.randint(0, i));
      xy[2 * i] = xy[2 * j];
      xy[2 * i + 1] = xy[2 * j + 1];
    } else {
      xy[2 * i] = 100.0 * c + spread * rs.gauss();
      xy[2 * i + 1] = -30.0 * c + spread * rs.gauss();
    }
    mass[i] = i % 7 == 0 ? 0.0 : 1.0 + 3.0 * rs.random_double();
  }
  // 60 copies of one point: a deepest-level leaf larger than a group
  for (int i = 0; i < 60; ++i) {
    xy[2 * (n - 1 - i)] = 7.25;
    xy[2 * (n - 1 - i) + 1] = -3.5;
  }
  for (const double theta : {0.0, 0.5, 2.0}) {
    for (const auto size : {MortonQuadtreeOptions::Size::longest_side, MortonQuadtreeOptions::Size::twice_radius}) {
      for (const bool masses : {false, true}) {
        for (const int pad : {1, 8, 16}) {
          MortonQuadtree qt;
          qt.build(xy, masses ? std::span<const double>(mass) : std::span<const double>(),
                   {.theta = theta, .size = size, .leaf_size = 4, .group_size = 32});
          const int64_t compared = expect_same_lists(qt, pad);
          if (theta == 0.0) {
            // exact: every group sees every point
            EXPECT_GE(compared, int64_t{n} * static_cast<int64_t>(qt.groups().size()));
          }
          EXPECT_GT(compared, 0);
        }
      }
    }
  }
}

TEST(MortonQuadtree, RebuildFromLastOrderGivesTheSameLists) {
  std::vector<double> xy = golden_layout("X_tsne.npy");
  MortonQuadtree reused;
  reused.build(xy, {}, {.theta = 0.5});
  // small moves (the insertion re-sort) then a large one (the radix sort)
  for (const double step : {1e-3, 1e-2, 5.0}) {
    random::NumpyRandomState rs(static_cast<uint32_t>(step * 1000));
    for (double& v : xy) v += step * rs.gauss();
    reused.build(xy, {}, {.theta = 0.5});
    MortonQuadtree fresh;
    fresh.build(xy, {}, {.theta = 0.5});
    ASSERT_EQ(reused.groups(), fresh.groups());
    MortonQuadtree::List a, b;
    std::vector<int32_t> sa, sb;
    for (int32_t g : fresh.groups()) {
      reused.gather(g, a, sa, 8);
      fresh.gather(g, b, sb, 8);
      ASSERT_EQ(a.n, b.n);
      for (int64_t j = 0; j < a.n; ++j)
        ASSERT_TRUE(a.x[j] == b.x[j] && a.y[j] == b.y[j] && a.w[j] == b.w[j]) << "step " << step << " group " << g;
    }
    expect_same_lists(reused, 8);
  }
}
