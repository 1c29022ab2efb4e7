#include "scanpp/pl/dotplot.hpp"

#include <algorithm>
#include <cmath>

#include "scanpp/core/error.hpp"

namespace scanpp::pl {

DotplotData dotplot_data(AnnData& adata, const DotplotOptions& opt) {
  DotplotData d;
  d.groups = prepare_groups(adata, opt);
  const TidyData& t = d.groups.tidy;
  GroupMatrix color = opt.mean_only_expressed ? group_mean_expressed(t, opt.expression_cutoff) : group_mean(t);
  if (opt.dot_color_df) {
    for (int64_t i = 0; i < color.n_rows(); ++i)
      for (int64_t j = 0; j < color.n_cols(); ++j)
        color.at(i, j) = opt.dot_color_df->lookup(color.rows[static_cast<size_t>(i)], color.cols[static_cast<size_t>(j)]);
  } else if (opt.standard_scale) {
    if (*opt.standard_scale != "var" && *opt.standard_scale != "group")
      throw ValueError("standard_scale must be 'var' or 'group', got '" + *opt.standard_scale + "'");
    standard_scale(color, *opt.standard_scale);
  }
  GroupMatrix frac = group_fraction(t, opt.expression_cutoff);
  d.color = color.reordered(d.groups.category_order, d.groups.var_order);
  d.fraction = frac.reordered(d.groups.category_order, d.groups.var_order);
  if (opt.dot_max && (*opt.dot_max < 0 || *opt.dot_max > 1)) throw ValueError("`dot_max` value has to be between 0 and 1");
  if (opt.dot_min && (*opt.dot_min < 0 || *opt.dot_min > 1)) throw ValueError("`dot_min` value has to be between 0 and 1");
  double fmax = 0;
  for (double f : d.fraction.v)
    if (std::isfinite(f)) fmax = std::max(fmax, f);
  d.dot_max = opt.dot_max.value_or(std::ceil(fmax * 10) / 10);
  d.dot_min = opt.dot_min.value_or(0.0);
  if (d.dot_max <= d.dot_min && (d.dot_min != 0 || d.dot_max != 1))
    throw ValueError("dot_max must be larger than dot_min");
  d.size = d.fraction;
  for (double& s : d.size.v) {
    double f = std::isfinite(s) ? s : 0;
    if (d.dot_min != 0 || d.dot_max != 1) f = (std::clamp(f, d.dot_min, d.dot_max) - d.dot_min) / (d.dot_max - d.dot_min);
    s = std::pow(f, opt.size_exponent) * (opt.largest_dot - opt.smallest_dot) + opt.smallest_dot;
  }
  std::tie(d.vmin, d.vmax) = color_limits(d.color.v, opt.vmin, opt.vmax);
  return d;
}

std::pair<std::vector<double>, std::vector<double>> dot_size_legend(double dot_min, double dot_max,
                                                                    double smallest_dot, double largest_dot,
                                                                    double size_exponent) {
  const double diff = dot_max - dot_min;
  const double step = (0.3 < diff && diff <= 0.6) ? 0.1 : (diff <= 0.3 ? 0.05 : 0.2);
  // np.arange(dot_max, dot_min, -step)[::-1]: dot_max is always shown.
  const auto n = static_cast<int64_t>(std::ceil((dot_max - dot_min) / step));
  std::vector<double> range;
  for (int64_t i = n - 1; i >= 0; --i) range.push_back(dot_max - static_cast<double>(i) * step);
  std::vector<double> sizes;
  for (double r : range) {
    double v = r;
    if (dot_min != 0 || dot_max != 1) v = (r - dot_min) / (dot_max - dot_min);
    sizes.push_back(std::pow(v, size_exponent) * (largest_dot - smallest_dot) + smallest_dot);
  }
  return {range, sizes};
}

namespace {

void draw_size_legend(Figure& fig, const Rect& box, const DotplotData& d, const DotplotOptions& opt, BBox& bbox) {
  auto [range, sizes] = dot_size_legend(d.dot_min, d.dot_max, opt.smallest_dot, opt.largest_dot, opt.size_exponent);
  if (range.empty()) return;
  const auto n = static_cast<double>(range.size());
  Axes ax(fig, box);
  // matplotlib autoscale of x in [0.5, n - 0.5] (5% margins), then Scanpy's widening.
  double lo = 0.5, hi = n - 0.5;
  if (hi - lo > 0) {
    const double m = 0.05 * (hi - lo);
    lo -= m;
    hi += m;
  } else {
    lo -= 0.05 * 0.5 * 1.1;
    hi += 0.05 * 0.5 * 1.1;
  }
  ax.set_xlim(lo - 0.15, hi + 0.5);
  const double ymin = -1.05 - opt.largest_dot * 0.003, ymax = 4;
  ax.set_ylim(ymin, ymax);
  ax.set_frameon(false);
  ax.set_grid(false);
  TickSpec t;
  for (size_t i = 0; i < range.size(); ++i) {
    t.pos.push_back(static_cast<double>(i) + 0.5);
    t.labels.push_back(std::to_string(static_cast<long long>(std::nearbyint(range[i] * 100))));
  }
  t.fontsize = kSmall;
  ax.set_xticks(t);
  ax.hide_yticks();
  const RGBA grey = parse_color("gray");
  for (size_t i = 0; i < range.size(); ++i) {
    const double r = std::sqrt(std::max(0.0, sizes[i])) / 2;
    fig.circle(ax.px(static_cast<double>(i) + 0.5), ax.py(0), r, grey, LineStyle{kBlack, opt.dot_edge_lw, {}});
  }
  ax.draw_decorations();
  bbox.add(ax.decorations_box());
  // Title at axes fraction 0.5 (ymax of the autoscaled limits + 0.45), 6 pt above.
  TextStyle ts;
  ts.size = kSmall;
  ts.ha = HAlign::Center;
  ts.va = VAlign::Baseline;
  bbox.add(multiline_text(fig, box.cx(), box.bottom() - 0.5 * box.h - style::kTitlePad, opt.size_title, ts));
}

}  // namespace

PlotInfo dotplot(AnnData& adata, const DotplotOptions& opt, const std::string& save) {
  const DotplotData d = dotplot_data(adata, opt);
  const Colormap& cmap = colormap(opt.cmap);
  const auto rows = d.color.rows, cols = d.color.cols;
  const double extra = d.groups.dendro ? 0.8 : 0;
  const double legends_width = 1.5;
  const BasePlotLayout L = baseplot_layout(static_cast<int64_t>(rows.size()), static_cast<int64_t>(cols.size()),
                                           !d.groups.var_groups.empty(), extra, legends_width, opt.figsize);
  const double min_h = opt.figsize ? L.height_in : 2.5;
  PlotInfo info;
  info.figure = save_tight(save, L.width_in, L.height_in, opt.dpi, [&](Figure& fig, double dx, double dy, BBox& bbox) {
    Axes ax(fig, shifted(L.main, dx, dy));
    setup_main_axes(ax, rows, cols, 0.8 - 0.5, 1.0 - 0.5);
    ax.draw_background();
    ax.clip_begin();
    const Normalize norm{d.vmin, d.vmax};
    for (int64_t i = 0; i < d.color.n_rows(); ++i)
      for (int64_t j = 0; j < d.color.n_cols(); ++j) {
        const double s = d.size.at(i, j);
        if (!(s > 0)) continue;
        fig.circle(ax.px(static_cast<double>(j) + 0.5), ax.py(static_cast<double>(i) + 0.5), std::sqrt(s) / 2,
                   cmap(norm(d.color.at(i, j))), LineStyle{kBlack, opt.dot_edge_lw, {}});
      }
    ax.clip_end();
    ax.draw_decorations();
    bbox.add(ax.decorations_box());
    draw_baseplot_frame(fig, L, dx, dy, d.groups, opt, ax, bbox);
    // Legend column: spacer, size legend, spacer, colour bar (fixed heights from the minimum figure height).
    const double cbar_h = min_h * 0.08, size_h = min_h * 0.27, spacer_h = min_h * 0.3;
    const auto cells =
        grid_cells(shifted(L.legend, dx, dy), {L.height_in - size_h - cbar_h - spacer_h, size_h, spacer_h, cbar_h},
                   {1}, 0.2, 0.2);
    draw_size_legend(fig, cells[1], d, opt, bbox);
    draw_horizontal_colorbar(fig, cells[3], cmap, d.vmin, d.vmax, opt.colorbar_title, bbox);
  });
  info.main_px = info.figure.to_pixels(L.main);
  return info;
}

}  // namespace scanpp::pl
