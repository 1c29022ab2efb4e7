#pragma once
// normalize_total's default target: numpy's median of the positive per-cell
// totals, computed in T as np.median does for a T array (mean of the two middle
// values for an even count). Shared by the in-memory and the backed versions.
#include <algorithm>
#include <cstddef>
#include <vector>

#include "scanpp/core/error.hpp"

namespace scanpp::pp::detail {

template <class T>
double median_positive(const std::vector<T>& totals) {
  std::vector<T> pos;
  for (T t : totals)
    if (t > 0) pos.push_back(t);
  if (pos.empty())
    throw ValueError("normalize_total: every cell has zero counts, so there is no median total to use as target_sum");
  const size_t n = pos.size(), h = n / 2;
  std::nth_element(pos.begin(), pos.begin() + static_cast<std::ptrdiff_t>(h), pos.end());
  const T hi = pos[h];
  if (n % 2) return static_cast<double>(hi);
  const T lo = *std::max_element(pos.begin(), pos.begin() + static_cast<std::ptrdiff_t>(h));
  return static_cast<double>(static_cast<T>(static_cast<T>(lo + hi) / T(2)));
}

}  // namespace scanpp::pp::detail
