#include "scanpp/pl/violin.hpp"

#include <algorithm>
#include <cmath>

#include "scanpp/core/error.hpp"
#include "scanpp/pl/grouped_data.hpp"
#include "scanpp/pl/kde.hpp"
#include "scanpp/pl/palettes.hpp"
#include "scanpp/pl/stacked_violin.hpp"

namespace scanpp::pl {

namespace {

// One panel's content: violins along x at 0, 1, ... with their labels.
struct Panel {
  std::vector<std::string> xlabels;
  std::vector<std::vector<double>> values;  // per violin
  std::vector<RGBA> colors;
  std::string title, xlabel, ylabel;
};

double finite_range(const std::vector<std::vector<double>>& v, bool log, double* lo_out) {
  double lo = 1e300, hi = -1e300;
  for (auto& a : v)
    for (double x : a)
      if (std::isfinite(x) && (!log || x > 0)) lo = std::min(lo, x), hi = std::max(hi, x);
  *lo_out = lo;
  return hi;
}

void draw_panel(Figure& fig, const Rect& box, const Panel& p, const ViolinOptions& opt, uint64_t seed, BBox& bbox,
                bool despine) {
  Axes ax(fig, box);
  const auto n = static_cast<double>(p.values.size());
  ax.set_xlim(-0.5, n - 0.5);
  double lo;
  double hi = finite_range(p.values, opt.log, &lo);
  if (lo > hi) lo = 0, hi = 1;
  if (opt.log) {
    ax.set_yscale(Scale::Log);
    const double a = std::log10(lo), b = std::log10(hi), m = a == b ? 1 : 0.05 * (b - a);
    ax.set_ylim(std::pow(10, a - m), std::pow(10, b + m));
  } else {
    const double m = lo == hi ? (lo == 0 ? 0.05 : 0.05 * std::fabs(lo)) : 0.05 * (hi - lo);
    ax.set_ylim(lo - m, hi + m);
  }
  TickSpec xt;
  for (size_t i = 0; i < p.xlabels.size(); ++i) xt.pos.push_back(static_cast<double>(i));
  xt.labels = p.xlabels;
  if (opt.rotation) xt.rotation = *opt.rotation;
  if (p.xlabels.size() == 1 && p.xlabels[0].empty()) xt = {};
  ax.set_xticks(xt);
  ax.set_grid(false);
  ax.set_xlabel(p.xlabel);
  ax.set_ylabel(p.ylabel);
  ax.set_title(p.title);
  if (despine) ax.set_frameon(false);
  ax.draw_background();
  KdeOptions ko;
  ko.cut = 0;
  std::vector<ViolinDensity> vs;
  for (auto& v : p.values) {
    if (opt.log) {
      // seaborn fits the KDE in log space on a log axis.
      std::vector<double> lv;
      for (double x : v)
        if (x > 0) lv.push_back(std::log10(x));
      auto d = violin_density(lv, ko);
      for (double& s : d.support) s = std::pow(10, s);
      vs.push_back(std::move(d));
    } else {
      vs.push_back(violin_density(v, ko));
    }
  }
  density_norm(vs, opt.density_norm);
  ax.clip_begin();
  for (size_t i = 0; i < vs.size(); ++i)
    draw_violin(ax, vs[i], static_cast<double>(i), 0.4, p.colors[i], violin_edge_gray({p.colors[i]}), 1.0);
  if (opt.stripplot) {
    for (size_t i = 0; i < p.values.size(); ++i) {
      const auto& v = p.values[i];
      const auto jit = strip_jitter(static_cast<int64_t>(v.size()), opt.jitter, seed + i);
      std::vector<double> X, Y;
      for (size_t k = 0; k < v.size(); ++k) {
        if (!std::isfinite(v[k]) || (opt.log && v[k] <= 0)) continue;
        X.push_back(ax.px(static_cast<double>(i) + jit[k]));
        Y.push_back(ax.py(v[k]));
      }
      std::vector<RGBA> cols(X.size(), kBlack);
      fig.discs(X, Y, cols, opt.size / 2, ax.box());
    }
  }
  ax.clip_end();
  ax.draw_decorations();
  if (despine) {
    // seaborn's FacetGrid keeps only the left and bottom spines.
    const LineStyle spine{kBlack, style::kAxesLineWidth, {}};
    fig.line(box.x, box.y, box.x, box.bottom(), spine);
    fig.line(box.x, box.bottom(), box.right(), box.bottom(), spine);
  }
  bbox.add(ax.decorations_box());
  bbox.add(box);
}

}  // namespace

PlotInfo violin(AnnData& adata, const ViolinOptions& opt, const std::string& save) {
  if (opt.keys.empty()) throw ValueError("violin needs at least one key");
  std::vector<std::string> keys;
  for (auto& k : opt.keys)
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  ObsValuesOptions vo;
  vo.use_raw = resolve_use_raw(adata, opt.use_raw, opt.layer);
  vo.layer = opt.layer;
  const auto values = obs_values(adata, keys, vo);
  std::vector<std::string> ylabels;
  if (opt.ylabel) ylabels = *opt.ylabel;
  if (!opt.groupby && opt.ylabel && ylabels.size() != 1)
    throw ValueError("Expected number of y-labels to be `1`, found `" + std::to_string(ylabels.size()) + "`.");
  if (opt.groupby && opt.ylabel && ylabels.size() != keys.size() && ylabels.size() != 1)
    throw ValueError("Expected number of y-labels to be `" + std::to_string(keys.size()) + "`, found `" +
                     std::to_string(ylabels.size()) + "`.");
  const RGBA c0 = parse_color(default_20()[0]);
  std::vector<Panel> panels;
  std::string xlabel = opt.xlabel;
  if (!opt.groupby) {
    if (opt.multi_panel) {
      for (size_t k = 0; k < keys.size(); ++k) {
        Panel p;
        p.xlabels = {""};
        p.values = {values[k]};
        p.colors = {c0};
        p.title = keys[k];
        p.ylabel = k == 0 ? (opt.ylabel ? ylabels[0] : "value") : "";
        panels.push_back(std::move(p));
      }
    } else {
      Panel p;
      p.xlabels = keys;
      p.values = values;
      p.colors.assign(keys.size(), c0);
      p.xlabel = opt.xlabel;
      p.ylabel = opt.ylabel ? ylabels[0] : "value";
      panels.push_back(std::move(p));
    }
  } else {
    const std::string& g = *opt.groupby;
    if (!adata.obs.has(g)) throw KeyError("groupby '" + g + "' is not an obs column");
    if (!std::holds_alternative<Categorical>(adata.obs.at(g)))
      throw ValueError("The column `adata.obs['" + g + "']` needs to be categorical.");
    const auto colors = categorical_colors(adata, g);
    const Grouping grouping = make_grouping(adata, {g});
    std::vector<int64_t> shown;
    if (opt.order) {
      for (auto& c : *opt.order) {
        auto it = std::find(grouping.categories.begin(), grouping.categories.end(), c);
        if (it == grouping.categories.end()) throw ValueError("order: '" + c + "' is not a category of '" + g + "'");
        shown.push_back(it - grouping.categories.begin());
      }
    } else {
      for (int64_t c = 0; c < grouping.n_categories(); ++c) shown.push_back(c);
    }
    if (xlabel.empty() && !opt.rotation) {
      xlabel = g;
      std::replace(xlabel.begin(), xlabel.end(), '_', ' ');
    }
    for (size_t k = 0; k < keys.size(); ++k) {
      Panel p;
      for (int64_t c : shown) {
        p.xlabels.push_back(grouping.categories[static_cast<size_t>(c)]);
        p.colors.push_back(colors[static_cast<size_t>(c)]);
        std::vector<double> v;
        for (size_t i = 0; i < grouping.codes.size(); ++i)
          if (grouping.codes[i] == c) v.push_back(values[k][i]);
        p.values.push_back(std::move(v));
      }
      p.xlabel = xlabel;
      p.ylabel = opt.ylabel ? ylabels[ylabels.size() == 1 ? 0 : k] : keys[k];
      panels.push_back(std::move(p));
    }
  }
  // Panel geometry: seaborn's catplot facets are 5 in squares; Scanpy's
  // setup_axes panels are the style's 4 in figure widened by 1.1 for ticks.
  const bool facets = opt.multi_panel && !opt.groupby;
  double panel_w, panel_h, gap, left = 0.8, bottom = 0.6, top = 0.4;
  if (facets) {
    panel_w = 5 - 0.8;
    panel_h = 5 - 1.0;
    gap = 0.8;
  } else {
    panel_w = 4 * 1.1 - 1 - 0.09 - 0.5;
    panel_h = 4 * (style::kSubplotTop - style::kSubplotBottom);
    gap = 0.3 * panel_w + 0.8;
    if (panels.size() == 1 && panels[0].values.size() > 6) panel_w = std::max(panel_w, 0.45 * panels[0].values.size());
  }
  const auto np = static_cast<double>(panels.size());
  const double W = left + np * panel_w + (np - 1) * gap + 0.3, H = bottom + panel_h + top;
  PlotInfo info;
  Rect first;
  info.figure = save_tight(save, W, H, opt.dpi, [&](Figure& fig, double dx, double dy, BBox& bbox) {
    for (size_t k = 0; k < panels.size(); ++k) {
      const Rect box{(left + static_cast<double>(k) * (panel_w + gap)) * 72 + dx, top * 72 + dy, panel_w * 72,
                     panel_h * 72};
      if (k == 0) first = {box.x - dx, box.y - dy, box.w, box.h};
      draw_panel(fig, box, panels[k], opt, opt.seed + 1000 * k, bbox, facets);
    }
  });
  info.main_px = info.figure.to_pixels(first);
  return info;
}

}  // namespace scanpp::pl
