#pragma once
// Local regression with one predictor exactly as R's stats::loess and
// scikit-misc compute it with their defaults (family 'gaussian',
// surface 'interpolate'): a k-d tree splits the x range into cells of at most
// floor(n * span * cell) points, a tricube-weighted polynomial is fitted at
// each cell vertex (value and slope), and fitted values are cubic Hermite
// interpolations between a cell's two vertices. Used by the seurat_v3 HVG
// flavor, whose numbers depend on this interpolation.
#include <vector>

namespace scanpp::pp {

struct LoessOptions {
  double span = 0.3;  // fraction of the points in each local fit
  int degree = 2;     // 0, 1 or 2
  double cell = 0.2;  // cells hold at most floor(n * span * cell) points
};

// Fitted values at the data points x (any order; ties allowed). ValueError on
// empty or mismatched input, a span leaving no points, or a degree outside 0..2.
std::vector<double> loess_fit(const std::vector<double>& x, const std::vector<double>& y, const LoessOptions& opts = {});

}  // namespace scanpp::pp
