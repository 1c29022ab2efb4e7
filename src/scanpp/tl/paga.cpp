#include "scanpp/tl/paga.hpp"

#include <algorithm>
#include <numeric>

#include "scanpp/core/connected_components.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/numpy_sort.hpp"

namespace scanpp::tl {

PagaResult paga_v1_2(const SparseMatrix& distances, std::span<const int32_t> codes) {
  if (distances.n_rows != distances.n_cols) throw ValueError("paga: the distances matrix must be square");
  const int64_t n = distances.n_rows;
  if (static_cast<int64_t>(codes.size()) != n)
    throw ValueError("paga: " + std::to_string(codes.size()) + " group labels for " + std::to_string(n) + " cells");
  if (n < 2) throw ValueError("paga: needs at least 2 cells");
  int32_t max_code = -1;
  for (size_t i = 0; i < codes.size(); ++i) {
    if (codes[i] < 0) throw ValueError("paga: cell " + std::to_string(i) + " has no group (missing label)");
    max_code = std::max(max_code, codes[i]);
  }
  const int64_t g = max_code + 1;
  PagaResult res;
  res.sizes.assign(static_cast<size_t>(g), 0);
  for (int32_t c : codes) ++res.sizes[c];

  // Directed edge counts between groups; within-group edges (self-loops
  // included) count for the group's total only.
  std::vector<double> inter(static_cast<size_t>(g * g), 0.0), inner(static_cast<size_t>(g), 0.0);
  for (int64_t m = 0; m < distances.n_major(); ++m)
    for (int64_t p = distances.indptr[m]; p < distances.indptr[m + 1]; ++p) {
      const int64_t i = distances.format == SparseFormat::CSR ? m : distances.indices[p];
      const int64_t j = distances.format == SparseFormat::CSR ? distances.indices[p] : m;
      const int32_t ci = codes[i], cj = codes[j];
      if (ci == cj) inner[ci] += 1.0;
      else inter[ci * g + cj] += 1.0;
    }
  std::vector<double> es(inner);
  for (int64_t c = 0; c < g; ++c)
    for (int64_t d = 0; d < g; ++d) es[c] += inter[c * g + d];

  SparseMatrix& conn = res.connectivities;
  conn.format = SparseFormat::CSR;
  conn.n_rows = conn.n_cols = g;
  conn.indptr.assign(1, 0);
  std::vector<double> vals;
  const double total = static_cast<double>(n);
  for (int64_t c = 0; c < g; ++c) {
    for (int64_t d = 0; d < g; ++d) {
      const double v = inter[c * g + d] + inter[d * g + c];
      if (v == 0.0) continue;
      const double expected =
          (es[c] * static_cast<double>(res.sizes[d]) + es[d] * static_cast<double>(res.sizes[c])) / (total - 1);
      const double scaled = expected != 0.0 ? std::min(v / expected, 1.0) : 1.0;
      conn.indices.push_back(static_cast<int32_t>(d));
      vals.push_back(scaled);
    }
    conn.indptr.push_back(static_cast<int64_t>(conn.indices.size()));
  }
  conn.data = Array::from_vector(vals);
  res.connectivities_tree = minimum_spanning_tree(conn);
  return res;
}

SparseMatrix minimum_spanning_tree(const SparseMatrix& graph) {
  if (graph.n_rows != graph.n_cols) throw ValueError("minimum_spanning_tree: the graph must be square");
  SparseMatrix csr = graph.format == SparseFormat::CSR ? graph : convert_format(graph, SparseFormat::CSR);
  const int64_t n = csr.n_rows, nnz = csr.nnz();
  std::vector<double> w(static_cast<size_t>(nnz));
  for (int64_t k = 0; k < nnz; ++k) w[k] = 1.0 / csr.data.get_double(k);
  std::vector<int64_t> row(static_cast<size_t>(nnz));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = csr.indptr[i]; k < csr.indptr[i + 1]; ++k) row[k] = i;
  // scipy 1.10 orders edges with numpy's quicksort argsort; with equal weights
  // (common: connectivities are capped at 1) that order decides which
  // orientation of a tied edge the tree keeps.
  const std::vector<int64_t> order = numpy_argsort(w);
  DisjointSets sets(n);
  std::vector<char> keep(static_cast<size_t>(nnz), 0);
  int64_t kept = 0;
  for (int64_t t = 0; t < nnz && kept < n - 1; ++t) {
    const int64_t k = order[t];
    if (!sets.unite(row[k], csr.indices[k])) continue;
    keep[k] = 1;
    ++kept;
  }
  // The tree carries the original weights (Scanpy refills them from the graph).
  SparseMatrix tree;
  tree.format = SparseFormat::CSR;
  tree.n_rows = tree.n_cols = n;
  tree.indptr.assign(1, 0);
  std::vector<double> vals;
  std::vector<std::pair<int32_t, double>> r;
  for (int64_t i = 0; i < n; ++i) {
    r.clear();
    for (int64_t k = csr.indptr[i]; k < csr.indptr[i + 1]; ++k)
      if (keep[k]) r.emplace_back(csr.indices[k], csr.data.get_double(k));
    std::sort(r.begin(), r.end());
    for (auto& [j, v] : r) {
      tree.indices.push_back(j);
      vals.push_back(v);
    }
    tree.indptr.push_back(static_cast<int64_t>(tree.indices.size()));
  }
  tree.data = Array::from_vector(vals);
  return tree;
}

