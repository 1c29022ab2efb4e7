// L2-regularised multinomial (or binary) logistic regression fitted with
// L-BFGS, for tl.rank_genes_groups(method='logreg').
#include "scanpp/tl/rank_genes_groups_logreg.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"

namespace scanpp::tl {

namespace {

// Two doubles: SSE2 is the baseline of every x86-64 build, and GCC's vector
// extension makes the class loops use it without -ffast-math or -march.
typedef double v2d __attribute__((vector_size(16)));
inline v2d load2(const double* p) {
  v2d v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline void store2(double* p, v2d v) { __builtin_memcpy(p, &v, sizeof v); }

// The design matrix in both orientations: rows for the margins X W^T,
// columns for the gradient X^T R, so both gather (accumulators in
// registers, no write conflicts between threads) and give the same sums for
// any thread count. Values are held as float when that is exact (float32,
// small-integer or count data), halving the bytes streamed per evaluation.
template <class V>
struct Design {
  int64_t n = 0, p = 0;
  std::vector<int64_t> row_ptr, col_ptr;
  std::vector<int32_t> row_idx, col_idx;
  std::vector<V> row_val, col_val;
};

SparseMatrix as_csc(const Element& x) {
  SparseMatrix m;
  if (x.is<SparseMatrix>()) {
    m = x.get<SparseMatrix>();
  } else if (x.is<Array>() && x.get<Array>().ndim() == 2) {
    m = dense_to_csr(x.get<Array>());
  } else {
    throw ValueError("logistic_regression: x must be a 2-D array or a sparse matrix");
  }
  if (m.dtype() == DType::Bool) throw ValueError("logistic_regression: x must be numeric");
  return m.format == SparseFormat::CSC ? std::move(m) : convert_format(m, SparseFormat::CSC);
}

template <class V>
Design<V> make_design(const SparseMatrix& csc, const std::vector<double>& values) {
  Design<V> d;
  d.n = csc.n_rows;
  d.p = csc.n_cols;
  d.col_ptr = csc.indptr;
  d.col_idx = csc.indices;
  d.col_val.assign(values.begin(), values.end());
  // The CSR copy from the CSC arrays (a counting transpose: column order within rows).
  d.row_ptr.assign(static_cast<size_t>(d.n) + 1, 0);
  for (int32_t i : d.col_idx) ++d.row_ptr[static_cast<size_t>(i) + 1];
  for (int64_t i = 0; i < d.n; ++i) d.row_ptr[i + 1] += d.row_ptr[i];
  d.row_idx.resize(d.col_idx.size());
  d.row_val.resize(d.col_idx.size());
  std::vector<int64_t> next(d.row_ptr.begin(), d.row_ptr.end() - 1);
  for (int64_t j = 0; j < d.p; ++j)
    for (int64_t e = d.col_ptr[j]; e < d.col_ptr[j + 1]; ++e) {
      const int64_t at = next[d.col_idx[e]]++;
      d.row_idx[at] = static_cast<int32_t>(j);
      d.row_val[at] = d.col_val[e];
    }
  return d;
}

// out = Σ_e val[e] · M[idx[e], :] over e in [e0, e1), M with row stride kp
// (nv pairs of doubles a row). Two interleaved chains of sums (even and odd
// entries, added at the end) halve the wait on the adder's latency; the
// order is fixed, so the result is too.
template <int KV, class V>
inline void gather_rows(int64_t e0, int64_t e1, const int32_t* idx, const V* val, const double* M, int kp, int nv_rt,
                        v2d* out) {
  const int nv = KV > 0 ? KV : nv_rt;
  v2d a[KV > 0 ? KV : 1], b[KV > 0 ? KV : 1];
  if constexpr (KV == 0) {
    for (int l = 0; l < nv; ++l) out[l] = v2d{0.0, 0.0};
    for (int64_t e = e0; e < e1; ++e) {
      const double v = static_cast<double>(val[e]);
      const v2d vv = {v, v};
      const double* m = M + static_cast<int64_t>(idx[e]) * kp;
      for (int l = 0; l < nv; ++l) out[l] += vv * load2(m + 2 * l);
    }
    return;
  }
  for (int l = 0; l < nv; ++l) a[l] = b[l] = v2d{0.0, 0.0};
  int64_t e = e0;
  for (; e + 1 < e1; e += 2) {
    const double v0 = static_cast<double>(val[e]), v1 = static_cast<double>(val[e + 1]);
    const v2d w0 = {v0, v0}, w1 = {v1, v1};
    const double* m0 = M + static_cast<int64_t>(idx[e]) * kp;
    const double* m1 = M + static_cast<int64_t>(idx[e + 1]) * kp;
#pragma GCC unroll 6
    for (int l = 0; l < nv; ++l) {
      a[l] += w0 * load2(m0 + 2 * l);
      b[l] += w1 * load2(m1 + 2 * l);
    }
  }
  if (e < e1) {
    const double v0 = static_cast<double>(val[e]);
    const v2d w0 = {v0, v0};
    const double* m0 = M + static_cast<int64_t>(idx[e]) * kp;
#pragma GCC unroll 6
    for (int l = 0; l < nv; ++l) a[l] += w0 * load2(m0 + 2 * l);
  }
  for (int l = 0; l < nv; ++l) out[l] = a[l] + b[l];
}

// Mean cross-entropy + lambda/2 ||W||^2 and its gradient. theta holds W as
// p x k (k contiguous per feature) followed by the k intercepts. Internally
// rows of k values are padded to an even stride kp (zeros in the padding) so
// that the per-non-zero class loops run on pairs of doubles.
template <class V>
class Objective {
 public:
  Objective(const Design<V>& d, std::span<const int32_t> labels, int k, bool binary, double lambda, bool intercept)
      : d_(d), y_(labels), k_(k), kp_((k + 1) / 2 * 2), binary_(binary), lambda_(lambda), intercept_(intercept) {
    const int64_t nk = d_.n * kp_;
    resid_.assign(static_cast<size_t>(nk), 0.0);
    wp_.assign(static_cast<size_t>(d_.p * kp_), 0.0);
    gp_.assign(wp_.size(), 0.0);
  }
  int64_t size() const { return d_.p * k_ + k_; }
  int evaluations() const { return evaluations_; }

  double operator()(const std::vector<double>& th, std::vector<double>& grad) {
    ++evaluations_;
    // The number of double pairs per row as a compile-time constant for up
    // to 12 classes, so that the accumulators stay in registers.
    switch (kp_ / 2) {
      case 1: return eval<1>(th, grad);
      case 2: return eval<2>(th, grad);
      case 3: return eval<3>(th, grad);
      case 4: return eval<4>(th, grad);
      case 5: return eval<5>(th, grad);
      case 6: return eval<6>(th, grad);
      default: return eval<0>(th, grad);
    }
  }

 private:
  template <int KV>
  double eval(const std::vector<double>& th, std::vector<double>& grad) {
    const int64_t n = d_.n, p = d_.p;
    const int k = k_, kp = kp_;
    const int nv = KV > 0 ? KV : kp / 2;
    const double* b = th.data() + p * k;
    const double inv_n = 1.0 / static_cast<double>(n);
    for (int64_t j = 0; j < p; ++j)
      for (int c = 0; c < k; ++c) wp_[j * kp + c] = th[j * k + c];
    // Margins, probabilities and per-row losses; resid = (P - Y) / n.
    const double loss = parallel_reduce_blocks(n, 64, 0.0, [&](int64_t r0, int64_t r1) {
      double acc = 0;
      std::vector<v2d> heap(KV > 0 ? 0 : static_cast<size_t>(nv));
      v2d stack[KV > 0 ? KV : 1];
      v2d* zv = KV > 0 ? stack : heap.data();
      std::vector<double> zz(static_cast<size_t>(kp));
      for (int64_t i = r0; i < r1; ++i) {
        gather_rows<KV>(d_.row_ptr[i], d_.row_ptr[i + 1], d_.row_idx.data(), d_.row_val.data(), wp_.data(), kp, nv,
                        zv);
        for (int l = 0; l < nv; ++l) store2(zz.data() + 2 * l, zv[l]);
        if (intercept_)
          for (int c = 0; c < k; ++c) zz[c] += b[c];
        double* r = resid_.data() + i * kp;
        if (binary_) {
          const double t = zz[0], yi = y_[i] == 1 ? 1.0 : 0.0;
          // log(1 + e^t) - y t, computed without overflow.
          acc += (t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t))) - yi * t;
          const double prob = t >= 0 ? 1.0 / (1.0 + std::exp(-t)) : std::exp(t) / (1.0 + std::exp(t));
          r[0] = (prob - yi) * inv_n;
        } else {
          const double zmax = *std::max_element(zz.begin(), zz.begin() + k);
          double se = 0;
          for (int c = 0; c < k; ++c) {
            r[c] = std::exp(zz[c] - zmax);
            se += r[c];
          }
          const double lse = zmax + std::log(se);
          acc += lse - zz[y_[i]];
          const double scale = inv_n / se;
          for (int c = 0; c < k; ++c) r[c] *= scale;
          r[y_[i]] -= inv_n;
        }
      }
      return acc;
    });
    // X^T resid, one feature at a time (accumulators in registers).
    parallel_blocks(p, 256, [&](int64_t j0, int64_t j1) {
      std::vector<v2d> heap(KV > 0 ? 0 : static_cast<size_t>(nv));
      v2d stack[KV > 0 ? KV : 1];
      v2d* acc = KV > 0 ? stack : heap.data();
      for (int64_t j = j0; j < j1; ++j) {
        gather_rows<KV>(d_.col_ptr[j], d_.col_ptr[j + 1], d_.col_idx.data(), d_.col_val.data(), resid_.data(), kp, nv,
                        acc);
        for (int l = 0; l < nv; ++l) store2(gp_.data() + j * kp + 2 * l, acc[l]);
      }
    });
    grad.resize(static_cast<size_t>(size()));
    for (int64_t j = 0; j < p; ++j)
      for (int c = 0; c < k; ++c) grad[j * k + c] = gp_[j * kp + c] + lambda_ * th[j * k + c];
    double penalty = 0;
    for (int64_t q = 0; q < p * k; ++q) penalty += th[q] * th[q];
    for (int c = 0; c < k; ++c) grad[p * k + c] = 0.0;
    if (intercept_)
      for (int64_t i = 0; i < n; ++i)
        for (int c = 0; c < k; ++c) grad[p * k + c] += resid_[i * kp + c];
    return loss * inv_n + 0.5 * lambda_ * penalty;
  }

