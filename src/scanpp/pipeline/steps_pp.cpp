// Pipeline steps for Scanpy's sc.pp functions: parameters have Scanpy's names
// and are read (and checked) when the pipeline is bound, before anything runs.
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/pipeline/step_options.hpp"
#include "scanpp/pp/calculate_qc_metrics.hpp"
#include "scanpp/pp/combat.hpp"
#include "scanpp/pp/downsample_counts.hpp"
#include "scanpp/pp/filter.hpp"
#include "scanpp/pp/filter_genes_dispersion.hpp"
#include "scanpp/pp/highly_variable_genes.hpp"
#include "scanpp/pp/log1p.hpp"
#include "scanpp/pp/neighbors.hpp"
#include "scanpp/pp/normalize_per_cell.hpp"
#include "scanpp/pp/normalize_total.hpp"
#include "scanpp/pp/pca.hpp"
#include "scanpp/pp/recipes.hpp"
#include "scanpp/pp/regress_out.hpp"
#include "scanpp/pp/scale.hpp"
#include "scanpp/pp/subsample.hpp"

namespace scanpp::pipeline {

namespace {
// A parameter that may be a single string or a list of strings (Scanpy accepts both).
std::vector<std::string> string_list(Params& p, const std::string& key, bool required) {
  auto n = p.take(key);
  if (!n) {
    if (required) p.fail("missing required parameter '" + key + "'");
    return {};
  }
  if (n->IsScalar()) return {n->as<std::string>()};
  if (!n->IsSequence()) p.fail("parameter '" + key + "' must be a name or a list of names", &*n);
  return n->as<std::vector<std::string>>();
}
}  // namespace

pp::CalculateQcMetricsOptions qc_step_options(Params& p) {
  pp::CalculateQcMetricsOptions o;
  o.expr_type = p.get<std::string>("expr_type", o.expr_type);
  o.var_type = p.get<std::string>("var_type", o.var_type);
  o.qc_vars = string_list(p, "qc_vars", false);
  if (auto n = p.take("percent_top")) {
    if (n->IsNull()) o.percent_top = std::nullopt;
    else o.percent_top = n->as<std::vector<int64_t>>();
  }
  o.layer = p.opt<std::string>("layer");
  o.use_raw = p.get<bool>("use_raw", false);
  o.log1p = p.get<bool>("log1p", true);
  o.inplace = p.get<bool>("inplace", true);  // in a pipeline the columns are the point
  return o;
}

pp::FilterCellsOptions filter_cells_step_options(Params& p) {
  pp::FilterCellsOptions o{.min_counts = p.opt<double>("min_counts"), .min_genes = p.opt<int64_t>("min_genes"),
                           .max_counts = p.opt<double>("max_counts"), .max_genes = p.opt<int64_t>("max_genes")};
  const int given = o.min_counts.has_value() + o.min_genes.has_value() + o.max_counts.has_value() + o.max_genes.has_value();
  if (given != 1) p.fail("give exactly one of min_counts, min_genes, max_counts, max_genes");
  return o;
}

pp::FilterGenesOptions filter_genes_step_options(Params& p) {
  pp::FilterGenesOptions o{.min_counts = p.opt<double>("min_counts"), .min_cells = p.opt<int64_t>("min_cells"),
                           .max_counts = p.opt<double>("max_counts"), .max_cells = p.opt<int64_t>("max_cells")};
  const int given = o.min_counts.has_value() + o.min_cells.has_value() + o.max_counts.has_value() + o.max_cells.has_value();
  if (given != 1) p.fail("give exactly one of min_counts, min_cells, max_counts, max_cells");
  return o;
}

pp::NormalizeTotalOptions normalize_total_step_options(Params& p) {
  pp::NormalizeTotalOptions o;
  o.target_sum = p.opt<double>("target_sum");
  o.exclude_highly_expressed = p.get<bool>("exclude_highly_expressed", false);
  o.max_fraction = p.get<double>("max_fraction", o.max_fraction);
  o.key_added = p.opt<std::string>("key_added");
  o.layer = p.opt<std::string>("layer");
  return o;
}

pp::HighlyVariableGenesOptions hvg_step_options(Params& p) {
  pp::HighlyVariableGenesOptions o;
  o.layer = p.opt<std::string>("layer");
  o.n_top_genes = p.opt<int64_t>("n_top_genes");
  o.min_disp = p.get<double>("min_disp", o.min_disp);
  o.max_disp = p.get<double>("max_disp", o.max_disp);
  o.min_mean = p.get<double>("min_mean", o.min_mean);
  o.max_mean = p.get<double>("max_mean", o.max_mean);
  o.span = p.get<double>("span", o.span);
  o.n_bins = p.get<int>("n_bins", o.n_bins);
  o.flavor = pp::hvg_flavor_from_string(p.get<std::string>("flavor", "seurat"));
  o.subset = p.get<bool>("subset", false);
  o.batch_key = p.opt<std::string>("batch_key");
  o.check_values = p.get<bool>("check_values", true);
  return o;
}

pp::PcaOptions pca_step_options(Params& p) {
  pp::PcaOptions o;
  o.n_comps = p.opt<int64_t>("n_comps");
  o.zero_center = p.get<bool>("zero_center", true);
  if (auto s = p.opt<std::string>("svd_solver")) o.svd_solver = pp::pca_solver_from_string(*s);
  o.random_state = p.get<uint64_t>("random_state", 0);
  o.mask_var = p.opt<std::string>("mask_var");
  o.use_highly_variable = p.opt<bool>("use_highly_variable");
  o.layer = p.opt<std::string>("layer");
  o.key_added = p.opt<std::string>("key_added");
  return o;
}

void add_pp_steps(StepTable& t) {
  t["pp.calculate_qc_metrics"] = [](Params& p) -> StepFn {
    const pp::CalculateQcMetricsOptions o = qc_step_options(p);
    return [o](AnnData& ad) { pp::calculate_qc_metrics(ad, o); };
  };
  t["pp.filter_cells"] = [](Params& p) -> StepFn {
    const pp::FilterCellsOptions o = filter_cells_step_options(p);
    return [o](AnnData& ad) { pp::filter_cells(ad, o); };
  };
  t["pp.filter_genes"] = [](Params& p) -> StepFn {
    const pp::FilterGenesOptions o = filter_genes_step_options(p);
    return [o](AnnData& ad) { pp::filter_genes(ad, o); };
  };
  t["pp.normalize_total"] = [](Params& p) -> StepFn {
    const pp::NormalizeTotalOptions o = normalize_total_step_options(p);
    return [o](AnnData& ad) { pp::normalize_total(ad, o); };
  };
  t["pp.log1p"] = [](Params& p) -> StepFn {
    pp::Log1pOptions o{.base = p.opt<double>("base"), .layer = p.opt<std::string>("layer")};
    return [o](AnnData& ad) { pp::log1p(ad, o); };
  };
  t["pp.highly_variable_genes"] = [](Params& p) -> StepFn {
    const pp::HighlyVariableGenesOptions o = hvg_step_options(p);
    return [o](AnnData& ad) { pp::highly_variable_genes(ad, o); };
  };
  t["pp.regress_out"] = [](Params& p) -> StepFn {
    auto keys = string_list(p, "keys", true);
    pp::RegressOutOptions o{.layer = p.opt<std::string>("layer")};
    return [keys, o](AnnData& ad) { pp::regress_out(ad, keys, o); };
  };
  t["pp.scale"] = [](Params& p) -> StepFn {
    pp::ScaleOptions o;
    o.zero_center = p.get<bool>("zero_center", true);
    o.max_value = p.opt<double>("max_value");
    o.layer = p.opt<std::string>("layer");
    o.obsm = p.opt<std::string>("obsm");
    o.mask_obs_key = p.opt<std::string>("mask_obs");
    return [o](AnnData& ad) { pp::scale(ad, o); };
  };
  t["pp.combat"] = [](Params& p) -> StepFn {
    pp::CombatOptions o;
    o.key = p.get<std::string>("key", o.key);
    o.covariates = string_list(p, "covariates", false);
    return [o](AnnData& ad) { pp::combat(ad, o); };
  };
  t["pp.pca"] = [](Params& p) -> StepFn {
    const pp::PcaOptions o = pca_step_options(p);
    return [o](AnnData& ad) { pp::pca(ad, o); };
  };
  t["pp.neighbors"] = [](Params& p) -> StepFn {
    pp::NeighborsOptions o;
    o.n_neighbors = p.get<int>("n_neighbors", o.n_neighbors);
    o.n_pcs = p.opt<int>("n_pcs");
    o.use_rep = p.opt<std::string>("use_rep");
    o.knn = p.get<bool>("knn", true);
    o.method = pp::parse_connectivity_method(p.get<std::string>("method", "umap"));
    o.metric = p.get<std::string>("metric", o.metric);
    (void)pp::parse_knn_metric(o.metric);  // unknown metrics fail now, not mid-run
    o.random_state = p.get<int64_t>("random_state", 0);
    o.key_added = p.opt<std::string>("key_added");
    return [o](AnnData& ad) { pp::neighbors(ad, o); };
  };
  add_pp_legacy_steps(t);
}

// The 2018 API (normalize_per_cell, filter_genes_dispersion) and the recipes.
void add_pp_legacy_steps(StepTable& t) {
  t["pp.normalize_per_cell"] = [](Params& p) -> StepFn {
    pp::NormalizePerCellOptions o;
    o.counts_per_cell_after = p.opt<double>("counts_per_cell_after");
    o.key_n_counts = p.get<std::string>("key_n_counts", o.key_n_counts);
    if (auto n = p.take("layers")) {
      if (n->IsScalar() && n->as<std::string>() == "all") o.all_layers = true;
      else if (n->IsSequence()) o.layers = n->as<std::vector<std::string>>();
      else p.fail("parameter 'layers' must be 'all' or a list of layer names", &*n);
    }
    o.use_rep = p.opt<std::string>("use_rep");
    if (o.use_rep && *o.use_rep != "after" && *o.use_rep != "X") p.fail("use_rep should be \"after\", \"X\" or null");
    o.min_counts = p.get<double>("min_counts", o.min_counts);
    return [o](AnnData& ad) { pp::normalize_per_cell(ad, o); };
  };
  t["pp.filter_genes_dispersion"] = [](Params& p) -> StepFn {
    pp::FilterGenesDispersionOptions o;
    o.flavor = pp::hvg_flavor_from_string(p.get<std::string>("flavor", "seurat"));
    if (o.flavor != pp::HvgFlavor::Seurat && o.flavor != pp::HvgFlavor::CellRanger)
      p.fail("flavor needs to be 'seurat' or 'cell_ranger'");
    o.min_disp = p.get<double>("min_disp", o.min_disp);
    o.max_disp = p.get<double>("max_disp", o.max_disp);
    o.min_mean = p.get<double>("min_mean", o.min_mean);
    o.max_mean = p.get<double>("max_mean", o.max_mean);
    o.n_bins = p.get<int>("n_bins", o.n_bins);
    o.n_top_genes = p.opt<int64_t>("n_top_genes");
    o.log = p.get<bool>("log", o.log);
    o.subset = p.get<bool>("subset", o.subset);
    return [o](AnnData& ad) { pp::filter_genes_dispersion(ad, o); };
  };
  t["pp.subsample"] = [](Params& p) -> StepFn {
    pp::SubsampleOptions o{.fraction = p.opt<double>("fraction"), .n_obs = p.opt<int64_t>("n_obs"),
                           .random_state = p.get<uint32_t>("random_state", 0)};
    if (o.fraction.has_value() == o.n_obs.has_value()) p.fail("give exactly one of fraction, n_obs");
    return [o](AnnData& ad) { pp::subsample(ad, o); };
  };
  t["pp.downsample_counts"] = [](Params& p) -> StepFn {
    pp::DownsampleCountsOptions o;
    if (auto n = p.take("counts_per_cell")) {
      if (n->IsSequence()) o.counts_per_cell_each = n->as<std::vector<int64_t>>();
      else o.counts_per_cell = n->as<int64_t>();
    }
    o.total_counts = p.opt<int64_t>("total_counts");
    o.random_state = p.get<uint32_t>("random_state", 0);
    o.replace = p.get<bool>("replace", false);
    const bool per_cell = o.counts_per_cell || o.counts_per_cell_each;
    if (per_cell == o.total_counts.has_value()) p.fail("give exactly one of counts_per_cell, total_counts");
    return [o](AnnData& ad) { pp::downsample_counts(ad, o); };
  };
  t["pp.recipe_zheng17"] = [](Params& p) -> StepFn {
    pp::RecipeZheng17Options o;
    o.n_top_genes = p.get<int64_t>("n_top_genes", o.n_top_genes);
    o.log = p.get<bool>("log", o.log);
    if (p.get<bool>("plot", false)) p.fail("plot=true is not supported here; use a pl step");
    return [o](AnnData& ad) { pp::recipe_zheng17(ad, o); };
  };
  t["pp.recipe_seurat"] = [](Params& p) -> StepFn {
    pp::RecipeSeuratOptions o;
    o.log = p.get<bool>("log", o.log);
    if (p.get<bool>("plot", false)) p.fail("plot=true is not supported here; use a pl step");
    return [o](AnnData& ad) { pp::recipe_seurat(ad, o); };
  };
  t["pp.recipe_weinreb17"] = [](Params& p) -> StepFn {
    pp::RecipeWeinreb17Options o;
    o.log = p.get<bool>("log", o.log);
    o.mean_threshold = p.get<double>("mean_threshold", o.mean_threshold);
    o.cv_threshold = p.get<double>("cv_threshold", o.cv_threshold);
    o.n_pcs = p.get<int64_t>("n_pcs", o.n_pcs);
    o.svd_solver = pp::pca_solver_from_string(p.get<std::string>("svd_solver", "randomized"));
    o.random_state = p.get<uint64_t>("random_state", 0);
    return [o](AnnData& ad) { pp::recipe_weinreb17(ad, o); };
  };
}

}  // namespace scanpp::pipeline
