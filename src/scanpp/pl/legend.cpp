// Categorical legends as Scanpy draws them: to the right of the axes
// (loc 'center left', bbox_to_anchor (1, 0.5), no frame) or on the data.
#include <algorithm>
#include <cmath>

#include "scanpp/pl/figure.hpp"

namespace scanpp::pl {

namespace {

// matplotlib's legend spacing, in units of the font size.
constexpr double kBorderAxesPad = 0.5, kBorderPad = 0.4, kLabelSpacing = 0.5, kHandleLength = 0.5,
                 kHandleTextPad = 0.4, kColumnSpacing = 2.0;

int legend_ncol(size_t n) { return n <= 14 ? 1 : n <= 30 ? 2 : 3; }

struct LegendLayout {
  Rect box;
  int ncol = 1;
  size_t rows = 0;
  std::vector<double> col_x;  // left of each column's handle
  double row_h = 0;
};

LegendLayout layout(const Rect& ax, const std::vector<LegendEntry>& entries, double fs,
                    double marker) {
  LegendLayout L;
  L.ncol = legend_ncol(entries.size());
  L.rows = (entries.size() + static_cast<size_t>(L.ncol) - 1) / static_cast<size_t>(L.ncol);
  const TextStyle st{.size = fs};
  const TextExtents e = measure_text("lp", st);
  L.row_h = std::max(e.height, marker);
  const double handle_w = std::max(kHandleLength * fs, marker);
  double x = ax.right() + kBorderAxesPad * fs + kBorderPad * fs;
  for (int c = 0; c < L.ncol; ++c) {
    L.col_x.push_back(x);
    double wmax = 0;
    for (size_t r = 0; r < L.rows; ++r) {
      const size_t i = static_cast<size_t>(c) * L.rows + r;  // matplotlib fills columns first
      if (i < entries.size()) wmax = std::max(wmax, measure_text(entries[i].label, st).width);
    }
    x += handle_w + kHandleTextPad * fs + wmax + (c + 1 < L.ncol ? kColumnSpacing * fs : 0);
  }
  const double h = static_cast<double>(L.rows) * L.row_h + static_cast<double>(L.rows > 0 ? L.rows - 1 : 0) * kLabelSpacing * fs;
  const double left = ax.right() + kBorderAxesPad * fs;
  L.box = {left, ax.cy() - h / 2 - kBorderPad * fs, x + kBorderPad * fs - left, h + 2 * kBorderPad * fs};
  return L;
}

}  // namespace

Rect legend_right_box(const Rect& axes_box, const std::vector<LegendEntry>& entries, double fontsize,
                      double marker_size) {
  if (entries.empty()) return {axes_box.right(), axes_box.cy(), 0, 0};
  return layout(axes_box, entries, fontsize, marker_size).box;
}

Rect legend_right_box(const Figure&, const Rect& axes_box, const std::vector<LegendEntry>& entries, double fontsize,
                      double marker_size) {
  return legend_right_box(axes_box, entries, fontsize, marker_size);
}

void draw_legend_right(Figure& fig, const Rect& axes_box, const std::vector<LegendEntry>& entries, double fontsize,
                       double marker_size) {
  if (entries.empty()) return;
  const LegendLayout L = layout(axes_box, entries, fontsize, marker_size);
  const double handle_w = std::max(kHandleLength * fontsize, marker_size);
  const double top = L.box.y + kBorderPad * fontsize;
  for (size_t i = 0; i < entries.size(); ++i) {
    const size_t c = i / L.rows, r = i % L.rows;
    const double cy = top + static_cast<double>(r) * (L.row_h + kLabelSpacing * fontsize) + L.row_h / 2;
    const double x = L.col_x[c];
    fig.circle(x + handle_w / 2, cy, marker_size / 2, entries[i].color);
    fig.text(x + handle_w + kHandleTextPad * fontsize, cy, entries[i].label,
             {.size = fontsize, .ha = HAlign::Left, .va = VAlign::Center});
  }
}

void draw_legend_on_data(Figure& fig, const std::vector<std::string>& labels,
                         const std::vector<std::pair<double, double>>& at, double fontsize, double outline) {
  for (size_t i = 0; i < labels.size() && i < at.size(); ++i) {
    if (!std::isfinite(at[i].first) || !std::isfinite(at[i].second)) continue;
    fig.text(at[i].first, at[i].second, labels[i],
             {.size = fontsize, .bold = true, .ha = HAlign::Center, .va = VAlign::Center, .outline = outline});
  }
}

}  // namespace scanpp::pl
