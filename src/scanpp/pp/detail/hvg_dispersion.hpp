#pragma once
// The single-batch dispersion procedure of Scanpy's highly_variable_genes:
// from per-gene mean and variance to binned, normalised dispersions and the
// highly-variable flag.
#include <cstdint>
#include <optional>
#include <vector>

#include "scanpp/pp/highly_variable_genes.hpp"

namespace scanpp::pp::detail {

struct DispersionTable {
  std::vector<double> means, dispersions, dispersions_norm;
  std::vector<bool> highly_variable;
};

// mean/var: per-gene float64 mean and ddof=1 variance (of expm1'd data for
// seurat). Selection uses opts' cutoffs, or opts.n_top_genes when set.
DispersionTable dispersion_table(std::vector<double> mean, const std::vector<double>& var,
                                 const HighlyVariableGenesOptions& opts);

// Bin of each value under pandas.cut(values, bins=n) (equal width, right-closed,
// leftmost edge lowered by 0.1% of the range); -1 for NaN.
std::vector<int> equal_width_bins(const std::vector<double>& values, int n_bins);
// Bin of each value for edges [-inf, percentiles 10, 15, ..., 100, inf]; ValueError on duplicate edges.
std::vector<int> percentile_bins(const std::vector<double>& values);
// numpy.percentile(values, q) with linear interpolation.
double percentile(std::vector<double> sorted_values, double q);

}  // namespace scanpp::pp::detail
