#include "scanpp/tl/forceatlas2.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"

namespace scanpp::tl {

namespace {

constexpr int64_t kBlock = 64;  // fixed work blocks: results do not depend on the thread count

// One region of fa2's Barnes-Hut quadtree. Its nodes are perm[begin, end);
// its subregions are regions[first_child, first_child + n_children). A
// one-node region (fa2 treats it as the node itself) keeps the node's
// position and mass in cx, cy, mass so the traversal stays in this array.
struct Region {
  double mass = 0, cx = 0, cy = 0, size = 0;
  int64_t node = -1;  // the node of a one-node region
  int32_t first_child = 0, n_children = 0;
};

class QuadTree {
 public:
  // fa2's Region(nodes).buildSubRegions(): split at the mass centre into
  // top-left, bottom-left, top-right, bottom-right; a quadrant that would hold
  // every node (coincident points) becomes one region per node instead.
  void build(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& mass) {
    const int64_t n = static_cast<int64_t>(x.size());
    perm_.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) perm_[i] = i;
    regions_.clear();
    ranges_.clear();
    add_region(0, n, x, y, mass);
    stack_.assign(1, 0);
    while (!stack_.empty()) {
      const int64_t r = stack_.back();
      stack_.pop_back();
      split(r, x, y, mass);
    }
  }

  // The nodes in tree order: neighbours in space are neighbours here, which
  // keeps consecutive traversals in cache.
  const std::vector<int64_t>& order() const { return perm_; }

  // Repulsion on node i: fa2's Region.applyForce, depth first in subregion
  // order. Leaf contacts are reported to `leaf(j, fx, fy)` with the force
  // they exert on i (fa2 applies the opposite to j).
  template <class Leaf>
  void repulse(double xi, double yi, double mi, double theta, double coefficient, double& fx, double& fy,
               std::vector<int32_t>& stack, Leaf&& leaf) const {
    const double theta2 = theta * theta;
    // every region is pushed at most once, so this bounds the stack
    if (stack.size() < regions_.size()) stack.resize(regions_.size());
    int32_t* top = stack.data();
    *top++ = 0;
    const Region* regions = regions_.data();
    while (top != stack.data()) {
      const Region& r = regions[*--top];
      const double xd = xi - r.cx, yd = yi - r.cy;
      const double d2 = xd * xd + yd * yd;
      // fa2's distance * theta > size (without the square root) lets the
      // region act as one mass; a one-node region always does
      if (r.node < 0 && d2 * theta2 <= r.size * r.size) {
        // push in reverse so the first subregion is visited first
        for (int32_t c = r.n_children - 1; c >= 0; --c) *top++ = r.first_child + c;
        continue;
      }
      if (d2 > 0) {
        const double f = coefficient * mi * r.mass / d2;
        fx += xd * f;
        fy += yd * f;
        if (r.node >= 0) leaf(r.node, xd * f, yd * f);
      }
    }
  }

 private:
  void add_region(int64_t begin, int64_t end, const std::vector<double>& x, const std::vector<double>& y,
                  const std::vector<double>& mass) {
    Region r;
    if (end - begin == 1) {
      r.node = perm_[begin];
      r.cx = x[r.node];
      r.cy = y[r.node];
      r.mass = mass[r.node];
    } else {
      double sx = 0, sy = 0;
      for (int64_t k = begin; k < end; ++k) {
        const int64_t i = perm_[k];
        r.mass += mass[i];
        sx += x[i] * mass[i];
        sy += y[i] * mass[i];
      }
      r.cx = sx / r.mass;
      r.cy = sy / r.mass;
      for (int64_t k = begin; k < end; ++k) {
        const int64_t i = perm_[k];
        const double d = std::sqrt((x[i] - r.cx) * (x[i] - r.cx) + (y[i] - r.cy) * (y[i] - r.cy));
        r.size = std::max(r.size, 2 * d);
      }
    }
    regions_.push_back(r);
    ranges_.emplace_back(begin, end);
  }

