#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "scanpp/core/error.hpp"
#include "scanpp/core/numpy_sort.hpp"
#include "scanpp/pp/detail/hvg_seurat_v3.hpp"
#include "scanpp/pp/detail/rows.hpp"
#include "scanpp/pp/loess.hpp"

namespace scanpp::pp::detail {

namespace {


// Per-gene mean and ddof=1 variance over `rows` (all when empty), Scanpy 1.11's
// E[x^2] - E[x]^2 with squares formed in the data's dtype.
template <class Rows>
void gene_mean_var(const Rows& v, std::span<const int64_t> rows, std::vector<double>& mean, std::vector<double>& var) {
  using T = typename Rows::value_type;
  using F = std::conditional_t<std::is_floating_point_v<T>, T, double>;
  const std::vector<double> acc = column_accumulate(v, 2, rows, [](int64_t c, T x, double* s) {
    const F y = static_cast<F>(to_double(x));
    s[2 * c] += static_cast<double>(y);
    s[2 * c + 1] += static_cast<double>(static_cast<F>(y * y));
  });
  const int64_t n = rows.empty() ? v.n_rows : static_cast<int64_t>(rows.size());
  const double nd = static_cast<double>(n);
  const size_t p = static_cast<size_t>(v.n_cols);
  mean.resize(p);
  var.resize(p);
  for (size_t g = 0; g < p; ++g) {
    const double m = acc[2 * g] / nd;
    double s2 = acc[2 * g + 1] / nd - m * m;
    if (n != 1) s2 *= nd / (nd - 1);
    mean[g] = m;
    var[g] = s2;
  }
}

// Sums of min(x, clip) and of its square per gene over the batch's cells.
template <class Rows>
void clipped_sums(const Rows& v, std::span<const int64_t> rows, const std::vector<double>& clip, std::vector<double>& sum,
                  std::vector<double>& sumsq) {
  using T = typename Rows::value_type;
  const std::vector<double> acc = column_accumulate(v, 2, rows, [&](int64_t c, T x, double* s) {
    const double e = std::min(to_double(x), clip[static_cast<size_t>(c)]);
    s[2 * c] += e;
    s[2 * c + 1] += e * e;
  });
  const size_t p = clip.size();
  sum.resize(p);
  sumsq.resize(p);
  for (size_t g = 0; g < p; ++g) {
    sum[g] = acc[2 * g];
    sumsq[g] = acc[2 * g + 1];
  }
}

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

template <class Rows>
HvgResult run_v3(const Rows& v, const HighlyVariableGenesOptions& o, const HvgContext& ctx) {
  const size_t p = static_cast<size_t>(v.n_cols);
  const int64_t n_top = o.n_top_genes.value_or(2000);
  if (o.check_values && !all_integers(v))
    warn(std::string("highly_variable_genes: `flavor='") + hvg_flavor_name(o.flavor) +
         "'` expects raw count data, but non-integers were found.");
  HvgResult out;
  out.flavor = o.flavor;
  gene_mean_var(v, {}, out.means, out.variances);

  std::vector<std::vector<int64_t>> batches;
  if (ctx.batch_codes.empty()) {
    batches.emplace_back();  // all cells
  } else {
    if (static_cast<int64_t>(ctx.batch_codes.size()) != v.n_rows)
      throw ValueError("highly_variable_genes: batch labels do not match the number of cells");
    batches.resize(static_cast<size_t>(ctx.n_batches));
    for (size_t i = 0; i < ctx.batch_codes.size(); ++i)
      if (ctx.batch_codes[i] >= 0) batches[static_cast<size_t>(ctx.batch_codes[i])].push_back(static_cast<int64_t>(i));
    batches.erase(std::remove_if(batches.begin(), batches.end(), [](const auto& b) { return b.empty(); }), batches.end());
  }

  std::vector<std::vector<double>> norm_vars;
  for (const auto& rows : batches) {
    std::vector<double> mean, var;
    gene_mean_var(v, rows, mean, var);
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
    const int64_t nb = rows.empty() ? v.n_rows : static_cast<int64_t>(rows.size());
    const double N = static_cast<double>(nb);
    const double vmax = std::sqrt(N);
    std::vector<double> reg_std(p), clip(p);
    for (size_t g = 0; g < p; ++g) {
      reg_std[g] = std::sqrt(std::pow(10.0, est[g]));
      clip[g] = reg_std[g] * vmax + mean[g];
    }
    std::vector<double> csum, csq;
    clipped_sums(v, rows, clip, csum, csq);
    std::vector<double> nv(p);
    for (size_t g = 0; g < p; ++g)
      nv[g] = (1 / ((N - 1) * (reg_std[g] * reg_std[g]))) * ((N * (mean[g] * mean[g])) + csq[g] - 2 * csum[g] * mean[g]);
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

}  // namespace

HvgResult seurat_v3(const SparseMatrix& x, const HighlyVariableGenesOptions& opts, const HvgContext& ctx) {
  return with_rows(x, [&](const auto& v) { return run_v3(v, opts, ctx); });
}

HvgResult seurat_v3(const Array& x, const HighlyVariableGenesOptions& opts, const HvgContext& ctx) {
  return with_rows(x, [&](const auto& v) { return run_v3(v, opts, ctx); });
}

}  // namespace scanpp::pp::detail
