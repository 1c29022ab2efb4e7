// sc.pl.rank_genes_groups_violin: per group, split violins of its top genes,
// the group's cells on the left half, the reference's (or the rest's) on the right.
#include <algorithm>
#include <cmath>

#include "scanpp/core/error.hpp"
#include "scanpp/pl/grouped_data.hpp"
#include "scanpp/pl/kde.hpp"
#include "scanpp/pl/palettes.hpp"
#include "scanpp/pl/rank_genes_groups_plot.hpp"

namespace scanpp::pl {

namespace {

// Half a violin: to the left (side -1) or right (+1) of x.
void draw_half_violin(Axes& ax, const ViolinDensity& v, double x, int side, double half_width, const RGBA& fill,
                      const RGBA& edge) {
  if (v.empty()) return;
  Figure& fig = ax.figure();
  if (v.single_value()) {
    fig.line(ax.px(x), ax.py(v.support[0]), ax.px(x + side * half_width), ax.py(v.support[0]), LineStyle{edge, 1, {}});
    return;
  }
  std::vector<std::pair<double, double>> pts;
  for (size_t k = 0; k < v.support.size(); ++k) pts.emplace_back(ax.px(x + side * half_width * v.density[k]), ax.py(v.support[k]));
  for (size_t k = v.support.size(); k-- > 0;) pts.emplace_back(ax.px(x), ax.py(v.support[k]));
  fig.polygon(pts, fill, LineStyle{edge, 1, {}});
}

}  // namespace

std::vector<PlotInfo> rank_genes_groups_violin(AnnData& adata, const RankGenesGroupsViolinOptions& opt,
                                               const std::string& save) {
  const RankedGenes r = read_ranked_genes(adata, opt.key);
  const std::vector<std::string> groups = opt.groups ? *opt.groups : r.group_names;
  if (!adata.obs.has(r.groupby)) throw KeyError("groupby '" + r.groupby + "' of the result is not an obs column");
  const Grouping grouping = make_grouping(adata, {r.groupby});
  ObsValuesOptions vo;
  vo.use_raw = opt.use_raw.value_or(r.use_raw);
  vo.gene_symbols = opt.gene_symbols;
  const RGBA c_group = parse_color(default_20()[0]), c_ref = parse_color(default_20()[1]);
  std::vector<PlotInfo> out;
  for (auto& g : groups) {
    if (!r.names.count(g)) throw KeyError("group '" + g + "' is not in uns['" + opt.key + "']");
    std::vector<std::string> genes;
    if (opt.gene_names) {
      genes = *opt.gene_names;
    } else {
      const auto& nm = r.names.at(g);
      for (size_t k = 0; k < nm.size() && static_cast<int>(genes.size()) < opt.n_genes; ++k) genes.push_back(nm[k]);
    }
    const auto values = obs_values(adata, genes, vo);
    // Cells of the group (hue 0) and of the reference or the rest (hue 1); others left out.
    std::vector<int> hue(grouping.codes.size(), -1);
    for (size_t i = 0; i < hue.size(); ++i) {
      const int32_t c = grouping.codes[i];
      if (c < 0) continue;
      const std::string& lab = grouping.categories[static_cast<size_t>(c)];
      if (lab == g) hue[i] = 0;
      else if (r.reference == "rest" || lab == r.reference) hue[i] = 1;
    }
    std::vector<std::vector<ViolinDensity>> dens(genes.size());  // [gene][hue]
    std::vector<std::vector<std::vector<double>>> pts(genes.size(), std::vector<std::vector<double>>(2));
    double lo = 1e300, hi = -1e300;
    for (size_t k = 0; k < genes.size(); ++k) {
      for (size_t i = 0; i < hue.size(); ++i)
        if (hue[i] >= 0) pts[k][static_cast<size_t>(hue[i])].push_back(values[k][i]);
      for (int h = 0; h < 2; ++h) {
        dens[k].push_back(violin_density(pts[k][static_cast<size_t>(h)], {}));  // seaborn's default cut = 2
        for (double s : dens[k].back().support) lo = std::min(lo, s), hi = std::max(hi, s);
        for (double s : pts[k][static_cast<size_t>(h)]) lo = std::min(lo, s), hi = std::max(hi, s);
      }
      if (opt.split) density_norm(dens[k], opt.density_norm);
    }
    if (!opt.split) {
      std::vector<ViolinDensity> all;
      for (auto& d : dens) all.insert(all.end(), d.begin(), d.end());
      density_norm(all, opt.density_norm);
      for (size_t k = 0; k < dens.size(); ++k) dens[k] = {all[2 * k], all[2 * k + 1]};
    }
    if (lo > hi) lo = 0, hi = 1;
    const double m = hi > lo ? 0.05 * (hi - lo) : 0.5;
    const std::string path = groups.size() > 1 ? path_with_suffix(save, g) : save;
    const double W = style::kFigWidth, H = style::kFigHeight;
    const Rect area = subplot_area(W, H);
    PlotInfo info;
    info.figure = save_tight(path, W, H, opt.dpi, [&](Figure& fig, double dx, double dy, BBox& bbox) {
      Axes ax(fig, shifted(area, dx, dy));
      const auto n = static_cast<double>(genes.size());
      ax.set_xlim(-0.5, n - 0.5);
      ax.set_ylim(lo - m, hi + m);
      TickSpec t;
      for (size_t k = 0; k < genes.size(); ++k) t.pos.push_back(static_cast<double>(k));
      t.labels = genes;
      t.rotation = 90;
      ax.set_xticks(t);
      ax.set_xlabel("genes");
      ax.set_ylabel("expression");
      ax.set_title(g + " vs. " + r.reference);
      ax.set_grid(false);
      ax.draw_background();
      ax.clip_begin();
      const RGBA edge = violin_edge_gray({c_group, c_ref});
      for (size_t k = 0; k < genes.size(); ++k) {
        const double x = static_cast<double>(k);
        if (opt.split) {
          draw_half_violin(ax, dens[k][0], x, -1, 0.4, c_group, edge);
          draw_half_violin(ax, dens[k][1], x, +1, 0.4, c_ref, edge);
        } else {
          draw_half_violin(ax, dens[k][0], x - 0.2, -1, 0.2, c_group, edge);
          draw_half_violin(ax, dens[k][0], x - 0.2, +1, 0.2, c_group, edge);
          draw_half_violin(ax, dens[k][1], x + 0.2, -1, 0.2, c_ref, edge);
          draw_half_violin(ax, dens[k][1], x + 0.2, +1, 0.2, c_ref, edge);
        }
        if (opt.strip) {
          for (int h = 0; h < 2; ++h) {
            const auto& v = pts[k][static_cast<size_t>(h)];
            // dodge: each hue's strip centred on its half, jitter shared between the two.
            const auto jit = strip_jitter(static_cast<int64_t>(v.size()), opt.jitter / 2, opt.seed + 7 * k + h);
            std::vector<double> X, Y;
            for (size_t i = 0; i < v.size(); ++i) {
              X.push_back(ax.px(x + (h == 0 ? -0.2 : 0.2) + jit[i]));
              Y.push_back(ax.py(v[i]));
            }
            std::vector<RGBA> cols(X.size(), kBlack);
            fig.discs(X, Y, cols, opt.size / 2, ax.box());
          }
        }
      }
      ax.clip_end();
      ax.draw_decorations();
      bbox.add(ax.decorations_box());
    });
    info.main_px = info.figure.to_pixels(area);
    out.push_back(info);
  }
  return out;
}

}  // namespace scanpp::pl
