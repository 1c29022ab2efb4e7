#pragma once
// The statistics behind tl.rank_genes_groups, on plain matrices: per-group
// means/variances/non-zero counts, Welch's t-test, the Wilcoxon rank-sum
// z-scores, p-value corrections, fold changes and the score ordering, each as
// Scanpy 1.11 (scipy 1.10, statsmodels) computes it.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "scanpp/core/element.hpp"

namespace scanpp::tl {

// Per-group statistics of a cells x genes matrix, row-major n_groups x n_genes.
// "rest" of group g = every cell not in g (including cells of no group).
struct GroupStats {
  int64_t n_groups = 0, n_genes = 0, n_cells = 0;
  std::vector<int64_t> sizes;                  // cells per group
  std::vector<double> means, vars;             // ddof = 1
  std::vector<int64_t> nnz;                    // non-zero entries per group and gene
  std::vector<double> means_rest, vars_rest;   // over the complement of each group
  std::vector<int64_t> nnz_rest;
  double at(const std::vector<double>& v, int64_t g, int64_t j) const { return v[g * n_genes + j]; }
};

// codes: group of each cell in [0, n_groups) or -1 (in no group). Double
// accumulation over the float data; parallel over fixed gene blocks.
GroupStats group_statistics(const Element& x, std::span<const int32_t> codes, int n_groups);

// Wilcoxon rank-sum z-scores (normal approximation, no continuity correction),
// row-major n_groups x n_genes. reference < 0: each group against all other
// cells, ranking every gene once over all cells; else each group against the
// cells of group `reference` (its own row is left 0). tie_correct divides the
// variance by scipy's tiecorrect factor. NaN scores become 0.
std::vector<double> wilcoxon_scores(const Element& x, std::span<const int32_t> codes, int n_groups, int reference,
                                    bool tie_correct);
// The same, also filling *stats (when given) with group_statistics(x, codes,
// n_groups) from the same gene-wise pass over x (sums in cell order, as
// group_statistics' gene-wise path adds them).
std::vector<double> wilcoxon_scores(const Element& x, std::span<const int32_t> codes, int n_groups, int reference,
                                    bool tie_correct, GroupStats* stats);

namespace detail {
// A GroupStats of the right size with the group sizes counted (ValueError on
// a code count or a code out of range); moments still to be stored.
GroupStats start_group_stats(std::span<const int32_t> codes, int n_groups, int64_t n_cells, int64_t n_genes);
// Gene j's per-group and rest moments from its sums: per-group sums sg,
// squares qg and non-zero counts ng, and the totals st, qt, nt over all cells.
void store_gene_moments(GroupStats& s, int64_t j, const double* sg, const double* qg, const int64_t* ng, double st,
                        double qt, int64_t nt);
}  // namespace detail

struct TTestResult {
  double t, p;
};
// scipy.stats.ttest_ind_from_stats(equal_var=False) with Scanpy's clean-up:
// NaN t -> 0, NaN p -> 1.
TTestResult welch_t_test(double mean1, double var1, double n1, double mean2, double var2, double n2);

// P(T > t) for Student's t with df degrees of freedom (scipy's stdtr(df, -t)).
double student_t_sf(double t, double df);
// Two-sided normal p-value 2 * P(Z > |z|).
double normal_two_sided_p(double z);

// statsmodels multipletests(method='fdr_bh') corrected p-values (NaN read as 1).
std::vector<double> benjamini_hochberg(std::vector<double> p);
// min(p * n, 1).
std::vector<double> bonferroni(const std::vector<double>& p);

// log2((expm1(m1) + 1e-9) / (expm1(m2) + 1e-9)), expm1(x ln base) with a base.
double log_fold_change(double mean1, double mean2, std::optional<double> log1p_base);

// The n indices of the largest values (of |value| with by_abs), largest first;
// ties keep the lower index first.
std::vector<int64_t> top_n_indices(std::span<const double> scores, int64_t n, bool by_abs);

}  // namespace scanpp::tl
