#include "scanpp/pp/highly_variable_genes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/log1p.hpp"
#include "scanpp/pp/detail/hvg_dispersion.hpp"
#include "scanpp/pp/detail/float_math.hpp"
#include "scanpp/pp/detail/hvg_seurat_v3.hpp"
#include "scanpp/pp/detail/hvg_stats.hpp"
#include "scanpp/pp/detail/rows.hpp"

namespace scanpp::pp {

using namespace detail;

namespace {


// The seurat flavor's sums for float32 data: each row's values are gathered,
// expm1'd in one vectorised call, then added to per-block column slots in
// row order (the same additions, in the same order, as column_accumulate).
template <class Rows>
std::vector<double> expm1_sums_f32(const Rows& v, std::span<const int64_t> rows, std::optional<double> base) {
  const bool all = rows.empty();
  const int64_t n = all ? v.n_rows : static_cast<int64_t>(rows.size());
  const size_t width = 3 * static_cast<size_t>(v.n_cols);
  const float scale = base ? static_cast<float>(std::log(*base)) : 1.0f;
  const int64_t block = row_block_size(n);
  const int64_t nblocks = n == 0 ? 0 : (n + block - 1) / block;
  std::vector<std::vector<double>> parts(static_cast<size_t>(nblocks));
  parallel_blocks(n, block, [&](int64_t a, int64_t b) {
    std::vector<double> slots(width, 0.0);
    std::vector<float> ys;
    for (int64_t i = a; i < b; ++i) {
      const RowRef<float> row = row_ref(v, all ? i : rows[static_cast<size_t>(i)]);
      const size_t len = static_cast<size_t>(row.len);
      ys.resize(len);
      if (base) {
        for (size_t k = 0; k < len; ++k) ys[k] = row.x[k] * scale;
        expm1_f32(ys.data(), ys.data(), len);
      } else {
        expm1_f32(row.x, ys.data(), len);
      }
      for (size_t k = 0; k < len; ++k) {
        double* sl = slots.data() + 3 * row.col(static_cast<int64_t>(k));
        const float y = ys[k];
        // Scanpy 1.11 squares in the data's dtype and accumulates in float64.
        sl[0] += static_cast<double>(y);
        sl[1] += static_cast<double>(y * y);
        sl[2] += row.x[k] > 0 ? 1.0 : 0.0;
      }
    }
    parts[static_cast<size_t>(a / block)] = std::move(slots);
  });
  std::vector<double> out(width, 0.0);
  for (const auto& p : parts)
    for (size_t j = 0; j < width; ++j) out[j] += p[j];
  return out;
}

template <class Rows>
GeneSums gene_sums(const Rows& v, std::span<const int64_t> rows, bool expm1, std::optional<double> base) {
  using T = typename Rows::value_type;
  const double scale = base ? std::log(*base) : 1.0;
  std::vector<double> acc;
  if constexpr (std::is_same_v<T, float>) {
    if (expm1) acc = expm1_sums_f32(v, rows, base);
  }
  if (acc.empty())
    acc = column_accumulate(v, 3, rows, [&](int64_t c, T x, double* s) { dispersion_slots(c, x, expm1, scale, s); });
  return gene_sums_from_slots(acc, rows.empty() ? v.n_rows : static_cast<int64_t>(rows.size()));
}

// Scanpy's _get_mean_var: E[x^2] - E[x]^2, times n/(n-1).
void mean_var(const GeneSums& s, const std::vector<size_t>& genes, std::vector<double>& mean, std::vector<double>& var) {
  const double n = static_cast<double>(s.n);
  mean.resize(genes.size());
  var.resize(genes.size());
  for (size_t k = 0; k < genes.size(); ++k) {
    const size_t g = genes[k];
    const double m = s.sum[g] / n;
    double v = s.sumsq[g] / n - m * m;
    if (s.n != 1) v *= n / (n - 1);
    mean[k] = m;
    var[k] = v;
  }
}

// pandas' groupby mean over the batches (Kahan, NaN skipped).
double kahan_mean(const std::vector<double>& vals) {
  KahanMean m;
  for (double v : vals) m.add(v);
  return m.value();
}

bool is_v3(const HighlyVariableGenesOptions& o) {
  return o.flavor == HvgFlavor::SeuratV3 || o.flavor == HvgFlavor::SeuratV3Paper;
}

void check_flavor(const HighlyVariableGenesOptions& o) {
  if (o.n_top_genes && *o.n_top_genes < 1)
    throw ValueError("highly_variable_genes: n_top_genes must be positive (got " + std::to_string(*o.n_top_genes) + ")");
}

void warn_ignored_cutoffs(const HighlyVariableGenesOptions& o) {
  const HighlyVariableGenesOptions d;
  if (o.n_top_genes &&
      (o.min_disp != d.min_disp || o.max_disp != d.max_disp || o.min_mean != d.min_mean || o.max_mean != d.max_mean))
    warn("highly_variable_genes: If you pass `n_top_genes`, all cutoffs are ignored.");
}

template <class Rows>
bool looks_like_counts(const Rows& v) {
  using T = typename Rows::value_type;
  bool any_positive = false, all_int = true;
  for (int64_t r = 0; r < v.n_rows && all_int; ++r)
    v.row(r, [&](int64_t, T x) {
      const double d = to_double(x);
      if (d < 0 || d != std::floor(d)) all_int = false;
      if (d > 0) any_positive = true;
    });
  return all_int && any_positive;
}

template <class Rows>
HvgResult hvg_kernel(const Rows& v, const HighlyVariableGenesOptions& o, const HvgContext& ctx) {
  const size_t p = static_cast<size_t>(v.n_cols);
  const bool expm1 = o.flavor == HvgFlavor::Seurat;
  if (looks_like_counts(v)) warn_counts_for_dispersion(o);
  std::vector<GeneSums> sums;
  if (ctx.batch_codes.empty()) {
    sums.push_back(gene_sums(v, {}, expm1, ctx.log1p_base));
  } else {
    for (const auto& rows : batch_rows(ctx, v.n_rows, p))
      sums.push_back(rows.empty() ? GeneSums{} : gene_sums(v, rows, expm1, ctx.log1p_base));
  }
  return dispersion_hvg(sums, p, o, ctx);
}

template <class M>
HvgResult run(const M& x, const HighlyVariableGenesOptions& o, const HvgContext& ctx) {
  check_flavor(o);
  if (is_v3(o)) return seurat_v3(x, o, ctx);
  warn_ignored_cutoffs(o);
  return with_rows(x, [&](const auto& v) { return hvg_kernel(v, o, ctx); });
}

}  // namespace

namespace detail {

std::vector<std::vector<int64_t>> batch_rows(const HvgContext& ctx, int64_t n_cells, size_t n_genes) {
  if (static_cast<int64_t>(ctx.batch_codes.size()) != n_cells)
    throw ValueError("highly_variable_genes: " + std::to_string(ctx.batch_codes.size()) + " batch labels for " +
                     std::to_string(n_cells) + " cells");
  if (!ctx.gene_names.empty() && ctx.gene_names.size() != n_genes)
    throw ValueError("highly_variable_genes: gene_names does not match the number of genes");
  std::vector<std::vector<int64_t>> rows(static_cast<size_t>(ctx.n_batches));
  for (size_t i = 0; i < ctx.batch_codes.size(); ++i) {
    const int32_t b = ctx.batch_codes[i];
    if (b < -1 || b >= ctx.n_batches) throw ValueError("highly_variable_genes: batch code out of range");
    if (b >= 0) rows[static_cast<size_t>(b)].push_back(static_cast<int64_t>(i));
  }
  return rows;
}

GeneSums gene_sums_from_slots(const std::vector<double>& acc, int64_t n_cells) {
  GeneSums g;
  const size_t p = acc.size() / 3;
  g.sum.resize(p);
  g.sumsq.resize(p);
  g.npos.resize(p);
  for (size_t j = 0; j < p; ++j) {
    g.sum[j] = acc[3 * j];
    g.sumsq[j] = acc[3 * j + 1];
    g.npos[j] = acc[3 * j + 2];
  }
  g.n = n_cells;
  return g;
}

void warn_counts_for_dispersion(const HighlyVariableGenesOptions& o) {
  warn(std::string("highly_variable_genes: flavor='") + hvg_flavor_name(o.flavor) +
       "' expects logarithmized data, but the matrix holds only non-negative integers (raw counts?); run "
       "normalize_total and log1p first");
}

HvgResult dispersion_hvg(const std::vector<GeneSums>& sums, size_t p, const HighlyVariableGenesOptions& o,
                         const HvgContext& ctx) {
  HvgResult out;
  out.flavor = o.flavor;
  if (ctx.batch_codes.empty()) {
    const GeneSums& s = sums.at(0);
    std::vector<size_t> all(p);
    std::iota(all.begin(), all.end(), size_t{0});
    std::vector<double> mean, var;
    mean_var(s, all, mean, var);
    DispersionTable t = dispersion_table(std::move(mean), var, o);
    out.means = std::move(t.means);
    out.dispersions = std::move(t.dispersions);
    out.dispersions_norm = std::move(t.dispersions_norm);
    out.highly_variable = std::move(t.highly_variable);
    return out;
  }

  const size_t nb = static_cast<size_t>(ctx.n_batches);
  if (sums.size() != nb) throw Error("highly_variable_genes: one set of sums per batch expected");
  // Per-gene values of each batch (zeros for genes not expressed in it), in batch order.
  std::vector<std::vector<double>> bm(p), bd(p), bz(p);
  std::vector<int64_t> nbat(p, 0);
  for (size_t b = 0; b < nb; ++b) {
    if (sums[b].n == 0) {
      // Scanpy would fail on an empty category; an empty batch contributes nothing here.
      warn("highly_variable_genes: batch " + std::to_string(b) + " has no cells and is skipped");
      continue;
    }
    const GeneSums& s = sums[b];
    std::vector<size_t> expressed;
    for (size_t g = 0; g < p; ++g)
      if (s.npos[g] >= 1) expressed.push_back(g);
    std::vector<double> mean, var;
    mean_var(s, expressed, mean, var);
    DispersionTable t = dispersion_table(std::move(mean), var, o);
    std::vector<bool> seen(p, false);
    for (size_t k = 0; k < expressed.size(); ++k) {
      const size_t g = expressed[k];
      seen[g] = true;
      bm[g].push_back(t.means[k]);
      bd[g].push_back(t.dispersions[k]);
      bz[g].push_back(t.dispersions_norm[k]);
      if (t.highly_variable[k]) ++nbat[g];
    }
    for (size_t g = 0; g < p; ++g)
      if (!seen[g]) {
        bm[g].push_back(0.0);
        bd[g].push_back(0.0);
        bz[g].push_back(0.0);
      }
  }
  out.means.resize(p);
  out.dispersions.resize(p);
  out.dispersions_norm.resize(p);
  out.highly_variable_nbatches = nbat;
  out.highly_variable_intersection.resize(p);
  for (size_t g = 0; g < p; ++g) {
    out.means[g] = kahan_mean(bm[g]);
    out.dispersions[g] = kahan_mean(bd[g]);
    out.dispersions_norm[g] = kahan_mean(bz[g]);
    out.highly_variable_intersection[g] = nbat[g] == static_cast<int64_t>(nb);
  }
  out.highly_variable.assign(p, false);
  if (o.n_top_genes) {
    // pandas: groupby sorts genes by name, then a stable sort by
    // (nbatches desc, dispersions_norm desc, NaN last) picks the first N.
    std::vector<size_t> order(p);
    std::iota(order.begin(), order.end(), size_t{0});
    if (!ctx.gene_names.empty())
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t a, size_t b) { return ctx.gene_names[a] < ctx.gene_names[b]; });
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (nbat[a] != nbat[b]) return nbat[a] > nbat[b];
      const double za = out.dispersions_norm[a], zb = out.dispersions_norm[b];
      if (std::isnan(za) || std::isnan(zb)) return !std::isnan(za) && std::isnan(zb);
      return za > zb;
    });
    const size_t n = std::min<size_t>(p, static_cast<size_t>(*o.n_top_genes));
    for (size_t k = 0; k < n; ++k) out.highly_variable[order[k]] = true;
  } else {
    for (size_t g = 0; g < p; ++g) {
      // pandas fillna(0): NaN only; infinities stay (and fail the strict bounds).
      double& z = out.dispersions_norm[g];
      if (std::isnan(z)) z = 0.0;
      const double m = out.means[g];
      out.highly_variable[g] = m > o.min_mean && m < o.max_mean && z > o.min_disp && z < o.max_disp;
    }
  }
  return out;
}


