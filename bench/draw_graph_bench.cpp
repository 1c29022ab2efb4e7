// Times tl.draw_graph's layouts on PBMC 3k (Scanpy's golden connectivities):
// ForceAtlas2 (500 iterations) with 1 and 2 threads, the median of `repeats`
// runs each, and igraph's Fruchterman-Reingold once. Scanpy 1.11.5 on the
// same kind of machine: fa 17.5 s, fr 5.8 s. Usage, from /work/main:
//   draw_graph_bench [h5ad (default ../shared/golden/pbmc3k/pbmc3k_scanpy.h5ad)] [iterations] [repeats (3)] [fa]
// A fourth argument 'fa' skips Fruchterman-Reingold (for profiling).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

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
  const int repeats = argc > 3 ? std::max(1, std::atoi(argv[3])) : 3;
  const bool fa_only = argc > 4 && std::string(argv[4]) == "fa";
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    std::vector<double> walls, cpus;
    double x0 = 0;
    uint64_t fnv = 1469598103934665603ULL;  // FNV-1a of the last run's bits
    for (int r = 0; r < repeats; ++r) {
      const double c0 = cpu_seconds();
      const auto t0 = std::chrono::steady_clock::now();
      const std::vector<double> pos = tl::forceatlas2(g, init, o);
      walls.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      cpus.push_back(cpu_seconds() - c0);
      x0 = pos.empty() ? 0.0 : pos[0];
      fnv = 1469598103934665603ULL;
      for (const double v : pos) {
        uint64_t b;
        std::memcpy(&b, &v, sizeof b);
        for (int k = 0; k < 8; ++k) fnv = (fnv ^ ((b >> (8 * k)) & 0xffu)) * 1099511628211ULL;
      }
    }
    std::sort(walls.begin(), walls.end());
    std::sort(cpus.begin(), cpus.end());
    std::printf("forceatlas2 %d iterations, %d thread(s), median of %d: wall %.3f s (min %.3f), cpu %.3f s (x0 = %.6f, "
                "bits FNV-1a %016llx)\n",
                o.iterations, threads, repeats, walls[walls.size() / 2], walls.front(), cpus[cpus.size() / 2], x0,
                static_cast<unsigned long long>(fnv));
  }
  if (fa_only) return 0;
  tl::DrawGraphOptions fr;
  fr.layout = "fr";
  const double c0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  (void)tl::draw_graph_layout(g, "fr", init, fr);
  std::printf("fruchterman-reingold (igraph) 500 iterations: wall %.3f s, cpu %.3f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), cpu_seconds() - c0);
  return 0;
}
