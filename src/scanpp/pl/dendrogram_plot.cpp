#include "scanpp/pl/dendrogram_plot.hpp"

#include "scanpp/core/error.hpp"
#include "scanpp/pl/grouped_dendrogram.hpp"

namespace scanpp::pl {

PlotInfo dendrogram_plot(AnnData& adata, const DendrogramPlotOptions& opt, const std::string& save) {
  const auto& o = opt.orientation;
  if (o != "top" && o != "bottom" && o != "left" && o != "right")
    throw ValueError("orientation must be 'top', 'bottom', 'left' or 'right', got '" + o + "'");
  const DendrogramData d = dendrogram_data(adata, {opt.groupby}, opt.dendrogram_key);
  const double W = style::kFigWidth, H = style::kFigHeight;
  const Rect area = subplot_area(W, H);
  PlotInfo info;
  info.figure = save_tight(save, W, H, opt.dpi, [&](Figure& fig, double dx, double dy, BBox& bbox) {
    Axes ax(fig, shifted(area, dx, dy));
    std::vector<double> ticks;
    for (size_t k = 0; k < d.ivl.size(); ++k) ticks.push_back(5 + 10 * static_cast<double>(k));
    const double n = static_cast<double>(d.ivl.size()) * 10;
    const bool vertical = o == "top" || o == "bottom";
    if (vertical) ax.set_xlim(0, n);
    else ax.set_ylim(0, n);
    ax.clip_begin();
    draw_dendrogram_links(ax, d, ticks, o);
    ax.clip_end();
    TickSpec t;
    t.pos = ticks;
    t.labels = d.ivl;
    t.fontsize = kSmall;
    if (opt.remove_labels) t.labels.assign(d.ivl.size(), "");
    if (vertical) {
      t.rotation = 90;
      ax.set_xticks(t);
      ax.hide_yticks();
    } else {
      ax.set_yticks(t);
      ax.hide_xticks();
    }
    ax.set_frameon(false);
    ax.set_grid(false);
    ax.draw_decorations();
    bbox.add(ax.decorations_box());
    bbox.add(ax.box());
  });
  info.main_px = info.figure.to_pixels(area);
  return info;
}

}  // namespace scanpp::pl
