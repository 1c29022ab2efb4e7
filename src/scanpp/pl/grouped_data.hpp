#pragma once
// The data side of Scanpy's grouped plots (dotplot, matrixplot, heatmap,
// stacked_violin, tracksplot): which values are plotted for which genes and
// cells (Scanpy's _prepare_dataframe / sc.get.obs_df), how cells are grouped,
// and the per-group summaries the plots colour and size by.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "scanpp/core/anndata.hpp"

namespace scanpp::pl {

// Brackets over runs of var_names: labels with inclusive [start, end] positions.
struct VarGroups {
  std::vector<std::string> labels;
  std::vector<std::pair<int64_t, int64_t>> positions;
  bool empty() const { return labels.empty(); }
  bool operator==(const VarGroups&) const = default;
};

// var_names as Scanpy accepts them: a list, or an ordered mapping label -> genes
// (the mapping's labels and runs become the var groups).
struct VarNames {
  std::vector<std::string> names;
  VarGroups groups;
  static VarNames list(std::vector<std::string> names);
  static VarNames mapping(const std::vector<std::pair<std::string, std::vector<std::string>>>& groups);
  // Explicit var_group_labels / var_group_positions (both or neither; same length).
  void set_groups(std::vector<std::string> labels, std::vector<std::pair<int64_t, int64_t>> positions);
};

// Scanpy's check_use_raw: an explicit choice wins, a layer means X's layers,
// otherwise raw when the object has one.
bool resolve_use_raw(const AnnData& adata, std::optional<bool> use_raw, const std::optional<std::string>& layer);

struct ObsValuesOptions {
  bool use_raw = false;
  std::optional<std::string> layer;
  std::optional<std::string> gene_symbols;  // var column holding the names in `keys`
};
// sc.get.obs_df: one column per key, each an obs column (numeric) or a gene's
// expression in every cell (from raw, X or a layer).
std::vector<std::vector<double>> obs_values(const AnnData& adata, const std::vector<std::string>& keys,
                                            const ObsValuesOptions& opt);

// How cells fall into groups: one category code per cell (-1: in no group).
struct Grouping {
  std::string name;  // groupby joined with '_' ("" without groupby)
  std::vector<std::string> categories;
  std::vector<int32_t> codes;
  int64_t n_categories() const { return static_cast<int64_t>(categories.size()); }
  std::vector<int64_t> counts() const;
};
// A categorical obs column as is; a numeric one cut into `num_categories`
// equal-width bins labelled as pandas.cut labels them; several columns joined
// with '_' in the order of the product of their categories; none: one group "".
Grouping make_grouping(const AnnData& adata, const std::vector<std::string>& groupby, int num_categories = 7);

// pandas.cut(values, bins) interval labels, e.g. "(0.995, 2.0]", and each value's bin.
Grouping cut_into_bins(const std::vector<double>& values, int bins, const std::string& name);

// Scanpy's obs_tidy: cells x var_names values and each cell's group.
struct TidyData {
  Grouping grouping;
  std::vector<std::string> var_names;
  int64_t n_obs = 0;
  std::vector<double> values;  // column-major: values[v * n_obs + cell]
  std::span<const double> column(int64_t v) const {
    return {values.data() + v * n_obs, static_cast<size_t>(n_obs)};
  }
  std::span<double> column(int64_t v) { return {values.data() + v * n_obs, static_cast<size_t>(n_obs)}; }
  int64_t n_vars() const { return static_cast<int64_t>(var_names.size()); }
};

struct PrepareOptions {
  std::optional<bool> use_raw;  // None: raw when present (and no layer)
  bool log = false;             // plot log1p of the values
  int num_categories = 7;
  std::optional<std::string> layer;
  std::optional<std::string> gene_symbols;
};
// Scanpy's _prepare_dataframe.
TidyData prepare_dataframe(const AnnData& adata, const std::vector<std::string>& var_names,
                           const std::vector<std::string>& groupby, const PrepareOptions& opt = {});

// categories x var_names summary, row-major.
struct GroupMatrix {
  std::vector<std::string> rows, cols;
  std::vector<double> v;
  double at(int64_t r, int64_t c) const { return v[static_cast<size_t>(r * n_cols() + c)]; }
  double& at(int64_t r, int64_t c) { return v[static_cast<size_t>(r * n_cols() + c)]; }
  int64_t n_rows() const { return static_cast<int64_t>(rows.size()); }
  int64_t n_cols() const { return static_cast<int64_t>(cols.size()); }
  // The value at the named row and column (first match); NaN when either is absent.
  double lookup(const std::string& row, const std::string& col) const;
  // Rows and columns selected in the given order.
  GroupMatrix reordered(const std::vector<int64_t>& row_order, const std::vector<int64_t>& col_order) const;
};

// Mean per group (pandas groupby().mean(): NaN skipped; a group without cells is NaN).
GroupMatrix group_mean(const TidyData& d);
// Mean over the cells with value > cutoff only (DotPlot mean_only_expressed), 0 when none.
GroupMatrix group_mean_expressed(const TidyData& d, double cutoff);
// Fraction of the group's cells with value > cutoff (DotPlot's dot size).
GroupMatrix group_fraction(const TidyData& d, double cutoff);
// Median per group (StackedViolin's colour).
GroupMatrix group_median(const TidyData& d);

// Scanpy's standard_scale on a summary: "var" scales each column to [0, 1]
// (subtract the min, divide by the max), "group" (or "obs") each row; 0/0 -> 0.
void standard_scale(GroupMatrix& m, const std::string& axis);
// The same on the cells x genes values ("var": per gene, "obs": per cell).
void standard_scale_cells(TidyData& d, const std::string& axis);

// Cells ordered by group as pandas' sort_index orders a categorical index: kept as
// they are when already sorted, else numpy's (unstable) quicksort of the category
// positions, cells without a group last. category_order[k] = the position of category k.
std::vector<int64_t> cells_sorted_by_group(const Grouping& g, const std::vector<int64_t>& category_order);

}  // namespace scanpp::pl
