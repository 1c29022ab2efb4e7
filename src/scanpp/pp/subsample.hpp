#pragma once
// Scanpy's pp.subsample (deprecated in 1.11 in favour of pp.sample, which it
// calls with a legacy numpy generator): a random subset of cells without
// replacement. The indices are numpy's RandomState(random_state)
// .choice(n_obs, n, replace=False), i.e. the first n items of its permutation,
// reproduced exactly (scanpp/core/numpy_random.hpp), in draw order: the
// subset keeps that order, as Scanpy's does.
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/element.hpp"

namespace scanpp::pp {

struct SubsampleOptions {
  // Exactly one of the two: keep int(fraction * n_obs) cells, or n_obs cells.
  std::optional<double> fraction = std::nullopt;
  std::optional<int64_t> n_obs = std::nullopt;
  uint32_t random_state = 0;  // numpy seed
};

// The rows Scanpy keeps, in its order, for a data set of `n_total` rows.
std::vector<int64_t> subsample_indices(int64_t n_total, const SubsampleOptions& opt = {});

// Matrix-level call (Scanpy's array overload): X[indices] and the indices.
std::pair<Element, std::vector<int64_t>> subsample(const Element& X, const SubsampleOptions& opt = {});

// sc.pp.subsample(adata, ...): subsets adata's cells in place.
void subsample(AnnData& adata, const SubsampleOptions& opt = {});

}  // namespace scanpp::pp
