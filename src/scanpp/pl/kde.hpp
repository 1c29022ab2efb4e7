#pragma once
// The violin shapes of seaborn's violinplot, which Scanpy's violin and
// stacked_violin draw: a Gaussian KDE (scipy's gaussian_kde, Scott's rule)
// evaluated on `gridsize` points spanning the data extended by `cut`
// bandwidths, then normalised across violins ('width', 'area' or 'count').
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace scanpp::pl {

struct KdeOptions {
  double cut = 2;      // seaborn's default; Scanpy's violins pass 0
  int gridsize = 100;  // seaborn's default
  double bw_adjust = 1;
};

struct ViolinDensity {
  std::vector<double> support;  // increasing y values
  std::vector<double> density;  // same length; after density_norm at most 1
  double bandwidth = 0;         // kernel standard deviation used
  int64_t n = 0;                // finite observations
  // No observations: nothing to draw. One distinct value: a horizontal line.
  bool empty() const { return support.empty(); }
  bool single_value() const { return support.size() == 1; }
};

// Scott's rule as scipy applies it: n^(-1/5) times the sample standard deviation (ddof=1).
double scott_bandwidth(std::span<const double> x);
// Density of the Gaussian KDE of `x` with kernel standard deviation `bw` at each point of `at`.
std::vector<double> gaussian_kde(std::span<const double> x, double bw, std::span<const double> at);
// The same on an evenly spaced increasing `grid` (violin supports), ~30x
// cheaper: the kernel along the grid by a product recurrence, to ~1e-14
// relative of gaussian_kde.
std::vector<double> gaussian_kde_grid(std::span<const double> x, double bw, std::span<const double> grid);
// seaborn's per-violin estimate; NaNs are dropped first.
ViolinDensity violin_density(std::span<const double> x, const KdeOptions& opt = {});
// seaborn's density_norm (scale): 'width' each violin's peak 1, 'area' the
// highest peak of all 1, 'count' as 'area' but scaled by n / max n.
void density_norm(std::vector<ViolinDensity>& violins, const std::string& how);

// seaborn stripplot offsets: uniform in [-jlim, jlim] (jitter True -> 0.1),
// reproducible from `seed`.
std::vector<double> strip_jitter(int64_t n, double jlim, uint64_t seed);

}  // namespace scanpp::pl
