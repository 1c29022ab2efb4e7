#pragma once
// sc.pl.matrixplot: a heatmap of the mean expression per group and gene.
#include <string>

#include "scanpp/pl/grouped_baseplot.hpp"

namespace scanpp::pl {

struct MatrixplotOptions : GroupedOptions {
  std::string cmap = "viridis";  // rcParams image.cmap
  std::string colorbar_title = "Mean expression\nin group";
  std::string edge_color = "gray";
  double edge_lw = 0.1;
  // Cell values from here (rows: categories, columns: genes, by name) instead of the group means.
  std::optional<GroupMatrix> values_df;
};

struct MatrixplotData {
  PreparedGroups groups;
  GroupMatrix values;  // mean per group (after standard_scale), display order
  double vmin = 0, vmax = 1;
};
MatrixplotData matrixplot_data(AnnData& adata, const MatrixplotOptions& opt);
PlotInfo matrixplot(AnnData& adata, const MatrixplotOptions& opt, const std::string& save);

// The legend column of BasePlot-style plots with a colour bar only (matrixplot, stacked_violin).
void draw_colorbar_legend(Figure& fig, const Rect& legend_box, double fig_height_in, double min_figure_height,
                          const Colormap& cmap, double vmin, double vmax, const std::string& title, BBox& bbox);

}  // namespace scanpp::pl
