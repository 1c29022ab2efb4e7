#include "scanpp/pl/grouped_baseplot.hpp"

#include <algorithm>
#include <iostream>
#include <numeric>

#include "scanpp/core/error.hpp"

namespace scanpp::pl {

std::vector<std::string> PreparedGroups::ordered_categories() const {
  std::vector<std::string> out;
  for (int64_t i : category_order) out.push_back(tidy.grouping.categories[static_cast<size_t>(i)]);
  return out;
}

std::vector<std::string> PreparedGroups::ordered_var_names() const {
  std::vector<std::string> out;
  for (int64_t i : var_order) out.push_back(tidy.var_names[static_cast<size_t>(i)]);
  return out;
}

PreparedGroups prepare_groups(AnnData& adata, const GroupedOptions& opt) {
  PrepareOptions po;
  po.use_raw = opt.use_raw;
  po.log = opt.log;
  po.num_categories = opt.num_categories;
  po.layer = opt.layer;
  po.gene_symbols = opt.gene_symbols;
  PreparedGroups p;
  p.tidy = prepare_dataframe(adata, opt.var_names.names, opt.groupby, po);
  p.var_groups = opt.var_names.groups;
  const auto& cats = p.tidy.grouping.categories;
  if (cats.size() > 500) std::cerr << "scanpp warning: Over 500 categories found. Plot would be very large.\n";
  p.category_order.resize(cats.size());
  std::iota(p.category_order.begin(), p.category_order.end(), 0);
  p.var_order.resize(opt.var_names.names.size());
  std::iota(p.var_order.begin(), p.var_order.end(), 0);
  if (opt.categories_order) {
    const auto& want = *opt.categories_order;
    std::vector<std::string> a = want, b = cats;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b)
      throw ValueError("Please check that the categories given by the `categories_order` parameter match the "
                       "categories that want to be reordered.");
    p.category_order.clear();
    for (auto& c : want)
      p.category_order.push_back(std::find(cats.begin(), cats.end(), c) - cats.begin());
  }
  if (opt.dendrogram) {
    if (opt.groupby.empty() || cats.size() <= 2) {
      std::cerr << "scanpp warning: Dendrogram not added. Dendrogram is added only when the number of categories to "
                   "plot > 2\n";
    } else {
      p.dendro = dendrogram_data(adata, opt.groupby, opt.dendrogram_key);
      const auto o = reorder_after_dendrogram(*p.dendro, cats, p.tidy.n_vars(), p.var_groups);
      p.category_order = o.categories_idx_ordered;
      p.var_order = o.var_names_idx_ordered;
      p.var_groups = o.var_groups;
    }
  }
  return p;
}

BasePlotLayout baseplot_layout(int64_t n_categories, int64_t n_vars, bool has_var_groups, double group_extra_size,
                               double legends_width, const std::optional<std::pair<double, double>>& figsize,
                               double wspace, double min_figure_height) {
  const double category_height = 0.35, category_width = 0.37;
  BasePlotLayout L;
  double mainplot_height, mainplot_width;
  if (!figsize) {
    mainplot_height = static_cast<double>(n_categories) * category_height;
    mainplot_width = static_cast<double>(n_vars) * category_width + group_extra_size;
    L.width_in = mainplot_width + legends_width;
    L.height_in = std::max(min_figure_height, mainplot_height + 1);
  } else {
    L.width_in = figsize->first;
    L.height_in = figsize->second;
    mainplot_height = L.height_in;
    mainplot_width = L.width_in - (legends_width + group_extra_size);
  }
  if (!(mainplot_width > 0)) throw ValueError("figsize is too small for the legend and dendrogram");
  const Rect area = subplot_area(L.width_in, L.height_in);
  const auto outer =
      grid_cells(area, {1}, {mainplot_width + group_extra_size, legends_width}, 0.7 / L.width_in, 0.2);
  L.title_area = outer[0];
  L.legend = outer[1];
  const double var_groups_height = has_var_groups ? category_height / 2 : 0;
  mainplot_width -= group_extra_size;
  const double spacer_height = L.height_in - var_groups_height - mainplot_height;
  const auto inner = grid_cells(outer[0], {spacer_height, var_groups_height, mainplot_height},
                                {mainplot_width, group_extra_size}, wspace, 0);
  L.var_groups = inner[2];
  L.main = inner[4];
  L.group_extra = inner[5];
  L.has_group_extra = group_extra_size > 0;
  L.has_var_groups = has_var_groups;
  return L;
}

void setup_main_axes(Axes& ax, const std::vector<std::string>& rows, const std::vector<std::string>& cols,
                     double x_pad, double y_pad, bool rotate_cols) {
  const auto nr = static_cast<double>(rows.size()), nc = static_cast<double>(cols.size());
  ax.set_xlim(-x_pad, nc + x_pad);
  ax.set_ylim(nr + y_pad, -y_pad);
  TickSpec xt, yt;
  for (size_t j = 0; j < cols.size(); ++j) xt.pos.push_back(static_cast<double>(j) + 0.5);
  for (size_t i = 0; i < rows.size(); ++i) yt.pos.push_back(static_cast<double>(i) + 0.5);
  xt.labels = cols;
  yt.labels = rows;
  xt.rotation = rotate_cols ? 90 : 0;
  xt.fontsize = yt.fontsize = kSmall;
  ax.set_xticks(xt);
  ax.set_yticks(yt);
  ax.set_grid(false);
}

void draw_baseplot_frame(Figure& fig, const BasePlotLayout& L, double dx, double dy, const PreparedGroups& p,
                         const GroupedOptions& opt, const Axes& main_ax, BBox& bbox) {
  if (opt.title && !opt.title->empty()) {
    const Rect t = shifted(L.title_area, dx, dy);
    TextStyle ts;
    ts.ha = HAlign::Center;
    ts.va = VAlign::Bottom;
    bbox.add(multiline_text(fig, t.cx(), t.y - style::kTitlePad, *opt.title, ts));
  }
  if (L.has_var_groups && !p.var_groups.empty()) {
    const Rect vg = shifted(L.var_groups, dx, dy);
    // Brackets share the main panel's x axis; a column's left edge is at its index.
    draw_var_group_brackets(fig, vg, p.var_groups, [&](double x) { return main_ax.px(x); }, 0.2, 0.7,
                            opt.var_group_rotation, bbox);
  }
  if (L.has_group_extra && p.dendro) {
    Axes dax(fig, shifted(L.group_extra, dx, dy));
    const auto [ylo, yhi] = main_ax.ylim();
    dax.set_ylim(ylo, yhi);
    std::vector<double> ticks;
    for (size_t k = 0; k < p.dendro->ivl.size(); ++k) ticks.push_back(static_cast<double>(k) + 0.5);
    dax.clip_begin();
    draw_dendrogram_links(dax, *p.dendro, ticks, "right");
    dax.clip_end();
    bbox.add(dax.box());
  }
}

}  // namespace scanpp::pl
