#pragma once
// tl.score_genes as Scanpy 1.11 computes it (Tirosh et al. 2016 / Seurat's
// AddModuleScore): the mean expression of a gene set minus the mean of
// control genes drawn from the same expression bins. Genes of the pool are
// binned by rank_min(mean) // round(|pool| / (n_bins - 1)); from every bin
// holding a gene of the set, `ctrl_size` genes are drawn without replacement
// with numpy's legacy global stream seeded by `random_state` (pandas'
// Series.sample = RandomState.choice = permutation(n)[:size]), so the same
// control genes are chosen as in Scanpy.
//
// Means follow numpy/Scanpy precision: sparse matrices in float64; a dense
// float32 matrix's gene means (which decide the bins, ties included) in
// float32 as np.nanmean computes them; cell scores always in float64.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/numpy_random.hpp"

namespace scanpp::tl {

struct ScoreGenesOptions {
  bool ctrl_as_ref = true;  // control genes may include genes of the set (then dropped after sampling)
  int ctrl_size = 50;
  std::optional<std::vector<std::string>> gene_pool{};  // None: every gene
  int n_bins = 25;
  std::string score_name = "score";
  int64_t random_state = 0;     // np.random.seed(random_state), in [0, 2^32)
  std::optional<bool> use_raw{};  // None: raw when present and no layer
  std::optional<std::string> layer{};
};

struct GeneScores {
  std::vector<double> scores;              // one per cell (float64)
  std::vector<std::string> gene_list;      // the set's genes found in var_names, in the given order
  std::vector<std::string> control_genes;  // sorted, as pandas' Index.union leaves them
};

// The kernel: X is cells x genes (dense Array or SparseMatrix of any numeric
// dtype) with the given gene names. Draws from `rng` (already seeded).
GeneScores score_genes_matrix(const Element& X, const std::vector<std::string>& var_names,
                              const std::vector<std::string>& gene_list, const ScoreGenesOptions& opt,
                              random::NumpyRandomState& rng);

// sc.tl.score_genes(adata, gene_list, ...): writes obs[score_name] (float64).
GeneScores score_genes(AnnData& adata, const std::vector<std::string>& gene_list,
                       const ScoreGenesOptions& opt = {});

// sc.tl.score_genes_cell_cycle: score_genes for both lists with
// ctrl_size = min(|s_genes|, |g2m_genes|), writing obs 'S_score' and
// 'G2M_score'; obs 'phase' (categorical) is 'S', 'G2M' where G2M_score >
// S_score, and 'G1' where both scores are negative. `opt` supplies the other
// score_genes parameters (its ctrl_size and score_name are ignored).
void score_genes_cell_cycle(AnnData& adata, const std::vector<std::string>& s_genes,
                            const std::vector<std::string>& g2m_genes, const ScoreGenesOptions& opt = {});

// The phase rule on two score vectors.
std::vector<std::string> cell_cycle_phase(const std::vector<double>& s_score, const std::vector<double>& g2m_score);

}  // namespace scanpp::tl
