#pragma once
// Figures drawn with cairo in Scanpy's style. This is the core every pl::
// plot is built on (embedding and single-panel plots here, the grouped plots
// in violin*/dotplot*/... files).
//
// ## Conventions
// * Units: user space is in POINTS (1/72 inch), origin at the top-left of the
//   figure, y pointing DOWN (cairo's convention). A 4x4 inch figure is 288x288
//   points whatever the output format; for PNG the surface is scaled by dpi/72
//   so 4x4 in at dpi 100 is a 400x400 pixel image.
// * Output format comes from the extension of the path: .png (ARGB image,
//   `dpi`, white background), .svg, .pdf (vector, the figure in points).
//   Anything else is a ValueError. The file is written by save() through
//   io::AtomicFile (temp + rename); nothing is written before save().
// * Style: Scanpy's set_figure_params(scanpy=True) rcParams (what the Scanpy
//   tutorials show): figsize 4x4 in, font DejaVu Sans 14 pt (legend 0.92 x 14),
//   subplot box left .18 right .96 bottom .15 top .91 (fractions of the
//   figure), black frame 0.8 pt, grid light grey (0.8) on plots that keep
//   ticks, ticks 3.5 pt outwards with labels 3.5 pt away. The default dpi of
//   save() is 100 (matplotlib's savefig.dpi 'figure' at figure.dpi 100).
//   The categorical colour cycle of this style is Scanpy's default_20
//   (palettes.hpp).
//
// ## Minimal use (plgrp: this is the pattern)
//   pl::Figure fig(path, 4, 4, 100);                   // inches, dpi
//   pl::Axes ax(fig, fig.subplot_box());              // or any Rect in points
//   ax.set_xlim(0, 10); ax.set_ylim(-1, 1);            // or autoscale_x/_y(data)
//   ax.draw_background();                              // white + grid lines
//   ax.clip_begin(); ax.plot(xs, ys, {.color = parse_color("#1f77b4")}); ax.clip_end();
//   ax.set_xlabel("genes"); ax.set_title("title");
//   ax.draw_decorations();                             // frame, ticks, labels, title
//   draw_colorbar(fig, colorbar_box(ax.box()), colormap("viridis"), 0, 5, "");
//   fig.save();
// Text: fig.text(x, y, "CST3", {.size = 14, .ha = HAlign::Center, .rotation = 90});
// fig.text_extents(s, style) measures before placing (layout of long labels).
// Everything a helper does not cover is reachable through fig.cr() (cairo_t*
// in the same point space), e.g. custom paths for violins.
#include <cairo.h>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "scanpp/pl/color.hpp"

namespace scanpp::io {
class AtomicFile;
}

