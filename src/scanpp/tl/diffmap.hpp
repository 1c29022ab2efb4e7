#pragma once
// tl.diffmap: diffusion map (Coifman & Lafon 2006, Haghverdi et al. 2015) of
// the neighbour graph, as Scanpy 1.11 computes it: Coifman's density
// normalisation (alpha = 1) of obsp['connectivities'], the symmetric form of
// the transition matrix, and its n_comps eigenpairs of largest magnitude.
//
// Eigenvectors are those of the symmetric matrix itself (unit norm, not
// rescaled to right eigenvectors of the row-stochastic matrix), with
// arbitrary signs as in Scanpy: ARPACK's start vector is not reproduced, so a
// column may come out with the opposite sign to Scanpy's.
#include <cstdint>
#include <string>

#include "scanpp/core/anndata.hpp"

namespace scanpp::tl {

// T_sym = Z^-1 K Z^-1 with K = Q^-1 W Q^-1, q = column sums of W, z = sqrt of
// the column sums of K (Scanpy's Neighbors.compute_transitions with
// density_normalize=True). W: square sparse (CSR or CSC, any float dtype).
// Returns float64 CSR with W's sparsity pattern. Throws ValueError for a
// non-square W or a cell without any edge weight (division by zero).
SparseMatrix diffusion_transitions_sym(const SparseMatrix& connectivities);

struct DiffmapResult {
  Array eigenvalues;   // float32, n_comps, descending (the first is ~1)
  Array eigenvectors;  // float32, n_obs x n_comps, unit-norm columns
};

// The kernel: the min(n - 1, n_comps) eigenpairs of largest magnitude of the
// symmetric matrix `transitions_sym`, sorted by decreasing eigenvalue (as
// scipy's eigsh(which='LM') reversed), to eigsh's tolerance (relative
// residual 1e-12). Up to 300 cells: a dense eigendecomposition. Otherwise each
// connected component of the graph is solved on its own (the eigenvalue 1 of
// a disconnected graph is repeated, once per component, which a single-vector
// Krylov method would find once) and the pairs of largest magnitude over all
// components kept, with eigenvectors zero outside their component; a
// component of up to 20,000 cells by unrestarted Lanczos with partial
// reorthogonalisation (tl/diffmap_lanczos.hpp), larger ones (or when that
// basis runs out) by Spectra's implicitly restarted Lanczos, as ARPACK.
// random_state seeds the Lanczos start vector. Deterministic and independent
// of the thread count.
DiffmapResult diffmap_eigen(const SparseMatrix& transitions_sym, int n_comps = 15, int64_t random_state = 0);

struct DiffmapOptions {
  int n_comps = 15;
  std::string neighbors_key = "neighbors";
  int64_t random_state = 0;
};

// Writes obsm['X_diffmap'] (float32, n_obs x n_comps) and uns['diffmap_evals']
// (float32) from obsp[uns[neighbors_key]['connectivities_key']]. Throws
// ValueError for n_comps <= 2 (as Scanpy) and KeyError without pp.neighbors.
void diffmap(AnnData& adata, const DiffmapOptions& opt = {});

namespace detail {
// The connectivities of uns[neighbors_key]['connectivities_key'] (default
// obsp['connectivities']), checked to be n_obs x n_obs; `who` prefixes errors.
const SparseMatrix& neighbors_connectivities(const AnnData& adata, const std::string& neighbors_key,
                                             const std::string& who);
}  // namespace detail

}  // namespace scanpp::tl
