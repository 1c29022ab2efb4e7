#pragma once
// Scanpy's legacy pp.normalize_per_cell (the 2018 API, removed in 1.13):
// drops cells with fewer than min_counts counts, stores each cell's total in
// obs[key_n_counts] (for all cells, before the drop), and scales every kept
// cell to counts_per_cell_after (default: the median total of the kept cells,
// zeros included, unlike normalize_total). Layers get the same treatment with
// their own totals.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"

namespace scanpp::pp {

struct NormalizePerCellOptions {
  std::optional<double> counts_per_cell_after = std::nullopt;
  std::string key_n_counts = "n_counts";
  // Layers normalised as well; all_layers = Scanpy's layers='all'.
  std::vector<std::string> layers = {};
  bool all_layers = false;
  // Target for the layers: "after" (counts_per_cell_after), "X" (the median
  // of X's totals), or unset (each layer's own median).
  std::optional<std::string> use_rep = std::nullopt;
  double min_counts = 1;
};

// Kernel: scales row i by counts_per_cell_after / counts[i] (cells with a
// zero total are left alone) in the matrix's float dtype, as Scanpy does.
// Integer matrices become float32 first (Scanpy itself fails on them).
void normalize_per_cell(Element& x, const std::vector<double>& counts, std::optional<double> counts_per_cell_after);

// AnnData level, in place.
void normalize_per_cell(AnnData& adata, const NormalizePerCellOptions& opts = {});

}  // namespace scanpp::pp