void gene_mean_var(const SparseMatrix& x, std::vector<double>& mean, std::vector<double>& var) {
  with_rows(x, [&](const auto& v) {
    std::vector<size_t> all(static_cast<size_t>(v.n_cols));
    std::iota(all.begin(), all.end(), size_t{0});
    mean_var(gene_sums(v, {}, false, std::nullopt), all, mean, var);
  });
}

void gene_mean_var(const Array& x, std::vector<double>& mean, std::vector<double>& var) {
  with_rows(x, [&](const auto& v) {
    std::vector<size_t> all(static_cast<size_t>(v.n_cols));
    std::iota(all.begin(), all.end(), size_t{0});
    mean_var(gene_sums(v, {}, false, std::nullopt), all, mean, var);
  });
}

HvgContext hvg_context(const AnnData& adata, const HighlyVariableGenesOptions& opts) {
  HvgContext ctx;
  ctx.log1p_base = log1p_base(adata);
  if (opts.batch_key) {
    if (!adata.obs.has(*opts.batch_key))
      throw KeyError("highly_variable_genes: batch_key '" + *opts.batch_key + "' is not a column of obs");
    const Column& c = adata.obs.at(*opts.batch_key);
    Categorical cat;
    if (auto* cc = std::get_if<Categorical>(&c)) cat = *cc;
    else if (auto* sc = std::get_if<std::vector<std::string>>(&c)) cat = Categorical::from_strings(*sc);
    else if (is_v3(opts)) {
      // seurat_v3 groups by np.unique of any column's values.
      std::vector<std::string> labels(static_cast<size_t>(column_length(c)));
      for (size_t i = 0; i < labels.size(); ++i) labels[i] = column_cell_text(c, static_cast<int64_t>(i));
      cat = Categorical::from_strings(labels);
    } else
      throw ValueError("highly_variable_genes: batch_key '" + *opts.batch_key + "' must be a categorical or string column, not " +
                       column_kind(c));
    ctx.batch_codes = cat.codes;
    ctx.n_batches = static_cast<int32_t>(cat.n_categories());
    ctx.gene_names = adata.var_names();
  }
  return ctx;
}

