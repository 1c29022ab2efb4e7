// Barnes–Hut approximation of t-SNE's repulsion (van der Maaten 2014), built
// for speed on the few thousand points it is used for:
//
// - The quadtree is rebuilt every call from the points sorted by Morton code
//   (the last call's order insertion-sorted when the points moved little,
//   else a radix sort), so every node is a contiguous range of the sorted
//   points and the whole tree lives in one flat, reused array.
// - The tree is walked once per group (a node of at most kGroupSize points)
//   rather than once per point: a node is summarised by its centre of mass
//   when its size (the longest side of its points' bounding box) is below θ
//   times the distance from that centre to the group's bounding box. That
//   implies the usual per-point criterion for every point of the group, so
//   the approximation is at least as tight as point-by-point Barnes–Hut with
//   the same θ; the walk is shared by the group, and the interactions run as
//   one vectorised loop over a flat list (summaries and, for opened leaves,
//   their points exactly).
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
#include "scanpp/tl/tsne_gradient.hpp"

namespace scanpp::tl {

namespace {

constexpr int kLevels = 21;     // quantisation bits per dimension (codes of 42 bits)
constexpr int kLeafSize = 8;    // a node of at most this many points is not split
constexpr int kGroupSize = 64;  // points sharing one walk of the tree

// Spreads the low 21 bits of v to the even bit positions.
uint64_t spread_bits(uint64_t v) {
  v &= 0x1fffffULL;
  v = (v | (v << 16)) & 0x0000ffff0000ffffULL;
  v = (v | (v << 8)) & 0x00ff00ff00ff00ffULL;
  v = (v | (v << 4)) & 0x0f0f0f0f0f0f0f0fULL;
  v = (v | (v << 2)) & 0x3333333333333333ULL;
  v = (v | (v << 1)) & 0x5555555555555555ULL;
  return v;
}

}  // namespace

struct TsneBarnesHut::Tree {
  // What the walk reads: 48 bytes a node.
  struct Node {
    double cx, cy;   // centre of mass
    double count;    // points in the node
    double open2;    // (longest side of the points' box)² / θ²: summarise when the distance² exceeds it
    int32_t begin, end;                        // range of sorted points
    int32_t first_child = -1, n_children = 0;  // children are consecutive nodes
  };
  struct Box {
    double x0, x1, y0, y1;
  };
  std::vector<uint64_t> code, code_tmp;
  std::vector<int32_t> order, order_tmp;  // sorted position -> point index
  std::vector<double> xs, ys;             // positions in sorted order
  std::vector<Node> nodes;
  std::vector<Box> boxes;                 // per node
  std::vector<int32_t> groups;            // group nodes, in sorted order
  std::vector<double> z_sorted;           // Σ_j K_ij per sorted point
  double inv_theta2 = 4.0;
  int64_t n_points = 0;  // points of the last build

  // Points move little from one call to the next, so the last order is
  // usually a few moves from the new one: insertion-sorts it by the new
  // (code, index) and gives up (returning false, `code` untouched) past a
  // budget of moves. Either sort yields the one order by (code, index).
  bool resort_points(int64_t n) {
    if (static_cast<int64_t>(order.size()) != n) return false;
    code_tmp.resize(static_cast<size_t>(n));
    for (int64_t s = 0; s < n; ++s) code_tmp[s] = code[order[s]];
    const int64_t budget = 4 * n;
    int64_t moves = 0;
    for (int64_t s = 1; s < n; ++s) {
      const uint64_t c = code_tmp[s];
      const int32_t o = order[s];
      int64_t t = s;
      while (t > 0 && (code_tmp[t - 1] > c || (code_tmp[t - 1] == c && order[t - 1] > o))) {
        code_tmp[t] = code_tmp[t - 1];
        order[t] = order[t - 1];
        --t;
      }
      code_tmp[t] = c;
      order[t] = o;
      moves += s - t;
      if (moves > budget) return false;
    }
    code.swap(code_tmp);
    return true;
  }

