#include "scanpp/pl/kde.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "scanpp/core/error.hpp"
#include "scanpp/core/random.hpp"

namespace scanpp::pl {

double scott_bandwidth(std::span<const double> x) {
  const auto n = static_cast<double>(x.size());
  if (x.size() < 2) return 0;
  double mean = 0;
  for (double v : x) mean += v;
  mean /= n;
  double ss = 0;
  for (double v : x) ss += (v - mean) * (v - mean);
  return std::pow(n, -0.2) * std::sqrt(ss / (n - 1));
}

namespace {

// Single-cell data is mostly ties (zeros): each distinct value once, weighted.
void distinct_values(std::span<const double> x, std::vector<double>& val, std::vector<double>& cnt) {
  std::vector<double> s(x.begin(), x.end());
  std::sort(s.begin(), s.end());
  for (double v : s) {
    if (!val.empty() && val.back() == v) {
      cnt.back() += 1;
    } else {
      val.push_back(v);
      cnt.push_back(1);
    }
  }
}

double kde_norm(size_t n, double bw) { return 1.0 / (static_cast<double>(n) * bw * std::sqrt(2 * std::numbers::pi)); }

}  // namespace

std::vector<double> gaussian_kde(std::span<const double> x, double bw, std::span<const double> at) {
  std::vector<double> out(at.size(), 0.0);
  if (x.empty() || !(bw > 0)) return out;
  std::vector<double> val, cnt;
  distinct_values(x, val, cnt);
  const double norm = kde_norm(x.size(), bw);
  for (size_t j = 0; j < at.size(); ++j) {
    double acc = 0;
    for (size_t k = 0; k < val.size(); ++k) {
      const double z = (at[j] - val[k]) / bw;
      acc += cnt[k] * std::exp(-0.5 * z * z);
    }
    out[j] = acc * norm;
  }
  return out;
}

std::vector<double> gaussian_kde_grid(std::span<const double> x, double bw, std::span<const double> grid) {
  const size_t g = grid.size();
  std::vector<double> out(g, 0.0);
  if (x.empty() || !(bw > 0) || g == 0) return out;
  if (g == 1) return gaussian_kde(x, bw, grid);
  std::vector<double> val, cnt;
  distinct_values(x, val, cnt);
  const double a = grid.front(), h = (grid.back() - a) / static_cast<double>(g - 1);
  if (!(h > 0)) return gaussian_kde(x, bw, grid);
  // Along a uniform grid the kernel of one value is a product recurrence:
  // exp(-(z+d)^2/2) = exp(-z^2/2) * q with q = exp(-z d - d^2/2), and q
  // itself shrinks by exp(-d^2) per step. From the grid point nearest the
  // value (its term exactly as gaussian_kde computes it) outwards both ways
  // the factors are at most 1, so nothing overflows, the terms only shrink
  // and the walk stops once they underflow. Three exp per value instead of
  // one per grid point; the terms agree with exp() to ~1e-14 relative.
  const double d = h / bw, shrink = std::exp(-d * d);
  const auto last = static_cast<int64_t>(g) - 1;
  for (size_t k = 0; k < val.size(); ++k) {
    const double v = val[k], c = cnt[k];
    const int64_t j0 = std::clamp<int64_t>(std::llround((v - a) / h), 0, last);
    const double z0 = (grid[static_cast<size_t>(j0)] - v) / bw;
    const double e0 = std::exp(-0.5 * z0 * z0);
    out[static_cast<size_t>(j0)] += c * e0;
    double e = e0, q = std::exp(-z0 * d - 0.5 * d * d);
    for (int64_t j = j0 + 1; j <= last; ++j) {
      e *= q;
      if (e == 0) break;
      q *= shrink;
      out[static_cast<size_t>(j)] += c * e;
    }
    e = e0;
    q = std::exp(z0 * d - 0.5 * d * d);
    for (int64_t j = j0 - 1; j >= 0; --j) {
      e *= q;
      if (e == 0) break;
      q *= shrink;
      out[static_cast<size_t>(j)] += c * e;
    }
  }
  const double norm = kde_norm(x.size(), bw);
  for (double& o : out) o *= norm;
  return out;
}

ViolinDensity violin_density(std::span<const double> x, const KdeOptions& opt) {
  if (opt.gridsize < 2) throw ValueError("gridsize must be at least 2");
  std::vector<double> v;
  v.reserve(x.size());
  for (double a : x)
    if (std::isfinite(a)) v.push_back(a);
  ViolinDensity d;
  d.n = static_cast<int64_t>(v.size());
  if (v.empty()) return d;
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  if (*lo == *hi) {
    d.support = {*lo};
    d.density = {1.0};
    return d;
  }
  d.bandwidth = scott_bandwidth(v) * opt.bw_adjust;
  const double a = *lo - opt.cut * d.bandwidth, b = *hi + opt.cut * d.bandwidth;
  d.support.resize(static_cast<size_t>(opt.gridsize));
  for (int i = 0; i < opt.gridsize; ++i)
    d.support[static_cast<size_t>(i)] = a + (b - a) * i / (opt.gridsize - 1);
  d.support.back() = b;
  d.density = gaussian_kde_grid(v, d.bandwidth, d.support);
  return d;
}

void density_norm(std::vector<ViolinDensity>& violins, const std::string& how) {
  if (how == "width") {
    for (auto& v : violins) {
      double mx = 0;
      for (double y : v.density) mx = std::max(mx, y);
      if (mx > 0)
        for (double& y : v.density) y /= mx;
    }
    return;
  }
  if (how != "area" && how != "count") throw ValueError("density_norm must be 'width', 'area' or 'count', got '" + how + "'");
  // Single-value violins (density 1) do not take part in the global peak, as in seaborn.
  double peak = 0;
  int64_t max_n = 0;
  for (auto& v : violins) {
    if (v.single_value()) continue;
    for (double y : v.density) peak = std::max(peak, y);
    max_n = std::max(max_n, v.n);
  }
  for (auto& v : violins) {
    if (v.single_value() || peak <= 0) continue;
    const double f = how == "count" && max_n > 0 ? static_cast<double>(v.n) / static_cast<double>(max_n) : 1.0;
    for (double& y : v.density) y = y / peak * f;
  }
}

std::vector<double> strip_jitter(int64_t n, double jlim, uint64_t seed) {
  random::Stream s(seed, 0x5747);
  std::vector<double> out(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (double& o : out) o = s.uniform(-jlim, jlim);
  return out;
}

}  // namespace scanpp::pl
