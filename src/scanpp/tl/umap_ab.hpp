#pragma once
// The a, b of UMAP's low-dimensional similarity 1 / (1 + a d^(2b)), fitted to
// min_dist and spread as umap-learn's find_ab_params does.
namespace scanpp::tl {

struct UmapCurve {
  double a = 0.0, b = 0.0;
};

// Least-squares fit (Levenberg-Marquardt from a = b = 1, as scipy's curve_fit)
// of 1 / (1 + a x^(2b)) to y(x) = 1 for x < min_dist, exp(-(x - min_dist) /
// spread) otherwise, at 300 points x = linspace(0, 3 spread, 300).
// min_dist = 0.5, spread = 1 (Scanpy's defaults) give a = 0.58303, b = 1.33417.
// Throws ValueError for spread <= 0 or min_dist < 0.
UmapCurve find_ab_params(double spread, double min_dist);

}  // namespace scanpp::tl
