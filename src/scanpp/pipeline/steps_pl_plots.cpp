// Pipeline steps: pl.* single-panel plots (scatter, QC and PCA plots, PAGA).
#include "scanpp/pipeline/steps_pl_params.hpp"
#include "scanpp/pl/plots.hpp"

namespace scanpp::pipeline {

namespace {

pl::PagaOptions paga_options(Params& p) {
  pl::PagaOptions o;
  o.threshold = p.get<double>("threshold", o.threshold);
  o.layout = p.get<std::string>("layout", o.layout);
  if (o.layout != "fr") p.fail("only layout 'fr' (Scanpy's default) is implemented");
  o.color = p.get<std::string>("color", "");
  o.solid_edges_tree = p.get<std::string>("solid_edges", "connectivities") == "connectivities_tree";
  o.node_size_scale = p.get<double>("node_size_scale", o.node_size_scale);
  o.node_size_power = p.get<double>("node_size_power", o.node_size_power);
  o.edge_width_scale = p.get<double>("edge_width_scale", o.edge_width_scale);
  o.min_edge_width = p.opt<double>("min_edge_width");
  o.max_edge_width = p.opt<double>("max_edge_width");
  o.fontsize = p.opt<double>("fontsize");
  o.fontweight = p.get<std::string>("fontweight", o.fontweight);
  o.fontoutline = p.get<double>("fontoutline", 0);
  o.frameon = p.get<bool>("frameon", o.frameon);
  o.title = p.get<std::string>("title", "");
  o.random_state = p.get<int64_t>("random_state", 0);
  return o;
}

}  // namespace

void add_pl_plot_steps(StepTable& t) {
  t["pl.scatter"] = [](Params& p) -> StepFn {
    pl::ScatterOptions o;
    o.x = p.required<std::string>("x");
    o.y = p.required<std::string>("y");
    o.color = pl_str_list(p, "color");
    o.use_raw = p.opt<bool>("use_raw");
    o.layer = p.get<std::string>("layer", "");
    o.style.legend_loc = p.get<std::string>("legend_loc", o.style.legend_loc);
    o.style.size = p.opt<double>("size");
    o.style.cmap = p.get<std::string>("color_map", o.style.cmap);
    if (p.has("palette")) o.style.palette = pl_str_list(p, "palette");
    o.style.groups = pl_str_list(p, "groups");
    o.style.title = pl_str_list(p, "title");
    o.style.frameon = p.get<bool>("frameon", true);
    o.fig = pl_figure_options(p);
    return [o](AnnData& ad) { pl::scatter(ad, o); };
  };
  t["pl.highest_expr_genes"] = [](Params& p) -> StepFn {
    pl::HighestExprGenesOptions o;
    o.n_top = p.get<int>("n_top", o.n_top);
    o.gene_symbols = p.get<std::string>("gene_symbols", "");
    o.log = p.get<bool>("log", false);
    o.fig = pl_figure_options(p);
    return [o](AnnData& ad) { pl::highest_expr_genes(ad, o); };
  };
  t["pl.highly_variable_genes"] = [](Params& p) -> StepFn {
    pl::HvgPlotOptions o;
    o.log = p.get<bool>("log", false);
    o.highly_variable_genes = p.get<bool>("highly_variable_genes", true);
    o.fig = pl_figure_options(p);
    return [o](AnnData& ad) { pl::highly_variable_genes(ad, o); };
  };
  t["pl.pca_variance_ratio"] = [](Params& p) -> StepFn {
    pl::PcaVarianceRatioOptions o;
    o.n_pcs = p.get<int>("n_pcs", o.n_pcs);
    o.log = p.get<bool>("log", false);
    o.fig = pl_figure_options(p);
    return [o](AnnData& ad) { pl::pca_variance_ratio(ad, o); };
  };
  t["pl.pca_loadings"] = [](Params& p) -> StepFn {
    pl::PcaLoadingsOptions o;
    if (p.has("components")) {
      o.components.clear();
      for (const auto& s : pl_str_list(p, "components")) {
        size_t pos = 0;
        while (pos <= s.size()) {  // "1,2,3" or a list
          const size_t comma = s.find(',', pos);
          try {
            o.components.push_back(std::stoi(s.substr(pos, comma - pos)));
          } catch (const std::exception&) {
            p.fail("components must be like '1,2,3' or [1, 2, 3]");
          }
          if (comma == std::string::npos) break;
          pos = comma + 1;
        }
      }
    }
    o.include_lowest = p.get<bool>("include_lowest", o.include_lowest);
    o.n_points = p.opt<int>("n_points");
    o.fig = pl_figure_options(p);
    return [o](AnnData& ad) { pl::pca_loadings(ad, o); };
  };
  t["pl.paga"] = [](Params& p) -> StepFn {
    pl::PagaOptions o = paga_options(p);
    o.fig = pl_figure_options(p);
    return [o](AnnData& ad) { pl::paga(ad, o); };
  };
  t["pl.paga_compare"] = [](Params& p) -> StepFn {
    pl::PagaCompareOptions o;
    o.basis = p.get<std::string>("basis", "");
    o.paga = paga_options(p);
    o.fig = pl_figure_options(p);
    return [o](AnnData& ad) { pl::paga_compare(ad, o); };
  };
  t["pl.dpt_timeseries"] = [](Params& p) -> StepFn {
    pl::DptTimeseriesOptions o;
    o.cmap = p.get<std::string>("color_map", o.cmap);
    o.fig = pl_figure_options(p);
    return [o](AnnData& ad) { pl::dpt_timeseries(ad, o); };
  };
}

}  // namespace scanpp::pipeline
