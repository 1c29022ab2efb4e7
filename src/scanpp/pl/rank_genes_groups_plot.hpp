#pragma once
// Plots of a tl.rank_genes_groups result (uns['rank_genes_groups'] or `key`):
// the per-group panels of ranked gene names at their scores, and the grouped
// plots of each group's top genes (dotplot, matrixplot, heatmap,
// stacked_violin, tracksplot) and per-group split violins.
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/pl/dotplot.hpp"
#include "scanpp/pl/heatmap.hpp"
#include "scanpp/pl/matrixplot.hpp"
#include "scanpp/pl/stacked_violin.hpp"
#include "scanpp/pl/tracksplot.hpp"

namespace scanpp::pl {

// The parts of a rank_genes_groups entry the plots read.
struct RankedGenes {
  std::string key, groupby, reference;
  bool use_raw = true;
  std::vector<std::string> group_names;  // field order of the record arrays
  std::map<std::string, std::vector<std::string>> names;
  std::map<std::string, std::vector<double>> scores, logfoldchanges;  // logfoldchanges may be absent
  std::map<std::string, std::vector<double>> pvals, pvals_adj;         // may be absent (logreg)
};
// KeyError when uns[key] is missing or not a rank_genes_groups result.
// max_genes: keep only each group's first (best ranked) max_genes entries,
// for plots that show no more (the record arrays hold every gene).
RankedGenes read_ranked_genes(const AnnData& adata, const std::string& key = "rank_genes_groups",
                              size_t max_genes = std::numeric_limits<size_t>::max());

struct RankGenesGroupsPlotOptions {
  std::optional<std::vector<std::string>> groups;  // None: all
  int n_genes = 20;
  std::optional<std::string> gene_symbols;  // var column to label genes with
  std::string key = "rank_genes_groups";
  double fontsize = 8;
  int ncols = 4;
  bool sharey = true;
  double dpi = style::kDpi;
};
// sc.pl.rank_genes_groups.
PlotInfo rank_genes_groups_plot(AnnData& adata, const RankGenesGroupsPlotOptions& opt, const std::string& save);

// Which genes the grouped rank_genes_groups_* plots show (Scanpy's _rank_genes_groups_plot).
struct RankedSelection {
  std::optional<std::vector<std::string>> groups;
  std::optional<int> n_genes;  // None: 10; negative: the bottom genes
  std::optional<std::string> groupby;  // None: the result's groupby
  std::string key = "rank_genes_groups";
  std::optional<double> min_logfoldchange;
  std::optional<std::vector<std::string>> var_names;  // instead of n_genes
  std::optional<std::string> gene_symbols;
  // dotplot / matrixplot only: colour by this DE statistic of each group
  // instead of expression: 'scores', 'logfoldchanges', 'pvals', 'pvals_adj',
  // 'log10_pvals', 'log10_pvals_adj' (-log10). Needs results for all genes.
  std::optional<std::string> values_to_plot;
};
// Scanpy's _get_values_to_plot: rows the result's groups, columns `genes`
// (by name), missing values 1; and the colour bar title Scanpy gives it.
std::pair<GroupMatrix, std::string> ranked_values(const AnnData& adata, const RankedSelection& sel,
                                                  const std::vector<std::string>& genes);
// var_names as a mapping group -> its top genes (groups without genes dropped), and the groupby.
std::pair<VarNames, std::string> ranked_var_names(const AnnData& adata, const RankedSelection& sel);

// The grouped plots with var_names/groupby from the DE result; the options'
// own var_names/groupby are replaced. Scanpy turns the dendrogram on by
// default here: pass the options with dendrogram as wanted (true by default
// through default_rank_options()).
PlotInfo rank_genes_groups_dotplot(AnnData& adata, const RankedSelection& sel, DotplotOptions opt,
                                   const std::string& save);
PlotInfo rank_genes_groups_matrixplot(AnnData& adata, const RankedSelection& sel, MatrixplotOptions opt,
                                      const std::string& save);
PlotInfo rank_genes_groups_heatmap(AnnData& adata, const RankedSelection& sel, HeatmapOptions opt,
                                   const std::string& save);
PlotInfo rank_genes_groups_stacked_violin(AnnData& adata, const RankedSelection& sel, StackedViolinOptions opt,
                                          const std::string& save);
PlotInfo rank_genes_groups_tracksplot(AnnData& adata, const RankedSelection& sel, TracksplotOptions opt,
                                      const std::string& save);

struct RankGenesGroupsViolinOptions {
  std::optional<std::vector<std::string>> groups;
  int n_genes = 20;
  std::optional<std::vector<std::string>> gene_names;
  std::optional<std::string> gene_symbols;
  std::optional<bool> use_raw;  // None: the result's use_raw
  std::string key = "rank_genes_groups";
  bool split = true;
  std::string density_norm = "width";
  bool strip = true;
  double jitter = 0.1;
  double size = 1;
  double dpi = style::kDpi;
  uint64_t seed = 0;
};
// One figure per group (group vs. reference), written to `save` with
// "_<group>" before the extension when there are several groups. Returns one info per figure.
std::vector<PlotInfo> rank_genes_groups_violin(AnnData& adata, const RankGenesGroupsViolinOptions& opt,
                                               const std::string& save);

}  // namespace scanpp::pl
