#include "scanpp/tl/ingest.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"

namespace scanpp::tl {

namespace {

const Dict* find_dict(const Dict& d, const std::string& key) {
  auto it = d.find(key);
  return it != d.end() && it->second.is<Dict>() ? &it->second.get<Dict>() : nullptr;
}

const Element* find(const Dict& d, const std::string& key) {
  auto it = d.find(key);
  return it != d.end() && !it->second.is<Null>() ? &it->second : nullptr;
}

double scalar_number(const Element& e, const std::string& what) {
  if (e.is<Array>() && e.get<Array>().size() == 1) return e.get<Array>().get_double(0);
  throw ValueError("ingest: " + what + " must be a number");
}

std::string scalar_text(const Element& e, const std::string& what) {
  if (e.is<std::string>()) return e.get<std::string>();
  if (e.is<StringArray>() && e.get<StringArray>().values.size() == 1) return e.get<StringArray>().values[0];
  throw ValueError("ingest: " + what + " must be a string");
}

Array dense(const Element& e, const std::string& what) {
  if (e.is<Array>()) {
    if (e.get<Array>().ndim() != 2) throw ValueError("ingest: " + what + " must be a 2-D matrix");
    return e.get<Array>();
  }
  if (e.is<SparseMatrix>()) return to_dense(e.get<SparseMatrix>());
  throw ValueError("ingest: " + what + " must be a dense or sparse matrix, not " + e.kind());
}

Array first_cols(const Array& a, int64_t n) {
  if (n >= a.cols()) return a;
  std::vector<int64_t> cols(static_cast<size_t>(n));
  std::iota(cols.begin(), cols.end(), int64_t{0});
  return a.take_cols(cols);
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

Categorical as_categorical(const Column& col) {
  if (const auto* c = std::get_if<Categorical>(&col)) return *c;
  const int64_t n = column_length(col);
  if (const auto* a = std::get_if<Array>(&col); a && a->dtype() != DType::Bool) {
    std::vector<double> v(static_cast<size_t>(n)), u;
    for (int64_t i = 0; i < n; ++i) v[i] = a->get_double(i);
    for (double x : v)
      if (!std::isnan(x)) u.push_back(x);
    std::sort(u.begin(), u.end());
    u.erase(std::unique(u.begin(), u.end()), u.end());
    Categorical c;
    c.codes.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      c.codes[i] = std::isnan(v[i]) ? -1 : static_cast<int32_t>(std::lower_bound(u.begin(), u.end(), v[i]) - u.begin());
    const bool integer = a->dtype() != DType::Float32 && a->dtype() != DType::Float64;
    if (integer) {
      std::vector<int64_t> ui(u.begin(), u.end());
      c.categories = Array::from_vector(ui);
    } else {
      c.categories = Array::from_vector(u);
    }
    return c;
  }
  // pandas' astype('category') sorts text categories lexicographically.
  std::vector<std::string> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[i] = column_cell_text(col, i);
  std::vector<std::string> cats = labels;
  std::sort(cats.begin(), cats.end());
  cats.erase(std::unique(cats.begin(), cats.end()), cats.end());
  return Categorical::from_strings(labels, cats);
}

// What Scanpy's Ingest reads from the reference.
struct Reference {
  int n_neighbors = 15;
  pp::KnnMetric metric = pp::KnnMetric::Euclidean;
  std::optional<std::string> use_rep;  // "X", an obsm key, or "X_pca" with n_pcs
  std::optional<int64_t> n_pcs;
  Array rep;
  bool has_pca = false;
  bool pca_centered = true;
  std::vector<int64_t> pca_genes;  // empty = all
  Array pca_basis;                 // len(pca_genes) x n_comps
};

Reference read_reference(const AnnData& ref, const IngestOptions& opt) {
  Reference r;
  if (const Dict* pca = find_dict(ref.uns, "pca")) {
    r.has_pca = true;
    const Dict* params = find_dict(*pca, "params");
    std::optional<std::string> mask;
    if (params) {
      if (const Element* zc = find(*params, "zero_center")) r.pca_centered = scalar_number(*zc, "uns['pca']['params']['zero_center']") != 0.0;
      if (const Element* mv = find(*params, "mask_var")) mask = scalar_text(*mv, "uns['pca']['params']['mask_var']");
      else if (const Element* hv = find(*params, "use_highly_variable");
               hv && scalar_number(*hv, "uns['pca']['params']['use_highly_variable']") != 0.0)
        mask = "highly_variable";
    }
    auto pcs = ref.varm.find("PCs");
    if (pcs == ref.varm.end()) throw ValueError("ingest: the reference has uns['pca'] but no varm['PCs']");
    const Array basis = dense(pcs->second, "varm['PCs']");
    if (basis.rows() != ref.n_vars()) throw ValueError("ingest: varm['PCs'] does not have one row per gene");
    if (mask) {
      if (!ref.var.has(*mask)) throw ValueError("ingest: did not find adata_ref.var['" + *mask + "']");
      r.pca_genes = indices_from_mask(ref.var.boolean(*mask));
      r.pca_basis = basis.take_rows(r.pca_genes);
    } else {
      r.pca_basis = basis;
    }
  }

  const std::string key = opt.neighbors_key.value_or("neighbors");
  const Dict* nb = find_dict(ref.uns, key);
  if (!nb) throw ValueError("ingest: there is no neighbors data in adata_ref.uns['" + key + "']; run pp.neighbors on the reference");
  const Dict* params = find_dict(*nb, "params");
  if (!params) throw ValueError("ingest: adata_ref.uns['" + key + "'] has no 'params'");
  const Element* nn = find(*params, "n_neighbors");
  if (!nn) throw ValueError("ingest: adata_ref.uns['" + key + "']['params'] has no n_neighbors");
  r.n_neighbors = static_cast<int>(scalar_number(*nn, "n_neighbors"));
  if (const Element* m = find(*params, "metric")) r.metric = pp::parse_knn_metric(scalar_text(*m, "metric"));

  if (const Element* ur = find(*params, "use_rep")) {
    r.use_rep = scalar_text(*ur, "use_rep");
    if (*r.use_rep == "X") {
      if (!ref.X) throw ValueError("ingest: the reference has no X");
      r.rep = dense(*ref.X, "adata_ref.X");
    } else {
      auto it = ref.obsm.find(*r.use_rep);
      if (it == ref.obsm.end()) throw ValueError("ingest: the reference has no obsm['" + *r.use_rep + "']");
      r.rep = dense(it->second, "obsm['" + *r.use_rep + "']");
    }
  } else if (ref.obsm.count("X_pca") && (find(*params, "n_pcs") || ref.n_vars() > 50)) {
    const Array pcs = dense(ref.obsm.at("X_pca"), "obsm['X_pca']");
    r.use_rep = "X_pca";
    r.n_pcs = find(*params, "n_pcs") ? static_cast<int64_t>(scalar_number(*find(*params, "n_pcs"), "n_pcs"))
                                     : std::min<int64_t>(50, pcs.cols());
    r.rep = first_cols(pcs, *r.n_pcs);
    r.n_pcs = r.rep.cols();
  } else if (find(*params, "n_pcs")) {
    throw ValueError("ingest: the reference's neighbours used n_pcs but it has no obsm['X_pca']");
  } else {
    if (!ref.X) throw ValueError("ingest: the reference has no X");
    r.use_rep = "X";
    r.rep = dense(*ref.X, "adata_ref.X");
  }
  if (r.n_pcs && !r.has_pca)
    throw ValueError("ingest: the reference's neighbours were computed on X_pca but it has no uns['pca']");
  if (r.n_neighbors < 1) throw ValueError("ingest: n_neighbors must be >= 1");
  return r;
}

Array project(const AnnData& adata, const Reference& r, std::optional<int64_t> n_pcs) {
  if (!adata.X) throw ValueError("ingest: the new data have no X");
  return ingest_pca_projection(*adata.X, r.pca_genes, r.pca_basis, r.pca_centered, n_pcs);
}

}  // namespace

Array ingest_pca_projection(const Element& X, const std::vector<int64_t>& genes, const Array& basis, bool center,
                            std::optional<int64_t> n_pcs) {
  if (basis.ndim() != 2) throw ValueError("ingest: the PCA basis must be a 2-D matrix");
  Array x = dense(X, "X");
  if (!genes.empty()) {
    for (int64_t g : genes)
      if (g < 0 || g >= x.cols()) throw ValueError("ingest: a PCA gene index is outside X");
    x = x.take_cols(genes);
  }
  const int64_t n = x.rows(), g = x.cols();
  if (basis.rows() != g)
    throw ValueError("ingest: the PCA basis has " + std::to_string(basis.rows()) + " rows for " + std::to_string(g) + " genes");
  const int64_t kc = n_pcs ? std::min<int64_t>(*n_pcs, basis.cols()) : basis.cols();
  if (kc < 1) throw ValueError("ingest: no principal components to project on");
  std::vector<double> xv(static_cast<size_t>(n * g));
  for (int64_t i = 0; i < n * g; ++i) xv[i] = x.get_double(i);
  std::vector<double> mean(static_cast<size_t>(g), 0.0);
  if (center && n > 0) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < g; ++j) mean[j] += xv[i * g + j];
    for (double& m : mean) m /= static_cast<double>(n);
  }
  // basis columns as contiguous rows for the dot products.
  std::vector<double> bt(static_cast<size_t>(kc * g));
  for (int64_t j = 0; j < g; ++j)
    for (int64_t c = 0; c < kc; ++c) bt[c * g + j] = basis.get_double(j * basis.cols() + c);
  std::vector<double> out(static_cast<size_t>(n * kc));
  parallel_blocks(n, 64, [&](int64_t r0, int64_t r1) {
    std::vector<double> row(static_cast<size_t>(g));
    for (int64_t i = r0; i < r1; ++i) {
      for (int64_t j = 0; j < g; ++j) row[j] = xv[i * g + j] - mean[j];
      for (int64_t c = 0; c < kc; ++c) {
        double s = 0.0;
        const double* b = bt.data() + c * g;
        for (int64_t j = 0; j < g; ++j) s += row[j] * b[j];
        out[i * kc + c] = s;
      }
    }
  });
  if (x.dtype() == DType::Float32 && basis.dtype() == DType::Float32) {
    std::vector<float> f(out.begin(), out.end());
    return Array::from_vector(f, {n, kc});
  }
  return Array::from_vector(out, {n, kc});
}

