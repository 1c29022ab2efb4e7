#include "scanpp/tl/umap.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "scanpp/core/error.hpp"
#include "scanpp/core/random.hpp"
#include "scanpp/tl/spectral_layout.hpp"
#include "scanpp/tl/umap_ab.hpp"
#include "scanpp/tl/umap_sgd.hpp"

namespace scanpp::tl {

namespace {

// Substreams of the seed, one per use.
constexpr uint64_t kNoiseStream = 0x554d415031ULL;
constexpr uint64_t kRandomInitStream = 0x554d415032ULL;
constexpr uint64_t kPagaStream = 0x554d415034ULL;
constexpr uint64_t kJitterStream = 0x554d415035ULL;

// Duplicates summed, entries below max/n_epochs dropped (umap-learn's
// pruning); returns a CSR with sorted columns.
SparseMatrix prune(const SparseMatrix& graph, int n_epochs, int default_epochs) {
  SparseMatrix csr = convert_format(graph, SparseFormat::CSR);
  sort_indices(csr);
  SparseMatrix out;
  out.n_rows = csr.n_rows;
  out.n_cols = csr.n_cols;
  out.indptr.assign(1, 0);
  std::vector<double> vals;
  double wmax = 0.0;
  for (int64_t k = 0; k < csr.nnz(); ++k) {
    const double w = csr.data.get_double(k);
    if (!std::isfinite(w) || w < 0.0) throw ValueError("umap: the graph has a negative or non-finite weight");
  }
  // Max over summed duplicates.
  std::vector<int32_t> idx;
  for (int64_t i = 0; i < csr.n_rows; ++i) {
    for (int64_t k = csr.indptr[i]; k < csr.indptr[i + 1];) {
      const int32_t j = csr.indices[k];
      double w = 0.0;
      while (k < csr.indptr[i + 1] && csr.indices[k] == j) w += csr.data.get_double(k++);
      idx.push_back(j);
      vals.push_back(w);
      wmax = std::max(wmax, w);
    }
    out.indptr.push_back(static_cast<int64_t>(idx.size()));
  }
  const double threshold = wmax / static_cast<double>(n_epochs > 10 ? n_epochs : default_epochs);
  std::vector<double> kept;
  std::vector<int32_t> kept_idx;
  std::vector<int64_t> ptr(1, 0);
  for (int64_t i = 0; i < out.n_rows; ++i) {
    for (int64_t k = out.indptr[i]; k < out.indptr[i + 1]; ++k)
      if (vals[k] >= threshold && vals[k] > 0.0) {
        kept_idx.push_back(idx[k]);
        kept.push_back(vals[k]);
      }
    ptr.push_back(static_cast<int64_t>(kept_idx.size()));
  }
  out.indptr = std::move(ptr);
  out.indices = std::move(kept_idx);
  out.data = Array::from_vector(kept);
  return out;
}

// Mean distance from each point to its nearest other point (a sweep along
// the first coordinate; exact), as umap-learn's KDTree query does for jitter.
double mean_nn_distance(const std::vector<float>& y, int64_t n, int dim) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t p, int64_t q) { return y[p * dim] < y[q * dim]; });
  double total = 0.0;
  for (int64_t r = 0; r < n; ++r) {
    const int64_t i = order[r];
    double best = std::numeric_limits<double>::infinity();
    for (int dir = -1; dir <= 1; dir += 2)
      for (int64_t s = r + dir; s >= 0 && s < n; s += dir) {
        const int64_t k = order[s];
        const double dx = double(y[k * dim]) - y[i * dim];
        if (dx * dx >= best) break;
        double d2 = 0.0;
        for (int d = 0; d < dim; ++d) d2 += (double(y[k * dim + d]) - y[i * dim + d]) * (double(y[k * dim + d]) - y[i * dim + d]);
        best = std::min(best, d2);
      }
    total += std::isfinite(best) ? std::sqrt(best) : 0.0;
  }
  return n > 0 ? total / static_cast<double>(n) : 0.0;
}

bool has_duplicate_rows(const std::vector<float>& y, int64_t n, int dim) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  auto row_less = [&](int64_t p, int64_t q) {
    return std::lexicographical_compare(y.begin() + p * dim, y.begin() + (p + 1) * dim, y.begin() + q * dim,
                                        y.begin() + (q + 1) * dim);
  };
  std::sort(order.begin(), order.end(), row_less);
  for (int64_t r = 1; r < n; ++r)
    if (std::equal(y.begin() + order[r] * dim, y.begin() + (order[r] + 1) * dim, y.begin() + order[r - 1] * dim))
      return true;
  return false;
}

}  // namespace

