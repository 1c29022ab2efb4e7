#include "scanpp/pp/neighbors.hpp"

#include <cmath>
#include <iostream>
#include <vector>

#include "scanpp/core/error.hpp"

namespace scanpp::pp {

namespace {

constexpr int64_t kScanpyNPcs = 50;  // scanpy.settings.N_PCS

// pynndescent and scikit-learn's cosine path hand back float32 distances.
void round_to_float32(KnnResult& r) {
  for (double& d : r.distances) d = static_cast<double>(static_cast<float>(d));
}

// CSR of columns [first, k) of every row, in rank order (Scanpy's
// _get_sparse_matrix_from_indices_distances: column indices not sorted).
SparseMatrix knn_to_csr(const KnnResult& r, int first, DType dtype) {
  SparseMatrix m;
  m.format = SparseFormat::CSR;
  m.n_rows = m.n_cols = r.n;
  const int per_row = r.k - first;
  m.indptr.resize(static_cast<size_t>(r.n) + 1);
  for (int64_t i = 0; i <= r.n; ++i) m.indptr[static_cast<size_t>(i)] = i * per_row;
  m.indices.resize(static_cast<size_t>(r.n) * per_row);
  Array data(DType::Float64, {r.n * per_row});
  auto d = data.as<double>();
  for (int64_t i = 0; i < r.n; ++i)
    for (int j = first; j < r.k; ++j) {
      const size_t at = static_cast<size_t>(i) * per_row + (j - first);
      m.indices[at] = r.index(i, j);
      d[at] = r.distance(i, j);
    }
  m.data = dtype == DType::Float64 ? std::move(data) : data.astype(dtype);
  return m;
}

Array dense_of(const Element& e, const std::string& what) {
  if (e.is<Array>()) {
    const Array& a = e.get<Array>();
    if (a.ndim() != 2) throw ValueError("neighbors: " + what + " is not a 2-D matrix");
    return a;
  }
  if (e.is<SparseMatrix>()) {
    // The distance kernels work on dense rows; a sparse representation is
    // densified here (cheap for the <= 50 columns Scanpy uses X for).
    return to_dense(e.get<SparseMatrix>());
  }
  throw ValueError(std::string("neighbors: ") + what + " holds a " + e.kind() + ", not a numeric matrix");
}

Array first_cols(const Array& a, int64_t n_cols) {
  if (n_cols == a.shape()[1]) return a;
  std::vector<int64_t> cols(static_cast<size_t>(n_cols));
  for (int64_t c = 0; c < n_cols; ++c) cols[static_cast<size_t>(c)] = c;
  return a.take_cols(cols);
}

}  // namespace

ConnectivityMethod parse_connectivity_method(const std::string& name) {
  if (name == "umap") return ConnectivityMethod::Umap;
  if (name == "gauss") return ConnectivityMethod::Gauss;
  if (name == "jaccard") return ConnectivityMethod::Jaccard;
  throw ValueError("neighbors: method must be 'umap', 'gauss' or 'jaccard', got '" + name + "'");
}

std::string connectivity_method_name(ConnectivityMethod m) {
  switch (m) {
    case ConnectivityMethod::Umap: return "umap";
    case ConnectivityMethod::Gauss: return "gauss";
    case ConnectivityMethod::Jaccard: return "jaccard";
  }
  return "?";
}

NeighborsResult compute_neighbors(const Array& X, const NeighborsOptions& opt) {
  if (X.ndim() != 2) throw ValueError("neighbors: the representation must be a 2-D matrix");
  const int64_t n = X.shape()[0];
  if (n < 2) throw ValueError("neighbors: need at least 2 cells, got " + std::to_string(n));
  if (opt.n_neighbors < 2) throw ValueError("neighbors: n_neighbors must be at least 2 (it counts the cell itself)");
  const KnnMetric metric = parse_knn_metric(opt.metric);
  if (!opt.knn && opt.method != ConnectivityMethod::Gauss)
    throw ValueError("neighbors: `method = '" + connectivity_method_name(opt.method) + "'` only with `knn = True`");
  if (!opt.knn && opt.transformer == KnnMethod::Approx)
    throw ValueError("neighbors: knn = false needs the exact (dense) distances, not the approximate search");

  NeighborsResult res;
  int k = opt.n_neighbors;
  if (k > n) {
    k = 1 + static_cast<int>(n / 2);
    std::cerr << "scanpp: n_neighbors (" << opt.n_neighbors << ") is larger than the dataset size; truncating to "
              << k << "\n";
  }
  res.n_neighbors = k;
  const bool exact = opt.transformer == KnnMethod::Exact || !opt.knn ||
                     (opt.transformer == KnnMethod::Auto && knn_uses_exact(n, metric));
  // scikit-learn returns float32 cosine distances for float32 data; its
  // other metrics (ArgKmin, scipy cdist) return float64.
  const DType exact_dtype = metric == KnnMetric::Cosine && X.dtype() == DType::Float32 ? DType::Float32 : DType::Float64;

  if (exact && opt.knn) {
    res.knn = knn_exact(X, k, metric);
    if (exact_dtype == DType::Float32) round_to_float32(res.knn);
    res.distances = knn_to_csr(res.knn, 1, exact_dtype);
  } else if (exact) {
    // knn = false: every pairwise distance, dense (Scanpy's toarray()).
    const KnnResult all = knn_exact(X, static_cast<int>(n), metric);
    Array dense(DType::Float64, {n, n});
    auto dd = dense.as<double>();
    for (int64_t i = 0; i < n; ++i)
      for (int j = 0; j < all.k; ++j)
        dd[static_cast<size_t>(i * n + all.index(i, j))] = exact_dtype == DType::Float32
                                                              ? static_cast<double>(static_cast<float>(all.distance(i, j)))
                                                              : all.distance(i, j);
    res.knn = knn_truncate(all, k);
    if (exact_dtype == DType::Float32) round_to_float32(res.knn);
    res.connectivities = gauss_connectivities_dense(dense, k);
    res.distances = exact_dtype == DType::Float64 ? std::move(dense) : dense.astype(exact_dtype);
  } else {
    // The approximate index is queried for self + k neighbours, all of them
    // stored (as Scanpy stores pynndescent's output); the first k are used.
    KnnOptions ko{.metric = metric, .method = KnnMethod::Approx, .random_state = opt.random_state, .hnsw = opt.hnsw};
    KnnResult wide = knn_approx(X, static_cast<int>(std::min<int64_t>(k + 1, n)), ko);
    round_to_float32(wide);
    res.distances = knn_to_csr(wide, 0, DType::Float32);
    res.knn = knn_truncate(wide, k);
  }

  if (opt.knn) {
    switch (opt.method) {
      case ConnectivityMethod::Umap: res.connectivities = umap_connectivities(res.knn); break;
      case ConnectivityMethod::Gauss: res.connectivities = gauss_connectivities(res.distances.get<SparseMatrix>(), k); break;
      case ConnectivityMethod::Jaccard: res.connectivities = jaccard_connectivities(res.knn); break;
    }
    res.n_components = connected_components(res.connectivities.get<SparseMatrix>());
  } else {
    res.n_components = connected_components(dense_to_csr(res.connectivities.get<Array>()));
  }
  return res;
}

Array choose_representation(const AnnData& adata, const std::optional<std::string>& use_rep_in,
                            const std::optional<int>& n_pcs) {
  std::optional<std::string> use_rep = use_rep_in;
  if (!use_rep && n_pcs && *n_pcs == 0) use_rep = "X";  // Scanpy: n_pcs=0 means .X
  if (n_pcs && *n_pcs < 0) throw ValueError("neighbors: n_pcs must not be negative");
  auto X_matrix = [&]() -> Array {
    if (!adata.X) throw ValueError("neighbors: adata.X is empty");
    return dense_of(*adata.X, ".X");
  };
  if (!use_rep) {
    if (adata.n_vars() > kScanpyNPcs) {
      auto it = adata.obsm.find("X_pca");
      if (it == adata.obsm.end())
        throw KeyError("neighbors: .X has " + std::to_string(adata.n_vars()) +
                       " variables (> 50) and obsm['X_pca'] is missing; run pp::pca first (Scanpy would run PCA "
                       "with default parameters here), or pass use_rep = \"X\"");
      Array pca = dense_of(it->second, "obsm['X_pca']");
      if (n_pcs && *n_pcs > pca.shape()[1])
        throw ValueError("neighbors: `X_pca` does not have enough PCs (" + std::to_string(pca.shape()[1]) +
                         " < n_pcs = " + std::to_string(*n_pcs) + "); rerun pp::pca with more n_comps");
      return n_pcs ? first_cols(pca, *n_pcs) : pca;
    }
    return X_matrix();
  }
  auto it = adata.obsm.find(*use_rep);
  if (it != adata.obsm.end()) {
    Array rep = dense_of(it->second, "obsm['" + *use_rep + "']");
    if (n_pcs) {
      if (*n_pcs > rep.shape()[1])
        throw ValueError("neighbors: " + *use_rep + " does not have enough dimensions (" +
                         std::to_string(rep.shape()[1]) + " < n_pcs = " + std::to_string(*n_pcs) + ")");
      return first_cols(rep, *n_pcs);
    }
    return rep;
  }
  if (*use_rep == "X") return X_matrix();
  throw KeyError("neighbors: did not find '" + *use_rep + "' in .obsm; compute it first");
}

void neighbors(AnnData& adata, const NeighborsOptions& opt) {
  const Array X = choose_representation(adata, opt.use_rep, opt.n_pcs);
  if (X.shape()[0] != adata.n_obs())
    throw ValueError("neighbors: the representation has " + std::to_string(X.shape()[0]) + " rows for " +
                     std::to_string(adata.n_obs()) + " cells");
  NeighborsResult res = compute_neighbors(X, opt);

  const std::string key = opt.key_added.value_or("neighbors");
  const std::string conns_key = opt.key_added ? *opt.key_added + "_connectivities" : "connectivities";
  const std::string dists_key = opt.key_added ? *opt.key_added + "_distances" : "distances";

  Dict params;
  params["n_neighbors"] = Array::scalar<int64_t>(res.n_neighbors);
  params["method"] = connectivity_method_name(opt.method);
  params["random_state"] = Array::scalar<int64_t>(opt.random_state);
  params["metric"] = opt.metric;
  if (opt.use_rep) params["use_rep"] = *opt.use_rep;
  if (opt.n_pcs) params["n_pcs"] = Array::scalar<int64_t>(*opt.n_pcs);
  Dict info;
  info["connectivities_key"] = conns_key;
  info["distances_key"] = dists_key;
  info["params"] = std::move(params);

  adata.obsp[dists_key] = std::move(res.distances);
  adata.obsp[conns_key] = std::move(res.connectivities);
  adata.uns[key] = std::move(info);
}

}  // namespace scanpp::pp
