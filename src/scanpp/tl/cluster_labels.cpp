#include "scanpp/tl/cluster_labels.hpp"

#include <algorithm>
#include <numeric>

#include "scanpp/core/error.hpp"

namespace scanpp::tl {

const SparseMatrix& choose_graph(const AnnData& adata, const std::string& neighbors_key,
                                 const std::optional<std::string>& obsp_key) {
  std::string key;
  if (obsp_key) {
    key = *obsp_key;
  } else {
    auto it = adata.uns.find(neighbors_key);
    if (it == adata.uns.end() || !it->second.is<Dict>())
      throw KeyError("uns['" + neighbors_key + "'] is missing: run pp.neighbors first");
    const Dict& nb = it->second.get<Dict>();
    auto ck = nb.find("connectivities_key");
    key = (ck != nb.end() && ck->second.is<std::string>()) ? ck->second.get<std::string>() : "connectivities";
  }
  auto g = adata.obsp.find(key);
  if (g == adata.obsp.end()) throw KeyError("obsp['" + key + "'] is missing");
  if (!g->second.is<SparseMatrix>()) throw ValueError("obsp['" + key + "'] is not a sparse matrix");
  const SparseMatrix& m = g->second.get<SparseMatrix>();
  if (m.n_rows != adata.n_obs() || m.n_cols != adata.n_obs())
    throw ValueError("obsp['" + key + "'] is " + std::to_string(m.n_rows) + " x " + std::to_string(m.n_cols) +
                     ", expected n_obs x n_obs = " + std::to_string(adata.n_obs()));
  return m;
}

namespace {
// Values of a sparse matrix's stored entries as double (1 without weights).
std::vector<double> entry_values(const SparseMatrix& m, bool use_weights) {
  std::vector<double> v(static_cast<size_t>(m.nnz()), 1.0);
  if (use_weights)
    for (int64_t k = 0; k < m.nnz(); ++k) v[k] = m.data.get_double(k);
  return v;
}
}  // namespace

EdgeList undirected_edges(const SparseMatrix& adjacency, bool use_weights) {
  if (adjacency.n_rows != adjacency.n_cols)
    throw ValueError("adjacency must be square, got " + std::to_string(adjacency.n_rows) + " x " +
                     std::to_string(adjacency.n_cols));
  adjacency.validate("", "adjacency");
  // Each stored entry gives half its value to its unordered pair; a pair's
  // entries are collected from a row of A and the same row of A^T, merged by
  // column. (A + A^T)/2 does not care which of CSR/CSC we were handed.
  SparseMatrix a = convert_format(adjacency, adjacency.format);  // sorted copy
  sort_indices(a);
  const SparseMatrix at = convert_format(a, a.format == SparseFormat::CSR ? SparseFormat::CSC : SparseFormat::CSR);
  const std::vector<double> va = entry_values(a, use_weights), vt = entry_values(at, use_weights);
  EdgeList g;
  g.n_vertices = adjacency.n_rows;
  for (int64_t i = 0; i < a.n_major(); ++i) {
    int64_t p = a.indptr[i], q = at.indptr[i];
    const int64_t pe = a.indptr[i + 1], qe = at.indptr[i + 1];
    while (p < pe && a.indices[p] < i) ++p;
    while (q < qe && at.indices[q] < i) ++q;
    while (p < pe || q < qe) {
      const int32_t j = std::min(p < pe ? a.indices[p] : INT32_MAX, q < qe ? at.indices[q] : INT32_MAX);
      double w = 0.0;
      while (p < pe && a.indices[p] == j) w += va[p++];
      while (q < qe && at.indices[q] == j) w += vt[q++];
      w *= 0.5;
      if (j == i) w *= 0.5;  // the diagonal entry was counted from A and from A^T
      if (w != 0.0) {
        g.from.push_back(i);
        g.to.push_back(j);
        g.weight.push_back(w);
      }
    }
  }
  return g;
}

double modularity(const EdgeList& graph, std::span<const int32_t> membership, double resolution) {
  if (static_cast<int64_t>(membership.size()) != graph.n_vertices)
    throw ValueError("membership has " + std::to_string(membership.size()) + " entries for " +
                     std::to_string(graph.n_vertices) + " vertices");
  int32_t k = 0;
  for (int32_t c : membership) {
    if (c < 0) throw ValueError("membership holds a negative cluster id");
    k = std::max(k, c + 1);
  }
  std::vector<double> inside(static_cast<size_t>(k), 0.0), strength(static_cast<size_t>(k), 0.0);
  double two_m = 0.0;
  for (size_t e = 0; e < graph.weight.size(); ++e) {
    const double w = graph.weight[e];
    const int32_t ci = membership[graph.from[e]], cj = membership[graph.to[e]];
    strength[ci] += w;
    strength[cj] += w;
    two_m += 2.0 * w;
    if (ci == cj) inside[ci] += 2.0 * w;
  }
  if (two_m == 0.0) return 0.0;
  double q = 0.0;
  for (int32_t c = 0; c < k; ++c) q += inside[c] / two_m - resolution * (strength[c] / two_m) * (strength[c] / two_m);
  return q;
}

double modularity(const SparseMatrix& adjacency, std::span<const int32_t> membership, double resolution,
                  bool use_weights) {
  return modularity(undirected_edges(adjacency, use_weights), membership, resolution);
}

std::vector<int32_t> relabel_by_size(std::span<const int32_t> membership) {
  int32_t k = 0;
  for (int32_t c : membership) k = std::max(k, c + 1);
  std::vector<int64_t> size(static_cast<size_t>(k), 0), first(static_cast<size_t>(k), INT64_MAX);
  for (size_t i = 0; i < membership.size(); ++i) {
    const int32_t c = membership[i];
    if (c < 0) throw ValueError("membership holds a negative cluster id");
    ++size[c];
    first[c] = std::min<int64_t>(first[c], static_cast<int64_t>(i));
  }
  std::vector<int32_t> order;
  for (int32_t c = 0; c < k; ++c)
    if (size[c] > 0) order.push_back(c);
  std::sort(order.begin(), order.end(),
            [&](int32_t x, int32_t y) { return size[x] != size[y] ? size[x] > size[y] : first[x] < first[y]; });
  std::vector<int32_t> remap(static_cast<size_t>(k), -1);
  for (size_t r = 0; r < order.size(); ++r) remap[order[r]] = static_cast<int32_t>(r);
  std::vector<int32_t> out(membership.size());
  for (size_t i = 0; i < membership.size(); ++i) out[i] = remap[membership[i]];
  return out;
}

namespace {
const Categorical& restrict_column(const AnnData& adata, const std::string& key) {
  if (!adata.obs.has(key)) throw KeyError("restrict_to: obs['" + key + "'] does not exist");
  const Column& col = adata.obs.at(key);
  if (!std::holds_alternative<Categorical>(col))
    throw ValueError("restrict_to: obs['" + key + "'] must be categorical");
  return std::get<Categorical>(col);
}
// pandas' astype('U') text of a categorical value: missing values read "nan".
std::string label_text(const Categorical& c, int64_t i) {
  return c.codes[static_cast<size_t>(i)] < 0 ? "nan" : c.label(i);
}
}  // namespace

std::vector<int64_t> restricted_cells(const AnnData& adata, const RestrictTo& restrict_to) {
  const auto& [key, categories] = restrict_to;
  const Categorical& col = restrict_column(adata, key);
  if (categories.empty()) throw ValueError("restrict_to: no categories given for obs['" + key + "']");
  std::vector<std::string> cats(static_cast<size_t>(col.n_categories()));
  for (int64_t k = 0; k < col.n_categories(); ++k) {
    if (col.has_string_categories()) cats[k] = col.string_categories()[k];
    else {
      Categorical one = col;
      one.codes = {static_cast<int32_t>(k)};
      cats[k] = one.label(0);
    }
  }
  std::vector<char> wanted(cats.size(), 0);
  for (const auto& c : categories) {
    auto it = std::find(cats.begin(), cats.end(), c);
    if (it == cats.end()) throw ValueError("restrict_to: '" + c + "' is not a valid category for '" + key + "'");
    wanted[it - cats.begin()] = 1;
  }
  std::vector<int64_t> cells;
  for (int64_t i = 0; i < adata.n_obs(); ++i) {
    const int32_t c = col.codes[static_cast<size_t>(i)];
    if (c >= 0 && wanted[c]) cells.push_back(i);
  }
  return cells;
}

SparseMatrix restrict_adjacency(const SparseMatrix& adjacency, std::span<const int64_t> cells) {
  return take(adjacency, cells, cells);
}

Categorical cluster_categorical(const AnnData& adata, std::span<const int32_t> membership,
                                const std::optional<RestrictTo>& restrict_to, std::span<const int64_t> cells) {
  std::vector<std::string> labels;
  if (!restrict_to) {
    if (static_cast<int64_t>(membership.size()) != adata.n_obs())
      throw ValueError("membership has " + std::to_string(membership.size()) + " entries for " +
                       std::to_string(adata.n_obs()) + " cells");
    labels.reserve(membership.size());
    for (int32_t c : membership) labels.push_back(std::to_string(c));
  } else {
    if (membership.size() != cells.size())
      throw ValueError("membership has " + std::to_string(membership.size()) + " entries for " +
                       std::to_string(cells.size()) + " restricted cells");
    const Categorical& col = restrict_column(adata, restrict_to->first);
    labels.resize(static_cast<size_t>(adata.n_obs()));
    for (int64_t i = 0; i < adata.n_obs(); ++i) labels[i] = label_text(col, i);
    std::string prefix;
    for (size_t k = 0; k < restrict_to->second.size(); ++k) prefix += (k ? "-" : "") + restrict_to->second[k];
    prefix += ",";
    for (size_t r = 0; r < cells.size(); ++r) labels[cells[r]] = prefix + std::to_string(membership[r]);
  }
  return Categorical::from_strings(labels);
}

Partition make_partition(std::span<const int32_t> raw_membership, const EdgeList& edges, double resolution) {
  Partition out;
  out.membership = relabel_by_size(raw_membership);
  int32_t k = 0;
  for (int32_t c : out.membership) k = std::max(k, c + 1);
  out.n_clusters = k;
  out.modularity = modularity(edges, out.membership, resolution);
  return out;
}

std::string cluster_into_obs(AnnData& adata, const SparseMatrix* given, const std::string& neighbors_key,
                             const std::optional<std::string>& obsp, const std::optional<RestrictTo>& restrict_to,
                             const std::string& key_added, const std::string& default_key,
                             const std::function<Partition(const SparseMatrix&)>& partition) {
  const SparseMatrix& graph = given ? *given : choose_graph(adata, neighbors_key, obsp);
  if (graph.n_rows != adata.n_obs() || graph.n_cols != adata.n_obs())
    throw ValueError(default_key + ": adjacency must be n_obs x n_obs");
  std::vector<int64_t> cells;
  SparseMatrix restricted;
  const SparseMatrix* adj = &graph;
  if (restrict_to) {
    cells = restricted_cells(adata, *restrict_to);
    restricted = restrict_adjacency(graph, cells);
    adj = &restricted;
  }
  const Partition part = partition(*adj);
  std::string key = key_added;
  if (restrict_to && key == default_key) key += "_R";
  adata.obs.set(key, cluster_categorical(adata, part.membership, restrict_to, cells));
  return key;
}

}  // namespace scanpp::tl
