#include "scanpp/pp/detail/scale_rows.hpp"

#include "scanpp/pp/detail/float_math.hpp"

namespace scanpp::pp::detail {
namespace {

// Four rows per sweep: each gene's running sums stay in registers across the
// four adds (the same adds in the same order as one row at a time).
template <class T>
[[gnu::always_inline]] inline void moments(const T* const* rows, int64_t n, int64_t m, double* su, double* sq) {
  int64_t r = 0;
  for (; r + 4 <= n; r += 4) {
    const T* x0 = rows[r];
    const T* x1 = rows[r + 1];
    const T* x2 = rows[r + 2];
    const T* x3 = rows[r + 3];
#pragma omp simd
    for (int64_t g = 0; g < m; ++g) {
      double s = su[g], q = sq[g];
      const T v0 = x0[g], v1 = x1[g], v2 = x2[g], v3 = x3[g];
      s += static_cast<double>(v0);
      q += static_cast<double>(v0 * v0);
      s += static_cast<double>(v1);
      q += static_cast<double>(v1 * v1);
      s += static_cast<double>(v2);
      q += static_cast<double>(v2 * v2);
      s += static_cast<double>(v3);
      q += static_cast<double>(v3 * v3);
      su[g] = s;
      sq[g] = q;
    }
  }
  for (; r < n; ++r) {
    const T* x = rows[r];
#pragma omp simd
    for (int64_t g = 0; g < m; ++g) {
      const T v = x[g];
      su[g] += static_cast<double>(v);
      sq[g] += static_cast<double>(v * v);
    }
  }
}

template <class T>
[[gnu::always_inline]] inline void center_row(T* x, const double* mean, const double* sd, int64_t p,
                                              const ScaleClip<T>& cl) {
  const T hi_cut = cl.hi_cut, lo_cut = cl.lo_cut, hi = cl.hi, lo = cl.lo;
#pragma omp simd
  for (int64_t g = 0; g < p; ++g) {
    const T c = static_cast<T>(static_cast<double>(x[g]) - mean[g]);
    const T v = static_cast<T>(static_cast<double>(c) / sd[g]);
    x[g] = select(v > hi_cut, hi, select(v < lo_cut, lo, v));
  }
}

template <class T>
[[gnu::always_inline]] inline void divide_row(T* x, const double* sd, int64_t p, const ScaleClip<T>& cl) {
  const T hi_cut = cl.hi_cut, hi = cl.hi;
#pragma omp simd
  for (int64_t g = 0; g < p; ++g) {
    const T v = static_cast<T>(static_cast<double>(x[g]) / sd[g]);
    x[g] = select(v > hi_cut, hi, v);
  }
}

}  // namespace

// AVX2 without FMA (GCC contracts a*b+c only where the target has FMA).
[[gnu::target_clones("avx2", "default")]] void scale_moments(const float* const* rows, int64_t n, int64_t m,
                                                             double* sum, double* sumsq) {
  moments(rows, n, m, sum, sumsq);
}
[[gnu::target_clones("avx2", "default")]] void scale_moments(const double* const* rows, int64_t n, int64_t m,
                                                             double* sum, double* sumsq) {
  moments(rows, n, m, sum, sumsq);
}
[[gnu::target_clones("avx2", "default")]] void scale_center_row(float* x, const double* mean, const double* sd,
                                                                int64_t p, const ScaleClip<float>& clip) {
  center_row(x, mean, sd, p, clip);
}
[[gnu::target_clones("avx2", "default")]] void scale_center_row(double* x, const double* mean, const double* sd,
                                                                int64_t p, const ScaleClip<double>& clip) {
  center_row(x, mean, sd, p, clip);
}
[[gnu::target_clones("avx2", "default")]] void scale_divide_row(float* x, const double* sd, int64_t p,
                                                                const ScaleClip<float>& clip) {
  divide_row(x, sd, p, clip);
}
[[gnu::target_clones("avx2", "default")]] void scale_divide_row(double* x, const double* sd, int64_t p,
                                                                const ScaleClip<double>& clip) {
  divide_row(x, sd, p, clip);
}

}  // namespace scanpp::pp::detail
