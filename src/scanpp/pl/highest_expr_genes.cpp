// sc.pl.highest_expr_genes: for the genes with the highest mean share of
// each cell's counts, boxplots of that share (seaborn's horizontal boxplot).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "scanpp/core/error.hpp"
#include "scanpp/pl/palettes.hpp"
#include "scanpp/pl/plot_values.hpp"
#include "scanpp/pl/plots.hpp"

namespace scanpp::pl {

namespace {

// The n_top positions of numpy's argsort(mean)[::-1][:n_top]: a stable
// ascending sort reversed, so the largest means first and, among equal
// means, the higher position first. Without NaNs that is a partial sort by
// (mean, position) descending; NaNs keep the full stable sort.
std::vector<int64_t> top_by_mean(const std::vector<double>& mean, int64_t n_top) {
  const auto m = static_cast<int64_t>(mean.size());
  std::vector<int64_t> idx(static_cast<size_t>(m));
  std::iota(idx.begin(), idx.end(), 0);
  const int64_t k = std::min<int64_t>(n_top, m);
  if (std::none_of(mean.begin(), mean.end(), [](double v) { return std::isnan(v); })) {
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int64_t a, int64_t b) {
      const double ma = mean[static_cast<size_t>(a)], mb = mean[static_cast<size_t>(b)];
      return ma != mb ? ma > mb : a > b;
    });
  } else {
    std::stable_sort(idx.begin(), idx.end(),
                     [&](int64_t a, int64_t b) { return mean[static_cast<size_t>(a)] < mean[static_cast<size_t>(b)]; });
    std::reverse(idx.begin(), idx.end());
  }
  idx.resize(static_cast<size_t>(k));
  return idx;
}

// Each row's sum, in its storage order (the sums of the generic path), four
// rows at a time: four independent chains of additions instead of one.
template <class T>
void row_totals(const T* d, const int64_t* ptr, int64_t n, double* total) {
  int64_t r = 0;
  for (; r + 4 <= n; r += 4) {
    const int64_t* q = ptr + r;
    const int64_t len[4] = {q[1] - q[0], q[2] - q[1], q[3] - q[2], q[4] - q[3]};
    const int64_t common = std::min({len[0], len[1], len[2], len[3]});
    const T *d0 = d + q[0], *d1 = d + q[1], *d2 = d + q[2], *d3 = d + q[3];
    double t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    for (int64_t i = 0; i < common; ++i) {
      t0 += static_cast<double>(d0[i]);
      t1 += static_cast<double>(d1[i]);
      t2 += static_cast<double>(d2[i]);
      t3 += static_cast<double>(d3[i]);
    }
    for (int64_t i = common; i < len[0]; ++i) t0 += static_cast<double>(d0[i]);
    for (int64_t i = common; i < len[1]; ++i) t1 += static_cast<double>(d1[i]);
    for (int64_t i = common; i < len[2]; ++i) t2 += static_cast<double>(d2[i]);
    for (int64_t i = common; i < len[3]; ++i) t3 += static_cast<double>(d3[i]);
    total[r] = t0;
    total[r + 1] = t1;
    total[r + 2] = t2;
    total[r + 3] = t3;
  }
  for (; r < n; ++r) {
    double t = 0;
    for (int64_t p = ptr[r]; p < ptr[r + 1]; ++p) t += static_cast<double>(d[p]);
    total[r] = t;
  }
}

}  // namespace

