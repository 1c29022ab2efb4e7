// PBMC 3k (the golden Scanpy object's connectivities) through tl.umap,
// tl.leiden and tl.louvain, printing the median wall time of each over
// several runs, the thread count, and the quality figures the tests check.
//   bench_umap_leiden [h5ad (default ../shared/golden/pbmc3k/pbmc3k_scanpy.h5ad, from /work/main)] [runs]
// Scanpy 1.11.5 on the same kind of machine: UMAP 2.6 s, Leiden 0.15 s.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_timing.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/tl/leiden.hpp"
#include "scanpp/tl/louvain.hpp"
#include "scanpp/tl/umap.hpp"

using namespace scanpp;

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : std::string("../shared/golden/pbmc3k/pbmc3k_scanpy.h5ad");
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  AnnData adata = io::read_h5ad(path, {.read_X = false});
  const SparseMatrix& g = adata.obsp.at("connectivities").get<SparseMatrix>();
  std::printf("%lld cells, %lld graph entries, %d threads, median of %d runs\n", static_cast<long long>(adata.n_obs()),
              static_cast<long long>(g.nnz()), num_threads(), runs);

  const double t_umap = bench::median_time(runs, [&] { tl::umap(adata); }).wall;
  std::printf("tl.umap (500 epochs, spectral init): %.3f s   [Scanpy 1.11.5: 2.6 s]\n", t_umap);
  const double t_spectral = bench::median_time(runs, [&] { tl::umap(adata, {.maxiter = 1}); }).wall;
  std::printf("  of which start (prune + spectral layout, 1 epoch): %.3f s\n", t_spectral);

  tl::Partition part;
  const double t_leiden = bench::median_time(runs, [&] { tl::leiden(adata); }).wall;
  part = tl::leiden_partition(g);
  std::printf("tl.leiden (igraph, until stable): %.3f s, %d clusters, modularity %.4f   [Scanpy 1.11.5: 0.15 s]\n",
              t_leiden, part.n_clusters, part.modularity);
  const double t_louvain = bench::median_time(runs, [&] { tl::louvain(adata); }).wall;
  part = tl::louvain_partition(g);
  std::printf("tl.louvain (igraph multilevel, unweighted): %.3f s, %d clusters\n", t_louvain, part.n_clusters);
  return 0;
}
