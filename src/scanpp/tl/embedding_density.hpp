#pragma once
// tl.embedding_density as Scanpy 1.11 computes it: scipy.stats.gaussian_kde
// (Gaussian kernel, Scott's bandwidth n^(-1/6) in 2-D, covariance of the
// points with ddof 1) evaluated at every point, then min-max scaled to [0, 1]
// -- per category of `groupby` when given.
//
// O(n^2) per group (as scipy's evaluation); the pairwise sums run in parallel
// over evaluation points, each point's sum in a fixed order, so results do
// not depend on the thread count.
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"

namespace scanpp::tl {

// Kernel: gaussian_kde(xy)(xy) for 2-D points (x[i], y[i]). ValueError when
// there are fewer than 2 points or their covariance is singular (scipy
// raises LinAlgError there).
std::vector<double> gaussian_kde_2d(const std::vector<double>& x, const std::vector<double>& y);

// The density scaled to [0, 1] as Scanpy's _calc_density does.
std::vector<double> scaled_density_2d(const std::vector<double>& x, const std::vector<double>& y);

struct EmbeddingDensityOptions {
  std::string basis = "umap";           // obsm['X_' + basis]; 'fa' means 'draw_graph_fa'
  std::optional<std::string> groupby{};  // categorical obs column
  std::optional<std::string> key_added{};
  std::vector<int> components{};  // 1-based, exactly 2; empty: {1, 2} (diffmap: shifted by one, as Scanpy)
};

// sc.tl.embedding_density: obs['<basis>_density[_<groupby>]'] (float64) and
// uns['<key>_params'] = {covariate (when groupby given), components}.
void embedding_density(AnnData& adata, const EmbeddingDensityOptions& opt = {});

}  // namespace scanpp::tl
