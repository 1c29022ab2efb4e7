// Tick placement and labels after matplotlib's AutoLocator (MaxNLocator with
// steps 1, 2, 2.5, 5, 10), ScalarFormatter and LogLocator.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "scanpp/pl/figure.hpp"

namespace scanpp::pl {

int auto_bins(double length_pt, double fontsize, bool x_axis) {
  const double size = fontsize * (x_axis ? 3 : 2);
  const int n = size > 0 ? static_cast<int>(std::floor(length_pt / size)) : 9;
  return std::clamp(n, 1, 9);
}

std::vector<double> nice_ticks(double lo, double hi, int max_bins) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  if (lo > hi) std::swap(lo, hi);
  if (hi == lo) return {lo};
  max_bins = std::max(1, max_bins);
  // Large offsets are removed first so the step search works on the span.
  const double dv = hi - lo, meanv = (hi + lo) / 2;
  double offset = 0;
  if (std::abs(meanv) / dv >= 100) offset = std::copysign(std::pow(10, std::floor(std::log10(std::abs(meanv)))), meanv);
  const double scale = std::pow(10, std::floor(std::log10(dv / max_bins)));
  const double vmin = lo - offset, vmax = hi - offset;
  static const double kSteps[] = {0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20};
  const double raw = dv / max_bins;
  int istep = 0;
  while (istep < 9 && kSteps[istep] * scale < raw * (1 - 1e-10)) ++istep;
  std::vector<double> best;
  for (int s = istep; s >= 0; --s) {
    const double step = kSteps[s] * scale;
    const double base = std::floor(vmin / step) * step;
    // Tolerant floor/ceil (matplotlib's _Edge_integer) against rounding noise.
    auto le = [&](double x) {
      const double d = x / step, r = std::round(d);
      return std::abs(d - r) < 1e-10 * std::max(1.0, std::abs(r)) ? r : std::floor(d);
    };
    auto ge = [&](double x) {
      const double d = x / step, r = std::round(d);
      return std::abs(d - r) < 1e-10 * std::max(1.0, std::abs(r)) ? r : std::ceil(d);
    };
    const double low = le(vmin - base), high = ge(vmax - base);
    std::vector<double> ticks;
    for (double k = low; k <= high + 0.5; k += 1) {
      double t = k * step + base;
      if (std::abs(t) < step * 1e-10) t = 0;
      ticks.push_back(t);
    }
    int inside = 0;
    for (double t : ticks) inside += t <= vmax + 1e-10 * step && t >= vmin - 1e-10 * step;
    best = ticks;
    if (inside >= 2) break;
  }
  std::vector<double> out;
  for (double t : best) {
    const double v = t + offset;
    if (v >= lo - 1e-10 * dv && v <= hi + 1e-10 * dv) out.push_back(v);
  }
  return out;
}

std::vector<std::string> tick_labels(const std::vector<double>& ticks) {
  int decimals = 0;
  for (; decimals < 10; ++decimals) {
    const double f = std::pow(10, decimals);
    bool ok = true;
    for (double t : ticks) ok = ok && std::abs(std::round(t * f) / f - t) <= 1e-9 * std::max(1.0, std::abs(t));
    if (ok) break;
  }
  std::vector<std::string> out;
  for (double t : ticks) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, std::abs(t));
    const bool neg = t < 0 && std::string(buf).find_first_not_of("0.") != std::string::npos;
    out.push_back(neg ? std::string("\xe2\x88\x92") + buf : std::string(buf));
  }
  return out;
}

std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> out;
  if (!(lo > 0) || !(hi > 0)) return out;
  if (lo > hi) std::swap(lo, hi);
  const int k0 = static_cast<int>(std::ceil(std::log10(lo) - 1e-10)), k1 = static_cast<int>(std::floor(std::log10(hi) + 1e-10));
  for (int k = k0; k <= k1; ++k) out.push_back(std::pow(10.0, k));
  return out;
}

}  // namespace scanpp::pl
