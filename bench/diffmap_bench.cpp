// In-process timing of tl.diffmap, tl.dpt and tl.paga on the golden PBMC 3k
// neighbour graph: the h5ad is read once, each step runs `reps` times and the
// median wall / CPU seconds are printed (diffmap also split into the
// transition matrix and the eigensolver).
//   diffmap_bench [golden.h5ad] [reps]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench_timing.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/tl/diffmap.hpp"
#include "scanpp/tl/diffmap_lanczos.hpp"
#include "scanpp/tl/dpt.hpp"
#include "scanpp/tl/paga.hpp"

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : SCANPP_SHARED_DIR "/golden/pbmc3k/pbmc3k_scanpy.h5ad";
  const int reps = argc > 2 ? std::atoi(argv[2]) : 50;
  const scanpp::AnnData full = scanpp::io::read_h5ad(path);
  scanpp::AnnData g;
  g.obs = full.obs;
  g.var = scanpp::DataFrame(std::vector<std::string>{});
  g.obsp = full.obsp;
  g.uns["neighbors"] = full.uns.at("neighbors");
  g.uns["iroot"] = scanpp::Array::scalar<int64_t>(0);
  std::printf("threads %d, %d reps\n", scanpp::num_threads(), reps);

  const scanpp::SparseMatrix& w = g.obsp.at("connectivities").get<scanpp::SparseMatrix>();
  scanpp::SparseMatrix t = scanpp::tl::diffusion_transitions_sym(w);
  const auto tt = scanpp::bench::median_time(reps, [&] { t = scanpp::tl::diffusion_transitions_sym(w); });
  {
    // The eigensolver alone (with a plain one-thread product, slower than
    // diffmap's): products, basis size, reorthogonalisations, convergence
    // checks and the final residual estimate.
    auto v = t.data.as<double>();
    auto op = [&](const double* x, double* y) {
      for (int64_t i = 0; i < t.n_rows; ++i) {
        double s = 0;
        for (int64_t k = t.indptr[i]; k < t.indptr[i + 1]; ++k) s += v[k] * x[t.indices[k]];
        y[i] = s;
      }
    };
    scanpp::tl::SymmetricLanczosResult r;
    const auto tz = scanpp::bench::median_time(reps, [&] {
      r = scanpp::tl::symmetric_lanczos_largest_magnitude(t.n_rows, op, {.nev = 15, .tol = 1e-12});
    });
    std::printf("lanczos          %8.3f ms wall %8.3f ms cpu: converged %d, %d products, basis %d, "
                "%d reorthogonalisations, %d checks, max relative residual %.3g\n",
                1e3 * tz.wall, 1e3 * tz.cpu, int(r.converged), r.products, r.basis_size, r.reorthogonalisations,
                r.checks, r.max_residual);
  }
  const auto te = scanpp::bench::median_time(reps, [&] { (void)scanpp::tl::diffmap_eigen(t, 15); });
  const auto td = scanpp::bench::median_time(reps, [&] { scanpp::tl::diffmap(g); });
  const auto tp = scanpp::bench::median_time(reps, [&] { scanpp::tl::dpt(g); });
  const auto tg = scanpp::bench::median_time(reps, [&] {
    scanpp::tl::paga(g, {.groups = "leiden"});
  });
  std::printf("transitions_sym  %8.3f ms wall %8.3f ms cpu\n", 1e3 * tt.wall, 1e3 * tt.cpu);
  std::printf("diffmap_eigen    %8.3f ms wall %8.3f ms cpu\n", 1e3 * te.wall, 1e3 * te.cpu);
  std::printf("tl.diffmap       %8.3f ms wall %8.3f ms cpu\n", 1e3 * td.wall, 1e3 * td.cpu);
  std::printf("tl.dpt           %8.3f ms wall %8.3f ms cpu\n", 1e3 * tp.wall, 1e3 * tp.cpu);
  std::printf("tl.paga          %8.3f ms wall %8.3f ms cpu\n", 1e3 * tg.wall, 1e3 * tg.cpu);
  return 0;
}
