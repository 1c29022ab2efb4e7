#pragma once
// Synthetic UMI count matrices of any size for benchmarks and scale tests:
// cluster-specific gene programs, log-normal library sizes, negative-binomial
// noise (gamma-distributed module activities per cell, Poisson sampling of
// UMIs), and a block of mitochondrial 'MT-' genes. About 2,000 genes are
// detected per cell at 20,000 genes. Rows are generated independently from
// counter-based random streams, so any block can be produced alone, in
// parallel, and the result does not depend on the thread count.
#include <cstdint>
#include <string>

#include "scanpp/core/anndata.hpp"

namespace scanpp::datasets {

struct SyntheticOptions {
  int64_t n_cells = 10000;
  int64_t n_genes = 20000;
  int n_clusters = 10;
  uint64_t seed = 0;
  double mean_umis = 5000;       // median library size (UMIs per cell)
  double library_sdlog = 0.45;   // spread of log library sizes
  double dispersion = 0.4;       // NB overdispersion of module activities (phi)
  int n_mt_genes = 13;
  int64_t block_rows = 20000;    // rows generated and written at a time
};

// The whole matrix in memory (obs['cluster'] holds the true cluster).
AnnData synthetic(const SyntheticOptions& opt);
// Writes the same data to an .h5ad block by block; memory stays near one block.
void write_synthetic_h5ad(const std::string& path, const SyntheticOptions& opt, int gzip_level = -1);

}  // namespace scanpp::datasets