  void split(int64_t ri, const std::vector<double>& x, const std::vector<double>& y,
             const std::vector<double>& mass) {
    const auto [begin, end] = ranges_[ri];
    const int64_t count = end - begin;
    if (count < 2) return;
    const double cx = regions_[ri].cx, cy = regions_[ri].cy;
    // stable 4-way partition of perm[begin, end) into fa2's quadrant order
    int64_t sizes[4] = {0, 0, 0, 0};
    auto quadrant = [&](int64_t i) {
      if (x[i] < cx) return y[i] < cy ? 1 : 0;  // bottom-left : top-left
      return y[i] < cy ? 3 : 2;                 // bottom-right : top-right
    };
    for (int64_t k = begin; k < end; ++k) ++sizes[quadrant(perm_[k])];
    int64_t offset[4];
    offset[0] = 0;
    for (int q = 1; q < 4; ++q) offset[q] = offset[q - 1] + sizes[q - 1];
    scratch_.resize(static_cast<size_t>(count));
    int64_t fill[4] = {offset[0], offset[1], offset[2], offset[3]};
    for (int64_t k = begin; k < end; ++k) scratch_[fill[quadrant(perm_[k])]++] = perm_[k];
    std::copy(scratch_.begin(), scratch_.end(), perm_.begin() + begin);
    const int64_t first = static_cast<int64_t>(regions_.size());
    for (int q = 0; q < 4; ++q) {
      if (sizes[q] == 0) continue;
      const int64_t b = begin + offset[q];
      if (sizes[q] < count) {
        add_region(b, b + sizes[q], x, y, mass);
      } else {
        for (int64_t k = b; k < b + sizes[q]; ++k) add_region(k, k + 1, x, y, mass);
      }
    }
    const int64_t last = static_cast<int64_t>(regions_.size());
    regions_[ri].first_child = static_cast<int32_t>(first);
    regions_[ri].n_children = static_cast<int32_t>(last - first);
    for (int64_t c = last - 1; c >= first; --c) stack_.push_back(c);
  }

  std::vector<Region> regions_;
  std::vector<std::pair<int64_t, int64_t>> ranges_;
  std::vector<int64_t> perm_, scratch_, stack_;
};

struct Reaction {
  int64_t node;
  double fx, fy;
};

}  // namespace

