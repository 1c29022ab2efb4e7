#pragma once
// Row kernels of pp.scale on dense float32/float64 data, compiled for AVX2
// and for the baseline ISA (no FMA in either, so the clones agree bit for bit).
#include <cstdint>

namespace scanpp::pp::detail {

// sum[g] += x, sumsq[g] += x·x (the square formed in x's dtype, as numpy's
// X * X) over the rows rows[0..n) in that order, for g < m: rows[r] points at
// the first of the m values of row r. Each gene's sums add the cells one by
// one in order, whatever the blocks, so results never depend on the blocking.
void scale_moments(const float* const* rows, int64_t n, int64_t m, double* sum, double* sumsq);
void scale_moments(const double* const* rows, int64_t n, int64_t m, double* sum, double* sumsq);

// The clipping bounds in x's dtype. A value v (already rounded to x's dtype)
// is clipped when v > hi_cut (to hi) or v < lo_cut (to lo); cuts of ±inf never clip.
template <class T>
struct ScaleClip {
  T hi_cut, lo_cut, hi, lo;
};

// x[g] <- clip(T(T(x[g] − mean[g]) / sd[g])): each step a numpy in-place ufunc,
// computed in double and rounded once to x's dtype.
void scale_center_row(float* x, const double* mean, const double* sd, int64_t p, const ScaleClip<float>& clip);
void scale_center_row(double* x, const double* mean, const double* sd, int64_t p, const ScaleClip<double>& clip);
// x[g] <- clip(T(x[g] / sd[g])) (zero_center=false: only hi_cut applies).
void scale_divide_row(float* x, const double* sd, int64_t p, const ScaleClip<float>& clip);
void scale_divide_row(double* x, const double* sd, int64_t p, const ScaleClip<double>& clip);

}  // namespace scanpp::pp::detail