  void sort_points(int64_t n) {
    if (resort_points(n)) return;
    // LSD radix sort on the 42-bit codes, 11 bits a pass; stable, so ties
    // keep index order and the permutation is unique.
    constexpr int kBits = 11;
    constexpr size_t kBuckets = size_t{1} << kBits;
    std::vector<int64_t> count(kBuckets);
    order.resize(static_cast<size_t>(n));
    order_tmp.resize(order.size());
    code_tmp.resize(order.size());
    for (int64_t i = 0; i < n; ++i) order[i] = static_cast<int32_t>(i);
    for (int shift = 0; shift < 2 * kLevels; shift += kBits) {
      std::fill(count.begin(), count.end(), 0);
      for (int64_t i = 0; i < n; ++i) ++count[(code[i] >> shift) & (kBuckets - 1)];
      int64_t acc = 0;
      for (auto& c : count) {
        const int64_t v = c;
        c = acc;
        acc += v;
      }
      for (int64_t i = 0; i < n; ++i) {
        const int64_t at = count[(code[i] >> shift) & (kBuckets - 1)]++;
        code_tmp[at] = code[i];
        order_tmp[at] = order[i];
      }
      code.swap(code_tmp);
      order.swap(order_tmp);
    }
  }

  void finish(int32_t id, double sx, double sy, const Box& bx) {
    Node& nd = nodes[id];
    nd.count = static_cast<double>(nd.end - nd.begin);
    nd.cx = sx / nd.count;
    nd.cy = sy / nd.count;
    const double side = std::max(bx.x1 - bx.x0, bx.y1 - bx.y0);
    nd.open2 = std::isinf(inv_theta2) ? inv_theta2 : side * side * inv_theta2;
    boxes[id] = bx;
  }

