#pragma once
// Limited-memory BFGS for the logistic regression of
// tl.rank_genes_groups(method='logreg'): scipy's L-BFGS stopping rules with
// a backtracking (Armijo) line search, the inverse-Hessian product in
// Byrd, Nocedal and Schnabel's compact form (two passes over the history
// per iteration, both parallel over fixed blocks), and the history stored in
// float32 (it only shapes the search direction). Results do not depend on
// the thread count.
#include <cstdint>
#include <functional>
#include <vector>

namespace scanpp::tl::detail {

struct LbfgsOptions {
  int max_iter = 100;
  double tol = 1e-4;   // stop when max |gradient| <= tol
  int memory = 10;     // correction pairs kept (scipy's maxcor)
};

struct LbfgsResult {
  int iterations = 0;
  bool converged = false;
};

// value(x) returns the objective at x; gradient(x, grad) writes its gradient
// at the x of the last value() call into grad (resized as needed). Line-
// search trials that are rejected never ask for the gradient.
struct LbfgsObjective {
  std::function<double(const std::vector<double>& x)> value;
  std::function<void(const std::vector<double>& x, std::vector<double>& grad)> gradient;
};

// Minimises f starting from x; x holds the minimiser on return.
LbfgsResult lbfgs_minimise(const LbfgsObjective& f, std::vector<double>& x, const LbfgsOptions& opt);

}  // namespace scanpp::tl::detail
