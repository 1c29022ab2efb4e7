#pragma once
// UMAP's spectral initialisation (umap-learn's spectral_layout and
// multi_component_layout): the eigenvectors 1..dim of the symmetric normalised
// Laplacian of the graph, and for a disconnected graph one such layout per
// connected component, each scaled into its own region around a position
// chosen for the component (by a spectral embedding of the components'
// centroids in the representation; unlike umap-learn, centroid distances are
// scaled by their root mean square so that the affinities do not underflow).
#include <cstdint>
#include <vector>

#include "scanpp/core/array.hpp"
#include "scanpp/core/sparse.hpp"

namespace scanpp::tl {

struct SpectralLayoutOptions {
  int n_components = 2;   // dimensions of the layout
  int64_t random_state = 0;  // for components too small for a spectral layout, and solver failures
  // Cap on Lanczos vectors. umap-learn uses max(2k+1, sqrt(n)), which for a
  // million cells holds a 1e6 x 1000 basis (8 GB); the cap keeps memory at
  // n x 64 doubles at the price of more restarts.
  int max_lanczos_vectors = 64;
  double tol = 1e-4;      // ARPACK's tolerance in umap-learn
};

struct SpectralLayout {
  std::vector<double> coords;  // n x n_components, row-major
  int n_connected_components = 0;
  bool used_random_fallback = false;  // the eigensolver did not converge (umap-learn warns likewise)
};

// graph: square, symmetric, non-negative weights (UMAP's pruned graph).
// data: optional n x d representation (Array of any float dtype, 2-D) used to
// place the components of a disconnected graph by their centroids; without it
// component positions are drawn at random, as umap-learn does.
SpectralLayout spectral_layout(const SparseMatrix& graph, const SpectralLayoutOptions& opt = {},
                               const Array* data = nullptr);

}  // namespace scanpp::tl
