#pragma once
// sc.pl.embedding and its shortcuts (umap, tsne, pca, diffmap, draw_graph):
// cells as points in two components of an obsm basis, coloured by obs
// columns or genes, one panel per colour.
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/pl/figure.hpp"

namespace scanpp::pl {

// vmin / vmax as Scanpy takes them: a number, or "pNN" for the NN-th percentile
// of the panel's values.
struct VBound {
  std::optional<double> value;
  std::optional<double> percentile;
  // "3.5" or "p99.5"; ValueError otherwise.
  static VBound parse(const std::string& s);
  double resolve(const std::vector<double>& values) const;
};

// Figure-level options shared by all pl functions of this module.
struct FigureOptions {
  std::optional<std::array<double, 2>> figsize;  // inches; Scanpy style: 4 x 4
  double dpi = style::kDpi;
  std::string save;  // output path; the format from its extension (required)
};

struct EmbeddingOptions {
  std::string basis;                        // obsm key, with or without "X_"
  std::vector<std::string> color;           // obs keys or genes; empty = one grey panel
  std::optional<bool> use_raw;              // default: raw present and no layer
  std::string layer;
  std::vector<std::string> groups;          // categorical: others drawn in na_color
  std::array<int, 2> components{1, 2};      // 1-based
  bool sort_order = true;                   // higher values on top, missing at the bottom
  std::string legend_loc = "right margin";  // 'right margin', 'on data', 'none'
  std::optional<double> legend_fontsize;    // right margin 0.92 * 14, on data 14
  std::string legend_fontweight = "bold";   // on data: 'bold' or 'normal'
  std::optional<double> legend_fontoutline; // on data: white halo width (points)
  std::optional<double> size;               // marker area s (points^2); default 120000 / n_cells
  std::string cmap = "viridis";             // color_map
  std::optional<std::vector<std::string>> palette;
  std::string na_color = "lightgray";
  bool na_in_legend = true;
  bool frameon = true;
  std::vector<std::string> title;           // per panel; default the colour key
  std::vector<VBound> vmin, vmax;           // one for all panels or one per panel
  int ncols = 4;
  double hspace = 0.25;
  std::optional<double> wspace;             // default 0.75 / figsize_w + 0.02
  bool annotate_var_explained = false;      // pca: "PC1 (12.3%)"
  FigureOptions fig;
};

// Draws and saves the figure; may set uns['<key>_colors'] (and converts
// string/bool obs columns it colours by to categoricals, as Scanpy does).
void embedding(AnnData& ad, const EmbeddingOptions& o);

// Axis name of a basis: umap → UMAP, tsne → tSNE, pca → PC, diffmap → DC,
// draw_graph_fa → FA; others as given (without "X_").
std::string basis_axis_name(const std::string& basis);
// The obsm matrix of a basis ("umap" finds "X_umap"); KeyError when absent.
const Array& basis_matrix(const AnnData& ad, const std::string& basis);

// One scatter panel's content, drawn into a box (used by embedding,
// scatter and paga_compare).
struct ScatterPanel {
  std::vector<double> x, y;  // data coordinates in drawing order
  std::vector<RGBA> colors;  // per point
  double s = 20;             // marker area (points^2), '.' marker
  std::string title, xlabel, ylabel;
  bool frameon = true, hide_ticks = true;
  // Legend (categorical) or colour bar (continuous).
  std::vector<LegendEntry> legend;
  std::string legend_loc = "right margin";
  double legend_fontsize = style::kLegendFontSize;
  bool legend_bold = true;
  double legend_outline = 0;
  std::vector<std::pair<double, double>> on_data_at;  // data coordinates of each legend label
  bool colorbar = false;
  std::string cmap = "viridis";
  double vmin = 0, vmax = 1;
};

// Builds a panel coloured by `key` (or grey when key is empty) for points (x, y).
// gene_column: the key's expression when the caller already took it out of
// the matrix (gene_values_prefetch), instead of another pass over it.
ScatterPanel make_scatter_panel(AnnData& ad, const std::vector<double>& x, const std::vector<double>& y,
                                const std::string& key, const EmbeddingOptions& o, size_t panel_index,
                                const std::vector<double>* gene_column = nullptr);
// Space the panel needs beyond `axes_box` on the right (legend / colour bar labels), in points.
double panel_right_extent(const ScatterPanel& p, const Rect& axes_box);
// `fit`: shrink the axes so tick labels and axis labels stay inside this box.
void draw_scatter_panel(Figure& fig, const Rect& axes_box, const ScatterPanel& p, const Rect* fit = nullptr);

}  // namespace scanpp::pl
