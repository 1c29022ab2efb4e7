#pragma once
// Scanpy 1.11's pp.scrublet (Wolock, Lopez & Klein 2019): doublet detection
// by a k-nearest-neighbour classifier of observed cells against simulated
// doublets (spec/algorithms.md §19).
//
// On raw counts, per batch: filter_genes(min_cells=3), filter_cells(min_genes=3);
// normalize_total (median target); highly_variable_genes (flavor 'seurat',
// default cutoffs) on log1p of that; subset to those genes; simulate doublets
// from the raw counts of the kept genes (scrublet_simulate_doublets.hpp);
// [log1p if log_transform]; normalize_total(target_sum=1e6) of observed and
// simulated separately; z-score every gene with the observed cells' mean and
// ddof=1 standard deviation; PCA fitted on the observed cells (exact leading
// subspace, pp/pca) and applied to both; kNN (pp/knn) of the union with
// k_adj = round(k · (1 + n_sim/n_obs)); the Bayesian doublet score; the
// threshold from threshold_minimum of the simulated scores unless given.
//
// The simulated pairs match Scanpy's exactly (numpy's legacy RandomState);
// the scores agree statistically, not cell for cell (PCA signs and kNN ties
// differ). Results are bit-identical for any thread count.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/sparse.hpp"

namespace scanpp::pp {

struct ScrubletOptions {
  // obs column; each batch (in sorted order) is scored on its own.
  std::optional<std::string> batch_key = std::nullopt;
  double sim_doublet_ratio = 2.0;
  double expected_doublet_rate = 0.05;
  double stdev_doublet_rate = 0.02;
  double synthetic_doublet_umi_subsampling = 1.0;
  std::string knn_dist_metric = "euclidean";  // pp::parse_knn_metric names
  bool normalize_variance = true;
  bool log_transform = false;
  bool mean_center = true;
  int n_prin_comps = 30;
  // nullopt: Scanpy's rule (exact below 8192 points for euclidean); true: HNSW; false: exact.
  std::optional<bool> use_approx_neighbors = std::nullopt;
  bool get_doublet_neighbor_parents = false;
  // nullopt: round(0.5 · sqrt(n_obs)) of the cells scored (per batch).
  std::optional<int> n_neighbors = std::nullopt;
  // nullopt: threshold_minimum of the simulated doublets' scores.
  std::optional<double> threshold = std::nullopt;
  uint32_t random_state = 0;
};

// What Scrublet's classifier computes for one batch.
struct ScrubletScores {
  std::vector<double> scores_obs, scores_sim;  // doublet scores (Ld)
  std::vector<double> errors_obs, errors_sim;  // their standard errors
  std::optional<double> threshold;             // nullopt: no threshold could be found
  std::vector<bool> predicted;                 // scores_obs > threshold (all false without one)
  std::vector<double> z_scores;                // (score - threshold) / error (empty without threshold)
  double detected_doublet_rate = 0.0, detectable_doublet_fraction = 0.0, overall_doublet_rate = 0.0;
  int n_neighbors = 0;  // k before the adjustment
  int k_adj = 0;        // neighbours searched per cell (self included)
  // Per observed cell: sorted unique parents of its simulated neighbours
  // (only with get_doublet_neighbor_parents).
  std::vector<std::vector<int64_t>> doublet_neighbor_parents;
};

// The classifier on already normalised matrices (Scanpy's
// _scrublet_call_doublets): obs_norm n_obs x g and sim_norm n_sim x g
// (sparse or dense, any float dtype); parents n_sim x 2 (row-major).
// Uses opt's expected/stdev_doublet_rate, mean_center, normalize_variance,
// n_prin_comps, use_approx_neighbors, knn_dist_metric, n_neighbors,
// threshold, get_doublet_neighbor_parents, random_state.
ScrubletScores scrublet_call_doublets(const Element& obs_norm, const Element& sim_norm,
                                      const std::vector<int64_t>& parents, const ScrubletOptions& opt = {});

// Result of the whole pipeline on one count matrix.
struct ScrubletResult {
  // One entry per input cell; cells dropped by filter_cells(min_genes=3) get
  // NaN and false.
  std::vector<double> doublet_score;
  std::vector<bool> predicted_doublet;
  std::vector<int64_t> cells;   // input positions of the cells scored (after the cell filter)
  std::vector<int64_t> genes;   // input positions of the genes used (after filters and HVG)
  std::vector<int64_t> parents; // n_sim x 2, positions among `cells` (Scanpy's doublet_parents)
  ScrubletScores scores;
};

// Kernel: the pipeline on raw counts (n_obs x n_vars, sparse or dense).
ScrubletResult scrublet(const Element& counts, const ScrubletOptions& opt = {});

// sc.pp.scrublet(adata): adata.X must hold raw counts. Writes
// obs['doublet_score'] (float64), obs['predicted_doublet'] (bool) and
// uns['scrublet'] = {doublet_scores_sim, doublet_parents, parameters:
// {expected_doublet_rate, sim_doublet_ratio, n_neighbors, random_state},
// threshold (when found) [, doublet_neighbor_parents]}; with batch_key,
// uns['scrublet'] = {batches: {b: {...}}, batched_by: key}.
void scrublet(AnnData& adata, const ScrubletOptions& opt = {});

}  // namespace scanpp::pp