UmapResult umap_layout(const SparseMatrix& graph, const UmapLayoutOptions& opt, UmapInit init,
                       const Array* init_coords, const Array* data) {
  if (graph.n_rows != graph.n_cols)
    throw ValueError("umap: the graph must be square, got " + std::to_string(graph.n_rows) + " x " +
                     std::to_string(graph.n_cols));
  graph.validate("", "umap graph");
  if (opt.n_components < 1) throw ValueError("umap: n_components must be >= 1");
  if (opt.negative_sample_rate < 0) throw ValueError("umap: negative_sample_rate must be >= 0");
  if (opt.n_epochs && *opt.n_epochs < 0) throw ValueError("umap: maxiter (n_epochs) must be >= 0");
  const int64_t n = graph.n_rows;
  const int dim = opt.n_components;
  const uint64_t seed = static_cast<uint64_t>(opt.random_state);
  UmapResult res;
  if (opt.a && opt.b) {
    res.a = *opt.a;
    res.b = *opt.b;
  } else {
    const UmapCurve c = find_ab_params(opt.spread, opt.min_dist);
    res.a = c.a;
    res.b = c.b;
  }
  const int default_epochs = n <= 10000 ? 500 : 200;
  const int n_epochs = opt.n_epochs && *opt.n_epochs > 0 ? *opt.n_epochs : default_epochs;
  res.n_epochs = n_epochs;

  const SparseMatrix pruned = prune(graph, n_epochs, default_epochs);

  // Start positions.
  std::vector<float> y(static_cast<size_t>(n * dim));
  if (init == UmapInit::Spectral) {
    const SpectralLayout sl = spectral_layout(pruned, {.n_components = dim, .random_state = opt.random_state}, data);
    res.spectral_fallback = sl.used_random_fallback;
    double mx = 0.0;
    for (double v : sl.coords) mx = std::max(mx, std::fabs(v));
    const double expansion = mx > 0.0 ? 10.0 / mx : 1.0;
    // umap-learn adds a little noise to the scaled spectral layout to avoid local minima.
    for (int64_t i = 0; i < n; ++i) {
      random::Stream rs(seed, static_cast<uint64_t>(i), kNoiseStream);
      for (int d = 0; d < dim; ++d)
        y[i * dim + d] = static_cast<float>(sl.coords[i * dim + d] * expansion) + static_cast<float>(rs.normal(0.0, 1e-4));
    }
  } else if (init == UmapInit::Random) {
    for (int64_t i = 0; i < n; ++i) {
      random::Stream rs(seed, static_cast<uint64_t>(i), kRandomInitStream);
      for (int d = 0; d < dim; ++d) y[i * dim + d] = static_cast<float>(rs.uniform(-10.0, 10.0));
    }
  } else {
    if (!init_coords) throw ValueError("umap: init coordinates were not given");
    if (init_coords->ndim() != 2 || init_coords->rows() != n || init_coords->cols() != dim)
      throw ValueError("umap: init coordinates must be n_obs x n_components = " + std::to_string(n) + " x " +
                       std::to_string(dim));
    for (int64_t k = 0; k < n * dim; ++k) {
      const double v = init_coords->get_double(k);
      if (!std::isfinite(v)) throw ValueError("umap: init coordinates hold a non-finite value");
      y[k] = static_cast<float>(v);
    }
    if (has_duplicate_rows(y, n, dim)) {
      const double sd = 0.001 * mean_nn_distance(y, n, dim);
      for (int64_t i = 0; i < n; ++i) {
        random::Stream rs(seed, static_cast<uint64_t>(i), kJitterStream);
        for (int d = 0; d < dim; ++d) y[i * dim + d] += static_cast<float>(rs.normal(0.0, sd));
      }
    }
  }
  // Every start is rescaled to [0, 10] per dimension.
  for (int d = 0; d < dim; ++d) {
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (int64_t i = 0; i < n; ++i) {
      lo = std::min(lo, y[i * dim + d]);
      hi = std::max(hi, y[i * dim + d]);
    }
    const float range = hi - lo;
    for (int64_t i = 0; i < n; ++i) y[i * dim + d] = range > 0.0f ? 10.0f * (y[i * dim + d] - lo) / range : 0.0f;
  }

  if (pruned.nnz() > 0 && n_epochs > 0) {
    const umap_sgd::Graph g = umap_sgd::make_graph(pruned, n_epochs);
    umap_sgd::optimize(g, {.a = res.a, .b = res.b, .gamma = opt.gamma, .alpha0 = opt.alpha, .n_epochs = n_epochs,
                           .dim = dim, .negative_sample_rate = opt.negative_sample_rate, .seed = seed},
                       y);
  }
  res.embedding = Array::from_vector(y, {n, static_cast<int64_t>(dim)});
  return res;
}

