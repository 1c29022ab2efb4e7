// highly_variable_genes (flavors seurat and cell_ranger) over row blocks:
// the per-gene sums of one pass feed the in-memory selection procedure.
#include <cmath>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/backed.hpp"
#include "scanpp/pp/backed_column_sums.hpp"
#include "scanpp/pp/detail/float_math.hpp"
#include "scanpp/pp/detail/hvg_dispersion.hpp"
#include "scanpp/pp/detail/rows.hpp"
#include "scanpp/pp/log1p.hpp"

namespace scanpp::pp::backed {

using backed_detail::OrderedColumnSums;

HvgResult highly_variable_genes(const RowBlockSource& x, const HighlyVariableGenesOptions& o, const HvgContext& ctx,
                                const RowBlockOptions& blocks) {
  if (o.n_top_genes && *o.n_top_genes < 1)
    throw ValueError("highly_variable_genes: n_top_genes must be positive (got " + std::to_string(*o.n_top_genes) + ")");
  if (o.flavor != HvgFlavor::Seurat && o.flavor != HvgFlavor::CellRanger)
    throw ValueError(std::string("highly_variable_genes: flavor '") + hvg_flavor_name(o.flavor) +
                     "' is not available on a backed X (only 'seurat' and 'cell_ranger'); read the data without "
                     "backed");
  if (!ctx.batch_codes.empty())
    throw ValueError("highly_variable_genes: batch_key is not available on a backed X; read the data without backed");
  {
    const HighlyVariableGenesOptions d;
    if (o.n_top_genes &&
        (o.min_disp != d.min_disp || o.max_disp != d.max_disp || o.min_mean != d.min_mean || o.max_mean != d.max_mean))
      detail::warn("highly_variable_genes: If you pass `n_top_genes`, all cutoffs are ignored.");
  }
  const int64_t n = x.n_obs(), p = x.n_vars();
  const bool expm1 = o.flavor == HvgFlavor::Seurat;
  const std::optional<double> base = ctx.log1p_base;
  OrderedColumnSums sums(n, static_cast<size_t>(3 * p));
  bool any_positive = false, all_int = true;
  for_each_row_block(x, blocks, [&](Element& b, int64_t start, int64_t) {
    detail::with_rows(b, [&](const auto& v) {
      using T = typename std::decay_t<decltype(v)>::value_type;
      // As the in-memory kernel: integer data in float64; the seurat flavor
      // multiplies by ln(base) and takes expm1 in X's dtype; squares in that
      // dtype, sums in float64.
      using F = std::conditional_t<std::is_floating_point_v<T>, T, double>;
      const F scale = base ? static_cast<F>(std::log(*base)) : F(1);
      for (int64_t r = 0; r < v.n_rows && all_int; ++r)
        v.row(r, [&](int64_t, T val) {
          const double d = to_double(val);
          if (d < 0 || d != std::floor(d)) all_int = false;
          if (d > 0) any_positive = true;
        });
      sums.add(v, start, [&](int64_t c, T val, double* s) {
        F y = static_cast<F>(to_double(val));
        if (expm1) {
          if (base) y = static_cast<F>(y * scale);
          // float32: the correctly rounded expm1 the in-memory kernel uses (numpy's).
          if constexpr (std::is_same_v<F, float>) y = detail::expm1_f32(y);
          else y = std::expm1(y);
        }
        const F sq = static_cast<F>(y * y);
        s[3 * c] += static_cast<double>(y);
        s[3 * c + 1] += static_cast<double>(sq);
        if (to_double(val) > 0) s[3 * c + 2] += 1.0;
      });
    });
  });
  if (all_int && any_positive)
    detail::warn(std::string("highly_variable_genes: flavor='") + hvg_flavor_name(o.flavor) +
                 "' expects logarithmized data, but the matrix holds only non-negative integers (raw counts?); run "
                 "normalize_total and log1p first");
  const std::vector<double>& s = sums.result();
  // Scanpy's _get_mean_var: E[x^2] - E[x]^2, times n/(n-1).
  const double nd = static_cast<double>(n);
  std::vector<double> mean(static_cast<size_t>(p)), var(static_cast<size_t>(p));
  for (size_t g = 0; g < static_cast<size_t>(p); ++g) {
    const double m = s[3 * g] / nd;
    double v = s[3 * g + 1] / nd - m * m;
    if (n != 1) v *= nd / (nd - 1);
    mean[g] = m;
    var[g] = v;
  }
  detail::DispersionTable t = detail::dispersion_table(std::move(mean), var, o);
  HvgResult out;
  out.flavor = o.flavor;
  out.means = std::move(t.means);
  out.dispersions = std::move(t.dispersions);
  out.dispersions_norm = std::move(t.dispersions_norm);
  out.highly_variable = std::move(t.highly_variable);
  return out;
}

HvgResult highly_variable_genes(AnnData& meta, const RowBlockSource& x, const HighlyVariableGenesOptions& opts,
                                const RowBlockOptions& blocks) {
  if (opts.layer) throw ValueError("highly_variable_genes: layers are not available on a backed X");
  if (opts.batch_key && !meta.obs.has(*opts.batch_key))
    throw KeyError("highly_variable_genes: batch_key '" + *opts.batch_key + "' is not a column of obs");
  if (opts.batch_key)
    throw ValueError("highly_variable_genes: batch_key is not available on a backed X; read the data without backed");
  if (opts.subset && opts.inplace)
    throw ValueError("highly_variable_genes: subset the backed X with pp::backed::subset (the pipeline step does)");
  HvgContext ctx;
  ctx.log1p_base = log1p_base(meta);
  HvgResult r = highly_variable_genes(x, opts, ctx, blocks);
  if (!opts.inplace) return r;
  Dict hvg;
  hvg["flavor"] = std::string(hvg_flavor_name(opts.flavor));
  meta.uns["hvg"] = Element(std::move(hvg));
  const DataFrame df = r.to_frame(meta.var_names());
  for (const auto& [name, col] : df.columns()) meta.var.set(name, col);
  return r;
}

}  // namespace scanpp::pp::backed
