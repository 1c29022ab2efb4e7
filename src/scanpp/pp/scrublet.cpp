#include "scanpp/pp/scrublet.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pp/filter.hpp"
#include "scanpp/pp/highly_variable_genes.hpp"
#include "scanpp/pp/knn.hpp"
#include "scanpp/pp/log1p.hpp"
#include "scanpp/pp/normalize_total.hpp"
#include "scanpp/pp/pca.hpp"
#include "scanpp/pp/scrublet_simulate_doublets.hpp"
#include "scanpp/pp/scrublet_threshold.hpp"

namespace scanpp::pp {

namespace {

// Row-major double copy of a matrix element. Scanpy densifies here too
// (x.toarray() before scikit-learn's PCA; the z-score is dense anyway).
std::vector<double> dense_rows(const Element& e, int64_t& n, int64_t& g, const char* what) {
  if (e.is<SparseMatrix>()) {
    const SparseMatrix csr = convert_format(e.get<SparseMatrix>(), SparseFormat::CSR);
    n = csr.n_rows;
    g = csr.n_cols;
    std::vector<double> out(static_cast<size_t>(n * g), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = csr.indptr[i]; k < csr.indptr[i + 1]; ++k) out[i * g + csr.indices[k]] += csr.data.get_double(k);
    return out;
  }
  if (e.is<Array>()) {
    const Array& a = e.get<Array>();
    if (a.ndim() != 2) throw ValueError(std::string("scrublet: ") + what + " must be a 2-D matrix");
    n = a.rows();
    g = a.cols();
    std::vector<double> out(static_cast<size_t>(n * g));
    for (int64_t i = 0; i < n * g; ++i) out[i] = a.get_double(i);
    return out;
  }
  throw ValueError(std::string("scrublet: ") + what + " must be a dense or sparse matrix, not " + e.kind());
}

// rows (n x g) · compᵀ (k x g) after subtracting `mean` (empty: none).
std::vector<double> project(const std::vector<double>& x, int64_t n, int64_t g, const std::vector<double>& comp,
                            int64_t k, const std::vector<double>& mean) {
  std::vector<double> out(static_cast<size_t>(n * k));
  parallel_blocks(n, 64, [&](int64_t r0, int64_t r1) {
    std::vector<double> row(static_cast<size_t>(g));
    for (int64_t i = r0; i < r1; ++i) {
      for (int64_t j = 0; j < g; ++j) row[j] = x[i * g + j] - (mean.empty() ? 0.0 : mean[j]);
      for (int64_t c = 0; c < k; ++c) {
        const double* v = comp.data() + c * g;
        double s = 0.0;
        for (int64_t j = 0; j < g; ++j) s += row[j] * v[j];
        out[i * k + c] = s;
      }
    }
  });
  return out;
}

Element take_all_rows(const Element& e, std::span<const int64_t> cols) {
  std::vector<int64_t> rows(static_cast<size_t>(matrix_rows(e)));
  std::iota(rows.begin(), rows.end(), int64_t{0});
  return take_2d(e, rows, cols);
}

Element take_all_cols(const Element& e, std::span<const int64_t> rows) {
  std::vector<int64_t> cols(static_cast<size_t>(matrix_cols(e)));
  std::iota(cols.begin(), cols.end(), int64_t{0});
  return take_2d(e, rows, cols);
}

void normalize_element(Element& e, std::optional<double> target) {
  NormalizeTotalOptions o;
  o.target_sum = target;
  if (e.is<SparseMatrix>()) normalize_total(e.get<SparseMatrix>(), o);
  else normalize_total(e.get<Array>(), o);
}

void log1p_element(Element& e) {
  if (e.is<SparseMatrix>()) log1p(e.get<SparseMatrix>());
  else log1p(e.get<Array>());
}

}  // namespace

ScrubletScores scrublet_call_doublets(const Element& obs_norm, const Element& sim_norm,
                                      const std::vector<int64_t>& parents, const ScrubletOptions& opt) {
  if (!(opt.expected_doublet_rate > 0.0 && opt.expected_doublet_rate < 1.0))
    throw ValueError("scrublet: expected_doublet_rate must be in (0, 1)");
  if (!(opt.stdev_doublet_rate >= 0.0)) throw ValueError("scrublet: stdev_doublet_rate must be >= 0");
  const KnnMetric metric = parse_knn_metric(opt.knn_dist_metric);
  int64_t n_obs = 0, g = 0, n_sim = 0, g_sim = 0;
  std::vector<double> xo = dense_rows(obs_norm, n_obs, g, "the observed matrix");
  std::vector<double> xs = dense_rows(sim_norm, n_sim, g_sim, "the simulated matrix");
  if (g != g_sim)
    throw ValueError("scrublet: observed and simulated matrices have " + std::to_string(g) + " and " +
                     std::to_string(g_sim) + " genes");
  if (n_obs < 2 || n_sim < 1) throw ValueError("scrublet: need at least 2 observed cells and 1 simulated doublet");
  if (static_cast<int64_t>(parents.size()) != 2 * n_sim)
    throw ValueError("scrublet: doublet parents must be n_sim x 2");
  if (opt.n_prin_comps < 1 || opt.n_prin_comps >= std::min(n_obs, g))
    throw ValueError("scrublet: n_prin_comps=" + std::to_string(opt.n_prin_comps) +
                     " must be between 1 and min(n_obs, n_genes) - 1 = " + std::to_string(std::min(n_obs, g) - 1));

  // Gene statistics of the observed cells: mean and ddof=1 variance as
  // E[x²] - E[x]² in double (fast_array_utils' mean_var).
  std::vector<double> mean(static_cast<size_t>(g), 0.0), sq(static_cast<size_t>(g), 0.0);
  for (int64_t i = 0; i < n_obs; ++i)
    for (int64_t j = 0; j < g; ++j) {
      const double v = xo[i * g + j];
      mean[j] += v;
      sq[j] += v * v;
    }
  std::vector<double> inv_std(static_cast<size_t>(g));
  for (int64_t j = 0; j < g; ++j) {
    mean[j] /= static_cast<double>(n_obs);
    const double var = (sq[j] / static_cast<double>(n_obs) - mean[j] * mean[j]) * n_obs / (n_obs - 1.0);
    const double sd = std::sqrt(var);
    // A constant gene would give NaNs that scikit-learn rejects; it carries
    // no information, so it is left unscaled.
    inv_std[j] = sd > 0.0 && std::isfinite(sd) ? 1.0 / sd : 1.0;
  }
  auto transform = [&](std::vector<double>& x, int64_t n) {
    parallel_for(n, [&](int64_t i) {
      for (int64_t j = 0; j < g; ++j) {
        double v = x[i * g + j];
        if (opt.mean_center) v -= mean[j];
        if (opt.normalize_variance) v *= inv_std[j];
        x[i * g + j] = v;
      }
    }, 64);
  };
  if (opt.mean_center || opt.normalize_variance) {
    transform(xo, n_obs);
    transform(xs, n_sim);
  }

  // PCA (mean_center) or TruncatedSVD fitted on the observed cells.
  Array xo_arr = Array::from_vector(xo, {n_obs, g});
  PcaOptions po;
  po.n_comps = opt.n_prin_comps;
  po.zero_center = opt.mean_center;
  po.svd_solver = PcaSolver::Arpack;
  po.random_state = opt.random_state;
  po.dtype = DType::Float64;
  const PcaResult pr = pca(xo_arr, po);
  const int64_t k = pr.components.rows();
  const std::vector<double> comp = pr.components.to_vector<double>();
  const std::vector<double>& pmean = opt.mean_center ? pr.mean : std::vector<double>{};
  const std::vector<double> mo = project(xo, n_obs, g, comp, k, pmean);
  const std::vector<double> ms = project(xs, n_sim, g, comp, k, pmean);
  xo.clear();
  xs.clear();

  ScrubletScores r;
  const int64_t n_all = n_obs + n_sim;
  r.n_neighbors = opt.n_neighbors ? *opt.n_neighbors
                                  : static_cast<int>(std::nearbyint(0.5 * std::sqrt(static_cast<double>(n_obs))));
  if (r.n_neighbors < 1) throw ValueError("scrublet: n_neighbors must be >= 1");
  const double ratio = static_cast<double>(n_sim) / static_cast<double>(n_obs);
  r.k_adj = static_cast<int>(std::nearbyint(r.n_neighbors * (1.0 + ratio)));
  if (r.k_adj > n_all)
    throw ValueError("scrublet: " + std::to_string(r.k_adj) + " neighbours requested among " +
                     std::to_string(n_all) + " observed and simulated cells; lower n_neighbors");

  std::vector<double> joint(static_cast<size_t>(n_all * k));
  std::copy(mo.begin(), mo.end(), joint.begin());
  std::copy(ms.begin(), ms.end(), joint.begin() + n_obs * k);
  KnnOptions ko;
  ko.metric = metric;
  ko.method = !opt.use_approx_neighbors ? KnnMethod::Auto : (*opt.use_approx_neighbors ? KnnMethod::Approx : KnnMethod::Exact);
  ko.random_state = opt.random_state;
  const KnnResult nn = knn(Array::from_vector(joint, {n_all, k}), r.k_adj, ko);
  // Scanpy drops the self column only when approximate search was asked for
  // explicitly; otherwise each cell counts itself.
  const int first = opt.use_approx_neighbors.value_or(false) ? 1 : 0;

  const double rho = opt.expected_doublet_rate, se_rho = opt.stdev_doublet_rate;
  const double N = static_cast<double>(r.k_adj);
  std::vector<double> Ld(static_cast<size_t>(n_all)), se(static_cast<size_t>(n_all));
  parallel_for(n_all, [&](int64_t i) {
    int nd = 0;
    for (int j = first; j < nn.k; ++j) nd += nn.index(i, j) >= n_obs ? 1 : 0;
    const double q = (nd + 1.0) / (N + 2.0);
    const double denom = 1.0 - rho - q * (1.0 - rho - rho / ratio);
    Ld[i] = q * rho / ratio / denom;
    const double se_q = std::sqrt(q * (1.0 - q) / (N + 3.0));
    se[i] = q * rho / ratio / (denom * denom) *
            std::sqrt((se_q / q * (1.0 - rho)) * (se_q / q * (1.0 - rho)) + (se_rho / rho * (1.0 - q)) * (se_rho / rho * (1.0 - q)));
  });
  r.scores_obs.assign(Ld.begin(), Ld.begin() + n_obs);
  r.scores_sim.assign(Ld.begin() + n_obs, Ld.end());
  r.errors_obs.assign(se.begin(), se.begin() + n_obs);
  r.errors_sim.assign(se.begin() + n_obs, se.end());

  if (opt.get_doublet_neighbor_parents) {
    r.doublet_neighbor_parents.resize(static_cast<size_t>(n_obs));
    for (int64_t i = 0; i < n_obs; ++i) {
      std::vector<int64_t> ps;
      for (int j = first; j < nn.k; ++j) {
        const int64_t s = nn.index(i, j) - n_obs;
        if (s < 0) continue;
        ps.push_back(parents[2 * s]);
        ps.push_back(parents[2 * s + 1]);
      }
      std::sort(ps.begin(), ps.end());
      ps.erase(std::unique(ps.begin(), ps.end()), ps.end());
      r.doublet_neighbor_parents[static_cast<size_t>(i)] = std::move(ps);
    }
  }

  r.threshold = opt.threshold ? opt.threshold : threshold_minimum(r.scores_sim);
  r.predicted.assign(static_cast<size_t>(n_obs), false);
  if (r.threshold) {
    const double t = *r.threshold;
    int64_t det = 0, detectable = 0;
    r.z_scores.resize(static_cast<size_t>(n_obs));
    for (int64_t i = 0; i < n_obs; ++i) {
      r.predicted[i] = r.scores_obs[i] > t;
      det += r.predicted[i] ? 1 : 0;
      r.z_scores[i] = (r.scores_obs[i] - t) / r.errors_obs[i];
    }
    for (double s : r.scores_sim) detectable += s > t ? 1 : 0;
    r.detected_doublet_rate = static_cast<double>(det) / static_cast<double>(n_obs);
    r.detectable_doublet_fraction = static_cast<double>(detectable) / static_cast<double>(n_sim);
    r.overall_doublet_rate = r.detectable_doublet_fraction > 0 ? r.detected_doublet_rate / r.detectable_doublet_fraction
                                                               : std::numeric_limits<double>::quiet_NaN();
  }
  return r;
}

ScrubletResult scrublet(const Element& counts, const ScrubletOptions& opt) {
  if (!is_matrix(counts) || (!counts.is<SparseMatrix>() && !counts.is<Array>()))
    throw ValueError("scrublet: the counts must be a dense or sparse matrix");
  const int64_t n_in = matrix_rows(counts);
  ScrubletResult res;

  // filter_genes(min_cells=3), then filter_cells(min_genes=3).
  FilterGenesOptions fg;
  fg.min_cells = 3;
  const FilterResult genes_kept = counts.is<SparseMatrix>() ? filter_genes(counts.get<SparseMatrix>(), fg)
                                                            : filter_genes(counts.get<Array>(), fg);
  std::vector<int64_t> genes = indices_from_mask(genes_kept.keep);
  Element x = take_all_rows(counts, genes);
  FilterCellsOptions fc;
  fc.min_genes = 3;
  const FilterResult cells_kept =
      x.is<SparseMatrix>() ? filter_cells(x.get<SparseMatrix>(), fc) : filter_cells(x.get<Array>(), fc);
  res.cells = indices_from_mask(cells_kept.keep);
  x = take_all_cols(x, res.cells);
  if (res.cells.size() < 3 || genes.empty())
    throw ValueError("scrublet: fewer than 3 cells or no genes left after filtering (min_cells=3, min_genes=3)");

  // Median normalisation, HVGs on its log1p.
  Element norm = x;
  normalize_element(norm, std::nullopt);
  Element logged = norm;
  log1p_element(logged);
  const HvgResult hvg = logged.is<SparseMatrix>() ? highly_variable_genes(logged.get<SparseMatrix>())
                                                  : highly_variable_genes(logged.get<Array>());
  logged = Element();
  const std::vector<int64_t> hv = indices_from_mask(hvg.highly_variable);
  if (hv.size() < 2) throw ValueError("scrublet: fewer than 2 highly variable genes; the data may not be raw counts");
  res.genes.reserve(hv.size());
  for (int64_t j : hv) res.genes.push_back(genes[j]);
  Element obs_norm = take_all_rows(norm, hv);
  norm = Element();
  const Element raw = take_all_rows(x, hv);
  x = Element();

  ScrubletSimulateOptions so;
  so.sim_doublet_ratio = opt.sim_doublet_ratio;
  so.synthetic_doublet_umi_subsampling = opt.synthetic_doublet_umi_subsampling;
  so.random_state = opt.random_state;
  SimulatedDoublets sim = raw.is<SparseMatrix>() ? simulate_doublets(raw.get<SparseMatrix>(), {}, so)
                                                 : simulate_doublets(raw.get<Array>(), {}, so);
  Element sim_norm(std::move(sim.counts));
  if (opt.log_transform) {
    log1p_element(obs_norm);
    log1p_element(sim_norm);
  }
  normalize_element(obs_norm, 1e6);
  normalize_element(sim_norm, 1e6);
  res.parents = sim.parents;
  res.scores = scrublet_call_doublets(obs_norm, sim_norm, sim.parents, opt);

  res.doublet_score.assign(static_cast<size_t>(n_in), std::numeric_limits<double>::quiet_NaN());
  res.predicted_doublet.assign(static_cast<size_t>(n_in), false);
  for (size_t c = 0; c < res.cells.size(); ++c) {
    res.doublet_score[res.cells[c]] = res.scores.scores_obs[c];
    res.predicted_doublet[res.cells[c]] = res.scores.predicted[c];
  }
  return res;
}

namespace {

Dict scrublet_uns(const ScrubletResult& r, const ScrubletOptions& opt) {
  Dict u;
  u["doublet_scores_sim"] = Array::from_vector(r.scores.scores_sim);
  const int64_t n_sim = static_cast<int64_t>(r.parents.size() / 2);
  u["doublet_parents"] = Array::from_vector(r.parents, {n_sim, 2});
  Dict params;
  params["expected_doublet_rate"] = Array::scalar(opt.expected_doublet_rate);
  params["sim_doublet_ratio"] = Array::scalar(opt.sim_doublet_ratio);
  params["n_neighbors"] = Array::scalar(static_cast<int64_t>(r.scores.n_neighbors));
  params["random_state"] = Array::scalar(static_cast<int64_t>(opt.random_state));
  u["parameters"] = std::move(params);
  if (r.scores.threshold) u["threshold"] = Array::scalar(*r.scores.threshold);
  if (opt.get_doublet_neighbor_parents) {
    Dict nbp;
    for (size_t i = 0; i < r.scores.doublet_neighbor_parents.size(); ++i)
      nbp[std::to_string(i)] = Array::from_vector(r.scores.doublet_neighbor_parents[i]);
    u["doublet_neighbor_parents"] = std::move(nbp);
  }
  return u;
}

void write_obs(AnnData& adata, const std::vector<double>& score, const std::vector<bool>& pred) {
  adata.obs.set_array("doublet_score", score);
  std::vector<Bool8> b(pred.begin(), pred.end());
  adata.obs.set("predicted_doublet", Array::from_vector(b));
}

}  // namespace

void scrublet(AnnData& adata, const ScrubletOptions& opt) {
  if (!adata.X) throw ValueError("scrublet: adata has no X");
  const int64_t n = adata.n_obs();
  if (!opt.batch_key) {
    const ScrubletResult r = scrublet(*adata.X, opt);
    write_obs(adata, r.doublet_score, r.predicted_doublet);
    adata.uns["scrublet"] = scrublet_uns(r, opt);
    return;
  }
  if (!adata.obs.has(*opt.batch_key))
    throw ValueError("scrublet: `batch_key` must be a column of .obs, but '" + *opt.batch_key + "' is not");
  const Column& col = adata.obs.at(*opt.batch_key);
  std::vector<std::string> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[i] = column_cell_text(col, i);
  // np.unique order: numeric for numeric columns, lexicographic for text.
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (const Array* a = std::get_if<Array>(&col)) {
    std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) { return a->get_double(p) < a->get_double(q); });
  } else {
    std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) { return labels[p] < labels[q]; });
  }
  std::vector<double> score(static_cast<size_t>(n), std::numeric_limits<double>::quiet_NaN());
  std::vector<bool> pred(static_cast<size_t>(n), false);
  Dict batches;
  for (size_t s = 0; s < order.size();) {
    const std::string& b = labels[order[s]];
    std::vector<int64_t> rows;
    size_t e = s;
    while (e < order.size() && labels[order[e]] == b) rows.push_back(order[e++]);
    std::sort(rows.begin(), rows.end());
    s = e;
    const Element xb = take_all_cols(*adata.X, rows);
    const ScrubletResult r = scrublet(xb, opt);
    for (size_t i = 0; i < rows.size(); ++i) {
      score[rows[i]] = r.doublet_score[i];
      pred[rows[i]] = r.predicted_doublet[i];
    }
    batches[b] = scrublet_uns(r, opt);
  }
  write_obs(adata, score, pred);
  Dict u;
  u["batches"] = std::move(batches);
  u["batched_by"] = *opt.batch_key;
  adata.uns["scrublet"] = std::move(u);
}

}  // namespace scanpp::pp
