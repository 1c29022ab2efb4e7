#pragma once
// tl.umap: UMAP's layout optimisation (McInnes, Healy & Melville 2018) of the
// neighbour graph Scanpy's pp.neighbors built, with umap-learn 0.5's schedule
// (edge sampling by weight, negative sampling, linearly decaying learning
// rate) and Scanpy 1.11's defaults.
//
// Parallel and reproducible: umap-learn's own parallel mode lets threads
// overwrite each other's positions ("Hogwild"), so its result depends on
// timing. Here every epoch reads the positions of the previous epoch and each
// cell computes its own new position (attraction along its edges in both
// directions, then repulsion from negative samples) sequentially from that
// snapshot; negative samples come from counter-based streams keyed by
// (seed, epoch, edge). A cell's update depends only on the snapshot, so the
// result is bit-identical for any thread count, and 1 thread gives the same
// answer as 16.
#include <cstdint>
#include <optional>
#include <string>

#include "scanpp/core/anndata.hpp"

namespace scanpp::tl {

struct UmapLayoutOptions {
  int n_components = 2;
  std::optional<int> n_epochs{};  // nullopt: 500 for graphs of <= 10,000 vertices, else 200
  double min_dist = 0.5;
  double spread = 1.0;
  std::optional<double> a{}, b{};  // nullopt: fitted from min_dist and spread (both must be given to skip the fit)
  double alpha = 1.0;          // initial learning rate
  double gamma = 1.0;          // weight of the repulsion
  int negative_sample_rate = 5;
  int64_t random_state = 0;
};

enum class UmapInit { Spectral, Random, Coordinates };

struct UmapResult {
  Array embedding;  // float32, n x n_components
  double a = 0.0, b = 0.0;
  int n_epochs = 0;
  bool spectral_fallback = false;  // the spectral solver failed and a random start was used
};

// The kernel. graph: the symmetric connectivities (n x n, CSR or CSC, any
// float dtype). init_coords: n x n_components start positions for
// UmapInit::Coordinates. data: the representation the graph was built from,
// used only to place the components of a disconnected graph.
UmapResult umap_layout(const SparseMatrix& graph, const UmapLayoutOptions& opt = {}, UmapInit init = UmapInit::Spectral,
                       const Array* init_coords = nullptr, const Array* data = nullptr);

struct UmapOptions {
  double min_dist = 0.5;
  double spread = 1.0;
  int n_components = 2;
  std::optional<int> maxiter{};  // epochs; nullopt: 500 for <= 10,000 cells, else 200
  double alpha = 1.0;
  double gamma = 1.0;
  int negative_sample_rate = 5;
  // 'spectral', 'paga' (uns['paga']['pos']), 'random', or an obsm key.
  std::string init_pos = "spectral";
  const Array* init_array = nullptr;  // start positions given directly (takes precedence over init_pos)
  int64_t random_state = 0;
  std::optional<double> a{}, b{};
  std::string neighbors_key = "neighbors";
  // "" writes obsm['X_umap'] and uns['umap']; otherwise obsm[key_added] and uns[key_added].
  std::string key_added{};
};

// Writes obsm['X_umap'] (float32) and uns['umap'] = {params: {a, b
// [, random_state when != 0]}} as Scanpy 1.11 does.
void umap(AnnData& adata, const UmapOptions& opt = {});

}  // namespace scanpp::tl
