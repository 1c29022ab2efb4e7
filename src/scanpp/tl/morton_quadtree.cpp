#include "scanpp/tl/morton_quadtree.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "scanpp/core/error.hpp"

namespace scanpp::tl {

namespace {

constexpr int kBitsPerAxis = 21;  // Morton codes of 42 bits
constexpr uint64_t kCellsPerAxis = uint64_t{1} << kBitsPerAxis;

// Moves bit k of the low 21 bits of v to bit 2k (the classic magic-number
// spread, written out: a loop over the steps is not unrolled at -O2).
uint64_t interleave_zeros(uint64_t v) {
  v &= kCellsPerAxis - 1;
  v = (v | (v << 16)) & 0x0000ffff0000ffffULL;
  v = (v | (v << 8)) & 0x00ff00ff00ff00ffULL;
  v = (v | (v << 4)) & 0x0f0f0f0f0f0f0f0fULL;
  v = (v | (v << 2)) & 0x3333333333333333ULL;
  return (v | (v << 1)) & 0x5555555555555555ULL;
}

// The quadrant (0..3) of a code at `level` (0 = the root's split).
inline uint64_t quadrant(uint64_t code, int level) { return (code >> (2 * (kBitsPerAxis - 1 - level))) & 3; }

}  // namespace

void MortonQuadtree::build(std::span<const double> xy, std::span<const double> mass,
                           const MortonQuadtreeOptions& opt) {
  if (xy.size() % 2 != 0) throw ValueError("quadtree: the positions must be an n x 2 array");
  const int64_t n = static_cast<int64_t>(xy.size() / 2);
  if (!mass.empty() && static_cast<int64_t>(mass.size()) != n)
    throw ValueError("quadtree: " + std::to_string(mass.size()) + " masses for " + std::to_string(n) + " points");
  if (n > (int64_t{1} << 30)) throw ValueError("quadtree: more than 2^30 points");
  if (!(opt.theta >= 0.0)) throw ValueError("quadtree: theta must not be negative");
  if (opt.leaf_size < 1 || opt.group_size < 1) throw ValueError("quadtree: leaf and group sizes must be positive");
  opt_ = opt;
  inv_theta2_ = opt.theta > 0.0 ? 1.0 / (opt.theta * opt.theta) : std::numeric_limits<double>::infinity();
  nodes_.clear();
  boxes_.clear();
  radius_.clear();
  groups_.clear();
  if (n == 0) {
    order_.clear();
    return;
  }

  double x0 = xy[0], x1 = xy[0], y0 = xy[1], y1 = xy[1];
  for (int64_t i = 0; i < n; ++i) {
    const double a = xy[2 * i], b = xy[2 * i + 1];
    if (!std::isfinite(a) || !std::isfinite(b)) throw ValueError("quadtree: a point has a non-finite coordinate");
    x0 = std::min(x0, a);
    x1 = std::max(x1, a);
    y0 = std::min(y0, b);
    y1 = std::max(y1, b);
  }
  for (double m : mass)
    if (!(m >= 0.0) || !std::isfinite(m)) throw ValueError("quadtree: masses must be finite and non-negative");
  // One square over all points, cut into 2^21 cells a side.
  double side = std::max(x1 - x0, y1 - y0);
  if (!(side > 0.0)) side = 1.0;
  const double top = static_cast<double>(kCellsPerAxis - 1);
  const double per_unit = static_cast<double>(kCellsPerAxis) / side;
  code_.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const auto cx = static_cast<uint64_t>(std::min((xy[2 * i] - x0) * per_unit, top));
    const auto cy = static_cast<uint64_t>(std::min((xy[2 * i + 1] - y0) * per_unit, top));
    code_[i] = interleave_zeros(cx) | (interleave_zeros(cy) << 1);
  }
  sort_by_code(n);
  xs_.resize(static_cast<size_t>(n));
  ys_.resize(static_cast<size_t>(n));
  ms_.resize(static_cast<size_t>(n));
  for (int64_t s = 0; s < n; ++s) {
    const int64_t i = order_[s];
    xs_[s] = xy[2 * i];
    ys_[s] = xy[2 * i + 1];
    ms_[s] = mass.empty() ? 1.0 : mass[i];
  }
  nodes_.reserve(static_cast<size_t>(n / 2 + 16));
  nodes_.emplace_back();
  boxes_.emplace_back();
  radius_.emplace_back();
  build_node(0, 0, static_cast<int32_t>(n), 0, false);
}

