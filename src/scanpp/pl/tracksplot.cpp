#include "scanpp/pl/tracksplot.hpp"

#include <algorithm>
#include <cmath>

#include "scanpp/core/error.hpp"
#include "scanpp/pl/heatmap.hpp"
#include "scanpp/pl/palettes.hpp"

namespace scanpp::pl {

PlotInfo tracksplot(AnnData& adata, const TracksplotOptions& opt, const std::string& save) {
  if (opt.groupby.size() != 1 || !adata.obs.has(opt.groupby[0]) ||
      !std::holds_alternative<Categorical>(adata.obs.at(opt.groupby[0])))
    throw ValueError("groupby has to be a valid categorical observation (one obs column)");
  HeatmapOptions h;
  static_cast<GroupedOptions&>(h) = opt;
  HeatmapData d = heatmap_data(adata, h);
  const auto all = categorical_colors(adata, opt.groupby[0]);
  std::vector<RGBA> colors;
  for (int64_t c : d.groups.category_order) colors.push_back(all[static_cast<size_t>(c)]);
  const size_t nv = d.var_names.size(), nc = d.cell_order.size();
  const bool dendro = d.groups.dendro.has_value();
  const double dendro_h = dendro ? 1 : 0, groupby_h = 0.24;
  double width = 12, track_h = 0.25;
  if (opt.figsize) {
    width = opt.figsize->first;
    track_h = (opt.figsize->second - (dendro_h + groupby_h)) / static_cast<double>(nv);
  }
  std::vector<double> hr{dendro_h};
  for (size_t j = 0; j < nv; ++j) hr.push_back(track_h);
  hr.push_back(groupby_h);
  double height = 0;
  for (double x : hr) height += x;
  const auto cells = grid_cells(subplot_area(width, height), hr, {width, 0.14}, 1.0 / width, 0);
  PlotInfo info;
  info.figure = save_tight(save, width, height, opt.dpi, [&](Figure& fig, double dx, double dy, BBox& bbox) {
    Rect first;
    for (size_t j = 0; j < nv; ++j) {
      const Rect box = shifted(cells[(j + 1) * 2], dx, dy);
      if (j == 0) first = box;
      Axes ax(fig, box);
      double ymax = 0;
      for (size_t r = 0; r < nc; ++r) ymax = std::max(ymax, d.values[r * nv + j]);
      const double top = ymax > 0 ? ymax * 1.05 : 1;
      ax.set_xlim(0, static_cast<double>(nc));
      ax.set_ylim(0, top);
      ax.clip_begin();
      size_t start = 0;
      for (size_t k = 0; k < d.group_sizes.size(); ++k) {
        const auto end = start + static_cast<size_t>(d.group_sizes[k]);
        std::vector<std::pair<double, double>> pts;
        pts.emplace_back(ax.px(static_cast<double>(start)), ax.py(0));
        for (size_t r = start; r < end; ++r) pts.emplace_back(ax.px(static_cast<double>(r)), ax.py(d.values[r * nv + j]));
        pts.emplace_back(ax.px(static_cast<double>(end > start ? end - 1 : start)), ax.py(0));
        if (end > start) fig.polygon(pts, colors[k], LineStyle{colors[k], 0.1, {}});
        start = end;
      }
      ax.clip_end();
      // One tick at int(ymax) on a right spine set slightly outside, the gene name on the left.
      ax.set_frameon(false);
      ax.set_grid(false);
      ax.hide_xticks();
      ax.hide_yticks();
      ax.draw_decorations();
      const double sx = box.right() + 0.01 * box.w;
      fig.line(sx, box.y, sx, box.bottom(), LineStyle{kBlack, style::kAxesLineWidth, {}});
      const auto tick = static_cast<long long>(top);
      const double ty = ax.py(static_cast<double>(tick));
      fig.line(sx - 2, ty, sx, ty, LineStyle{kBlack, style::kAxesLineWidth, {}});
      TextStyle ts;
      ts.size = kXSmall;
      ts.ha = HAlign::Left;
      ts.va = VAlign::Top;
      fig.text(sx + 2, ty, std::to_string(tick), ts);
      bbox.add(fig.text_box(sx + 2, ty, std::to_string(tick), ts));
      TextStyle ls;
      ls.size = kSmall;
      ls.ha = HAlign::Right;
      ls.va = VAlign::Bottom;
      const double lx = box.x - 0.005 * box.w, ly = box.bottom() - 0.1 * box.h;
      fig.text(lx, ly, d.var_names[j], ls);
      bbox.add(fig.text_box(lx, ly, d.var_names[j], ls));
      bbox.add(box);
    }
    // Dashed group boundaries over all tracks.
    const Rect last = shifted(cells[nv * 2], dx, dy);
    Axes over(fig, {first.x, first.y, first.w, last.bottom() - first.y});
    over.set_xlim(0, static_cast<double>(nc));
    double s = 0;
    for (size_t k = 0; k + 1 < d.group_sizes.size(); ++k) {
      s += static_cast<double>(d.group_sizes[k]);
      fig.line(over.px(s), first.y, over.px(s), last.bottom(), LineStyle{parse_color("C0"), 0.5, {3.7 * 0.5, 1.6 * 0.5}});
    }
    const Rect gcell = shifted(cells[(nv + 1) * 2], dx, dy);
    draw_group_colorblocks(fig, {gcell.x, gcell.y + gcell.h / 2, gcell.w, gcell.h / 2}, d.categories, d.group_sizes,
                           colors, opt.groupby[0], "bottom", bbox);
    if (dendro) {
      Axes dax(fig, shifted(cells[0], dx, dy));
      dax.set_xlim(0, static_cast<double>(nc));
      std::vector<double> ticks;
      double t = 0;
      for (int64_t c : d.group_sizes) {
        ticks.push_back(t + static_cast<double>(c) / 2);
        t += static_cast<double>(c);
      }
      dax.clip_begin();
      draw_dendrogram_links(dax, *d.groups.dendro, ticks, "top");
      dax.clip_end();
      bbox.add(dax.box());
    }
  });
  info.main_px = info.figure.to_pixels(cells[2]);
  return info;
}

}  // namespace scanpp::pl
