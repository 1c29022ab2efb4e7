// Axes: a data → point transform on a box of the figure, with matplotlib's
// frame, ticks, tick labels, axis labels, title and grid.
#include <algorithm>
#include <cmath>

#include "scanpp/core/error.hpp"
#include "scanpp/pl/figure.hpp"

namespace scanpp::pl {

namespace {

// Log-axis labels are written "10^{k}" and drawn as 10 with a superscript.
bool is_power_label(const std::string& s, std::string& exponent) {
  if (s.size() < 6 || s.rfind("10^{", 0) != 0 || s.back() != '}') return false;
  exponent = s.substr(4, s.size() - 5);
  return true;
}

constexpr double kSupScale = 0.7, kSupRise = 0.45;

Rect label_box(const Figure& fig, double x, double y, const std::string& s, const TextStyle& st) {
  std::string e;
  if (!is_power_label(s, e) || st.rotation != 0) return fig.text_box(x, y, s, st);
  TextStyle small = st;
  small.size *= kSupScale;
  const TextExtents base = fig.text_extents("10", st);
  const double w = base.width + fig.text_extents(e, small).width;
  const double asc = base.ascent + kSupRise * st.size * 0.6;
  const double left = st.ha == HAlign::Left ? x : st.ha == HAlign::Right ? x - w : x - w / 2;
  double top = y - asc;
  if (st.va == VAlign::Top) top = y;
  else if (st.va == VAlign::Bottom) top = y - asc - base.descent;
  else if (st.va == VAlign::Center) top = y - (asc + base.descent) / 2;
  return {left, top, w, asc + base.descent};
}

void draw_label(Figure& fig, double x, double y, const std::string& s, const TextStyle& st) {
  std::string e;
  if (!is_power_label(s, e) || st.rotation != 0) return fig.text(x, y, s, st);
  const Rect b = label_box(fig, x, y, s, st);
  const TextExtents base = fig.text_extents("10", st);
  const double baseline = b.bottom() - base.descent;
  TextStyle left = st;
  left.ha = HAlign::Left;
  left.va = VAlign::Baseline;
  fig.text(b.x, baseline, "10", left);
  TextStyle small = left;
  small.size *= kSupScale;
  fig.text(b.x + base.width, baseline - kSupRise * st.size, e, small);
}

std::string power_label(double v) {
  const int k = static_cast<int>(std::lround(std::log10(v)));
  return "10^{" + (k < 0 ? std::string("\xe2\x88\x92") + std::to_string(-k) : std::to_string(k)) + "}";
}

}  // namespace

Axes::Axes(Figure& fig, const Rect& box) : fig_(&fig), box_(box) {
  if (!(box.w > 0) || !(box.h > 0)) throw ValueError("axes box must have a positive size");
}

void Axes::set_xlim(double lo, double hi) {
  x0_ = lo;
  x1_ = hi;
}
void Axes::set_ylim(double lo, double hi) {
  y0_ = lo;
  y1_ = hi;
}

namespace {

std::pair<double, double> data_limits(std::span<const double> v, double margin, Scale sc) {
  double lo = INFINITY, hi = -INFINITY;
  for (double x : v)
    if (std::isfinite(x) && (sc == Scale::Linear || x > 0)) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
  if (!std::isfinite(lo)) return sc == Scale::Log ? std::pair{0.1, 10.0} : std::pair{-0.5, 0.5};
  if (sc == Scale::Log) {
    double a = std::log10(lo), b = std::log10(hi);
    if (a == b) {
      a -= 1;
      b += 1;
    }
    const double m = (b - a) * margin;
    return {std::pow(10, a - m), std::pow(10, b + m)};
  }
  if (lo == hi) return {lo - 0.5, hi + 0.5};
  const double m = (hi - lo) * margin;
  return {lo - m, hi + m};
}

}  // namespace

void Axes::autoscale_x(std::span<const double> v, double margin) {
  std::tie(x0_, x1_) = data_limits(v, margin, xscale_);
}
void Axes::autoscale_y(std::span<const double> v, double margin) {
  std::tie(y0_, y1_) = data_limits(v, margin, yscale_);
}

double Axes::fwd(double v, Scale s) const { return s == Scale::Log ? std::log10(v) : v; }

double Axes::px(double x) const {
  const double a = fwd(x0_, xscale_), b = fwd(x1_, xscale_);
  return box_.x + (fwd(x, xscale_) - a) / (b - a) * box_.w;
}
double Axes::py(double y) const {
  const double a = fwd(y0_, yscale_), b = fwd(y1_, yscale_);
  return box_.bottom() - (fwd(y, yscale_) - a) / (b - a) * box_.h;
}

TickSpec Axes::xticks() const {
  if (xt_set_) return xt_;
  TickSpec t;
  t.pos = xscale_ == Scale::Log ? log_ticks(x0_, x1_) : nice_ticks(x0_, x1_, auto_bins(box_.w, t.fontsize, true));
  return t;
}
TickSpec Axes::yticks() const {
  if (yt_set_) return yt_;
  TickSpec t;
  t.pos = yscale_ == Scale::Log ? log_ticks(y0_, y1_) : nice_ticks(y0_, y1_, auto_bins(box_.h, t.fontsize, false));
  return t;
}

namespace {

std::vector<std::string> resolved_labels(const TickSpec& t, Scale sc) {
  if (!t.labels.empty()) return t.labels;
  if (sc == Scale::Log) {
    std::vector<std::string> out;
    for (double v : t.pos) out.push_back(power_label(v));
    return out;
  }
  return tick_labels(t.pos);
}

bool inside(double v, double a, double b) {
  const double lo = std::min(a, b), hi = std::max(a, b), eps = (hi - lo) * 1e-9;
  return v >= lo - eps && v <= hi + eps;
}

}  // namespace

void Axes::draw_background() {
  fig_->fill_rect(box_, face_);
  if (!grid_) return;
  clip_begin();
  const LineStyle g{style::kGridColor, style::kGridWidth};
  for (double v : xticks().pos)
    if (inside(v, x0_, x1_)) fig_->line(px(v), box_.y, px(v), box_.bottom(), g);
  for (double v : yticks().pos)
    if (inside(v, y0_, y1_)) fig_->line(box_.x, py(v), box_.right(), py(v), g);
  clip_end();
}

void Axes::clip_begin() {
  if (clipped_) return;
  cairo_save(fig_->cr());
  cairo_rectangle(fig_->cr(), box_.x, box_.y, box_.w, box_.h);
  cairo_clip(fig_->cr());
  clipped_ = true;
}
void Axes::clip_end() {
  if (!clipped_) return;
  cairo_restore(fig_->cr());
  clipped_ = false;
}

namespace {

struct Layout {
  std::vector<std::pair<Rect, std::string>> xlabels, ylabels;  // tick labels with their boxes
  std::vector<double> xpos, ypos;                               // tick positions in points
  TextStyle xstyle, ystyle;
  double xl_x = 0, xl_y = 0, yl_x = 0, yl_y = 0, t_x = 0, t_y = 0;
};

}  // namespace

Rect Axes::decorations_box() const {
  double l = box_.x, t = box_.y, r = box_.right(), b = box_.bottom();
  auto grow = [&](const Rect& q) {
    if (q.w <= 0 && q.h <= 0) return;
    l = std::min(l, q.x);
    t = std::min(t, q.y);
    r = std::max(r, q.right());
    b = std::max(b, q.bottom());
  };
  const TickSpec xt = xticks(), yt = yticks();
  const auto xl = resolved_labels(xt, xscale_), yl = resolved_labels(yt, yscale_);
  double xlab_bottom = box_.bottom(), ylab_left = box_.x;
  TextStyle xs{.size = xt.fontsize, .ha = HAlign::Center, .va = VAlign::Top, .rotation = xt.rotation};
  if (xt.rotation != 0 && std::abs(xt.rotation) != 90) xs.ha = HAlign::Right;
  const double xoff = style::kTickLength + style::kTickPad;
  for (size_t i = 0; i < xt.pos.size() && i < xl.size(); ++i) {
    if (!inside(xt.pos[i], x0_, x1_)) continue;
    const Rect q = label_box(*fig_, px(xt.pos[i]), box_.bottom() + xoff, xl[i], xs);
    grow(q);
    xlab_bottom = std::max(xlab_bottom, q.bottom());
  }
  if (!xt.pos.empty()) xlab_bottom = std::max(xlab_bottom, box_.bottom() + style::kTickLength);
  TextStyle ys{.size = yt.fontsize, .ha = HAlign::Right, .va = VAlign::Center, .rotation = yt.rotation};
  for (size_t i = 0; i < yt.pos.size() && i < yl.size(); ++i) {
    if (!inside(yt.pos[i], y0_, y1_)) continue;
    const Rect q = label_box(*fig_, box_.x - xoff, py(yt.pos[i]), yl[i], ys);
    grow(q);
    ylab_left = std::min(ylab_left, q.x);
  }
  if (!xlabel_.empty())
    grow(fig_->text_box(box_.cx(), xlab_bottom + style::kLabelPad, xlabel_,
                        {.size = xlabel_size_, .ha = HAlign::Center, .va = VAlign::Top}));
  if (!ylabel_.empty())
    grow(fig_->text_box(ylab_left - style::kLabelPad, box_.cy(), ylabel_,
                        {.size = ylabel_size_, .ha = HAlign::Right, .va = VAlign::Center, .rotation = 90}));
  if (!title_.empty())
    grow(fig_->text_box(box_.cx(), box_.y - style::kTitlePad, title_,
                        {.size = title_size_, .ha = HAlign::Center, .va = VAlign::Baseline}));
  return {l, t, r - l, b - t};
}

void Axes::fit_within(const Rect& bounds) {
  for (int it = 0; it < 3; ++it) {
    const Rect d = decorations_box();
    const double dl = std::max(0.0, bounds.x - d.x), dr = std::max(0.0, d.right() - bounds.right());
    const double dt = std::max(0.0, bounds.y - d.y), db = std::max(0.0, d.bottom() - bounds.bottom());
    if (dl + dr + dt + db < 0.01) return;
    Rect b{box_.x + dl, box_.y + dt, box_.w - dl - dr, box_.h - dt - db};
    if (b.w < 10 || b.h < 10) return;  // labels too long to fit: keep a visible panel
    box_ = b;
  }
}

void Axes::draw_decorations() {
  clip_end();
  Figure& f = *fig_;
  const LineStyle tick{kBlack, style::kTickWidth};
  const TickSpec xt = xticks(), yt = yticks();
  const auto xl = resolved_labels(xt, xscale_), yl = resolved_labels(yt, yscale_);
  const double xoff = style::kTickLength + style::kTickPad;
  double xlab_bottom = box_.bottom(), ylab_left = box_.x;
  TextStyle xs{.size = xt.fontsize, .ha = HAlign::Center, .va = VAlign::Top, .rotation = xt.rotation};
  if (xt.rotation != 0 && std::abs(xt.rotation) != 90) xs.ha = HAlign::Right;
  for (size_t i = 0; i < xt.pos.size(); ++i) {
    if (!inside(xt.pos[i], x0_, x1_)) continue;
    const double x = px(xt.pos[i]);
    f.line(x, box_.bottom(), x, box_.bottom() + style::kTickLength, tick);
    xlab_bottom = std::max(xlab_bottom, box_.bottom() + style::kTickLength);
    if (i < xl.size()) {
      draw_label(f, x, box_.bottom() + xoff, xl[i], xs);
      xlab_bottom = std::max(xlab_bottom, label_box(f, x, box_.bottom() + xoff, xl[i], xs).bottom());
    }
  }
  TextStyle ys{.size = yt.fontsize, .ha = HAlign::Right, .va = VAlign::Center, .rotation = yt.rotation};
  for (size_t i = 0; i < yt.pos.size(); ++i) {
    if (!inside(yt.pos[i], y0_, y1_)) continue;
    const double y = py(yt.pos[i]);
    f.line(box_.x - style::kTickLength, y, box_.x, y, tick);
    ylab_left = std::min(ylab_left, box_.x - style::kTickLength);
    if (i < yl.size()) {
      draw_label(f, box_.x - xoff, y, yl[i], ys);
      ylab_left = std::min(ylab_left, label_box(f, box_.x - xoff, y, yl[i], ys).x);
    }
  }
  if (frameon_) f.stroke_rect(box_, {kBlack, style::kAxesLineWidth});
  if (!xlabel_.empty())
    f.text(box_.cx(), xlab_bottom + style::kLabelPad, xlabel_,
           {.size = xlabel_size_, .ha = HAlign::Center, .va = VAlign::Top});
  if (!ylabel_.empty())
    f.text(ylab_left - style::kLabelPad, box_.cy(), ylabel_,
           {.size = ylabel_size_, .ha = HAlign::Right, .va = VAlign::Center, .rotation = 90});
  if (!title_.empty())
    f.text(box_.cx(), box_.y - style::kTitlePad, title_,
           {.size = title_size_, .ha = HAlign::Center, .va = VAlign::Baseline});
}

void Axes::plot(std::span<const double> x, std::span<const double> y, const LineStyle& s) {
  if (x.size() != y.size()) throw ValueError("plot: x and y differ in length");
  std::vector<std::pair<double, double>> pts;
  pts.reserve(x.size());
  for (size_t i = 0; i < x.size(); ++i) pts.emplace_back(px(x[i]), py(y[i]));
  fig_->polyline(pts, s);
}

void Axes::scatter(std::span<const double> x, std::span<const double> y, std::span<const RGBA> colors, double s) {
  if (x.size() != y.size() || x.size() != colors.size()) throw ValueError("scatter: x, y and colors differ in length");
  std::vector<double> X(x.size()), Y(y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    X[i] = px(x[i]);
    Y[i] = py(y[i]);
  }
  fig_->discs(X, Y, colors, std::sqrt(std::max(0.0, s)) / 2, box_);
}

void Axes::text(double x, double y, const std::string& s, const TextStyle& st) { fig_->text(px(x), py(y), s, st); }

void Axes::fill_rect(double xa, double ya, double xb, double yb, const RGBA& c) {
  const double l = std::min(px(xa), px(xb)), r = std::max(px(xa), px(xb));
  const double t = std::min(py(ya), py(yb)), b = std::max(py(ya), py(yb));
  fig_->fill_rect({l, t, r - l, b - t}, c);
}

}  // namespace scanpp::pl
