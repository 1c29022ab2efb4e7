#pragma once
// What tl.leiden and tl.louvain share: picking the graph Scanpy would use,
// turning it into an undirected weighted edge list, restricting it to some
// clusters (restrict_to), measuring modularity, and writing a membership
// vector as Scanpy's categorical of '0', '1', ... .
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/sparse.hpp"

namespace scanpp::tl {

// (obs key, categories): cluster only the cells in these categories.
using RestrictTo = std::pair<std::string, std::vector<std::string>>;

// obsp[obsp_key] if given, else obsp[uns[neighbors_key]['connectivities_key']]
// (Scanpy's _choose_graph). Throws KeyError naming what is missing.
const SparseMatrix& choose_graph(const AnnData& adata, const std::string& neighbors_key,
                                 const std::optional<std::string>& obsp_key);

// An undirected graph as igraph takes it: one edge per unordered pair {i, j}
// (i <= j) with weight (A_ij + A_ji) / 2, and self-loops with weight A_ii / 2.
// This is Scanpy's V1 graph (one igraph edge per stored entry, so a symmetric
// pair becomes two parallel edges) scaled by 1/2, which leaves modularity and
// every partition's quality ranking unchanged. Without weights every stored
// entry counts 1.
struct EdgeList {
  int64_t n_vertices = 0;
  std::vector<int64_t> from, to;  // from[e] <= to[e]
  std::vector<double> weight;
};
EdgeList undirected_edges(const SparseMatrix& adjacency, bool use_weights);

// Newman's modularity with resolution gamma of `membership` on the graph
// undirected_edges(adjacency, use_weights) builds, with igraph's conventions
// (a self-loop adds twice its weight to its vertex's strength):
// Q = sum_c [ L_c / (2m) - gamma (K_c / (2m))^2 ].
double modularity(const SparseMatrix& adjacency, std::span<const int32_t> membership, double resolution = 1.0,
                  bool use_weights = true);
double modularity(const EdgeList& graph, std::span<const int32_t> membership, double resolution = 1.0);

// Cluster ids renumbered so that 0 is the largest cluster (ties: the cluster
// whose first vertex comes first), as leidenalg numbers its communities.
std::vector<int32_t> relabel_by_size(std::span<const int32_t> membership);

// The cells (positions) whose obs[key] is in `categories`, after Scanpy's
// checks (the column must be categorical and hold every category named).
std::vector<int64_t> restricted_cells(const AnnData& adata, const RestrictTo& restrict_to);

// Scanpy's obs column for a clustering: labels "0", "1", ... from membership
// (of all cells, or of `cells` only when restricting, where the new label is
// "<cat1>-<cat2>...,<id>" and the other cells keep their old label), with
// categories in natural sort order.
Categorical cluster_categorical(const AnnData& adata, std::span<const int32_t> membership,
                                const std::optional<RestrictTo>& restrict_to, std::span<const int64_t> cells);

// The obsp submatrix of the restricted cells (rows and columns).
SparseMatrix restrict_adjacency(const SparseMatrix& adjacency, std::span<const int64_t> cells);

struct Partition {
  std::vector<int32_t> membership;  // 0 = largest cluster
  int32_t n_clusters = 0;
  double modularity = 0.0;          // with the resolution used, on the graph used
};

// A community algorithm's raw membership relabelled by size, with its cluster
// count and modularity on `edges` at `resolution`.
Partition make_partition(std::span<const int32_t> raw_membership, const EdgeList& edges, double resolution);

// The AnnData side of tl.leiden / tl.louvain: picks the graph (`given`, or
// Scanpy's choice from neighbors_key / obsp), restricts it to restrict_to's
// cells, runs `partition` on it and writes obs[key] as Scanpy's categorical.
// The key is key_added, or '<default_key>_R' when restricting under the
// default name; it is returned so the caller can write uns[key].
std::string cluster_into_obs(AnnData& adata, const SparseMatrix* given, const std::string& neighbors_key,
                             const std::optional<std::string>& obsp, const std::optional<RestrictTo>& restrict_to,
                             const std::string& key_added, const std::string& default_key,
                             const std::function<Partition(const SparseMatrix&)>& partition);

}  // namespace scanpp::tl
