// Times tl.draw_graph's layouts on PBMC 3k (Scanpy's golden connectivities):
// ForceAtlas2 (500 iterations) with 1 and 2 threads, and igraph's
// Fruchterman-Reingold. Scanpy 1.11.5 on the same kind of machine: fa 17.5 s,
// fr 5.8 s. Usage, from /work/main:
//   draw_graph_bench [h5ad (default ../shared/golden/pbmc3k/pbmc3k_scanpy.h5ad)] [iterations]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/tl/draw_graph.hpp"
#include "scanpp/tl/forceatlas2.hpp"

using namespace scanpp;

namespace {
double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }
}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : std::string("../shared/golden/pbmc3k/pbmc3k_scanpy.h5ad");
  const AnnData a = io::read_h5ad(path, {.read_X = false});
  const SparseMatrix& g = a.obsp.at("connectivities").get<SparseMatrix>();
  const std::vector<double> init = tl::draw_graph_random_init(g.n_rows, 0);
  tl::ForceAtlas2Options o;
  if (argc > 2) o.iterations = std::atoi(argv[2]);
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    const double c0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<double> r = tl::forceatlas2(g, init, o);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("forceatlas2 %d iterations, %d thread(s): wall %.3f s, cpu %.3f s (x0 = %.6f)\n", o.iterations,
                threads, wall, cpu_seconds() - c0, r[0]);
  }
  tl::DrawGraphOptions fr;
  fr.layout = "fr";
  const double c0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  (void)tl::draw_graph_layout(g, "fr", init, fr);
  std::printf("fruchterman-reingold (igraph) 500 iterations: wall %.3f s, cpu %.3f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), cpu_seconds() - c0);
  return 0;
}
