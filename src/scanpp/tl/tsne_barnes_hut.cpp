// Barnes–Hut approximation of t-SNE's repulsion (van der Maaten 2014), built
// for speed on the few thousand points it is used for: the Morton-ordered
// quadtree shared with ForceAtlas2 (morton_quadtree.hpp; node size = the
// longest side of its points' box, as van der Maaten's) is rebuilt every
// call and walked once per group of nearby points; the interactions run as
// one vectorised loop over each walk's flat list (summaries and, for opened
// leaves, their points exactly).
//
// The tree depends only on the positions, every group's sums run in a fixed
// order, and Z is summed over the sorted points in order: the result does not
// depend on the thread count.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/morton_quadtree.hpp"
#include "scanpp/tl/tsne_gradient.hpp"

namespace scanpp::tl {

namespace {

constexpr int kLeafSize = 8;    // a node of at most this many points is not split
constexpr int kGroupSize = 64;  // points sharing one walk of the tree

}  // namespace

struct TsneBarnesHut::Tree {
  MortonQuadtree qt;
  std::vector<double> z_sorted;  // Σ_j K_ij per sorted point
  int64_t n_points = 0;          // points of the last build
};

TsneBarnesHut::TsneBarnesHut(double theta) : theta_(theta), tree_(std::make_unique<Tree>()) {
  if (!(theta >= 0.0)) throw ValueError("tsne: theta must not be negative");
}

TsneBarnesHut::~TsneBarnesHut() = default;

namespace {

// The interactions run in float, eight lanes at a time, on coordinates taken
// relative to the group's centre (so nearby points keep their precision);
// each point's lanes are summed in double in lane order. The vector type
// fixes the order of every operation, so the results are the same whichever
// instruction set the clone below runs on (no FMA contraction in ISO C++).
using F8 = float __attribute__((vector_size(32)));
constexpr int kLanes = 8;

// For each of the np points (px, py): Σ_j w_j K_ij, Σ_j w_j K_ij² (x_i − x_j),
// Σ_j w_j K_ij² (y_i − y_j) over the list (lx, ly, lw) of m entries, m a
// multiple of kLanes (padded with zero weights), into out[3p..3p+2].
__attribute__((target_clones("avx2", "default"))) void interact(const float* lx, const float* ly,
                                                                         const float* lw, int64_t m, const float* px,
                                                                         const float* py, int np, double* out) {
  for (int p = 0; p < np; ++p) {
    const F8 xi = F8{} + px[p], yi = F8{} + py[p];
    F8 z{}, fx{}, fy{};
    for (int64_t j = 0; j < m; j += kLanes) {
      F8 x, y, w;
      std::memcpy(&x, lx + j, sizeof(F8));
      std::memcpy(&y, ly + j, sizeof(F8));
      std::memcpy(&w, lw + j, sizeof(F8));
      const F8 dx = xi - x, dy = yi - y;
      const F8 k = 1.0f / (1.0f + dx * dx + dy * dy);
      const F8 wk = w * k;
      const F8 wkk = wk * k;
      z += wk;
      fx += wkk * dx;
      fy += wkk * dy;
    }
    double sz = 0.0, sx = 0.0, sy = 0.0;
    for (int l = 0; l < kLanes; ++l) {
      sz += static_cast<double>(z[l]);
      sx += static_cast<double>(fx[l]);
      sy += static_cast<double>(fy[l]);
    }
    out[3 * p] = sz;
    out[3 * p + 1] = sx;
    out[3 * p + 2] = sy;
  }
}

}  // namespace

double TsneBarnesHut::operator()(std::span<const double> y, std::span<double> rep) {
  build(y);
  return walk(rep);
}

void TsneBarnesHut::build(std::span<const double> y) {
  Tree& t = *tree_;
  t.n_points = 0;  // until the build succeeds
  try {
    t.qt.build(y, {}, {.theta = theta_, .size = MortonQuadtreeOptions::Size::longest_side, .leaf_size = kLeafSize,
                       .group_size = kGroupSize});
  } catch (const ValueError&) {
    // The start is checked, so a non-finite point means the descent ran off.
    if (!std::all_of(y.begin(), y.end(), [](double v) { return std::isfinite(v); }))
      throw ValueError("tsne: the layout has a non-finite coordinate: the optimisation diverged (a smaller "
                       "learning_rate keeps it finite)");
    throw;
  }
  t.n_points = t.qt.size();
  t.z_sorted.resize(static_cast<size_t>(t.n_points));
}

int64_t TsneBarnesHut::n_groups() const {
  return tree_->n_points == 0 ? 0 : static_cast<int64_t>(tree_->qt.groups().size());
}

void TsneBarnesHut::walk_groups(int64_t g0, int64_t g1, std::span<double> rep) {
  Tree& t = *tree_;
  const int64_t n = t.n_points;
  if (static_cast<int64_t>(rep.size()) < 2 * n) throw ValueError("tsne: the repulsion buffer is too small");
  if (g0 < 0 || g1 > n_groups()) throw ValueError("tsne: group range out of bounds");
  const MortonQuadtree& qt = t.qt;
  const auto& nodes = qt.nodes();
  const auto& groups = qt.groups();
  const auto& order = qt.order();
  const auto& xs = qt.xs();
  const auto& ys = qt.ys();
  // Per-thread scratch, fully overwritten before it is read.
  thread_local MortonQuadtree::List list;
  thread_local std::vector<int32_t> stack;
  std::array<float, kGroupSize> px{}, py{};
  std::array<double, 3 * kGroupSize> out{};
  for (int64_t gi = g0; gi < g1; ++gi) {
    const int32_t g = groups[gi];
    qt.gather(g, list, stack, kLanes);
    const double ox = nodes[g].cx, oy = nodes[g].cy;  // the list's origin
    const int32_t gbeg = nodes[g].begin, gend = nodes[g].end;
    // A group at the deepest level may hold more than kGroupSize points.
    for (int32_t s0 = gbeg; s0 < gend; s0 += kGroupSize) {
      const int np = static_cast<int>(std::min<int32_t>(kGroupSize, gend - s0));
      for (int p = 0; p < np; ++p) {
        px[p] = static_cast<float>(xs[s0 + p] - ox);
        py[p] = static_cast<float>(ys[s0 + p] - oy);
      }
      interact(list.x.data(), list.y.data(), list.w.data(), list.n, px.data(), py.data(), np, out.data());
      for (int p = 0; p < np; ++p) {
        const int64_t i = order[s0 + p];
        rep[2 * i] = out[3 * p + 1];
        rep[2 * i + 1] = out[3 * p + 2];
        // The list holds the point itself (K_ii = 1), which is not a pair.
        t.z_sorted[s0 + p] = out[3 * p] - 1.0;
      }
    }
  }
}

double TsneBarnesHut::z_sum() const {
  double Z = 0.0;
  for (int64_t s = 0; s < tree_->n_points; ++s) Z += tree_->z_sorted[s];
  return Z;
}

double TsneBarnesHut::walk(std::span<double> rep) {
  const int64_t n = tree_->n_points;
  if (n == 0) return 0.0;
  if (static_cast<int64_t>(rep.size()) < 2 * n) throw ValueError("tsne: the repulsion buffer is too small");
  parallel_blocks(n_groups(), 2, [&](int64_t g0, int64_t g1) { walk_groups(g0, g1, rep); });
  return z_sum();
}

double tsne_repulsion_barnes_hut(std::span<const double> y, std::span<double> rep, double theta) {
  TsneBarnesHut bh(theta);
  return bh(y, rep);
}

}  // namespace scanpp::tl
