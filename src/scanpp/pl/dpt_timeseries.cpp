// sc.pl.dpt_timeseries: genes x cells heatmap of X with cells in pseudotime
// order (Haghverdi et al. 2016, Fig. 1d).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "scanpp/core/error.hpp"
#include "scanpp/pl/plot_values.hpp"
#include "scanpp/pl/plots.hpp"

namespace scanpp::pl {

void dpt_timeseries(const AnnData& ad, const DptTimeseriesOptions& o) {
  if (o.fig.save.empty()) throw ValueError("pl.dpt_timeseries: give the output file with save=path");
  format_from_path(o.fig.save);
  if (!ad.X) throw ValueError("the AnnData has no X");
  const int64_t n = ad.n_obs(), m = ad.n_vars();
  std::vector<int64_t> order(static_cast<size_t>(n));
  if (ad.obs.has("dpt_order_indices")) {
    const auto v = ad.obs.numeric("dpt_order_indices");
    for (size_t i = 0; i < v.size(); ++i) order[i] = static_cast<int64_t>(v[i]);
  } else if (ad.obs.has("dpt_pseudotime")) {
    const auto t = ad.obs.numeric("dpt_pseudotime");
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      const double ta = t[static_cast<size_t>(a)], tb = t[static_cast<size_t>(b)];
      if (std::isnan(ta)) return false;
      if (std::isnan(tb)) return true;
      return ta < tb;
    });
  } else {
    throw KeyError("obs['dpt_pseudotime'] is missing: run tl.dpt first");
  }
  // Column-wise values, then an image of m rows (genes) x n columns (cells).
  const Colormap& cm = colormap(o.cmap);
  double lo = INFINITY, hi = -INFINITY;
  std::vector<std::vector<double>> cols(static_cast<size_t>(m));
  for (int64_t g = 0; g < m; ++g) {
    cols[static_cast<size_t>(g)] = matrix_column(*ad.X, g);
    for (double v : cols[static_cast<size_t>(g)])
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
  }
  const auto fs = o.fig.figsize.value_or(std::array<double, 2>{1.5 * style::kFigWidth, style::kFigHeight});
  Figure fig(o.fig.save, fs[0], fs[1], o.fig.dpi);
  Axes ax(fig, fig.subplot_box());
  ax.set_xlim(-0.5, static_cast<double>(n) - 0.5);
  ax.set_ylim(static_cast<double>(m) - 0.5, -0.5);
  if (m <= 50) {
    TickSpec yt;
    for (int64_t g = 0; g < m; ++g) yt.pos.push_back(static_cast<double>(g));
    yt.labels = ad.var_names();
    ax.set_yticks(yt);
  } else {
    ax.hide_yticks();
  }
  ax.set_xlabel("dpt order");
  ax.fit_within({4, 4, fig.width() - 8, fig.height() - 8});
  cairo_surface_t* img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, static_cast<int>(n), static_cast<int>(m));
  cairo_surface_flush(img);
  unsigned char* data = cairo_image_surface_get_data(img);
  const int stride = cairo_image_surface_get_stride(img);
  const Normalize norm{lo, hi};
  for (int64_t g = 0; g < m; ++g)
    for (int64_t c = 0; c < n; ++c) {
      const RGBA col = cm(norm(cols[static_cast<size_t>(g)][static_cast<size_t>(order[static_cast<size_t>(c)])]));
      reinterpret_cast<uint32_t*>(data + g * stride)[c] =
          uint32_t{to_byte(col.r)} << 16 | uint32_t{to_byte(col.g)} << 8 | uint32_t{to_byte(col.b)};
    }
  cairo_surface_mark_dirty(img);
  cairo_t* cr = fig.cr();
  const Rect b = ax.box();
  cairo_save(cr);
  cairo_rectangle(cr, b.x, b.y, b.w, b.h);
  cairo_clip(cr);
  cairo_translate(cr, b.x, b.y);
  cairo_scale(cr, b.w / static_cast<double>(n), b.h / static_cast<double>(m));
  cairo_set_source_surface(cr, img, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
  cairo_paint(cr);
  cairo_restore(cr);
  cairo_surface_destroy(img);
  ax.draw_decorations();
  fig.save();
}

}  // namespace scanpp::pl
