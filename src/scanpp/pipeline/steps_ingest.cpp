// Pipeline steps: pp.scrublet, pp.scrublet_simulate_doublets (replaces the
// data by the simulated doublets, as the function returns a new AnnData),
// tl.ingest (the reference is read from `reference: path.h5ad`).
#include "scanpp/io/h5ad.hpp"
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/pp/scrublet.hpp"
#include "scanpp/pp/scrublet_simulate_doublets.hpp"
#include "scanpp/tl/ingest.hpp"

namespace scanpp::pipeline {

namespace {

std::vector<std::string> name_list(Params& p, const std::string& key, std::vector<std::string> fallback) {
  auto n = p.take(key);
  if (!n) return fallback;
  if (n->IsNull()) return {};
  if (n->IsScalar()) return {n->as<std::string>()};
  if (!n->IsSequence()) p.fail("parameter '" + key + "' must be a name or a list of names", &*n);
  try {
    return n->as<std::vector<std::string>>();
  } catch (const YAML::Exception&) {
    p.fail("parameter '" + key + "' must be a name or a list of names", &*n);
  }
}

uint32_t seed(Params& p) {
  const int64_t s = p.get<int64_t>("random_state", 0);
  if (s < 0 || s > 0xffffffffLL) p.fail("random_state must be between 0 and 2**32 - 1 (numpy's legacy seed)");
  return static_cast<uint32_t>(s);
}

}  // namespace

void add_ingest_steps(StepTable& t) {
  t["pp.scrublet"] = [](Params& p) -> StepFn {
    pp::ScrubletOptions o;
    o.batch_key = p.opt<std::string>("batch_key");
    o.sim_doublet_ratio = p.get<double>("sim_doublet_ratio", o.sim_doublet_ratio);
    o.expected_doublet_rate = p.get<double>("expected_doublet_rate", o.expected_doublet_rate);
    o.stdev_doublet_rate = p.get<double>("stdev_doublet_rate", o.stdev_doublet_rate);
    o.synthetic_doublet_umi_subsampling = p.get<double>("synthetic_doublet_umi_subsampling", o.synthetic_doublet_umi_subsampling);
    o.knn_dist_metric = p.get<std::string>("knn_dist_metric", o.knn_dist_metric);
    o.normalize_variance = p.get<bool>("normalize_variance", o.normalize_variance);
    o.log_transform = p.get<bool>("log_transform", o.log_transform);
    o.mean_center = p.get<bool>("mean_center", o.mean_center);
    o.n_prin_comps = p.get<int>("n_prin_comps", o.n_prin_comps);
    o.use_approx_neighbors = p.opt<bool>("use_approx_neighbors");
    o.get_doublet_neighbor_parents = p.get<bool>("get_doublet_neighbor_parents", false);
    o.n_neighbors = p.opt<int>("n_neighbors");
    o.threshold = p.opt<double>("threshold");
    o.random_state = seed(p);
    p.get<bool>("verbose", true);  // accepted; scanpp logs nothing here
    if (p.get<bool>("copy", false)) p.fail("copy=true makes no sense in a pipeline");
    if (p.has("adata_sim")) p.fail("adata_sim is not supported in a pipeline");
    return [o](AnnData& ad) { pp::scrublet(ad, o); };
  };
  t["pp.scrublet_simulate_doublets"] = [](Params& p) -> StepFn {
    pp::ScrubletSimulateOptions o;
    o.layer = p.opt<std::string>("layer");
    o.sim_doublet_ratio = p.get<double>("sim_doublet_ratio", o.sim_doublet_ratio);
    o.synthetic_doublet_umi_subsampling = p.get<double>("synthetic_doublet_umi_subsampling", o.synthetic_doublet_umi_subsampling);
    o.random_state = seed(p);
    return [o](AnnData& ad) { ad = pp::scrublet_simulate_doublets(ad, o); };
  };
  t["tl.ingest"] = [](Params& p) -> StepFn {
    const auto reference = p.required<std::string>("reference");
    tl::IngestOptions o;
    o.obs = name_list(p, "obs", {});
    o.embedding_method = name_list(p, "embedding_method", o.embedding_method);
    o.labeling_method = name_list(p, "labeling_method", o.labeling_method);
    if (o.labeling_method.empty()) p.fail("labeling_method must name a method ('knn')");
    o.neighbors_key = p.opt<std::string>("neighbors_key");
    o.k = p.opt<int>("k");
    o.umap_n_epochs = p.opt<int>("umap_n_epochs");
    o.random_state = p.opt<int64_t>("random_state");
    if (!p.get<bool>("inplace", true)) p.fail("inplace=false makes no sense in a pipeline");
    return [reference, o](AnnData& ad) {
      const AnnData ref = io::read_h5ad(reference);
      tl::ingest(ad, ref, o);
    };
  };
}

}  // namespace scanpp::pipeline
