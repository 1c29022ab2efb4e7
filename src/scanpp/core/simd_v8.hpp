#pragma once
// Eight doubles as one vector value, for the fixed-order kernels of the
// Lanczos solvers: GCC lowers the arithmetic to one zmm, two ymm or four xmm
// registers depending on the target clone, and ISO C++ contracts nothing
// into FMA, so every clone gives the same bits.
namespace scanpp {
typedef double V8 __attribute__((vector_size(64)));
typedef double V8u __attribute__((vector_size(64), aligned(8), may_alias));
}  // namespace scanpp

#define SCANPP_LOAD8(p) (*reinterpret_cast<const V8u*>(p))
#define SCANPP_STORE8(p, v) (*reinterpret_cast<V8u*>(p) = (v))
// Fixed-order sum of the lanes.
#define SCANPP_HSUM8(s) ((((s)[0] + (s)[1]) + ((s)[2] + (s)[3])) + (((s)[4] + (s)[5]) + ((s)[6] + (s)[7])))
