#include "scanpp/pl/grouped_layout.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>
#include <sstream>


#include "scanpp/core/error.hpp"

namespace scanpp::pl {

std::vector<Rect> grid_cells(const Rect& area, const std::vector<double>& height_ratios,
                             const std::vector<double>& width_ratios, double wspace, double hspace) {
  const auto nr = static_cast<double>(height_ratios.size()), nc = static_cast<double>(width_ratios.size());
  const double hsum = std::accumulate(height_ratios.begin(), height_ratios.end(), 0.0);
  const double wsum = std::accumulate(width_ratios.begin(), width_ratios.end(), 0.0);
  const double cell_h = area.h / (nr + hspace * (nr - 1)), sep_h = hspace * cell_h;
  const double cell_w = area.w / (nc + wspace * (nc - 1)), sep_w = wspace * cell_w;
  const double hnorm = hsum > 0 ? cell_h * nr / hsum : 0, wnorm = wsum > 0 ? cell_w * nc / wsum : 0;
  std::vector<Rect> out;
  double y = area.y;
  for (double hr : height_ratios) {
    double x = area.x;
    const double h = hr * hnorm;
    for (double wr : width_ratios) {
      const double w = wr * wnorm;
      out.push_back({x, y, w, h});
      x += w + sep_w;
    }
    y += h + sep_h;
  }
  return out;
}

Rect subplot_area(double width_in, double height_in) {
  const double W = width_in * 72, H = height_in * 72;
  return {style::kSubplotLeft * W, (1 - style::kSubplotTop) * H, (style::kSubplotRight - style::kSubplotLeft) * W,
          (style::kSubplotTop - style::kSubplotBottom) * H};
}

void BBox::add(const Rect& r) {
  if (!(r.w >= 0 && r.h >= 0) || !std::isfinite(r.x) || !std::isfinite(r.y)) return;
  x0 = std::min(x0, r.x);
  y0 = std::min(y0, r.y);
  x1 = std::max(x1, r.right());
  y1 = std::max(y1, r.bottom());
}

Rect shifted(const Rect& r, double dx, double dy) { return {r.x + dx, r.y + dy, r.w, r.h}; }

SavedFigure save_tight(const std::string& path, double width_in, double height_in, double dpi, const TightDraw& draw,
                double pad_in) {
  if (!(width_in > 0 && height_in > 0)) throw ValueError("figure size must be positive");
  BBox box;
  {
    // An unknown extension fails here, before any drawing.
    static_cast<void>(format_from_path(path));
    Figure m(MeasureOnly{}, width_in, height_in, dpi);
    draw(m, 0, 0, box);
  }
  if (box.empty()) box.add({0, 0, width_in * 72, height_in * 72});
  const double pad = pad_in * 72;
  Figure fig(path, (box.x1 - box.x0 + 2 * pad) / 72, (box.y1 - box.y0 + 2 * pad) / 72, dpi);
  BBox again;
  draw(fig, pad - box.x0, pad - box.y0, again);
  fig.save();
  SavedFigure out;
  out.width_px = fig.pixel_width();
  out.height_px = fig.pixel_height();
  out.dx = pad - box.x0;
  out.dy = pad - box.y0;
  out.px_per_pt = fig.format() == Format::PNG ? dpi / 72 : 1;
  return out;
}

Rect multiline_text(Figure& fig, double x, double y, const std::string& s, TextStyle st) {
  std::vector<std::string> lines;
  std::stringstream ss(s);
  std::string line;
  while (std::getline(ss, line)) lines.push_back(line);
  if (lines.empty()) return {x, y, 0, 0};
  const TextExtents ex = fig.text_extents("Xg", st);
  const double lh = (ex.ascent + ex.descent) * 1.2;  // matplotlib's linespacing 1.2
  const auto n = static_cast<double>(lines.size());
  // Top of the block for each vertical anchor.
  double top = y;
  if (st.va == VAlign::Bottom) top = y - n * lh;
  else if (st.va == VAlign::Center) top = y - n * lh / 2;
  else if (st.va == VAlign::Baseline) top = y - (n - 1) * lh - ex.ascent;
  BBox b;
  TextStyle one = st;
  one.va = VAlign::Top;
  for (size_t i = 0; i < lines.size(); ++i) {
    const double ly = top + static_cast<double>(i) * lh;
    fig.text(x, ly, lines[i], one);
    b.add(fig.text_box(x, ly, lines[i], one));
  }
  return {b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0};
}

void draw_horizontal_colorbar(Figure& fig, const Rect& box, const Colormap& cmap, double vmin, double vmax,
                              const std::string& title, BBox& bbox) {
  // The gradient as thin abutting slices (cairo rasterises identically in all back ends).
  const int n = Colormap::N;
  for (int i = 0; i < n; ++i) {
    const double x0 = box.x + box.w * i / n, x1 = box.x + box.w * (i + 1) / n;
    fig.fill_rect({x0, box.y, x1 - x0 + (i + 1 < n ? 0.3 : 0), box.h}, cmap.lut()[static_cast<size_t>(i)]);
  }
  Axes ax(fig, box);
  double lo = vmin, hi = vmax;
  if (hi == lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  ax.set_xlim(lo, hi);
  ax.set_ylim(0, 1);
  TickSpec t;
  t.pos = nice_ticks(lo, hi, auto_bins(box.w, kSmall, true));
  t.fontsize = kSmall;
  ax.set_xticks(t);
  ax.hide_yticks();
  ax.set_grid(false);
  ax.draw_decorations();
  bbox.add(ax.decorations_box());
  bbox.add(box);
  TextStyle ts;
  ts.size = kSmall;
  ts.ha = HAlign::Center;
  ts.va = VAlign::Bottom;
  if (!title.empty()) bbox.add(multiline_text(fig, box.cx(), box.y - style::kTitlePad, title, ts));
}

void draw_var_group_brackets(Figure& fig, const Rect& box, const VarGroups& groups,
                             const std::function<double(double)>& x_of, double left_adj, double right_adj,
                             std::optional<double> rotation, BBox& bbox) {
  if (groups.empty()) return;
  double rot = 0;
  if (rotation) rot = *rotation;
  else
    for (auto& l : groups.labels)
      if (l.size() > 4) rot = 90;
  const LineStyle st{kBlack, 1.5, {}};
  // Bracket legs from the axis bottom (y = 0) up to 0.6 of the box height.
  const double y0 = box.bottom(), y1 = box.bottom() - 0.6 * box.h, ytext = box.bottom() - 1.1 * box.h;
  for (size_t i = 0; i < groups.labels.size(); ++i) {
    const double l = x_of(static_cast<double>(groups.positions[i].first) + left_adj);
    const double r = x_of(static_cast<double>(groups.positions[i].second) + right_adj);
    const std::pair<double, double> pts[] = {{l, y0}, {l, y1}, {r, y1}, {r, y0}};
    fig.polyline(pts, st);
    bbox.add({l, y1, r - l, y0 - y1});
    TextStyle ts;
    ts.ha = HAlign::Center;
    ts.va = VAlign::Bottom;
    ts.rotation = rot;  // the rotated box is aligned (matplotlib's rotation_mode 'default')
    const double cx = (l + r) / 2;
    fig.text(cx, ytext, groups.labels[i], ts);
    bbox.add(fig.text_box(cx, ytext, groups.labels[i], ts));
  }
}

std::pair<double, double> color_limits(const std::vector<double>& v, std::optional<double> vmin,
                                       std::optional<double> vmax) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double x : v)
    if (std::isfinite(x)) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  return {vmin.value_or(lo), vmax.value_or(hi)};
}

