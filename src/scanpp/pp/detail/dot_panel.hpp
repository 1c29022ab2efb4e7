#pragma once
// The distance products of the exact kNN searches (pp.neighbors' and
// t-SNE's): query rows times a transposed panel of reference rows.
#include <cstdint>

namespace scanpp::pp::detail {

// out[q * out_stride + j] = Σ_t xq[q * d + t] · panel[t * panel_cols + j] for
// q < nq4 (a multiple of 4) and j < panel_cols (a multiple of 8), in a 4 x 8
// register tile. The sum over t runs from 0 in order for every element
// whatever the vector width, and ISO C++ mode keeps GCC from fusing
// multiply-adds, so every clone gives the same numbers.
void dot_panel(const double* xq, int nq4, int d, const double* panel, int panel_cols, double* out,
               int64_t out_stride);

}  // namespace scanpp::pp::detail
