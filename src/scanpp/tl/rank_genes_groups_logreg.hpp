#pragma once
// Multinomial logistic regression for tl.rank_genes_groups(method='logreg'),
// as sklearn's LogisticRegression (penalty 'l2', C, fit_intercept, solver
// 'lbfgs') fits it: minimise the mean cross-entropy + ||W||^2 / (2 C n) with
// L-BFGS. Two classes fit one binary (sigmoid) model, as sklearn does.
#include <cstdint>
#include <span>
#include <vector>

#include "scanpp/core/element.hpp"

namespace scanpp::tl {

struct LogregOptions {
  double C = 1.0;            // inverse L2 strength
  int max_iter = 100;        // sklearn's default; Scanpy's golden used 1000
  double tol = 1e-4;         // stop when the largest |gradient| entry is below this
  bool fit_intercept = true;
  int memory = 10;           // L-BFGS history (scipy's maxcor)
};

struct LogregResult {
  // n_rows x n_features row-major: one row per class (K >= 3), or a single
  // row for the second class when K == 2.
  std::vector<double> coef;
  std::vector<double> intercept;
  int64_t n_rows = 0, n_features = 0;
  int iterations = 0;
  int evaluations = 0;  // objective + gradient evaluations (line search included)
  bool converged = false;
};

// x: cells x features (Array or SparseMatrix); labels in [0, n_classes), every
// class present. Deterministic for any thread count.
LogregResult logistic_regression(const Element& x, std::span<const int32_t> labels, int n_classes,
                                 const LogregOptions& opt = {});

}  // namespace scanpp::tl
