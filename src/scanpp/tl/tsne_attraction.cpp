// The attractive half of the t-SNE gradient, over the stored entries of P,
// and the conversion of P to the plain CSR the optimiser reads.
#include <cmath>
#include <string>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/tsne_gradient.hpp"

namespace scanpp::tl {

TsneP tsne_p_from_sparse(const SparseMatrix& P) {
  if (P.n_rows != P.n_cols) throw ValueError("tsne: P must be square");
  if (!dtype_is_float(P.dtype())) throw ValueError("tsne: P must hold floating-point values");
  // P is symmetric, so a CSC matrix read as CSR is its transpose, i.e. itself;
  // converting keeps this correct for any input.
  const SparseMatrix csr = P.format == SparseFormat::CSR ? P : convert_format(P, SparseFormat::CSR);
  TsneP out;
  out.n = csr.n_rows;
  out.indptr = csr.indptr;
  out.indices = csr.indices;
  out.values = csr.data.to_vector<double>();
  for (double v : out.values)
    if (!std::isfinite(v) || v < 0.0) throw ValueError("tsne: P has a negative or non-finite entry");
  for (int32_t j : out.indices)
    if (j < 0 || j >= out.n) throw ValueError("tsne: P has a column index out of range");
  return out;
}

double tsne_attraction(const TsneP& P, std::span<const double> y, std::span<double> attr, bool with_error) {
  constexpr int64_t kBlock = 512;
  return parallel_reduce_blocks(P.n, kBlock, 0.0, [&](int64_t r0, int64_t r1) {
    double err = 0.0;
    for (int64_t i = r0; i < r1; ++i) {
      const double xi = y[2 * i], yi = y[2 * i + 1];
      double fx = 0.0, fy = 0.0;
      for (int64_t q = P.indptr[i]; q < P.indptr[i + 1]; ++q) {
        const int64_t j = P.indices[q];
        const double dx = xi - y[2 * j], dy = yi - y[2 * j + 1];
        const double d2 = dx * dx + dy * dy;
        const double p = P.values[q];
        const double w = p / (1.0 + d2);
        fx += w * dx;
        fy += w * dy;
        // p ln(p / K) = p (ln p + ln(1 + d²)); zero entries contribute nothing.
        if (with_error && p > 0.0) err += p * (std::log(p) + std::log1p(d2));
      }
      attr[2 * i] = fx;
      attr[2 * i + 1] = fy;
    }
    return err;
  });
}

}  // namespace scanpp::tl