// Points of an iterative layout move little from one build to the next, so
// the last order is usually a few moves from the new one: insertion-sorts it
// by the new (code, index) and gives up (returning false, code_ untouched)
// past a budget of moves. Either sort yields the one order by (code, index).
bool MortonQuadtree::resort_by_code(int64_t n) {
  if (static_cast<int64_t>(order_.size()) != n) return false;
  code_tmp_.resize(static_cast<size_t>(n));
  for (int64_t s = 0; s < n; ++s) code_tmp_[s] = code_[order_[s]];
  const int64_t budget = 4 * n;
  int64_t moves = 0;
  for (int64_t s = 1; s < n; ++s) {
    const uint64_t c = code_tmp_[s];
    const int32_t o = order_[s];
    int64_t t = s;
    while (t > 0 && (code_tmp_[t - 1] > c || (code_tmp_[t - 1] == c && order_[t - 1] > o))) {
      code_tmp_[t] = code_tmp_[t - 1];
      order_[t] = order_[t - 1];
      --t;
    }
    code_tmp_[t] = c;
    order_[t] = o;
    moves += s - t;
    if (moves > budget) return false;
  }
  code_.swap(code_tmp_);
  return true;
}

void MortonQuadtree::sort_by_code(int64_t n) {
  if (resort_by_code(n)) return;
  // Stable LSD radix sort, 11 bits a pass over the 42-bit codes: equal codes
  // keep index order, so the order is a function of the positions alone.
  constexpr int kDigit = 11;
  constexpr uint64_t kMask = (uint64_t{1} << kDigit) - 1;
  std::array<int32_t, (size_t{1} << kDigit)> start{};
  order_.resize(static_cast<size_t>(n));
  order_tmp_.resize(static_cast<size_t>(n));
  code_tmp_.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order_[i] = static_cast<int32_t>(i);
  for (int shift = 0; shift < 2 * kBitsPerAxis; shift += kDigit) {
    start.fill(0);
    for (int64_t i = 0; i < n; ++i) ++start[(code_[i] >> shift) & kMask];
    int32_t running = 0;
    for (int32_t& s : start) running += std::exchange(s, running);
    for (int64_t i = 0; i < n; ++i) {
      const int32_t to = start[(code_[i] >> shift) & kMask]++;
      code_tmp_[to] = code_[i];
      order_tmp_[to] = order_[i];
    }
    std::swap(code_, code_tmp_);
    std::swap(order_, order_tmp_);
  }
}

void MortonQuadtree::summarise(int32_t id, double sx, double sy, double m, double radius, const Box& box) {
  Node& nd = nodes_[id];
  nd.mass = m;
  if (!(m > 0.0)) {
    // massless points: the plain mean keeps the centre inside the box
    sx = sy = 0.0;
    for (int32_t s = nd.begin; s < nd.end; ++s) sx += xs_[s], sy += ys_[s];
    const double count = static_cast<double>(nd.end - nd.begin);
    nd.cx = sx / count;
    nd.cy = sy / count;
  } else {
    nd.cx = sx / m;
    nd.cy = sy / m;
  }
  if (radius < 0.0) {
    // a leaf: its farthest point
    radius = 0.0;
    for (int32_t s = nd.begin; s < nd.end; ++s) {
      const double dx = xs_[s] - nd.cx, dy = ys_[s] - nd.cy;
      radius = std::max(radius, dx * dx + dy * dy);
    }
    radius = std::sqrt(radius);
  } else {
    // an inner node: farthest child centre plus that child's radius
    radius = 0.0;
    for (int32_t c = nd.first_child; c < nd.first_child + nd.n_children; ++c) {
      const double dx = nodes_[c].cx - nd.cx, dy = nodes_[c].cy - nd.cy;
      radius = std::max(radius, std::sqrt(dx * dx + dy * dy) + radius_[c]);
    }
  }
  radius_[id] = radius;
  boxes_[id] = box;
  const double size =
      opt_.size == MortonQuadtreeOptions::Size::longest_side ? std::max(box.x1 - box.x0, box.y1 - box.y0) : 2 * radius;
  nd.open2 = std::isinf(inv_theta2_) ? inv_theta2_ : size * size * inv_theta2_;
}