void paga(AnnData& adata, const PagaOptions& opt) {
  auto nb = adata.uns.find(opt.neighbors_key);
  if (nb == adata.uns.end() || !nb->second.is<Dict>())
    throw KeyError("paga: did not find uns['" + opt.neighbors_key + "']: run pp.neighbors first");
  if (opt.use_rna_velocity) throw ValueError("paga: use_rna_velocity=True is not supported");
  if (opt.model != "v1.2")
    throw ValueError("paga: model '" + opt.model + "' is not supported (only 'v1.2', Scanpy's default)");
  std::string groups = opt.groups;
  if (groups.empty()) {
    for (const char* k : {"leiden", "louvain"})
      if (adata.obs.has(k)) {
        groups = k;
        break;
      }
    if (groups.empty())
      throw ValueError("paga: run tl.leiden or tl.louvain to compute community labels, or give groups");
  } else if (!adata.obs.has(groups)) {
    throw KeyError("paga: groups key '" + groups + "' not found in obs");
  }
  const Column& col = adata.obs.at(groups);
  if (!std::holds_alternative<Categorical>(col))
    throw ValueError("paga: obs['" + groups + "'] must be categorical");
  const Dict& neighbors = nb->second.get<Dict>();
  std::string dist_key = "distances";
  if (auto it = neighbors.find("distances_key"); it != neighbors.end() && it->second.is<std::string>())
    dist_key = it->second.get<std::string>();
  auto d = adata.obsp.find(dist_key);
  if (d == adata.obsp.end() || !d->second.is<SparseMatrix>())
    throw KeyError("paga: obsp['" + dist_key + "'] (uns['" + opt.neighbors_key +
                   "']['distances_key']) is missing or not sparse");
  const SparseMatrix& dist = d->second.get<SparseMatrix>();
  if (dist.n_rows != adata.n_obs() || dist.n_cols != adata.n_obs())
    throw ValueError("paga: obsp['" + dist_key + "'] is not n_obs x n_obs");

  PagaResult r = paga_v1_2(dist, std::get<Categorical>(col).codes);
  auto it = adata.uns.find("paga");
  if (it == adata.uns.end() || !it->second.is<Dict>()) it = adata.uns.insert_or_assign("paga", Dict{}).first;
  Dict& out = it->second.get<Dict>();
  out["connectivities"] = std::move(r.connectivities);
  out["connectivities_tree"] = std::move(r.connectivities_tree);
  out["groups"] = groups;
  adata.uns[groups + "_sizes"] = Array::from_vector(r.sizes);
}

}  // namespace scanpp::tl
