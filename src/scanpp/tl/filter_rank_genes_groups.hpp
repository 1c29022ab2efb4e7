#pragma once
// tl.filter_rank_genes_groups (Scanpy 1.11): copies a rank_genes_groups
// result and blanks out (NaN; "nan" on disk, as anndata writes it) every
// listed gene that is not expressed in more than min_in_group_fraction of
// its group's cells, or is expressed in max_out_group_fraction or more of the
// other cells, or whose log2 fold change is not above min_fold_change.
// Fractions and fold changes come from the stored result when it was made
// against 'rest' with the same groupby/use_raw (pts_rest / logfoldchanges),
// else they are recomputed from the data.
#include <optional>
#include <string>

#include "scanpp/core/anndata.hpp"

namespace scanpp::tl {

struct FilterRankGenesGroupsOptions {
  std::string key{};                       // "": 'rank_genes_groups'
  std::optional<std::string> groupby{};    // nullopt: the result's groupby
  std::optional<bool> use_raw{};           // nullopt: the result's use_raw
  std::string key_added = "rank_genes_groups_filtered";
  double min_in_group_fraction = 0.25;
  double min_fold_change = 1;
  double max_out_group_fraction = 0.5;
  bool compare_abs = false;                // compare |log2 fold change|
};

// The text a filtered-out name gets in the record array.
inline constexpr const char* kFilteredName = "nan";

void filter_rank_genes_groups(AnnData& adata, const FilterRankGenesGroupsOptions& opt = {});

}  // namespace scanpp::tl
