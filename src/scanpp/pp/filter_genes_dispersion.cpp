#include "scanpp/pp/filter_genes_dispersion.hpp"

#include <string>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/detail/hvg_dispersion.hpp"
#include "scanpp/pp/detail/rows.hpp"

namespace scanpp::pp {

namespace {

void check(const FilterGenesDispersionOptions& o) {
  if (o.flavor != HvgFlavor::Seurat && o.flavor != HvgFlavor::CellRanger)
    throw ValueError("filter_genes_dispersion: `flavor` needs to be \"seurat\" or \"cell_ranger\"");
  if (o.n_bins < 1) throw ValueError("filter_genes_dispersion: n_bins must be positive");
  if (o.n_top_genes && *o.n_top_genes < 1) throw ValueError("filter_genes_dispersion: n_top_genes must be positive");
  const FilterGenesDispersionOptions d;
  if (o.n_top_genes && (o.min_disp != d.min_disp || o.max_disp != d.max_disp || o.min_mean != d.min_mean ||
                        o.max_mean != d.max_mean))
    detail::warn("filter_genes_dispersion: If you pass `n_top_genes`, all cutoffs are ignored.");
}

FilterGenesDispersionResult from_moments(std::vector<double> mean, const std::vector<double>& var,
                                         const FilterGenesDispersionOptions& o) {
  check(o);
  const HighlyVariableGenesOptions h{.n_top_genes = o.n_top_genes,
                                     .min_disp = o.min_disp,
                                     .max_disp = o.max_disp,
                                     .min_mean = o.min_mean,
                                     .max_mean = o.max_mean,
                                     .n_bins = o.n_bins,
                                     .flavor = o.flavor};
  const detail::DispersionRules rules{.log = o.log,
                                      .absolute_deviation = o.flavor == HvgFlavor::CellRanger,
                                      .float32_selection = true};
  detail::DispersionTable t = detail::dispersion_table(std::move(mean), var, h, rules);
  FilterGenesDispersionResult r;
  r.gene_subset = std::move(t.highly_variable);
  r.means = std::move(t.means);
  r.dispersions = std::move(t.dispersions);
  r.dispersions_norm.assign(t.dispersions_norm.begin(), t.dispersions_norm.end());
  return r;
}

}  // namespace

FilterGenesDispersionResult filter_genes_dispersion(const SparseMatrix& x, const FilterGenesDispersionOptions& opts) {
  std::vector<double> mean, var;
  detail::gene_mean_var(x, mean, var);
  return from_moments(std::move(mean), var, opts);
}

FilterGenesDispersionResult filter_genes_dispersion(const Array& x, const FilterGenesDispersionOptions& opts) {
  std::vector<double> mean, var;
  detail::gene_mean_var(x, mean, var);
  return from_moments(std::move(mean), var, opts);
}

FilterGenesDispersionResult filter_genes_dispersion(AnnData& adata, const FilterGenesDispersionOptions& opts) {
  if (!adata.X) throw ValueError("filter_genes_dispersion: adata has no X");
  FilterGenesDispersionResult r = std::visit(
      [&](const auto& m) -> FilterGenesDispersionResult {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, SparseMatrix> || std::is_same_v<M, Array>)
          return filter_genes_dispersion(m, opts);
        else
          throw ValueError("filter_genes_dispersion: X must be a dense or sparse matrix");
      },
      adata.X->value);
  adata.var.set("means", Array::from_vector(r.means));
  adata.var.set("dispersions", Array::from_vector(r.dispersions));
  adata.var.set("dispersions_norm", Array::from_vector(r.dispersions_norm));
  if (opts.subset) {
    adata.subset_inplace(std::nullopt, indices_from_mask(r.gene_subset));
  } else {
    adata.var.set("highly_variable", Array::from_vector(std::vector<Bool8>(r.gene_subset.begin(), r.gene_subset.end())));
  }
  return r;
}

}  // namespace scanpp::pp
