// L2-regularised multinomial (or binary) logistic regression fitted with
// L-BFGS, for tl.rank_genes_groups(method='logreg').
#include "scanpp/tl/rank_genes_groups_logreg.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/rank_genes_groups_lbfgs.hpp"

namespace scanpp::tl {

namespace {

// Four doubles as GCC's generic vectors: AVX2 registers in the "avx2"
// clones below, pairs of SSE2 registers otherwise. "avx2" does not include
// FMA, so every clone rounds every product and every sum alike and the fit
// is the same bit for bit on any x86-64 CPU. Vectors are only passed by
// reference (by value their ABI would differ between the clones).
typedef double v4d __attribute__((vector_size(32)));
typedef double v4du __attribute__((vector_size(32), aligned(8), may_alias));  // at any double
typedef float v4fu __attribute__((vector_size(16), aligned(4), may_alias));

[[gnu::always_inline]] inline const v4du& at4(const double* p) { return *reinterpret_cast<const v4du*>(p); }
[[gnu::always_inline]] inline v4du& at4(double* p) { return *reinterpret_cast<v4du*>(p); }
[[gnu::always_inline]] inline const v4fu& at4(const float* p) { return *reinterpret_cast<const v4fu*>(p); }
// out += w * p[0..4), p widened exactly to double.
[[gnu::always_inline]] inline void add_scaled(v4d& out, const v4d& w, const double* p) { out += w * at4(p); }
[[gnu::always_inline]] inline void add_scaled(v4d& out, const v4d& w, const float* p) {
  out += w * __builtin_convertvector(at4(p), v4d);
}

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

// The non-zero layout of x in one orientation, copied once; the other
// orientation by a counting transpose (no copy of the input first).
template <class V>
Design<V> make_design(const SparseMatrix& m) {
  Design<V> d;
  d.n = m.n_rows;
  d.p = m.n_cols;
  const bool csr = m.format == SparseFormat::CSR;
  std::vector<int64_t>& ptr = csr ? d.row_ptr : d.col_ptr;
  std::vector<int32_t>& idx = csr ? d.row_idx : d.col_idx;
  std::vector<V>& val = csr ? d.row_val : d.col_val;
  std::vector<int64_t>& tptr = csr ? d.col_ptr : d.row_ptr;
  std::vector<int32_t>& tidx = csr ? d.col_idx : d.row_idx;
  std::vector<V>& tval = csr ? d.col_val : d.row_val;
  const int64_t n_major = m.n_major(), n_minor = m.n_minor();
  ptr = m.indptr;
  idx = m.indices;
  val.resize(idx.size());
  dispatch_dtype(m.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (!std::is_same_v<T, Bool8>) {
      const T* src = m.data.as<T>().data();
      for (size_t e = 0; e < val.size(); ++e) val[e] = static_cast<V>(src[e]);
    }
  });
  tptr.assign(static_cast<size_t>(n_minor) + 1, 0);
  for (int32_t i : idx) ++tptr[static_cast<size_t>(i) + 1];
  for (int64_t i = 0; i < n_minor; ++i) tptr[i + 1] += tptr[i];
  tidx.resize(idx.size());
  tval.resize(idx.size());
  std::vector<int64_t> next(tptr.begin(), tptr.end() - 1);
  for (int64_t j = 0; j < n_major; ++j)
    for (int64_t e = ptr[j]; e < ptr[j + 1]; ++e) {
      const int64_t at = next[idx[e]]++;
      tidx[at] = static_cast<int32_t>(j);
      tval[at] = val[e];
    }
  return d;
}

// out[r] = Σ_e val[e] · M[idx[e], :] for the rows r of one orientation of
// the design, M and out of row stride 4 NV. Two interleaved chains of sums
// (even and odd entries, added at the end) halve the wait on the adder's
// latency; the order is fixed, so the result is too. Beyond 16 values a row
// one chain keeps the accumulators in registers. M may be float (the
// weights of the margins: half the bytes fetched at random per non-zero);
// its values widen exactly to double.
template <int NV, class V, class M>
[[gnu::always_inline]] inline void gather_fixed(int64_t r0, int64_t r1, const int64_t* ptr, const int32_t* idx,
                                                const V* val, const M* m, double* out) {
  constexpr int64_t stride = 4 * NV;
  constexpr bool two = NV <= 4;
  for (int64_t r = r0; r < r1; ++r) {
    v4d a[NV], b[NV];
#pragma GCC unroll 8
    for (int l = 0; l < NV; ++l) a[l] = b[l] = v4d{0, 0, 0, 0};
    int64_t e = ptr[r];
    const int64_t e1 = ptr[r + 1];
    if constexpr (two) {
      for (; e + 1 < e1; e += 2) {
        const v4d w0 = v4d{0, 0, 0, 0} + static_cast<double>(val[e]);
        const v4d w1 = v4d{0, 0, 0, 0} + static_cast<double>(val[e + 1]);
        const M* m0 = m + static_cast<int64_t>(idx[e]) * stride;
        const M* m1 = m + static_cast<int64_t>(idx[e + 1]) * stride;
#pragma GCC unroll 8
        for (int l = 0; l < NV; ++l) {
          add_scaled(a[l], w0, m0 + 4 * l);
          add_scaled(b[l], w1, m1 + 4 * l);
        }
      }
    }
    for (; e < e1; ++e) {
      const v4d w0 = v4d{0, 0, 0, 0} + static_cast<double>(val[e]);
      const M* m0 = m + static_cast<int64_t>(idx[e]) * stride;
#pragma GCC unroll 8
      for (int l = 0; l < NV; ++l) add_scaled(a[l], w0, m0 + 4 * l);
    }
#pragma GCC unroll 8
    for (int l = 0; l < NV; ++l) at4(out + r * stride + 4 * l) = two ? a[l] + b[l] : a[l];
  }
}

// Any stride (a multiple of 4): the sums kept in `out` itself, one chain.
template <class V, class M>
[[gnu::always_inline]] inline void gather_any(int64_t r0, int64_t r1, const int64_t* ptr, const int32_t* idx,
                                              const V* val, const M* m, int64_t stride, double* out) {
  for (int64_t r = r0; r < r1; ++r) {
    double* o = out + r * stride;
    for (int64_t l = 0; l < stride; ++l) o[l] = 0;
    for (int64_t e = ptr[r]; e < ptr[r + 1]; ++e) {
      const double w = static_cast<double>(val[e]);
      const M* mr = m + static_cast<int64_t>(idx[e]) * stride;
      for (int64_t l = 0; l < stride; ++l) o[l] += w * static_cast<double>(mr[l]);
    }
  }
}

template <class V, class M>
[[gnu::always_inline]] inline void gather_rows(int64_t r0, int64_t r1, const int64_t* ptr, const int32_t* idx,
                                               const V* val, const M* m, int64_t stride, double* out) {
  switch (stride / 4) {
    case 1: return gather_fixed<1>(r0, r1, ptr, idx, val, m, out);
    case 2: return gather_fixed<2>(r0, r1, ptr, idx, val, m, out);
    case 3: return gather_fixed<3>(r0, r1, ptr, idx, val, m, out);
    case 4: return gather_fixed<4>(r0, r1, ptr, idx, val, m, out);
    case 5: return gather_fixed<5>(r0, r1, ptr, idx, val, m, out);
    case 6: return gather_fixed<6>(r0, r1, ptr, idx, val, m, out);
    case 7: return gather_fixed<7>(r0, r1, ptr, idx, val, m, out);
    case 8: return gather_fixed<8>(r0, r1, ptr, idx, val, m, out);
    default: return gather_any(r0, r1, ptr, idx, val, m, stride, out);
  }
}

// The gradient's gather (double residuals) in clones per instruction set.
#define SCANPP_LOGREG_GATHER(NAME, V)                                                                          \
  [[gnu::target_clones("avx2", "default")]] void NAME(int64_t r0, int64_t r1, const int64_t* ptr,             \
                                                      const int32_t* idx, const V* val, const double* m,      \
                                                      int64_t stride, double* out) {                          \
    gather_rows(r0, r1, ptr, idx, val, m, stride, out);                                                       \
  }
SCANPP_LOGREG_GATHER(gather_f64_by_f32, float)
SCANPP_LOGREG_GATHER(gather_f64_by_f64, double)
#undef SCANPP_LOGREG_GATHER

// The margins' gather (float weights). GCC 12 widens a vector of four
// floats in two halves; the AVX2 kernel below uses the one instruction for
// it, with the same products and sums in the same order as gather_fixed.
#define SCANPP_LOGREG_GATHER_W(NAME, V)                                                                        \
  void NAME(int64_t r0, int64_t r1, const int64_t* ptr, const int32_t* idx, const V* val, const float* m,     \
            int64_t stride, double* out) {                                                                    \
    gather_rows(r0, r1, ptr, idx, val, m, stride, out);                                                       \
  }
SCANPP_LOGREG_GATHER_W(gather_f32_by_f32_generic, float)
SCANPP_LOGREG_GATHER_W(gather_f32_by_f64_generic, double)
#undef SCANPP_LOGREG_GATHER_W

template <int NV, class V>
__attribute__((target("avx2"))) void gather_w_avx2(int64_t r0, int64_t r1, const int64_t* ptr, const int32_t* idx,
                                                   const V* val, const float* m, double* out) {
  constexpr int64_t stride = 4 * NV;
  for (int64_t r = r0; r < r1; ++r) {
    __m256d a[NV], b[NV];
#pragma GCC unroll 8
    for (int l = 0; l < NV; ++l) a[l] = b[l] = _mm256_setzero_pd();
    int64_t e = ptr[r];
    const int64_t e1 = ptr[r + 1];
    for (; e + 1 < e1; e += 2) {
      const __m256d w0 = _mm256_set1_pd(static_cast<double>(val[e]));
      const __m256d w1 = _mm256_set1_pd(static_cast<double>(val[e + 1]));
      const float* m0 = m + static_cast<int64_t>(idx[e]) * stride;
      const float* m1 = m + static_cast<int64_t>(idx[e + 1]) * stride;
#pragma GCC unroll 8
      for (int l = 0; l < NV; ++l) {
        a[l] = _mm256_add_pd(a[l], _mm256_mul_pd(w0, _mm256_cvtps_pd(_mm_loadu_ps(m0 + 4 * l))));
        b[l] = _mm256_add_pd(b[l], _mm256_mul_pd(w1, _mm256_cvtps_pd(_mm_loadu_ps(m1 + 4 * l))));
      }
    }
    if (e < e1) {
      const __m256d w0 = _mm256_set1_pd(static_cast<double>(val[e]));
      const float* m0 = m + static_cast<int64_t>(idx[e]) * stride;
#pragma GCC unroll 8
      for (int l = 0; l < NV; ++l)
        a[l] = _mm256_add_pd(a[l], _mm256_mul_pd(w0, _mm256_cvtps_pd(_mm_loadu_ps(m0 + 4 * l))));
    }
#pragma GCC unroll 8
    for (int l = 0; l < NV; ++l) _mm256_storeu_pd(out + r * stride + 4 * l, _mm256_add_pd(a[l], b[l]));
  }
}

template <class V>
void gather_weights(int64_t r0, int64_t r1, const int64_t* ptr, const int32_t* idx, const V* val, const float* m,
                    int64_t stride, double* out) {
  static const bool has_avx2 = __builtin_cpu_supports("avx2");
  if (has_avx2) {
    // Up to 16 values a row, where gather_fixed also runs two chains.
    switch (stride / 4) {
      case 1: return gather_w_avx2<1>(r0, r1, ptr, idx, val, m, out);
      case 2: return gather_w_avx2<2>(r0, r1, ptr, idx, val, m, out);
      case 3: return gather_w_avx2<3>(r0, r1, ptr, idx, val, m, out);
      case 4: return gather_w_avx2<4>(r0, r1, ptr, idx, val, m, out);
      default: break;
    }
  }
  if constexpr (std::is_same_v<V, float>) gather_f32_by_f32_generic(r0, r1, ptr, idx, val, m, stride, out);
  else gather_f32_by_f64_generic(r0, r1, ptr, idx, val, m, stride, out);
}

inline void gather_resid(int64_t r0, int64_t r1, const int64_t* ptr, const int32_t* idx, const float* val,
                         const double* m, int64_t stride, double* out) {
  gather_f64_by_f32(r0, r1, ptr, idx, val, m, stride, out);
}
inline void gather_resid(int64_t r0, int64_t r1, const int64_t* ptr, const int32_t* idx, const double* val,
                         const double* m, int64_t stride, double* out) {
  gather_f64_by_f64(r0, r1, ptr, idx, val, m, stride, out);
}

// Mean cross-entropy + lambda/2 ||W||^2 and its gradient. theta holds W as
// p x k (k contiguous per feature) followed by the k intercepts. Internally
// rows of k values are padded to a stride kp, a multiple of 4 (zeros in the
// padding), so that the per-non-zero class loops run on whole vectors. The
// margins use W rounded to float (the loss and gradient are then those at
// that rounding, to 6e-8 relative), accumulated in double.
template <class V>
class Objective {
 public:
  Objective(const Design<V>& d, std::span<const int32_t> labels, int k, bool binary, double lambda, bool intercept)
      : d_(d), y_(labels), k_(k), kp_((k + 3) / 4 * 4), binary_(binary), lambda_(lambda), intercept_(intercept) {
    resid_.assign(static_cast<size_t>(d_.n * kp_), 0.0);
    wp_.assign(static_cast<size_t>(d_.p * kp_), 0.0f);
    gp_.assign(static_cast<size_t>(d_.p * kp_), 0.0);
  }
  int64_t size() const { return d_.p * k_ + k_; }
  int evaluations() const { return evaluations_; }  // value() calls

