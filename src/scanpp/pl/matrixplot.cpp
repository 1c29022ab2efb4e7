#include "scanpp/pl/matrixplot.hpp"

#include "scanpp/core/error.hpp"

namespace scanpp::pl {

MatrixplotData matrixplot_data(AnnData& adata, const MatrixplotOptions& opt) {
  MatrixplotData d;
  d.groups = prepare_groups(adata, opt);
  GroupMatrix m = group_mean(d.groups.tidy);
  if (opt.values_df) {
    for (int64_t i = 0; i < m.n_rows(); ++i)
      for (int64_t j = 0; j < m.n_cols(); ++j)
        m.at(i, j) = opt.values_df->lookup(m.rows[static_cast<size_t>(i)], m.cols[static_cast<size_t>(j)]);
  } else if (opt.standard_scale) {
    if (*opt.standard_scale != "var" && *opt.standard_scale != "group")
      throw ValueError("standard_scale must be 'var' or 'group', got '" + *opt.standard_scale + "'");
    standard_scale(m, *opt.standard_scale);
  }
  d.values = m.reordered(d.groups.category_order, d.groups.var_order);
  std::tie(d.vmin, d.vmax) = color_limits(d.values.v, opt.vmin, opt.vmax);
  return d;
}

void draw_colorbar_legend(Figure& fig, const Rect& legend_box, double fig_height_in, double min_figure_height,
                          const Colormap& cmap, double vmin, double vmax, const std::string& title, BBox& bbox) {
  const double h = min_figure_height * 0.08;
  const auto cells = grid_cells(legend_box, {fig_height_in - h, h}, {1}, 0.2, 0.2);
  draw_horizontal_colorbar(fig, cells[1], cmap, vmin, vmax, title, bbox);
}

PlotInfo matrixplot(AnnData& adata, const MatrixplotOptions& opt, const std::string& save) {
  const MatrixplotData d = matrixplot_data(adata, opt);
  const Colormap& cmap = colormap(opt.cmap);
  const RGBA edge = parse_color(opt.edge_color);
  const BasePlotLayout L = baseplot_layout(d.values.n_rows(), d.values.n_cols(), !d.groups.var_groups.empty(),
                                           d.groups.dendro ? 0.8 : 0, 1.5, opt.figsize);
  const double min_h = opt.figsize ? L.height_in : 2.5;
  PlotInfo info;
  info.figure = save_tight(save, L.width_in, L.height_in, opt.dpi, [&](Figure& fig, double dx, double dy, BBox& bbox) {
    Axes ax(fig, shifted(L.main, dx, dy));
    setup_main_axes(ax, d.values.rows, d.values.cols, 0, 0);
    ax.draw_background();
    ax.clip_begin();
    const Normalize norm{d.vmin, d.vmax};
    for (int64_t i = 0; i < d.values.n_rows(); ++i)
      for (int64_t j = 0; j < d.values.n_cols(); ++j) {
        const double x0 = ax.px(static_cast<double>(j)), x1 = ax.px(static_cast<double>(j + 1));
        const double y0 = ax.py(static_cast<double>(i)), y1 = ax.py(static_cast<double>(i + 1));
        const Rect cell{x0, y0, x1 - x0, y1 - y0};
        fig.fill_rect(cell, cmap(norm(d.values.at(i, j))));
        if (opt.edge_lw > 0) fig.stroke_rect(cell, LineStyle{edge, opt.edge_lw, {}});
      }
    ax.clip_end();
    ax.draw_decorations();
    fig.stroke_rect(ax.box(), LineStyle{kBlack, 1.5, {}});  // Scanpy thickens the spines to 1.5
    bbox.add(ax.decorations_box());
    draw_baseplot_frame(fig, L, dx, dy, d.groups, opt, ax, bbox);
    draw_colorbar_legend(fig, shifted(L.legend, dx, dy), L.height_in, min_h, cmap, d.vmin, d.vmax,
                         opt.colorbar_title, bbox);
  });
  info.main_px = info.figure.to_pixels(L.main);
  return info;
}

}  // namespace scanpp::pl
