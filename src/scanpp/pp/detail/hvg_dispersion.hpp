#pragma once
// The single-batch dispersion procedure of Scanpy's highly_variable_genes:
// from per-gene mean and variance to binned, normalised dispersions and the
// highly-variable flag.
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "scanpp/pp/highly_variable_genes.hpp"

namespace scanpp::pp::detail {

// pandas' groupby mean: Kahan-compensated sum of the non-NaN values (NaN when none).
struct KahanMean {
  double sum = 0, comp = 0;
  int64_t n = 0;
  void add(double v) {
    if (std::isnan(v)) return;
    ++n;
    const double y = v - comp;
    const double t = sum + y;
    comp = t - sum - y;
    sum = t;
  }
  double value() const { return n == 0 ? std::numeric_limits<double>::quiet_NaN() : sum / static_cast<double>(n); }
};

struct DispersionTable {
  std::vector<double> means, dispersions, dispersions_norm;
  std::vector<bool> highly_variable;
};

// Where the legacy pp.filter_genes_dispersion departs from highly_variable_genes.
struct DispersionRules {
  // Log dispersion and log1p mean (highly_variable_genes: seurat flavor only).
  bool log = true;
  // cell_ranger: |d - median| / MAD instead of the signed deviation.
  bool absolute_deviation = false;
  // Selection on the float32-cast normalised dispersions.
  bool float32_selection = false;
};
// highly_variable_genes' rules for a flavor.
DispersionRules hvg_rules(HvgFlavor flavor);

// mean/var: per-gene float64 mean and ddof=1 variance (of expm1'd data for
// seurat). Selection uses opts' cutoffs, or opts.n_top_genes when set. Bins:
// equal-width for seurat, percentiles for cell_ranger.
DispersionTable dispersion_table(std::vector<double> mean, const std::vector<double>& var,
                                 const HighlyVariableGenesOptions& opts);
DispersionTable dispersion_table(std::vector<double> mean, const std::vector<double>& var,
                                 const HighlyVariableGenesOptions& opts, const DispersionRules& rules);

// Scanpy's _get_mean_var of the matrix as it is: float64 mean and ddof=1
// variance per gene (E[x^2] - E[x]^2, times n/(n-1)).
void gene_mean_var(const SparseMatrix& x, std::vector<double>& mean, std::vector<double>& var);
void gene_mean_var(const Array& x, std::vector<double>& mean, std::vector<double>& var);

// Bin of each value under pandas.cut(values, bins=n) (equal width, right-closed,
// leftmost edge lowered by 0.1% of the range); -1 for NaN.
std::vector<int> equal_width_bins(const std::vector<double>& values, int n_bins);
// Bin of each value for edges [-inf, percentiles 10, 15, ..., 100, inf]; ValueError on duplicate edges.
std::vector<int> percentile_bins(const std::vector<double>& values);
// numpy.percentile(values, q) with linear interpolation.
double percentile(std::vector<double> sorted_values, double q);

}  // namespace scanpp::pp::detail
