#pragma once
// ForceAtlas2's linear repulsion, k_r m_i m_j / d between every pair, summed
// over a Barnes-Hut interaction list (tl/morton_quadtree.hpp) for a group of
// points at once.
#include <cstdint>

#include "scanpp/tl/morton_quadtree.hpp"

namespace scanpp::tl {

// The list entries are padded to a multiple of this (gather's `pad`).
inline constexpr int kForceAtlas2Lanes = 8;

// For each of the np points p (coordinates px, py relative to the list's
// origin): Σ_j w_j (p − q_j) / |p − q_j|² over the list's entries q_j with
// mass w_j, into fx[p], fy[p]; pairs closer than 1e-15 (the point itself,
// coincident points) push nothing, as fa2 skips distance 0. Float lanes
// summed in double in a fixed order: the same sums on every instruction set.
void forceatlas2_repulsion_sums(const MortonQuadtree::List& list, const float* px, const float* py, int np,
                                double* fx, double* fy);

}  // namespace scanpp::tl
