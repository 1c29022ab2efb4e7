#include "scanpp/core/column_block.hpp"

#include "scanpp/core/simd_v8.hpp"

namespace scanpp {

// Four columns at a time: x is loaded once for four dot products.
[[gnu::target_clones("avx512f", "avx2", "default")]] void block_dots(const double* V, int64_t ld, int k,
                                                                     const double* x, int64_t r0, int64_t r1,
                                                                     double* h) {
  int c = 0;
  for (; c + 4 <= k; c += 4) {
    const double* a0 = V + static_cast<int64_t>(c) * ld;
    const double* a1 = a0 + ld;
    const double* a2 = a1 + ld;
    const double* a3 = a2 + ld;
    V8 s0 = {}, s1 = {}, s2 = {}, s3 = {};
    int64_t i = r0;
    for (; i + 8 <= r1; i += 8) {
      const V8 xv = SCANPP_LOAD8(x + i);
      s0 += SCANPP_LOAD8(a0 + i) * xv;
      s1 += SCANPP_LOAD8(a1 + i) * xv;
      s2 += SCANPP_LOAD8(a2 + i) * xv;
      s3 += SCANPP_LOAD8(a3 + i) * xv;
    }
    double t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    for (; i < r1; ++i) {
      t0 += a0[i] * x[i];
      t1 += a1[i] * x[i];
      t2 += a2[i] * x[i];
      t3 += a3[i] * x[i];
    }
    h[c] = SCANPP_HSUM8(s0) + t0;
    h[c + 1] = SCANPP_HSUM8(s1) + t1;
    h[c + 2] = SCANPP_HSUM8(s2) + t2;
    h[c + 3] = SCANPP_HSUM8(s3) + t3;
  }
  for (; c < k; ++c) {
    const double* a0 = V + static_cast<int64_t>(c) * ld;
    V8 s0 = {};
    int64_t i = r0;
    for (; i + 8 <= r1; i += 8) s0 += SCANPP_LOAD8(a0 + i) * SCANPP_LOAD8(x + i);
    double t0 = 0;
    for (; i < r1; ++i) t0 += a0[i] * x[i];
    h[c] = SCANPP_HSUM8(s0) + t0;
  }
}

// x[r0, r1) -= V[:, :k] h, four columns per pass over x.
[[gnu::target_clones("avx512f", "avx2", "default")]] void block_subtract(const double* V, int64_t ld, int k,
                                                                         const double* h, double* x, int64_t r0,
                                                                         int64_t r1) {
  int c = 0;
  for (; c + 4 <= k; c += 4) {
    const double* a0 = V + static_cast<int64_t>(c) * ld;
    const double* a1 = a0 + ld;
    const double* a2 = a1 + ld;
    const double* a3 = a2 + ld;
    const double h0 = h[c], h1 = h[c + 1], h2 = h[c + 2], h3 = h[c + 3];
    int64_t i = r0;
    for (; i + 8 <= r1; i += 8) {
      V8 xv = SCANPP_LOAD8(x + i);
      xv -= (h0 * SCANPP_LOAD8(a0 + i) + h1 * SCANPP_LOAD8(a1 + i)) +
            (h2 * SCANPP_LOAD8(a2 + i) + h3 * SCANPP_LOAD8(a3 + i));
      SCANPP_STORE8(x + i, xv);
    }
    for (; i < r1; ++i) x[i] -= (h0 * a0[i] + h1 * a1[i]) + (h2 * a2[i] + h3 * a3[i]);
  }
  for (; c < k; ++c) {
    const double* a0 = V + static_cast<int64_t>(c) * ld;
    const double h0 = h[c];
    int64_t i = r0;
    for (; i + 8 <= r1; i += 8) {
      V8 xv = SCANPP_LOAD8(x + i);
      xv -= h0 * SCANPP_LOAD8(a0 + i);
      SCANPP_STORE8(x + i, xv);
    }
    for (; i < r1; ++i) x[i] -= h0 * a0[i];
  }
}

}  // namespace scanpp
