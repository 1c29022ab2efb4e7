#include "scanpp/pl/heatmap.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>

#include "scanpp/core/error.hpp"
#include "scanpp/pl/palettes.hpp"

namespace scanpp::pl {

HeatmapData heatmap_data(AnnData& adata, const HeatmapOptions& opt) {
  HeatmapData d;
  d.groups = prepare_groups(adata, opt);
  TidyData& t = d.groups.tidy;
  if (opt.standard_scale) {
    if (*opt.standard_scale != "var" && *opt.standard_scale != "obs")
      throw ValueError("standard_scale must be 'var' or 'obs', got '" + *opt.standard_scale + "'");
    standard_scale_cells(t, *opt.standard_scale);
  }
  d.categorical = !opt.groupby.empty() && t.grouping.n_categories() > 1;
  std::vector<int64_t> cat_order = d.groups.category_order;
  if (d.categorical) {
    d.cell_order = cells_sorted_by_group(t.grouping, cat_order);
  } else {
    d.cell_order.resize(static_cast<size_t>(t.n_obs));
    std::iota(d.cell_order.begin(), d.cell_order.end(), 0);
  }
  d.var_names = d.groups.ordered_var_names();
  const auto counts = t.grouping.counts();
  for (int64_t c : cat_order) {
    d.categories.push_back(t.grouping.categories[static_cast<size_t>(c)]);
    d.group_sizes.push_back(counts[static_cast<size_t>(c)]);
  }
  const size_t nv = d.groups.var_order.size();
  d.values.resize(d.cell_order.size() * nv);
  for (size_t r = 0; r < d.cell_order.size(); ++r)
    for (size_t j = 0; j < nv; ++j)
      d.values[r * nv + j] = t.column(d.groups.var_order[j])[static_cast<size_t>(d.cell_order[r])];
  std::tie(d.vmin, d.vmax) = color_limits(d.values, opt.vmin, opt.vmax);
  return d;
}

void draw_group_colorblocks(Figure& fig, const Rect& box, const std::vector<std::string>& categories,
                            const std::vector<int64_t>& sizes, const std::vector<RGBA>& colors,
                            const std::string& groupby, const std::string& orientation, BBox& bbox) {
  const int64_t n = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
  if (n == 0) return;
  Axes ax(fig, box);
  const bool left = orientation == "left";
  std::vector<RGBA> cells;
  for (size_t k = 0; k < sizes.size(); ++k) cells.insert(cells.end(), static_cast<size_t>(sizes[k]), colors[k]);
  if (left) draw_cell_image(fig, box, 1, static_cast<int>(n), cells);
  else draw_cell_image(fig, box, static_cast<int>(n), 1, cells);
  TickSpec t;
  double start = 0;
  for (size_t k = 0; k < sizes.size(); ++k) {
    t.pos.push_back(start + static_cast<double>(sizes[k]) / 2);
    start += static_cast<double>(sizes[k]);
  }
  t.labels = categories;
  t.fontsize = kSmall;
  if (sizes.size() <= 1) t = {};
  if (left) {
    ax.set_ylim(static_cast<double>(n), 0);
    ax.set_xlim(0, 1);
    ax.set_yticks(t);
    ax.hide_xticks();
    ax.set_ylabel(groupby);
  } else {
    ax.set_xlim(0, static_cast<double>(n));
    ax.set_ylim(0, 1);
    size_t longest = 0;
    for (auto& c : categories) longest = std::max(longest, c.size());
    t.rotation = longest < 3 ? 0 : 90;
    ax.set_xticks(t);
    ax.hide_yticks();
    ax.set_xlabel(groupby);
  }
  ax.set_frameon(false);
  ax.set_grid(false);
  ax.draw_decorations();
  bbox.add(ax.decorations_box());
  bbox.add(box);
}

PlotInfo heatmap(AnnData& adata, const HeatmapOptions& opt, const std::string& save) {
  if (opt.swap_axes) throw ValueError("heatmap: swap_axes=True is not implemented");
  HeatmapData d = heatmap_data(adata, opt);
  const Colormap& cmap = colormap(opt.cmap);
  const size_t nv = d.var_names.size(), nc = d.cell_order.size();
  const bool labels = opt.show_gene_labels.value_or(nv <= 50);
  if (!opt.show_gene_labels && nv > 50)
    std::cerr << "scanpp warning: Gene labels are not shown when more than 50 genes are visualized.\n";
  std::vector<RGBA> group_colors;
  if (d.categorical) {
    const std::string& g = opt.groupby[0];
    if (opt.groupby.size() == 1 && std::holds_alternative<Categorical>(adata.obs.at(g))) {
      const auto all = categorical_colors(adata, g);
      for (int64_t c : d.groups.category_order) group_colors.push_back(all[static_cast<size_t>(c)]);
    } else {
      const auto& tab = tab20();
      for (size_t k = 0; k < d.categories.size(); ++k) group_colors.push_back(parse_color(tab[k % tab.size()]));
    }
  }
  const bool dendro = d.groups.dendro.has_value();
  const double dendro_w = dendro ? 1 : 0, groupby_w = d.categorical ? 0.2 : 0, cbar_w = 0.2;
  double width, height = 6, heat_w;
  if (opt.figsize) {
    width = opt.figsize->first;
    height = opt.figsize->second;
    heat_w = width - (dendro_w + groupby_w);
  } else {
    heat_w = labels ? static_cast<double>(nv) * 0.3 : 8;
    width = heat_w + dendro_w + groupby_w;
  }
  const bool groups = !d.groups.var_groups.empty();
  const auto cells = grid_cells(subplot_area(width, height), {groups ? 0.15 : 0, height},
                                {groupby_w, heat_w, dendro_w, cbar_w}, 0.15 / width, 0.13 / height);
  std::vector<RGBA> img(nc * nv);
  const Normalize norm{d.vmin, d.vmax};
  for (size_t i = 0; i < img.size(); ++i) img[i] = cmap(norm(d.values[i]));
  PlotInfo info;
  info.figure = save_tight(save, width, height, opt.dpi, [&](Figure& fig, double dx, double dy, BBox& bbox) {
    Axes ax(fig, shifted(cells[5], dx, dy));
    ax.set_xlim(-0.5, static_cast<double>(nv) - 0.5);
    ax.set_ylim(static_cast<double>(nc) - 0.5, -0.5);
    draw_cell_image(fig, ax.box(), static_cast<int>(nv), static_cast<int>(nc), img);
    ax.hide_yticks();
    if (labels) {
      TickSpec t;
      for (size_t j = 0; j < nv; ++j) t.pos.push_back(static_cast<double>(j));
      t.labels = d.var_names;
      t.rotation = 90;
      t.fontsize = kSmall;
      ax.set_xticks(t);
    } else {
      ax.hide_xticks();
    }
    ax.set_grid(false);
    if (d.categorical) {
      double s = 0;
      for (size_t k = 0; k + 1 < d.group_sizes.size(); ++k) {
        s += static_cast<double>(d.group_sizes[k]);
        fig.line(ax.box().x, ax.py(s - 0.5), ax.box().right(), ax.py(s - 0.5), LineStyle{kBlack, 1, {}});
      }
      draw_group_colorblocks(fig, shifted(cells[4], dx, dy), d.categories, d.group_sizes, group_colors,
                             d.groups.tidy.grouping.name, "left", bbox);
    }
    ax.draw_decorations();
    bbox.add(ax.decorations_box());
    draw_colorbar(fig, shifted(cells[7], dx, dy), cmap, d.vmin, d.vmax);
    bbox.add(colorbar_extent(shifted(cells[7], dx, dy), d.vmin, d.vmax));
    if (dendro) {
      Axes dax(fig, shifted(cells[6], dx, dy));
      dax.set_ylim(static_cast<double>(nc) - 0.5, -0.5);
      std::vector<double> ticks;
      double s = 0;
      for (int64_t c : d.group_sizes) {
        ticks.push_back(s + static_cast<double>(c) / 2);
        s += static_cast<double>(c);
      }
      dax.clip_begin();
      draw_dendrogram_links(dax, *d.groups.dendro, ticks, "right");
      dax.clip_end();
      bbox.add(dax.box());
    }
    if (groups) {
      const Rect vg = shifted(cells[1], dx, dy);
      draw_var_group_brackets(fig, vg, d.groups.var_groups, [&](double x) { return ax.px(x); }, -0.3, 0.3,
                              opt.var_group_rotation, bbox);
    }
  });
  info.main_px = info.figure.to_pixels(cells[5]);
  return info;
}

}  // namespace scanpp::pl