std::string path_with_suffix(const std::string& path, const std::string& suffix) {
  std::filesystem::path p(path);
  std::string stem = p.stem().string() + "_" + suffix;
  for (char& c : stem)
    if (c == '/' || c == ' ') c = '_';
  return (p.parent_path() / (stem + p.extension().string())).string();
}

}  // namespace scanpp::pl

namespace scanpp::pl {

void draw_cell_image(Figure& fig, const Rect& box, int cols, int rows, const std::vector<RGBA>& cells) {
  if (cols <= 0 || rows <= 0) return;
  if (cells.size() != static_cast<size_t>(cols) * static_cast<size_t>(rows))
    throw ValueError("draw_cell_image: cell count does not match the size");
  cairo_surface_t* img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, cols, rows);
  cairo_surface_flush(img);
  unsigned char* data = cairo_image_surface_get_data(img);
  const int stride = cairo_image_surface_get_stride(img);
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) {
      const RGBA& c = cells[static_cast<size_t>(y) * static_cast<size_t>(cols) + static_cast<size_t>(x)];
      const double a = c.a;
      const uint32_t v = (static_cast<uint32_t>(to_byte(a)) << 24) | (static_cast<uint32_t>(to_byte(c.r * a)) << 16) |
                         (static_cast<uint32_t>(to_byte(c.g * a)) << 8) | static_cast<uint32_t>(to_byte(c.b * a));
      *reinterpret_cast<uint32_t*>(data + y * stride + 4 * x) = v;
    }
  cairo_surface_mark_dirty(img);
  cairo_t* cr = fig.cr();
  cairo_save(cr);
  cairo_rectangle(cr, box.x, box.y, box.w, box.h);
  cairo_clip(cr);
  cairo_translate(cr, box.x, box.y);
  cairo_scale(cr, box.w / cols, box.h / rows);
  cairo_set_source_surface(cr, img, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
  cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
  cairo_paint(cr);
  cairo_restore(cr);
  cairo_surface_destroy(img);
}

}  // namespace scanpp::pl
