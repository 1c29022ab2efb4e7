#include "scanpp/pl/stacked_violin.hpp"

#include <algorithm>
#include <cmath>

#include "scanpp/core/error.hpp"
#include "scanpp/pl/matrixplot.hpp"

namespace scanpp::pl {

RGBA violin_edge_gray(const std::vector<RGBA>& fills) {
  double lum = 1;
  for (auto& c : fills) {
    const double mx = std::max({c.r, c.g, c.b}), mn = std::min({c.r, c.g, c.b});
    lum = std::min(lum, (mx + mn) / 2);  // HLS lightness
  }
  lum *= 0.6;
  return {lum, lum, lum, 1};
}

void draw_violin(Axes& ax, const ViolinDensity& v, double center, double half_width, const RGBA& fill,
                 const RGBA& edge, double linewidth) {
  if (v.empty()) return;
  Figure& fig = ax.figure();
  if (v.single_value()) {
    fig.line(ax.px(center - half_width * v.density[0]), ax.py(v.support[0]), ax.px(center + half_width * v.density[0]),
             ax.py(v.support[0]), LineStyle{edge, std::max(linewidth, 0.5), {}});
    return;
  }
  std::vector<std::pair<double, double>> pts;
  pts.reserve(v.support.size() * 2);
  for (size_t k = 0; k < v.support.size(); ++k)
    pts.emplace_back(ax.px(center + half_width * v.density[k]), ax.py(v.support[k]));
  for (size_t k = v.support.size(); k-- > 0;)
    pts.emplace_back(ax.px(center - half_width * v.density[k]), ax.py(v.support[k]));
  fig.polygon(pts, fill, linewidth > 0 ? std::optional<LineStyle>(LineStyle{edge, linewidth, {}}) : std::nullopt);
}

StackedViolinData stacked_violin_data(AnnData& adata, const StackedViolinOptions& opt) {
  GroupedOptions g = opt;
  if (opt.order && !opt.categories_order) g.categories_order = opt.order;
  StackedViolinData d;
  d.groups = prepare_groups(adata, g);
  TidyData& t = d.groups.tidy;
  if (opt.standard_scale) standard_scale_cells(t, *opt.standard_scale == "group" ? "obs" : *opt.standard_scale);
  d.median = group_median(t).reordered(d.groups.category_order, d.groups.var_order);
  std::tie(d.vmin, d.vmax) = color_limits(d.median.v, opt.vmin, opt.vmax);
  KdeOptions ko;
  ko.cut = 0;
  for (int64_t cat : d.groups.category_order) {
    std::vector<ViolinDensity> row;
    for (int64_t v : d.groups.var_order) {
      auto col = t.column(v);
      std::vector<double> x;
      for (int64_t i = 0; i < t.n_obs; ++i)
        if (t.grouping.codes[static_cast<size_t>(i)] == cat) x.push_back(col[static_cast<size_t>(i)]);
      row.push_back(violin_density(x, ko));
    }
    density_norm(row, opt.scale);
    d.violins.push_back(std::move(row));
  }
  return d;
}

PlotInfo stacked_violin(AnnData& adata, const StackedViolinOptions& opt, const std::string& save) {
  const StackedViolinData d = stacked_violin_data(adata, opt);
  const Colormap& cmap = colormap(opt.cmap);
  const bool palette = opt.row_palette.has_value();
  const BasePlotLayout L = baseplot_layout(d.median.n_rows(), d.median.n_cols(), !d.groups.var_groups.empty(),
                                           d.groups.dendro ? 0.8 : 0, palette ? 0 : 1.5, opt.figsize,
                                           opt.yticklabels ? 0.3 : 0);
  const double min_h = opt.figsize ? L.height_in : 2.5;
  const double pad = 0.5;
  PlotInfo info;
  info.figure = save_tight(save, L.width_in, L.height_in, opt.dpi, [&](Figure& fig, double dx, double dy, BBox& bbox) {
    Axes ax(fig, shifted(L.main, dx, dy));
    setup_main_axes(ax, d.median.rows, d.median.cols, pad, pad, false);
    {
      // Gene labels turn vertical when any is longer than 2 characters.
      TickSpec xt = ax.xticks();
      for (auto& c : d.median.cols)
        if (c.size() > 2) xt.rotation = 90;
      ax.set_xticks(xt);
    }
    ax.draw_background();
    const Normalize norm{d.vmin, d.vmax};
    const auto nr = static_cast<size_t>(d.median.n_rows()), ncol = static_cast<size_t>(d.median.n_cols());
    std::vector<double> hr{pad}, wr{pad};
    for (size_t i = 0; i < nr; ++i) hr.push_back(1);
    for (size_t j = 0; j < ncol; ++j) wr.push_back(1);
    hr.push_back(pad);
    wr.push_back(pad);
    const auto cells = grid_cells(ax.box(), hr, wr, 0, opt.yticklabels ? 0.2 : 0);
    const size_t W = ncol + 2;
    for (size_t i = 0; i < nr; ++i) {
      const Rect first = cells[(i + 1) * W + 1], last = cells[(i + 1) * W + ncol];
      Axes row(fig, {first.x, first.y, last.right() - first.x, first.h});
      row.set_xlim(-0.5, static_cast<double>(ncol) - 0.5);
      double lo = 1e300, hi = -1e300;
      for (auto& v : d.violins[i])
        for (double s : v.support) lo = std::min(lo, s), hi = std::max(hi, s);
      if (opt.ylim) {
        lo = opt.ylim->first;
        hi = opt.ylim->second;
      } else if (lo > hi) {
        lo = 0, hi = 1;
      } else if (lo == hi) {
        const double e = lo == 0 ? 0.05 : 0.05 * std::fabs(lo);
        lo -= e, hi += e;
      } else {
        const double m = 0.05 * (hi - lo);
        lo -= m, hi += m;
      }
      row.set_ylim(lo, hi);
      std::vector<RGBA> fills;
      for (size_t j = 0; j < ncol; ++j)
        fills.push_back(palette ? parse_color(*opt.row_palette) : cmap(norm(d.median.at(static_cast<int64_t>(i), static_cast<int64_t>(j)))));
      const RGBA edge = violin_edge_gray(fills);
      row.clip_begin();
      for (size_t j = 0; j < ncol; ++j)
        draw_violin(row, d.violins[i][j], static_cast<double>(j), 0.4, fills[j], edge, opt.linewidth);
      row.clip_end();
      if (opt.yticklabels) {
        TickSpec yt;
        yt.pos = {lo, hi};
        yt.fontsize = kXSmall;
        row.set_yticks(yt);
        row.hide_xticks();
        row.set_frameon(false);
        row.set_grid(false);
        row.draw_decorations();
        bbox.add(row.decorations_box());
      }
    }
    ax.draw_decorations();
    bbox.add(ax.decorations_box());
    draw_baseplot_frame(fig, L, dx, dy, d.groups, opt, ax, bbox);
    if (!palette)
      draw_colorbar_legend(fig, shifted(L.legend, dx, dy), L.height_in, min_h, cmap, d.vmin, d.vmax,
                           opt.colorbar_title, bbox);
  });
  info.main_px = info.figure.to_pixels(L.main);
  return info;
}

}  // namespace scanpp::pl
