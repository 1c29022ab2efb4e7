// The Figure: a cairo surface chosen by the file extension, drawing
// primitives and text in point space, and the fast disc splatter that makes
// million-point scatter plots cheap on raster output.
#include "scanpp/pl/figure.hpp"

#include <cairo-pdf.h>
#include <cairo-svg.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <new>
#include <stdexcept>

#include "scanpp/core/error.hpp"
#include "scanpp/io/atomic_file.hpp"
#include "scanpp/pl/png_writer.hpp"

namespace scanpp::pl {

Format format_from_path(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".png") return Format::PNG;
  if (ext == ".svg") return Format::SVG;
  if (ext == ".pdf") return Format::PDF;
  throw ValueError("cannot tell the figure format of '" + path + "': use a .png, .svg or .pdf file name");
}

namespace {

// PNG figures draw into memory taken from here and given back when they
// are destroyed: a tutorial draws a dozen figures in a row, and fresh
// memory for each costs a page fault per 4 KiB (and the kernel's zeroing).
constexpr size_t kKeepPixelBytes = size_t{64} << 20;
thread_local std::vector<std::vector<unsigned char>> free_pixels;

// `n` zero bytes (transparent pixels, as cairo_image_surface_create gives).
std::vector<unsigned char> take_pixels(size_t n) {
  std::vector<unsigned char> b;
  for (auto it = free_pixels.begin(); it != free_pixels.end(); ++it)
    if (it->size() >= n) {
      b = std::move(*it);
      free_pixels.erase(it);
      std::memset(b.data(), 0, n);
      b.resize(n);
      return b;
    }
  b.resize(n);
  return b;
}

void give_pixels(std::vector<unsigned char>&& b) {
  if (b.empty() || b.size() > kKeepPixelBytes) return;
  b.resize(b.capacity());
  if (free_pixels.size() >= 2) free_pixels.erase(free_pixels.begin());
  free_pixels.push_back(std::move(b));
}

void check_size(double width_in, double height_in, double dpi) {
  if (!(width_in > 0) || !(height_in > 0) || width_in > 1000 || height_in > 1000)
    throw ValueError("figure size must be positive (and at most 1000 inches), got " + std::to_string(width_in) + " x " +
                     std::to_string(height_in));
  if (!(dpi > 0) || dpi > 2400) throw ValueError("dpi must be in (0, 2400], got " + std::to_string(dpi));
}

}  // namespace

Figure::Figure(std::string path, double width_in, double height_in, double dpi)
    : path_(std::move(path)), format_(format_from_path(path_)), w_pt_(width_in * 72), h_pt_(height_in * 72), dpi_(dpi) {
  check_size(width_in, height_in, dpi);
  file_ = std::make_unique<io::AtomicFile>(path_);
  switch (format_) {
    case Format::PNG: {
      // cairo's own limit, checked before the pixels are allocated (and zeroed).
      constexpr int kMaxSide = 32767;
      if (pixel_width() > kMaxSide || pixel_height() > kMaxSide)
        throw InputError(path_, "", "cannot create the figure: " + std::to_string(pixel_width()) + " x " +
                                        std::to_string(pixel_height()) + " pixels is over cairo's limit of " +
                                        std::to_string(kMaxSide) + " a side (lower the size or the dpi)");
      const int stride = cairo_format_stride_for_width(CAIRO_FORMAT_ARGB32, pixel_width());
      if (stride <= 0) throw InputError(path_, "", "cannot create the figure: it is too wide");
      try {
        pixels_ = take_pixels(static_cast<size_t>(stride) * static_cast<size_t>(pixel_height()));
      } catch (const std::bad_alloc&) {
        throw InputError(path_, "", "cannot create the figure: out of memory");
      } catch (const std::length_error&) {
        throw InputError(path_, "", "cannot create the figure: out of memory");
      }
      surface_ = cairo_image_surface_create_for_data(pixels_.data(), CAIRO_FORMAT_ARGB32, pixel_width(),
                                                     pixel_height(), stride);
      break;
    }
    case Format::SVG:
      surface_ = cairo_svg_surface_create(file_->temp_path().c_str(), w_pt_, h_pt_);
      break;
    case Format::PDF:
      surface_ = cairo_pdf_surface_create(file_->temp_path().c_str(), w_pt_, h_pt_);
      break;
  }
  init_surface();
}

