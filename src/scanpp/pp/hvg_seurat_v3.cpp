#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "scanpp/core/error.hpp"
#include "scanpp/core/numpy_sort.hpp"
#include "scanpp/pp/detail/hvg_seurat_v3.hpp"
#include "scanpp/pp/detail/hvg_stats.hpp"
#include "scanpp/pp/detail/rows.hpp"
#include "scanpp/pp/loess.hpp"

namespace scanpp::pp::detail {

namespace {


template <class Rows>
bool all_integers(const Rows& v) {
  using T = typename Rows::value_type;
  bool ok = true;
  for (int64_t r = 0; r < v.n_rows && ok; ++r)
    v.row(r, [&](int64_t, T x) {
      const double d = to_double(x);
      if (d < 0 || d != std::floor(d)) ok = false;
    });
  return ok;
}

// The passes over a matrix in memory: each set summed by column_accumulate.
template <class Rows>
V3Passes in_memory_passes(const Rows& v) {
  using T = typename Rows::value_type;
  V3Passes passes;
  passes.moments = [&v](const std::vector<std::vector<int64_t>>& sets) {
    std::vector<std::vector<double>> out;
    for (const auto& rows : sets) out.push_back(column_accumulate(v, 2, rows, v3_moment_slots<T>));
    return out;
  };
  passes.clipped = [&v](const std::vector<std::vector<int64_t>>& sets, const std::vector<std::vector<double>>& clips) {
    std::vector<std::vector<double>> out;
    for (size_t k = 0; k < sets.size(); ++k) {
      const double* clip = clips[k].data();
      out.push_back(column_accumulate(v, 2, sets[k], [clip](int64_t c, T x, double* s) {
        v3_clipped_slots(c, to_double(x), clip, s);
      }));
    }
    return out;
  };
  passes.all_integers = [&v] { return all_integers(v); };
  return passes;
}

}  // namespace

void v3_mean_var_from_slots(const std::vector<double>& acc, int64_t n_cells, std::vector<double>& mean,
                            std::vector<double>& var) {
  // Scanpy 1.11's E[x^2] - E[x]^2, times n/(n-1).
  const double nd = static_cast<double>(n_cells);
  const size_t p = acc.size() / 2;
  mean.resize(p);
  var.resize(p);
  for (size_t g = 0; g < p; ++g) {
    const double m = acc[2 * g] / nd;
    double s2 = acc[2 * g + 1] / nd - m * m;
    if (n_cells != 1) s2 *= nd / (nd - 1);
    mean[g] = m;
    var[g] = s2;
  }
}

void warn_non_integers_for_v3(const HighlyVariableGenesOptions& o) {
  warn(std::string("highly_variable_genes: `flavor='") + hvg_flavor_name(o.flavor) +
       "'` expects raw count data, but non-integers were found.");
}

HvgResult seurat_v3_from_passes(int64_t n_cells, int64_t n_genes, const V3Passes& passes,
                                const HighlyVariableGenesOptions& o, const HvgContext& ctx) {
  const size_t p = static_cast<size_t>(n_genes);
  const int64_t n_top = o.n_top_genes.value_or(2000);
  HvgResult out;
  out.flavor = o.flavor;

  std::vector<std::vector<int64_t>> batches;
  if (ctx.batch_codes.empty()) {
    batches.emplace_back();  // all cells
  } else {
    batches = batch_rows(ctx, n_cells, p);
    batches.erase(std::remove_if(batches.begin(), batches.end(), [](const auto& b) { return b.empty(); }), batches.end());
  }

  // One pass for the moments of all cells and of each batch (the same set
  // twice without batches: computed once).
  std::vector<std::vector<int64_t>> sets{{}};
  if (!ctx.batch_codes.empty()) sets.insert(sets.end(), batches.begin(), batches.end());
  const std::vector<std::vector<double>> moments = passes.moments(sets);
  v3_mean_var_from_slots(moments[0], n_cells, out.means, out.variances);
  if (o.check_values && !passes.all_integers()) warn_non_integers_for_v3(o);

  std::vector<std::vector<double>> norm_vars, clips;
  std::vector<std::vector<double>> means(batches.size()), reg_stds(batches.size());
  for (size_t b = 0; b < batches.size(); ++b) {
    const auto& rows = batches[b];
    const int64_t nb = rows.empty() ? n_cells : static_cast<int64_t>(rows.size());
    std::vector<double>& mean = means[b];
    std::vector<double> var;
    v3_mean_var_from_slots(moments[ctx.batch_codes.empty() ? 0 : b + 1], nb, mean, var);
    std::vector<double> lx, ly;
    std::vector<size_t> genes;
    for (size_t g = 0; g < p; ++g)
      if (var[g] > 0) {
        genes.push_back(g);
        lx.push_back(std::log10(mean[g]));
        ly.push_back(std::log10(var[g]));
      }
    std::vector<double> est(p, 0.0);
    if (!genes.empty()) {
      const std::vector<double> f = loess_fit(lx, ly, {.span = o.span, .degree = 2});
      for (size_t k = 0; k < genes.size(); ++k) est[genes[k]] = f[k];
    }
    const double vmax = std::sqrt(static_cast<double>(nb));
    std::vector<double>& reg_std = reg_stds[b];
    std::vector<double> clip(p);
    reg_std.resize(p);
    for (size_t g = 0; g < p; ++g) {
      reg_std[g] = std::sqrt(std::pow(10.0, est[g]));
      clip[g] = reg_std[g] * vmax + mean[g];
    }
    clips.push_back(std::move(clip));
  }
  // A second pass for the clipped sums of every batch.
  const std::vector<std::vector<double>> clipped = passes.clipped(batches, clips);
  for (size_t b = 0; b < batches.size(); ++b) {
    const double N = static_cast<double>(batches[b].empty() ? n_cells : static_cast<int64_t>(batches[b].size()));
    const std::vector<double>& mean = means[b];
    const std::vector<double>& reg_std = reg_stds[b];
    const std::vector<double>& cs = clipped[b];
    std::vector<double> nv(p);
    for (size_t g = 0; g < p; ++g)
      nv[g] = (1 / ((N - 1) * (reg_std[g] * reg_std[g]))) *
              ((N * (mean[g] * mean[g])) + cs[2 * g + 1] - 2 * cs[2 * g] * mean[g]);
    norm_vars.push_back(std::move(nv));
  }

  // Ranks per batch (0 = most variable): argsort(argsort(-v)) with numpy's sort.
  const size_t nbat = norm_vars.size();
  std::vector<std::vector<float>> ranks(nbat, std::vector<float>(p));
  for (size_t b = 0; b < nbat; ++b) {
    std::vector<double> neg(p);
    for (size_t g = 0; g < p; ++g) neg[g] = -norm_vars[b][g];
    const std::vector<int64_t> order = numpy_argsort(neg);
    for (size_t r = 0; r < p; ++r) ranks[b][static_cast<size_t>(order[r])] = static_cast<float>(r);
  }
  out.highly_variable_nbatches.assign(p, 0);
  out.highly_variable_rank.assign(p, std::numeric_limits<float>::quiet_NaN());
  out.variances_norm.assign(p, 0.0);
  for (size_t g = 0; g < p; ++g) {
    std::vector<float> kept;
    for (size_t b = 0; b < nbat; ++b)
      if (ranks[b][g] < static_cast<float>(n_top)) {
        ++out.highly_variable_nbatches[g];
        kept.push_back(ranks[b][g]);
      }
    if (!kept.empty()) {
      std::sort(kept.begin(), kept.end());
      const size_t h = kept.size() / 2;
      out.highly_variable_rank[g] = kept.size() % 2 ? kept[h] : (kept[h - 1] + kept[h]) / 2.0f;
    }
    double s = 0;
    for (size_t b = 0; b < nbat; ++b) s += norm_vars[b][g];
    out.variances_norm[g] = s / static_cast<double>(nbat);
  }
  // pandas sort_values (stable, NaN last) and the first n_top genes.
  std::vector<size_t> order(p);
  std::iota(order.begin(), order.end(), size_t{0});
  const auto& rank = out.highly_variable_rank;
  const auto& nbh = out.highly_variable_nbatches;
  auto by_rank = [&](size_t a, size_t c) -> int {
    const bool na = std::isnan(rank[a]), nc = std::isnan(rank[c]);
    if (na || nc) return na == nc ? 0 : (na ? 1 : -1);
    return rank[a] < rank[c] ? -1 : rank[a] > rank[c] ? 1 : 0;
  };
  auto by_nb = [&](size_t a, size_t c) -> int { return nbh[a] > nbh[c] ? -1 : nbh[a] < nbh[c] ? 1 : 0; };
  const bool paper = o.flavor == HvgFlavor::SeuratV3Paper;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t c) {
    const int first = paper ? by_nb(a, c) : by_rank(a, c);
    if (first != 0) return first < 0;
    return (paper ? by_rank(a, c) : by_nb(a, c)) < 0;
  });
  out.highly_variable.assign(p, false);
  for (size_t k = 0; k < std::min<size_t>(p, static_cast<size_t>(n_top)); ++k) out.highly_variable[order[k]] = true;
  if (ctx.batch_codes.empty()) out.highly_variable_nbatches.clear();
  return out;
}


HvgResult seurat_v3(const SparseMatrix& x, const HighlyVariableGenesOptions& opts, const HvgContext& ctx) {
  return with_rows(x, [&](const auto& v) { return seurat_v3_from_passes(v.n_rows, v.n_cols, in_memory_passes(v), opts, ctx); });
}

HvgResult seurat_v3(const Array& x, const HighlyVariableGenesOptions& opts, const HvgContext& ctx) {
  return with_rows(x, [&](const auto& v) { return seurat_v3_from_passes(v.n_rows, v.n_cols, in_memory_passes(v), opts, ctx); });
}

}  // namespace scanpp::pp::detail
