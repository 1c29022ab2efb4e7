// Pipeline steps for Scanpy's sc.tl functions and the datasets.
#include "scanpp/datasets/grn_datasets.hpp"
#include "scanpp/datasets/synthetic.hpp"
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/tl/diffmap.hpp"
#include "scanpp/tl/dpt.hpp"
#include "scanpp/tl/paga.hpp"
#include "scanpp/tl/leiden.hpp"
#include "scanpp/tl/louvain.hpp"
#include "scanpp/tl/umap.hpp"

namespace scanpp::pipeline {

void add_tl_steps(StepTable& t) {
  t["tl.umap"] = [](Params& p) -> StepFn {
    tl::UmapOptions o;
    o.min_dist = p.get<double>("min_dist", o.min_dist);
    o.spread = p.get<double>("spread", o.spread);
    o.n_components = p.get<int>("n_components", o.n_components);
    o.maxiter = p.opt<int>("maxiter");
    o.alpha = p.get<double>("alpha", o.alpha);
    o.gamma = p.get<double>("gamma", o.gamma);
    o.negative_sample_rate = p.get<int>("negative_sample_rate", o.negative_sample_rate);
    o.init_pos = p.get<std::string>("init_pos", o.init_pos);
    o.random_state = p.get<int64_t>("random_state", 0);
    o.a = p.opt<double>("a");
    o.b = p.opt<double>("b");
    o.neighbors_key = p.get<std::string>("neighbors_key", o.neighbors_key);
    o.key_added = p.get<std::string>("key_added", "");
    return [o](AnnData& ad) { tl::umap(ad, o); };
  };
  t["tl.leiden"] = [](Params& p) -> StepFn {
    tl::LeidenOptions o;
    o.resolution = p.get<double>("resolution", o.resolution);
    o.random_state = p.get<int64_t>("random_state", 0);
    o.key_added = p.get<std::string>("key_added", o.key_added);
    o.use_weights = p.get<bool>("use_weights", o.use_weights);
    o.n_iterations = p.get<int>("n_iterations", o.n_iterations);
    o.neighbors_key = p.get<std::string>("neighbors_key", o.neighbors_key);
    o.obsp = p.opt<std::string>("obsp");
    return [o](AnnData& ad) { tl::leiden(ad, o); };
  };
  t["tl.louvain"] = [](Params& p) -> StepFn {
    tl::LouvainOptions o;
    o.resolution = p.opt<double>("resolution");
    o.random_state = p.get<int64_t>("random_state", 0);
    o.key_added = p.get<std::string>("key_added", o.key_added);
    o.use_weights = p.get<bool>("use_weights", o.use_weights);
    o.neighbors_key = p.get<std::string>("neighbors_key", o.neighbors_key);
    o.obsp = p.opt<std::string>("obsp");
    return [o](AnnData& ad) { tl::louvain(ad, o); };
  };
  t["tl.diffmap"] = [](Params& p) -> StepFn {
    tl::DiffmapOptions o;
    o.n_comps = p.get<int>("n_comps", o.n_comps);
    o.neighbors_key = p.get<std::string>("neighbors_key", o.neighbors_key);
    o.random_state = p.get<int64_t>("random_state", 0);
    return [o](AnnData& ad) { tl::diffmap(ad, o); };
  };
  t["tl.dpt"] = [](Params& p) -> StepFn {
    tl::DptOptions o;
    o.n_dcs = p.get<int>("n_dcs", o.n_dcs);
    o.n_branchings = p.get<int>("n_branchings", o.n_branchings);
    if (o.n_branchings < 0) p.fail("n_branchings must be >= 0");
    o.min_group_size = p.get<double>("min_group_size", o.min_group_size);
    o.allow_kendall_tau_shift = p.get<bool>("allow_kendall_tau_shift", o.allow_kendall_tau_shift);
    o.neighbors_key = p.get<std::string>("neighbors_key", o.neighbors_key);
    return [o](AnnData& ad) { tl::dpt(ad, o); };
  };
  t["tl.paga"] = [](Params& p) -> StepFn {
    tl::PagaOptions o;
    o.groups = p.get<std::string>("groups", "");
    o.model = p.get<std::string>("model", o.model);
    if (o.model != "v1.2") p.fail("only model 'v1.2' (Scanpy's default) is implemented");
    o.use_rna_velocity = p.get<bool>("use_rna_velocity", false);
    if (o.use_rna_velocity) p.fail("use_rna_velocity is not implemented");
    o.neighbors_key = p.get<std::string>("neighbors_key", o.neighbors_key);
    return [o](AnnData& ad) { tl::paga(ad, o); };
  };
  t["datasets.synthetic"] = [](Params& p) -> StepFn {
    datasets::SyntheticOptions o;
    o.n_cells = p.get<int64_t>("n_cells", o.n_cells);
    o.n_genes = p.get<int64_t>("n_genes", o.n_genes);
    o.n_clusters = p.get<int>("n_clusters", o.n_clusters);
    o.seed = p.get<uint64_t>("seed", o.seed);
    return [o](AnnData& ad) { ad = datasets::synthetic(o); };
  };
  t["datasets.krumsiek11"] = [](Params& p) -> StepFn {
    const auto dir = p.get<std::string>("models_dir", datasets::kDefaultSimModelsDir);
    return [dir](AnnData& ad) { ad = datasets::krumsiek11(dir); };
  };
  t["datasets.toggleswitch"] = [](Params& p) -> StepFn {
    const auto dir = p.get<std::string>("models_dir", datasets::kDefaultSimModelsDir);
    return [dir](AnnData& ad) { ad = datasets::toggleswitch(dir); };
  };
}

}  // namespace scanpp::pipeline
