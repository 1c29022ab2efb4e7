#include "scanpp/pp/subsample.hpp"

#include <cmath>
#include <string>

#include "scanpp/core/error.hpp"
#include "scanpp/core/numpy_random.hpp"

namespace scanpp::pp {

std::vector<int64_t> subsample_indices(int64_t n_total, const SubsampleOptions& opt) {
  if (opt.fraction && opt.n_obs) throw ValueError("subsample: providing both fraction and n_obs is not allowed");
  if (!opt.fraction && !opt.n_obs) throw ValueError("subsample: either fraction or n_obs must be set");
  int64_t n = 0;
  if (opt.fraction) {
    const double f = *opt.fraction;
    if (!(f >= 0.0)) throw ValueError("subsample: fraction=" + std::to_string(f) + " needs to be nonnegative");
    if (f > 1.0) throw ValueError("subsample: fraction=" + std::to_string(f) + " needs to be within [0, 1]");
    n = static_cast<int64_t>(f * static_cast<double>(n_total));  // Python's int() truncates
  } else {
    n = *opt.n_obs;
    if (n < 0) throw ValueError("subsample: n_obs must be nonnegative");
    if (n > n_total)
      throw ValueError("subsample: cannot take " + std::to_string(n) + " of " + std::to_string(n_total) +
                       " observations without replacement");
  }
  random::NumpyRandomState rs(opt.random_state);
  return rs.choice(n_total, n, false);
}

std::pair<Element, std::vector<int64_t>> subsample(const Element& X, const SubsampleOptions& opt) {
  if (!is_matrix(X)) throw ValueError(std::string("subsample: cannot subsample a ") + X.kind());
  std::vector<int64_t> idx = subsample_indices(matrix_rows(X), opt);
  Element sub = take_rows(X, idx);
  return {std::move(sub), std::move(idx)};
}

void subsample(AnnData& adata, const SubsampleOptions& opt) {
  adata.subset_inplace(subsample_indices(adata.n_obs(), opt), std::nullopt);
}

}  // namespace scanpp::pp
