#include "scanpp/tl/forceatlas2.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <string>

#include "scanpp/core/error.hpp"
#include "scanpp/core/thread_budget.hpp"
#include "scanpp/tl/forceatlas2_repulsion.hpp"
#include "scanpp/tl/layout_team.hpp"
#include "scanpp/tl/morton_quadtree.hpp"

namespace scanpp::tl {

namespace {

// Nodes sharing one walk of the quadtree (leaves of 8): on PBMC 3k about
// 140 list entries a node, and the least time of groups of 16, 32, 64.
constexpr int kGroupSize = 64;

// The graph's edges as fa2 reads them (upper triangle, each pulling both of
// its ends), in CSR form per node.
struct Edges {
  std::vector<int64_t> ptr;
  std::vector<int32_t> other;
  std::vector<double> weight;

  // Σ_j w_ij (p_i − p_j) over node i's edges, into (ax, ay). Two partial
  // sums a coordinate: the adds' latency, not the loads, bounds this loop.
  void sum_pull(int64_t i, const std::vector<double>& xy, double& ax, double& ay) const {
    const double xi = xy[2 * i], yi = xy[2 * i + 1];
    double ax0 = 0, ay0 = 0, ax1 = 0, ay1 = 0;
    int64_t e = ptr[i];
    const int64_t end = ptr[i + 1];
    for (; e + 1 < end; e += 2) {
      const int64_t j = other[e], k = other[e + 1];
      ax0 += (xi - xy[2 * j]) * weight[e];
      ay0 += (yi - xy[2 * j + 1]) * weight[e];
      ax1 += (xi - xy[2 * k]) * weight[e + 1];
      ay1 += (yi - xy[2 * k + 1]) * weight[e + 1];
    }
    if (e < end) {
      const int64_t j = other[e];
      ax0 += (xi - xy[2 * j]) * weight[e];
      ay0 += (yi - xy[2 * j + 1]) * weight[e];
    }
    ax = ax0 + ax1;
    ay = ay0 + ay1;
  }
};

// Gephi's adaptive speed (fa2's adjustSpeedAndApplyForces), from the
// groups' shares of swinging and traction summed in group order; moves the
// nodes. Serial: too little work to share.
void move_nodes(int64_t n, const std::vector<double>& mass, const std::vector<double>& old_force,
                const std::vector<double>& force, const std::vector<double>& group_swinging,
                const std::vector<double>& group_traction, const ForceAtlas2Options& opt, double& speed,
                double& speed_efficiency, std::vector<double>& xy) {
  double total_swinging = 0, total_traction = 0;
  for (size_t gi = 0; gi < group_swinging.size(); ++gi) {
    total_swinging += group_swinging[gi];
    total_traction += group_traction[gi];
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
  for (int64_t i = 0; i < n; ++i) {
    const double sx = old_force[2 * i] - force[2 * i], sy = old_force[2 * i + 1] - force[2 * i + 1];
    const double swinging = mass[i] * std::sqrt(sx * sx + sy * sy);
    const double factor = speed / (1.0 + std::sqrt(speed * swinging));
    xy[2 * i] += force[2 * i] * factor;
    xy[2 * i + 1] += force[2 * i + 1] * factor;
  }
}

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
  if (n > std::numeric_limits<int32_t>::max() / 2) throw ValueError("forceatlas2: too many nodes");

  const SparseMatrix g =
      adjacency.format == SparseFormat::CSR ? adjacency : convert_format(adjacency, SparseFormat::CSR);
  // fa2: mass = 1 + nonzero entries of the row.
  std::vector<double> mass(static_cast<size_t>(n), 1.0);
  Edges edges;
  edges.ptr.assign(static_cast<size_t>(n + 1), 0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = g.indptr[i]; k < g.indptr[i + 1]; ++k) {
      if (g.data.get_double(k) == 0.0) continue;
      mass[i] += 1.0;
      const int64_t j = g.indices[k];
      if (j > i) ++edges.ptr[i + 1], ++edges.ptr[j + 1];
    }
  for (int64_t i = 0; i < n; ++i) edges.ptr[i + 1] += edges.ptr[i];
  edges.other.resize(static_cast<size_t>(edges.ptr[n]));
  edges.weight.resize(edges.other.size());
  {
    std::vector<int64_t> fill(edges.ptr.begin(), edges.ptr.end() - 1);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = g.indptr[i]; k < g.indptr[i + 1]; ++k) {
        const double w = g.data.get_double(k);
        const int64_t j = g.indices[k];
        if (w == 0.0 || j <= i) continue;
        const double ew = opt.edge_weight_influence == 0.0   ? 1.0
                          : opt.edge_weight_influence == 1.0 ? w
                                                             : std::pow(w, opt.edge_weight_influence);
        edges.other[fill[i]] = static_cast<int32_t>(j);
        edges.weight[fill[i]++] = ew;
        edges.other[fill[j]] = static_cast<int32_t>(i);
        edges.weight[fill[j]++] = ew;
      }
  }
  double outbound_compensation = 1.0;
  if (opt.outbound_attraction_distribution) {
    double s = 0;
    for (double m : mass) s += m;
    outbound_compensation = n > 0 ? s / static_cast<double>(n) : 1.0;
  }

