#pragma once
// Scanpy's pp.downsample_counts (1.11): thin a count matrix by sampling
// individual counts without (default) or with replacement, either each cell
// down to a target (cells at or below it are left alone) or the whole matrix
// down to a total.
//
// The draws are Scanpy's: its numba kernel reseeds numpy's legacy MT19937 with
// `random_state` for every thinned vector (so every cell starts the same
// stream), takes choice(total, target, replace) and assigns the sorted draws
// to entries by cumulative count. scanpp reproduces that stream
// (scanpp/core/numpy_random.hpp), so the thinned counts are Scanpy's own.
// One difference on purpose: cumulative counts are accumulated in float64,
// where Scanpy's kernel accumulates float32 X in float32 and so miscounts
// vectors with more than 2^24 counts (only possible in the total_counts mode).
// Dense stays dense, CSR/CSC stay sparse (explicit zeros removed), dtype kept.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/array.hpp"
#include "scanpp/core/element.hpp"
#include "scanpp/core/sparse.hpp"

namespace scanpp::pp {

struct DownsampleCountsOptions {
  // Exactly one of: one target for every cell, one target per cell, or a matrix total.
  std::optional<int64_t> counts_per_cell = std::nullopt;
  std::optional<std::vector<int64_t>> counts_per_cell_each = std::nullopt;
  std::optional<int64_t> total_counts = std::nullopt;
  uint32_t random_state = 0;  // numpy seed
  bool replace = false;       // sample counts with replacement
};

// Scanpy's _downsample_array on one vector of counts, in place: afterwards the
// vector sums to `target` (given target <= its total when !replace).
void downsample_vector(std::span<float> counts, int64_t target, uint32_t random_state, bool replace);
void downsample_vector(std::span<double> counts, int64_t target, uint32_t random_state, bool replace);
void downsample_vector(std::span<int32_t> counts, int64_t target, uint32_t random_state, bool replace);
void downsample_vector(std::span<int64_t> counts, int64_t target, uint32_t random_state, bool replace);

// Matrix kernels, in place.
void downsample_counts(Array& X, const DownsampleCountsOptions& opt);
void downsample_counts(SparseMatrix& X, const DownsampleCountsOptions& opt);
void downsample_counts(Element& X, const DownsampleCountsOptions& opt);

// sc.pp.downsample_counts(adata, ...): thins adata.X in place.
void downsample_counts(AnnData& adata, const DownsampleCountsOptions& opt);

}  // namespace scanpp::pp
