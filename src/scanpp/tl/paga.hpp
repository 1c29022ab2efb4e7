#pragma once
// tl.paga: partition-based graph abstraction (Wolf et al. 2019), model
// 'v1.2' as in Scanpy 1.11: the connectivity between two groups is the number
// of kNN edges between them relative to the number expected if the edges of
// both groups were rewired at random, capped at 1; the tree is the minimum
// spanning tree of the inverse connectivities (scipy 1.10's Kruskal over
// edges ordered by numpy 1.24's introsort argsort, reproduced exactly, so
// ties resolve as in Scanpy and each tree edge keeps scipy's orientation).
//
// Not supported: model 'v1.0' and use_rna_velocity (ValueError).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"

namespace scanpp::tl {

struct PagaResult {
  SparseMatrix connectivities;       // float64 CSR, n_groups x n_groups, symmetric, no diagonal
  SparseMatrix connectivities_tree;  // float64 CSR, the spanning tree's edges, one orientation each
  std::vector<int64_t> sizes;        // cells per group
};

// The kernel. distances: the kNN graph (n x n sparse, every stored entry is a
// directed edge whatever its value, explicit self entries included as
// self-loops). codes: group of each cell in [0, n_groups); n_groups is
// max(codes) + 1 as igraph's VertexClustering counts it.
PagaResult paga_v1_2(const SparseMatrix& distances, std::span<const int32_t> codes);

// Scanpy's _get_connectivities_tree_v1_2: scipy's minimum_spanning_tree of the
// graph with weights 1 / c (the entries it keeps, in their stored
// orientation), carrying the original weights c. graph: symmetric, positive
// weights, CSR with sorted indices (as Scanpy's connectivities are).
SparseMatrix minimum_spanning_tree(const SparseMatrix& graph);

struct PagaOptions {
  std::string groups{};  // "": 'leiden' if in obs, else 'louvain'
  bool use_rna_velocity = false;
  std::string model = "v1.2";
  std::string neighbors_key = "neighbors";
};

// Writes uns['paga']['connectivities'], ['connectivities_tree'] (CSR, float64),
// ['groups'] (the key), and uns['<groups>_sizes'] (int64), keeping other
// entries of an existing uns['paga'].
void paga(AnnData& adata, const PagaOptions& opt = {});

}  // namespace scanpp::tl
