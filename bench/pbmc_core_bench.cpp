// The PBMC 3k clustering core, step by step as in examples/pbmc3k.yaml:
// pp.pca (arpack, 50 comps) on Scanpy's scaled matrix (golden X_scaled.npy,
// 2,638 x 1,838 float32), pp.neighbors (10 neighbours, 40 PCs), tl.umap and
// tl.leiden, each timed separately: median wall and CPU seconds (all
// threads) of several runs. Scanpy 1.11.5 on this kind of machine: PCA
// 0.33 s, neighbors 0.1 s once compiled, UMAP 2.6 s, Leiden 0.15 s.
//
//   pbmc_core_bench [runs (default 5)] [X_scaled.npy (default ../shared/golden/pbmc3k/X_scaled.npy)]
// Run from /work/main (or give the path).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "bench_timing.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/npy.hpp"
#include "scanpp/pp/neighbors.hpp"
#include "scanpp/pp/pca.hpp"
#include "scanpp/tl/leiden.hpp"
#include "scanpp/tl/umap.hpp"

using namespace scanpp;

namespace {

using scanpp::bench::cpu_now;
using scanpp::bench::wall_now;


struct Timing {
  double wall = 0, cpu = 0;
};

// Medians of wall and CPU time over `runs` calls of f (each on a fresh copy
// made by `prepare`, outside the timed region).
template <class Prepare, class F>
Timing median(int runs, Prepare&& prepare, F&& f) {
  std::vector<double> w, c;
  for (int r = 0; r < runs; ++r) {
    AnnData a = prepare();
    const double w0 = wall_now(), c0 = cpu_now();
    f(a);
    c.push_back(cpu_now() - c0);
    w.push_back(wall_now() - w0);
  }
  std::sort(w.begin(), w.end());
  std::sort(c.begin(), c.end());
  return {w[w.size() / 2], c[c.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  const std::string path = argc > 2 ? argv[2] : std::string("../shared/golden/pbmc3k/X_scaled.npy");
  const AnnData base(Element(io::read_npy(path)));
  std::printf("%lld cells x %lld genes, %d threads, median of %d runs (wall / CPU seconds)\n",
              static_cast<long long>(base.n_obs()), static_cast<long long>(base.n_vars()), num_threads(), runs);

  AnnData after_pca = base;
  const Timing t_pca = median(runs, [&] { return base; },
                              [](AnnData& a) { pp::pca(a, {.svd_solver = pp::PcaSolver::Arpack}); });
  pp::pca(after_pca, {.svd_solver = pp::PcaSolver::Arpack});

  AnnData after_nn = after_pca;
  const Timing t_nn = median(runs, [&] { return after_pca; },
                             [](AnnData& a) { pp::neighbors(a, {.n_neighbors = 10, .n_pcs = 40}); });
  pp::neighbors(after_nn, {.n_neighbors = 10, .n_pcs = 40});

  const Timing t_umap = median(runs, [&] { return after_nn; }, [](AnnData& a) { tl::umap(a); });
  const Timing t_leiden = median(runs, [&] { return after_nn; }, [](AnnData& a) { tl::leiden(a, {.resolution = 1.0}); });

  std::printf("pp.pca (arpack, 50 comps)      %.3f / %.3f   [Scanpy 0.33 s]\n", t_pca.wall, t_pca.cpu);
  std::printf("pp.neighbors (10, 40 PCs)      %.3f / %.3f   [Scanpy 0.1 s compiled]\n", t_nn.wall, t_nn.cpu);
  std::printf("tl.umap (500 epochs)           %.3f / %.3f   [Scanpy 2.6 s]\n", t_umap.wall, t_umap.cpu);
  std::printf("tl.leiden (resolution 1)       %.3f / %.3f   [Scanpy 0.15 s]\n", t_leiden.wall, t_leiden.cpu);
  std::printf("total                          %.3f / %.3f   [target < 0.4 s wall]\n",
              t_pca.wall + t_nn.wall + t_umap.wall + t_leiden.wall, t_pca.cpu + t_nn.cpu + t_umap.cpu + t_leiden.cpu);
  return 0;
}