Figure::Figure(MeasureOnly, double width_in, double height_in, double dpi)
    : format_(Format::PNG), w_pt_(width_in * 72), h_pt_(height_in * 72), dpi_(dpi), measure_only_(true) {
  check_size(width_in, height_in, dpi);
  surface_ = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 0, 0);
  init_surface();
}

void Figure::init_surface() {
  if (cairo_surface_status(surface_) != CAIRO_STATUS_SUCCESS) {
    const std::string why = cairo_status_to_string(cairo_surface_status(surface_));
    cairo_surface_destroy(surface_);
    surface_ = nullptr;
    throw InputError(path_, "", "cannot create the figure: " + why);
  }
  cr_ = cairo_create(surface_);
  if (format_ == Format::PNG) cairo_scale(cr_, dpi_ / 72.0, dpi_ / 72.0);
  // Unhinted metrics keep text layout identical across formats and dpi.
  cairo_font_options_t* fo = cairo_font_options_create();
  cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
  cairo_set_font_options(cr_, fo);
  cairo_font_options_destroy(fo);
  fill_rect({0, 0, w_pt_, h_pt_}, kWhite);  // savefig facecolor white
}

Figure::~Figure() {
  if (cr_) cairo_destroy(cr_);
  if (surface_) {
    cairo_surface_finish(surface_);
    cairo_surface_destroy(surface_);
  }
  give_pixels(std::move(pixels_));  // the surface, which used it, is gone
}

int Figure::pixel_width() const {
  return format_ == Format::PNG ? std::max(1, static_cast<int>(std::lround(w_pt_ / 72 * dpi_)))
                                : static_cast<int>(std::lround(w_pt_));
}
int Figure::pixel_height() const {
  return format_ == Format::PNG ? std::max(1, static_cast<int>(std::lround(h_pt_ / 72 * dpi_)))
                                : static_cast<int>(std::lround(h_pt_));
}

Rect Figure::subplot_box() const {
  return {style::kSubplotLeft * w_pt_, (1 - style::kSubplotTop) * h_pt_,
          (style::kSubplotRight - style::kSubplotLeft) * w_pt_, (style::kSubplotTop - style::kSubplotBottom) * h_pt_};
}

namespace {

void set_source(cairo_t* cr, const RGBA& c) { cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a); }

void apply_line(cairo_t* cr, const LineStyle& s) {
  set_source(cr, s.color);
  cairo_set_line_width(cr, s.width);
  cairo_set_dash(cr, s.dash.empty() ? nullptr : s.dash.data(), static_cast<int>(s.dash.size()), 0);
}

void select_font(cairo_t* cr, const TextStyle& st) {
  cairo_select_font_face(cr, style::kFontFamily, st.italic ? CAIRO_FONT_SLANT_ITALIC : CAIRO_FONT_SLANT_NORMAL,
                         st.bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, st.size);
}

}  // namespace

void Figure::fill_rect(const Rect& r, const RGBA& c) {
  cairo_save(cr_);
  set_source(cr_, c);
  cairo_rectangle(cr_, r.x, r.y, r.w, r.h);
  cairo_fill(cr_);
  cairo_restore(cr_);
}

void Figure::stroke_rect(const Rect& r, const LineStyle& s) {
  cairo_save(cr_);
  apply_line(cr_, s);
  cairo_rectangle(cr_, r.x, r.y, r.w, r.h);
  cairo_stroke(cr_);
  cairo_restore(cr_);
}

void Figure::line(double x0, double y0, double x1, double y1, const LineStyle& s) {
  cairo_save(cr_);
  apply_line(cr_, s);
  cairo_move_to(cr_, x0, y0);
  cairo_line_to(cr_, x1, y1);
  cairo_stroke(cr_);
  cairo_restore(cr_);
}

