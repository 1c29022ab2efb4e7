#pragma once
// Scanpy 1.11's tl.ingest: maps labels and embeddings of a reference AnnData
// onto new cells with the same genes.
//
// * Representation (Scanpy's Ingest._init_neighbors / _same_rep): the one the
//   reference's neighbours were computed on. With uns[neighbors]['params']
//   ['n_pcs'] (or no use_rep, > 50 genes and an X_pca) the new cells are
//   projected on the reference's PCA: x (the new X, restricted to the genes of
//   uns['pca']['params'] mask_var / use_highly_variable) minus the column
//   means OF THE NEW DATA (Scanpy centres the new cells on their own mean when
//   the reference PCA was zero-centred), times varm['PCs'][:, :n_pcs].
//   With use_rep, the new data's obsm[use_rep] (or X).
// * obsm['X_pca']: the same projection on all components (embedding 'pca').
// * Neighbours: the k = uns[neighbors]['params']['n_neighbors'] nearest
//   reference cells of each new cell, with the reference's metric (exact
//   search, tl/ingest_knn.hpp; Scanpy asks pynndescent).
// * Labels ('knn'): the most frequent reference label among the k neighbours,
//   ties to the first category (pandas' mode()[0]); categories as in the
//   reference.
// * obsm['X_umap'] (embedding 'umap'): umap-learn's transform of the new
//   representation into the reference's X_umap (tl/umap_transform.hpp) with
//   the reference's a and b.
// Scanpy also leaves the representation in obsm['rep']; so does this.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/tl/ingest_knn.hpp"
#include "scanpp/tl/umap_transform.hpp"

namespace scanpp::tl {

struct IngestOptions {
  // Reference obs columns whose labels are mapped (Scanpy's obs; empty = none).
  std::vector<std::string> obs = {};
  // "umap" and/or "pca".
  std::vector<std::string> embedding_method = {"umap", "pca"};
  // One method for all labels, or one per entry of obs; only "knn" exists.
  std::vector<std::string> labeling_method = {"knn"};
  // uns key of the reference's neighbours; nullopt: 'neighbors'.
  std::optional<std::string> neighbors_key = std::nullopt;
  // Neighbours for the labels (Ingest.neighbors' k); nullopt: the reference's n_neighbors.
  std::optional<int> k = std::nullopt;
  // Epochs of the UMAP transform; nullopt: umap-learn's rule (100 for <= 10,000 cells, else 30).
  std::optional<int> umap_n_epochs = std::nullopt;
  // Seeds the UMAP transform's negative sampling (nullopt: uns['umap']['params']['random_state'] or 0).
  std::optional<int64_t> random_state = std::nullopt;
};

struct IngestResult {
  Array rep;                                // the new cells in the reference's neighbour representation
  std::optional<Array> X_pca;               // when "pca" was asked for
  std::optional<Array> X_umap;              // when "umap" was asked for (float32)
  std::map<std::string, Categorical> labels;  // per obs key
  QueryKnn neighbors;                       // k reference neighbours of each new cell (label transfer)
};

// PCA projection of new cells on a reference basis: (X[:, genes] − mean) ·
// basis[:, :n_pcs], the mean being the new cells' own column means when
// `center` (Scanpy's Ingest._pca). X: n x n_vars (dense or sparse); genes:
// selected columns (empty = all); basis: len(genes) x n_comps. The result is
// float32 when X and basis are float32, else float64 (numpy's promotion).
Array ingest_pca_projection(const Element& X, const std::vector<int64_t>& genes, const Array& basis, bool center,
                            std::optional<int64_t> n_pcs = std::nullopt);

// Majority vote among each row's neighbours (pandas mode()[0]: ties go to the
// first category; missing labels are ignored; all missing gives missing).
Categorical knn_classify(const Categorical& reference_labels, const QueryKnn& neighbors);

// The computation, leaving both objects untouched.
IngestResult ingest_compute(const AnnData& adata, const AnnData& adata_ref, const IngestOptions& opt = {});

// sc.tl.ingest(adata, adata_ref, inplace=True): writes obsm['X_pca'],
// obsm['X_umap'], obsm['rep'] and obs[key] (categorical) for each key of opt.obs.
void ingest(AnnData& adata, const AnnData& adata_ref, const IngestOptions& opt = {});

}  // namespace scanpp::tl
