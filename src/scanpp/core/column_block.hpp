#pragma once
// A block of k columns of a column-major matrix V (leading dimension ld)
// against one vector, over rows [r0, r1): the Gram–Schmidt steps of the
// Lanczos solvers (tl/diffmap_lanczos, pp/pca_lanczos). Callers split the
// rows into fixed ranges and add the ranges' dot products in range order, so
// results do not depend on the thread count; the sums inside a range run in
// a fixed order in every build of the kernels.
#include <cstdint>

namespace scanpp {

// h[c] = V[:, c] . x over rows [r0, r1), for c < k.
void block_dots(const double* V, int64_t ld, int k, const double* x, int64_t r0, int64_t r1, double* h);
// x[r0, r1) -= V[:, :k] h.
void block_subtract(const double* V, int64_t ld, int k, const double* h, double* x, int64_t r0, int64_t r1);

}  // namespace scanpp
