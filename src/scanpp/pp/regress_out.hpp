#pragma once
// Scanpy's pp.regress_out (1.11): per gene, the residual of a least-squares
// fit of the gene on [1, covariates]. The intercept is part of the fit and is
// removed with the rest, so every residual column has mean ~0.
//
// Three paths, as Scanpy takes them:
//  * continuous covariates with det(RᵀR) != 0: closed form β = inv(RᵀR)(RᵀX)
//    in float64, residuals written back in X's float dtype (float32 stays
//    float32; integer X becomes float32 if its items are <= 4 bytes, else float64);
//  * continuous covariates with a singular RᵀR: per-gene least squares with
//    the minimum-norm solution (statsmodels' GLM fallback), float64 output;
//  * one categorical covariate: the regressor of gene g is its per-category
//    mean (accumulated in X's float dtype, as Scanpy's numba kernel does), each
//    gene fit on [1, mean_g]; float64 output.
// On both float64 paths genes that are constant over cells are returned unchanged.
// Sparse X is densified (Scanpy does the same) and the AnnData-level call says so on stderr;
// on the closed-form path a float CSR with sorted unique indices is expanded row by
// row as its residuals are written (RᵀX comes from the stored values), with the
// same numbers as densifying first.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/array.hpp"
#include "scanpp/core/sparse.hpp"

namespace scanpp::pp {

enum class RegressOutPath { ClosedForm, LeastSquares, Categorical };

struct RegressOutResult {
  Array X;  // residuals, n_obs x n_vars
  RegressOutPath path = RegressOutPath::ClosedForm;
};

// Continuous covariates: `covariates[k]` is one column of length n_obs (no
// intercept: it is added first, as Scanpy does). X is a 2-D dense array of any
// numeric dtype; it is taken by value so a moved-in float matrix is reused in place.
RegressOutResult regress_out_continuous(Array X, const std::vector<std::vector<double>>& covariates);
RegressOutResult regress_out_continuous(const SparseMatrix& X, const std::vector<std::vector<double>>& covariates);

// One categorical covariate: `codes[i]` in [0, n_categories) or -1 for missing
// (missing cells get regressor 0, as in Scanpy).
RegressOutResult regress_out_categorical(Array X, std::span<const int32_t> codes, int64_t n_categories);
RegressOutResult regress_out_categorical(const SparseMatrix& X, std::span<const int32_t> codes,
                                         int64_t n_categories);

struct RegressOutOptions {
  std::optional<std::string> layer = std::nullopt;  // regress adata.layers[layer] instead of X
};

// sc.pp.regress_out(adata, keys, layer=...). If keys[0] is a categorical obs
// column it must be the only key. Replaces X (or the layer) by the dense residuals.
void regress_out(AnnData& adata, const std::vector<std::string>& keys, const RegressOutOptions& opt = {});

}  // namespace scanpp::pp
