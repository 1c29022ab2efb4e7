#pragma once
// The parts of highly_variable_genes shared by the in-memory kernels and the
// backed (row-block) ones: each flavor is split into the passes over the
// cells, which produce per-gene sums over sets of cells (all cells, or the
// cells of one batch), and the selection that works on those sums alone.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <vector>

#include "scanpp/pp/detail/float_math.hpp"
#include "scanpp/pp/detail/rows.hpp"
#include "scanpp/pp/highly_variable_genes.hpp"

namespace scanpp::pp::detail {

// Per-gene sums over a set of cells of the values Scanpy feeds to its
// mean/variance kernel (expm1 of the log data for seurat), plus the number of
// cells with a positive stored value (its per-batch filter_genes(min_cells=1)).
struct GeneSums {
  std::vector<double> sum, sumsq, npos;
  int64_t n = 0;  // cells in the set; 0 for an empty batch
};

// Slot layout of GeneSums while accumulating: 3 per gene.
GeneSums gene_sums_from_slots(const std::vector<double>& slots, int64_t n_cells);

// One stored value's contribution to the dispersion flavors' sums: expm1 of
// the log data for seurat (X·ln(base) first when uns['log1p'] has a base),
// in X's dtype (integers in float64); Scanpy 1.11 squares in that dtype and
// accumulates in float64. `scale` is ln(base) or 1.
template <class T>
inline void dispersion_slots(int64_t c, T x, bool expm1, double scale, double* s);

// The rows of each batch (ctx.batch_codes must have one code per cell).
std::vector<std::vector<int64_t>> batch_rows(const HvgContext& ctx, int64_t n_cells, size_t n_genes);

// flavor seurat / cell_ranger from the sums of all cells (one entry, no
// batches) or of each batch in batch order.
HvgResult dispersion_hvg(const std::vector<GeneSums>& sums, size_t n_genes, const HighlyVariableGenesOptions& o,
                         const HvgContext& ctx);

// Scanpy's warnings when the data do not look like what a flavor expects.
void warn_counts_for_dispersion(const HighlyVariableGenesOptions& o);
void warn_non_integers_for_v3(const HighlyVariableGenesOptions& o);

// Moments of one stored value for seurat_v3 (2 slots per gene: x and x² in
// the data's dtype, summed in float64) and their mean and ddof=1 variance.
template <class T>
inline void v3_moment_slots(int64_t c, T x, double* s) {
  using F = std::conditional_t<std::is_floating_point_v<T>, T, double>;
  const F y = static_cast<F>(to_double(x));
  s[2 * c] += static_cast<double>(y);
  s[2 * c + 1] += static_cast<double>(static_cast<F>(y * y));
}
void v3_mean_var_from_slots(const std::vector<double>& slots, int64_t n_cells, std::vector<double>& mean,
                            std::vector<double>& var);
// Sums of min(x, clip) and of its square (2 slots per gene).
inline void v3_clipped_slots(int64_t c, double x, const double* clip, double* s) {
  const double e = std::min(x, clip[c]);
  s[2 * c] += e;
  s[2 * c + 1] += e * e;
}

// The passes seurat_v3 makes over the cells. A set of cells is a list of
// rows, empty meaning all cells; the result has one slot vector per set.
struct V3Passes {
  // 2 slots per gene (v3_moment_slots) for each set.
  std::function<std::vector<std::vector<double>>(const std::vector<std::vector<int64_t>>& sets)> moments;
  // 2 slots per gene (v3_clipped_slots with clips[set]) for each set.
  std::function<std::vector<std::vector<double>>(const std::vector<std::vector<int64_t>>& sets,
                                                 const std::vector<std::vector<double>>& clips)>
      clipped;
  // Whether every value is a non-negative integer (asked after `moments`).
  std::function<bool()> all_integers;
};
HvgResult seurat_v3_from_passes(int64_t n_cells, int64_t n_genes, const V3Passes& passes,
                                const HighlyVariableGenesOptions& o, const HvgContext& ctx);

// With inplace: uns['hvg'] = {'flavor': ...} and the result's var columns.
void store_hvg(AnnData& adata, const HvgResult& r, const HighlyVariableGenesOptions& opts);

// The kernel inputs an AnnData gives: uns['log1p']['base'] and, with
// batch_key, the batch codes and gene names (KeyError/ValueError as Scanpy).
HvgContext hvg_context(const AnnData& adata, const HighlyVariableGenesOptions& opts);

// numpy's expm1 in the value's dtype (correctly rounded for float32).
inline float expm1_of(float y) { return expm1_f32(y); }
inline double expm1_of(double y) { return std::expm1(y); }

template <class T>
inline void dispersion_slots(int64_t c, T x, bool expm1, double scale, double* s) {
  using F = std::conditional_t<std::is_floating_point_v<T>, T, double>;
  F y = static_cast<F>(to_double(x));
  if (expm1) {
    if (scale != 1.0) y = static_cast<F>(y * static_cast<F>(scale));
    y = expm1_of(y);
  }
  const F sq = static_cast<F>(y * y);
  s[3 * c] += static_cast<double>(y);
  s[3 * c + 1] += static_cast<double>(sq);
  if (to_double(x) > 0) s[3 * c + 2] += 1.0;
}

}  // namespace scanpp::pp::detail
