#pragma once
// Agglomerative hierarchical clustering as scipy.cluster.hierarchy (1.10)
// computes it from a condensed distance matrix: the minimum-spanning-tree
// algorithm for 'single', the nearest-neighbour chain for 'complete',
// 'average', 'weighted' and 'ward' (Lance-Williams updates in scipy's
// arithmetic order), merges stably sorted by height and relabelled by
// union-find, so ties resolve as in scipy; and scipy's dendrogram() leaf order
// and link coordinates (no truncation, no count/distance sorting).
//
// optimal_ordering reorders the merges as scipy's optimal_leaf_ordering
// (Bar-Joseph et al. 2001, in scipy's float32 arithmetic and search order).
//
// Not supported: 'centroid' and 'median' (they need the observation vectors).
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace scanpp::tl {

enum class LinkageMethod { Single, Complete, Average, Weighted, Ward };

// 'single', 'complete', 'average', 'weighted', 'ward'; ValueError otherwise.
LinkageMethod parse_linkage_method(const std::string& name);
const char* linkage_method_name(LinkageMethod m);

// scipy.spatial.distance.squareform of a symmetric n x n row-major matrix with
// a zero diagonal: the upper triangle row by row. ValueError when the matrix
// is not symmetric or its diagonal is not zero (scipy's checks).
std::vector<double> squareform(std::span<const double> square, int64_t n);

// Linkage matrix Z: (n-1) x 4 row-major, rows (cluster a, cluster b, height,
// size) with a < b, clusters >= n being earlier merges (n + row index).
struct Linkage {
  int64_t n = 0;  // number of observations
  std::vector<double> z;
  double at(int64_t row, int col) const { return z[static_cast<size_t>(row * 4 + col)]; }
};

// scipy.cluster.hierarchy.linkage(condensed, method, optimal_ordering).
// ValueError for n < 2, a size mismatch or non-finite distances.
Linkage linkage(std::span<const double> condensed, int64_t n, LinkageMethod method = LinkageMethod::Complete,
                bool optimal_ordering = false);

// scipy.cluster.hierarchy.optimal_leaf_ordering(Z, condensed): the same tree
// with children swapped so that the sum of distances between neighbouring
// leaves is minimal.
Linkage optimal_leaf_ordering(const Linkage& z, std::span<const double> condensed);

// The result of scipy.cluster.hierarchy.dendrogram(Z, labels=..., no_plot=True).
struct DendrogramLayout {
  std::vector<std::array<double, 4>> icoord, dcoord;  // one U-shaped link per merge
  std::vector<std::string> ivl;                       // leaf labels, left to right
  std::vector<int64_t> leaves;                        // leaf observation indices, left to right
  std::vector<std::string> color_list;                // matplotlib colour of each link ('C0'...'C9')
  std::vector<std::string> leaves_color_list;         // colour of the link above each leaf
};

// labels: one per observation (empty: the indices as text, as scipy does).
// color_threshold: nullopt gives scipy's default, 0.7 * the largest height.
DendrogramLayout dendrogram_layout(const Linkage& z, const std::vector<std::string>& labels = {},
                                   std::optional<double> color_threshold = std::nullopt);

}  // namespace scanpp::tl
