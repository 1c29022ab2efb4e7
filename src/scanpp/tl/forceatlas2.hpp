#pragma once
// ForceAtlas2 (Jacomy et al. 2014) with the settings Scanpy's
// tl.draw_graph(layout='fa') passes to the fa2 package: linear repulsion
// k_r m_i m_j / d (Barnes-Hut approximated, fa2's theta in its size/distance
// sense, on tl/morton_quadtree.hpp walked once per group of nearby nodes),
// linear attraction w_ij d, weak gravity m_i g, and Gephi's adaptive global
// speed. The repulsion is the plain pairwise sum (fa2's Barnes-Hut also
// pushes a quadtree leaf back with the force it exerts, a second push for
// close pairs that is not reproduced): the layout has the quality of fa2's,
// not its exact coordinates.
//
// Deterministic for any thread count: each node's forces are summed on
// their own in a fixed order, and the global sums run in a fixed order.
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