void Figure::polyline(std::span<const std::pair<double, double>> pts, const LineStyle& s) {
  if (pts.size() < 2) return;
  cairo_save(cr_);
  apply_line(cr_, s);
  cairo_set_line_join(cr_, CAIRO_LINE_JOIN_ROUND);
  bool pen = false;
  for (const auto& [x, y] : pts) {
    if (!std::isfinite(x) || !std::isfinite(y)) {  // NaN breaks the line, as matplotlib
      pen = false;
      continue;
    }
    pen ? cairo_line_to(cr_, x, y) : cairo_move_to(cr_, x, y);
    pen = true;
  }
  cairo_stroke(cr_);
  cairo_restore(cr_);
}

void Figure::polygon(std::span<const std::pair<double, double>> pts, const RGBA& fill,
                     const std::optional<LineStyle>& edge) {
  if (pts.size() < 3) return;
  cairo_save(cr_);
  cairo_move_to(cr_, pts[0].first, pts[0].second);
  for (size_t i = 1; i < pts.size(); ++i) cairo_line_to(cr_, pts[i].first, pts[i].second);
  cairo_close_path(cr_);
  set_source(cr_, fill);
  if (edge) {
    cairo_fill_preserve(cr_);
    apply_line(cr_, *edge);
    cairo_stroke(cr_);
  } else {
    cairo_fill(cr_);
  }
  cairo_restore(cr_);
}

void Figure::circle(double cx, double cy, double r, const RGBA& fill, const std::optional<LineStyle>& edge) {
  cairo_save(cr_);
  cairo_new_path(cr_);
  cairo_arc(cr_, cx, cy, r, 0, 2 * M_PI);
  set_source(cr_, fill);
  if (edge) {
    cairo_fill_preserve(cr_);
    apply_line(cr_, *edge);
    cairo_stroke(cr_);
  } else {
    cairo_fill(cr_);
  }
  cairo_restore(cr_);
}

namespace {

// A context for measuring: point space, unhinted metrics, as every Figure.
cairo_t* measuring_context() {
  thread_local struct Holder {
    cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
    cairo_t* cr = [this] {
      cairo_t* c = cairo_create(s);
      cairo_font_options_t* fo = cairo_font_options_create();
      cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
      cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
      cairo_set_font_options(c, fo);
      cairo_font_options_destroy(fo);
      return c;
    }();
    ~Holder() {
      cairo_destroy(cr);
      cairo_surface_destroy(s);
    }
  } h;
  return h.cr;
}

}  // namespace

TextExtents measure_text(const std::string& s, const TextStyle& st) {
  cairo_t* cr = measuring_context();
  cairo_save(cr);
  select_font(cr, st);
  cairo_text_extents_t te, lp;
  cairo_text_extents(cr, s.c_str(), &te);
  // matplotlib sizes a line by the ink of "lp" so all lines share one height.
  cairo_text_extents(cr, "lp", &lp);
  cairo_restore(cr);
  TextExtents e;
  e.width = te.x_advance;
  e.ascent = -lp.y_bearing;
  e.descent = lp.height + lp.y_bearing;
  e.height = e.ascent + e.descent;
  return e;
}

namespace {

// Offset of the text origin from the anchor, in the rotated frame, such that
// the rotated layout box is aligned per ha/va (matplotlib rotation_mode 'default').
struct Placement {
  double ox, oy;  // origin of the unrotated text relative to the anchor, after rotation (points)
  Rect box;       // rotated box relative to the anchor
};

Placement place(const TextExtents& e, const TextStyle& st) {
  const double a = -st.rotation * M_PI / 180;  // cairo's y points down
  const double c = std::cos(a), s = std::sin(a);
  // Unrotated layout box with the origin at the baseline start.
  const double xs[4] = {0, e.width, e.width, 0};
  const double ys[4] = {-e.ascent, -e.ascent, e.descent, e.descent};
  double minx = 1e300, maxx = -1e300, miny = 1e300, maxy = -1e300;
  for (int i = 0; i < 4; ++i) {
    const double rx = xs[i] * c - ys[i] * s, ry = xs[i] * s + ys[i] * c;
    minx = std::min(minx, rx);
    maxx = std::max(maxx, rx);
    miny = std::min(miny, ry);
    maxy = std::max(maxy, ry);
  }
  double dx = st.ha == HAlign::Left ? -minx : st.ha == HAlign::Right ? -maxx : -(minx + maxx) / 2;
  double dy;
  if (st.va == VAlign::Top)
    dy = -miny;
  else if (st.va == VAlign::Bottom)
    dy = -maxy;
  else if (st.va == VAlign::Center)
    dy = -(miny + maxy) / 2;
  else  // baseline: the rotated origin stays on the anchor line
    dy = 0;
  return {dx, dy, {minx + dx, miny + dy, maxx - minx, maxy - miny}};
}

}  // namespace

