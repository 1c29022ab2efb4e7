// L2-regularised multinomial (or binary) logistic regression fitted with
// L-BFGS, for tl.rank_genes_groups(method='logreg').
#include "scanpp/tl/rank_genes_groups_logreg.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <numeric>
#include <utility>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"

namespace scanpp::tl {

namespace {

// The design matrix in both orientations: rows for the margins X W^T,
// columns for the gradient X^T R, so both run in parallel without write
// conflicts and give the same sums for any thread count.
struct Design {
  int64_t n = 0, p = 0;
  std::vector<int64_t> row_ptr, col_ptr;
  std::vector<int32_t> row_idx, col_idx;
  std::vector<double> row_val, col_val;
};

Design make_design(const Element& x) {
  SparseMatrix csr;
  if (x.is<SparseMatrix>()) {
    const auto& m = x.get<SparseMatrix>();
    csr = m.format == SparseFormat::CSR ? m : convert_format(m, SparseFormat::CSR);
  } else if (x.is<Array>() && x.get<Array>().ndim() == 2) {
    csr = dense_to_csr(x.get<Array>());
  } else {
    throw ValueError("logistic_regression: x must be a 2-D array or a sparse matrix");
  }
  if (csr.dtype() == DType::Bool) throw ValueError("logistic_regression: x must be numeric");
  Design d;
  d.n = csr.n_rows;
  d.p = csr.n_cols;
  d.row_ptr = csr.indptr;
  d.row_idx = csr.indices;
  d.row_val = csr.data.to_vector<double>();
  SparseMatrix csc = convert_format(csr, SparseFormat::CSC);
  d.col_ptr = csc.indptr;
  d.col_idx = csc.indices;
  d.col_val = csc.data.to_vector<double>();
  return d;
}

// Mean cross-entropy + lambda/2 ||W||^2 and its gradient. theta holds W as
// p x k (k contiguous per feature) followed by the k intercepts.
class Objective {
 public:
  Objective(const Design& d, std::span<const int32_t> labels, int k, bool binary, double lambda, bool intercept)
      : d_(d), y_(labels), k_(k), binary_(binary), lambda_(lambda), intercept_(intercept) {
    resid_.resize(static_cast<size_t>(d_.n * k_));
  }
  int64_t size() const { return d_.p * k_ + k_; }
  int evaluations() const { return evaluations_; }

  double operator()(const std::vector<double>& th, std::vector<double>& grad) {
    ++evaluations_;
    // The class count as a compile-time constant for the usual sizes, so the
    // per-non-zero loops over classes unroll and vectorise.
    switch (k_) {
      case 1: return eval<1>(th, grad);
      case 3: return eval<3>(th, grad);
      case 4: return eval<4>(th, grad);
      case 5: return eval<5>(th, grad);
      case 6: return eval<6>(th, grad);
      case 7: return eval<7>(th, grad);
      case 8: return eval<8>(th, grad);
      case 9: return eval<9>(th, grad);
      case 10: return eval<10>(th, grad);
      case 11: return eval<11>(th, grad);
      case 12: return eval<12>(th, grad);
      default: return eval<0>(th, grad);
    }
  }

 private:
  template <int K>
  double eval(const std::vector<double>& th, std::vector<double>& grad) {
    const int64_t n = d_.n, p = d_.p;
    const int k = K > 0 ? K : k_;
    const double* b = th.data() + p * k;
    const double inv_n = 1.0 / static_cast<double>(n);
    // Margins, probabilities and per-row losses; resid = (P - Y) / n.
    const double loss = parallel_reduce_blocks(n, 256, 0.0, [&](int64_t r0, int64_t r1) {
      double acc = 0;
      std::vector<double> z(static_cast<size_t>(k));
      for (int64_t i = r0; i < r1; ++i) {
        for (int c = 0; c < k; ++c) z[c] = intercept_ ? b[c] : 0.0;
        for (int64_t e = d_.row_ptr[i]; e < d_.row_ptr[i + 1]; ++e) {
          const double v = d_.row_val[e];
          const double* w = th.data() + static_cast<int64_t>(d_.row_idx[e]) * k;
#pragma omp simd
          for (int c = 0; c < k; ++c) z[c] += v * w[c];
        }
        double* r = resid_.data() + i * k;
        if (binary_) {
          const double t = z[0], yi = y_[i] == 1 ? 1.0 : 0.0;
          // log(1 + e^t) - y t, computed without overflow.
          acc += (t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t))) - yi * t;
          const double prob = t >= 0 ? 1.0 / (1.0 + std::exp(-t)) : std::exp(t) / (1.0 + std::exp(t));
          r[0] = (prob - yi) * inv_n;
        } else {
          const double zmax = *std::max_element(z.begin(), z.end());
          double se = 0;
          for (int c = 0; c < k; ++c) se += std::exp(z[c] - zmax);
          const double lse = zmax + std::log(se);
          acc += lse - z[y_[i]];
          for (int c = 0; c < k; ++c) r[c] = (std::exp(z[c] - lse) - (c == y_[i] ? 1.0 : 0.0)) * inv_n;
        }
      }
      return acc;
    });
    grad.assign(static_cast<size_t>(size()), 0.0);
    parallel_blocks(p, 256, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j) {
        double* g = grad.data() + j * k;
        for (int64_t e = d_.col_ptr[j]; e < d_.col_ptr[j + 1]; ++e) {
          const double v = d_.col_val[e];
          const double* r = resid_.data() + static_cast<int64_t>(d_.col_idx[e]) * k;
#pragma omp simd
          for (int c = 0; c < k; ++c) g[c] += v * r[c];
        }
        for (int c = 0; c < k; ++c) g[c] += lambda_ * th[j * k + c];
      }
    });
    double penalty = 0;
    for (int64_t q = 0; q < p * k; ++q) penalty += th[q] * th[q];
    if (intercept_)
      for (int64_t i = 0; i < n; ++i)
        for (int c = 0; c < k; ++c) grad[p * k + c] += resid_[i * k + c];
    return loss * inv_n + 0.5 * lambda_ * penalty;
  }

  const Design& d_;
  std::span<const int32_t> y_;
  int k_;
  bool binary_;
  double lambda_;
  bool intercept_;
  std::vector<double> resid_;
  int evaluations_ = 0;
};


