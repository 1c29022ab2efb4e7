// sc.pl.highly_variable_genes: dispersions (normalised and not) against mean
// expression, highly variable genes in black and the others in grey.
#include <algorithm>
#include <cmath>

#include "scanpp/core/error.hpp"
#include "scanpp/pl/plots.hpp"

namespace scanpp::pl {

void highly_variable_genes(const AnnData& ad, const HvgPlotOptions& o) {
  if (o.fig.save.empty()) throw ValueError("pl.highly_variable_genes: give the output file with save=path");
  format_from_path(o.fig.save);
  const DataFrame& var = ad.var;
  const bool seurat_v3 = var.has("variances_norm") && !var.has("dispersions_norm");
  const std::string disp = seurat_v3 ? "variances" : "dispersions", disp_norm = disp + "_norm";
  const std::string mean = "means";
  for (const std::string& c : {std::string("highly_variable"), mean, disp, disp_norm})
    if (!var.has(c)) throw KeyError("var['" + c + "'] is missing: run pp.highly_variable_genes first");
  const auto hv = var.boolean("highly_variable");
  const auto means = var.numeric(mean);
  const auto fs = o.fig.figsize.value_or(std::array<double, 2>{2 * style::kFigWidth, style::kFigHeight});
  Figure fig(o.fig.save, fs[0], fs[1], o.fig.dpi);
  const double W = fig.width(), H = fig.height();
  // subplots_adjust(wspace=0.3) over the style's subplot box, two columns.
  const double L = style::kSubplotLeft * W, R = style::kSubplotRight * W, T = (1 - style::kSubplotTop) * H,
               B = (1 - style::kSubplotBottom) * H;
  const double cw = (R - L) / (2 + 0.3);
  const std::string data_type = seurat_v3 ? "variances" : "dispersions";
  for (int idx = 0; idx < 2; ++idx) {
    const auto d = var.numeric(idx == 0 ? disp_norm : disp);
    Axes ax(fig, {L + idx * cw * 1.3, T, cw, B - T});
    std::vector<double> xs, ys;
    std::vector<RGBA> cs;
    // Highly variable genes first ("black"), then the others ("grey"), as
    // Scanpy's two scatter calls; without the split every gene is black.
    const RGBA grey = parse_color("grey");
    for (int pass = 0; pass < 2; ++pass)
      for (size_t g = 0; g < means.size(); ++g) {
        const bool in_pass = o.highly_variable_genes ? ((hv[g] != 0) == (pass == 0)) : pass == 0;
        if (!in_pass) continue;
        xs.push_back(means[g]);
        ys.push_back(d[g]);
        cs.push_back(pass == 0 ? kBlack : grey);
      }
    if (o.log) {
      ax.set_xscale(Scale::Log);
      ax.set_yscale(Scale::Log);
    }
    ax.autoscale_x(xs);
    ax.autoscale_y(ys);
    ax.set_xlabel("mean expressions of genes");
    ax.set_ylabel(data_type + " of genes" + (idx == 0 ? " (normalized)" : " (not normalized)"));
    ax.set_grid(true);
    ax.draw_background();
    ax.clip_begin();
    ax.scatter(xs, ys, cs, 1.0);  // s=1
    ax.clip_end();
    ax.draw_decorations();
    if (idx == 0 && o.highly_variable_genes) {
      // matplotlib's framed legend, upper right (loc='best' finds the empty corner of these plots).
      const double fsz = style::kLegendFontSize;
      const std::vector<std::pair<std::string, RGBA>> entries = {{"highly variable genes", kBlack},
                                                                 {"other genes", parse_color("grey")}};
      double tw = 0;
      for (auto& e : entries) tw = std::max(tw, fig.text_extents(e.first, {.size = fsz}).width);
      const double row = fig.text_extents("lp", {.size = fsz}).height, pad = 0.4 * fsz;
      const double w = pad * 2 + 0.5 * fsz + 0.4 * fsz + tw, h = pad * 2 + 2 * row + 0.5 * fsz;
      const Rect lb{ax.box().right() - 0.5 * fsz - w, ax.box().y + 0.5 * fsz, w, h};
      fig.fill_rect(lb, {1, 1, 1, 0.8});
      fig.stroke_rect(lb, {style::kGridColor, 0.8});
      for (size_t i = 0; i < entries.size(); ++i) {
        const double cy = lb.y + pad + row / 2 + static_cast<double>(i) * (row + 0.5 * fsz);
        fig.circle(lb.x + pad + 0.25 * fsz, cy, 1.5, entries[i].second);
        fig.text(lb.x + pad + 0.9 * fsz, cy, entries[i].first, {.size = fsz, .va = VAlign::Center});
      }
    }
  }
  fig.save();
}

}  // namespace scanpp::pl
