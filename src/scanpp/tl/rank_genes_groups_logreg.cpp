// L2-regularised multinomial (or binary) logistic regression fitted with
// L-BFGS, for tl.rank_genes_groups(method='logreg').
#include "scanpp/tl/rank_genes_groups_logreg.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <utility>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/rank_genes_groups_lbfgs.hpp"
#include "scanpp/tl/rank_genes_groups_logreg_passes.hpp"

namespace scanpp::tl {

namespace {

using detail::LogregDesign;
using detail::LogregRows;

constexpr int64_t kRowBlock = 64;  // cells per block (and tile) of the margins pass
// Genes per block of the gradient pass, whose blocks of kGeneBlock x k
// variables are also the L-BFGS's: runs of 36 KiB per history vector (at 9
// classes) streamed well where 256 genes' 9 KiB cost ~15 % more.
constexpr int64_t kGeneBlock = 1024;

// The design matrix in both orientations, values as float: rows for the
// margins X W, columns for the gradient Xᵀ R, so that both passes gather
// (accumulators in registers, no write conflicts between threads, the same
// sums for any thread count). Column indices become offsets of rows of
// `lanes` floats. The input's orientation is copied, the other made by a
// counting transpose; the rows are tiled (rank_genes_groups_logreg_passes.hpp).
// X's rows (tiled for the margins pass) and columns.
LogregDesign make_design(const SparseMatrix& m, int lanes) {
  LogregDesign d = detail::logreg_design(m, lanes);
  detail::logreg_tile(d.rows, kRowBlock, lanes);
  return d;
}

// Mean cross-entropy + lambda/2 ||W||^2 and its gradient, as a block
// objective of the L-BFGS (rank_genes_groups_lbfgs.hpp). theta holds W as
// p x k (k contiguous per feature) followed by the k intercepts; its blocks
// are those of kGeneBlock features (the last one with the intercepts). The
// passes work on rows of `lanes` floats (zero padding): W rounded to float
// for the margins (the loss and gradient are those at that rounding, to
// 6e-8 relative) and the residuals rounded to float for the gradient; the
// passes' totals, the losses, probabilities and other sums are double.
class Objective {
 public:
  Objective(const LogregDesign& d, std::span<const int32_t> labels, int k, bool binary, double lambda, bool intercept)
      : d_(d), y_(labels), n_(d.rows.n_rows), p_(d.rows.n_cols), k_(k), lanes_(detail::logreg_lanes(k)),
        binary_(binary), lambda_(lambda), intercept_(intercept) {
    const int64_t row_blocks = (n_ + kRowBlock - 1) / kRowBlock;
    z_.assign(static_cast<size_t>(n_ * lanes_), 0.0);
    resid_.assign(static_cast<size_t>(n_ * lanes_), 0.0f);
    wf_.assign(static_cast<size_t>(p_ * lanes_), 0.0f);
    block_loss_.assign(static_cast<size_t>(row_blocks), 0.0);
    block_resid_.assign(static_cast<size_t>(row_blocks * k_), 0.0);
    block_penalty_.assign(static_cast<size_t>((size() + block() - 1) / block()), 0.0);
    intercept_grad_.assign(static_cast<size_t>(k_), 0.0);
  }
  int64_t size() const { return p_ * k_ + k_; }
  int64_t block() const { return kGeneBlock * k_; }
  int evaluations() const { return evaluations_; }  // value() calls

  // th's block [a, b) changed: W rounded to float and its squares' sum.
  void prepare(const std::vector<double>& th, int64_t a, int64_t b) {
    const int k = k_;
    double sq = 0;
    for (int64_t j = a / k; j < std::min(b / k, p_); ++j)
      for (int c = 0; c < k; ++c) {
        const double w = th[j * k + c];
        wf_[j * lanes_ + c] = static_cast<float>(w);
        sq += w * w;
      }
    block_penalty_[static_cast<size_t>(a / block())] = sq;
  }

  // The loss at th (residuals (P - Y) / n kept for gradient()).
  double value(const std::vector<double>& th) {
    ++evaluations_;
    const int k = k_;
    const int64_t lanes = lanes_;
    const double* b = th.data() + p_ * k;
    const double inv_n = 1.0 / static_cast<double>(n_);
    parallel_blocks(n_, kRowBlock, [&](int64_t r0, int64_t r1) {
      detail::logreg_gather(d_.rows, r0, r1, wf_.data(), static_cast<int>(lanes), z_.data() + r0 * lanes);
      double acc = 0;
      double* rsum = block_resid_.data() + (r0 / kRowBlock) * k;
      std::fill(rsum, rsum + k, 0.0);
      for (int64_t i = r0; i < r1; ++i) {
        double* z = z_.data() + i * lanes;
        float* r = resid_.data() + i * lanes;
        if (intercept_)
          for (int c = 0; c < k; ++c) z[c] += b[c];
        if (binary_) {
          const double t = z[0], yi = y_[i] == 1 ? 1.0 : 0.0;
          // log(1 + e^t) - y t, computed without overflow.
          acc += (t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t))) - yi * t;
          const double prob = t >= 0 ? 1.0 / (1.0 + std::exp(-t)) : std::exp(t) / (1.0 + std::exp(t));
          z[0] = (prob - yi) * inv_n;
        } else {
          const double zmax = *std::max_element(z, z + k);
          const double zy = z[y_[i]];
          double se = 0;
          for (int c = 0; c < k; ++c) {
            z[c] = std::exp(z[c] - zmax);
            se += z[c];
          }
          acc += zmax + std::log(se) - zy;
          const double scale = inv_n / se;
          for (int c = 0; c < k; ++c) z[c] *= scale;
          z[y_[i]] -= inv_n;
        }
        for (int c = 0; c < k; ++c) {
          r[c] = static_cast<float>(z[c]);
          rsum[c] += z[c];
        }
      }
      block_loss_[static_cast<size_t>(r0 / kRowBlock)] = acc;
    });
    double loss = 0, penalty = 0;
    for (double v : block_loss_) loss += v;
    for (double v : block_penalty_) penalty += v;
    std::fill(intercept_grad_.begin(), intercept_grad_.end(), 0.0);
    if (intercept_)
      for (size_t blk = 0; blk < block_loss_.size(); ++blk)
        for (int c = 0; c < k; ++c) intercept_grad_[c] += block_resid_[blk * k + c];
    return loss * inv_n + 0.5 * lambda_ * penalty;
  }