namespace {

const Dict* uns_dict(const Dict& d, const std::string& key) {
  auto it = d.find(key);
  return it != d.end() && it->second.is<Dict>() ? &it->second.get<Dict>() : nullptr;
}

// Scanpy's _choose_representation for the neighbour graph's representation,
// when it is a dense matrix in memory (only needed for disconnected graphs).
std::optional<Array> neighbors_representation(const AnnData& adata, const Dict& neighbors) {
  std::optional<std::string> use_rep;
  std::optional<int64_t> n_pcs;
  if (const Dict* params = uns_dict(neighbors, "params")) {
    auto r = params->find("use_rep");
    if (r != params->end() && r->second.is<std::string>()) use_rep = r->second.get<std::string>();
    auto p = params->find("n_pcs");
    if (p != params->end() && p->second.is<Array>() && p->second.get<Array>().size() == 1)
      n_pcs = static_cast<int64_t>(p->second.get<Array>().get_double(0));
  }
  auto columns = [&](const Array& a) -> std::optional<Array> {
    if (a.ndim() != 2) return std::nullopt;
    if (!n_pcs || *n_pcs >= a.cols()) return a;
    std::vector<int64_t> cols(static_cast<size_t>(*n_pcs));
    std::iota(cols.begin(), cols.end(), 0);
    return a.take_cols(cols);
  };
  auto obsm_array = [&](const std::string& key) -> std::optional<Array> {
    auto it = adata.obsm.find(key);
    if (it == adata.obsm.end() || !it->second.is<Array>()) return std::nullopt;
    return columns(it->second.get<Array>());
  };
  if (use_rep) {
    if (*use_rep == "X") return adata.X && adata.X->is<Array>() ? std::optional<Array>(adata.X->get<Array>()) : std::nullopt;
    return obsm_array(*use_rep);
  }
  if (adata.n_vars() > 50) return obsm_array("X_pca");
  return adata.X && adata.X->is<Array>() ? std::optional<Array>(adata.X->get<Array>()) : std::nullopt;
}

// Scanpy's get_init_pos_from_paga: cells of group c start between the group's
// position and that of its most connected PAGA neighbour.
Array paga_init(const AnnData& adata, const SparseMatrix& graph, int64_t random_state) {
  const Dict* paga = uns_dict(adata.uns, "paga");
  if (!paga || !paga->count("pos"))
    throw ValueError("umap: init_pos='paga' needs uns['paga']['pos']: run tl.paga and pl.paga first");
  const Element& pos_e = paga->at("pos");
  if (!pos_e.is<Array>() || pos_e.get<Array>().ndim() != 2 || pos_e.get<Array>().cols() != 2)
    throw ValueError("umap: uns['paga']['pos'] must be an n_groups x 2 array");
  const Array& pos = pos_e.get<Array>();
  if (!paga->count("groups") || !paga->at("groups").is<std::string>())
    throw ValueError("umap: uns['paga']['groups'] is missing");
  const std::string groups_key = paga->at("groups").get<std::string>();
  if (!adata.obs.has(groups_key) || !std::holds_alternative<Categorical>(adata.obs.at(groups_key)))
    throw ValueError("umap: obs['" + groups_key + "'] (uns['paga']['groups']) must be categorical");
  const Categorical& groups = std::get<Categorical>(adata.obs.at(groups_key));
  if (!paga->count("connectivities") || !paga->at("connectivities").is<SparseMatrix>())
    throw ValueError("umap: uns['paga']['connectivities'] is missing");
  const SparseMatrix coarse = convert_format(paga->at("connectivities").get<SparseMatrix>(), SparseFormat::CSR);
  const int64_t n_groups = pos.rows();
  if (coarse.n_rows != n_groups || groups.n_categories() != n_groups)
    throw ValueError("umap: uns['paga']['pos'] does not match the groups in obs['" + groups_key + "']");
  const int64_t n = graph.n_rows;
  Array out(DType::Float64, {n, 2});
  auto o = out.as<double>();
  std::fill(o.begin(), o.end(), 1.0);
  for (int64_t c = 0; c < n_groups; ++c) {
    int64_t nearest = -1;
    double best = -std::numeric_limits<double>::infinity();
    for (int64_t k = coarse.indptr[c]; k < coarse.indptr[c + 1]; ++k) {
      const double w = coarse.data.get_double(k);
      if (w != 0.0 && w > best) {
        best = w;
        nearest = coarse.indices[k];
      }
    }
    const double px = pos.get_double(c * 2), py = pos.get_double(c * 2 + 1);
    for (int64_t i = 0; i < n; ++i) {
      if (groups.codes[i] != c) continue;
      if (nearest < 0) {
        o[i * 2] = px;
        o[i * 2 + 1] = py;
        continue;
      }
      const double dx = px - pos.get_double(nearest * 2), dy = py - pos.get_double(nearest * 2 + 1);
      random::Stream rs(static_cast<uint64_t>(random_state), static_cast<uint64_t>(i), kPagaStream);
      const double u = rs.uniform(), v = rs.uniform();
      o[i * 2] = px - 0.5 * dx + u * dx;
      o[i * 2 + 1] = py - 0.5 * dy + v * dy;
    }
  }
  return out;
}

}  // namespace

