#pragma once
// Union-find and the weakly connected components of a sparse graph, shared by
// neighbors (counting components), DPT (cells in other components are at
// infinite distance) and PAGA (Kruskal's spanning tree).
#include <cstdint>
#include <numeric>
#include <vector>

#include "scanpp/core/sparse.hpp"

namespace scanpp {

class DisjointSets {
 public:
  explicit DisjointSets(int64_t n) : parent_(static_cast<size_t>(n)) {
    std::iota(parent_.begin(), parent_.end(), int64_t{0});
  }
  int64_t find(int64_t a) {
    while (parent_[a] != a) {
      parent_[a] = parent_[parent_[a]];  // path halving
      a = parent_[a];
    }
    return a;
  }
  // Joins the sets of a and b; false when they were already one. The root is
  // the lowest vertex, so labels come out in order of first vertex.
  bool unite(int64_t a, int64_t b) {
    a = find(a);
    b = find(b);
    if (a == b) return false;
    parent_[std::max(a, b)] = std::min(a, b);
    return true;
  }

 private:
  std::vector<int64_t> parent_;
};

// Component label of every vertex (0, 1, ... in order of each component's
// lowest vertex); every stored entry counts as an edge, in either direction.
std::vector<int32_t> connected_component_labels(const SparseMatrix& graph);

}  // namespace scanpp
