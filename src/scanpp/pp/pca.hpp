#pragma once
// Scanpy's pp.pca (1.11, with scikit-learn 1.2 as in the golden environment).
//
// zero_center (default): PCA of X − 1·μᵀ. The centring is implicit for dense
// and sparse X alike (a sparse matrix is never densified). Solvers:
//  * Arpack (default): the exact leading k eigenpairs of the scatter matrix
//    Xcᵀ·Xc (or Xc·Xcᵀ when n_obs < n_vars), by implicitly restarted Lanczos
//    (Spectra) on a matrix-free operator; a dense symmetric eigensolver when
//    the smaller side is at most 256.
//  * Full / CovarianceEigh: dense eigendecomposition of the scatter matrix.
//  * Randomized: Halko et al. randomized SVD (k + 10 columns, 7 power
//    iterations if k < 0.1·min(n, p), else 4, as scikit-learn), Gaussian test
//    matrix from a counter-based stream keyed by random_state.
//  * Auto: scikit-learn 1.2's rule (Full if max(n, p) ≤ 500 or k ≥ 0.8·min(n, p),
//    else Randomized); for sparse X Scanpy 1.11 uses Arpack.
//  * Lobpcg: treated as Arpack (both compute the exact leading subspace).
// Outputs as scikit-learn: scores = U·S, components = Vᵀ, variance = S²/(n−1),
// variance_ratio = variance / Σ_g var_g (ddof=1, all used genes).
//
// !zero_center: TruncatedSVD of X itself (Randomized with 5 power iterations
// by default, or Arpack = exact); variance = ddof-0 variance of each score
// column, variance_ratio = that / Σ_g var_g (ddof=0).
//
// Signs: scikit-learn 1.2's svd_flip with u_based_decision=True, the entry of
// largest |value| in each score column (first one on ties) is positive.
// Arithmetic is in double; results are bit-identical for any thread count.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/array.hpp"
#include "scanpp/core/element.hpp"
#include "scanpp/core/sparse.hpp"

namespace scanpp::pp {

enum class PcaSolver { Arpack, Randomized, Full, Auto, CovarianceEigh, Lobpcg };

// "arpack", "randomized", "full", "auto", "covariance_eigh", "lobpcg".
PcaSolver pca_solver_from_string(const std::string& name);
const char* pca_solver_name(PcaSolver s);

struct PcaOptions {
  // Number of components; unset: 50, or min(n_obs, n_vars used) − 1 when that
  // minimum is ≤ 50.
  std::optional<int64_t> n_comps;
  bool zero_center = true;
  // Unset: Arpack with zero_center, Randomized (TruncatedSVD) without.
  std::optional<PcaSolver> svd_solver;
  uint64_t random_state = 0;
  // IncrementalPCA is not implemented: true raises ValueError.
  bool chunked = false;
  int64_t chunk_size = 0;
  // dtype of the scores (obsm['X_pca']); Float32 or Float64.
  DType dtype = DType::Float32;

  // AnnData level only. Genes to use (Scanpy's mask_var): unset means
  // var['highly_variable'] when that column exists, else all genes; "" means
  // all genes (Scanpy's None); another string names a boolean var column.
  std::optional<std::string> mask_var;
  // An explicit boolean mask over var (takes precedence over mask_var).
  std::optional<std::vector<bool>> mask_var_array;
  // Deprecated Scanpy argument: true = mask_var 'highly_variable', false = no mask.
  std::optional<bool> use_highly_variable;
  std::optional<std::string> layer;      // use adata.layers[layer] instead of X
  std::optional<std::string> key_added;  // obsm/varm/uns keys (default X_pca / PCs / pca)
};

struct PcaResult {
  Array scores;          // n_obs × k, options' dtype (obsm['X_pca'])
  Array components;      // k × n_vars, computation dtype (float32 for float32 X, else float64)
  Array variance;        // k, computation dtype
  Array variance_ratio;  // k, computation dtype
  std::vector<double> mean;  // per-gene means that were subtracted (empty without zero_center)
  PcaSolver solver = PcaSolver::Arpack;  // the solver that actually ran
  int64_t n_operations = 0;  // operator applications of the Lanczos solver (0 for others)
};

// Kernels. Integer or bool values are converted to float64 first (as
// scikit-learn does); float32 and float64 are read as they are.
PcaResult pca(const Array& X, const PcaOptions& opt = {});
PcaResult pca(const SparseMatrix& X, const PcaOptions& opt = {});
PcaResult pca(const Element& X, const PcaOptions& opt = {});

// sc.pp.pca(adata, ...): writes obsm['X_pca'] (n_obs × k, opt.dtype),
// varm['PCs'] (n_vars × k; with a gene mask a float64 matrix with zero rows
// for the genes left out, else the components' dtype) and uns['pca'] =
// {variance, variance_ratio, params: {zero_center, use_highly_variable,
// mask_var (when not None), layer (when given)}}.
void pca(AnnData& adata, const PcaOptions& opt = {});

namespace pca_detail {
class CenteredOperator;
// pp.pca's solver choice, decomposition, sign convention and variances on
// any operator view of X (in memory or streamed from a backed file).
// is_sparse: X is sparse or not held in memory (Scanpy's sparse solver
// defaults; never the dense-only routes).
PcaResult pca_on_operator(const CenteredOperator& A, bool is_sparse, DType compute_dtype, const PcaOptions& opt);
}  // namespace pca_detail

// Scanpy's _handle_mask_var on adata.var (for the AnnData-level functions of
// every X source, in memory or backed): the mask, the value stored as
// uns['pca']['params']['mask_var'] (nullopt for None) and the kept genes.
struct PcaGenes {
  std::optional<std::vector<bool>> mask;
  std::optional<Element> param;
  std::vector<int64_t> genes;  // indices where mask is true (empty without a mask)
};
PcaGenes pca_genes(const AnnData& adata, const PcaOptions& opt);
// Writes res under Scanpy's keys (see pca(AnnData&) above).
void store_pca(AnnData& adata, PcaResult res, const PcaOptions& opt, const PcaGenes& sel);

}  // namespace scanpp::pp
