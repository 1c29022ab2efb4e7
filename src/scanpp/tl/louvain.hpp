#pragma once
// tl.louvain with flavor='igraph': igraph's multilevel modularity optimisation
// (Blondel et al. 2008) on the undirected neighbour graph. As in Scanpy, the
// graph is unweighted unless use_weights is set.
#include <cstdint>
#include <optional>
#include <string>

#include "scanpp/core/anndata.hpp"
#include "scanpp/tl/cluster_labels.hpp"
#include "scanpp/tl/leiden.hpp"

namespace scanpp::tl {

struct LouvainPartitionOptions {
  // Scanpy's igraph flavor ignores the resolution (with a warning); scanpp
  // passes it to igraph_community_multilevel, which supports it. nullopt = 1.
  std::optional<double> resolution{};
  int64_t random_state = 0;  // igraph's multilevel visits vertices in random order
  bool use_weights = false;
};

// The kernel: the multilevel partition with the highest modularity.
Partition louvain_partition(const SparseMatrix& adjacency, const LouvainPartitionOptions& opt = {});

struct LouvainOptions {
  std::optional<double> resolution{};
  int64_t random_state = 0;
  std::optional<RestrictTo> restrict_to{};
  std::string key_added = "louvain";  // "louvain_R" when restricting and left at "louvain"
  bool use_weights = false;
  std::string neighbors_key = "neighbors";
  std::optional<std::string> obsp{};
  const SparseMatrix* adjacency = nullptr;
};

// Writes obs[key_added] and uns[key_added] = {params: {[resolution], random_state}}
// (resolution only when given: Scanpy stores None, which h5ad cannot hold).
void louvain(AnnData& adata, const LouvainOptions& opt = {});

}  // namespace scanpp::tl
