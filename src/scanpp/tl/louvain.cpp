#include "scanpp/tl/louvain.hpp"

#include "scanpp/core/error.hpp"
#include "scanpp/tl/igraph_session.hpp"

namespace scanpp::tl {

Partition louvain_partition(const SparseMatrix& adjacency, const LouvainPartitionOptions& opt) {
  const double resolution = opt.resolution.value_or(1.0);
  if (!(resolution >= 0.0)) throw ValueError("louvain: resolution must be >= 0");
  const EdgeList edges = undirected_edges(adjacency, opt.use_weights);
  const int64_t n = edges.n_vertices;
  Partition out;
  if (n == 0) return out;
  std::vector<int32_t> membership(static_cast<size_t>(n));
  {
    IgraphSession session(static_cast<uint64_t>(opt.random_state));
    IgraphGraph g(edges);
    igraph_vector_int_t memb;
    IgraphSession::check(igraph_vector_int_init(&memb, n), "allocating the membership vector");
    const igraph_error_t rc =
        igraph_community_multilevel(g.graph(), g.weights(), resolution, &memb, nullptr, nullptr);
    for (int64_t i = 0; i < n && rc == IGRAPH_SUCCESS; ++i) membership[i] = static_cast<int32_t>(VECTOR(memb)[i]);
    igraph_vector_int_destroy(&memb);
    IgraphSession::check(rc, "running igraph_community_multilevel");
  }
  out.membership = relabel_by_size(membership);
  int32_t k = 0;
  for (int32_t c : out.membership) k = std::max(k, c + 1);
  out.n_clusters = k;
  out.modularity = modularity(edges, out.membership, resolution);
  return out;
}

void louvain(AnnData& adata, const LouvainOptions& opt) {
  const SparseMatrix& graph = opt.adjacency ? *opt.adjacency : choose_graph(adata, opt.neighbors_key, opt.obsp);
  if (graph.n_rows != adata.n_obs() || graph.n_cols != adata.n_obs())
    throw ValueError("louvain: adjacency must be n_obs x n_obs");
  std::vector<int64_t> cells;
  SparseMatrix restricted;
  const SparseMatrix* adj = &graph;
  if (opt.restrict_to) {
    cells = restricted_cells(adata, *opt.restrict_to);
    restricted = restrict_adjacency(graph, cells);
    adj = &restricted;
  }
  const Partition part = louvain_partition(
      *adj, {.resolution = opt.resolution, .random_state = opt.random_state, .use_weights = opt.use_weights});
  std::string key = opt.key_added;
  if (opt.restrict_to && key == "louvain") key += "_R";
  adata.obs.set(key, cluster_categorical(adata, part.membership, opt.restrict_to, cells));
  Dict params;
  if (opt.resolution) params["resolution"] = Array::scalar<double>(*opt.resolution);
  params["random_state"] = Array::scalar<int64_t>(opt.random_state);
  Dict entry;
  entry["params"] = std::move(params);
  adata.uns[key] = std::move(entry);
}

}  // namespace scanpp::tl