std::vector<double> forceatlas2(const SparseMatrix& adjacency, std::span<const double> init,
                                const ForceAtlas2Options& opt) {
  if (adjacency.n_rows != adjacency.n_cols)
    throw ValueError("forceatlas2: the adjacency matrix must be square, got " + std::to_string(adjacency.n_rows) +
                     " x " + std::to_string(adjacency.n_cols));
  const int64_t n = adjacency.n_rows;
  if (static_cast<int64_t>(init.size()) != 2 * n)
    throw ValueError("forceatlas2: the start positions must be an n_obs x 2 array (" + std::to_string(n) +
                     " x 2)");
  for (double v : init)
    if (!std::isfinite(v)) throw ValueError("forceatlas2: the start positions contain NaN or infinite values");
  if (opt.iterations < 0) throw ValueError("forceatlas2: the number of iterations must be >= 0");
  if (!(opt.barnes_hut_theta > 0)) throw ValueError("forceatlas2: barnes_hut_theta must be positive");

  const SparseMatrix g =
      adjacency.format == SparseFormat::CSR ? adjacency : convert_format(adjacency, SparseFormat::CSR);
  // fa2: mass = 1 + stored entries of the row; edges from the upper triangle,
  // each pulling both of its ends.
  std::vector<double> mass(static_cast<size_t>(n), 1.0);
  std::vector<std::vector<std::pair<int64_t, double>>> nbrs(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = g.indptr[i]; k < g.indptr[i + 1]; ++k) {
      const double w = g.data.get_double(k);
      if (w == 0.0) continue;
      mass[i] += 1.0;
      const int64_t j = g.indices[k];
      if (j <= i) continue;
      const double ew = opt.edge_weight_influence == 0.0   ? 1.0
                        : opt.edge_weight_influence == 1.0 ? w
                                                           : std::pow(w, opt.edge_weight_influence);
      nbrs[i].emplace_back(j, ew);
      nbrs[j].emplace_back(i, ew);
    }
  }
  double outbound_compensation = 1.0;
  if (opt.outbound_attraction_distribution) {
    double s = 0;
    for (double m : mass) s += m;
    outbound_compensation = n > 0 ? s / static_cast<double>(n) : 1.0;
  }

  std::vector<double> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    x[i] = init[2 * i];
    y[i] = init[2 * i + 1];
  }
  std::vector<double> dx(static_cast<size_t>(n), 0.0), dy(static_cast<size_t>(n), 0.0);
  std::vector<double> old_dx(static_cast<size_t>(n)), old_dy(static_cast<size_t>(n));
  const int64_t n_blocks = (n + kBlock - 1) / kBlock;
  std::vector<std::vector<Reaction>> reactions(static_cast<size_t>(n_blocks));
  QuadTree tree;
  double speed = 1.0, speed_efficiency = 1.0;

  for (int it = 0; it < opt.iterations; ++it) {
    old_dx.swap(dx);
    old_dy.swap(dy);
    // Repulsion, gravity and attraction of each node, summed per node.
    if (opt.barnes_hut_optimize) tree.build(x, y, mass);
    const std::vector<int64_t>* order = opt.barnes_hut_optimize ? &tree.order() : nullptr;
    parallel_blocks(n, kBlock, [&](int64_t a, int64_t b) {
      std::vector<Reaction>& react = reactions[a / kBlock];
      react.clear();
      std::vector<int32_t> stack;
      for (int64_t k = a; k < b; ++k) {
        const int64_t i = order ? (*order)[k] : k;
        double fx = 0, fy = 0;
        if (opt.barnes_hut_optimize) {
          tree.repulse(x[i], y[i], mass[i], opt.barnes_hut_theta, opt.scaling_ratio, fx, fy, stack,
                       [&](int64_t j, double rx, double ry) { react.push_back({j, rx, ry}); });
        } else {
          // fa2's apply_repulsion: each unordered pair once, both ends
          for (int64_t j = 0; j < n; ++j) {
            if (j == i) continue;
            const double xd = x[i] - x[j], yd = y[i] - y[j];
            const double d2 = xd * xd + yd * yd;
            if (d2 > 0) {
              const double f = opt.scaling_ratio * mass[i] * mass[j] / d2;
              fx += xd * f;
              fy += yd * f;
            }
          }
        }
        if (!opt.strong_gravity_mode) {
          const double dist = std::sqrt(x[i] * x[i] + y[i] * y[i]);
          if (dist > 0) {
            const double f = mass[i] * opt.gravity / dist;
            fx -= x[i] * f;
            fy -= y[i] * f;
          }
        } else if (x[i] != 0 && y[i] != 0) {
          const double f = opt.scaling_ratio * mass[i] * opt.gravity;
          fx -= x[i] * f;
          fy -= y[i] * f;
        }
        for (const auto& [j, w] : nbrs[i]) {
          double f = -outbound_compensation * w;
          // fa2 divides by the mass of the edge's first node (the lower index)
          if (opt.outbound_attraction_distribution) f /= mass[std::min(i, j)];
          fx += (x[i] - x[j]) * f;
          fy += (y[i] - y[j]) * f;
        }
        dx[i] = fx;
        dy[i] = fy;
      }
    });
    // fa2 pushes a quadtree leaf back with the opposite force.
    for (const auto& block : reactions)
      for (const Reaction& r : block) {
        dx[r.node] -= r.fx;
        dy[r.node] -= r.fy;
      }

    // Gephi's adaptive speed (fa2's adjustSpeedAndApplyForces).
    double total_swinging = 0, total_traction = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double sx = old_dx[i] - dx[i], sy = old_dy[i] - dy[i];
      const double tx = old_dx[i] + dx[i], ty = old_dy[i] + dy[i];
      total_swinging += mass[i] * std::sqrt(sx * sx + sy * sy);
      total_traction += 0.5 * mass[i] * std::sqrt(tx * tx + ty * ty);
    }
    const double nn = static_cast<double>(n);
    const double estimated_jt = 0.05 * std::sqrt(nn);
    const double min_jt = std::sqrt(estimated_jt), max_jt = 10.0;
    double jt = opt.jitter_tolerance * std::max(min_jt, std::min(max_jt, estimated_jt * total_traction / (nn * nn)));
    constexpr double kMinSpeedEfficiency = 0.05;
    if (total_traction != 0 && total_swinging / total_traction > 2.0) {
      if (speed_efficiency > kMinSpeedEfficiency) speed_efficiency *= 0.5;
      jt = std::max(jt, opt.jitter_tolerance);
    }
    const double target_speed = total_swinging == 0 ? std::numeric_limits<double>::infinity()
                                                    : jt * speed_efficiency * total_traction / total_swinging;
    if (total_swinging > jt * total_traction) {
      if (speed_efficiency > kMinSpeedEfficiency) speed_efficiency *= 0.7;
    } else if (speed < 1000) {
      speed_efficiency *= 1.3;
    }
    constexpr double kMaxRise = 0.5;
    speed = speed + std::min(target_speed - speed, kMaxRise * speed);
    // serial: too little work per iteration to pay for another parallel region
    for (int64_t i = 0; i < n; ++i) {
      const double sx = old_dx[i] - dx[i], sy = old_dy[i] - dy[i];
      const double swinging = mass[i] * std::sqrt(sx * sx + sy * sy);
      const double factor = speed / (1.0 + std::sqrt(speed * swinging));
      x[i] = x[i] + dx[i] * factor;
      y[i] = y[i] + dy[i] * factor;
    }
  }
  std::vector<double> out(static_cast<size_t>(2 * n));
  for (int64_t i = 0; i < n; ++i) {
    out[2 * i] = x[i];
    out[2 * i + 1] = y[i];
  }
  return out;
}

}  // namespace scanpp::tl