void store_hvg(AnnData& adata, const HvgResult& r, const HighlyVariableGenesOptions& opts) {
  Dict hvg;
  hvg["flavor"] = std::string(hvg_flavor_name(opts.flavor));
  adata.uns["hvg"] = Element(std::move(hvg));
  const DataFrame df = r.to_frame(adata.var_names());
  for (const auto& [name, col] : df.columns()) adata.var.set(name, col);
}

}  // namespace detail

HvgFlavor hvg_flavor_from_string(const std::string& s) {
  if (s == "seurat") return HvgFlavor::Seurat;
  if (s == "cell_ranger") return HvgFlavor::CellRanger;
  if (s == "seurat_v3") return HvgFlavor::SeuratV3;
  if (s == "seurat_v3_paper") return HvgFlavor::SeuratV3Paper;
  throw ValueError("highly_variable_genes: unknown flavor '" + s +
                   "'; `flavor` needs to be 'seurat', 'cell_ranger', 'seurat_v3' or 'seurat_v3_paper'");
}

const char* hvg_flavor_name(HvgFlavor f) {
  switch (f) {
    case HvgFlavor::Seurat: return "seurat";
    case HvgFlavor::CellRanger: return "cell_ranger";
    case HvgFlavor::SeuratV3: return "seurat_v3";
    case HvgFlavor::SeuratV3Paper: return "seurat_v3_paper";
  }
  return "?";
}

