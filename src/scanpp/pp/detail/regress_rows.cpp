#include "scanpp/pp/detail/regress_rows.hpp"

#include <algorithm>

namespace scanpp::pp::detail {
namespace {

// With the number of covariates known at compile time the covariate loop is
// unrolled inside the vectorised gene loop.
template <class T, int K>
[[gnu::always_inline]] inline void crossprod_k(const T* x, const double* r, double* acc, int64_t m) {
  const double r0 = r[0], r1 = K > 1 ? r[1] : 0.0, r2 = K > 2 ? r[2] : 0.0, r3 = K > 3 ? r[3] : 0.0;
  double* a0 = acc;
  double* a1 = acc + (K > 1 ? m : 0);
  double* a2 = acc + (K > 2 ? 2 * m : 0);
  double* a3 = acc + (K > 3 ? 3 * m : 0);
#pragma omp simd
  for (int64_t g = 0; g < m; ++g) {
    const double v = static_cast<double>(x[g]);
    a0[g] += r0 * v;
    if constexpr (K > 1) a1[g] += r1 * v;
    if constexpr (K > 2) a2[g] += r2 * v;
    if constexpr (K > 3) a3[g] += r3 * v;
  }
}

template <class T>
[[gnu::always_inline]] inline void crossprod(const T* x, const double* r, int64_t k, double* acc, int64_t m) {
  switch (k) {
    case 1: crossprod_k<T, 1>(x, r, acc, m); return;
    case 2: crossprod_k<T, 2>(x, r, acc, m); return;
    case 3: crossprod_k<T, 3>(x, r, acc, m); return;
    case 4: crossprod_k<T, 4>(x, r, acc, m); return;
    default: break;
  }
  for (int64_t c = 0; c < k; ++c) {
    const double rc = r[c];
    double* out = acc + c * m;
#pragma omp simd
    for (int64_t g = 0; g < m; ++g) out[g] += rc * static_cast<double>(x[g]);
  }
}

// The prediction starts at 0 and adds the covariates in order, as the
// covariate-by-covariate loop does (0 + a keeps a's value except for the sign of a zero).
template <class T, int K>
[[gnu::always_inline]] inline void residual_k(T* x, const double* r, const double* coeff, int64_t p) {
  const double r0 = r[0], r1 = K > 1 ? r[1] : 0.0, r2 = K > 2 ? r[2] : 0.0, r3 = K > 3 ? r[3] : 0.0;
  const double* c0 = coeff;
  const double* c1 = coeff + (K > 1 ? p : 0);
  const double* c2 = coeff + (K > 2 ? 2 * p : 0);
  const double* c3 = coeff + (K > 3 ? 3 * p : 0);
#pragma omp simd
  for (int64_t g = 0; g < p; ++g) {
    double pred = 0.0;
    pred += r0 * c0[g];
    if constexpr (K > 1) pred += r1 * c1[g];
    if constexpr (K > 2) pred += r2 * c2[g];
    if constexpr (K > 3) pred += r3 * c3[g];
    x[g] = static_cast<T>(static_cast<double>(x[g]) - pred);
  }
}

template <class T>
[[gnu::always_inline]] inline void residual(T* x, const double* r, int64_t k, const double* coeff, int64_t p,
                                            double* scratch) {
  switch (k) {
    case 1: residual_k<T, 1>(x, r, coeff, p); return;
    case 2: residual_k<T, 2>(x, r, coeff, p); return;
    case 3: residual_k<T, 3>(x, r, coeff, p); return;
    case 4: residual_k<T, 4>(x, r, coeff, p); return;
    default: break;
  }
  std::fill(scratch, scratch + p, 0.0);
  for (int64_t c = 0; c < k; ++c) {
    const double rc = r[c];
    const double* co = coeff + c * p;
#pragma omp simd
    for (int64_t g = 0; g < p; ++g) scratch[g] += rc * co[g];
  }
#pragma omp simd
  for (int64_t g = 0; g < p; ++g) x[g] = static_cast<T>(static_cast<double>(x[g]) - scratch[g]);
}

}  // namespace

// AVX2 without FMA (GCC contracts a*b+c only where the target has FMA).
[[gnu::target_clones("avx2", "default")]] void regress_crossprod_row(const float* x, const double* r, int64_t k,
                                                                     double* acc, int64_t m) {
  crossprod(x, r, k, acc, m);
}
[[gnu::target_clones("avx2", "default")]] void regress_crossprod_row(const double* x, const double* r, int64_t k,
                                                                     double* acc, int64_t m) {
  crossprod(x, r, k, acc, m);
}
[[gnu::target_clones("avx2", "default")]] void regress_residual_row(float* x, const double* r, int64_t k,
                                                                    const double* coeff, int64_t p, double* scratch) {
  residual(x, r, k, coeff, p, scratch);
}
[[gnu::target_clones("avx2", "default")]] void regress_residual_row(double* x, const double* r, int64_t k,
                                                                    const double* coeff, int64_t p, double* scratch) {
  residual(x, r, k, coeff, p, scratch);
}

}  // namespace scanpp::pp::detail
