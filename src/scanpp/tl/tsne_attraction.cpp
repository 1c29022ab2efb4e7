// The attractive half of the t-SNE gradient, over the stored entries of P,
// and the conversion of P to the plain CSR the optimiser reads.
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <string>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/tsne_gradient.hpp"

namespace scanpp::tl {

namespace {
constexpr int64_t kF32Chunk = 8;  // entries per vector in the float32 attraction
}  // namespace

TsneP tsne_p_from_sparse(const SparseMatrix& P) {
  if (P.n_rows != P.n_cols) throw ValueError("tsne: P must be square");
  if (!dtype_is_float(P.dtype())) throw ValueError("tsne: P must hold floating-point values");
  // P is symmetric, so a CSC matrix read as CSR is its transpose, i.e. itself;
  // converting keeps this correct for any input.
  const SparseMatrix csr = P.format == SparseFormat::CSR ? P : convert_format(P, SparseFormat::CSR);
  TsneP out;
  out.n = csr.n_rows;
  out.indptr = csr.indptr;
  out.indices = csr.indices;
  out.values = csr.data.to_vector<double>();
  for (double v : out.values)
    if (!std::isfinite(v) || v < 0.0) throw ValueError("tsne: P has a negative or non-finite entry");
  for (int32_t j : out.indices)
    if (j < 0 || j >= out.n) throw ValueError("tsne: P has a column index out of range");
  for (double v : out.values) {
    out.sum_p += v;
    if (v > 0.0) out.sum_p_log_p += v * std::log(v);
  }
  out.f32_indptr.assign(static_cast<size_t>(out.n) + 1, 0);
  for (int64_t i = 0; i < out.n; ++i) {
    const int64_t len = out.indptr[i + 1] - out.indptr[i];
    out.f32_indptr[i + 1] = out.f32_indptr[i] + (len + kF32Chunk - 1) / kF32Chunk * kF32Chunk;
  }
  out.f32_indices.assign(static_cast<size_t>(out.f32_indptr[out.n]), 0);
  out.f32_values.assign(out.f32_indices.size(), 0.0f);
  for (int64_t i = 0; i < out.n; ++i) {
    int64_t at = out.f32_indptr[i];
    for (int64_t q = out.indptr[i]; q < out.indptr[i + 1]; ++q, ++at) {
      out.f32_indices[at] = out.indices[q];
      out.f32_values[at] = static_cast<float>(out.values[q]);
    }
    for (; at < out.f32_indptr[i + 1]; ++at) out.f32_indices[at] = static_cast<int32_t>(i);
  }
  return out;
}

// The vector helpers below are internal and always inlined: the ABI note on
// passing 32-byte vectors does not concern them.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace {

// Four entries at a time in a fixed order, so that every instruction set the
// clone runs on gives the same sums (no FMA contraction in ISO C++).
using D4 = double __attribute__((vector_size(32)));
using U4 = uint64_t __attribute__((vector_size(32)));

// ln(1 + d) for d ≥ 0, four at a time, to within a few ulps: 1 + d = m·2^e
// with m in [√½, √2), ln m = 2 atanh(s), s = (m − 1)/(m + 1), |s| < 0.172,
// by its series to s²¹ (truncation below 1e-17). Forming 1 + d rounds away
// d below half an ulp of 1, which changes ln(1 + d) by less than 1.2e-16.
// Only unsigned shifts and integer adds, which AVX2 has for 64-bit lanes.
__attribute__((always_inline)) inline D4 log1p4(D4 d) {
  const D4 u = 1.0 + d;
  U4 bits;
  std::memcpy(&bits, &u, sizeof(D4));
  // u ≥ 1, so its bits exceed √½'s; the difference's exponent field is the
  // power of two that puts the mantissa in [√½, √2).
  constexpr uint64_t kSqrtHalfBits = 0x3fe6a09e667f3bcdULL;
  const U4 k = (bits - kSqrtHalfBits) >> 52;
  const U4 mbits = bits - (k << 52);
  D4 m;
  std::memcpy(&m, &mbits, sizeof(D4));
  // k as a double: k + 2^52 has k in its mantissa bits.
  constexpr uint64_t kTwo52Bits = 0x4330000000000000ULL;
  const U4 kbits = k + kTwo52Bits;
  D4 e;
  std::memcpy(&e, &kbits, sizeof(D4));
  e -= 4503599627370496.0;  // 2^52
  const D4 s = (m - 1.0) / (m + 1.0);
  const D4 s2 = s * s;
  // Horner on 1 + s²/3 + s⁴/5 + … + s²⁰/21, written out (a loop over 1/t
  // would divide at run time).
  D4 poly = D4{} + 1.0 / 21.0;
  poly = poly * s2 + 1.0 / 19.0;
  poly = poly * s2 + 1.0 / 17.0;
  poly = poly * s2 + 1.0 / 15.0;
  poly = poly * s2 + 1.0 / 13.0;
  poly = poly * s2 + 1.0 / 11.0;
  poly = poly * s2 + 1.0 / 9.0;
  poly = poly * s2 + 1.0 / 7.0;
  poly = poly * s2 + 1.0 / 5.0;
  poly = poly * s2 + 1.0 / 3.0;
  poly = poly * s2 + 1.0;
  constexpr double kLn2 = 0.6931471805599453094;
  return e * kLn2 + 2.0 * s * poly;
}

using D2 = double __attribute__((vector_size(16)));

// Offsets from (xv, yv) of four neighbours, and their p: each neighbour's
// (x, y) is one 16-byte load, split into the x and y vectors by shuffles.
struct Gathered {
  D4 dx, dy, p;
};
__attribute__((always_inline)) inline Gathered gather4(const int32_t* idx, const double* values, const double* y,
                                                       D4 xv, D4 yv) {
  D2 p0, p1, p2, p3;
  std::memcpy(&p0, y + 2 * static_cast<int64_t>(idx[0]), sizeof(D2));
  std::memcpy(&p1, y + 2 * static_cast<int64_t>(idx[1]), sizeof(D2));
  std::memcpy(&p2, y + 2 * static_cast<int64_t>(idx[2]), sizeof(D2));
  std::memcpy(&p3, y + 2 * static_cast<int64_t>(idx[3]), sizeof(D2));
  const D4 a = __builtin_shufflevector(p0, p1, 0, 1, 2, 3);
  const D4 b = __builtin_shufflevector(p2, p3, 0, 1, 2, 3);
  D4 p;
  std::memcpy(&p, values, sizeof(D4));
  return {xv - __builtin_shufflevector(a, b, 0, 2, 4, 6), yv - __builtin_shufflevector(a, b, 1, 3, 5, 7), p};
}

// Rows [r0, r1): attr[i] = Σ_j p_ij K_ij (y_i − y_j); with kWithError, also
// returns Σ p_ij ln(1 + d_ij²).
template <bool kWithError>
__attribute__((always_inline)) inline double attraction_rows_impl(const int64_t* indptr, const int32_t* indices,
                                                                  const double* values, const double* y, double* attr,
                                                                  int64_t r0, int64_t r1) {
  double err_total = 0.0;
  for (int64_t i = r0; i < r1; ++i) {
    const double xi = y[2 * i], yi = y[2 * i + 1];
    const D4 xv = D4{} + xi, yv = D4{} + yi;
    D4 fx{}, fy{}, err{};
    int64_t q = indptr[i];
    const int64_t end = indptr[i + 1];
    for (; q + 4 <= end; q += 4) {
      const Gathered g = gather4(indices + q, values + q, y, xv, yv);
      const D4 d2 = g.dx * g.dx + g.dy * g.dy;
      const D4 w = g.p / (1.0 + d2);
      fx += w * g.dx;
      fy += w * g.dy;
      if constexpr (kWithError) err += g.p * log1p4(d2);
    }
    double sx = (fx[0] + fx[1]) + (fx[2] + fx[3]), sy = (fy[0] + fy[1]) + (fy[2] + fy[3]);
    double se = (err[0] + err[1]) + (err[2] + err[3]);
    for (; q < end; ++q) {
      const int64_t j = indices[q];
      const double dx = xi - y[2 * j], dy = yi - y[2 * j + 1];
      const double d2 = dx * dx + dy * dy;
      const double w = values[q] / (1.0 + d2);
      sx += w * dx;
      sy += w * dy;
      if constexpr (kWithError) se += values[q] * log1p4(D4{} + d2)[0];
    }
    attr[2 * i] = sx;
    attr[2 * i + 1] = sy;
    err_total += se;
  }
  return err_total;
}

__attribute__((target_clones("avx2", "default"))) double attraction_rows(const int64_t* indptr,
                                                                        const int32_t* indices, const double* values,
                                                                        const double* y, double* attr, int64_t r0,
                                                                        int64_t r1, bool with_error) {
  return with_error ? attraction_rows_impl<true>(indptr, indices, values, y, attr, r0, r1)
                    : attraction_rows_impl<false>(indptr, indices, values, y, attr, r0, r1);
}

using F8 = float __attribute__((vector_size(32)));
using F4 = float __attribute__((vector_size(16)));
using F2 = float __attribute__((vector_size(8)));

// Rows [r0, r1) of the float32 attraction over the padded rows, with
// `load` putting eight neighbours' x and y into two vectors (pure data
// movement, so every version below gives the same bits); the arithmetic is
// one fixed sequence of float32 vector operations (no FMA contraction).
template <class Load>
__attribute__((always_inline)) inline void attraction_rows_f32_impl(const int64_t* indptr, const int32_t* indices,
                                                                    const float* values, const float* y, double* attr,
                                                                    int64_t r0, int64_t r1, Load load) {
  for (int64_t i = r0; i < r1; ++i) {
    const F8 xv = F8{} + y[2 * i], yv = F8{} + y[2 * i + 1];
    F8 fx{}, fy{};
    for (int64_t q = indptr[i]; q < indptr[i + 1]; q += kF32Chunk) {
      F8 xj, yj;
      load(indices + q, xj, yj);
      F8 p;
      std::memcpy(&p, values + q, sizeof(F8));
      const F8 dx = xv - xj, dy = yv - yj;
      const F8 w = p / (1.0f + dx * dx + dy * dy);
      fx += w * dx;
      fy += w * dy;
    }
    double sx = 0.0, sy = 0.0;
    for (int l = 0; l < kF32Chunk; ++l) {
      sx += static_cast<double>(fx[l]);
      sy += static_cast<double>(fy[l]);
    }
    attr[2 * i] = sx;
    attr[2 * i + 1] = sy;
  }
}

// The portable load: each neighbour's (x, y) as 8 bytes, joined by shuffles.
struct ShuffleLoad {
  const float* y;
  __attribute__((always_inline)) void operator()(const int32_t* idx, F8& xj, F8& yj) const {
    F2 c[kF32Chunk];
    for (int l = 0; l < kF32Chunk; ++l) std::memcpy(&c[l], y + 2 * static_cast<int64_t>(idx[l]), sizeof(F2));
    const F4 c01 = __builtin_shufflevector(c[0], c[1], 0, 1, 2, 3), c23 = __builtin_shufflevector(c[2], c[3], 0, 1, 2, 3);
    const F4 c45 = __builtin_shufflevector(c[4], c[5], 0, 1, 2, 3), c67 = __builtin_shufflevector(c[6], c[7], 0, 1, 2, 3);
    const F8 a = __builtin_shufflevector(c01, c45, 0, 1, 2, 3, 4, 5, 6, 7);
    const F8 b = __builtin_shufflevector(c23, c67, 0, 1, 2, 3, 4, 5, 6, 7);
    xj = __builtin_shufflevector(a, b, 0, 2, 8, 10, 4, 6, 12, 14);
    yj = __builtin_shufflevector(a, b, 1, 3, 9, 11, 5, 7, 13, 15);
  }
};

// AVX2: the shuffles above all run on one port, which bounded the loop.
// Here each (x, y) is broadcast straight from memory (a load, no shuffle)
// and the pairs are combined by blends (any vector port); two shuffles then
// split x from y, into the same lanes as ShuffleLoad's.
struct BroadcastLoad {
  const float* y;
  __attribute__((target("avx2"))) __m256i pair(int32_t j) const {
    long long v;
    std::memcpy(&v, y + 2 * static_cast<int64_t>(j), sizeof v);
    return _mm256_set1_epi64x(v);
  }
  __attribute__((target("avx2"))) void operator()(const int32_t* idx, F8& xj, F8& yj) const {
    // 64-bit lanes: a = (c0, c1, c4, c5), b = (c2, c3, c6, c7).
    const __m256i a = _mm256_blend_epi32(_mm256_blend_epi32(pair(idx[0]), pair(idx[1]), 0x0c),
                                         _mm256_blend_epi32(pair(idx[4]), pair(idx[5]), 0xc0), 0xf0);
    const __m256i b = _mm256_blend_epi32(_mm256_blend_epi32(pair(idx[2]), pair(idx[3]), 0x0c),
                                         _mm256_blend_epi32(pair(idx[6]), pair(idx[7]), 0xc0), 0xf0);
    const __m256 fa = _mm256_castsi256_ps(a), fb = _mm256_castsi256_ps(b);
    F8 af, bf;
    std::memcpy(&af, &fa, sizeof(F8));
    std::memcpy(&bf, &fb, sizeof(F8));
    xj = __builtin_shufflevector(af, bf, 0, 2, 8, 10, 4, 6, 12, 14);
    yj = __builtin_shufflevector(af, bf, 1, 3, 9, 11, 5, 7, 13, 15);
  }
};

// Two versions of one function, picked by the CPU at load time; the same
// bits from both (15 % faster with AVX2 on PBMC 3k).
__attribute__((target("default"))) void attraction_rows_f32(const int64_t* indptr, const int32_t* indices,
                                                           const float* values, const float* y, double* attr,
                                                           int64_t r0, int64_t r1) {
  attraction_rows_f32_impl(indptr, indices, values, y, attr, r0, r1, ShuffleLoad{y});
}
// flatten: inlines BroadcastLoad (an AVX2 function, which GCC will not
// inline into the template's generic body on its own).
__attribute__((target("avx2"), flatten)) void attraction_rows_f32(const int64_t* indptr, const int32_t* indices,
                                                        const float* values, const float* y, double* attr,
                                                        int64_t r0, int64_t r1) {
  attraction_rows_f32_impl(indptr, indices, values, y, attr, r0, r1, BroadcastLoad{y});
}

}  // namespace

