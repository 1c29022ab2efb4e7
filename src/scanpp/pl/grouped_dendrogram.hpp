#pragma once
// The dendrogram that grouped plots draw beside their categories
// (dendrogram=True): read from uns['dendrogram_<groupby>'] as tl.dendrogram
// stores it (computed with tl.dendrogram's defaults when absent, as Scanpy
// does), the category / var-group reordering it implies, and its drawing.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/pl/grouped_data.hpp"

namespace scanpp::pl {

class Axes;

struct DendrogramData {
  std::vector<std::string> groupby;
  std::vector<int64_t> categories_idx_ordered;
  std::vector<std::string> categories_ordered;
  std::vector<std::string> ivl;
  std::vector<std::array<double, 4>> icoord, dcoord;
};

// Scanpy's _get_dendrogram_key: `key` if given, else 'dendrogram_' + groupby
// joined by '_'; runs tl.dendrogram with defaults when the entry is missing.
// KeyError/ValueError when the entry is not a dendrogram or is for other groupby columns.
DendrogramData dendrogram_data(AnnData& adata, const std::vector<std::string>& groupby,
                               const std::optional<std::string>& key);

// Scanpy's _reorder_categories_after_dendrogram: categories in leaf order; var
// names regrouped to follow them when the var-group labels are exactly the
// categories (rank_genes_groups plots), else kept.
struct DendrogramOrder {
  std::vector<int64_t> categories_idx_ordered;
  std::vector<int64_t> var_names_idx_ordered;  // identity when not regrouped
  VarGroups var_groups;
};
DendrogramOrder reorder_after_dendrogram(const DendrogramData& d, const std::vector<std::string>& categories,
                                         int64_t n_vars, const VarGroups& groups);

// Draws the links into `ax` (limits already set): leaves at the positions
// `ticks` (data units along the category axis, in leaf order; scipy's 5, 15,
// ... are mapped onto them piecewise linearly as Scanpy's translate_pos);
// orientation 'right' (leaves on the left, root to the right, categories along
// y) or 'top' (leaves at the bottom, categories along x). The distance axis
// limits are set from the links (matplotlib's autoscale, 5% margins).
void draw_dendrogram_links(Axes& ax, const DendrogramData& d, const std::vector<double>& ticks,
                           const std::string& orientation);

}  // namespace scanpp::pl