Categorical knn_classify(const Categorical& reference_labels, const QueryKnn& neighbors) {
  const int64_t n_cat = reference_labels.n_categories();
  Categorical out;
  out.categories = reference_labels.categories;
  out.codes.assign(static_cast<size_t>(neighbors.n), -1);
  std::vector<int64_t> count(static_cast<size_t>(n_cat));
  for (int64_t i = 0; i < neighbors.n; ++i) {
    std::fill(count.begin(), count.end(), 0);
    for (int j = 0; j < neighbors.k; ++j) {
      const int32_t r = neighbors.index(i, j);
      if (r < 0 || static_cast<size_t>(r) >= reference_labels.codes.size())
        throw ValueError("ingest: a neighbour index is outside the reference labels");
      const int32_t c = reference_labels.codes[r];
      if (c >= 0) ++count[c];
    }
    int64_t best = -1;
    for (int64_t c = 0; c < n_cat; ++c)
      if (count[c] > 0 && (best < 0 || count[c] > count[best])) best = c;
    out.codes[i] = static_cast<int32_t>(best);
  }
  return out;
}

IngestResult ingest_compute(const AnnData& adata, const AnnData& adata_ref, const IngestOptions& opt) {
  for (const std::string& m : opt.embedding_method)
    if (m != "umap" && m != "pca") throw ValueError("ingest: embedding_method '" + m + "' is not supported (only 'umap' and 'pca')");
  std::vector<std::string> labeling = opt.labeling_method;
  if (labeling.size() == 1 && opt.obs.size() > 1) labeling.assign(opt.obs.size(), labeling[0]);
  if (!opt.obs.empty() && labeling.size() != opt.obs.size())
    throw ValueError("ingest: give one labeling_method, or one per obs key");
  for (const std::string& m : labeling)
    if (m != "knn") throw ValueError("ingest: labeling_method '" + m + "' is not supported (only 'knn')");
  for (const std::string& key : opt.obs)
    if (!adata_ref.obs.has(key)) throw KeyError("ingest: the reference has no obs['" + key + "']");

  const Reference r = read_reference(adata_ref, opt);
  // Variables must match, compared case-insensitively as Scanpy does.
  if (adata.n_vars() != adata_ref.n_vars())
    throw ValueError("ingest: variables in the new adata are different from variables in the reference adata (" +
                     std::to_string(adata.n_vars()) + " vs " + std::to_string(adata_ref.n_vars()) + " genes)");
  for (int64_t j = 0; j < adata.n_vars(); ++j)
    if (upper(adata.var_names()[j]) != upper(adata_ref.var_names()[j]))
      throw ValueError("ingest: variables in the new adata are different from variables in the reference adata "
                       "(first difference at position " + std::to_string(j) + ": '" + adata.var_names()[j] + "' vs '" +
                       adata_ref.var_names()[j] + "')");

  IngestResult res;
  if (r.n_pcs) {
    res.rep = project(adata, r, r.n_pcs);
  } else if (*r.use_rep != "X" && adata.obsm.count(*r.use_rep)) {
    res.rep = dense(adata.obsm.at(*r.use_rep), "obsm['" + *r.use_rep + "']");
  } else {
    if (!adata.X) throw ValueError("ingest: the new data have no X");
    res.rep = dense(*adata.X, "X");
  }
  if (res.rep.rows() != adata.n_obs()) throw ValueError("ingest: the representation does not have one row per cell");
  if (res.rep.cols() != r.rep.cols())
    throw ValueError("ingest: the new representation has " + std::to_string(res.rep.cols()) +
                     " columns, the reference's " + std::to_string(r.rep.cols()));

  const bool want_umap = std::find(opt.embedding_method.begin(), opt.embedding_method.end(), "umap") != opt.embedding_method.end();
  const bool want_pca = std::find(opt.embedding_method.begin(), opt.embedding_method.end(), "pca") != opt.embedding_method.end();
  if (want_pca) {
    if (!r.has_pca) throw ValueError("ingest: embedding 'pca' needs uns['pca'] and varm['PCs'] in the reference");
    res.X_pca = project(adata, r, std::nullopt);
  }

  const int k_umap = std::min<int>(r.n_neighbors, static_cast<int>(r.rep.rows()));
  const int k_labels = opt.k ? *opt.k : k_umap;
  std::optional<QueryKnn> nn_umap;
  if (want_umap) {
    auto emb = adata_ref.obsm.find("X_umap");
    if (emb == adata_ref.obsm.end()) throw ValueError("ingest: embedding 'umap' needs obsm['X_umap'] in the reference");
    const Dict* umap = find_dict(adata_ref.uns, "umap");
    const Dict* params = umap ? find_dict(*umap, "params") : nullptr;
    if (!params || !find(*params, "a") || !find(*params, "b"))
      throw ValueError("ingest: embedding 'umap' needs uns['umap']['params'] a and b in the reference");
    UmapTransformOptions uo;
    uo.a = scalar_number(*find(*params, "a"), "uns['umap']['params']['a']");
    uo.b = scalar_number(*find(*params, "b"), "uns['umap']['params']['b']");
    uo.n_epochs = opt.umap_n_epochs;
    uo.random_state = opt.random_state ? *opt.random_state
                                       : (find(*params, "random_state")
                                              ? static_cast<int64_t>(scalar_number(*find(*params, "random_state"), "random_state"))
                                              : 0);
    const Array ref_emb = dense(emb->second, "obsm['X_umap']");
    if (ref_emb.rows() != adata_ref.n_obs()) throw ValueError("ingest: the reference's X_umap does not have one row per cell");
    nn_umap = knn_query(r.rep, res.rep, k_umap, r.metric);
    res.X_umap = umap_transform(ref_emb, nn_umap->indices, nn_umap->distances, nn_umap->n, nn_umap->k, uo).embedding;
  }
  if (!opt.obs.empty()) {
    res.neighbors = nn_umap && k_labels == k_umap ? *nn_umap : knn_query(r.rep, res.rep, k_labels, r.metric);
    for (const std::string& key : opt.obs)
      res.labels[key] = knn_classify(as_categorical(adata_ref.obs.at(key)), res.neighbors);
  }
  return res;
}

void ingest(AnnData& adata, const AnnData& adata_ref, const IngestOptions& opt) {
  IngestResult res = ingest_compute(adata, adata_ref, opt);
  adata.obsm["rep"] = std::move(res.rep);
  if (res.X_umap) adata.obsm["X_umap"] = std::move(*res.X_umap);
  if (res.X_pca) adata.obsm["X_pca"] = std::move(*res.X_pca);
  for (auto& [key, labels] : res.labels) adata.obs.set(key, std::move(labels));
}

}  // namespace scanpp::tl