void tsne_attraction_f32_rows(const TsneP& P, std::span<const float> y32, std::span<double> attr, int64_t r0,
                              int64_t r1) {
  attraction_rows_f32(P.f32_indptr.data(), P.f32_indices.data(), P.f32_values.data(), y32.data(), attr.data(), r0,
                      r1);
}

void tsne_attraction_f32(const TsneP& P, std::span<const float> y32, std::span<double> attr) {
  parallel_blocks(P.n, 512, [&](int64_t r0, int64_t r1) { tsne_attraction_f32_rows(P, y32, attr, r0, r1); });
}

double tsne_attraction_rows(const TsneP& P, std::span<const double> y, std::span<double> attr, int64_t r0, int64_t r1,
                            bool with_error) {
  return attraction_rows(P.indptr.data(), P.indices.data(), P.values.data(), y.data(), attr.data(), r0, r1,
                         with_error);
}

double tsne_attraction(const TsneP& P, std::span<const double> y, std::span<double> attr, bool with_error) {
  const double log_sum = parallel_reduce_blocks(P.n, kTsneAttractionBlock, 0.0, [&](int64_t r0, int64_t r1) {
    return tsne_attraction_rows(P, y, attr, r0, r1, with_error);
  });
  // p ln(p / K) = p ln p + p ln(1 + d²); the first sum is P's own.
  return with_error ? P.sum_p_log_p + log_sum : 0.0;
}

}  // namespace scanpp::tl
