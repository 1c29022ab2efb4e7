#pragma once
// What dotplot, matrixplot and stacked_violin share (Scanpy's BasePlot): the
// common options, the prepared data (values per cell, var groups, dendrogram
// order) and the figure layout: main panel sized 0.37 in per gene and 0.35 in
// per category, brackets above, dendrogram to the right, legend column.
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/pl/figure.hpp"
#include "scanpp/pl/grouped_data.hpp"
#include "scanpp/pl/grouped_dendrogram.hpp"
#include "scanpp/pl/grouped_layout.hpp"

namespace scanpp::pl {

// Parameters every grouped plot takes, with Scanpy's names and defaults.
struct GroupedOptions {
  VarNames var_names;
  std::vector<std::string> groupby;  // one or more obs columns (none: a single group)
  std::optional<bool> use_raw;
  bool log = false;
  int num_categories = 7;
  std::optional<std::string> layer;
  std::optional<std::string> gene_symbols;
  std::optional<std::string> standard_scale;  // 'var' | 'group' ('obs' for violins / heatmap)
  bool dendrogram = false;
  std::optional<std::string> dendrogram_key;
  std::optional<std::string> title;
  std::optional<std::pair<double, double>> figsize;  // inches
  std::optional<double> var_group_rotation;
  std::optional<double> vmin, vmax;
  std::optional<std::vector<std::string>> categories_order;
  double dpi = style::kDpi;
};

// BasePlot.__post_init__ plus add_dendrogram: the data and the display order.
struct PreparedGroups {
  TidyData tidy;
  VarGroups var_groups;                   // after dendrogram regrouping
  std::vector<int64_t> category_order;    // display order of categories (indices)
  std::vector<int64_t> var_order;         // display order of var_names (indices)
  std::optional<DendrogramData> dendro;   // when dendrogram=True and > 2 categories
  std::vector<std::string> ordered_categories() const;
  std::vector<std::string> ordered_var_names() const;
};
PreparedGroups prepare_groups(AnnData& adata, const GroupedOptions& opt);

// BasePlot.make_figure's geometry, in points of a figure of width_in x height_in.
struct BasePlotLayout {
  double width_in = 0, height_in = 0;
  Rect main, group_extra, var_groups, legend, title_area;
  bool has_group_extra = false, has_var_groups = false;
};
BasePlotLayout baseplot_layout(int64_t n_categories, int64_t n_vars, bool has_var_groups, double group_extra_size,
                               double legends_width, const std::optional<std::pair<double, double>>& figsize,
                               double wspace = 0, double min_figure_height = 2.5);

// The main panel's axes: categories down (first on top), genes across, ticks at
// centres (i + 0.5) in small type, gene names vertical; limits with padding.
void setup_main_axes(Axes& ax, const std::vector<std::string>& rows, const std::vector<std::string>& cols,
                     double x_pad, double y_pad, bool rotate_cols = true);

// Everything around the main panel: title, brackets, dendrogram; adds extents to bbox.
void draw_baseplot_frame(Figure& fig, const BasePlotLayout& L, double dx, double dy, const PreparedGroups& p,
                         const GroupedOptions& opt, const Axes& main_ax, BBox& bbox);

}  // namespace scanpp::pl