namespace scanpp::pl {

// ---------------------------------------------------------------- style
namespace style {
inline constexpr double kFigWidth = 4, kFigHeight = 4;  // inches (rcParams figure.figsize)
inline constexpr double kDpi = 100;
inline constexpr double kFontSize = 14;                  // font.size, axes.labelsize, titles, ticks
inline constexpr double kLegendFontSize = 0.92 * 14;     // legend.fontsize
inline constexpr double kSubplotLeft = 0.18, kSubplotRight = 0.96, kSubplotBottom = 0.15, kSubplotTop = 0.91;
inline constexpr double kAxesLineWidth = 0.8;           // frame (spines)
inline constexpr double kTickLength = 3.5, kTickWidth = 0.8, kTickPad = 3.5;
inline constexpr double kLabelPad = 4.0;                // axis label distance from tick labels
inline constexpr double kTitlePad = 6.0;                // title distance above the axes
inline constexpr RGBA kGridColor{0.8, 0.8, 0.8, 1};
inline constexpr double kGridWidth = 0.8;
inline constexpr const char* kFontFamily = "DejaVu Sans";
inline constexpr double kLegendMarkerSize = 6;          // lines.markersize (diameter, points)
}  // namespace style

// ---------------------------------------------------------------- geometry
struct Rect {
  double x = 0, y = 0, w = 0, h = 0;  // points; (x, y) is the top-left corner
  double right() const { return x + w; }
  double bottom() const { return y + h; }
  double cx() const { return x + w / 2; }
  double cy() const { return y + h / 2; }
};

enum class Format { PNG, SVG, PDF };
// From the file extension (case-insensitive); ValueError for others.
Format format_from_path(const std::string& path);

enum class HAlign { Left, Center, Right };
enum class VAlign { Top, Center, Baseline, Bottom };

struct TextStyle {
  double size = style::kFontSize;  // points
  RGBA color = kBlack;
  bool bold = false;
  bool italic = false;
  HAlign ha = HAlign::Left;
  VAlign va = VAlign::Baseline;
  double rotation = 0;  // degrees counter-clockwise about the anchor (matplotlib's sense)
  // White halo behind the glyphs (Scanpy's legend_fontoutline), width in points; 0 = none.
  double outline = 0;
  RGBA outline_color = kWhite;
};

// Unrotated extents of a string in points. `ascent`/`descent` are the font's
// (not the string's), so lines of different text align.
struct TextExtents {
  double width = 0, height = 0, ascent = 0, descent = 0;
};

struct LineStyle {
  RGBA color = kBlack;
  double width = 1.5;          // points (lines.linewidth)
  std::vector<double> dash{};  // on/off lengths in points; empty = solid
};

// Text measurement without a figure (layout before the figure size is known);
// identical to Figure::text_extents / text_box on every format.
TextExtents measure_text(const std::string& s, const TextStyle& st);
Rect measure_text_box(double x, double y, const std::string& s, const TextStyle& st);

// ---------------------------------------------------------------- figure
// Tag of the measuring Figure constructor.
struct MeasureOnly {};

class Figure {
 public:
  // A figure of width x height inches, written to `path` by save(). Throws
  // ValueError for an unknown extension or a non-positive size/dpi.
  Figure(std::string path, double width_in, double height_in, double dpi = style::kDpi);
  // A figure for layout passes (bbox_inches='tight' draws once to measure):
  // the geometry, transforms and text measurements of a PNG figure of this
  // size, but its surface has no pixels, so drawing costs next to nothing
  // (cairo clips every operation away before rasterising) and nothing is
  // written; save() is a ValueError.
  Figure(MeasureOnly, double width_in, double height_in, double dpi = style::kDpi);
  ~Figure();
  Figure(const Figure&) = delete;
  Figure& operator=(const Figure&) = delete;

  double width() const { return w_pt_; }   // points
  double height() const { return h_pt_; }  // points
  double dpi() const { return dpi_; }
  Format format() const { return format_; }
  const std::string& path() const { return path_; }
  // Pixel size of a PNG (round(inches * dpi)); for vector formats the size in points.
  int pixel_width() const;
  int pixel_height() const;
  // The subplot box of Scanpy's style (left .18, right .96, bottom .15, top .91).
  Rect subplot_box() const;

  // Raw cairo context in point space (y down). Save/restore around changes.
  cairo_t* cr() const { return cr_; }

  // ---- primitives (points)
  void fill_rect(const Rect& r, const RGBA& c);
  void stroke_rect(const Rect& r, const LineStyle& s);
  void line(double x0, double y0, double x1, double y1, const LineStyle& s);
  void polyline(std::span<const std::pair<double, double>> pts, const LineStyle& s);
  // Closed polygon, filled and optionally outlined.
  void polygon(std::span<const std::pair<double, double>> pts, const RGBA& fill,
               const std::optional<LineStyle>& edge = std::nullopt);
  void circle(double cx, double cy, double r, const RGBA& fill, const std::optional<LineStyle>& edge = std::nullopt);

  // ---- text (DejaVu Sans through cairo's toy API)
  TextExtents text_extents(const std::string& s, const TextStyle& st) const;
  // Draws s anchored at (x, y) per st.ha/st.va, rotated about the anchor.
  void text(double x, double y, const std::string& s, const TextStyle& st);
  // Bounding box (points) a text() call with the same arguments would cover.
  Rect text_box(double x, double y, const std::string& s, const TextStyle& st) const;