  const Design<V>& d_;
  std::span<const int32_t> y_;
  int k_, kp_;
  bool binary_;
  double lambda_;
  bool intercept_;
  std::vector<double> resid_, wp_, gp_;
  int evaluations_ = 0;
};

// Sums in two lanes and two independent chains (a fixed order, so still
// deterministic) instead of one serial chain. Serial: at ~10^5 entries a
// parallel region costs more than it saves.
double dot(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = a.size();
  v2d s0 = {0.0, 0.0}, s1 = {0.0, 0.0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += load2(a.data() + i) * load2(b.data() + i);
    s1 += load2(a.data() + i + 2) * load2(b.data() + i + 2);
  }
  double s = (s0[0] + s1[0]) + (s0[1] + s1[1]);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

double max_abs(const std::vector<double>& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}

// y += a x
void axpy(double a, const double* x, double* y, size_t n) {
  const v2d av = {a, a};
  size_t i = 0;
  for (; i + 2 <= n; i += 2) store2(y + i, load2(y + i) + av * load2(x + i));
  for (; i < n; ++i) y[i] += a * x[i];
}

// L-BFGS with a backtracking (Armijo) line search. The history lives in a
// ring of preallocated vectors: no allocation per iteration. The stopping
// tests are scipy's (max |gradient| <= tol, relative decrease <= 64 eps) on
// the mean loss (see LogregOptions::tol).
template <class F>
std::vector<double> minimise(F& f, size_t dim, const LogregOptions& opt, LogregResult& res) {
  const int mem = std::max(1, opt.memory);
  std::vector<double> th(dim, 0.0), g, th_new(dim), g_new;
  double fx = f(th, g);
  std::vector<std::vector<double>> S(static_cast<size_t>(mem), std::vector<double>(dim)), Y = S;
  std::vector<double> rho(static_cast<size_t>(mem)), alpha(static_cast<size_t>(mem));
  int head = 0, count = 0;  // the newest pair sits at (head + count - 1) % mem
  auto slot = [&](int m) { return static_cast<size_t>((head + m) % mem); };
  std::vector<double> dir(dim);
  for (int it = 0; it < opt.max_iter; ++it) {
    if (max_abs(g) <= opt.tol) {
      res.converged = true;
      break;
    }
    // Two-loop recursion: dir = -H g.
    for (size_t q = 0; q < dim; ++q) dir[q] = -g[q];
    for (int m = count; m-- > 0;) {
      const size_t s = slot(m);
      alpha[m] = rho[s] * dot(S[s], dir);
      axpy(-alpha[m], Y[s].data(), dir.data(), dim);
    }
    if (count > 0) {
      const size_t s = slot(count - 1);
      const double gamma = dot(S[s], Y[s]) / dot(Y[s], Y[s]);
      for (auto& v : dir) v *= gamma;
    }
    for (int m = 0; m < count; ++m) {
      const size_t s = slot(m);
      const double c = alpha[m] - rho[s] * dot(Y[s], dir);
      axpy(c, S[s].data(), dir.data(), dim);
    }
    double slope = dot(g, dir);
    if (slope >= 0) {  // not a descent direction: restart from steepest descent
      count = 0;
      for (size_t q = 0; q < dim; ++q) dir[q] = -g[q];
      slope = dot(g, dir);
    }
    // The first step is scaled to unit length.
    double step = count == 0 ? std::min(1.0, 1.0 / std::sqrt(dot(dir, dir))) : 1.0;
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
    // The new pair goes into the next free slot, or over the oldest.
    const size_t s = count < mem ? slot(count) : slot(0);
    double* sv = S[s].data();
    double* yv = Y[s].data();
    double sy = 0, yy = 0;
    for (size_t q = 0; q < dim; ++q) {
      sv[q] = th_new[q] - th[q];
      yv[q] = g_new[q] - g[q];
      sy += sv[q] * yv[q];
      yy += yv[q] * yv[q];
    }
    if (sy > 1e-12 * yy) {
      rho[s] = 1.0 / sy;
      if (count < mem) ++count;
      else head = (head + 1) % mem;
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
  return th;
}

template <class V>
LogregResult fit(const SparseMatrix& csc, const std::vector<double>& values, std::span<const int32_t> labels,
                 int n_classes, const LogregOptions& opt) {
  const Design<V> d = make_design<V>(csc, values);
  const bool binary = n_classes == 2;
  const int k = binary ? 1 : n_classes;
  const double lambda = 1.0 / (opt.C * static_cast<double>(d.n));
  Objective<V> f(d, labels, k, binary, lambda, opt.fit_intercept);
  LogregResult res;
  const std::vector<double> th = minimise(f, static_cast<size_t>(f.size()), opt, res);
  res.evaluations = f.evaluations();
  res.n_rows = k;
  res.n_features = d.p;
  res.coef.resize(static_cast<size_t>(k * d.p));
  for (int c = 0; c < k; ++c)
    for (int64_t j = 0; j < d.p; ++j) res.coef[c * d.p + j] = th[j * k + c];
  res.intercept.assign(th.begin() + d.p * k, th.end());
  return res;
}

}  // namespace

LogregResult logistic_regression(const Element& x, std::span<const int32_t> labels, int n_classes,
                                 const LogregOptions& opt) {
  if (n_classes < 2) throw ValueError("logistic_regression: needs at least two classes");
  if (!(opt.C > 0)) throw ValueError("logistic_regression: C must be positive");
  if (opt.max_iter < 1) throw ValueError("logistic_regression: max_iter must be positive");
  const SparseMatrix csc = as_csc(x);
  if (static_cast<int64_t>(labels.size()) != csc.n_rows)
    throw ValueError("logistic_regression: one label per row is needed");
  for (int32_t l : labels)
    if (l < 0 || l >= n_classes) throw ValueError("logistic_regression: label out of range");
  const std::vector<double> values = csc.data.to_vector<double>();
  for (double v : values)
    if (!std::isfinite(v)) throw ValueError("logistic_regression: x has a non-finite value");
  const bool float_exact =
      std::all_of(values.begin(), values.end(), [](double v) { return static_cast<double>(static_cast<float>(v)) == v; });
  return float_exact ? fit<float>(csc, values, labels, n_classes, opt)
                     : fit<double>(csc, values, labels, n_classes, opt);
}

}  // namespace scanpp::tl
