#pragma once
// Scanpy's preprocessing recipes from the literature, step for step as
// Scanpy 1.11 runs them (each step is the scanpp function of the same name).
//  * recipe_zheng17 (Cell Ranger, Zheng et al. 2017): filter_genes(min_counts=1)
//    -> normalize_total(key_added='n_counts_all') -> filter_genes_dispersion
//    (cell_ranger, n_top_genes, log=False) -> subset -> normalize_total ->
//    log1p (log=true) -> scale.
//  * recipe_seurat (Satija et al. 2015): filter_cells(min_genes=200) ->
//    filter_genes(min_cells=3) -> normalize_total(1e4) ->
//    filter_genes_dispersion(seurat cutoffs, log = !log) -> subset -> log1p
//    (log=true) -> scale(max_value=10).
//  * recipe_weinreb17 (Weinreb et al. 2017; dense X only, as Scanpy):
//    log1p (log=true) -> per-cell normalisation excluding genes above 5% of a
//    cell, times the mean total -> genes with mean > mean_threshold and
//    std / (mean + 1e-4) > cv_threshold -> z-score -> PCA into obsm['X_pca'].
#include <cstdint>

#include "scanpp/core/anndata.hpp"
#include "scanpp/pp/pca.hpp"

namespace scanpp::pp {

struct RecipeZheng17Options {
  int64_t n_top_genes = 1000;
  bool log = true;
};
struct RecipeSeuratOptions {
  bool log = true;
};
struct RecipeWeinreb17Options {
  bool log = true;
  double mean_threshold = 0.01;
  double cv_threshold = 2;
  int64_t n_pcs = 50;
  PcaSolver svd_solver = PcaSolver::Randomized;
  uint64_t random_state = 0;
};

void recipe_zheng17(AnnData& adata, const RecipeZheng17Options& opts = {});
void recipe_seurat(AnnData& adata, const RecipeSeuratOptions& opts = {});
void recipe_weinreb17(AnnData& adata, const RecipeWeinreb17Options& opts = {});

}  // namespace scanpp::pp