  // ---- many discs at once (scatter plots). Centres in points, one colour
  // each, drawn in the given order (later on top), each of `radius` points,
  // clipped to `clip`. PNG: splatted straight into the pixel buffer with
  // anti-aliased edges (1M points well under a second); SVG/PDF: one path
  // element per disc.
  void discs(std::span<const double> x, std::span<const double> y, std::span<const RGBA> colors, double radius,
             const Rect& clip);

  // Writes the file (atomically). Call once, after drawing.
  void save();

 private:
  std::string path_;
  Format format_;
  double w_pt_, h_pt_, dpi_;
  cairo_surface_t* surface_ = nullptr;
  cairo_t* cr_ = nullptr;
  std::unique_ptr<io::AtomicFile> file_;  // vector surfaces stream into its temp file
  bool saved_ = false;
  bool measure_only_ = false;
  std::vector<unsigned char> pixels_;  // PNG: the image surface's memory, recycled between figures
  void init_surface();
};

// ---------------------------------------------------------------- ticks
// matplotlib's AutoLocator (MaxNLocator, steps 1, 2, 2.5, 5, 10): tick
// values inside [lo, hi] with at most `max_bins` intervals.
std::vector<double> nice_ticks(double lo, double hi, int max_bins = 9);
// Number of bins matplotlib allows an axis of `length_pt` (x: length / (3 *
// fontsize), y: length / (2 * fontsize)), clipped to 1..9.
int auto_bins(double length_pt, double fontsize, bool x_axis);
// ScalarFormatter-like labels: the same number of decimals for all ticks,
// enough to tell them apart; "−" (U+2212) for negatives as matplotlib.
std::vector<std::string> tick_labels(const std::vector<double>& ticks);
// Log axes: powers of ten within [lo, hi] (lo > 0).
std::vector<double> log_ticks(double lo, double hi);

// ---------------------------------------------------------------- axes
enum class Scale { Linear, Log };

struct TickSpec {
  std::vector<double> pos;          // data coordinates
  std::vector<std::string> labels;  // empty = formatted from pos
  double rotation = 0;              // degrees (90 = vertical, as matplotlib)
  double fontsize = style::kFontSize;
};

// One panel: a box in the figure with a data → point transform. Draw order:
// draw_background() (face + grid), data (inside clip_begin/clip_end), then
// draw_decorations() (frame, ticks, tick labels, axis labels, title).
class Axes {
 public:
  Axes(Figure& fig, const Rect& box);
  Figure& figure() const { return *fig_; }
  const Rect& box() const { return box_; }
  void set_box(const Rect& b) { box_ = b; }
  // Shrinks the box until decorations_box() lies inside `bounds` (what
  // bbox_inches='tight' achieves for Scanpy, keeping the figure size).
  void fit_within(const Rect& bounds);

  void set_xlim(double lo, double hi);
  void set_ylim(double lo, double hi);
  std::pair<double, double> xlim() const { return {x0_, x1_}; }
  std::pair<double, double> ylim() const { return {y0_, y1_}; }
  void set_xscale(Scale s) { xscale_ = s; }
  void set_yscale(Scale s) { yscale_ = s; }
  // matplotlib's autoscaling: the data range widened by `margin` of it on
  // each side (axes.xmargin 0.05); NaNs ignored; a flat range gets ±0.5 (or ±1 decade on log).
  void autoscale_x(std::span<const double> v, double margin = 0.05);
  void autoscale_y(std::span<const double> v, double margin = 0.05);

  // Data → points.
  double px(double x) const;
  double py(double y) const;

  // Ticks: automatic unless set; hide_*ticks removes ticks and labels (Scanpy's embeddings).
  void set_xticks(TickSpec t) { xt_ = std::move(t); xt_set_ = true; }
  void set_yticks(TickSpec t) { yt_ = std::move(t); yt_set_ = true; }
  void hide_xticks() { xt_ = {}; xt_set_ = true; }
  void hide_yticks() { yt_ = {}; yt_set_ = true; }
  // The ticks that will be drawn (automatic ones resolved).
  TickSpec xticks() const;
  TickSpec yticks() const;

