#include "scanpp/tl/morton_quadtree.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
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
    n_pre_ = 0;
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
  build_preorder();
}

void MortonQuadtree::build_preorder() {
  const auto count = static_cast<int32_t>(nodes_.size());
  const size_t padded = (static_cast<size_t>(count) + 7) / 8 * 8;
  n_pre_ = count;
  // Slots below count are all written below; the padding is zeroed.
  for (auto* v : {&pre_cx_, &pre_cy_, &pre_mass_, &pre_open2_}) {
    v->resize(padded);
    std::fill(v->begin() + count, v->end(), 0.0);
  }
  for (auto* v : {&pre_skip_, &pre_leaf_begin_, &pre_leaf_end_, &pre_parent_}) {
    v->resize(padded);
    std::fill(v->begin() + count, v->end(), 0);
  }
  // Depth-first from the root, children pushed last first.
  pre_slot_.resize(static_cast<size_t>(count));
  pre_order_.clear();
  pre_stack_.assign(1, 0);
  while (!pre_stack_.empty()) {
    const int32_t id = pre_stack_.back();
    pre_stack_.pop_back();
    pre_slot_[id] = static_cast<int32_t>(pre_order_.size());
    pre_order_.push_back(id);
    const Node& nd = nodes_[id];
    for (int32_t c = nd.first_child + nd.n_children - 1; nd.first_child >= 0 && c >= nd.first_child; --c)
      pre_stack_.push_back(c);
  }
  // A subtree's slots run from its root's to one past its last node's;
  // filled bottom-up (reverse preorder) from each node's last child.
  for (int32_t k = count - 1; k >= 0; --k) {
    const Node& nd = nodes_[pre_order_[k]];
    const bool leaf = nd.first_child < 0;
    pre_skip_[k] = leaf ? k + 1 : pre_skip_[pre_slot_[nd.first_child + nd.n_children - 1]];
    pre_cx_[k] = nd.cx;
    pre_cy_[k] = nd.cy;
    pre_mass_[k] = nd.mass;
    pre_open2_[k] = nd.open2;
    pre_parent_[k] = -1;  // set by the parent, whose slot comes later in this loop
    pre_leaf_begin_[k] = nd.begin;
    pre_leaf_end_[k] = leaf ? nd.end : nd.begin;
    for (int32_t c = nd.first_child; !leaf && c < nd.first_child + nd.n_children; ++c) pre_parent_[pre_slot_[c]] = k;
  }
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

namespace {

using D4 = double __attribute__((vector_size(32)));
using D8 = double __attribute__((vector_size(64)));
using L8 = int64_t __attribute__((vector_size(64)));

// flag[2k] = −1 (as the low half of a 64-bit −1) where preorder node k is far
// enough from the group's box [x0, x1] x [y0, y1] to be summarised, else 0,
// over n (a multiple of 8) nodes: the test of the plain walk with std::max's
// operand order kept. Contraction is off: an FMA in dx² + dy² (AVX-512 has
// them) could flip a test.
__attribute__((target_clones("avx512f", "avx2", "default"), optimize("fp-contract=off"))) void opening_flags(
    const double* cx, const double* cy, const double* open2, int64_t n, double x0, double x1, double y0, double y1,
    int32_t* flag) {
  const D8 zero{}, vx0 = zero + x0, vx1 = zero + x1, vy0 = zero + y0, vy1 = zero + y1;
  for (int64_t k = 0; k < n; k += 8) {
    D8 x, y, o;
    std::memcpy(&x, cx + k, sizeof(D8));
    std::memcpy(&y, cy + k, sizeof(D8));
    std::memcpy(&o, open2 + k, sizeof(D8));
    // std::max(std::max(x0 − x, 0), x − x1), std::max(a, b) being a < b ? b : a
    const D8 ax = vx0 - x, bx = x - vx1, ay = vy0 - y, by = y - vy1;
    const D8 tx = ax < zero ? zero : ax, ty = ay < zero ? zero : ay;
    const D8 dx = tx < bx ? bx : tx, dy = ty < by ? by : ty;
    const L8 far = o < dx * dx + dy * dy;
    std::memcpy(flag + 2 * k, &far, sizeof(L8));
  }
}

using F4 = float __attribute__((vector_size(16)));

// dst[0..8) = src[0..8) − origin, rounded to float.
__attribute__((always_inline)) inline void shifted8(const double* src, double origin, float* dst) {
  D4 a, b;
  std::memcpy(&a, src, sizeof(D4));
  std::memcpy(&b, src + 4, sizeof(D4));
  const F4 fa = __builtin_convertvector(a - origin, F4), fb = __builtin_convertvector(b - origin, F4);
  std::memcpy(dst, &fa, sizeof(F4));
  std::memcpy(dst + 4, &fb, sizeof(F4));
}

// What the scan below reads: the preorder columns and the sorted points.
struct ScanInput {
  const int32_t* flag;  // opening_flags' output (every other int)
  const double *cx, *cy, *mass;
  const int32_t *skip, *leaf_begin, *leaf_end;
  int32_t n_nodes;
  const double *xs, *ys, *ms;
  int32_t n_points;
};

constexpr int32_t kBurst = 8;  // leaf points copied per step (the excess is overwritten)

// The depth-first walk as a scan with few branches: a summarised node enters
// the list (its entry is written whatever the test says, and kept by
// advancing m) and its subtree is skipped; an opened leaf's points enter
// exactly, eight at a time. Entries relative to (ox, oy); returns their
// count. The lists need kBurst entries of slack.
__attribute__((target_clones("avx2", "default"))) int64_t scan_walk(const ScanInput& in, double ox, double oy,
                                                                    float* lx, float* ly, float* lw) {
  // Locals, not reads through `in`: the compiler cannot tell the list's
  // stores from them.
  const int32_t* const flag = in.flag;
  const double *const cx = in.cx, *const cy = in.cy, *const mass = in.mass;
  const int32_t *const skip = in.skip, *const leaf_begin = in.leaf_begin, *const leaf_end = in.leaf_end;
  const double *const xs = in.xs, *const ys = in.ys, *const ms = in.ms;
  const int32_t n_nodes = in.n_nodes, n_points = in.n_points;
  int64_t m = 0;
  for (int32_t k = 0; k < n_nodes;) {
    const bool summarise = flag[2 * k] != 0;
    lx[m] = static_cast<float>(cx[k] - ox);
    ly[m] = static_cast<float>(cy[k] - oy);
    lw[m] = static_cast<float>(mass[k]);
    m += summarise;
    const int32_t b = leaf_begin[k];
    const int32_t count = summarise ? 0 : leaf_end[k] - b;
    if (count == 0) {
    } else if (count <= kBurst && b + kBurst <= n_points) {
      shifted8(xs + b, ox, lx + m);
      shifted8(ys + b, oy, ly + m);
      shifted8(ms + b, 0.0, lw + m);
      m += count;
    } else {
      for (int32_t s = b; s < b + count; ++s, ++m) {
        lx[m] = static_cast<float>(xs[s] - ox);
        ly[m] = static_cast<float>(ys[s] - oy);
        lw[m] = static_cast<float>(ms[s]);
      }
    }
    k = summarise ? skip[k] : k + 1;
  }
  return m;
}

}  // namespace

void MortonQuadtree::gather(int32_t g, List& list, std::vector<int32_t>& stack, int pad) const {
  pad = std::max(pad, 1);
  // every node or point enters the list at most once
  const size_t cap = nodes_.size() + order_.size() + static_cast<size_t>(pad) + kBurst;
  if (list.x.size() < cap) {
    list.x.resize(cap);
    list.y.resize(cap);
    list.w.resize(cap);
  }
  const size_t padded = pre_cx_.size();
  if (stack.size() < 2 * padded) stack.resize(2 * padded);
  const Node& group = nodes_[g];
  const Box gb = boxes_[g];
  int32_t* flag = stack.data();
  opening_flags(pre_cx_.data(), pre_cy_.data(), pre_open2_.data(), static_cast<int64_t>(padded), gb.x0, gb.x1,
                gb.y0, gb.y1, flag);
  // The group and its ancestors (the nodes whose range holds the group's:
  // ranges nest, and a split leaves every child smaller) are always opened,
  // so no summary holds a point of the group.
  for (int32_t k = pre_slot_[g]; k >= 0; k = pre_parent_[k]) flag[2 * k] = 0;
  const ScanInput in{flag,
                     pre_cx_.data(),
                     pre_cy_.data(),
                     pre_mass_.data(),
                     pre_skip_.data(),
                     pre_leaf_begin_.data(),
                     pre_leaf_end_.data(),
                     n_pre_,
                     xs_.data(),
                     ys_.data(),
                     ms_.data(),
                     static_cast<int32_t>(order_.size())};
  float* lx = list.x.data();
  float* ly = list.y.data();
  float* lw = list.w.data();
  int64_t m = scan_walk(in, group.cx, group.cy, lx, ly, lw);
  for (; m % pad != 0; ++m) lx[m] = ly[m] = lw[m] = 0.0f;
  list.n = m;
}

}  // namespace scanpp::tl
