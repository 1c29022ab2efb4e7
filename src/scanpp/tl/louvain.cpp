#include "scanpp/tl/louvain.hpp"

#include "scanpp/core/error.hpp"
#include "scanpp/tl/igraph_session.hpp"

namespace scanpp::tl {

Partition louvain_partition(const SparseMatrix& adjacency, const LouvainPartitionOptions& opt) {
  const double resolution = opt.resolution.value_or(1.0);
  if (!(resolution >= 0.0)) throw ValueError("louvain: resolution must be >= 0");
  const EdgeList edges = undirected_edges(adjacency, opt.use_weights);
  const int64_t n = edges.n_vertices;
  if (n == 0) return {};
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
  return make_partition(membership, edges, resolution);
}

void louvain(AnnData& adata, const LouvainOptions& opt) {
  const std::string key = cluster_into_obs(
      adata, opt.adjacency, opt.neighbors_key, opt.obsp, opt.restrict_to, opt.key_added, "louvain",
      [&](const SparseMatrix& adj) {
        return louvain_partition(
            adj, {.resolution = opt.resolution, .random_state = opt.random_state, .use_weights = opt.use_weights});
      });
  Dict params;
  if (opt.resolution) params["resolution"] = Array::scalar<double>(*opt.resolution);
  params["random_state"] = Array::scalar<int64_t>(opt.random_state);
  Dict entry;
  entry["params"] = std::move(params);
  adata.uns[key] = std::move(entry);
}

}  // namespace scanpp::tl
