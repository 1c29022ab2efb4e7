#pragma once
// sc.pl.dotplot: per group and gene a dot whose size is the fraction of the
// group's cells expressing the gene (value > expression_cutoff) and whose
// colour is the group's mean expression; size legend and colour bar on the right.
#include <optional>
#include <string>

#include "scanpp/pl/grouped_baseplot.hpp"

namespace scanpp::pl {

struct DotplotOptions : GroupedOptions {
  double expression_cutoff = 0;
  bool mean_only_expressed = false;
  std::string cmap = "Reds";
  std::optional<double> dot_max, dot_min;  // fractions in [0, 1]; None: ceil(max frac, 0.1) and 0
  double smallest_dot = 0;                 // marker areas (points^2)
  double largest_dot = 200;
  double size_exponent = 1.5;
  double dot_edge_lw = 0.2;
  std::string colorbar_title = "Mean expression\nin group";
  std::string size_title = "Fraction of cells\nin group (%)";
  // Colours from these values (rows: categories, columns: genes, looked up by
  // name) instead of the group means; standard_scale is then not applied.
  std::optional<GroupMatrix> dot_color_df;
};

// The numbers a dotplot draws, rows and columns in display order.
struct DotplotData {
  PreparedGroups groups;
  GroupMatrix color;  // mean (after standard_scale)
  GroupMatrix fraction;
  GroupMatrix size;   // marker area in points^2 (matplotlib's s)
  double dot_min = 0, dot_max = 1;
  double vmin = 0, vmax = 1;  // colour normalisation
};
DotplotData dotplot_data(AnnData& adata, const DotplotOptions& opt);

// Draws to `save` (.png/.svg/.pdf). May write uns['dendrogram_<groupby>'].
PlotInfo dotplot(AnnData& adata, const DotplotOptions& opt, const std::string& save);

// Scanpy's DotPlot size legend values: the fractions shown and their marker areas.
std::pair<std::vector<double>, std::vector<double>> dot_size_legend(double dot_min, double dot_max,
                                                                    double smallest_dot, double largest_dot,
                                                                    double size_exponent);

}  // namespace scanpp::pl
