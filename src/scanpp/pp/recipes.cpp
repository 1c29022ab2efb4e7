#include "scanpp/pp/recipes.hpp"

#include <cmath>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/filter.hpp"
#include "scanpp/pp/filter_genes_dispersion.hpp"
#include "scanpp/pp/log1p.hpp"
#include "scanpp/pp/normalize_total.hpp"
#include "scanpp/pp/scale.hpp"

namespace scanpp::pp {

void recipe_zheng17(AnnData& adata, const RecipeZheng17Options& opts) {
  filter_genes(adata, FilterGenesOptions{.min_counts = 1});
  normalize_total(adata, NormalizeTotalOptions{.key_added = std::string("n_counts_all")});
  filter_genes_dispersion(adata, FilterGenesDispersionOptions{
                                     .flavor = HvgFlavor::CellRanger, .n_top_genes = opts.n_top_genes, .log = false});
  // filter_genes_dispersion on the AnnData also writes its var columns; the
  // recipe calls it on the matrix alone, so they are not kept.
  for (const char* c : {"means", "dispersions", "dispersions_norm"}) adata.var.remove(c);
  normalize_total(adata);
  if (opts.log) log1p(adata);
  scale(adata);
}

void recipe_seurat(AnnData& adata, const RecipeSeuratOptions& opts) {
  filter_cells(adata, FilterCellsOptions{.min_genes = 200});
  filter_genes(adata, FilterGenesOptions{.min_cells = 3});
  normalize_total(adata, NormalizeTotalOptions{.target_sum = 1e4});
  filter_genes_dispersion(adata, FilterGenesDispersionOptions{.log = !opts.log});
  for (const char* c : {"means", "dispersions", "dispersions_norm"}) adata.var.remove(c);
  if (opts.log) log1p(adata);
  scale(adata, ScaleOptions{.max_value = 10.0});
}

namespace {

// Weinreb et al.'s per-cell normalisation on a dense float64 matrix: totals
// over the genes that never exceed max_fraction of a cell's total, result
// multiplied by the mean of the full totals.
void normalize_weinreb16(std::vector<double>& x, int64_t n, int64_t p, double max_fraction) {
  std::vector<double> total(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < p; ++j) total[static_cast<size_t>(i)] += x[static_cast<size_t>(i * p + j)];
  std::vector<bool> keep(static_cast<size_t>(p), true);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < p; ++j)
      if (x[static_cast<size_t>(i * p + j)] > total[static_cast<size_t>(i)] * max_fraction) keep[static_cast<size_t>(j)] = false;
  double mean_total = 0;
  for (double t : total) mean_total += t;
  mean_total /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) {
    double inc = 0;
    for (int64_t j = 0; j < p; ++j)
      if (keep[static_cast<size_t>(j)]) inc += x[static_cast<size_t>(i * p + j)];
    for (int64_t j = 0; j < p; ++j) x[static_cast<size_t>(i * p + j)] = x[static_cast<size_t>(i * p + j)] / inc * mean_total;
  }
}

void column_mean_std(const std::vector<double>& x, int64_t n, int64_t p, std::vector<double>& mean, std::vector<double>& sd) {
  mean.assign(static_cast<size_t>(p), 0.0);
  sd.assign(static_cast<size_t>(p), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < p; ++j) mean[static_cast<size_t>(j)] += x[static_cast<size_t>(i * p + j)];
  for (auto& m : mean) m /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < p; ++j) {
      const double d = x[static_cast<size_t>(i * p + j)] - mean[static_cast<size_t>(j)];
      sd[static_cast<size_t>(j)] += d * d;
    }
  for (auto& s : sd) s = std::sqrt(s / static_cast<double>(n));
}

}  // namespace

void recipe_weinreb17(AnnData& adata, const RecipeWeinreb17Options& opts) {
  if (!adata.X || !adata.X->is<Array>())
    throw ValueError("recipe_weinreb17 does not support sparse matrices (Scanpy neither): densify X first");
  if (opts.log) log1p(adata);
  Array& X = adata.X->get<Array>();
  const int64_t n = X.shape()[0], p = X.shape()[1];
  if (n == 0) throw ValueError("recipe_weinreb17: no cells");
  std::vector<double> x = X.to_vector<double>();
  normalize_weinreb16(x, n, p, 0.05);
  std::vector<double> mean, sd;
  column_mean_std(x, n, p, mean, sd);
  std::vector<int64_t> genes;
  for (int64_t j = 0; j < p; ++j)
    if (mean[static_cast<size_t>(j)] > opts.mean_threshold &&
        sd[static_cast<size_t>(j)] / (mean[static_cast<size_t>(j)] + 0.0001) > opts.cv_threshold)
      genes.push_back(j);
  // Scanpy keeps X in its own dtype and only the subset of genes.
  std::vector<double> sub(static_cast<size_t>(n) * genes.size());
  const auto q = static_cast<int64_t>(genes.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < q; ++k) sub[static_cast<size_t>(i * q + k)] = x[static_cast<size_t>(i * p + genes[static_cast<size_t>(k)])];
  Array normalised = Array::from_vector(sub, {n, q}).astype(X.dtype());
  adata.subset_inplace(std::nullopt, Indices(genes));
  adata.X = Element(std::move(normalised));
  std::vector<double> zm, zs;
  column_mean_std(sub, n, q, zm, zs);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < q; ++k)
      sub[static_cast<size_t>(i * q + k)] = (sub[static_cast<size_t>(i * q + k)] - zm[static_cast<size_t>(k)]) / (zs[static_cast<size_t>(k)] + 0.0001);
  const PcaResult r = pca(Array::from_vector(sub, {n, q}),
                          PcaOptions{.n_comps = opts.n_pcs, .svd_solver = opts.svd_solver, .random_state = opts.random_state});
  adata.obsm["X_pca"] = Element(r.scores);
}

}  // namespace scanpp::pp
