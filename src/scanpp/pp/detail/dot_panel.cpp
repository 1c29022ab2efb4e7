#include "scanpp/pp/detail/dot_panel.hpp"

namespace scanpp::pp::detail {

namespace {

using v4d = double __attribute__((vector_size(32)));
// Macros rather than functions: a function passing a 256-bit vector by value
// has a different ABI in the non-AVX clone (-Wpsabi).
#define SCANPP_LOAD4(v, p) __builtin_memcpy(&(v), (p), sizeof(v4d))
#define SCANPP_STORE4(p, v) __builtin_memcpy((p), &(v), sizeof(v4d))

__attribute__((target_clones("avx2", "default"))) void dot_panel_impl(const double* xq, int nq4, int d,
                                                                      const double* panel, int panel_cols,
                                                                      double* out, int64_t out_stride) {
  for (int q = 0; q < nq4; q += 4) {
    const double* x0 = xq + static_cast<int64_t>(q) * d;
    const double* x1 = x0 + d;
    const double* x2 = x1 + d;
    const double* x3 = x2 + d;
    double* o = out + static_cast<int64_t>(q) * out_stride;
    for (int j = 0; j < panel_cols; j += 8) {
      v4d a00{}, a01{}, a10{}, a11{}, a20{}, a21{}, a30{}, a31{};
      for (int t = 0; t < d; ++t) {
        const double* pr = panel + static_cast<int64_t>(t) * panel_cols + j;
        v4d p0, p1;
        SCANPP_LOAD4(p0, pr);
        SCANPP_LOAD4(p1, pr + 4);
        const v4d b0 = {x0[t], x0[t], x0[t], x0[t]};
        const v4d b1 = {x1[t], x1[t], x1[t], x1[t]};
        const v4d b2 = {x2[t], x2[t], x2[t], x2[t]};
        const v4d b3 = {x3[t], x3[t], x3[t], x3[t]};
        a00 += b0 * p0;
        a01 += b0 * p1;
        a10 += b1 * p0;
        a11 += b1 * p1;
        a20 += b2 * p0;
        a21 += b2 * p1;
        a30 += b3 * p0;
        a31 += b3 * p1;
      }
      SCANPP_STORE4(o + j, a00);
      SCANPP_STORE4(o + j + 4, a01);
      SCANPP_STORE4(o + out_stride + j, a10);
      SCANPP_STORE4(o + out_stride + j + 4, a11);
      SCANPP_STORE4(o + 2 * out_stride + j, a20);
      SCANPP_STORE4(o + 2 * out_stride + j + 4, a21);
      SCANPP_STORE4(o + 3 * out_stride + j, a30);
      SCANPP_STORE4(o + 3 * out_stride + j + 4, a31);
    }
  }
}

#undef SCANPP_LOAD4
#undef SCANPP_STORE4

}  // namespace

void dot_panel(const double* xq, int nq4, int d, const double* panel, int panel_cols, double* out,
               int64_t out_stride) {
  dot_panel_impl(xq, nq4, d, panel, panel_cols, out, out_stride);
}

}  // namespace scanpp::pp::detail