Rect measure_text_box(double x, double y, const std::string& s, const TextStyle& st) {
  Rect b = place(measure_text(s, st), st).box;
  b.x += x;
  b.y += y;
  return b;
}

TextExtents Figure::text_extents(const std::string& s, const TextStyle& st) const { return measure_text(s, st); }

Rect Figure::text_box(double x, double y, const std::string& s, const TextStyle& st) const {
  return measure_text_box(x, y, s, st);
}

void Figure::text(double x, double y, const std::string& s, const TextStyle& st) {
  if (s.empty()) return;
  const Placement p = place(text_extents(s, st), st);
  cairo_save(cr_);
  select_font(cr_, st);
  cairo_translate(cr_, x + p.ox, y + p.oy);
  cairo_rotate(cr_, -st.rotation * M_PI / 180);
  cairo_move_to(cr_, 0, 0);
  if (st.outline > 0) {
    cairo_text_path(cr_, s.c_str());
    set_source(cr_, st.outline_color);
    cairo_set_line_width(cr_, 2 * st.outline);
    cairo_set_line_join(cr_, CAIRO_LINE_JOIN_ROUND);
    cairo_stroke_preserve(cr_);
    set_source(cr_, st.color);
    cairo_fill(cr_);
  } else {
    set_source(cr_, st.color);
    cairo_show_text(cr_, s.c_str());
  }
  cairo_restore(cr_);
}

namespace {

// Source-over of a straight colour with coverage `cov` onto a premultiplied ARGB32 pixel.
inline void blend(uint32_t& px, const float src[4], float cov) {
  const float a = src[3] * cov;
  if (a <= 0) return;
  const float keep = 1 - a;
  const float da = static_cast<float>(px >> 24), dr = static_cast<float>((px >> 16) & 255),
              dg = static_cast<float>((px >> 8) & 255), db = static_cast<float>(px & 255);
  const auto ch = [](float v) { return static_cast<uint32_t>(std::min(255.f, v + 0.5f)); };
  px = ch(255 * a + da * keep) << 24 | ch(src[0] * a + dr * keep) << 16 | ch(src[1] * a + dg * keep) << 8 |
       ch(src[2] * a + db * keep);
}

}  // namespace