double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

double max_abs(const std::vector<double>& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}

}  // namespace

LogregResult logistic_regression(const Element& x, std::span<const int32_t> labels, int n_classes,
                                 const LogregOptions& opt) {
  if (n_classes < 2) throw ValueError("logistic_regression: needs at least two classes");
  if (opt.C <= 0) throw ValueError("logistic_regression: C must be positive");
  if (opt.max_iter < 1) throw ValueError("logistic_regression: max_iter must be positive");
  const Design d = make_design(x);
  if (static_cast<int64_t>(labels.size()) != d.n) throw ValueError("logistic_regression: one label per row is needed");
  for (int32_t l : labels)
    if (l < 0 || l >= n_classes) throw ValueError("logistic_regression: label out of range");
  const bool binary = n_classes == 2;
  const int k = binary ? 1 : n_classes;
  const double lambda = 1.0 / (opt.C * static_cast<double>(d.n));
  Objective f(d, labels, k, binary, lambda, opt.fit_intercept);

  const size_t dim = static_cast<size_t>(f.size());
  std::vector<double> th(dim, 0.0), g, th_new(dim), g_new;
  double fx = f(th, g);
  std::deque<std::vector<double>> S, Y;
  std::deque<double> rho;
  LogregResult res;
  std::vector<double> dir(dim), alpha;
  for (int it = 0; it < opt.max_iter; ++it) {
    if (max_abs(g) <= opt.tol) {
      res.converged = true;
      break;
    }
    // Two-loop recursion: dir = -H g.
    for (size_t q = 0; q < dim; ++q) dir[q] = -g[q];
    alpha.assign(S.size(), 0.0);
    for (size_t m = S.size(); m-- > 0;) {
      alpha[m] = rho[m] * dot(S[m], dir);
      for (size_t q = 0; q < dim; ++q) dir[q] -= alpha[m] * Y[m][q];
    }
    if (!S.empty()) {
      const double gamma = dot(S.back(), Y.back()) / dot(Y.back(), Y.back());
      for (auto& v : dir) v *= gamma;
    }
    for (size_t m = 0; m < S.size(); ++m) {
      const double beta = rho[m] * dot(Y[m], dir);
      for (size_t q = 0; q < dim; ++q) dir[q] += (alpha[m] - beta) * S[m][q];
    }
    double slope = dot(g, dir);
    if (slope >= 0) {  // not a descent direction: restart from steepest descent
      S.clear();
      Y.clear();
      rho.clear();
      for (size_t q = 0; q < dim; ++q) dir[q] = -g[q];
      slope = dot(g, dir);
    }
    // Backtracking (Armijo) line search; the first step is scaled to unit length.
    double step = S.empty() ? std::min(1.0, 1.0 / std::sqrt(dot(dir, dir))) : 1.0;
    double f_new = 0;
    bool accepted = false;
    for (int ls = 0; ls < 50; ++ls) {
      for (size_t q = 0; q < dim; ++q) th_new[q] = th[q] + step * dir[q];
      f_new = f(th_new, g_new);
      if (f_new <= fx + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    res.iterations = it + 1;
    if (!accepted) break;
    std::vector<double> s(dim), y(dim);
    for (size_t q = 0; q < dim; ++q) {
      s[q] = th_new[q] - th[q];
      y[q] = g_new[q] - g[q];
    }
    const double sy = dot(s, y);
    if (sy > 1e-12 * dot(y, y)) {
      S.push_back(std::move(s));
      Y.push_back(std::move(y));
      rho.push_back(1.0 / sy);
      if (static_cast<int>(S.size()) > opt.memory) {
        S.pop_front();
        Y.pop_front();
        rho.pop_front();
      }
    }
    const double rel = (fx - f_new) / std::max({std::abs(fx), std::abs(f_new), 1.0});
    th.swap(th_new);
    g.swap(g_new);
    fx = f_new;
    if (rel <= 64 * 2.220446049250313e-16) {  // scipy's ftol = 64 eps
      res.converged = true;
      break;
    }
  }
  if (!res.converged && max_abs(g) <= opt.tol) res.converged = true;

  res.evaluations = f.evaluations();
  res.n_rows = k;
  res.n_features = d.p;
  res.coef.resize(static_cast<size_t>(k * d.p));
  for (int c = 0; c < k; ++c)
    for (int64_t j = 0; j < d.p; ++j) res.coef[c * d.p + j] = th[j * k + c];
  res.intercept.assign(th.begin() + d.p * k, th.end());
  return res;
}

}  // namespace scanpp::tl