HighestExpr highest_expr(const AnnData& ad, int n_top) {
  if (!ad.X) throw ValueError("the AnnData has no X");
  if (n_top < 1) throw ValueError("n_top must be at least 1");
  const int64_t n = ad.n_obs(), m = ad.n_vars();
  // normalize_total(target_sum=100): each cell's counts as percentages.
  std::vector<double> total(static_cast<size_t>(n), 0.0), mean(static_cast<size_t>(m), 0.0);
  const Element& X = *ad.X;
  HighestExpr h;
  if (X.is<SparseMatrix>() && X.get<SparseMatrix>().format == SparseFormat::CSR) {
    // Three passes over the stored values, row by row, each value's share
    // computed as v / total * 100 and added in row order (so the means and
    // their ranking are those of the generic path below).
    const SparseMatrix& s = X.get<SparseMatrix>();
    const int64_t* ptr = s.indptr.data();
    const int32_t* col = s.indices.data();
    dispatch_dtype(s.data.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* d = s.data.as<T>().data();
      row_totals(d, ptr, n, total.data());
      std::vector<double> share;
      for (int64_t r = 0; r < n; ++r) {
        const double t = total[static_cast<size_t>(r)];
        if (!(t > 0)) continue;
        const int64_t b = ptr[r], e = ptr[r + 1];
        share.resize(static_cast<size_t>(e - b));
        double* sh = share.data();
#pragma omp simd
        for (int64_t p = b; p < e; ++p) sh[p - b] = static_cast<double>(d[p]) / t * 100;
        for (int64_t p = b; p < e; ++p) mean[static_cast<size_t>(col[p])] += share[static_cast<size_t>(p - b)];
      }
      h.genes = top_by_mean(mean, n_top);
      std::vector<int32_t> slot(static_cast<size_t>(m), -1);
      for (size_t k = 0; k < h.genes.size(); ++k) slot[static_cast<size_t>(h.genes[k])] = static_cast<int32_t>(k);
      h.pct.assign(h.genes.size(), std::vector<double>(static_cast<size_t>(n), 0.0));
      for (int64_t r = 0; r < n; ++r) {
        const double t = total[static_cast<size_t>(r)];
        if (!(t > 0)) continue;
        for (int64_t p = ptr[r]; p < ptr[r + 1]; ++p)
          if (const int32_t k = slot[static_cast<size_t>(col[p])]; k >= 0)
            h.pct[static_cast<size_t>(k)][static_cast<size_t>(r)] += static_cast<double>(d[p]) / t * 100;
      }
    });
    return h;
  }
  // Each stored value as (row, column, value), with the dtype resolved once.
  auto for_each = [&](auto&& f) {
    if (X.is<SparseMatrix>()) {
      const SparseMatrix& s = X.get<SparseMatrix>();
      dispatch_dtype(s.data.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* d = s.data.as<T>().data();
        for (int64_t mj = 0; mj < s.n_major(); ++mj)
          for (int64_t k = s.indptr[static_cast<size_t>(mj)]; k < s.indptr[static_cast<size_t>(mj) + 1]; ++k)
            f(s.indices[static_cast<size_t>(k)], mj, static_cast<double>(d[k]));  // CSC: (row, column)
      });
    } else {
      const Array& a = X.get<Array>();
      dispatch_dtype(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* d = a.as<T>().data();
        for (int64_t r = 0; r < n; ++r)
          for (int64_t c = 0; c < m; ++c) f(r, c, static_cast<double>(d[r * m + c]));
      });
    }
  };
  for_each([&](int64_t r, int64_t, double v) { total[static_cast<size_t>(r)] += v; });
  for_each([&](int64_t r, int64_t c, double v) {
    const double t = total[static_cast<size_t>(r)];
    if (t > 0) mean[static_cast<size_t>(c)] += v / t * 100;
  });
  h.genes = top_by_mean(mean, n_top);
  std::vector<int64_t> slot(static_cast<size_t>(m), -1);
  for (size_t k = 0; k < h.genes.size(); ++k) slot[static_cast<size_t>(h.genes[k])] = static_cast<int64_t>(k);
  h.pct.assign(h.genes.size(), std::vector<double>(static_cast<size_t>(n), 0.0));
  for_each([&](int64_t r, int64_t c, double v) {
    const int64_t s = slot[static_cast<size_t>(c)];
    const double t = total[static_cast<size_t>(r)];
    if (s >= 0 && t > 0) h.pct[static_cast<size_t>(s)][static_cast<size_t>(r)] += v / t * 100;
  });
  return h;
}

namespace {

// numpy's linear percentile of v (no NaNs) by selection instead of a full
// sort: the same two order statistics, the same interpolation. Reorders v.
double percentile_select(std::vector<double>& v, double q) {
  const double pos = q / 100 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos)), hi = std::min(lo + 1, v.size() - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(lo), v.end());
  const double a = v[lo];
  const double b = hi == lo ? a : *std::min_element(v.begin() + static_cast<ptrdiff_t>(hi), v.end());
  return a + (b - a) * (pos - static_cast<double>(lo));
}

// seaborn's boxes: the palette colour with saturation scaled by 0.75 (HLS).
RGBA desaturate(const RGBA& c, double prop) {
  const double mx = std::max({c.r, c.g, c.b}), mn = std::min({c.r, c.g, c.b});
  const double l = (mx + mn) / 2;
  if (mx == mn) return c;
  const double d = mx - mn;
  double s = l <= 0.5 ? d / (mx + mn) : d / (2 - mx - mn);
  double h = mx == c.r ? (c.g - c.b) / d + (c.g < c.b ? 6 : 0) : mx == c.g ? (c.b - c.r) / d + 2 : (c.r - c.g) / d + 4;
  h /= 6;
  s *= prop;
  const double m2 = l <= 0.5 ? l * (1 + s) : l + s - l * s, m1 = 2 * l - m2;
  auto v = [&](double hh) {
    hh = hh - std::floor(hh);
    if (hh < 1.0 / 6) return m1 + (m2 - m1) * hh * 6;
    if (hh < 0.5) return m2;
    if (hh < 2.0 / 3) return m1 + (m2 - m1) * (2.0 / 3 - hh) * 6;
    return m1;
  };
  return {v(h + 1.0 / 3), v(h), v(h - 1.0 / 3), c.a};
}

}  // namespace

