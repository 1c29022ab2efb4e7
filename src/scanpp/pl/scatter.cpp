// sc.pl.scatter: cells placed by two obs keys or genes, coloured like an embedding.
#include <algorithm>
#include <cmath>

#include "scanpp/core/error.hpp"
#include "scanpp/pl/plot_values.hpp"
#include "scanpp/pl/plots.hpp"

namespace scanpp::pl {

void scatter(AnnData& ad, const ScatterOptions& o) {
  if (o.fig.save.empty()) throw ValueError("pl.scatter: give the output file with save=path.png|svg|pdf");
  if (o.x.empty() || o.y.empty()) throw ValueError("pl.scatter needs x and y (obs keys or genes)");
  format_from_path(o.fig.save);
  const bool use_raw = o.use_raw.value_or(default_use_raw(ad, o.layer));
  const PlotValues xv = plot_values(ad, o.x, use_raw, o.layer), yv = plot_values(ad, o.y, use_raw, o.layer);
  if (xv.categorical || yv.categorical) throw ValueError("pl.scatter: x and y must be numeric, not categorical");
  EmbeddingOptions eo = o.style;
  eo.use_raw = use_raw;
  eo.layer = o.layer;
  if (!eo.size) eo.size = 120000.0 / static_cast<double>(std::max<int64_t>(1, ad.n_obs()));
  std::vector<std::string> keys = o.color.empty() ? std::vector<std::string>{""} : o.color;
  const auto fs = o.fig.figsize.value_or(std::array<double, 2>{style::kFigWidth, style::kFigHeight});
  // One figure per panel row, panels side by side (figsize each).
  const double W = fs[0] * 72 * static_cast<double>(keys.size()), H = fs[1] * 72;
  std::vector<ScatterPanel> panels;
  std::vector<Rect> boxes;
  double right = W;
  for (size_t k = 0; k < keys.size(); ++k) {
    ScatterPanel p = make_scatter_panel(ad, xv.values, yv.values, keys[k], eo, k);
    p.hide_ticks = false;
    p.xlabel = o.x;
    p.ylabel = o.y;
    const double x0 = fs[0] * 72 * static_cast<double>(k);
    boxes.push_back({x0 + style::kSubplotLeft * fs[0] * 72, (1 - style::kSubplotTop) * H,
                     (style::kSubplotRight - style::kSubplotLeft) * fs[0] * 72,
                     (style::kSubplotTop - style::kSubplotBottom) * H});
    right = std::max(right, panel_right_extent(p, boxes.back()) + 7.2);
    panels.push_back(std::move(p));
  }
  Figure fig(o.fig.save, right / 72, H / 72, o.fig.dpi);
  for (size_t k = 0; k < panels.size(); ++k) {
    const double x0 = fs[0] * 72 * static_cast<double>(k);
    const Rect cell{x0 + 3, 3, fs[0] * 72 - 6, H - 6};
    draw_scatter_panel(fig, boxes[k], panels[k], &cell);
  }
  fig.save();
}

}  // namespace scanpp::pl