DataFrame HvgResult::to_frame(const std::vector<std::string>& genes) const {
  DataFrame df(genes);
  std::vector<Bool8> hv(highly_variable.begin(), highly_variable.end());
  df.set("highly_variable", Array::from_vector(hv));
  if (flavor == HvgFlavor::SeuratV3 || flavor == HvgFlavor::SeuratV3Paper) {
    df.set("highly_variable_rank", Array::from_vector(highly_variable_rank));
    df.set("means", Array::from_vector(means));
    df.set("variances", Array::from_vector(variances));
    df.set("variances_norm", Array::from_vector(variances_norm));
    if (!highly_variable_nbatches.empty())
      df.set("highly_variable_nbatches", Array::from_vector(highly_variable_nbatches));
    return df;
  }
  df.set("means", Array::from_vector(means));
  df.set("dispersions", Array::from_vector(dispersions));
  df.set("dispersions_norm", Array::from_vector(dispersions_norm).astype(DType::Float32));
  if (!highly_variable_nbatches.empty()) {
    df.set("highly_variable_nbatches", Array::from_vector(highly_variable_nbatches));
    std::vector<Bool8> in(highly_variable_intersection.begin(), highly_variable_intersection.end());
    df.set("highly_variable_intersection", Array::from_vector(in));
  }
  return df;
}

HvgResult highly_variable_genes(const SparseMatrix& x, const HighlyVariableGenesOptions& opts, const HvgContext& ctx) {
  return run(x, opts, ctx);
}

HvgResult highly_variable_genes(const Array& x, const HighlyVariableGenesOptions& opts, const HvgContext& ctx) {
  return run(x, opts, ctx);
}

HvgResult highly_variable_genes(AnnData& adata, const HighlyVariableGenesOptions& opts) {
  check_flavor(opts);
  Element& x = obs_rep(adata, opts.layer, "highly_variable_genes");
  const HvgContext ctx = hvg_context(adata, opts);
  HvgResult r;
  if (x.is<SparseMatrix>()) r = highly_variable_genes(x.get<SparseMatrix>(), opts, ctx);
  else if (x.is<Array>()) r = highly_variable_genes(x.get<Array>(), opts, ctx);
  else throw ValueError(std::string("highly_variable_genes: the expression matrix is a ") + x.kind());
  if (!opts.inplace) return r;
  store_hvg(adata, r, opts);
  if (opts.subset) adata.subset_inplace(std::nullopt, indices_from_mask(r.highly_variable));
  return r;
}

}  // namespace scanpp::pp
