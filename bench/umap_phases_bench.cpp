// UMAP on PBMC 3k (the golden Scanpy object's connectivities) phase by
// phase: the whole tl.umap layout, its start (pruning + spectral layout +
// one epoch) and the SGD epochs alone, each the median wall and CPU seconds
// of several runs, with the updates the epochs make and a checksum of the
// embedding (bit-identity across builds and thread counts at a glance).
//   umap_phases_bench [runs (default 7)] [h5ad with obsp['connectivities'] (default
//                     <shared>/golden/pbmc3k/pbmc3k_scanpy.h5ad), or a scaled matrix .npy run
//                     through pp.pca and pp.neighbors as in pbmc_core_bench]
//                     [embedding output (raw float32, optional)]
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "bench_timing.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/io/npy.hpp"
#include "scanpp/pp/neighbors.hpp"
#include "scanpp/pp/pca.hpp"
#include "scanpp/tl/umap.hpp"
#include "scanpp/tl/umap_ab.hpp"
#include "scanpp/tl/umap_sgd.hpp"

using namespace scanpp;

namespace {

// FNV-1a over the embedding's bytes.
uint64_t checksum(const std::vector<float>& v) {
  uint64_t h = 1469598103934665603ULL;
  for (float f : v) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    for (int k = 0; k < 4; ++k) h = (h ^ ((bits >> (8 * k)) & 0xffu)) * 1099511628211ULL;
  }
  return h;
}

std::vector<float> floats(const Array& a) {
  std::vector<float> v(static_cast<size_t>(a.size()));
  for (int64_t k = 0; k < a.size(); ++k) v[k] = static_cast<float>(a.get_double(k));
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 7;
  const std::string path =
      argc > 2 && argv[2][0] != 0 ? argv[2] : std::string(SCANPP_SHARED_DIR) + "/golden/pbmc3k/pbmc3k_scanpy.h5ad";
  AnnData adata;
  if (path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0) {
    // A scaled matrix (e.g. golden X_scaled.npy): the graph pbmc_core_bench's UMAP sees.
    adata = AnnData(Element(io::read_npy(path)));
    pp::pca(adata, {.svd_solver = pp::PcaSolver::Arpack});
    pp::neighbors(adata, {.n_neighbors = 10, .n_pcs = 40});
  } else {
    adata = io::read_h5ad(path, {.read_X = false});
  }
  const SparseMatrix& graph = adata.obsp.at("connectivities").get<SparseMatrix>();
  std::printf("%lld cells, %lld graph entries, %d threads, median of %d runs (wall / CPU seconds)\n",
              static_cast<long long>(graph.n_rows), static_cast<long long>(graph.nnz()), num_threads(), runs);

  tl::UmapResult full;
  const bench::Timing t_full = bench::median_time(runs, [&] { full = tl::umap_layout(graph); });
  tl::UmapResult start;
  const bench::Timing t_start = bench::median_time(runs, [&] { start = tl::umap_layout(graph, {.n_epochs = 1}); });

  // The epochs alone, from the start tl.umap makes (spectral, scaled to [0, 10]).
  tl::UmapResult zero_epochs_start = tl::umap_layout(graph, {.n_epochs = 1});
  SparseMatrix pruned = convert_format(graph, SparseFormat::CSR);
  sort_indices(pruned);
  pruned.data = pruned.data.astype(DType::Float64);
  {  // umap-learn's pruning: entries below max / n_epochs dropped
    const auto w = pruned.data.as<double>();
    double wmax = 0;
    for (double v : w) wmax = std::max(wmax, v);
    std::vector<int64_t> ptr(1, 0);
    std::vector<int32_t> idx;
    std::vector<double> val;
    for (int64_t i = 0; i < pruned.n_rows; ++i) {
      for (int64_t k = pruned.indptr[i]; k < pruned.indptr[i + 1]; ++k)
        if (w[k] >= wmax / 500 && w[k] > 0) {
          idx.push_back(pruned.indices[k]);
          val.push_back(w[k]);
        }
      ptr.push_back(static_cast<int64_t>(idx.size()));
    }
    pruned.indptr = std::move(ptr);
    pruned.indices = std::move(idx);
    pruned.data = Array::from_vector(val);
  }
  const tl::umap_sgd::Graph g = tl::umap_sgd::make_graph(pruned, 500);
  const tl::UmapCurve c = tl::find_ab_params(1.0, 0.5);
  const tl::umap_sgd::Params p{.a = c.a, .b = c.b, .n_epochs = 500, .dim = 2, .seed = 0};
  const std::vector<float> y0 = floats(zero_epochs_start.embedding);
  std::vector<float> y;
  // Also the fastest run: the steadier figure while other jobs load the machine.
  double sgd_min_wall = 1e30, sgd_min_cpu = 1e30;
  const bench::Timing t_sgd = bench::median_time(runs, [&] {
    y = y0;
    const double w0 = bench::wall_now(), c0 = bench::cpu_now();
    tl::umap_sgd::optimize(g, p, y);
    sgd_min_cpu = std::min(sgd_min_cpu, bench::cpu_now() - c0);
    sgd_min_wall = std::min(sgd_min_wall, bench::wall_now() - w0);
  });

  double samples = 0;
  for (double e : g.epochs_per_sample) samples += 1.0 / e;
  std::printf("tl.umap layout (500 epochs)     %.4f / %.4f   checksum %016llx\n", t_full.wall, t_full.cpu,
              static_cast<unsigned long long>(checksum(floats(full.embedding))));
  std::printf("  start (prune, spectral, 1 ep) %.4f / %.4f\n", t_start.wall, t_start.cpu);
  std::printf("  SGD alone (500 epochs)        %.4f / %.4f   checksum %016llx   fastest %.4f / %.4f\n", t_sgd.wall,
              t_sgd.cpu, static_cast<unsigned long long>(checksum(y)), sgd_min_wall, sgd_min_cpu);
  std::printf("  %lld directed edges, %.0f edge samples per epoch (%.0f updates with both ends and %d negatives)\n",
              static_cast<long long>(g.tail.size()), samples, samples * (2 + p.negative_sample_rate),
              p.negative_sample_rate);
  if (argc > 3) {
    const std::vector<float> e = floats(full.embedding);
    std::ofstream(argv[3], std::ios::binary).write(reinterpret_cast<const char*>(e.data()), e.size() * 4);
  }
  return 0;
}
