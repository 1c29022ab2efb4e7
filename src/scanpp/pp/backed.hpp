#pragma once
// Preprocessing on a matrix read in row blocks (a backed .h5ad, or any
// RowBlockSource): each function makes passes over the blocks, keeping only
// per-cell and per-gene vectors in memory, and gives the same numbers as the
// in-memory function on the whole matrix (per-gene sums are added in the
// in-memory order, see backed_column_sums.hpp). The input is never changed:
// transformations return a new, lazily transformed source, which
// write_h5ad_from_blocks streams into a new file.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/row_blocks.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/pp/calculate_qc_metrics.hpp"
#include "scanpp/pp/filter.hpp"
#include "scanpp/pp/highly_variable_genes.hpp"
#include "scanpp/pp/normalize_total.hpp"
#include "scanpp/pp/pca.hpp"

namespace scanpp::pp::backed {

using SourcePtr = std::shared_ptr<const RowBlockSource>;

// calculate_qc_metrics: per-cell columns from each block (the in-memory
// kernel on the block), per-gene columns from streamed sums. Explicit zeros
// are skipped as eliminate_zeros() would. Frames indexed '0', '1', ...
QcMetrics qc_metrics(const RowBlockSource& x, const std::vector<std::pair<std::string, std::vector<bool>>>& qc_masks,
                     const CalculateQcMetricsOptions& opts = {}, const RowBlockOptions& blocks = {});

// filter_cells / filter_genes: the mask and numbers (opts.inplace is ignored).
FilterResult filter_cells(const RowBlockSource& x, const FilterCellsOptions& opts, const RowBlockOptions& blocks = {});
FilterResult filter_genes(const RowBlockSource& x, const FilterGenesOptions& opts, const RowBlockOptions& blocks = {});

// normalize_total's totals, size factors and target from two passes (three
// with exclude_highly_expressed); result.X is not set.
NormalizeTotalResult normalize_total_factors(const RowBlockSource& x, const NormalizeTotalOptions& opts = {},
                                             const RowBlockOptions& blocks = {});
// The source divided row by row by the size factors of `r` (integer data
// become float32, as in memory).
SourcePtr normalized(SourcePtr x, const NormalizeTotalResult& r);
// The source with log1p applied to every block (pp.log1p's kernel).
SourcePtr log1p(SourcePtr x, std::optional<double> base = std::nullopt);

// highly_variable_genes, every flavor, with or without batch_key: per-gene
// statistics in one pass (two for seurat_v3), then Scanpy's selection; the
// result equals the in-memory kernel's bit for bit.
HvgResult highly_variable_genes(const RowBlockSource& x, const HighlyVariableGenesOptions& opts = {},
                                const HvgContext& ctx = {}, const RowBlockOptions& blocks = {});

struct BackedPcaOptions {
  // Gather (default): the used columns (e.g. the highly variable genes) are
  // collected into memory and pp.pca runs on them: memory is the size of that
  // submatrix and the result is exactly the in-memory one.
  // Streaming: X stays on disk and every product of the Lanczos iteration is
  // a pass over the blocks (memory: a few vectors per gene and per cell;
  // hundreds of passes). Needs zero_center and svd_solver arpack (or unset).
  bool streaming = false;
  RowBlockOptions blocks = {};
};
// pp.pca's kernel on a row-block source restricted to `genes` (increasing
// indices; empty = all).
PcaResult pca(const RowBlockSource& x, const std::vector<int64_t>& genes, const PcaOptions& opts = {},
              const BackedPcaOptions& bopts = {});

// AnnData-level wrappers: `meta` holds obs/var/uns (X empty); they write
// the same keys as the in-memory functions. calculate_qc_metrics honours
// opts.inplace; filter_* return the mask and subset neither meta nor the
// source (see subset_source); normalize_total and log1p return the new source.
QcMetrics calculate_qc_metrics(AnnData& meta, const RowBlockSource& x, const CalculateQcMetricsOptions& opts = {},
                               const RowBlockOptions& blocks = {});
FilterResult filter_cells(AnnData& meta, const RowBlockSource& x, const FilterCellsOptions& opts,
                          const RowBlockOptions& blocks = {});
FilterResult filter_genes(AnnData& meta, const RowBlockSource& x, const FilterGenesOptions& opts,
                          const RowBlockOptions& blocks = {});
SourcePtr normalize_total(AnnData& meta, SourcePtr x, const NormalizeTotalOptions& opts = {},
                          const RowBlockOptions& blocks = {});
SourcePtr log1p(AnnData& meta, SourcePtr x, std::optional<double> base = std::nullopt);
HvgResult highly_variable_genes(AnnData& meta, const RowBlockSource& x, const HighlyVariableGenesOptions& opts = {},
                                const RowBlockOptions& blocks = {});
void pca(AnnData& meta, const RowBlockSource& x, const PcaOptions& opts = {}, const BackedPcaOptions& bopts = {});

// Subsets meta (in place) and returns the matching view of the source.
SourcePtr subset(AnnData& meta, SourcePtr x, const std::optional<std::vector<int64_t>>& obs,
                 const std::optional<std::vector<int64_t>>& var);

// Streams the source's blocks (CSR; dense blocks are stored as CSR) into a
// new .h5ad at `path` together with meta's obs, var, obsm, varm, obsp, varp
// and uns. The file appears atomically when complete.
void write_h5ad_from_blocks(const AnnData& meta, const RowBlockSource& x, const std::string& path,
                            const io::WriteH5adOptions& wopts = {}, const RowBlockOptions& blocks = {});

}  // namespace scanpp::pp::backed
