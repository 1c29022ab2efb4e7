#pragma once
// Scrublet's doublet simulation (Scanpy 1.11 pp.scrublet_simulate_doublets):
// n_sim = int(n_obs · sim_doublet_ratio) synthetic doublets, each the sum of
// the raw counts of two observed cells.
//
// The pairs are drawn exactly as Scanpy's sample_comb does: scikit-learn's
// sample_without_replacement(n_obs², n_sim) on numpy's legacy
// RandomState(random_state), each flat index unravelled to (i, j) =
// (idx / n_obs, idx % n_obs). So the parents equal Scanpy's for the same input
// (a cell may be paired with itself, as in Scanpy).
//
// With synthetic_doublet_umi_subsampling < 1 each summed count is thinned by
// a binomial draw, and the totals get Scrublet's correction (the removed UMIs
// are thinned once more and added back). Scanpy draws these from numpy's
// binomial and from the unseeded global numpy stream, which nothing can
// reproduce; here they come from counter-based streams keyed by
// (random_state, row), so the result is deterministic for any thread count.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/numpy_random.hpp"
#include "scanpp/core/sparse.hpp"

namespace scanpp::pp {

struct ScrubletSimulateOptions {
  // Raw counts from adata.layers[layer]; nullopt (or "X") uses X.
  std::optional<std::string> layer = std::nullopt;
  double sim_doublet_ratio = 2.0;
  double synthetic_doublet_umi_subsampling = 1.0;
  uint32_t random_state = 0;
};

struct SimulatedDoublets {
  SparseMatrix counts;              // n_sim x n_vars CSR, the input's dtype (float32 for float32 counts)
  std::vector<double> total_counts; // n_sim (obs['n_counts'])
  std::vector<int64_t> parents;     // n_sim x 2, row-major: positions of the two observed cells
  int64_t n_sim() const { return static_cast<int64_t>(total_counts.size()); }
};

// scikit-learn's sample_without_replacement(n_population, n_samples,
// method='auto') driven by numpy's legacy RandomState `rs`: permutation when
// 0.01 < n_samples/n_population < 0.99, tracking selection below, reservoir
// sampling above.
std::vector<int64_t> sample_without_replacement(int64_t n_population, int64_t n_samples,
                                                random::NumpyRandomState& rs);

// Kernel. counts: raw counts (CSR or CSC, any numeric dtype), n_obs x n_vars.
// total_counts: each cell's total (empty = the row sums of `counts`, as
// Scrublet computes them).
SimulatedDoublets simulate_doublets(const SparseMatrix& counts, const std::vector<double>& total_counts = {},
                                    const ScrubletSimulateOptions& opt = {});
// Dense counts are converted to CSR first.
SimulatedDoublets simulate_doublets(const Array& counts, const std::vector<double>& total_counts = {},
                                    const ScrubletSimulateOptions& opt = {});

// sc.pp.scrublet_simulate_doublets: a new AnnData with the simulated counts
// in X (CSR), obs['n_counts'], obsm['doublet_parents'] (n_sim x 2 int64) and
// uns['scrublet'] = {parameters: {sim_doublet_ratio}}. var is a copy of
// adata.var's index.
AnnData scrublet_simulate_doublets(const AnnData& adata, const ScrubletSimulateOptions& opt = {});

}  // namespace scanpp::pp
