#pragma once
// tl.marker_gene_overlap as Scanpy 1.11 computes it: each group's
// data-derived markers (the top `top_n_markers` names of a rank_genes_groups
// result, or those with adjusted p-value below `adj_pval_threshold`, else the
// top 100) compared with reference marker sets by overlap count (optionally
// normalised by the reference or the data set sizes), overlap coefficient
// |A n B| / max(min(|A|, |B|), 1), or Jaccard index |A n B| / |A u B|.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scanpp/core/anndata.hpp"

namespace scanpp::tl {

// Reference cell types with their marker genes, in the dict's order.
using MarkerSets = std::vector<std::pair<std::string, std::vector<std::string>>>;

struct MarkerGeneOverlapOptions {
  std::string key = "rank_genes_groups";
  std::string method = "overlap_count";   // 'overlap_count', 'overlap_coef', 'jaccard'
  std::optional<std::string> normalize{};  // 'reference' or 'data' (overlap_count only)
  std::optional<int> top_n_markers{};
  std::optional<double> adj_pval_threshold{};
  std::string key_added = "marker_gene_overlap";
  bool inplace = false;  // also store the table as uns[key_added]
};

// The kernel on plain sets: rows = reference groups, columns = data groups.
DataFrame marker_overlap_table(const MarkerSets& reference, const MarkerSets& data, const std::string& method,
                               const std::optional<std::string>& normalize);

// Each group's data-derived marker genes from uns[key] (names / pvals_adj rec-arrays).
MarkerSets data_marker_genes(const AnnData& adata, const MarkerGeneOverlapOptions& opt);

// sc.tl.marker_gene_overlap: the table (float64 columns named by cluster,
// index = reference groups); with opt.inplace also uns[key_added].
DataFrame marker_gene_overlap(AnnData& adata, const MarkerSets& reference_markers,
                              const MarkerGeneOverlapOptions& opt = {});

// pandas' DataFrame.to_csv of a numeric table (floats as Python's repr), written atomically.
void write_table_csv(const DataFrame& df, const std::string& path);

}  // namespace scanpp::tl