  // Builds the subtree of node `id` over sorted points [b, e), which share
  // their code above bit level `level` (0 = the root's quadrant bits).
  void build(int32_t id, int32_t b, int32_t e, int level, bool in_group) {
    nodes[id].begin = b;
    nodes[id].end = e;
    if (!in_group && e - b <= kGroupSize) {
      groups.push_back(id);
      in_group = true;
    }
    // Skip levels where every point falls in one quadrant.
    while (e - b > kLeafSize && level < kLevels) {
      const int shift = 2 * (kLevels - 1 - level);
      if (((code[b] >> shift) & 3) != ((code[e - 1] >> shift) & 3)) break;
      ++level;
    }
    if (e - b <= kLeafSize || level >= kLevels) {
      // A leaf at the deepest level may hold more than kGroupSize points
      // (points closer than the quantisation): it is then a group itself.
      if (!in_group) groups.push_back(id);
      double sx = 0.0, sy = 0.0;
      Box bx{xs[b], xs[b], ys[b], ys[b]};
      for (int32_t s = b; s < e; ++s) {
        sx += xs[s];
        sy += ys[s];
        bx.x0 = std::min(bx.x0, xs[s]);
        bx.x1 = std::max(bx.x1, xs[s]);
        bx.y0 = std::min(bx.y0, ys[s]);
        bx.y1 = std::max(bx.y1, ys[s]);
      }
      finish(id, sx, sy, bx);
      return;
    }
    const int shift = 2 * (kLevels - 1 - level);
    std::array<int32_t, 5> cut{};
    cut[0] = b;
    for (uint64_t q = 1; q < 4; ++q)
      cut[q] = static_cast<int32_t>(std::partition_point(code.begin() + cut[q - 1], code.begin() + e,
                                                         [&](uint64_t c) { return ((c >> shift) & 3) < q; }) -
                                    code.begin());
    cut[4] = e;
    int32_t k = 0;
    for (int q = 0; q < 4; ++q) k += cut[q + 1] > cut[q];
    const int32_t first = static_cast<int32_t>(nodes.size());
    nodes.resize(nodes.size() + static_cast<size_t>(k));
    boxes.resize(nodes.size());
    nodes[id].first_child = first;
    nodes[id].n_children = k;
    int32_t c = first;
    for (int q = 0; q < 4; ++q)
      if (cut[q + 1] > cut[q]) build(c++, cut[q], cut[q + 1], level + 1, in_group);
    // Summaries from the children, in order.
    double sx = 0.0, sy = 0.0;
    Box bx{std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
           std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
    for (int32_t ch = first; ch < first + k; ++ch) {
      const Node& cn = nodes[ch];
      const Box& cb = boxes[ch];
      sx += cn.cx * cn.count;
      sy += cn.cy * cn.count;
      bx.x0 = std::min(bx.x0, cb.x0);
      bx.x1 = std::max(bx.x1, cb.x1);
      bx.y0 = std::min(bx.y0, cb.y0);
      bx.y1 = std::max(bx.y1, cb.y1);
    }
    finish(id, sx, sy, bx);
  }
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
  const int64_t n = static_cast<int64_t>(y.size() / 2);
  Tree& t = *tree_;
  t.n_points = n;
  if (n == 0) return;
  if (n > std::numeric_limits<int32_t>::max() / 2) throw ValueError("tsne: too many points for Barnes-Hut");
  double x0 = y[0], x1 = y[0], y0 = y[1], y1 = y[1];
  for (int64_t i = 0; i < n; ++i) {
    const double a = y[2 * i], b = y[2 * i + 1];
    if (!std::isfinite(a) || !std::isfinite(b)) throw ValueError("tsne: the embedding has a non-finite coordinate");
    x0 = std::min(x0, a);
    x1 = std::max(x1, a);
    y0 = std::min(y0, b);
    y1 = std::max(y1, b);
  }
  double side = std::max(x1 - x0, y1 - y0);
  if (!(side > 0.0)) side = 1.0;
  const double cells = static_cast<double>(1 << kLevels);
  const double scale = cells / side;
  t.code.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const auto q = [&](double v, double lo) {
      return static_cast<uint64_t>(std::clamp((v - lo) * scale, 0.0, cells - 1.0));
    };
    t.code[i] = spread_bits(q(y[2 * i], x0)) | (spread_bits(q(y[2 * i + 1], y0)) << 1);
  }
  t.sort_points(n);
  t.xs.resize(static_cast<size_t>(n));
  t.ys.resize(static_cast<size_t>(n));
  for (int64_t s = 0; s < n; ++s) {
    t.xs[s] = y[2 * static_cast<int64_t>(t.order[s])];
    t.ys[s] = y[2 * static_cast<int64_t>(t.order[s]) + 1];
  }
  t.inv_theta2 = theta_ > 0.0 ? 1.0 / (theta_ * theta_) : std::numeric_limits<double>::infinity();
  t.nodes.clear();
  t.nodes.reserve(static_cast<size_t>(n / 2 + 16));
  t.boxes.clear();
  t.groups.clear();
  t.nodes.emplace_back();
  t.boxes.emplace_back();
  t.build(0, 0, static_cast<int32_t>(n), 0, false);
}

double TsneBarnesHut::walk(std::span<double> rep) {
  Tree& t = *tree_;
  const int64_t n = t.n_points;
  if (n == 0) return 0.0;
  if (static_cast<int64_t>(rep.size()) < 2 * n) throw ValueError("tsne: the repulsion buffer is too small");
  const auto* nodes = t.nodes.data();
  // A walk lists each node or point at most once.
  const size_t list_cap = t.nodes.size() + static_cast<size_t>(n) + kLanes;
  t.z_sorted.resize(static_cast<size_t>(n));
  const int64_t n_groups = static_cast<int64_t>(t.groups.size());
  parallel_blocks(n_groups, 2, [&](int64_t g0, int64_t g1) {
    // Per-thread scratch, fully overwritten before it is read.
    thread_local std::vector<float> lx, ly, lw;
    thread_local std::vector<int32_t> stack;
    if (lx.size() < list_cap) lx.resize(list_cap), ly.resize(list_cap), lw.resize(list_cap);
    if (stack.size() < t.nodes.size() + 4) stack.resize(t.nodes.size() + 4);
    std::array<float, kGroupSize> px{}, py{};
    std::array<double, 3 * kGroupSize> out{};
    for (int64_t gi = g0; gi < g1; ++gi) {
      const int32_t g = t.groups[gi];
      const Tree::Box gb = t.boxes[g];
      const double ox = nodes[g].cx, oy = nodes[g].cy;  // the group's origin
      const int32_t gbeg = nodes[g].begin, gend = nodes[g].end;
      size_t m = 0, sp = 0;
      stack[sp++] = 0;
      // Branch-light: the summary entry and the children are written
      // whatever the test says, and the list and stack advance by what it
      // says (the entries and their order are those of the plain walk).
      while (sp > 0) {
        const auto& c = nodes[stack[--sp]];
        const double dx = std::max(std::max(gb.x0 - c.cx, 0.0), c.cx - gb.x1);
        const double dy = std::max(std::max(gb.y0 - c.cy, 0.0), c.cy - gb.y1);
        const double d2 = dx * dx + dy * dy;
        // A node holding the group (its ancestors) is always opened, so no
        // summary includes a point of the group.
        const bool holds_group = (c.begin <= gbeg) & (gend <= c.end);
        const bool summarise = !holds_group & (c.open2 < d2);
        lx[m] = static_cast<float>(c.cx - ox);
        ly[m] = static_cast<float>(c.cy - oy);
        lw[m] = static_cast<float>(c.count);
        m += summarise;
        const int32_t open = summarise ? 0 : c.n_children;
        const int32_t last = c.first_child + open - 1;
        stack[sp] = last;
        stack[sp + 1] = last - 1;
        stack[sp + 2] = last - 2;
        stack[sp + 3] = last - 3;
        sp += static_cast<size_t>(open);
        if (!summarise && c.first_child < 0) {
          for (int32_t s = c.begin; s < c.end; ++s) {
            lx[m] = static_cast<float>(t.xs[s] - ox);
            ly[m] = static_cast<float>(t.ys[s] - oy);
            lw[m++] = 1.0f;
          }
        }
      }
      for (; m % kLanes != 0; ++m) lx[m] = ly[m] = lw[m] = 0.0f;
      // A group at the deepest level may hold more than kGroupSize points.
      for (int32_t s0 = gbeg; s0 < gend; s0 += kGroupSize) {
        const int np = static_cast<int>(std::min<int32_t>(kGroupSize, gend - s0));
        for (int p = 0; p < np; ++p) {
          px[p] = static_cast<float>(t.xs[s0 + p] - ox);
          py[p] = static_cast<float>(t.ys[s0 + p] - oy);
        }
        interact(lx.data(), ly.data(), lw.data(), static_cast<int64_t>(m), px.data(), py.data(), np, out.data());
        for (int p = 0; p < np; ++p) {
          const int64_t i = t.order[s0 + p];
          rep[2 * i] = out[3 * p + 1];
          rep[2 * i + 1] = out[3 * p + 2];
          // The list holds the point itself (K_ii = 1), which is not a pair.
          t.z_sorted[s0 + p] = out[3 * p] - 1.0;
        }
      }
    }
  });
  double Z = 0.0;
  for (double v : t.z_sorted) Z += v;
  return Z;
}

double tsne_repulsion_barnes_hut(std::span<const double> y, std::span<double> rep, double theta) {
  TsneBarnesHut bh(theta);
  return bh(y, rep);
}

}  // namespace scanpp::tl
