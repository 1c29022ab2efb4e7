#pragma once
// sc.pl.heatmap: cells (ordered by group) x genes, with a colour block per
// group on the left, lines between groups, brackets over var groups, an
// optional dendrogram and a colour bar on the right.
#include <optional>
#include <string>

#include "scanpp/pl/grouped_baseplot.hpp"

namespace scanpp::pl {

struct HeatmapOptions : GroupedOptions {
  std::string cmap = "viridis";  // rcParams image.cmap
  std::optional<bool> show_gene_labels;  // None: shown for <= 50 genes
  bool swap_axes = false;
};

struct HeatmapData {
  PreparedGroups groups;
  std::vector<int64_t> cell_order;  // cells top to bottom
  std::vector<std::string> var_names;  // columns left to right
  std::vector<double> values;          // n_cells x n_vars row-major, in display order
  std::vector<std::string> categories;  // display order of the groups
  std::vector<int64_t> group_sizes;     // cells per displayed group
  bool categorical = false;
  double vmin = 0, vmax = 1;
};
HeatmapData heatmap_data(AnnData& adata, const HeatmapOptions& opt);
PlotInfo heatmap(AnnData& adata, const HeatmapOptions& opt, const std::string& save);

// Scanpy's colour blocks for the groups: one cell per observation, coloured by
// its group, labels at the group centres (orientation 'left' or 'bottom').
void draw_group_colorblocks(Figure& fig, const Rect& box, const std::vector<std::string>& categories,
                            const std::vector<int64_t>& sizes, const std::vector<RGBA>& colors,
                            const std::string& groupby, const std::string& orientation, BBox& bbox);

}  // namespace scanpp::pl
