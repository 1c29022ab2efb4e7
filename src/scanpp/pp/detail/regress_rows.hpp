#pragma once
// Row kernels of regress_out's closed form, for float32 and float64 rows.
// They are compiled for AVX2 and for the baseline ISA (the AVX2 clone has no
// FMA, so both do the same IEEE operations and agree bit for bit); each value
// is accumulated in a fixed order, so results never depend on the thread
// count or the machine.
#include <cstdint>

namespace scanpp::pp::detail {

// acc[c*m + g] += r[c] * x[g] for c < k, g < m: one cell's contribution to RᵀX
// for m genes (x in the cell's dtype, widened to double).
void regress_crossprod_row(const float* x, const double* r, int64_t k, double* acc, int64_t m);
void regress_crossprod_row(const double* x, const double* r, int64_t k, double* acc, int64_t m);

// x[g] <- x[g] − (0 + r[0]·coeff[0][g] + … + r[k−1]·coeff[k−1][g]), computed in
// double and rounded once to x's dtype (numpy's float32 − float64 stored in
// place); coeff is k x p, row-major. `scratch` holds p doubles, used when k > 4.
void regress_residual_row(float* x, const double* r, int64_t k, const double* coeff, int64_t p, double* scratch);
void regress_residual_row(double* x, const double* r, int64_t k, const double* coeff, int64_t p, double* scratch);

}  // namespace scanpp::pp::detail
