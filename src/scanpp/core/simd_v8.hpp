#pragma once
// Eight doubles as one vector value, for the fixed-order kernels of the
// Lanczos solvers: GCC lowers the arithmetic to one zmm, two ymm or four xmm
// registers depending on the target clone. GCC contracts a * b + c into FMA
// in C++ by default (-ffp-contract=fast, even with -std=c++20), so the
// AVX2/AVX-512 clones may differ from the baseline one in the last bits:
// results can differ between machines, never between runs or thread counts
// on one machine (files that need the same bits everywhere turn contraction
// off, e.g. pp/detail/float_math.cpp).
namespace scanpp {
typedef double V8 __attribute__((vector_size(64)));
typedef double V8u __attribute__((vector_size(64), aligned(8), may_alias));
}  // namespace scanpp

#define SCANPP_LOAD8(p) (*reinterpret_cast<const V8u*>(p))
#define SCANPP_STORE8(p, v) (*reinterpret_cast<V8u*>(p) = (v))
// Fixed-order sum of the lanes.
#define SCANPP_HSUM8(s) ((((s)[0] + (s)[1]) + ((s)[2] + (s)[3])) + (((s)[4] + (s)[5]) + ((s)[6] + (s)[7])))