void highest_expr_genes(const AnnData& ad, const HighestExprGenesOptions& o) {
  if (o.fig.save.empty()) throw ValueError("pl.highest_expr_genes: give the output file with save=path");
  format_from_path(o.fig.save);
  const HighestExpr h = highest_expr(ad, o.n_top);
  std::vector<std::string> names;
  for (int64_t g : h.genes) {
    if (o.gene_symbols.empty()) {
      names.push_back(ad.var_names()[static_cast<size_t>(g)]);
    } else {
      if (!ad.var.has(o.gene_symbols)) throw KeyError("var has no column '" + o.gene_symbols + "'");
      names.push_back(column_cell_text(ad.var.at(o.gene_symbols), g));
    }
  }
  const size_t k = h.genes.size();
  const auto fs = o.fig.figsize.value_or(std::array<double, 2>{5, static_cast<double>(o.n_top) * 0.2 + 1.5});
  Figure fig(o.fig.save, fs[0], fs[1], o.fig.dpi);
  Axes ax(fig, fig.subplot_box());
  if (o.log) ax.set_xscale(Scale::Log);
  // Box statistics (matplotlib's boxplot: linear percentiles, whiskers at 1.5 IQR).
  struct Stats {
    double q1, med, q3, wlo, whi;
    std::vector<double> fliers;
  };
  std::vector<Stats> st(k);
  std::vector<double> extent;
  for (size_t g = 0; g < k; ++g) {
    std::vector<double> v = h.pct[g];
    Stats& s = st[g];
    s.q1 = percentile_select(v, 25);
    s.med = percentile_select(v, 50);
    s.q3 = percentile_select(v, 75);
    const double iqr = s.q3 - s.q1, lo = s.q1 - 1.5 * iqr, hi = s.q3 + 1.5 * iqr;
    s.wlo = s.q1;
    s.whi = s.q3;
    for (double x : v) {
      if (x >= lo) s.wlo = std::min(s.wlo, x);
      if (x <= hi) s.whi = std::max(s.whi, x);
      if (x < lo || x > hi) s.fliers.push_back(x);
    }
    std::sort(s.fliers.begin(), s.fliers.end());  // drawn in increasing order
    extent.push_back(s.wlo);
    extent.push_back(s.whi);
    extent.insert(extent.end(), s.fliers.begin(), s.fliers.end());
  }
  ax.autoscale_x(extent);
  ax.set_ylim(static_cast<double>(k) - 0.5, -0.5);  // first gene on top, as seaborn's horizontal boxplot
  TickSpec yt;
  for (size_t g = 0; g < k; ++g) yt.pos.push_back(static_cast<double>(g));
  yt.labels = names;
  ax.set_yticks(yt);
  ax.set_xlabel("% of total counts");
  ax.fit_within({4, 4, fig.width() - 8, fig.height() - 8});
  ax.set_grid(true);
  ax.draw_background();
  ax.clip_begin();
  // seaborn 0.12 colours each box from the colour cycle (default_20 here).
  std::vector<RGBA> colors;
  double lum = 1;
  for (size_t g = 0; g < k; ++g) {
    colors.push_back(desaturate(parse_color(default_20()[g % default_20().size()]), 0.75));
    const RGBA& c = colors.back();
    lum = std::min(lum, (std::max({c.r, c.g, c.b}) + std::min({c.r, c.g, c.b})) / 2);
  }
  const RGBA gray{lum * 0.6, lum * 0.6, lum * 0.6, 1};
  const LineStyle edge{gray, 1.5};
  for (size_t g = 0; g < k; ++g) {
    const Stats& s = st[g];
    const double y = static_cast<double>(g), hw = 0.4;
    const double x0 = ax.px(s.q1), x1 = ax.px(s.q3), yt0 = ax.py(y - hw), yt1 = ax.py(y + hw);
    const Rect box{std::min(x0, x1), std::min(yt0, yt1), std::abs(x1 - x0), std::abs(yt1 - yt0)};
    fig.fill_rect(box, colors[g]);
    fig.stroke_rect(box, edge);
    fig.line(ax.px(s.med), box.y, ax.px(s.med), box.bottom(), edge);
    fig.line(ax.px(s.wlo), ax.py(y), x0, ax.py(y), edge);
    fig.line(x1, ax.py(y), ax.px(s.whi), ax.py(y), edge);
    const double cap = hw / 2;
    fig.line(ax.px(s.wlo), ax.py(y - cap), ax.px(s.wlo), ax.py(y + cap), edge);
    fig.line(ax.px(s.whi), ax.py(y - cap), ax.px(s.whi), ax.py(y + cap), edge);
    std::vector<double> fx, fy;
    for (double f : s.fliers) {
      fx.push_back(ax.px(f));
      fy.push_back(ax.py(y));
    }
    fig.discs(fx, fy, std::vector<RGBA>(fx.size(), gray), 0.5, ax.box());  // fliersize=1
  }
  ax.clip_end();
  ax.draw_decorations();
  fig.save();
}

}  // namespace scanpp::pl