  // The loss at th (margins, probabilities and residuals kept for gradient()).
  double value(const std::vector<double>& th) {
    ++evaluations_;
    const int64_t n = d_.n, p = d_.p;
    const int k = k_;
    const int64_t kp = kp_;
    const double* b = th.data() + p * k;
    const double inv_n = 1.0 / static_cast<double>(n);
    const double penalty = parallel_reduce_blocks(p, 1024, 0.0, [&](int64_t j0, int64_t j1) {
      double sq = 0;
      for (int64_t j = j0; j < j1; ++j)
        for (int c = 0; c < k; ++c) {
          const double w = th[j * k + c];
          wp_[j * kp + c] = static_cast<float>(w);
          sq += w * w;
        }
      return sq;
    });
    // Margins, probabilities and per-row losses; resid = (P - Y) / n, the
    // padding lanes stay 0 (they gather the zero padding of wp_).
    const double loss = parallel_reduce_blocks(n, 64, 0.0, [&](int64_t r0, int64_t r1) {
      gather_weights(r0, r1, d_.row_ptr.data(), d_.row_idx.data(), d_.row_val.data(), wp_.data(), kp,
                     resid_.data());
      double acc = 0;
      for (int64_t i = r0; i < r1; ++i) {
        double* r = resid_.data() + i * kp;
        if (intercept_)
          for (int c = 0; c < k; ++c) r[c] += b[c];
        if (binary_) {
          const double t = r[0], yi = y_[i] == 1 ? 1.0 : 0.0;
          // log(1 + e^t) - y t, computed without overflow.
          acc += (t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t))) - yi * t;
          const double prob = t >= 0 ? 1.0 / (1.0 + std::exp(-t)) : std::exp(t) / (1.0 + std::exp(t));
          r[0] = (prob - yi) * inv_n;
        } else {
          const double zmax = *std::max_element(r, r + k);
          const double zy = r[y_[i]];
          double se = 0;
          for (int c = 0; c < k; ++c) {
            r[c] = std::exp(r[c] - zmax);
            se += r[c];
          }
          acc += zmax + std::log(se) - zy;
          const double scale = inv_n / se;
          for (int c = 0; c < k; ++c) r[c] *= scale;
          r[y_[i]] -= inv_n;
        }
      }
      return acc;
    });
    return loss * inv_n + 0.5 * lambda_ * penalty;
  }

  // The gradient at the th of the last value() call: X^T resid, one feature
  // at a time (accumulators in registers), plus the penalty's.
  void gradient(const std::vector<double>& th, std::vector<double>& grad) {
    const int64_t n = d_.n, p = d_.p;
    const int k = k_;
    const int64_t kp = kp_;
    grad.resize(static_cast<size_t>(size()));
    parallel_blocks(p, 256, [&](int64_t j0, int64_t j1) {
      gather_resid(j0, j1, d_.col_ptr.data(), d_.col_idx.data(), d_.col_val.data(), resid_.data(), kp, gp_.data());
      for (int64_t j = j0; j < j1; ++j)
        for (int c = 0; c < k; ++c) grad[j * k + c] = gp_[j * kp + c] + lambda_ * th[j * k + c];
    });
    for (int c = 0; c < k; ++c) grad[p * k + c] = 0.0;
    if (intercept_)
      for (int64_t i = 0; i < n; ++i)
        for (int c = 0; c < k; ++c) grad[p * k + c] += resid_[i * kp + c];
  }

 private:
  const Design<V>& d_;
  std::span<const int32_t> y_;
  int k_;
  int64_t kp_;
  bool binary_;
  double lambda_;
  bool intercept_;
  std::vector<double> resid_;
  std::vector<float> wp_;
  std::vector<double> gp_;
  int evaluations_ = 0;
};

