#pragma once
// Scanpy 1.11's pp.neighbors: kNN search on a representation of the cells
// and a connectivity kernel, written into obsp/uns under Scanpy's keys
// (spec/algorithms.md §9, scanpy_api.md).
//
// Stored like Scanpy 1.11 (checked against golden/pbmc3k/pbmc3k_scanpy.h5ad):
// * exact search (small data): obsp['distances'] = CSR with the k-1 non-self
//   neighbours per row in rank order (column indices not sorted), float64
//   for euclidean/manhattan/chebyshev/correlation (scikit-learn's dtype) and
//   float32 for cosine (scikit-learn's float32 cosine_distances);
// * approximate search (pynndescent's place, here HNSW): CSR with k+1 entries
//   per row, the cell itself as an explicit 0 followed by k neighbours,
//   float32 (Scanpy stores the transformer's raw output, issue #3809);
// * obsp['connectivities']: umap → float32 CSR; gauss/jaccard → float64 CSR
//   (Scanpy computes them in float64 and does not cast); gauss with
//   knn=false → dense float64 matrices for both;
// * uns[key] = {connectivities_key, distances_key, params: {n_neighbors,
//   method, random_state, metric, [use_rep], [n_pcs]}} with int64 scalars.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "scanpp/core/anndata.hpp"
#include "scanpp/pp/connectivities.hpp"
#include "scanpp/pp/knn.hpp"

namespace scanpp::pp {

enum class ConnectivityMethod { Umap, Gauss, Jaccard };

ConnectivityMethod parse_connectivity_method(const std::string& name);
std::string connectivity_method_name(ConnectivityMethod m);

struct NeighborsOptions {
  int n_neighbors = 15;             // counts the cell itself
  std::optional<int> n_pcs;         // nullopt: all PCs of X_pca (see use_rep)
  std::optional<std::string> use_rep;  // nullopt: X if n_vars <= 50, else X_pca
  bool knn = true;                  // false only with method gauss (dense)
  ConnectivityMethod method = ConnectivityMethod::Umap;
  std::string metric = "euclidean";
  // Scanpy's transformer=None / 'sklearn' / 'pynndescent' (here HNSW).
  KnnMethod transformer = KnnMethod::Auto;
  int64_t random_state = 0;
  std::optional<std::string> key_added;  // nullopt: 'neighbors'
  HnswOptions hnsw{};
};

// The kernel-level result: what Scanpy computes before writing it.
struct NeighborsResult {
  int n_neighbors = 0;      // k after the small-data adjustment
  KnnResult knn;            // n x k (self first)
  Element distances;        // SparseMatrix (or dense Array for knn=false)
  Element connectivities;   // SparseMatrix (or dense Array for knn=false)
  int64_t n_components = 0; // connected components of the connectivities
};

// Neighbours and connectivities of the rows of X (n x d, float32/float64).
NeighborsResult compute_neighbors(const Array& X, const NeighborsOptions& opt = {});

// The representation Scanpy's _choose_representation would pick (dense copy).
// Throws KeyError if X_pca is needed but absent (run pp::pca first).
Array choose_representation(const AnnData& adata, const std::optional<std::string>& use_rep,
                            const std::optional<int>& n_pcs);

// sc.pp.neighbors(adata, ...), in place.
void neighbors(AnnData& adata, const NeighborsOptions& opt = {});

}  // namespace scanpp::pp