void Figure::discs(std::span<const double> x, std::span<const double> y, std::span<const RGBA> colors, double radius,
                   const Rect& clip) {
  if (x.size() != y.size() || x.size() != colors.size())
    throw ValueError("discs: x, y and colors must have the same length");
  if (!(radius > 0) || measure_only_) return;
  if (format_ != Format::PNG) {
    cairo_save(cr_);
    cairo_rectangle(cr_, clip.x, clip.y, clip.w, clip.h);
    cairo_clip(cr_);
    for (size_t i = 0; i < x.size(); ++i) {
      if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
      cairo_new_path(cr_);
      cairo_arc(cr_, x[i], y[i], radius, 0, 2 * M_PI);
      set_source(cr_, colors[i]);
      cairo_fill(cr_);
    }
    cairo_restore(cr_);
    return;
  }
  // Raster: write coverage-weighted colour straight into the pixels; a
  // million cairo_arc calls would take tens of seconds.
  cairo_surface_flush(surface_);
  unsigned char* data = cairo_image_surface_get_data(surface_);
  const int stride = cairo_image_surface_get_stride(surface_);
  const int W = cairo_image_surface_get_width(surface_), H = cairo_image_surface_get_height(surface_);
  const double k = dpi_ / 72.0;
  const double r = radius * k;
  const int cx0 = std::max(0, static_cast<int>(std::floor(clip.x * k))),
            cy0 = std::max(0, static_cast<int>(std::floor(clip.y * k)));
  const int cx1 = std::min(W, static_cast<int>(std::ceil(clip.right() * k))),
            cy1 = std::min(H, static_cast<int>(std::ceil(clip.bottom() * k)));
  // Sub-pixel discs: the pixel under the centre gets the disc's area as coverage.
  const float tiny_cov = static_cast<float>(std::min(1.0, M_PI * r * r));
  for (size_t i = 0; i < x.size(); ++i) {
    const double X = x[i] * k, Y = y[i] * k;
    if (!std::isfinite(X) || !std::isfinite(Y)) continue;
    const float src[4] = {static_cast<float>(colors[i].r * 255), static_cast<float>(colors[i].g * 255),
                          static_cast<float>(colors[i].b * 255), static_cast<float>(colors[i].a)};
    if (r < 0.5) {
      const int px = static_cast<int>(std::floor(X)), py = static_cast<int>(std::floor(Y));
      if (px < cx0 || px >= cx1 || py < cy0 || py >= cy1) continue;
      blend(reinterpret_cast<uint32_t*>(data + static_cast<ptrdiff_t>(py) * stride)[px], src, tiny_cov);
      continue;
    }
    const int x0 = std::max(cx0, static_cast<int>(std::floor(X - r - 0.5)));
    const int x1 = std::min(cx1 - 1, static_cast<int>(std::ceil(X + r + 0.5)));
    const int y0 = std::max(cy0, static_cast<int>(std::floor(Y - r - 0.5)));
    const int y1 = std::min(cy1 - 1, static_cast<int>(std::ceil(Y + r + 0.5)));
    // A pixel's coverage is clamp(r + 0.5 - distance, 0, 1). Squared
    // distances clearly outside r + 0.5 (coverage 0) or inside r - 0.5
    // (coverage 1) skip the square root; the margins are far wider than the
    // rounding of either form, so every pixel gets exactly what the full
    // formula gives. A covered pixel of an opaque colour is the colour itself.
    const double out2 = (r + 0.5) * (r + 0.5) * (1 + 1e-9);
    const double in2 = r >= 0.5 ? (r - 0.5) * (r - 0.5) * (1 - 1e-9) : -1.0;
    uint32_t solid = 0;
    const bool opaque = src[3] == 1.0f;
    if (opaque) {
      const auto ch = [](float v) { return static_cast<uint32_t>(std::min(255.f, v + 0.5f)); };
      solid = 255u << 24 | ch(src[0]) << 16 | ch(src[1]) << 8 | ch(src[2]);
    }
    for (int py = y0; py <= y1; ++py) {
      auto* row = reinterpret_cast<uint32_t*>(data + static_cast<ptrdiff_t>(py) * stride);
      const double dy = py + 0.5 - Y;
      for (int px = x0; px <= x1; ++px) {
        const double dx = px + 0.5 - X;
        const double d2 = dx * dx + dy * dy;
        if (d2 > out2) continue;
        if (d2 < in2) {
          if (opaque) row[px] = solid;
          else blend(row[px], src, 1.0f);
          continue;
        }
        const double d = std::sqrt(d2);
        const double cov = std::clamp(r + 0.5 - d, 0.0, 1.0);
        if (cov > 0) blend(row[px], src, static_cast<float>(cov));
      }
    }
  }
  cairo_surface_mark_dirty(surface_);
}

void Figure::save() {
  if (measure_only_) throw ValueError("a measuring figure cannot be saved");
  if (saved_) throw ValueError("figure '" + path_ + "' was already saved");
  if (format_ == Format::PNG) {
    cairo_surface_flush(surface_);
    try {
      write_png(file_->temp_path(), cairo_image_surface_get_data(surface_), cairo_image_surface_get_width(surface_),
                cairo_image_surface_get_height(surface_), cairo_image_surface_get_stride(surface_));
    } catch (const InputError&) {
      throw InputError(path_, "", "cannot write the PNG");  // named by the user's path, not the temporary one
    }
  } else {
    cairo_destroy(cr_);
    cr_ = nullptr;
    cairo_surface_finish(surface_);
    const cairo_status_t st = cairo_surface_status(surface_);
    cairo_surface_destroy(surface_);
    surface_ = nullptr;
    if (st != CAIRO_STATUS_SUCCESS)
      throw InputError(path_, "", std::string("cannot write the figure: ") + cairo_status_to_string(st));
  }
  file_->commit();
  saved_ = true;
}

}  // namespace scanpp::pl
