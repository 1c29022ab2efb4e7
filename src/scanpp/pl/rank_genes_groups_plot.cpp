#include "scanpp/pl/rank_genes_groups_plot.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>

#include "scanpp/core/error.hpp"

namespace scanpp::pl {

namespace {

std::string dict_string(const Dict& d, const std::string& k, const std::string& where) {
  auto it = d.find(k);
  if (it == d.end()) throw KeyError(where + " has no '" + k + "'");
  if (it->second.is<std::string>()) return it->second.get<std::string>();
  if (it->second.is<StringArray>() && !it->second.get<StringArray>().values.empty())
    return it->second.get<StringArray>().values[0];
  throw ValueError(where + "['" + k + "'] is not a string");
}

}  // namespace

RankedGenes read_ranked_genes(const AnnData& adata, const std::string& key, size_t max_genes) {
  auto it = adata.uns.find(key);
  if (it == adata.uns.end()) throw KeyError("uns['" + key + "'] not found: run tl.rank_genes_groups first");
  if (!it->second.is<Dict>()) throw ValueError("uns['" + key + "'] is not a rank_genes_groups result");
  const Dict& u = it->second.get<Dict>();
  const std::string where = "uns['" + key + "']";
  auto pit = u.find("params");
  if (pit == u.end() || !pit->second.is<Dict>()) throw KeyError(where + " has no 'params'");
  const Dict& params = pit->second.get<Dict>();
  RankedGenes r;
  r.key = key;
  r.groupby = dict_string(params, "groupby", where + "['params']");
  r.reference = dict_string(params, "reference", where + "['params']");
  if (auto ur = params.find("use_raw"); ur != params.end() && ur->second.is<Array>())
    r.use_raw = ur->second.get<Array>().get_double(0) != 0;
  auto nit = u.find("names");
  if (nit == u.end() || !nit->second.is<RecArray>()) throw KeyError(where + " has no 'names' record array");
  for (auto& f : nit->second.get<RecArray>().fields) {
    r.group_names.push_back(f.name);
    if (auto* s = std::get_if<std::vector<std::string>>(&f.values))
      r.names[f.name].assign(s->begin(), s->begin() + static_cast<ptrdiff_t>(std::min(max_genes, s->size())));
    else throw ValueError(where + "['names'] field '" + f.name + "' is not text");
  }
  auto numeric = [&](const std::string& what, std::map<std::string, std::vector<double>>& out, bool required) {
    auto s = u.find(what);
    if (s == u.end() || !s->second.is<RecArray>()) {
      if (required) throw KeyError(where + " has no '" + what + "' record array");
      return;
    }
    for (auto& f : s->second.get<RecArray>().fields)
      if (auto* a = std::get_if<Array>(&f.values)) {
        const auto n = std::min<int64_t>(a->size(), static_cast<int64_t>(std::min<size_t>(max_genes, INT64_MAX)));
        std::vector<double>& v = out[f.name];
        if (n == a->size()) {
          v = a->to_vector<double>();
        } else {
          v.resize(static_cast<size_t>(n));
          for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = a->get_double(i);
        }
      }
  };
  numeric("scores", r.scores, true);
  numeric("logfoldchanges", r.logfoldchanges, false);
  numeric("pvals", r.pvals, false);
  numeric("pvals_adj", r.pvals_adj, false);
  return r;
}

PlotInfo rank_genes_groups_plot(AnnData& adata, const RankGenesGroupsPlotOptions& opt, const std::string& save) {
  if (opt.n_genes < 1) throw ValueError("Specifying a negative number for n_genes has not been implemented for this plot.");
  if (opt.ncols < 1) throw ValueError("ncols must be at least 1");
  const RankedGenes r = read_ranked_genes(adata, opt.key, static_cast<size_t>(opt.n_genes));
  const std::vector<std::string> groups = opt.groups ? *opt.groups : r.group_names;
  if (groups.empty()) throw ValueError("no groups to plot");
  for (auto& g : groups)
    if (!r.names.count(g) || !r.scores.count(g)) throw KeyError("group '" + g + "' is not in uns['" + opt.key + "']");
  std::map<std::string, std::string> symbol;
  if (opt.gene_symbols) {
    const DataFrame& var = r.use_raw && adata.raw ? adata.raw->var : adata.var;
    if (!var.has(*opt.gene_symbols)) throw KeyError("gene_symbols column '" + *opt.gene_symbols + "' not in var");
    for (int64_t i = 0; i < var.n_rows(); ++i)
      symbol[var.index()[static_cast<size_t>(i)]] = column_cell_text(var.at(*opt.gene_symbols), i);
  }
  const int nx = std::min(opt.ncols, static_cast<int>(groups.size()));
  const int ny = (static_cast<int>(groups.size()) + nx - 1) / nx;
  const double W = nx * style::kFigWidth, H = ny * style::kFigHeight;
  const std::vector<double> wr(static_cast<size_t>(nx), 1.0), hr(static_cast<size_t>(ny), 1.0);
  const auto cells = grid_cells(subplot_area(W, H), hr, wr, 0.22, 0.3);
  // Shared y range: all shown scores, the top widened by 30% for the names.
  double ymin = std::numeric_limits<double>::infinity(), ymax = -ymin;
  std::vector<std::pair<double, double>> ranges;
  for (auto& g : groups) {
    const auto& s = r.scores.at(g);
    const size_t n = std::min<size_t>(static_cast<size_t>(opt.n_genes), s.size());
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (size_t k = 0; k < n; ++k) lo = std::min(lo, s[k]), hi = std::max(hi, s[k]);
    ymin = std::min(ymin, lo);
    ymax = std::max(ymax, hi);
    ranges.emplace_back(lo, hi + 0.3 * (hi - lo));
  }
  if (opt.sharey) ymax += 0.3 * (ymax - ymin);
  PlotInfo info;
  info.figure = save_tight(save, W, H, opt.dpi, [&](Figure& fig, double dx, double dy, BBox& bbox) {
    for (size_t c = 0; c < groups.size(); ++c) {
      const auto& g = groups[c];
      Axes ax(fig, shifted(cells[c], dx, dy));
      ax.set_xlim(-0.9, opt.n_genes - 0.1);
      double lo = opt.sharey ? ymin : ranges[c].first, hi = opt.sharey ? ymax : ranges[c].second;
      if (!(hi > lo)) lo -= 0.5, hi += 0.5;
      ax.set_ylim(lo, hi);
      ax.set_title(g + " vs. " + r.reference);
      if (static_cast<int>(c) >= nx * (ny - 1)) ax.set_xlabel("ranking");
      if (static_cast<int>(c) % nx == 0) ax.set_ylabel("score");
      ax.set_grid(false);
      ax.draw_background();
      const auto& names = r.names.at(g);
      const auto& s = r.scores.at(g);
      const size_t n = std::min<size_t>(static_cast<size_t>(opt.n_genes), std::min(names.size(), s.size()));
      TextStyle ts;
      ts.size = opt.fontsize;
      ts.rotation = 90;
      ts.ha = HAlign::Center;
      ts.va = VAlign::Bottom;
      for (size_t k = 0; k < n; ++k) {
        std::string label = names[k];
        if (opt.gene_symbols && symbol.count(label)) label = symbol[label];
        // Names are not clipped to the axes (matplotlib's text default).
        ax.text(static_cast<double>(k), s[k], label, ts);
        bbox.add(fig.text_box(ax.px(static_cast<double>(k)), ax.py(s[k]), label, ts));
      }
      ax.draw_decorations();
      bbox.add(ax.decorations_box());
    }
  });
  info.main_px = info.figure.to_pixels(cells[0]);
  return info;
}

std::pair<VarNames, std::string> ranked_var_names(const AnnData& adata, const RankedSelection& sel) {
  if (sel.var_names && sel.n_genes) throw ValueError("The arguments n_genes and var_names are mutually exclusive.");
  const RankedGenes r = read_ranked_genes(adata, sel.key);
  const std::string groupby = sel.groupby ? *sel.groupby : r.groupby;
  if (sel.var_names) return {VarNames::list(*sel.var_names), groupby};
  const std::vector<std::string> groups = sel.groups ? *sel.groups : r.group_names;
  const int n_genes = sel.n_genes.value_or(10);
  std::vector<std::pair<std::string, std::vector<std::string>>> m;
  std::map<std::string, std::string> symbol;
  if (sel.gene_symbols) {
    const DataFrame& var = r.use_raw && adata.raw ? adata.raw->var : adata.var;
    if (!var.has(*sel.gene_symbols)) throw KeyError("gene_symbols column '" + *sel.gene_symbols + "' not in var");
    for (int64_t i = 0; i < var.n_rows(); ++i)
      symbol[var.index()[static_cast<size_t>(i)]] = column_cell_text(var.at(*sel.gene_symbols), i);
  }
  for (auto& g : groups) {
    if (!r.names.count(g)) throw KeyError("group '" + g + "' is not in uns['" + sel.key + "']");
    const auto& names = r.names.at(g);
    std::vector<std::string> genes;
    for (size_t k = 0; k < names.size(); ++k) {
      if (names[k].empty() || names[k] == "nan") continue;
      if (sel.min_logfoldchange) {
        auto lf = r.logfoldchanges.find(g);
        if (lf == r.logfoldchanges.end())
          throw KeyError("min_logfoldchange needs 'logfoldchanges' in uns['" + sel.key + "']");
        if (!(lf->second[k] >= *sel.min_logfoldchange)) continue;
      }
      genes.push_back(sel.gene_symbols && symbol.count(names[k]) ? symbol[names[k]] : names[k]);
    }
    if (genes.empty()) {
      std::cerr << "scanpp warning: No genes found for group " << g << "\n";
      continue;
    }
    if (n_genes < 0) genes.erase(genes.begin(), genes.end() - std::min<int64_t>(-n_genes, static_cast<int64_t>(genes.size())));
    else if (static_cast<size_t>(n_genes) < genes.size()) genes.resize(static_cast<size_t>(n_genes));
    m.emplace_back(g, genes);
  }
  return {VarNames::mapping(m), groupby};
}

namespace {

template <class O>
O with_ranked(const AnnData& adata, const RankedSelection& sel, O opt) {
  auto [vn, groupby] = ranked_var_names(adata, sel);
  opt.var_names = std::move(vn);
  opt.groupby = {groupby};
  // The names are var_names already when gene_symbols mapped them; look them up in that column.
  if (sel.gene_symbols && !opt.gene_symbols) opt.gene_symbols = sel.gene_symbols;
  return opt;
}

}  // namespace

std::pair<GroupMatrix, std::string> ranked_values(const AnnData& adata, const RankedSelection& sel,
                                                  const std::vector<std::string>& genes) {
  const std::string& v = *sel.values_to_plot;
  const RankedGenes r = read_ranked_genes(adata, sel.key);
  const std::string column = v.rfind("log10_", 0) == 0 ? v.substr(6) : v;
  const std::map<std::string, std::vector<double>>* src = nullptr;
  if (column == "scores") src = &r.scores;
  else if (column == "logfoldchanges") src = &r.logfoldchanges;
  else if (column == "pvals") src = &r.pvals;
  else if (column == "pvals_adj") src = &r.pvals_adj;
  if (!src || (v.rfind("log10_", 0) == 0 && column != "pvals" && column != "pvals_adj"))
    throw ValueError("values_to_plot must be one of 'scores', 'logfoldchanges', 'pvals', 'pvals_adj', "
                     "'log10_pvals', 'log10_pvals_adj'; got '" + v + "'");
  if (src->empty()) throw KeyError("uns['" + sel.key + "'] has no '" + column + "'");
  const int64_t n_vars = r.use_raw && adata.raw ? adata.raw->n_vars() : adata.n_vars();
  GroupMatrix m;
  m.cols = genes;
  const std::vector<std::string> groups = sel.groups ? *sel.groups : r.group_names;
  for (auto& g : groups) {
    if (!r.names.count(g) || !src->count(g)) continue;
    const auto& names = r.names.at(g);
    if (static_cast<int64_t>(names.size()) < n_vars)
      throw ValueError("Please run tl.rank_genes_groups with n_genes = the number of genes, otherwise values_to_plot "
                       "cannot be found for all genes.");
    std::map<std::string, double> at;
    const auto& vals = src->at(g);
    for (size_t k = 0; k < names.size() && k < vals.size(); ++k) at.emplace(names[k], vals[k]);
    m.rows.push_back(g);
    for (auto& gene : genes) {
      auto it = at.find(gene);
      double x = it == at.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
      if (v.rfind("log10_", 0) == 0) x = -std::log10(x);
      m.v.push_back(std::isnan(x) ? 1.0 : x);  // Scanpy's fillna(1)
    }
  }
  const std::string title = v == "logfoldchanges" ? "log fold change" : [&] {
    std::string t = v;
    std::replace(t.begin(), t.end(), '_', ' ');
    if (auto p = t.find("pvals"); p != std::string::npos) t.replace(p, 5, "p-value");
    return t;
  }();
  return {m, title};
}

PlotInfo rank_genes_groups_dotplot(AnnData& adata, const RankedSelection& sel, DotplotOptions opt,
                                   const std::string& save) {
  opt = with_ranked(adata, sel, std::move(opt));
  if (sel.values_to_plot) {
    auto [values, title] = ranked_values(adata, sel, opt.var_names.names);
    opt.dot_color_df = std::move(values);
    if (opt.colorbar_title == DotplotOptions{}.colorbar_title) opt.colorbar_title = title;
  }
  return dotplot(adata, opt, save);
}
PlotInfo rank_genes_groups_matrixplot(AnnData& adata, const RankedSelection& sel, MatrixplotOptions opt,
                                      const std::string& save) {
  opt = with_ranked(adata, sel, std::move(opt));
  if (sel.values_to_plot) {
    auto [values, title] = ranked_values(adata, sel, opt.var_names.names);
    opt.values_df = std::move(values);
    if (opt.colorbar_title == MatrixplotOptions{}.colorbar_title) opt.colorbar_title = title;
  }
  return matrixplot(adata, opt, save);
}
PlotInfo rank_genes_groups_heatmap(AnnData& adata, const RankedSelection& sel, HeatmapOptions opt,
                                   const std::string& save) {
  return heatmap(adata, with_ranked(adata, sel, std::move(opt)), save);
}
PlotInfo rank_genes_groups_stacked_violin(AnnData& adata, const RankedSelection& sel, StackedViolinOptions opt,
                                          const std::string& save) {
  return stacked_violin(adata, with_ranked(adata, sel, std::move(opt)), save);
}
PlotInfo rank_genes_groups_tracksplot(AnnData& adata, const RankedSelection& sel, TracksplotOptions opt,
                                      const std::string& save) {
  return tracksplot(adata, with_ranked(adata, sel, std::move(opt)), save);
}

}  // namespace scanpp::pl
