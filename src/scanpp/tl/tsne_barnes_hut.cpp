// Barnes–Hut approximation of t-SNE's repulsion (van der Maaten 2014) on a
// quadtree. The tree is built sequentially (its shape depends only on the
// point order), the per-point traversals run in parallel, and Z is summed
// over points in index order, so the result does not depend on the threads.
#include <algorithm>
#include <cmath>
#include <vector>

#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/tsne_gradient.hpp"

namespace scanpp::tl {

namespace {

struct Node {
  double cx, cy, hw;       // square cell: centre and half side
  double sx = 0, sy = 0;   // sum of the positions in the cell
  int64_t count = 0;
  int32_t first_child = -1;  // 4 consecutive children, or -1 for a leaf
  int32_t point = -1;        // a leaf's point
  bool mixed = false;        // a leaf too small to split holding distinct points
};

class QuadTree {
 public:
  explicit QuadTree(std::span<const double> y) {
    const int64_t n = static_cast<int64_t>(y.size() / 2);
    double x0 = y[0], x1 = y[0], y0 = y[1], y1 = y[1];
    for (int64_t i = 1; i < n; ++i) {
      x0 = std::min(x0, y[2 * i]);
      x1 = std::max(x1, y[2 * i]);
      y0 = std::min(y0, y[2 * i + 1]);
      y1 = std::max(y1, y[2 * i + 1]);
    }
    const double half = std::max(x1 - x0, y1 - y0) / 2.0;
    // Slightly larger than the points' box so that every point is strictly inside.
    const double hw = half * (1.0 + 1e-6) + 1e-12;
    // Cells this small stop splitting: distinct points closer than this share a leaf.
    min_hw_ = hw * 0x1.0p-40;
    nodes_.reserve(static_cast<size_t>(2 * n + 8));
    nodes_.push_back(Node{(x0 + x1) / 2.0, (y0 + y1) / 2.0, hw});
    for (int64_t i = 0; i < n; ++i) insert(static_cast<int32_t>(i), y[2 * i], y[2 * i + 1], y);
  }
  const std::vector<Node>& nodes() const { return nodes_; }

 private:
  static int quadrant(const Node& nd, double x, double y) { return (x >= nd.cx ? 1 : 0) | (y >= nd.cy ? 2 : 0); }

  void split(int32_t cur) {
    const int32_t fc = static_cast<int32_t>(nodes_.size());
    const double h = nodes_[cur].hw / 2.0, cx = nodes_[cur].cx, cy = nodes_[cur].cy;
    for (int q = 0; q < 4; ++q) nodes_.push_back(Node{cx + ((q & 1) ? h : -h), cy + ((q & 2) ? h : -h), h});
    Node& nd = nodes_[cur];
    nd.first_child = fc;
    const double px = nd.sx / static_cast<double>(nd.count), py = nd.sy / static_cast<double>(nd.count);
    Node& child = nodes_[fc + quadrant(nd, px, py)];
    child.point = nd.point;
    child.count = nd.count;
    child.sx = nd.sx;
    child.sy = nd.sy;
    child.mixed = nd.mixed;
    nd.point = -1;
  }

  void insert(int32_t i, double x, double y, std::span<const double> pos) {
    int32_t cur = 0;
    while (true) {
      Node& nd = nodes_[cur];
      if (nd.first_child >= 0) {
        ++nd.count;
        nd.sx += x;
        nd.sy += y;
        cur = nd.first_child + quadrant(nd, x, y);
        continue;
      }
      if (nd.count == 0) {
        nd.point = i;
        nd.count = 1;
        nd.sx = x;
        nd.sy = y;
        return;
      }
      const bool same = pos[2 * nd.point] == x && pos[2 * nd.point + 1] == y;
      if (same || nd.hw < min_hw_) {
        nd.mixed = nd.mixed || !same;
        ++nd.count;
        nd.sx += x;
        nd.sy += y;
        return;
      }
      split(cur);  // may reallocate: nd is not used after this
    }
  }

  std::vector<Node> nodes_;
  double min_hw_ = 0.0;
};

// The tree as the traversal reads it: 40 bytes a node, centre of mass and
// squared side precomputed.
struct Cell {
  double x, y;    // centre of mass (a duplicate leaf: the points' exact position)
  double count;
  double side2;   // squared side length
  int32_t first_child;
  int32_t pure;   // leaf whose points all sit at (x, y)
};

}  // namespace

double tsne_repulsion_barnes_hut(std::span<const double> y, std::span<double> rep, double theta) {
  const int64_t n = static_cast<int64_t>(y.size() / 2);
  if (n == 0) return 0.0;
  std::vector<Cell> cells;
  {
    const QuadTree tree(y);
    const std::vector<Node>& nodes = tree.nodes();
    cells.resize(nodes.size());
    for (size_t c = 0; c < nodes.size(); ++c) {
      const Node& nd = nodes[c];
      const double cnt = static_cast<double>(nd.count);
      Cell& out = cells[c];
      out.count = cnt;
      out.side2 = 4.0 * nd.hw * nd.hw;
      out.first_child = nd.first_child;
      out.pure = nd.first_child < 0 && nd.count > 0 && !nd.mixed;
      if (out.pure) {
        out.x = y[2 * nd.point];
        out.y = y[2 * nd.point + 1];
      } else {
        out.x = nd.count ? nd.sx / cnt : 0.0;
        out.y = nd.count ? nd.sy / cnt : 0.0;
      }
    }
  }
  const double theta2 = theta * theta;
  std::vector<double> z_point(static_cast<size_t>(n));
  parallel_blocks(n, 256, [&](int64_t r0, int64_t r1) {
    std::vector<int32_t> stack(256);
    for (int64_t i = r0; i < r1; ++i) {
      const double xi = y[2 * i], yi = y[2 * i + 1];
      double fx = 0.0, fy = 0.0, z = 0.0;
      size_t sp = 0;
      stack[sp++] = 0;
      while (sp > 0) {
        const Cell& c = cells[stack[--sp]];
        const double dx = xi - c.x, dy = yi - c.y;
        const double d2 = dx * dx + dy * dy;
        if (c.first_child >= 0 && !(c.side2 < theta2 * d2)) {
          if (sp + 4 > stack.size()) stack.resize(stack.size() * 2);
          for (int q = 3; q >= 0; --q)
            if (cells[c.first_child + q].count > 0) stack[sp++] = c.first_child + q;
          continue;
        }
        if (d2 == 0.0 && c.pure) {
          // The point itself and its exact duplicates: K = 1, no force.
          z += c.count - 1.0;
          continue;
        }
        const double k = 1.0 / (1.0 + d2);
        const double ck = c.count * k;
        z += ck;
        fx += ck * k * dx;
        fy += ck * k * dy;
      }
      rep[2 * i] = fx;
      rep[2 * i + 1] = fy;
      z_point[i] = z;
    }
  });
  double Z = 0.0;
  for (double v : z_point) Z += v;
  return Z;
}

}  // namespace scanpp::tl
