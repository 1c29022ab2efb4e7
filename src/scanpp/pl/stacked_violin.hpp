#pragma once
// sc.pl.stacked_violin: one row of violins per group (one violin per gene),
// each violin filled by the colormap at the group's median expression.
#include <optional>
#include <string>

#include "scanpp/pl/grouped_baseplot.hpp"
#include "scanpp/pl/kde.hpp"

namespace scanpp::pl {

struct StackedViolinOptions : GroupedOptions {
  std::string cmap = "Blues";
  std::string colorbar_title = "Median expression\nin group";
  bool stripplot = false;
  double jitter = 0;  // stripplot jitter half-width (True = 0.1)
  double size = 1;    // strip point size (diameter, points)
  std::string scale = "width";  // density_norm
  bool yticklabels = false;
  std::optional<std::pair<double, double>> ylim;
  std::optional<std::string> row_palette;  // one colour for every violin instead of the colormap
  double linewidth = 0.2;
  std::optional<std::vector<std::string>> order;  // alias of categories_order in Scanpy's signature
};

struct StackedViolinData {
  PreparedGroups groups;
  GroupMatrix median;  // display order
  double vmin = 0, vmax = 1;
  // violins[row][col] for the displayed rows / columns (after standard_scale).
  std::vector<std::vector<ViolinDensity>> violins;
};
StackedViolinData stacked_violin_data(AnnData& adata, const StackedViolinOptions& opt);
PlotInfo stacked_violin(AnnData& adata, const StackedViolinOptions& opt, const std::string& save);

// seaborn's violin outline colour for a set of fill colours: grey at 0.6 of the darkest lightness.
RGBA violin_edge_gray(const std::vector<RGBA>& fills);
// Draws one violin (already normalised density) centred at x = `center` (data units) with
// half-width 0.4 * density, into `ax` (limits set).
void draw_violin(Axes& ax, const ViolinDensity& v, double center, double half_width, const RGBA& fill,
                 const RGBA& edge, double linewidth);

}  // namespace scanpp::pl
