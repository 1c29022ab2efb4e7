// The colour bar Scanpy adds to continuous scatter plots:
// pl.colorbar(ax=ax, pad=0.01, fraction=0.08, aspect=30).
#include <algorithm>
#include <cmath>

#include "scanpp/pl/figure.hpp"

namespace scanpp::pl {

namespace {
constexpr double kFraction = 0.08, kPad = 0.01, kAspect = 30;
}

Rect shrink_for_colorbar(const Rect& ax) { return {ax.x, ax.y, ax.w * (1 - kFraction - kPad), ax.h}; }

Rect colorbar_box(const Rect& ax) {
  // ax is the box before shrinking; the bar is anchored at the left of its share.
  return {ax.x + ax.w * (1 - kFraction), ax.y, ax.h / kAspect, ax.h};
}

void draw_colorbar(Figure& fig, const Rect& box, const Colormap& cmap, double vmin, double vmax,
                   const std::string& label, double fontsize) {
  // The table as a 1 x N image stretched over the bar with nearest-neighbour
  // sampling: exact LUT colours, no seams, one image element in SVG/PDF.
  const int n = Colormap::N;
  cairo_surface_t* img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, n);
  cairo_surface_flush(img);
  unsigned char* data = cairo_image_surface_get_data(img);
  const int stride = cairo_image_surface_get_stride(img);
  for (int i = 0; i < n; ++i) {
    const RGBA& c = cmap.lut()[static_cast<size_t>(n - 1 - i)];  // row 0 is the top: vmax
    *reinterpret_cast<uint32_t*>(data + static_cast<ptrdiff_t>(i) * stride) =
        uint32_t{to_byte(c.r)} << 16 | uint32_t{to_byte(c.g)} << 8 | uint32_t{to_byte(c.b)};
  }
  cairo_surface_mark_dirty(img);
  cairo_t* cr = fig.cr();
  cairo_save(cr);
  cairo_rectangle(cr, box.x, box.y, box.w, box.h);
  cairo_clip(cr);
  cairo_translate(cr, box.x, box.y);
  cairo_scale(cr, box.w, box.h / n);
  cairo_set_source_surface(cr, img, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
  cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
  cairo_paint(cr);
  cairo_restore(cr);
  cairo_surface_destroy(img);
  fig.stroke_rect(box, {kBlack, style::kAxesLineWidth});
  if (!(vmax > vmin)) vmax = vmin + 1;
  const auto ticks = nice_ticks(vmin, vmax, auto_bins(box.h, fontsize, false));
  const auto labels = tick_labels(ticks);
  double right = box.right();
  for (size_t i = 0; i < ticks.size(); ++i) {
    const double y = box.bottom() - (ticks[i] - vmin) / (vmax - vmin) * box.h;
    fig.line(box.right(), y, box.right() + style::kTickLength, y, {kBlack, style::kTickWidth});
    const TextStyle st{.size = fontsize, .ha = HAlign::Left, .va = VAlign::Center};
    const double x = box.right() + style::kTickLength + style::kTickPad;
    fig.text(x, y, labels[i], st);
    right = std::max(right, fig.text_box(x, y, labels[i], st).right());
  }
  if (!label.empty())
    fig.text(right + style::kLabelPad, box.cy(), label,
             {.size = fontsize, .ha = HAlign::Left, .va = VAlign::Center, .rotation = 90});
}

Rect colorbar_extent(const Rect& box, double vmin, double vmax, const std::string& label, double fontsize) {
  if (!(vmax > vmin)) vmax = vmin + 1;
  const auto ticks = nice_ticks(vmin, vmax, auto_bins(box.h, fontsize, false));
  const auto labels = tick_labels(ticks);
  double top = box.y, bottom = box.bottom(), right = box.right() + style::kTickLength;
  for (size_t i = 0; i < ticks.size(); ++i) {
    const double y = box.bottom() - (ticks[i] - vmin) / (vmax - vmin) * box.h;
    const Rect q = measure_text_box(box.right() + style::kTickLength + style::kTickPad, y, labels[i],
                                    {.size = fontsize, .ha = HAlign::Left, .va = VAlign::Center});
    right = std::max(right, q.right());
    top = std::min(top, q.y);
    bottom = std::max(bottom, q.bottom());
  }
  if (!label.empty())
    right += style::kLabelPad + measure_text(label, {.size = fontsize}).height;
  return {box.x, top, right - box.x, bottom - top};
}

}  // namespace scanpp::pl
