#include "scanpp/pp/detail/float_math.hpp"

#include <bit>
#include <cmath>
#include <cstdint>

// No a*b+c contraction into FMA in any clone (the AVX-512 one has FMA): every
// clone must do the same IEEE operations, for the same bits on every machine.
#pragma GCC optimize("fp-contract=off")

namespace scanpp::pp::detail {

namespace {

// Branch-free selects: a ?: on doubles stops GCC's vectoriser under the
// default -ftrapping-math.
[[gnu::always_inline]] inline double pick(bool c, double a, double b) {
  const uint64_t m = -static_cast<uint64_t>(c);
  return std::bit_cast<double>((std::bit_cast<uint64_t>(a) & m) | (std::bit_cast<uint64_t>(b) & ~m));
}
[[gnu::always_inline]] inline float pickf(bool c, float a, float b) {
  const uint32_t m = -static_cast<uint32_t>(c);
  return std::bit_cast<float>((std::bit_cast<uint32_t>(a) & m) | (std::bit_cast<uint32_t>(b) & ~m));
}

// ln 2 split so that k * kLn2Hi is exact for |k| < 2^20.
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;

// log(u) for a positive finite double u: u = 2^k m with m in [sqrt(1/2), sqrt(2)),
// log(m) = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172, as the series
// 2s (1 + s^2/3 + ... + s^20/21) (truncation error below 1e-18).
[[gnu::always_inline]] inline double log_positive(double u) {
  constexpr uint64_t kSqrtHalf = 0x3fe6a09e667f3bcdULL;
  const uint64_t b = std::bit_cast<uint64_t>(u) + (0x3ff0000000000000ULL - kSqrtHalf);
  // k = exponent field - 1023, converted without an int64 -> double instruction (none before AVX-512).
  const double k = std::bit_cast<double>((b >> 52) | 0x4330000000000000ULL) - (0x1p52 + 1023.0);
  const double m = std::bit_cast<double>((b & 0x000fffffffffffffULL) + kSqrtHalf);
  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s;
  double p = 1.0 / 21;
  p = p * z + 1.0 / 19;
  p = p * z + 1.0 / 17;
  p = p * z + 1.0 / 15;
  p = p * z + 1.0 / 13;
  p = p * z + 1.0 / 11;
  p = p * z + 1.0 / 9;
  p = p * z + 1.0 / 7;
  p = p * z + 1.0 / 5;
  p = p * z + 1.0 / 3;
  // 2s = f - s f, and s f = f^2/2 - s f^2/2: keeps the leading terms exact-ish.
  const double hf = 0.5 * f * f;
  const double lm = f - hf + s * (hf + 2.0 * z * p);
  return k * kLn2Hi + (lm + k * kLn2Lo);
}

[[gnu::always_inline]] inline float log1p_one(float x) {
  // 1 + x is exact in double for |x| >= 2^-29; below that log1p(x) rounds to x.
  const double y = log_positive(1.0 + static_cast<double>(x));
  const float r = pickf(std::fabs(x) < 0x1p-29f, x, static_cast<float>(y));
  const float inf = __builtin_inff();
  const bool special = !(x > -1.0f) || x == inf;  // NaN fails x > -1
  const float sval = pickf(x == -1.0f, -inf, pickf(x == inf, inf, __builtin_nanf("")));
  return pickf(special, sval, r);
}

[[gnu::always_inline]] inline double clamp100(float xf) {
  // Beyond +-100 the float result is already inf or -1.
  double x = static_cast<double>(xf);
  x = pick(x > 100.0, 100.0, x);
  return pick(x < -100.0, -100.0, x);
}

// |x| < 0.5: the series x + x^2/2! + ... + x^15/15!.
[[gnu::always_inline]] inline double expm1_small(double x) {
  double q = 1.0 / 1307674368000.0;
  q = q * x + 1.0 / 87178291200.0;
  q = q * x + 1.0 / 6227020800.0;
  q = q * x + 1.0 / 479001600.0;
  q = q * x + 1.0 / 39916800.0;
  q = q * x + 1.0 / 3628800.0;
  q = q * x + 1.0 / 362880.0;
  q = q * x + 1.0 / 40320.0;
  q = q * x + 1.0 / 5040.0;
  q = q * x + 1.0 / 720.0;
  q = q * x + 1.0 / 120.0;
  q = q * x + 1.0 / 24.0;
  q = q * x + 1.0 / 6.0;
  q = q * x + 0.5;
  q = q * x + 1.0;
  return x * q;
}

// Otherwise e^x - 1 (no cancellation for |x| >= 0.5) with x = k ln2 + r,
// |r| <= ln2/2; k by the round-to-nearest magic constant.
[[gnu::always_inline]] inline double expm1_large(double x) {
  const double t = x * 1.44269504088896338700e+00 + 0x1.8p52;
  const double k = t - 0x1.8p52;
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;
  double e = 1.0 / 6227020800.0;
  e = e * r + 1.0 / 479001600.0;
  e = e * r + 1.0 / 39916800.0;
  e = e * r + 1.0 / 3628800.0;
  e = e * r + 1.0 / 362880.0;
  e = e * r + 1.0 / 40320.0;
  e = e * r + 1.0 / 5040.0;
  e = e * r + 1.0 / 720.0;
  e = e * r + 1.0 / 120.0;
  e = e * r + 1.0 / 24.0;
  e = e * r + 1.0 / 6.0;
  e = e * r + 0.5;
  e = e * r + 1.0;
  e = e * r + 1.0;
  // 2^k from the low bits of t (they hold k in two's complement).
  const double two_k = std::bit_cast<double>((std::bit_cast<uint64_t>(t) + 1023) << 52);
  return e * two_k - 1.0;  // NaN propagates
}

[[gnu::always_inline]] inline float expm1_one(float xf) {
  const double x = clamp100(xf);
  return static_cast<float>(pick(std::fabs(x) < 0.5, expm1_small(x), expm1_large(x)));
}

}  // namespace

// Three clones: AVX-512 (x86-64-v4: eight doubles a vector, about half the
// time of AVX2 here), AVX2 and SSE2. GCC would contract a*b+c into FMA where
// the target has it (the AVX-512 one), which the fp-contract=off above
// forbids: all clones do the same IEEE operations and agree bit for bit.
[[gnu::target_clones("arch=x86-64-v4", "avx2", "default")]] void log1p_f32(float* v, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) v[i] = log1p_one(v[i]);
}

// Log-normalised data are mostly >= 0.5: when a whole array is on one side
// only that branch is evaluated (the same formula, so the same bits).
[[gnu::target_clones("arch=x86-64-v4", "avx2", "default")]] void expm1_f32(const float* in, float* out, size_t n) {
  size_t small = 0;
#pragma omp simd reduction(+ : small)
  for (size_t i = 0; i < n; ++i) small += static_cast<size_t>(std::fabs(clamp100(in[i])) < 0.5);
  if (small == 0) {
#pragma omp simd
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(expm1_large(clamp100(in[i])));
  } else if (small == n) {
#pragma omp simd
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(expm1_small(clamp100(in[i])));
  } else {
#pragma omp simd
    for (size_t i = 0; i < n; ++i) out[i] = expm1_one(in[i]);
  }
}

float log1p_f32(float x) { return log1p_one(x); }
float expm1_f32(float x) { return expm1_one(x); }

}  // namespace scanpp::pp::detail
