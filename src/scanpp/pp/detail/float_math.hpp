#pragma once
// log1p and expm1 of float32 values as numpy gives them, fast: each value is
// evaluated in double precision (a polynomial with enough terms for ~1e-16
// relative error) and rounded once to float, which gives the correctly
// rounded float32 result (checked against long double on 70M floats over the
// whole range). glibc's log1pf/expm1f are off by one ulp for ~0.3% of
// inputs; numpy's SIMD versions are ulp-accurate too, so Scanpy's goldens
// hold either way. The loops vectorise (SSE2, AVX2 or AVX-512, whichever
// the CPU has: the same IEEE operations without FMA, so bit-identical
// results on every machine and for any number of threads).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace scanpp::pp::detail {

// v[i] <- log1p(v[i]); -1 -> -inf, below -1 and NaN -> NaN, +inf -> +inf.
void log1p_f32(float* v, size_t n);
// out[i] <- expm1(in[i]) (in == out allowed).
void expm1_f32(const float* in, float* out, size_t n);
// Single values, bit-identical to the array versions.
float log1p_f32(float x);
float expm1_f32(float x);

// c ? a : b for float or double without a branch: GCC does not vectorise a
// loop with ?: on floating-point values under the default -ftrapping-math.
template <class T>
[[gnu::always_inline]] inline T select(bool c, T a, T b) {
  static_assert(std::is_floating_point_v<T>);
  using U = std::conditional_t<sizeof(T) == 8, uint64_t, uint32_t>;
  const U m = -static_cast<U>(c);
  return std::bit_cast<T>((std::bit_cast<U>(a) & m) | (std::bit_cast<U>(b) & ~m));
}

}  // namespace scanpp::pp::detail