  void set_xlabel(std::string s, double fontsize = style::kFontSize) { xlabel_ = std::move(s); xlabel_size_ = fontsize; }
  void set_ylabel(std::string s, double fontsize = style::kFontSize) { ylabel_ = std::move(s); ylabel_size_ = fontsize; }
  void set_title(std::string s, double fontsize = style::kFontSize) { title_ = std::move(s); title_size_ = fontsize; }
  void set_frameon(bool on) { frameon_ = on; }
  void set_grid(bool on) { grid_ = on; }
  void set_facecolor(const RGBA& c) { face_ = c; }

  void draw_background();
  void draw_decorations();
  void clip_begin();
  void clip_end();

  // ---- data-space helpers (call between clip_begin/clip_end)
  void plot(std::span<const double> x, std::span<const double> y, const LineStyle& s);
  // Scatter with matplotlib's `s` (marker AREA in points^2, diameter sqrt(s)).
  void scatter(std::span<const double> x, std::span<const double> y, std::span<const RGBA> colors, double s);
  void text(double x, double y, const std::string& s, const TextStyle& st);
  void fill_rect(double x0, double y0, double x1, double y1, const RGBA& c);

  // Bounding box of everything draw_decorations() draws (for layout).
  Rect decorations_box() const;

 private:
  double fwd(double v, Scale s) const;
  Figure* fig_;
  Rect box_;
  double x0_ = 0, x1_ = 1, y0_ = 0, y1_ = 1;
  Scale xscale_ = Scale::Linear, yscale_ = Scale::Linear;
  TickSpec xt_, yt_;
  bool xt_set_ = false, yt_set_ = false;
  std::string xlabel_, ylabel_, title_;
  double xlabel_size_ = style::kFontSize, ylabel_size_ = style::kFontSize, title_size_ = style::kFontSize;
  bool frameon_ = true, grid_ = false, clipped_ = false;
  RGBA face_ = kWhite;
};

// ---------------------------------------------------------------- legends
struct LegendEntry {
  std::string label;
  RGBA color;
};
// Size of a legend to the right of an axes (matplotlib loc='center left',
// bbox_to_anchor=(1, 0.5), frameon False, Scanpy's ncol: 1 up to 14 entries,
// 2 up to 30, else 3). Used to make room before drawing.
Rect legend_right_box(const Rect& axes_box, const std::vector<LegendEntry>& entries,
                      double fontsize = style::kLegendFontSize, double marker_size = style::kLegendMarkerSize);
Rect legend_right_box(const Figure& fig, const Rect& axes_box, const std::vector<LegendEntry>& entries,
                      double fontsize = style::kLegendFontSize, double marker_size = style::kLegendMarkerSize);
// Draws it: a disc of `marker_size` diameter (points) and the label per entry.
void draw_legend_right(Figure& fig, const Rect& axes_box, const std::vector<LegendEntry>& entries,
                       double fontsize = style::kLegendFontSize, double marker_size = style::kLegendMarkerSize);
// Scanpy's legend_loc='on data': each label centred at its (x, y) in points,
// bold, with an optional white outline.
void draw_legend_on_data(Figure& fig, const std::vector<std::string>& labels,
                         const std::vector<std::pair<double, double>>& at_points,
                         double fontsize = style::kLegendFontSize, double outline = 0);

// ---------------------------------------------------------------- colour bar
// Scanpy's colorbar(ax, pad=0.01, fraction=0.08, aspect=30): the box it
// takes to the right of `axes_box` (whose width must shrink by the returned
// `steal` points first: see shrink_for_colorbar).
Rect colorbar_box(const Rect& axes_box);
// Axes box once the colour bar has taken its share (as matplotlib's make_axes).
Rect shrink_for_colorbar(const Rect& axes_box);
// Vertical colour bar: vmin at the bottom, vmax at the top, ticks and labels
// on the right, optional label (rotated) beyond them.
void draw_colorbar(Figure& fig, const Rect& box, const Colormap& cmap, double vmin, double vmax,
                   const std::string& label = "", double fontsize = style::kFontSize);
// Everything draw_colorbar draws (bar, ticks, labels), for layout.
Rect colorbar_extent(const Rect& box, double vmin, double vmax, const std::string& label = "",
                     double fontsize = style::kFontSize);

}  // namespace scanpp::pl
