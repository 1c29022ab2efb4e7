#pragma once
// Scanpy's single-panel plots: scatter, highest_expr_genes,
// highly_variable_genes, pca_variance_ratio, pca_loadings, paga,
// paga_compare, dpt_timeseries. Each draws and saves one figure
// (FigureOptions::save; format from the extension).
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/pl/embedding.hpp"

namespace scanpp::pl {

// sc.pl.scatter(adata, x, y, color): x and y are obs keys or genes.
struct ScatterOptions {
  std::string x, y;
  std::vector<std::string> color;  // obs keys or genes; at most one panel per colour
  std::optional<bool> use_raw;
  std::string layer;
  EmbeddingOptions style;          // colouring, legend, size, ... (basis unused)
  FigureOptions fig;
};
void scatter(AnnData& ad, const ScatterOptions& o);

// sc.pl.highest_expr_genes: boxplots of each cell's percentage of counts in
// the n_top genes with the highest mean percentage (from X).
struct HighestExprGenesOptions {
  int n_top = 30;
  std::string gene_symbols;  // var column to label genes with
  bool log = false;
  FigureOptions fig;         // default size 5 x (0.2 n_top + 1.5) in
};
void highest_expr_genes(const AnnData& ad, const HighestExprGenesOptions& o);
// The genes' positions and per-cell percentages (for tests and the plot).
struct HighestExpr {
  std::vector<int64_t> genes;             // var positions, highest mean first
  std::vector<std::vector<double>> pct;   // [gene][cell]
};
HighestExpr highest_expr(const AnnData& ad, int n_top);

// sc.pl.highly_variable_genes: normalised and raw dispersions (or variances
// for seurat_v3) against means; highly variable genes black, others grey.
struct HvgPlotOptions {
  bool log = false;
  bool highly_variable_genes = true;
  FigureOptions fig;  // default 8 x 4 in
};
void highly_variable_genes(const AnnData& ad, const HvgPlotOptions& o);

// sc.pl.pca_variance_ratio: uns['pca']['variance_ratio'] ranked, PC names as
// vertical labels (Scanpy's ranking plot).
struct PcaVarianceRatioOptions {
  int n_pcs = 30;
  bool log = false;
  FigureOptions fig;
};
void pca_variance_ratio(const AnnData& ad, const PcaVarianceRatioOptions& o);

// sc.pl.pca_loadings: per component, the genes with the highest and lowest loadings.
struct PcaLoadingsOptions {
  std::vector<int> components{1, 2, 3};  // 1-based
  bool include_lowest = true;
  std::optional<int> n_points;           // default min(30, n_vars)
  FigureOptions fig;
};
void pca_loadings(const AnnData& ad, const PcaLoadingsOptions& o);

// sc.pl.paga: the abstracted graph. Node positions from igraph's
// Fruchterman-Reingold layout of the thresholded PAGA connectivities (seeded
// like Scanpy: numpy RandomState(random_state).random_sample((n, 2))),
// stored in uns['paga']['pos']. Node area ~ group size, edge width ~ weight.
struct PagaOptions {
  double threshold = 0.01;
  std::string layout = "fr";
  std::string color;            // default: the PAGA groups' colours
  bool solid_edges_tree = false;  // use connectivities_tree
  double node_size_scale = 1, node_size_power = 0.5, edge_width_scale = 1;
  std::optional<double> min_edge_width, max_edge_width;
  std::optional<double> fontsize;  // default legend.fontsize
  std::string fontweight = "bold";
  double fontoutline = 0;
  bool frameon = true;
  std::string title;
  int64_t random_state = 0;
  bool use_stored_pos = true;   // reuse uns['paga']['pos'] when present
  FigureOptions fig;
};
void paga(AnnData& ad, const PagaOptions& o);
// Positions (n_groups x 2, row-major) as pl.paga computes them.
std::vector<double> paga_positions(const AnnData& ad, const PagaOptions& o);

// sc.pl.paga_compare: the embedding coloured by the groups beside the PAGA graph.
struct PagaCompareOptions {
  std::string basis;  // default: umap, else draw_graph_fa/fr, tsne, pca
  PagaOptions paga;
  FigureOptions fig;
};
void paga_compare(AnnData& ad, const PagaCompareOptions& o);

// sc.pl.dpt_timeseries: X ordered by pseudotime as a heatmap (genes x cells).
struct DptTimeseriesOptions {
  std::string cmap = "viridis";
  FigureOptions fig;
};
void dpt_timeseries(const AnnData& ad, const DptTimeseriesOptions& o);

}  // namespace scanpp::pl
