#pragma once
// Scanpy's pp.highly_variable_genes: dispersion flavors 'seurat' (expects
// log1p data; Satija et al. 2015) and 'cell_ranger' (Zheng et al. 2017), and
// the regularised-variance flavors 'seurat_v3' / 'seurat_v3_paper' (expect
// counts; Stuart et al. 2019, with R's interpolating loess), with or without
// batch_key.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"

namespace scanpp::pp {

enum class HvgFlavor { Seurat, CellRanger, SeuratV3, SeuratV3Paper };

// "seurat", "cell_ranger", "seurat_v3", "seurat_v3_paper"; ValueError otherwise.
HvgFlavor hvg_flavor_from_string(const std::string& s);
const char* hvg_flavor_name(HvgFlavor f);

struct HighlyVariableGenesOptions {
  std::optional<std::string> layer = std::nullopt;
  // Select exactly this many genes by normalised dispersion (more on ties);
  // the cutoffs below are then ignored (with a warning if changed).
  std::optional<int64_t> n_top_genes = std::nullopt;
  double min_disp = 0.5;
  double max_disp = std::numeric_limits<double>::infinity();
  double min_mean = 0.0125;
  double max_mean = 3;
  double span = 0.3;  // seurat_v3 only
  int n_bins = 20;    // seurat only: equal-width bins of the log mean
  HvgFlavor flavor = HvgFlavor::Seurat;
  // Subset adata to the highly variable genes (AnnData level, inplace only).
  bool subset = false;
  bool inplace = true;
  // obs column (categorical or strings): genes are selected per batch and merged.
  std::optional<std::string> batch_key = std::nullopt;
  bool check_values = true;  // seurat_v3 only
};

struct HvgResult {
  HvgFlavor flavor = HvgFlavor::Seurat;  // decides which columns to_frame writes
  std::vector<double> means;             // log1p of the mean (seurat), the mean (cell_ranger, v3)
  std::vector<double> dispersions;       // log dispersion (seurat) or dispersion (cell_ranger)
  std::vector<double> dispersions_norm;  // float64 as computed; written to var as float32
  std::vector<bool> highly_variable;
  std::vector<int64_t> highly_variable_nbatches;   // with batches only
  std::vector<bool> highly_variable_intersection;  // with batches only (dispersion flavors)
  // seurat_v3 / seurat_v3_paper only:
  std::vector<double> variances;             // ddof=1 over all cells
  std::vector<double> variances_norm;        // mean over batches of the regularised variance
  std::vector<float> highly_variable_rank;   // median rank over batches; NaN outside the top genes
  // Scanpy's var columns with Scanpy's dtypes, indexed by `genes`.
  DataFrame to_frame(const std::vector<std::string>& genes) const;
};

// Inputs the kernel needs beyond the matrix.
struct HvgContext {
  // uns['log1p']['base'] when set: the seurat flavor undoes log1p with it.
  std::optional<double> log1p_base = std::nullopt;
  // Batch of each cell (-1 = none, left out of every batch) and the batch
  // count; empty = no batches.
  std::vector<int32_t> batch_codes = {};
  int32_t n_batches = 0;
  // Gene names: batched n_top_genes breaks remaining ties alphabetically.
  std::vector<std::string> gene_names = {};
};

// Kernels on a cells x genes matrix (float data; CSC is converted to CSR).
HvgResult highly_variable_genes(const SparseMatrix& x, const HighlyVariableGenesOptions& opts = {},
                                const HvgContext& ctx = {});
HvgResult highly_variable_genes(const Array& x, const HighlyVariableGenesOptions& opts = {},
                                const HvgContext& ctx = {});

// AnnData level: reads X (or the layer), uns['log1p'] and obs[batch_key];
// with inplace writes var highly_variable, means, dispersions,
// dispersions_norm (float32) [, highly_variable_nbatches (int64),
// highly_variable_intersection] and uns['hvg'] = {'flavor': ...}, then
// subsets the genes when subset=true.
HvgResult highly_variable_genes(AnnData& adata, const HighlyVariableGenesOptions& opts = {});

}  // namespace scanpp::pp
