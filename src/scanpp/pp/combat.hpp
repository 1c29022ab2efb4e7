#pragma once
// Scanpy's pp.combat (1.11, after combat.py by Pedersen): ComBat empirical-Bayes
// batch correction (Johnson, Li & Rabinovic 2007) with parametric priors and
// no covariates.
//
// Per gene g: batch means b̂ and the pooled variance σ² = mean over all cells
// of (x − b̂_batch)² (divided by n, not n−1) standardise the data around the
// grand mean; per batch, γ̂ (mean of the standardised data) and δ̂ (its
// variance, ddof=1) are shrunk towards priors fitted across genes (γ̄, τ² with
// ddof=0; inverse-gamma a, b from the mean and ddof=1 variance of δ̂) by
// Scanpy's iteration (_it_sol, stopping when the largest relative change of γ
// and δ, as Scanpy computes it, is at most `conv`). Everything is float64; the
// result is a dense float64 matrix, as in Scanpy. Genes with zero pooled
// variance come out as their mean.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/array.hpp"
#include "scanpp/core/sparse.hpp"

namespace scanpp::pp {

struct CombatResult {
  Array X;  // corrected data, n_obs x n_vars, float64
  // Per batch b (in the order of the batch codes), per gene g: the empirical-Bayes estimates.
  std::vector<std::vector<double>> gamma_star, delta_star;
  std::vector<int> iterations;  // _it_sol iterations per batch
};

// X: dense (any numeric dtype) or sparse (densified), cells x genes. `batch[i]`
// is the batch of cell i in [0, n_batches); batches without cells are skipped,
// batches with a single cell are an error (as in Scanpy).
CombatResult combat(const Array& X, std::span<const int32_t> batch, int64_t n_batches, double conv = 1e-4);
CombatResult combat(const SparseMatrix& X, std::span<const int32_t> batch, int64_t n_batches, double conv = 1e-4);

struct CombatOptions {
  std::string key = "batch";  // obs column with the batches (categorical, strings or numbers)
  // Additional covariates (Scanpy's `covariates`). Not implemented yet: a
  // non-empty list is rejected with a ValueError rather than ignored.
  std::vector<std::string> covariates = {};
  bool inplace = true;  // replace adata.X; false returns the corrected matrix
};

// sc.pp.combat(adata, key=...): with inplace, adata.X becomes the dense float64
// corrected matrix and nullopt is returned; otherwise the matrix is returned.
std::optional<Array> combat(AnnData& adata, const CombatOptions& opt = {});

}  // namespace scanpp::pp
