#pragma once
// Scanpy's pp.calculate_qc_metrics: per-cell and per-gene quality-control
// statistics (scater's calculateQCMetrics), with Scanpy's column names and
// dtypes (float32 totals for float32 data, int counts, float64 percentages
// of the top genes).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scanpp/core/anndata.hpp"

namespace scanpp::pp {

struct CalculateQcMetricsOptions {
  // Column names are templates: n_{var_type}_by_{expr_type}, total_{expr_type}, ...
  std::string expr_type = "counts";
  std::string var_type = "genes";
  // Names of boolean var columns (e.g. "mt"); each adds total_/log1p_total_/pct_ columns.
  std::vector<std::string> qc_vars = {};
  // pct_{expr_type}_in_top_{N}_{var_type} for each N (every N must be in [1, n_vars]); nullopt or empty disables.
  std::optional<std::vector<int64_t>> percent_top = std::vector<int64_t>{50, 100, 200, 500};
  std::optional<std::string> layer = std::nullopt;
  bool use_raw = false;
  // Scanpy's default is False: the frames are returned and adata.obs/var left alone.
  bool inplace = false;
  // False omits every log1p_* column.
  bool log1p = true;
};

struct QcMetrics {
  DataFrame obs;  // one row per cell
  DataFrame var;  // one row per gene
};

// Kernels. `qc_masks` pairs each qc_var name with its gene mask. Explicitly
// stored zeros are skipped, which equals Scanpy's eliminate_zeros() first.
// The returned frames are indexed '0', '1', ...
QcMetrics qc_metrics(const SparseMatrix& x, const std::vector<std::pair<std::string, std::vector<bool>>>& qc_masks,
                     const CalculateQcMetricsOptions& opts = {});
QcMetrics qc_metrics(const Array& x, const std::vector<std::pair<std::string, std::vector<bool>>>& qc_masks,
                     const CalculateQcMetricsOptions& opts = {});

// Removes explicitly stored zeros from a sparse matrix, in place (scipy's eliminate_zeros).
void eliminate_zeros(SparseMatrix& m);

// AnnData level. Uses X (or the layer, or raw.X), calls eliminate_zeros on a
// sparse matrix in place as Scanpy does, and with inplace=true writes the
// columns into obs and var (replacing same-named columns). Always returns the
// frames, indexed by obs_names / var_names.
QcMetrics calculate_qc_metrics(AnnData& adata, const CalculateQcMetricsOptions& opts = {});

namespace detail {
// log1p with the precision of the column (numpy computes a float32 column's
// log1p in float32); the log1p_* columns of the in-memory and backed QC.
Array log1p_column(const Array& a);
}  // namespace detail

}  // namespace scanpp::pp
