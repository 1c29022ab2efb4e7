#pragma once
// A general symmetric Lanczos eigensolver for a few eigenpairs of largest
// magnitude: one Krylov basis grown without restarts, kept semi-orthogonal by
// partial reorthogonalisation (Simon 1984: the omega recurrence estimates the
// loss of orthogonality; when it exceeds sqrt(eps) the new vector and the one
// after it are orthogonalised against the whole basis by classical
// Gram-Schmidt, repeated when the DGKS test asks), Rayleigh-Ritz on the
// tridiagonal matrix every few steps (eigenvalues by LAPACK's dsterf, the
// wanted eigenvectors by inverse iteration, or all by LAPACK's dstevr when
// wanted eigenvalues cluster), and ARPACK's stopping rule
// |beta_m s_mi| <= tol * max(eps^(2/3), |theta_i|) for every wanted pair.
//
// Why not implicitly restarted Lanczos (Spectra, as ARPACK in scipy's eigsh):
// for matrices of a few thousand rows and ~16 non-zeros per row, a product
// is cheaper than the dense work a restarted solver does per product
// (reorthogonalisation against its basis, restarts); an unrestarted basis with
// a reorthogonalisation every ~10-20 steps needs no more products (PBMC 3k's
// 15 pairs: 192, Spectra 209) and little dense work. The basis costs max_basis vectors of length n, so it is
// capped and `converged` can be false: the caller then falls back to a
// restarted solver.
//
// A single-vector Krylov method finds one vector per distinct eigenvalue
// unless the basis breaks down (an invariant subspace: the solver continues
// with a fresh random vector orthogonal to the basis). A repeated eigenvalue
// whose eigenspace the start vector excites (e.g. 1 for the transition matrix
// of a disconnected graph) is found once: split such problems first.
//
// Deterministic: the dense kernels work on fixed row blocks combined in block
// order, so the result does not depend on the thread count (as long as `op`
// does not either).
#include <cstdint>
#include <functional>
#include <vector>

namespace scanpp::tl {

struct SymmetricLanczosOptions {
  int nev = 6;                // wanted eigenpairs, 1 <= nev < n
  int max_basis = 0;          // 0: min(n, max(400, 20 nev)), capped to ~256 MiB of basis
  double tol = 1e-12;         // relative residual, as ARPACK's / scipy's eigsh tol
  int64_t block_rows = 8192;  // rows per (thread-independent) block of the dense kernels
  uint32_t seed = 0;          // start vector: numpy RandomState(seed), uniform in [-0.5, 0.5)
};

struct SymmetricLanczosResult {
  std::vector<double> values;   // nev Ritz values of largest magnitude, by decreasing value
  std::vector<double> vectors;  // n x nev, column-major (each Ritz vector contiguous), unit norm
  int products = 0;             // operator applications
  int basis_size = 0;           // Krylov vectors built
  int reorthogonalisations = 0;  // vectors orthogonalised against the whole basis
  int checks = 0;               // Rayleigh-Ritz convergence tests
  double max_residual = 0;      // max_i |beta_m s_mi| / max(eps^(2/3), |theta_i|) at the last check
  bool converged = false;       // false: max_basis reached first (values/vectors then empty)
};

// y = A x for a symmetric n x n operator; x and y do not overlap.
using SymmetricOperator = std::function<void(const double* x, double* y)>;

// Throws ValueError for n < 2 or nev outside [1, n - 1].
SymmetricLanczosResult symmetric_lanczos_largest_magnitude(int64_t n, const SymmetricOperator& op,
                                                           const SymmetricLanczosOptions& opt);

}  // namespace scanpp::tl