void umap(AnnData& adata, const UmapOptions& opt) {
  const Dict* neighbors = uns_dict(adata.uns, opt.neighbors_key);
  if (!neighbors)
    throw KeyError("umap: did not find uns['" + opt.neighbors_key + "']: run pp.neighbors first");
  std::string conn_key = "connectivities";
  if (auto it = neighbors->find("connectivities_key"); it != neighbors->end() && it->second.is<std::string>())
    conn_key = it->second.get<std::string>();
  auto g = adata.obsp.find(conn_key);
  if (g == adata.obsp.end() || !g->second.is<SparseMatrix>())
    throw KeyError("umap: obsp['" + conn_key + "'] (uns['" + opt.neighbors_key + "']['connectivities_key']) is missing");
  const SparseMatrix& graph = g->second.get<SparseMatrix>();
  if (graph.n_rows != adata.n_obs()) throw ValueError("umap: obsp['" + conn_key + "'] is not n_obs x n_obs");

  UmapLayoutOptions lo{.n_components = opt.n_components,
                       .n_epochs = opt.maxiter,
                       .min_dist = opt.min_dist,
                       .spread = opt.spread,
                       .a = opt.a,
                       .b = opt.b,
                       .alpha = opt.alpha,
                       .gamma = opt.gamma,
                       .negative_sample_rate = opt.negative_sample_rate,
                       .random_state = opt.random_state};
  UmapResult res;
  if (opt.init_array) {
    res = umap_layout(graph, lo, UmapInit::Coordinates, opt.init_array);
  } else if (opt.init_pos == "spectral") {
    const std::optional<Array> rep = neighbors_representation(adata, *neighbors);
    res = umap_layout(graph, lo, UmapInit::Spectral, nullptr, rep ? &*rep : nullptr);
  } else if (opt.init_pos == "random") {
    res = umap_layout(graph, lo, UmapInit::Random);
  } else if (opt.init_pos == "paga") {
    if (opt.n_components != 2) throw ValueError("umap: init_pos='paga' gives 2-D positions; n_components must be 2");
    const Array start = paga_init(adata, graph, opt.random_state);
    res = umap_layout(graph, lo, UmapInit::Coordinates, &start);
  } else {
    auto it = adata.obsm.find(opt.init_pos);
    if (it == adata.obsm.end())
      throw ValueError("umap: init_pos must be 'spectral', 'paga', 'random' or an obsm key; '" + opt.init_pos +
                       "' is none of these");
    if (!it->second.is<Array>()) throw ValueError("umap: obsm['" + opt.init_pos + "'] is not a dense array");
    res = umap_layout(graph, lo, UmapInit::Coordinates, &it->second.get<Array>());
  }
  const std::string obsm_key = opt.key_added.empty() ? "X_umap" : opt.key_added;
  const std::string uns_key = opt.key_added.empty() ? "umap" : opt.key_added;
  adata.obsm[obsm_key] = std::move(res.embedding);
  Dict params;
  params["a"] = Array::scalar<double>(res.a);
  params["b"] = Array::scalar<double>(res.b);
  if (opt.random_state != 0) params["random_state"] = Array::scalar<int64_t>(opt.random_state);
  Dict entry;
  entry["params"] = std::move(params);
  adata.uns[uns_key] = std::move(entry);
}

}  // namespace scanpp::tl
