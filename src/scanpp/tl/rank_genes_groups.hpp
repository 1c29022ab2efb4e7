#pragma once
// tl.rank_genes_groups as in Scanpy 1.11: for each group of a categorical obs
// column, score every gene for differential expression against the rest of
// the cells (or a reference group) with Welch's t-test, the t-test with the
// group's size standing in for the rest's, the Wilcoxon rank-sum test, or
// multinomial logistic regression; rank genes by score and store the
// results as Scanpy's record arrays in uns.
//
// Kernels on plain matrices live in rank_genes_groups_stats.hpp and
// rank_genes_groups_logreg.hpp; this header is the AnnData-level API.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/tl/rank_genes_groups_logreg.hpp"

namespace scanpp::tl {

enum class RankGenesMethod { TTest, TTestOverestimVar, Wilcoxon, Logreg };
enum class CorrMethod { BenjaminiHochberg, Bonferroni };

// "t-test", "t-test_overestim_var", "wilcoxon", "logreg"; ValueError otherwise.
RankGenesMethod parse_rank_genes_method(const std::string& s);
std::string to_string(RankGenesMethod m);
// "benjamini-hochberg", "bonferroni"; ValueError otherwise.
CorrMethod parse_corr_method(const std::string& s);
std::string to_string(CorrMethod m);

struct RankGenesGroupsOptions {
  std::string groupby;                 // categorical obs column (strings are categorised)
  std::optional<bool> use_raw{};       // nullopt: raw when adata.raw exists
  std::vector<std::string> groups{};   // empty: 'all' categories; else in the given order
  std::string reference = "rest";      // 'rest' or a category
  std::optional<int64_t> n_genes{};    // nullopt: all genes
  bool rankby_abs = false;             // order by |score| (stored scores keep their sign)
  bool pts = false;                    // fraction of cells expressing each gene
  std::string key_added{};             // "": 'rank_genes_groups'
  RankGenesMethod method = RankGenesMethod::TTest;
  CorrMethod corr_method = CorrMethod::BenjaminiHochberg;
  bool tie_correct = false;            // wilcoxon only
  std::string layer{};                 // "": X (or raw.X)
  std::optional<std::string> mask_var{};  // boolean var column restricting the genes
  LogregOptions logreg{};              // sklearn LogisticRegression keywords
};

// One compared group's ranked results (the first n_genes genes by score).
struct RankedGroup {
  std::string name;
  std::vector<int64_t> genes;            // positions among the tested genes, best first
  std::vector<float> scores;
  std::vector<float> logfoldchanges;     // empty for logreg
  std::vector<double> pvals, pvals_adj;  // empty for logreg
};

struct RankGenesGroupsResult {
  std::vector<std::string> var_names;    // the tested genes
  std::vector<std::string> groups_order; // every selected group (reference included)
  std::vector<RankedGroup> groups;       // the compared groups (reference excluded)
  // Fractions of expressing cells, genes x groups_order (column-major per
  // group: pts[g][j]); pts_rest only against 'rest'. Empty unless opt.pts.
  std::vector<std::vector<double>> pts, pts_rest;
};

// Computes the ranking without touching adata (except that stored zeros of a
// sparse input matrix are not relied upon).
RankGenesGroupsResult rank_genes_groups_compute(const AnnData& adata, const RankGenesGroupsOptions& opt);

// Runs the ranking and writes uns[key_added] = {params, names, scores,
// logfoldchanges, pvals, pvals_adj, [pts, pts_rest]} as Scanpy does.
void rank_genes_groups(AnnData& adata, const RankGenesGroupsOptions& opt);

// The uns dict Scanpy writes for a result (exposed for tests and get).
Dict rank_genes_groups_uns(const RankGenesGroupsResult& r, const RankGenesGroupsOptions& opt, bool use_raw);

}  // namespace scanpp::tl