void MortonQuadtree::build_node(int32_t id, int32_t b, int32_t e, int level, bool in_group) {
  nodes_[id].begin = b;
  nodes_[id].end = e;
  if (!in_group && e - b <= opt_.group_size) {
    groups_.push_back(id);
    in_group = true;
  }
  // Levels where every point lies in one quadrant add nothing: skip them.
  while (e - b > opt_.leaf_size && level < kBitsPerAxis && quadrant(code_[b], level) == quadrant(code_[e - 1], level))
    ++level;
  if (e - b <= opt_.leaf_size || level == kBitsPerAxis) {
    if (!in_group) groups_.push_back(id);  // closer than the quantisation: a group of its own
    double sx = 0.0, sy = 0.0, m = 0.0;
    Box box{xs_[b], xs_[b], ys_[b], ys_[b]};
    for (int32_t s = b; s < e; ++s) {
      sx += ms_[s] * xs_[s];
      sy += ms_[s] * ys_[s];
      m += ms_[s];
      box = {std::min(box.x0, xs_[s]), std::max(box.x1, xs_[s]), std::min(box.y0, ys_[s]), std::max(box.y1, ys_[s])};
    }
    summarise(id, sx, sy, m, -1.0, box);
    return;
  }
  // The sorted codes put the quadrants in order: find their boundaries.
  std::array<int32_t, 5> cut{b, b, b, b, e};
  for (uint64_t q = 1; q < 4; ++q)
    cut[q] = static_cast<int32_t>(
        std::partition_point(code_.begin() + cut[q - 1], code_.begin() + e,
                             [&](uint64_t c) { return quadrant(c, level) < q; }) -
        code_.begin());
  int32_t k = 0;
  for (int q = 0; q < 4; ++q) k += cut[q + 1] > cut[q] ? 1 : 0;
  const auto first = static_cast<int32_t>(nodes_.size());
  nodes_.resize(nodes_.size() + static_cast<size_t>(k));
  boxes_.resize(nodes_.size());
  radius_.resize(nodes_.size());
  nodes_[id].first_child = first;
  nodes_[id].n_children = k;
  for (int q = 0, c = first; q < 4; ++q)
    if (cut[q + 1] > cut[q]) build_node(c++, cut[q], cut[q + 1], level + 1, in_group);
  double sx = 0.0, sy = 0.0, m = 0.0;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Box box{kInf, -kInf, kInf, -kInf};
  for (int32_t c = first; c < first + k; ++c) {
    const Node& ch = nodes_[c];
    sx += ch.mass * ch.cx;
    sy += ch.mass * ch.cy;
    m += ch.mass;
    const Box& cb = boxes_[c];
    box = {std::min(box.x0, cb.x0), std::max(box.x1, cb.x1), std::min(box.y0, cb.y0), std::max(box.y1, cb.y1)};
  }
  summarise(id, sx, sy, m, 0.0, box);
}

void MortonQuadtree::gather(int32_t g, List& list, std::vector<int32_t>& stack, int pad) const {
  pad = std::max(pad, 1);
  // every node or point enters the list at most once
  const size_t cap = nodes_.size() + order_.size() + static_cast<size_t>(pad);
  if (list.x.size() < cap) {
    list.x.resize(cap);
    list.y.resize(cap);
    list.w.resize(cap);
  }
  // the walk writes four child slots past the top whatever it opens
  if (stack.size() < nodes_.size() + 4) stack.resize(nodes_.size() + 4);
  const Node& group = nodes_[g];
  const Box gb = boxes_[g];
  const double ox = group.cx, oy = group.cy;
  float* lx = list.x.data();
  float* ly = list.y.data();
  float* lw = list.w.data();
  int64_t m = 0;
  size_t top = 0;
  stack[top++] = 0;
  // Branch-light: the summary entry and the children are written whatever
  // the test says, and the list and stack advance by what it says (the
  // entries and their order are those of the plain depth-first walk).
  while (top > 0) {
    const Node& c = nodes_[stack[--top]];
    // distance from the node's centre to the nearest point of the group's box
    const double dx = std::max(std::max(gb.x0 - c.cx, 0.0), c.cx - gb.x1);
    const double dy = std::max(std::max(gb.y0 - c.cy, 0.0), c.cy - gb.y1);
    // The group's ancestors are always opened, so no summary holds a point
    // of the group.
    const bool holds_group = (c.begin <= group.begin) & (group.end <= c.end);
    const bool summarise = !holds_group & (c.open2 < dx * dx + dy * dy);
    lx[m] = static_cast<float>(c.cx - ox);
    ly[m] = static_cast<float>(c.cy - oy);
    lw[m] = static_cast<float>(c.mass);
    m += summarise;
    const int32_t open = summarise ? 0 : c.n_children;
    const int32_t last = c.first_child + open - 1;
    stack[top] = last;
    stack[top + 1] = last - 1;
    stack[top + 2] = last - 2;
    stack[top + 3] = last - 3;
    top += static_cast<size_t>(open);
    if (!summarise && c.first_child < 0)
      for (int32_t s = c.begin; s < c.end; ++s) {
        lx[m] = static_cast<float>(xs_[s] - ox);
        ly[m] = static_cast<float>(ys_[s] - oy);
        lw[m++] = static_cast<float>(ms_[s]);
      }
  }
  for (; m % pad != 0; ++m) lx[m] = ly[m] = lw[m] = 0.0f;
  list.n = m;
}

}  // namespace scanpp::tl
