// Pipeline steps: tl.tsne.
#include <memory>

#include "scanpp/core/error.hpp"
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/tl/tsne.hpp"

namespace scanpp::pipeline {

void add_tsne_steps(StepTable& t) {
  t["tl.tsne"] = [](Params& p) -> StepFn {
    tl::TsneOptions o;
    o.n_pcs = p.opt<int>("n_pcs");
    o.use_rep = p.opt<std::string>("use_rep");
    o.perplexity = p.get<double>("perplexity", o.perplexity);
    o.metric = p.get<std::string>("metric", o.metric);
    if (o.metric != "euclidean") p.fail("only metric 'euclidean' is implemented, got '" + o.metric + "'");
    o.early_exaggeration = p.get<double>("early_exaggeration", o.early_exaggeration);
    o.learning_rate = p.get<double>("learning_rate", o.learning_rate);
    o.random_state = p.get<int64_t>("random_state", o.random_state);
    // Recorded in uns only: scanpp's thread count is a global setting.
    o.n_jobs = p.opt<int>("n_jobs");
    // MulticoreTSNE is not used; accepted (and ignored) for Scanpy scripts.
    (void)p.get<bool>("use_fast_tsne", false);
    o.key_added = p.opt<std::string>("key_added");
    const std::string method = p.get<std::string>("method", "auto");
    try {
      o.method = tl::tsne_method_from_string(method);
    } catch (const ValueError& e) {
      p.fail(e.what());
    }
    o.max_iter = p.get<int>("max_iter", o.max_iter);
    // Runs ahead: the embedding only reads its representation. Not the FFT
    // method (above 10,000 cells): there the approximate kNN and the
    // transforms need every thread, and one thread beside the other steps
    // was slower in all (bench/run_tl_100k.sh: 95 s against 74 s in turn).
    // The affinities are computed at the start, on every thread (the other
    // steps wait), and only the optimisation runs beside them: on PBMC 3k
    // the t-SNE lane was the longer of the two.
    return AheadStep{[o](const AnnData& ad) -> AheadStep::Work {
      const Array X = tl::tsne_representation(ad, o);
      const tl::TsneMethod runs = o.method == tl::TsneMethod::Auto ? tl::tsne_auto_method(X.rows()) : o.method;
      if (runs == tl::TsneMethod::Fft) return nullptr;
      return [o, start = std::make_shared<tl::TsneStart>(tl::tsne_start(X, o))]() -> AheadStep::Commit {
        auto res = std::make_shared<tl::TsneLayoutResult>(tl::tsne_embedding(*start, o));
        return [o, res](AnnData& target) { tl::tsne_store(target, std::move(*res), o); };
      };
    }, [o](AnnData& ad) { tl::tsne(ad, o); }};
  };
}

}  // namespace scanpp::pipeline
