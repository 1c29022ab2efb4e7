// Scanpy's ranking plot (pl.pca_variance_ratio, pl.pca_loadings): scores in
// decreasing order with each item's name written vertically at its point.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "scanpp/core/error.hpp"
#include "scanpp/pl/plots.hpp"

namespace scanpp::pl {

namespace {

struct RankingPanel {
  std::string title;
  std::vector<double> score;         // one per item
  std::vector<std::string> labels;   // one per item
};

// numpy argsort(score)[::-1]: decreasing; ties in reverse of a stable ascending order.
std::vector<size_t> order_desc(const std::vector<double>& s) {
  std::vector<size_t> idx(s.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return s[a] < s[b]; });
  std::reverse(idx.begin(), idx.end());
  return idx;
}

void draw_ranking(const std::vector<RankingPanel>& panels, int n_points, bool include_lowest, bool log,
                  const FigureOptions& fo) {
  const size_t n = panels.size();
  const size_t n_rows = n <= 5 ? 1 : 2, n_cols = n <= 5 ? n : (n + 1) / 2;
  const auto fs = fo.figsize.value_or(std::array<double, 2>{style::kFigWidth, style::kFigHeight});
  const double W = static_cast<double>(n_cols) * fs[0] * 72, H = static_cast<double>(n_rows) * fs[1] * 72;
  Figure fig(fo.save, W / 72, H / 72, fo.dpi);
  const double fx = static_cast<double>(n_cols), fy = static_cast<double>(n_rows);
  const double left = 0.2 / fx, bottom = 0.13 / fy, right = 1 - (fx - 1) * left - 0.01 / fx,
               top = 1 - (fy - 1) * bottom - 0.1 / fy, wspace = 0.2, hspace = 0.3;
  const double cw = (right - left) * W / (fx + wspace * (fx - 1)), ch = (top - bottom) * H / (fy + hspace * (fy - 1));
  for (size_t k = 0; k < n; ++k) {
    const RankingPanel& P = panels[k];
    const double col = static_cast<double>(k % n_cols), row = static_cast<double>(k / n_cols);
    Axes ax(fig, {left * W + col * cw * (1 + wspace), (1 - top) * H + row * ch * (1 + hspace), cw, ch});
    const auto order = order_desc(P.score);
    std::vector<std::pair<double, size_t>> placed;  // x position, item
    if (!include_lowest) {
      for (size_t i = 0; i < order.size() && i < static_cast<size_t>(n_points) + 1; ++i) placed.emplace_back(i, order[i]);
    } else {
      const size_t top_n = static_cast<size_t>(n_points / 2), low_n = static_cast<size_t>(n_points - n_points / 2);
      const size_t nt = std::min(top_n, order.size());
      for (size_t i = 0; i < nt; ++i) placed.emplace_back(i, order[i]);
      const size_t nl = std::min(low_n, order.size());
      const bool gap = nt + nl < order.size();
      for (size_t i = 0; i < nl; ++i)
        placed.emplace_back(static_cast<double>(nt + i + (gap ? 2 : 0)), order[order.size() - nl + i]);
    }
    if (placed.empty()) continue;
    double smin = INFINITY, smax = -INFINITY, xmax = 0;
    for (auto& [x, g] : placed) {
      smin = std::min(smin, P.score[g]);
      smax = std::max(smax, P.score[g]);
      xmax = std::max(xmax, x);
    }
    if (log) ax.set_yscale(Scale::Log);
    ax.set_xlim(-0.9, xmax + 0.9);
    double lo = (smin > 0 ? 0.95 : 1.05) * smin, hi = (smax > 0 ? 1.05 : 0.95) * smax;
    if (log && !(lo > 0)) throw ValueError("log scale needs positive scores");
    if (hi == lo) {
      lo -= 0.5;
      hi += 0.5;
    }
    ax.set_ylim(lo, hi);
    ax.set_title(P.title);
    if (n <= 5 || k >= n_cols) ax.set_xlabel("ranking");
    ax.set_grid(true);
    ax.draw_background();
    const TextStyle st{.size = 8, .ha = HAlign::Center, .va = VAlign::Bottom, .rotation = 90};
    for (auto& [x, g] : placed) ax.text(x, P.score[g], P.labels[g], st);
    if (include_lowest && placed.size() < P.score.size()) {
      const size_t nt = std::min(static_cast<size_t>(n_points / 2), order.size());
      if (nt > 0 && nt < placed.size())
        ax.text(static_cast<double>(nt), (P.score[placed[nt - 1].second] + P.score[placed[nt].second]) / 2,
                "\xe2\x8b\xae", st);
    }
    ax.draw_decorations();
  }
  fig.save();
}

const Array& uns_array(const AnnData& ad, const std::string& a, const std::string& b) {
  auto it = ad.uns.find(a);
  if (it == ad.uns.end() || !it->second.is<Dict>()) throw KeyError("uns['" + a + "'] is missing: run tl.pca first");
  auto jt = it->second.get<Dict>().find(b);
  if (jt == it->second.get<Dict>().end() || !jt->second.is<Array>())
    throw KeyError("uns['" + a + "']['" + b + "'] is missing");
  return jt->second.get<Array>();
}

}  // namespace

void pca_variance_ratio(const AnnData& ad, const PcaVarianceRatioOptions& o) {
  if (o.fig.save.empty()) throw ValueError("pl.pca_variance_ratio: give the output file with save=path");
  format_from_path(o.fig.save);
  if (o.n_pcs < 1) throw ValueError("n_pcs must be at least 1");
  const Array& vr = uns_array(ad, "pca", "variance_ratio");
  RankingPanel p;
  p.title = "variance ratio";
  for (int64_t i = 0; i < vr.size(); ++i) {
    p.score.push_back(vr.get_double(i));
    p.labels.push_back("PC" + std::to_string(i + 1));
  }
  draw_ranking({p}, o.n_pcs, false, o.log, o.fig);
}

void pca_loadings(const AnnData& ad, const PcaLoadingsOptions& o) {
  if (o.fig.save.empty()) throw ValueError("pl.pca_loadings: give the output file with save=path");
  format_from_path(o.fig.save);
  auto it = ad.varm.find("PCs");
  if (it == ad.varm.end() || !it->second.is<Array>()) throw KeyError("varm['PCs'] is missing: run tl.pca first");
  const Array& pcs = it->second.get<Array>();
  if (pcs.ndim() != 2 || pcs.shape()[0] != ad.n_vars()) throw ValueError("varm['PCs'] is not n_vars x n_comps");
  const int64_t nc = pcs.shape()[1];
  std::vector<RankingPanel> panels;
  for (int c : o.components) {
    if (c < 1 || c > nc) throw ValueError("component " + std::to_string(c) + " is outside 1.." + std::to_string(nc));
    RankingPanel p;
    p.title = "PC" + std::to_string(c);
    for (int64_t g = 0; g < ad.n_vars(); ++g) p.score.push_back(pcs.get_double(g * nc + (c - 1)));
    p.labels = ad.var_names();
    panels.push_back(std::move(p));
  }
  if (panels.empty()) throw ValueError("pl.pca_loadings: no components given");
  const int n_points = o.n_points.value_or(static_cast<int>(std::min<int64_t>(30, ad.n_vars())));
  draw_ranking(panels, n_points, o.include_lowest, false, o.fig);
}

}  // namespace scanpp::pl
