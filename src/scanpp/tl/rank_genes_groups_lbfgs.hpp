#pragma once
// Limited-memory BFGS for the logistic regression of
// tl.rank_genes_groups(method='logreg'): scipy's L-BFGS stopping rules with
// a backtracking (Armijo) line search, the inverse-Hessian product in
// Byrd, Nocedal and Schnabel's compact form, and the history stored in
// float32 (it only shapes the search direction). Results do not depend on
// the thread count.
//
// The variables are visited in fixed blocks, in parallel, twice per
// iteration: once to form the direction and the trial point (the objective
// preparing that block of it: lbfgs_minimise_blocks' `prepare`), once to
// take the gradient there with the new correction pair and every dot
// product the next direction needs (the objective's `gradient` of that
// block). With the objective's own pass(es) in value(), an iteration whose
// first trial step is accepted makes three parallel passes, no more: each
// pass is a fork and join of the threads, slow when other processes hold
// the cores.
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

// Minimises f starting from x; x holds the minimiser on return. The
// objective's functions run on the calling thread.
LbfgsResult lbfgs_minimise(const LbfgsObjective& f, std::vector<double>& x, const LbfgsOptions& opt);

// An objective taken in blocks of `block` consecutive variables.
struct LbfgsBlockObjective {
  int64_t block = 4096;
  // x changed on [a, b): that block's preparations for value(). Called for
  // the blocks in parallel.
  std::function<void(const std::vector<double>& x, int64_t a, int64_t b)> prepare;
  // The objective at x, every block prepared.
  std::function<double(const std::vector<double>& x)> value;
  // grad[a, b) at the x of the last value() call (grad has x's size).
  // Called for the blocks in parallel.
  std::function<void(const std::vector<double>& x, std::vector<double>& grad, int64_t a, int64_t b)> gradient;
};

LbfgsResult lbfgs_minimise_blocks(const LbfgsBlockObjective& f, std::vector<double>& x, const LbfgsOptions& opt);

}  // namespace scanpp::tl::detail