template <class V>
LogregResult fit(const SparseMatrix& m, std::span<const int32_t> labels, int n_classes, const LogregOptions& opt) {
  const Design<V> d = make_design<V>(m);
  const bool binary = n_classes == 2;
  const int k = binary ? 1 : n_classes;
  const double lambda = 1.0 / (opt.C * static_cast<double>(d.n));
  Objective<V> f(d, labels, k, binary, lambda, opt.fit_intercept);
  LogregResult res;
  std::vector<double> th(static_cast<size_t>(f.size()), 0.0);
  const detail::LbfgsResult lr = detail::lbfgs_minimise(
      {[&](const std::vector<double>& x) { return f.value(x); },
       [&](const std::vector<double>& x, std::vector<double>& grad) { f.gradient(x, grad); }},
      th, {opt.max_iter, opt.tol, opt.memory});
  res.iterations = lr.iterations;
  res.converged = lr.converged;
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
  bool finite = true, float_exact = true;
  dispatch_dtype(m->dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (!std::is_same_v<T, Bool8>) {
      for (T v : m->data.as<T>()) {
        const double d = static_cast<double>(v);
        finite = finite && std::isfinite(d);
        float_exact = float_exact && static_cast<double>(static_cast<float>(d)) == d;
      }
    }
  });
  if (!finite) throw ValueError("logistic_regression: x has a non-finite value");
  return float_exact ? fit<float>(*m, labels, n_classes, opt) : fit<double>(*m, labels, n_classes, opt);
}

}  // namespace scanpp::tl
