#include "scanpp/tl/umap_ab.hpp"

#include <cmath>
#include <vector>

#include "scanpp/core/error.hpp"

namespace scanpp::tl {

namespace {
constexpr int kPoints = 300;

struct Fit {
  double cost = 0.0;
  double jtj[2][2] = {{0, 0}, {0, 0}};
  double jtr[2] = {0, 0};
};

// Sum of squared residuals of f(x) = 1/(1 + a x^(2b)) and its Gauss-Newton
// normal equations at (a, b).
Fit evaluate(const std::vector<double>& x, const std::vector<double>& y, double a, double b, bool with_jacobian) {
  Fit f;
  for (size_t i = 0; i < x.size(); ++i) {
    const double p = x[i] > 0.0 ? std::pow(x[i], 2.0 * b) : 0.0;
    const double denom = 1.0 + a * p;
    const double r = 1.0 / denom - y[i];
    f.cost += r * r;
    if (!with_jacobian) continue;
    const double da = -p / (denom * denom);
    const double db = x[i] > 0.0 ? -a * p * 2.0 * std::log(x[i]) / (denom * denom) : 0.0;
    f.jtj[0][0] += da * da;
    f.jtj[0][1] += da * db;
    f.jtj[1][1] += db * db;
    f.jtr[0] += da * r;
    f.jtr[1] += db * r;
  }
  f.jtj[1][0] = f.jtj[0][1];
  return f;
}
}  // namespace

UmapCurve find_ab_params(double spread, double min_dist) {
  if (!(spread > 0.0) || !std::isfinite(spread)) throw ValueError("umap: spread must be a positive number");
  if (!(min_dist >= 0.0) || !std::isfinite(min_dist)) throw ValueError("umap: min_dist must be >= 0");
  std::vector<double> x(kPoints), y(kPoints);
  for (int i = 0; i < kPoints; ++i) {
    x[i] = 3.0 * spread * i / (kPoints - 1);
    y[i] = x[i] < min_dist ? 1.0 : std::exp(-(x[i] - min_dist) / spread);
  }
  // Levenberg-Marquardt with Marquardt's diagonal scaling, run to a much
  // tighter tolerance than scipy's (1.5e-8 relative), so the answer is the
  // least-squares minimum itself rather than where one solver stopped.
  double a = 1.0, b = 1.0, lambda = 1e-3;
  Fit cur = evaluate(x, y, a, b, true);
  for (int iter = 0; iter < 500; ++iter) {
    bool accepted = false;
    for (int tries = 0; tries < 60 && !accepted; ++tries) {
      const double m00 = cur.jtj[0][0] * (1.0 + lambda), m11 = cur.jtj[1][1] * (1.0 + lambda), m01 = cur.jtj[0][1];
      const double det = m00 * m11 - m01 * m01;
      if (!(std::fabs(det) > 0.0)) {
        lambda *= 10.0;
        continue;
      }
      const double sa = -(m11 * cur.jtr[0] - m01 * cur.jtr[1]) / det;
      const double sb = -(m00 * cur.jtr[1] - m01 * cur.jtr[0]) / det;
      const double na = a + sa, nb = b + sb;
      const Fit trial = evaluate(x, y, na, nb, false);
      if (std::isfinite(trial.cost) && trial.cost <= cur.cost) {
        const bool converged = std::fabs(sa) <= 1e-13 * (std::fabs(a) + 1e-13) &&
                               std::fabs(sb) <= 1e-13 * (std::fabs(b) + 1e-13);
        a = na;
        b = nb;
        cur = evaluate(x, y, a, b, true);
        lambda = std::max(lambda / 10.0, 1e-15);
        accepted = true;
        if (converged) return {a, b};
      } else {
        lambda *= 10.0;
      }
    }
    if (!accepted) break;  // no step lowers the cost: at the minimum to rounding
  }
  if (!std::isfinite(a) || !std::isfinite(b)) throw ValueError("umap: fitting a and b failed");
  return {a, b};
}

}  // namespace scanpp::tl
