#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/detail/hvg_dispersion.hpp"
#include "scanpp/pp/detail/rows.hpp"

namespace scanpp::pp::detail {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Bin codes for right-closed intervals (edges[i], edges[i+1]] as pandas
// assigns them: searchsorted(edges, x, side='left') - 1.
std::vector<int> assign(const std::vector<double>& values, const std::vector<double>& edges) {
  std::vector<int> out(values.size(), -1);
  const int nb = static_cast<int>(edges.size()) - 1;
  for (size_t i = 0; i < values.size(); ++i) {
    const double x = values[i];
    if (std::isnan(x)) continue;
    const int id = static_cast<int>(std::lower_bound(edges.begin(), edges.end(), x) - edges.begin());
    if (id == 0 || id > nb) continue;
    out[i] = id - 1;
  }
  return out;
}

void check_unique(const std::vector<double>& edges) {
  for (size_t i = 1; i < edges.size(); ++i)
    if (edges[i] == edges[i - 1]) {
      std::ostringstream s;
      s << "highly_variable_genes: bin edges must be unique (pandas.cut raises here): edge " << edges[i]
        << " repeats; with flavor='cell_ranger' this happens when more than 10% of the genes share one mean "
           "(e.g. unexpressed genes) - filter those genes first";
      throw ValueError(s.str());
    }
}

// pandas' groupby std (ddof=1): Welford's update over the non-NaN values.
struct WelfordStd {
  double mean = 0, m2 = 0;
  int64_t n = 0;
  void add(double v) {
    if (std::isnan(v)) return;
    ++n;
    const double old = mean;
    mean += (v - old) / static_cast<double>(n);
    m2 += (v - mean) * (v - old);
  }
  double value() const { return n <= 1 ? kNaN : std::sqrt(m2 / static_cast<double>(n - 1)); }
};

// Median of the (already non-NaN) values: mean of the two middle ones for an even count.
double median_of(std::vector<double> v) {
  if (v.empty()) return kNaN;
  const size_t h = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(h), v.end());
  const double hi = v[h];
  if (v.size() % 2) return hi;
  const double lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(h));
  return (lo + hi) / 2;
}

// statsmodels.robust.mad: median(|a - median(a)| / 0.6744897501960817); NaN if any value is NaN.
double mad_of(const std::vector<double>& a) {
  if (a.empty()) return kNaN;
  for (double v : a)
    if (std::isnan(v)) return kNaN;
  const double c = 0.6744897501960817;
  const double center = median_of(a);
  std::vector<double> dev(a.size());
  for (size_t i = 0; i < a.size(); ++i) dev[i] = std::abs(a[i] - center) / c;
  return median_of(std::move(dev));
}

// numpy.nan_to_num: NaN -> 0, +-inf -> the largest finite magnitude.
double nan_to_num(double v) {
  if (std::isnan(v)) return 0.0;
  if (v == kInf) return std::numeric_limits<double>::max();
  if (v == -kInf) return std::numeric_limits<double>::lowest();
  return v;
}

}  // namespace

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const double virt = static_cast<double>(n - 1) * (q / 100.0);
  if (virt >= static_cast<double>(n - 1)) return v[n - 1];
  if (virt < 0) return v[0];
  const double prev = std::floor(virt);
  const double gamma = virt - prev;
  const double a = v[static_cast<size_t>(prev)], b = v[static_cast<size_t>(prev) + 1];
  // numpy's _lerp: the form depends on which end is nearer.
  const double diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

std::vector<int> equal_width_bins(const std::vector<double>& values, int n_bins) {
  if (n_bins < 1) throw ValueError("highly_variable_genes: n_bins must be at least 1");
  double mn = kInf, mx = -kInf;
  for (double v : values)
    if (!std::isnan(v)) {
      mn = std::min(mn, v);
      mx = std::max(mx, v);
    }
  if (mn == kInf) return std::vector<int>(values.size(), -1);
  if (std::isinf(mn) || std::isinf(mx))
    throw ValueError("highly_variable_genes: cannot bin infinite mean values (is the data finite?)");
  std::vector<double> edges(static_cast<size_t>(n_bins) + 1);
  auto linspace = [&](double a, double b) {
    const double step = (b - a) / n_bins;
    for (int i = 0; i < n_bins; ++i) edges[static_cast<size_t>(i)] = static_cast<double>(i) * step + a;
    edges[static_cast<size_t>(n_bins)] = b;
  };
  if (mn == mx) {
    mn -= mn != 0 ? 0.001 * std::abs(mn) : 0.001;
    mx += mx != 0 ? 0.001 * std::abs(mx) : 0.001;
    linspace(mn, mx);
  } else {
    linspace(mn, mx);
    edges[0] -= (mx - mn) * 0.001;
  }
  if (edges.size() != 2) check_unique(edges);
  return assign(values, edges);
}

std::vector<int> percentile_bins(const std::vector<double>& values) {
  std::vector<double> edges{-kInf};
  std::vector<double> sorted = values;
  for (int q = 10; q <= 100; q += 5) edges.push_back(percentile(sorted, q));
  edges.push_back(kInf);
  for (size_t i = 1; i < edges.size(); ++i)
    if (edges[i] < edges[i - 1]) throw ValueError("highly_variable_genes: bins must increase monotonically");
  check_unique(edges);
  return assign(values, edges);
}

