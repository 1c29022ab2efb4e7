#pragma once
// Layout pieces shared by the grouped plots: matplotlib's GridSpec
// arithmetic, Scanpy's bbox_inches='tight' saving (the figure is cropped to
// what is drawn plus 0.1 inch), multi-line text, the horizontal colour bar
// and the var-group brackets.
#include <functional>
#include <string>
#include <vector>

#include "scanpp/pl/figure.hpp"
#include "scanpp/pl/grouped_data.hpp"

namespace scanpp::pl {

// matplotlib's font size names relative to the style's 14 pt.
inline constexpr double kSmall = style::kFontSize * 0.833;
inline constexpr double kXSmall = style::kFontSize * 0.694;

// Cells of a GridSpec over `area` (points): rows top to bottom, row-major
// result. wspace / hspace are fractions of the mean cell width / height, as matplotlib.
std::vector<Rect> grid_cells(const Rect& area, const std::vector<double>& height_ratios,
                             const std::vector<double>& width_ratios, double wspace, double hspace);
// The subplot area of a width x height inch figure under the style's subplot parameters.
Rect subplot_area(double width_in, double height_in);

// Union of boxes (what tight saving crops to).
struct BBox {
  double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
  void add(const Rect& r);
  bool empty() const { return x1 < x0; }
};

// Draws twice: once on a scratch figure to measure (the callback adds every
// drawn element's box to the BBox), then on the real figure sized to that box
// plus `pad_in` (Scanpy saves with bbox_inches='tight', pad 0.1 in), the
// drawing shifted by (dx, dy) points. The callback gets the figure, the shift
// and the BBox to fill.
using TightDraw = std::function<void(Figure& fig, double dx, double dy, BBox& bbox)>;
// What was written: the image size (pixels for PNG, points otherwise) and the
// shift applied, so callers can say where a layout box landed.
struct SavedFigure {
  int width_px = 0, height_px = 0;
  double dx = 0, dy = 0;      // points added to layout coordinates
  double px_per_pt = 1;       // dpi / 72 for PNG, 1 for vector formats
  // A layout box (unshifted points) in the saved image's pixels.
  Rect to_pixels(const Rect& r) const {
    return {(r.x + dx) * px_per_pt, (r.y + dy) * px_per_pt, r.w * px_per_pt, r.h * px_per_pt};
  }
};
// What a plot function reports: the file's size and where its main panel is.
struct PlotInfo {
  SavedFigure figure;
  Rect main_px;  // main panel (heatmap / dots / violins) in image pixels
};
SavedFigure save_tight(const std::string& path, double width_in, double height_in, double dpi, const TightDraw& draw,
                double pad_in = 0.1);

Rect shifted(const Rect& r, double dx, double dy);

// Text with '\n' line breaks; anchored like Figure::text with the block's
// bounding box (va Bottom: the last line's bottom at y). Returns the box.
Rect multiline_text(Figure& fig, double x, double y, const std::string& s, TextStyle st);

// Scanpy's horizontal colour bar (legend column of dotplot / matrixplot /
// stacked_violin): the gradient filling `box`, ticks and labels below, the
// title centred above in small type. Adds its extents to bbox.
void draw_horizontal_colorbar(Figure& fig, const Rect& box, const Colormap& cmap, double vmin, double vmax,
                              const std::string& title, BBox& bbox);

// Brackets over runs of columns (orientation top): `x_of(pos)` maps a column
// position (0-based centre at pos + 0.5 in main-plot units) to points; brackets
// span [start + left_adj, end + right_adj] in those units; labels rotated 90
// when any is longer than 4 characters (unless rotation is given).
void draw_var_group_brackets(Figure& fig, const Rect& box, const VarGroups& groups,
                             const std::function<double(double)>& x_of, double left_adj, double right_adj,
                             std::optional<double> rotation, BBox& bbox);

// matplotlib's Normalize autoscaling of colour values: min / max over finite values
// unless vmin / vmax are given.
std::pair<double, double> color_limits(const std::vector<double>& v, std::optional<double> vmin,
                                       std::optional<double> vmax);

// Where Scanpy's save= / our save path writes several figures (one per
// group): "dir/name_<suffix>.ext".
std::string path_with_suffix(const std::string& path, const std::string& suffix);

}  // namespace scanpp::pl

namespace scanpp::pl {
// An image of cols x rows cells (row-major colours) stretched over `box`
// without smoothing (matplotlib imshow, interpolation 'nearest').
void draw_cell_image(Figure& fig, const Rect& box, int cols, int rows, const std::vector<RGBA>& cells);
}  // namespace scanpp::pl
