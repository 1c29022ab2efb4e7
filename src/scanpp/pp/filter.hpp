#pragma once
// Scanpy's pp.filter_cells and pp.filter_genes: keep the cells (genes) that
// pass exactly one threshold. *_genes / *_cells count entries > 0; *_counts
// use the plain sum. Bounds are inclusive.
#include <cstdint>
#include <optional>
#include <vector>

#include "scanpp/core/anndata.hpp"

namespace scanpp::pp {

struct FilterCellsOptions {
  std::optional<double> min_counts = std::nullopt;
  std::optional<int64_t> min_genes = std::nullopt;
  std::optional<double> max_counts = std::nullopt;
  std::optional<int64_t> max_genes = std::nullopt;
  // false: leave adata alone and only return the mask and the numbers.
  bool inplace = true;
};

struct FilterGenesOptions {
  std::optional<double> min_counts = std::nullopt;
  std::optional<int64_t> min_cells = std::nullopt;
  std::optional<double> max_counts = std::nullopt;
  std::optional<int64_t> max_cells = std::nullopt;
  bool inplace = true;
};

struct FilterResult {
  std::vector<bool> keep;  // one entry per cell (gene), true = passes
  // Per cell (gene): number of entries > 0 (int64) for the *_genes/*_cells
  // thresholds, or the sum (X's sum dtype: float32 for float32 data) for *_counts.
  Array number;
};

// Kernels (ValueError unless exactly one threshold is set).
FilterResult filter_cells(const SparseMatrix& x, const FilterCellsOptions& opts);
FilterResult filter_cells(const Array& x, const FilterCellsOptions& opts);
FilterResult filter_genes(const SparseMatrix& x, const FilterGenesOptions& opts);
FilterResult filter_genes(const Array& x, const FilterGenesOptions& opts);

// AnnData level, on X. With inplace=true stores obs['n_genes'] or
// obs['n_counts'] (var['n_cells'] / var['n_counts']) for all cells, then
// subsets adata in place. Returns the mask and numbers either way.
FilterResult filter_cells(AnnData& adata, const FilterCellsOptions& opts);
FilterResult filter_genes(AnnData& adata, const FilterGenesOptions& opts);

}  // namespace scanpp::pp