DispersionRules hvg_rules(HvgFlavor flavor) { return {.log = flavor == HvgFlavor::Seurat}; }

DispersionTable dispersion_table(std::vector<double> mean, const std::vector<double>& var,
                                 const HighlyVariableGenesOptions& opts) {
  return dispersion_table(std::move(mean), var, opts, hvg_rules(opts.flavor));
}

DispersionTable dispersion_table(std::vector<double> mean, const std::vector<double>& var,
                                 const HighlyVariableGenesOptions& opts, const DispersionRules& rules) {
  const size_t p = mean.size();
  const bool seurat = opts.flavor == HvgFlavor::Seurat;
  DispersionTable t;
  for (auto& m : mean)
    if (m == 0) m = 1e-12;
  t.dispersions.resize(p);
  for (size_t g = 0; g < p; ++g) t.dispersions[g] = var[g] / mean[g];
  if (rules.log) {
    // Seurat's log dispersion and log1p mean; zero dispersion becomes NaN.
    for (size_t g = 0; g < p; ++g) {
      double& d = t.dispersions[g];
      if (d == 0) d = kNaN;
      d = std::log(d);
      mean[g] = std::log1p(mean[g]);
    }
  }
  t.means = std::move(mean);
  if (p == 0) return t;

  const std::vector<int> bin = seurat ? equal_width_bins(t.means, opts.n_bins) : percentile_bins(t.means);
  const int nb = 1 + *std::max_element(bin.begin(), bin.end());
  std::vector<double> avg(static_cast<size_t>(std::max(nb, 0)), kNaN), dev(avg.size(), kNaN);
  if (seurat) {
    std::vector<KahanMean> km(avg.size());
    std::vector<WelfordStd> ws(avg.size());
    for (size_t g = 0; g < p; ++g)
      if (bin[g] >= 0) {
        km[static_cast<size_t>(bin[g])].add(t.dispersions[g]);
        ws[static_cast<size_t>(bin[g])].add(t.dispersions[g]);
      }
    for (size_t b = 0; b < avg.size(); ++b) {
      avg[b] = km[b].value();
      dev[b] = ws[b].value();
      // A bin with a single gene has no std: that gene's normalised dispersion is set to 1.
      if (std::isnan(dev[b])) {
        dev[b] = avg[b];
        avg[b] = 0;
      }
    }
  } else {
    std::vector<std::vector<double>> members(avg.size()), non_nan(avg.size());
    for (size_t g = 0; g < p; ++g)
      if (bin[g] >= 0) {
        members[static_cast<size_t>(bin[g])].push_back(t.dispersions[g]);
        if (!std::isnan(t.dispersions[g])) non_nan[static_cast<size_t>(bin[g])].push_back(t.dispersions[g]);
      }
    for (size_t b = 0; b < avg.size(); ++b) {
      if (members[b].empty()) continue;
      avg[b] = median_of(non_nan[b]);
      dev[b] = mad_of(members[b]);
    }
  }
  t.dispersions_norm.resize(p);
  for (size_t g = 0; g < p; ++g) {
    if (bin[g] < 0) {
      t.dispersions_norm[g] = kNaN;
      continue;
    }
    const double d = t.dispersions[g] - avg[static_cast<size_t>(bin[g])];
    t.dispersions_norm[g] = (rules.absolute_deviation ? std::abs(d) : d) / dev[static_cast<size_t>(bin[g])];
  }
  // The legacy function selects on float32 values (its cutoff mode compares
  // them directly; n_top_genes takes the cutoff from them).
  const auto sel = [&](double z) { return rules.float32_selection ? static_cast<double>(static_cast<float>(z)) : z; };

  t.highly_variable.assign(p, false);
  if (!opts.n_top_genes) {
    for (size_t g = 0; g < p; ++g) {
      // The legacy function zeroes only NaN; infinities stay.
      const double zs = sel(t.dispersions_norm[g]);
      const double z = rules.float32_selection ? (std::isnan(zs) ? 0.0 : zs) : nan_to_num(zs);
      const double m = t.means[g];
      t.highly_variable[g] = m > opts.min_mean && m < opts.max_mean && z > opts.min_disp && z < opts.max_disp;
    }
    return t;
  }
  int64_t n = std::min<int64_t>(*opts.n_top_genes, static_cast<int64_t>(p));
  std::vector<double> x;
  for (double z : t.dispersions_norm)
    if (!std::isnan(z)) x.push_back(sel(z));
  if (n > static_cast<int64_t>(x.size())) {
    warn("highly_variable_genes: `n_top_genes` (=" + std::to_string(n) + ") > number of normalized dispersions (=" +
         std::to_string(x.size()) + "), returning all genes with normalized dispersions.");
    n = static_cast<int64_t>(x.size());
  }
  if (n <= 0) return t;
  std::nth_element(x.begin(), x.begin() + (n - 1), x.end(), std::greater<>());
  const double cut = x[static_cast<size_t>(n - 1)];
  // Every gene tied with the n-th largest value is selected, as in Scanpy.
  for (size_t g = 0; g < p; ++g) {
    const double z = std::isnan(t.dispersions_norm[g]) ? -kInf : t.dispersions_norm[g];
    t.highly_variable[g] = z >= cut;
  }
  return t;
}

}  // namespace scanpp::pp::detail
