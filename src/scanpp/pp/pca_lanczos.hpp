#pragma once
// The k largest eigenpairs of pp.pca's packed scatter matrix by thick-restart
// Lanczos (Wu & Simon 2000) with full reorthogonalisation. With ARPACK's
// restart rule (keep k + min(converged, (ncv − k) / 2) Ritz vectors) it is
// the iteration of ARPACK's and Spectra's implicit restarts with exact
// shifts, so it takes as many products (342 on PBMC 3k), and the same test:
// every wanted Ritz pair's residual below tol·max(ε^(2/3), |θ|).
//
// Why not Spectra: its Gram–Schmidt and restarts ran on one thread, in
// SSE2, and a fifth of pp.pca's time went there while the other core
// waited. Here the whole run is one parallel region: per Lanczos step the
// threads share the product (the scatter's row blocks, then its rows) and
// both Gram–Schmidt passes over fixed row ranges of the basis, meeting at
// spin barriers; thread 0 alone solves the small projected eigenproblem at
// a restart. Every sum runs over fixed row ranges in range order, so the
// result does not depend on the thread count.
#include <Eigen/Dense>
#include <cstdint>

namespace scanpp::pp::pca_detail {

class PackedScatter;

struct ScatterEigs {
  Eigen::VectorXd values;   // k eigenvalues, descending
  Eigen::MatrixXd vectors;  // p × k, orthonormal columns in the same order
  int64_t products = 0;     // products with S
  int64_t restarts = 0;
};

// v0: the start vector (length p, nonzero, finite). Needs 1 ≤ k < ncv ≤ p
// (ValueError otherwise); Error when max_restarts pass without convergence.
ScatterEigs packed_scatter_eigs(const PackedScatter& S, int64_t k, int64_t ncv, const double* v0, double tol = 1e-10,
                                int64_t max_restarts = 1000);

}  // namespace scanpp::pp::pca_detail
