#pragma once
// tl.leiden: Leiden community detection (Traag, Waltman & van Eck 2019) on the
// neighbour graph, maximising modularity with a resolution parameter.
//
// Scanpy 1.11's default runs leidenalg's RBConfigurationVertexPartition on the
// *directed* graph with both directions of every stored entry. For the
// symmetric connectivities Scanpy builds, that quality equals the undirected
// modularity (RB configuration model with resolution gamma), so scanpp runs
// igraph's C implementation (igraph_community_leiden, what Scanpy's
// flavor='igraph' calls) on the undirected graph with the modularity
// objective. The partitions are not the same as leidenalg's (different random
// streams and moves); they are judged by modularity and ARI in the tests.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/tl/cluster_labels.hpp"

namespace scanpp::tl {

struct LeidenPartitionOptions {
  double resolution = 1.0;
  // Iterations of the Leiden algorithm; negative: iterate until an iteration
  // changes nothing (Scanpy's default -1).
  int n_iterations = -1;
  // Randomness of the refinement step (igraph's default).
  double beta = 0.01;
  int64_t random_state = 0;
  bool use_weights = true;
};

// The kernel: a partition of the square adjacency matrix's vertices.
// Single-threaded (igraph); the result depends only on the input and seed.
Partition leiden_partition(const SparseMatrix& adjacency, const LeidenPartitionOptions& opt = {});

struct LeidenOptions {
  double resolution = 1.0;
  std::optional<RestrictTo> restrict_to{};
  int64_t random_state = 0;
  std::string key_added = "leiden";  // "leiden_R" when restricting and left at "leiden"
  bool use_weights = true;
  int n_iterations = -1;
  double beta = 0.01;
  std::string neighbors_key = "neighbors";
  std::optional<std::string> obsp{};  // obsp key of the graph instead of the neighbors one
  const SparseMatrix* adjacency = nullptr;  // a graph given directly (n_obs x n_obs)
};

// Writes obs[key_added] (categorical '0', '1', ... in natural order, '0' the
// largest cluster) and uns[key_added] = {params: {resolution, random_state,
// n_iterations}} as Scanpy 1.11 does.
void leiden(AnnData& adata, const LeidenOptions& opt = {});

}  // namespace scanpp::tl
