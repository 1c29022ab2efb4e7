// The repulsive half of the t-SNE gradient over all pairs: O(n²), the
// reference the approximations are tested against.
#include <vector>

#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/tsne_gradient.hpp"

namespace scanpp::tl {

double tsne_repulsion_exact(std::span<const double> y, std::span<double> rep) {
  const int64_t n = static_cast<int64_t>(y.size() / 2);
  return parallel_reduce_blocks(n, 64, 0.0, [&](int64_t r0, int64_t r1) {
    double z = 0.0;
    for (int64_t i = r0; i < r1; ++i) {
      const double xi = y[2 * i], yi = y[2 * i + 1];
      double fx = 0.0, fy = 0.0;
      for (int64_t j = 0; j < n; ++j) {
        if (j == i) continue;
        const double dx = xi - y[2 * j], dy = yi - y[2 * j + 1];
        const double k = 1.0 / (1.0 + dx * dx + dy * dy);
        z += k;
        fx += k * k * dx;
        fy += k * k * dy;
      }
      rep[2 * i] = fx;
      rep[2 * i + 1] = fy;
    }
    return z;
  });
}

}  // namespace scanpp::tl