  std::vector<double> xy(init.begin(), init.end());
  std::vector<double> force(static_cast<size_t>(2 * n), 0.0), old_force(static_cast<size_t>(2 * n));
  MortonQuadtreeOptions tree_opt;
  // fa2's exact repulsion is every pair: a tree that opens every node
  tree_opt.theta = opt.barnes_hut_optimize ? opt.barnes_hut_theta : 0.0;
  tree_opt.size = MortonQuadtreeOptions::Size::twice_radius;
  tree_opt.group_size = kGroupSize;
  MortonQuadtree tree;
  std::vector<double> group_swinging, group_traction;
  double speed = 1.0, speed_efficiency = 1.0;

  // The iterations run in a parallel region (layout_team.hpp). Per
  // iteration thread 0 builds the tree; meanwhile the others (and thread 0
  // after it) take work items: first blocks of nodes' attraction (which
  // needs no tree), then groups of the tree, which wait for the tree and for
  // every attraction block. Thread 0 then moves the nodes.
  const bool precomputed_pull = !opt.outbound_attraction_distribution;
  constexpr int64_t kPullBlock = 256;  // nodes per attraction item
  const int64_t n_pull = precomputed_pull ? (n + kPullBlock - 1) / kPullBlock : 0;
  std::vector<double> pull(precomputed_pull ? static_cast<size_t>(2 * n) : 0);
  LayoutTeam team;
  team.reset();
  std::exception_ptr failed;
  std::atomic<bool> failing{false};
  bool stop = false;  // written by thread 0 between the barriers only
  const auto fail = [&] {  // inside a catch block
#pragma omp critical(scanpp_forceatlas2_fail)
    if (!failed) failed = std::current_exception();
    failing.store(true);
  };
  // With a thread budget (core/thread_budget.hpp: a step of `scanpp run`
  // beside one running ahead) a region runs kBudgetStretch iterations and
  // the next takes the threads the budget then allows (all of them once
  // the step ahead is done).
  const ThreadBudget* budget = current_thread_budget();
  const int stretch = budget ? kBudgetStretch : std::max(opt.iterations, 1);
  int it1 = 0;
  for (int it0 = 0; it0 < opt.iterations && !stop; it0 = it1) {
    it1 = it0 + std::min(stretch, opt.iterations - it0);
    follow_thread_budget(budget);
    team.reset();
#pragma omp parallel
    {
      team.enter();
      thread_local MortonQuadtree::List list;
      thread_local std::vector<int32_t> stack;
      for (int it = it0; it < it1 && !stop; ++it) {
        try {
          if (LayoutTeam::leader()) {
            // Whatever fails here, the others are waiting for the publication:
            // it always comes, and they see the failure before using the tree.
            try {
              old_force.swap(force);
              try {
                tree.build(xy, mass, tree_opt);
              } catch (const ValueError& e) {
                throw ValueError("forceatlas2: iteration " + std::to_string(it) + ": " + e.what());
              }
              group_swinging.assign(tree.groups().size(), 0.0);
              group_traction.assign(tree.groups().size(), 0.0);
            } catch (...) {
              fail();
            }
            team.publish(it);
          }
          for (int64_t t = team.next_item();; t = team.next_item()) {
            if (t < n_pull) {
              for (int64_t i = t * kPullBlock; i < std::min(n, (t + 1) * kPullBlock); ++i)
                edges.sum_pull(i, xy, pull[2 * i], pull[2 * i + 1]);
              team.finish_item();
              continue;
            }
            team.wait_published(it);
            team.wait_finished(n_pull);  // the group's nodes' attraction
            if (failing.load()) break;
            const int64_t gi = t - n_pull;
            if (gi >= static_cast<int64_t>(tree.groups().size())) break;
            // All forces on each node of the group, summed on their own:
            // repulsion over the group's list, then gravity and attraction;
            // and the group's share of fa2's swinging and traction.
            const int32_t gid = tree.groups()[gi];
            const MortonQuadtree::Node& grp = tree.nodes()[gid];
            tree.gather(gid, list, stack, kForceAtlas2Lanes);
            float px[kGroupSize], py[kGroupSize];
            double rx[kGroupSize], ry[kGroupSize];
            double swinging = 0, traction = 0;
            // a group at the deepest level may hold more than kGroupSize nodes
            for (int32_t s0 = grp.begin; s0 < grp.end; s0 += kGroupSize) {
              const int np = std::min(kGroupSize, grp.end - s0);
              for (int p = 0; p < np; ++p) {
                px[p] = static_cast<float>(tree.xs()[s0 + p] - grp.cx);
                py[p] = static_cast<float>(tree.ys()[s0 + p] - grp.cy);
              }
              forceatlas2_repulsion_sums(list, px, py, np, rx, ry);
              for (int p = 0; p < np; ++p) {
                const int64_t i = tree.order()[s0 + p];
                const double xi = xy[2 * i], yi = xy[2 * i + 1], mi = mass[i];
                const double kr = opt.scaling_ratio * mi;
                double fx = kr * rx[p], fy = kr * ry[p];
                if (!opt.strong_gravity_mode) {
                  const double dist = std::sqrt(xi * xi + yi * yi);
                  if (dist > 0) {
                    const double f = mi * opt.gravity / dist;
                    fx -= xi * f;
                    fy -= yi * f;
                  }
                } else if (xi != 0 && yi != 0) {
                  const double f = opt.scaling_ratio * mi * opt.gravity;
                  fx -= xi * f;
                  fy -= yi * f;
                }
                if (precomputed_pull) {
                  fx -= pull[2 * i];
                  fy -= pull[2 * i + 1];
                } else {
                  for (int64_t e = edges.ptr[i]; e < edges.ptr[i + 1]; ++e) {
                    const int64_t j = edges.other[e];
                    // fa2 divides by the mass of the edge's first node (the lower index)
                    const double f = -outbound_compensation * edges.weight[e] / mass[std::min(i, j)];
                    fx += (xi - xy[2 * j]) * f;
                    fy += (yi - xy[2 * j + 1]) * f;
                  }
                }
                force[2 * i] = fx;
                force[2 * i + 1] = fy;
                const double sx = old_force[2 * i] - fx, sy = old_force[2 * i + 1] - fy;
                const double tx = old_force[2 * i] + fx, ty = old_force[2 * i + 1] + fy;
                swinging += mi * std::sqrt(sx * sx + sy * sy);
                traction += 0.5 * mi * std::sqrt(tx * tx + ty * ty);
              }
            }
            group_swinging[gi] = swinging;
            group_traction[gi] = traction;
          }
        } catch (...) {
          fail();
        }
        team.barrier();
        if (LayoutTeam::leader()) {
          if (failing.load())
            stop = true;
          else
            move_nodes(n, mass, old_force, force, group_swinging, group_traction, opt, speed, speed_efficiency, xy);
          team.reset_items();
        }
        team.barrier();
      }
    }
  }
  if (failed) std::rethrow_exception(failed);
  return xy;
}

}  // namespace scanpp::tl
