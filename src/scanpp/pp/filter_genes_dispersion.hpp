#pragma once
// Scanpy's legacy pp.filter_genes_dispersion (the 2018 API, removed in 1.13):
// highly variable genes by binned, normalised dispersion, as used by
// recipe_zheng17 and recipe_seurat. It differs from highly_variable_genes in
// four ways that change the selected genes: the input is never expm1'd, `log`
// (not the flavor) decides whether dispersion and mean are logged,
// cell_ranger normalises |d - median| / MAD, and the selection works on the
// float32-cast normalised dispersions.
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/pp/highly_variable_genes.hpp"

namespace scanpp::pp {

struct FilterGenesDispersionOptions {
  HvgFlavor flavor = HvgFlavor::Seurat;  // seurat or cell_ranger
  double min_disp = 0.5;
  double max_disp = std::numeric_limits<double>::infinity();
  double min_mean = 0.0125;
  double max_mean = 3;
  int n_bins = 20;
  // Keep this many genes (more on ties); the cutoffs are then ignored.
  std::optional<int64_t> n_top_genes = std::nullopt;
  bool log = true;
  // AnnData level: subset to the selected genes, or else write var['highly_variable'].
  bool subset = true;
};

struct FilterGenesDispersionResult {
  std::vector<bool> gene_subset;
  std::vector<double> means, dispersions;  // logged when log=true
  std::vector<float> dispersions_norm;
};

// Kernels on a cells x genes matrix (any dtype; CSC is read through CSR).
FilterGenesDispersionResult filter_genes_dispersion(const SparseMatrix& x, const FilterGenesDispersionOptions& opts = {});
FilterGenesDispersionResult filter_genes_dispersion(const Array& x, const FilterGenesDispersionOptions& opts = {});
// AnnData level on X: writes var means, dispersions (float64) and
// dispersions_norm (float32), then subsets the genes (subset=true) or writes
// var['highly_variable'].
FilterGenesDispersionResult filter_genes_dispersion(AnnData& adata, const FilterGenesDispersionOptions& opts = {});

}  // namespace scanpp::pp
