#include "scanpp/pp/scrublet_threshold.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "scanpp/core/error.hpp"

namespace scanpp::pp {

namespace {

// scikit-image's find_local_maxima_idx: a plateau counts once, at its first
// index, and only when the values fall after it.
std::vector<int> local_maxima(const std::vector<double>& h) {
  std::vector<int> idx;
  int direction = 1;
  for (size_t i = 0; i + 1 < h.size(); ++i) {
    if (direction > 0) {
      if (h[i + 1] < h[i]) {
        direction = -1;
        idx.push_back(static_cast<int>(i));
      }
    } else if (h[i + 1] > h[i]) {
      direction = 1;
    }
  }
  return idx;
}

// scipy.ndimage.uniform_filter1d(h, 3) with mode 'reflect': the running sum
// updated by (incoming - outgoing) / 3, as scipy's C loop does.
std::vector<double> uniform3(const std::vector<double>& h) {
  const size_t n = h.size();
  std::vector<double> ext(n + 2);
  ext[0] = h[0];
  std::copy(h.begin(), h.end(), ext.begin() + 1);
  ext[n + 1] = h[n - 1];
  std::vector<double> out(n);
  double tmp = (ext[0] + ext[1] + ext[2]) / 3.0;
  out[0] = tmp;
  for (size_t i = 1; i < n; ++i) {
    tmp += (ext[i + 2] - ext[i - 1]) / 3.0;
    out[i] = tmp;
  }
  return out;
}

}  // namespace

std::optional<double> threshold_minimum(std::span<const double> values, const ThresholdMinimumOptions& opt) {
  if (opt.nbins < 2) throw ValueError("threshold_minimum: nbins must be at least 2");
  if (opt.max_num_iter < 1) throw ValueError("threshold_minimum: max_num_iter must be positive");
  if (values.empty()) throw ValueError("threshold_minimum: no values");
  double lo = values[0], hi = values[0];
  for (double v : values) {
    if (!std::isfinite(v)) throw ValueError("threshold_minimum: the values must be finite");
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (lo == hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  // np.linspace(lo, hi, nbins + 1) and np.histogram's bin assignment.
  const int nb = opt.nbins;
  std::vector<double> edges(static_cast<size_t>(nb) + 1);
  const double step = (hi - lo) / nb;
  for (int i = 0; i <= nb; ++i) edges[i] = static_cast<double>(i) * step + lo;
  edges[nb] = hi;
  std::vector<double> counts(static_cast<size_t>(nb), 0.0);
  const double denom = hi - lo;
  for (double v : values) {
    int64_t b = static_cast<int64_t>((v - lo) / denom * nb);
    if (b == nb) --b;
    if (v < edges[b]) --b;
    if (b != nb - 1 && v >= edges[b + 1]) ++b;
    counts[static_cast<size_t>(b)] += 1.0;
  }

  std::vector<double> smooth = counts;
  std::vector<int> maxima;
  int counter = 0;
  for (counter = 0; counter < opt.max_num_iter; ++counter) {
    smooth = uniform3(smooth);
    maxima = local_maxima(smooth);
    if (maxima.size() < 3) break;
  }
  if (maxima.size() != 2 || counter == opt.max_num_iter - 1) return std::nullopt;
  int best = maxima[0];
  for (int i = maxima[0]; i <= maxima[1]; ++i)
    if (smooth[i] < smooth[best]) best = i;
  return (edges[best] + edges[best + 1]) / 2.0;
}

}  // namespace scanpp::pp
