#pragma once
// sc.get.rank_genes_groups_df (Scanpy 1.11): a rank_genes_groups result as
// one long table — for each requested group, its ranked genes with scores,
// logfoldchanges, pvals, pvals_adj (names and scores only for logreg),
// filtered by adjusted p-value and fold-change cut-offs, with the gene
// symbol column and the pts / pts_rest fractions (pct_nz_group,
// pct_nz_reference) joined when present. The 'group' column is dropped when
// a single group is asked for.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "scanpp/core/anndata.hpp"

namespace scanpp::get {

struct RankGenesGroupsDfOptions {
  std::vector<std::string> groups{};   // empty: every group of the result
  std::string key = "rank_genes_groups";
  std::optional<double> pval_cutoff{};  // keep pvals_adj < cutoff
  std::optional<double> log2fc_min{};   // keep logfoldchanges > min
  std::optional<double> log2fc_max{};   // keep logfoldchanges < max
  std::optional<std::string> gene_symbols{};  // var column joined on names
};

// A column of the table: text, float32 (scores, logfoldchanges) or float64.
struct DfColumn {
  std::string name;
  std::variant<std::vector<std::string>, std::vector<float>, std::vector<double>> values;
};

struct RankGenesGroupsDf {
  std::vector<DfColumn> columns;
  int64_t n_rows() const;
  const DfColumn& column(const std::string& name) const;  // KeyError when absent
};

RankGenesGroupsDf rank_genes_groups_df(const AnnData& adata, const RankGenesGroupsDfOptions& opt = {});

// CSV as pandas' to_csv(index=False) writes it (shortest round-trip numbers,
// empty cells for NaN), written atomically.
void write_csv(const RankGenesGroupsDf& df, const std::string& path);

}  // namespace scanpp::get
