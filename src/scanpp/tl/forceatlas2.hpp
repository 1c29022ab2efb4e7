#pragma once
// ForceAtlas2 (Jacomy et al. 2014) as the fa2 / fa2-modified package runs it
// for Scanpy's tl.draw_graph(layout='fa'): linear repulsion k_r m_i m_j / d
// (Barnes-Hut approximated on a mass-centre quadtree), linear attraction
// w_ij d, weak gravity m_i g, and Gephi's adaptive global speed.
//
// Deterministic for any thread count: per-node forces are summed per node,
// and the quadtree's leaf reactions (fa2 pushes the leaf node back too) are
// added afterwards in a fixed order.
#include <cstdint>
#include <span>
#include <vector>

#include "scanpp/core/sparse.hpp"

namespace scanpp::tl {

// fa2's constructor arguments with the values Scanpy passes (its defaults).
struct ForceAtlas2Options {
  int iterations = 500;
  bool outbound_attraction_distribution = false;  // dissuade hubs
  double edge_weight_influence = 1.0;
  double jitter_tolerance = 1.0;
  bool barnes_hut_optimize = true;
  double barnes_hut_theta = 1.2;
  double scaling_ratio = 2.0;
  bool strong_gravity_mode = false;
  double gravity = 1.0;
};

// Layout of the graph `adjacency` (square; only the upper triangle i < j
// gives edges, as fa2 reads it, so pass a symmetric matrix) started from
// `init` (n x 2, row-major). Returns the n x 2 positions, row-major.
// Throws ValueError for a non-square matrix, a wrong-sized start, non-finite
// start positions or negative iterations.
std::vector<double> forceatlas2(const SparseMatrix& adjacency, std::span<const double> init,
                                const ForceAtlas2Options& opt = {});

}  // namespace scanpp::tl