  // grad[a, b) at the th of the last value() call: Xᵀ resid, one gene at a
  // time, plus the penalty's; the intercepts' from the double residuals.
  void gradient(const std::vector<double>& th, std::vector<double>& grad, int64_t a, int64_t b) {
    const int k = k_;
    const int64_t lanes = lanes_;
    const int64_t j0 = a / k, j1 = std::min(b / k, p_);
    if (j1 > j0) {
      std::vector<double> gp(static_cast<size_t>((j1 - j0) * lanes));
      detail::logreg_gather(d_.cols, j0, j1, resid_.data(), static_cast<int>(lanes), gp.data());
      for (int64_t j = j0; j < j1; ++j)
        for (int c = 0; c < k; ++c) grad[j * k + c] = gp[(j - j0) * lanes + c] + lambda_ * th[j * k + c];
    }
    for (int64_t e = std::max(a, p_ * k); e < b; ++e) grad[e] = intercept_grad_[e - p_ * k];
  }

 private:
  const LogregDesign& d_;
  std::span<const int32_t> y_;
  int64_t n_, p_;
  int k_;
  int64_t lanes_;
  bool binary_;
  double lambda_;
  bool intercept_;
  std::vector<double> z_;          // margins, then (P - Y) / n
  std::vector<float> resid_;       // (P - Y) / n rounded, for the gradient pass
  std::vector<float> wf_;          // W rounded, for the margins pass
  std::vector<double> block_loss_, block_resid_;  // per block of cells, added in block order
  std::vector<double> block_penalty_;             // per block of theta
  std::vector<double> intercept_grad_;
  int evaluations_ = 0;
};

LogregResult fit(const SparseMatrix& m, std::span<const int32_t> labels, int n_classes, const LogregOptions& opt) {
  const bool binary = n_classes == 2;
  const int k = binary ? 1 : n_classes;
  const LogregDesign d = make_design(m, detail::logreg_lanes(k));
  const int64_t p = d.rows.n_cols;
  const double lambda = 1.0 / (opt.C * static_cast<double>(d.rows.n_rows));
  Objective f(d, labels, k, binary, lambda, opt.fit_intercept);
  LogregResult res;
  std::vector<double> th(static_cast<size_t>(f.size()), 0.0);
  detail::LbfgsBlockObjective bo;
  bo.block = f.block();
  bo.prepare = [&](const std::vector<double>& x, int64_t a, int64_t b) { f.prepare(x, a, b); };
  bo.value = [&](const std::vector<double>& x) { return f.value(x); };
  bo.gradient = [&](const std::vector<double>& x, std::vector<double>& g, int64_t a, int64_t b) {
    f.gradient(x, g, a, b);
  };
  const detail::LbfgsResult lr = detail::lbfgs_minimise_blocks(bo, th, {opt.max_iter, opt.tol, opt.memory});
  res.iterations = lr.iterations;
  res.converged = lr.converged;
  res.evaluations = f.evaluations();
  res.n_rows = k;
  res.n_features = p;
  res.coef.resize(static_cast<size_t>(k * p));
  for (int c = 0; c < k; ++c)
    for (int64_t j = 0; j < p; ++j) res.coef[c * p + j] = th[j * k + c];
  res.intercept.assign(th.begin() + p * k, th.end());
  return res;
}

}  // namespace

LogregResult logistic_regression(const Element& x, std::span<const int32_t> labels, int n_classes,
                                 const LogregOptions& opt) {
  if (n_classes < 2) throw ValueError("logistic_regression: needs at least two classes");
  if (!(opt.C > 0)) throw ValueError("logistic_regression: C must be positive");
  if (opt.max_iter < 1) throw ValueError("logistic_regression: max_iter must be positive");
  SparseMatrix dense_copy;
  const SparseMatrix* m = nullptr;
  if (x.is<SparseMatrix>()) {
    m = &x.get<SparseMatrix>();
  } else if (x.is<Array>() && x.get<Array>().ndim() == 2) {
    dense_copy = dense_to_csr(x.get<Array>());
    m = &dense_copy;
  } else {
    throw ValueError("logistic_regression: x must be a 2-D array or a sparse matrix");
  }
  if (m->dtype() == DType::Bool) throw ValueError("logistic_regression: x must be numeric");
  if (static_cast<int64_t>(labels.size()) != m->n_rows)
    throw ValueError("logistic_regression: one label per row is needed");
  for (int32_t l : labels)
    if (l < 0 || l >= n_classes) throw ValueError("logistic_regression: label out of range");
  // The passes hold X as float: values beyond its range would become
  // infinite (rounding the others changes them by at most 6e-8 relative).
  bool finite = true;
  dispatch_dtype(m->dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (!std::is_same_v<T, Bool8>) {
      for (T v : m->data.as<T>()) finite = finite && std::abs(static_cast<double>(v)) <= FLT_MAX;
    }
  });
  if (!finite) throw ValueError("logistic_regression: x has a non-finite value or one beyond float32's range");
  return fit(*m, labels, n_classes, opt);
}

}  // namespace scanpp::tl
