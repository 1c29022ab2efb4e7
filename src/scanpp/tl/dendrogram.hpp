#pragma once
// tl.dendrogram as Scanpy 1.11 computes it: the mean profile of each category
// (pandas' groupby().mean(): Kahan-compensated sums in the data's float type),
// the correlation matrix between the profiles (pandas' Welford Pearson, or
// Spearman / Kendall), scipy's linkage of 1 - correlation and scipy's
// dendrogram leaf order, all stored in uns['dendrogram_<groupby>'].
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/tl/linkage.hpp"

namespace scanpp::tl {

struct DendrogramOptions {
  std::vector<std::string> groupby;  // one or more categorical obs columns
  std::optional<int> n_pcs{};
  std::optional<std::string> use_rep{};
  // Non-empty: gene profiles instead of the representation. As in Scanpy 1.11
  // the names themselves are not used: the profiles are all genes of
  // var_names (of raw.var_names with use_raw=True), read from raw when present.
  std::vector<std::string> var_names{};
  std::optional<bool> use_raw{};  // with var_names; None: raw when present
  std::string cor_method = "pearson";    // 'pearson', 'spearman', 'kendall'
  std::string linkage_method = "complete";
  bool optimal_ordering = false;  // scipy's optimal leaf ordering of the linkage
  std::string key_added{};        // "": 'dendrogram_' + groupby joined with '_'
};

// pandas DataFrame.corr between the rows of a row-major n_rows x n_cols matrix,
// clipped to [-1, 1]. method: 'pearson', 'spearman' or 'kendall'.
std::vector<double> row_correlation(const std::vector<double>& m, int64_t n_rows, int64_t n_cols,
                                    const std::string& method);

struct DendrogramResult {
  std::vector<std::string> categories;  // in the categorical's order
  std::vector<double> correlation;      // n x n, row-major
  Linkage linkage;
  DendrogramLayout layout;  // leaves = categories_idx_ordered, ivl = categories_ordered
};

// The kernel on per-category mean profiles (n_groups x dim, row-major).
DendrogramResult dendrogram_from_means(const std::vector<double>& means, int64_t dim,
                                       const std::vector<std::string>& categories,
                                       const std::string& cor_method = "pearson",
                                       LinkageMethod method = LinkageMethod::Complete, bool optimal_ordering = false);

// The uns entry Scanpy writes for a result (linkage, groupby, use_rep,
// cor_method, linkage_method, categories_ordered, categories_idx_ordered,
// dendrogram_info{icoord, dcoord, ivl, leaves, color_list, leaves_color_list},
// correlation_matrix).
Dict dendrogram_uns(const DendrogramResult& r, const DendrogramOptions& opt);

// sc.tl.dendrogram(adata, ...): writes uns[key] and returns the entry.
Dict dendrogram(AnnData& adata, const DendrogramOptions& opt);

// The key a dendrogram for these groupby columns is stored under by default.
std::string dendrogram_key(const std::vector<std::string>& groupby);

}  // namespace scanpp::tl
