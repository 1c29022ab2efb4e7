// tl.tsne at the AnnData level, and scikit-learn's PCA start.
#include "scanpp/tl/tsne.hpp"

#include <cmath>
#include <string>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pp/neighbors.hpp"
#include "scanpp/pp/pca.hpp"

namespace scanpp::tl {

Array tsne_pca_init(const Array& X) {
  if (X.ndim() != 2 || X.cols() < 2)
    throw ValueError("tsne: the PCA start needs a representation with at least 2 dimensions");
  if (X.rows() < 2) throw ValueError("tsne: needs at least 2 cells");
  // scikit-learn runs PCA(svd_solver='randomized') on the input; the leading
  // two components are computed exactly here (what the randomized solver
  // converges to), with the same sign rule.
  pp::PcaOptions po;
  po.n_comps = 2;
  po.svd_solver = pp::PcaSolver::Arpack;
  po.dtype = DType::Float32;
  const pp::PcaResult pr = pp::pca(X, po);
  Array out = pr.scores.astype(DType::Float32);
  auto s = out.as<float>();
  const int64_t n = out.rows();
  double mean = 0.0, var = 0.0;
  for (int64_t i = 0; i < n; ++i) mean += s[2 * i];
  mean /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) var += (s[2 * i] - mean) * (s[2 * i] - mean);
  // numpy: float32 array / float32 std, then * 1e-4 in float32.
  const float sd = static_cast<float>(std::sqrt(var / static_cast<double>(n)));
  if (!(sd > 0.0f)) throw ValueError("tsne: the representation has no variance along its first principal component");
  for (float& v : s) v = (v / sd) * 1e-4f;
  return out;
}

TsneStart tsne_start(const Array& X, const TsneOptions& opt) {
  if (opt.metric != "euclidean")
    throw ValueError("tsne: only metric='euclidean' is supported, got '" + opt.metric + "'");
  TsneStart s;
  s.P = tsne_affinities(X, opt.perplexity);
  s.init = tsne_pca_init(X);
  return s;
}

TsneLayoutResult tsne_embedding(const TsneStart& start, const TsneOptions& opt) {
  TsneLayoutOptions lo;
  lo.method = opt.method;
  lo.early_exaggeration = opt.early_exaggeration;
  lo.learning_rate = opt.learning_rate;
  lo.max_iter = opt.max_iter;
  return tsne_layout(start.P, start.init, lo);
}

TsneLayoutResult tsne_embedding(const Array& X, const TsneOptions& opt) {
  return tsne_embedding(tsne_start(X, opt), opt);
}

namespace {

// Scanpy stores the arguments as given: Python ints for the defaults.
Element number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15)
    return Array::scalar<int64_t>(static_cast<int64_t>(v));
  return Array::scalar<double>(v);
}

}  // namespace

Array tsne_representation(const AnnData& adata, const TsneOptions& opt) {
  if (opt.metric != "euclidean")
    throw ValueError("tsne: only metric='euclidean' is supported, got '" + opt.metric + "'");
  Array X = pp::choose_representation(adata, opt.use_rep, opt.n_pcs);
  if (X.rows() != adata.n_obs())
    throw ValueError("tsne: the representation has " + std::to_string(X.rows()) + " rows for " +
                     std::to_string(adata.n_obs()) + " cells");
  return X;
}

void tsne_store(AnnData& adata, TsneLayoutResult result, const TsneOptions& opt) {
  Dict params;
  params["perplexity"] = number(opt.perplexity);
  params["early_exaggeration"] = number(opt.early_exaggeration);
  params["learning_rate"] = number(opt.learning_rate);
  params["n_jobs"] = Array::scalar<int64_t>(opt.n_jobs ? *opt.n_jobs : num_threads());
  params["metric"] = opt.metric;
  if (opt.use_rep) params["use_rep"] = *opt.use_rep;
  Dict entry;
  entry["params"] = std::move(params);
  const std::string obsm_key = opt.key_added.value_or("X_tsne");
  const std::string uns_key = opt.key_added.value_or("tsne");
  adata.obsm[obsm_key] = std::move(result.embedding);
  adata.uns[uns_key] = std::move(entry);
}

void tsne(AnnData& adata, const TsneOptions& opt) {
  tsne_store(adata, tsne_embedding(tsne_representation(adata, opt), opt), opt);
}

}  // namespace scanpp::tl
