// Pipeline steps: pl.* grouped plots (dotplot, matrixplot, violins, heatmaps) and rank_genes_groups plots.
// Each draws to `save` (format from the extension) with Scanpy's parameter
// names; the data change only where Scanpy's functions store something
// (uns['<groupby>_colors'], uns['dendrogram_<groupby>']).
#include <iostream>

#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/pipeline/steps_pl_params.hpp"
#include "scanpp/pl/dendrogram_plot.hpp"
#include "scanpp/pl/rank_genes_groups_plot.hpp"
#include "scanpp/pl/violin.hpp"

namespace scanpp::pipeline {

namespace {

// var_names: a gene, a list of genes, or a mapping label -> gene(s) (var groups).
pl::VarNames var_names_param(Params& p, const std::string& key, bool required) {
  auto n = p.take(key);
  if (!n || n->IsNull()) {
    if (required) p.fail("missing required parameter '" + key + "'");
    return {};
  }
  try {
    if (n->IsMap()) {
      std::vector<std::pair<std::string, std::vector<std::string>>> groups;
      for (const auto& kv : *n) {
        std::vector<std::string> genes;
        if (kv.second.IsSequence())
          for (const auto& g : kv.second) genes.push_back(g.as<std::string>());
        else
          genes.push_back(kv.second.as<std::string>());
        groups.emplace_back(kv.first.as<std::string>(), genes);
      }
      return pl::VarNames::mapping(groups);
    }
    std::vector<std::string> genes;
    if (n->IsSequence())
      for (const auto& g : *n) genes.push_back(g.as<std::string>());
    else
      genes.push_back(n->as<std::string>());
    return pl::VarNames::list(genes);
  } catch (const YAML::Exception&) {
    p.fail("parameter '" + key + "' must be a gene, a list of genes or a mapping of labels to genes", &*n);
  }
}

// Scanpy's jitter: True (0.1), False (0) or a width.
double jitter_param(Params& p, const std::string& key, double fallback) {
  auto n = p.take(key);
  if (!n || n->IsNull()) return fallback;
  try {
    return n->as<double>();
  } catch (const YAML::Exception&) {
  }
  try {
    return n->as<bool>() ? 0.1 : 0.0;
  } catch (const YAML::Exception&) {
    p.fail("parameter '" + key + "' must be true, false or a number", &*n);
  }
}

std::optional<std::pair<double, double>> figsize_of(const pl::FigureOptions& f) {
  if (!f.figsize) return std::nullopt;
  return std::pair{(*f.figsize)[0], (*f.figsize)[1]};
}

std::optional<std::vector<std::string>> opt_list(Params& p, const std::string& key) {
  if (!p.has(key)) return std::nullopt;
  auto v = pl_str_list(p, key);
  if (v.empty()) return std::nullopt;
  return v;
}

// Parameters every grouped plot shares. var_names/groupby are read unless the
// step takes them from a rank_genes_groups result.
void grouped_params(Params& p, pl::GroupedOptions& o, const pl::FigureOptions& f, bool read_names,
                    bool default_dendrogram) {
  if (read_names) {
    o.var_names = var_names_param(p, "var_names", true);
    o.groupby = pl_str_list(p, "groupby");
  }
  o.use_raw = p.opt<bool>("use_raw");
  o.log = p.get<bool>("log", o.log);
  o.num_categories = p.get<int>("num_categories", o.num_categories);
  o.layer = p.opt<std::string>("layer");
  o.gene_symbols = p.opt<std::string>("gene_symbols");
  o.standard_scale = p.opt<std::string>("standard_scale");
  // dendrogram: true/false or the uns key of a precomputed dendrogram.
  if (auto n = p.take("dendrogram"); n && !n->IsNull()) {
    try {
      o.dendrogram = n->as<bool>();
    } catch (const YAML::Exception&) {
      o.dendrogram = true;
      o.dendrogram_key = n->as<std::string>();
    }
  } else {
    o.dendrogram = default_dendrogram;
  }
  o.title = p.opt<std::string>("title");
  o.figsize = figsize_of(f);
  o.var_group_rotation = p.opt<double>("var_group_rotation");
  o.vmin = p.opt<double>("vmin");
  o.vmax = p.opt<double>("vmax");
  o.categories_order = opt_list(p, "categories_order");
  if (p.has("var_group_labels") || p.has("var_group_positions")) {
    auto labels = pl_str_list(p, "var_group_labels");
    auto pos = p.opt<std::vector<std::vector<int64_t>>>("var_group_positions");
    std::vector<std::pair<int64_t, int64_t>> pairs;
    if (pos)
      for (auto& v : *pos) {
        if (v.size() != 2) p.fail("var_group_positions must be a list of [start, end] pairs");
        pairs.emplace_back(v[0], v[1]);
      }
    if (labels.empty() || !pos) p.fail("If var_group_labels or var_group_positions are given, both have to be given.");
    if (!o.var_names.groups.empty())
      std::cerr << "scanpp warning: var_names is a mapping; var_group_labels/var_group_positions are ignored.\n";
    else
      o.var_names.set_groups(labels, pairs);
  }
  o.dpi = f.dpi;
}

void dotplot_params(Params& p, pl::DotplotOptions& o) {
  o.expression_cutoff = p.get<double>("expression_cutoff", o.expression_cutoff);
  o.mean_only_expressed = p.get<bool>("mean_only_expressed", o.mean_only_expressed);
  o.cmap = p.get<std::string>("cmap", o.cmap);
  o.dot_max = p.opt<double>("dot_max");
  o.dot_min = p.opt<double>("dot_min");
  o.smallest_dot = p.get<double>("smallest_dot", o.smallest_dot);
  o.colorbar_title = p.get<std::string>("colorbar_title", o.colorbar_title);
  o.size_title = p.get<std::string>("size_title", o.size_title);
}

void matrixplot_params(Params& p, pl::MatrixplotOptions& o) {
  o.cmap = p.get<std::string>("cmap", o.cmap);
  o.colorbar_title = p.get<std::string>("colorbar_title", o.colorbar_title);
}

void stacked_violin_params(Params& p, pl::StackedViolinOptions& o) {
  o.cmap = p.get<std::string>("cmap", o.cmap);
  o.colorbar_title = p.get<std::string>("colorbar_title", o.colorbar_title);
  o.stripplot = p.get<bool>("stripplot", o.stripplot);
  o.jitter = jitter_param(p, "jitter", o.jitter);
  o.size = p.get<double>("size", o.size);
  o.scale = p.get<std::string>("scale", o.scale);
  o.scale = p.get<std::string>("density_norm", o.scale);
  o.yticklabels = p.get<bool>("yticklabels", o.yticklabels);
  o.order = opt_list(p, "order");
  o.row_palette = p.opt<std::string>("row_palette");
  if (auto yl = p.opt<std::vector<double>>("ylim")) {
    if (yl->size() != 2) p.fail("ylim must be [min, max]");
    o.ylim = std::pair{(*yl)[0], (*yl)[1]};
  }
}

void heatmap_params(Params& p, pl::HeatmapOptions& o) {
  o.cmap = p.get<std::string>("cmap", o.cmap);
  o.show_gene_labels = p.opt<bool>("show_gene_labels");
  o.swap_axes = p.get<bool>("swap_axes", false);
  if (o.swap_axes) p.fail("swap_axes=True is not implemented for pl.heatmap");
}

pl::RankedSelection ranked_selection(Params& p, bool takes_values = false) {
  pl::RankedSelection s;
  s.groups = opt_list(p, "groups");
  s.n_genes = p.opt<int>("n_genes");
  s.groupby = p.opt<std::string>("groupby");
  s.key = p.get<std::string>("key", s.key);
  s.min_logfoldchange = p.opt<double>("min_logfoldchange");
  s.var_names = opt_list(p, "var_names");
  s.gene_symbols = p.opt<std::string>("gene_symbols");
  if (takes_values) s.values_to_plot = p.opt<std::string>("values_to_plot");
  return s;
}

}  // namespace

void add_pl_grouped_steps(StepTable& t) {
  t["pl.violin"] = [](Params& p) -> StepFn {
    pl::ViolinOptions o;
    o.keys = pl_str_list(p, "keys");
    if (o.keys.empty()) p.fail("missing required parameter 'keys'");
    o.groupby = p.opt<std::string>("groupby");
    o.log = p.get<bool>("log", o.log);
    o.use_raw = p.opt<bool>("use_raw");
    o.stripplot = p.get<bool>("stripplot", o.stripplot);
    o.jitter = jitter_param(p, "jitter", o.jitter);
    o.size = p.get<double>("size", o.size);
    o.layer = p.opt<std::string>("layer");
    o.density_norm = p.get<std::string>("scale", o.density_norm);
    o.density_norm = p.get<std::string>("density_norm", o.density_norm);
    o.order = opt_list(p, "order");
    o.multi_panel = p.get<bool>("multi_panel", o.multi_panel);
    o.xlabel = p.get<std::string>("xlabel", o.xlabel);
    o.ylabel = opt_list(p, "ylabel");
    o.rotation = p.opt<double>("rotation");
    const auto f = pl_figure_options(p);
    o.dpi = f.dpi;
    return [o, f](AnnData& ad) { pl::violin(ad, o, f.save); };
  };
  t["pl.dotplot"] = [](Params& p) -> StepFn {
    pl::DotplotOptions o;
    const auto f = pl_figure_options(p);
    grouped_params(p, o, f, true, false);
    dotplot_params(p, o);
    return [o, f](AnnData& ad) { pl::dotplot(ad, o, f.save); };
  };
  t["pl.matrixplot"] = [](Params& p) -> StepFn {
    pl::MatrixplotOptions o;
    const auto f = pl_figure_options(p);
    grouped_params(p, o, f, true, false);
    matrixplot_params(p, o);
    return [o, f](AnnData& ad) { pl::matrixplot(ad, o, f.save); };
  };
  t["pl.stacked_violin"] = [](Params& p) -> StepFn {
    pl::StackedViolinOptions o;
    const auto f = pl_figure_options(p);
    grouped_params(p, o, f, true, false);
    stacked_violin_params(p, o);
    return [o, f](AnnData& ad) { pl::stacked_violin(ad, o, f.save); };
  };
  t["pl.heatmap"] = [](Params& p) -> StepFn {
    pl::HeatmapOptions o;
    const auto f = pl_figure_options(p);
    grouped_params(p, o, f, true, false);
    heatmap_params(p, o);
    return [o, f](AnnData& ad) { pl::heatmap(ad, o, f.save); };
  };
  t["pl.tracksplot"] = [](Params& p) -> StepFn {
    pl::TracksplotOptions o;
    const auto f = pl_figure_options(p);
    grouped_params(p, o, f, true, false);
    return [o, f](AnnData& ad) { pl::tracksplot(ad, o, f.save); };
  };
  t["pl.dendrogram"] = [](Params& p) -> StepFn {
    pl::DendrogramPlotOptions o;
    o.groupby = p.required<std::string>("groupby");
    o.dendrogram_key = p.opt<std::string>("dendrogram_key");
    o.orientation = p.get<std::string>("orientation", o.orientation);
    o.remove_labels = p.get<bool>("remove_labels", o.remove_labels);
    const auto f = pl_figure_options(p);
    o.dpi = f.dpi;
    return [o, f](AnnData& ad) { pl::dendrogram_plot(ad, o, f.save); };
  };
  t["pl.rank_genes_groups"] = [](Params& p) -> StepFn {
    pl::RankGenesGroupsPlotOptions o;
    o.groups = opt_list(p, "groups");
    o.n_genes = p.get<int>("n_genes", o.n_genes);
    o.gene_symbols = p.opt<std::string>("gene_symbols");
    o.key = p.get<std::string>("key", o.key);
    o.fontsize = p.get<double>("fontsize", o.fontsize);
    o.ncols = p.get<int>("ncols", o.ncols);
    o.ncols = p.get<int>("n_panels_per_row", o.ncols);
    o.sharey = p.get<bool>("sharey", o.sharey);
    const auto f = pl_figure_options(p);
    o.dpi = f.dpi;
    return [o, f](AnnData& ad) { pl::rank_genes_groups_plot(ad, o, f.save); };
  };
  t["pl.rank_genes_groups_dotplot"] = [](Params& p) -> StepFn {
    const auto s = ranked_selection(p, true);
    pl::DotplotOptions o;
    const auto f = pl_figure_options(p);
    grouped_params(p, o, f, false, true);
    dotplot_params(p, o);
    return [s, o, f](AnnData& ad) { pl::rank_genes_groups_dotplot(ad, s, o, f.save); };
  };
  t["pl.rank_genes_groups_matrixplot"] = [](Params& p) -> StepFn {
    const auto s = ranked_selection(p, true);
    pl::MatrixplotOptions o;
    const auto f = pl_figure_options(p);
    grouped_params(p, o, f, false, true);
    matrixplot_params(p, o);
    return [s, o, f](AnnData& ad) { pl::rank_genes_groups_matrixplot(ad, s, o, f.save); };
  };
  t["pl.rank_genes_groups_heatmap"] = [](Params& p) -> StepFn {
    const auto s = ranked_selection(p);
    pl::HeatmapOptions o;
    const auto f = pl_figure_options(p);
    grouped_params(p, o, f, false, true);
    heatmap_params(p, o);
    return [s, o, f](AnnData& ad) { pl::rank_genes_groups_heatmap(ad, s, o, f.save); };
  };
  t["pl.rank_genes_groups_stacked_violin"] = [](Params& p) -> StepFn {
    const auto s = ranked_selection(p);
    pl::StackedViolinOptions o;
    const auto f = pl_figure_options(p);
    grouped_params(p, o, f, false, true);
    stacked_violin_params(p, o);
    return [s, o, f](AnnData& ad) { pl::rank_genes_groups_stacked_violin(ad, s, o, f.save); };
  };
  t["pl.rank_genes_groups_tracksplot"] = [](Params& p) -> StepFn {
    const auto s = ranked_selection(p);
    pl::TracksplotOptions o;
    const auto f = pl_figure_options(p);
    grouped_params(p, o, f, false, true);
    return [s, o, f](AnnData& ad) { pl::rank_genes_groups_tracksplot(ad, s, o, f.save); };
  };
  t["pl.rank_genes_groups_violin"] = [](Params& p) -> StepFn {
    pl::RankGenesGroupsViolinOptions o;
    o.groups = opt_list(p, "groups");
    o.n_genes = p.get<int>("n_genes", o.n_genes);
    o.gene_names = opt_list(p, "gene_names");
    o.gene_symbols = p.opt<std::string>("gene_symbols");
    o.use_raw = p.opt<bool>("use_raw");
    o.key = p.get<std::string>("key", o.key);
    o.split = p.get<bool>("split", o.split);
    o.density_norm = p.get<std::string>("scale", o.density_norm);
    o.density_norm = p.get<std::string>("density_norm", o.density_norm);
    o.strip = p.get<bool>("strip", o.strip);
    o.jitter = jitter_param(p, "jitter", o.jitter);
    o.size = p.get<double>("size", o.size);
    const auto f = pl_figure_options(p);
    o.dpi = f.dpi;
    return [o, f](AnnData& ad) { pl::rank_genes_groups_violin(ad, o, f.save); };
  };
}

}  // namespace scanpp::pipeline
