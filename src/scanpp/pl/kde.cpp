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

std::vector<double> gaussian_kde(std::span<const double> x, double bw, std::span<const double> at) {
  std::vector<double> out(at.size(), 0.0);
  if (x.empty() || !(bw > 0)) return out;
  // Single-cell data is mostly ties (zeros): each distinct value once, weighted.
  std::vector<double> s(x.begin(), x.end());
  std::sort(s.begin(), s.end());
  std::vector<double> val, cnt;
  for (double v : s) {
    if (!val.empty() && val.back() == v) cnt.back() += 1;
    else {
      val.push_back(v);
      cnt.push_back(1);
    }
  }
  const double norm = 1.0 / (static_cast<double>(x.size()) * bw * std::sqrt(2 * std::numbers::pi));
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
  d.density = gaussian_kde(v, d.bandwidth, d.support);
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
