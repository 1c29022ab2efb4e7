#pragma once
// A Barnes-Hut quadtree for 2-D force layouts (ForceAtlas2; t-SNE can use it
// too), built for a few thousand points rebuilt every iteration:
//
// - The points are sorted by Morton code (the last build's order
//   insertion-sorted when the points moved little, else a radix sort), so
//   every node is a contiguous range of sorted points and the whole tree is
//   one flat array, reused between builds.
// - The tree is walked once per group (a node of at most `group_size`
//   points) instead of once per point. A node is summarised by its centre of
//   mass when its size is below theta times the distance from that centre to
//   the group's bounding box; that implies the per-point criterion for every
//   point of the group, so the approximation is at least as tight as
//   point-by-point Barnes-Hut with the same theta. The walk yields a flat list
//   (summaries, and the points of opened leaves exactly) that the caller's
//   kernel sums over for all the group's points at once. It runs as the
//   opening test over all nodes at once (in vectors, on a copy of the nodes
//   in depth-first order), then a scan of that order that jumps over each
//   summarised subtree: the list of the plain depth-first walk, without a
//   stack walk whose every step waits on the last one's test.
//
// Everything depends on the positions only (no thread count, no timing), so
// layouts built on it are bit-identical for any number of threads.
#include <cstdint>
#include <span>
#include <vector>

namespace scanpp::tl {

struct MortonQuadtreeOptions {
  double theta = 0.5;  // 0 opens every node (exact sums)
  // How a node's size is measured for the opening test:
  // longest_side: the longer side of its points' bounding box (van der
  //   Maaten's Barnes-Hut t-SNE);
  // twice_radius: twice the distance from its mass centre to its farthest
  //   point (fa2's Region.size), bounded from above through the children for
  //   inner nodes, so the test is never looser than fa2's.
  enum class Size { longest_side, twice_radius } size = Size::longest_side;
  int leaf_size = 8;    // a node of at most this many points is not split
  int group_size = 64;  // points sharing one walk
};

class MortonQuadtree {
 public:
  struct Node {
    double cx, cy;  // centre of mass
    double mass;    // total mass (point count for unit masses)
    double open2;   // (size / theta)^2: summarise when the squared distance exceeds it
    int32_t begin, end;                        // range of sorted points
    int32_t first_child = -1, n_children = 0;  // children are consecutive nodes
  };
  struct Box {
    double x0, x1, y0, y1;
  };
  // One walk's result: n entries (x, y relative to the group's origin, and
  // mass), the last of them zero-mass padding that makes n a multiple of the
  // `pad` given to gather.
  struct List {
    std::vector<float> x, y, w;
    int64_t n = 0;
  };

  // Builds the tree over the n points xy (n x 2, row-major) with masses
  // `mass` (n values; empty for unit masses). ValueError for a non-finite
  // coordinate or mass, a negative mass, mismatched sizes, or more than
  // 2^30 points.
  void build(std::span<const double> xy, std::span<const double> mass, const MortonQuadtreeOptions& opt);

  int64_t size() const { return static_cast<int64_t>(order_.size()); }
  // sorted position -> point index
  const std::vector<int32_t>& order() const { return order_; }
  // positions and masses in sorted order
  const std::vector<double>& xs() const { return xs_; }
  const std::vector<double>& ys() const { return ys_; }
  const std::vector<double>& masses() const { return ms_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  // The group nodes, in sorted order: their point ranges tile [0, n). A leaf
  // at the deepest level (points closer than the quantisation) may hold more
  // than group_size points.
  const std::vector<int32_t>& groups() const { return groups_; }

  // The interaction list of group node g, relative to its mass centre
  // (nodes()[g].cx, .cy): the group's own points appear in it exactly (the
  // kernel must drop self-pairs); entries in depth-first order, children in
  // quadrant order. `stack` is scratch. Thread-safe for distinct lists and
  // stacks.
  void gather(int32_t g, List& list, std::vector<int32_t>& stack, int pad) const;

 private:
  bool resort_by_code(int64_t n);
  void sort_by_code(int64_t n);
  void build_node(int32_t id, int32_t b, int32_t e, int level, bool in_group);
  void summarise(int32_t id, double sx, double sy, double m, double radius, const Box& box);
  void build_preorder();

  MortonQuadtreeOptions opt_;
  double inv_theta2_ = 0;
  std::vector<uint64_t> code_, code_tmp_;
  std::vector<int32_t> order_, order_tmp_;
  std::vector<double> xs_, ys_, ms_;
  std::vector<Node> nodes_;
  std::vector<Box> boxes_;
  std::vector<double> radius_;  // per node: distance from the mass centre to its farthest point (bound)
  std::vector<int32_t> groups_;
  // The nodes again in depth-first preorder (children in quadrant order), as
  // columns padded to a multiple of 8 entries: what gather reads. The opening
  // test then runs over all nodes at once in vectors, and the walk is a scan
  // that jumps over summarised subtrees (pre_skip_: one past the subtree),
  // instead of a stack walk whose every step waits on the last.
  int32_t n_pre_ = 0;
  std::vector<double> pre_cx_, pre_cy_, pre_mass_, pre_open2_;
  std::vector<int32_t> pre_skip_, pre_leaf_begin_, pre_leaf_end_;  // leaf range empty for inner nodes
  std::vector<int32_t> pre_parent_;                                 // -1 for the root
  std::vector<int32_t> pre_slot_;                                   // node id -> preorder slot
  std::vector<int32_t> pre_order_, pre_stack_;                      // build scratch
};

}  // namespace scanpp::tl
