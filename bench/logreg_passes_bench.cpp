// The logistic regression's two sparse passes alone on PBMC 3k raw
// (2,638 x 13,714, 2.24 M entries, 9 classes in 16 lanes), one thread:
// the margins X·W (untiled and tiled) and the gradient Xᵀ·R, per pass, the
// best of 20 rounds of 5 in thread CPU time (the least disturbed by other
// processes on a shared machine).
//   logreg_passes_bench [tile rows (64)]                             run from /work/main
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "scanpp/io/h5ad.hpp"
#include "scanpp/tl/rank_genes_groups_logreg_passes.hpp"

using namespace scanpp;
using tl::detail::LogregRows;

namespace {

double thread_cpu() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Milliseconds per call of f, the best of 20 rounds of 5 calls.
template <class F>
double best_ms(F&& f) {
  double best = 1e30;
  for (int round = 0; round < 20; ++round) {
    const double t0 = thread_cpu();
    for (int it = 0; it < 5; ++it) f();
    best = std::min(best, (thread_cpu() - t0) * 200);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t block = argc > 1 ? std::atoi(argv[1]) : 64;
  const int lanes = 16;
  AnnData a = io::read_h5ad("../shared/golden/pbmc3k/pbmc3k_scanpy.h5ad");
  const auto& m = a.raw->X->get<SparseMatrix>();
  const tl::detail::LogregDesign design = tl::detail::logreg_design(m, lanes);
  const LogregRows& rows = design.rows;
  const LogregRows& cols = design.cols;
  LogregRows tiled = rows;
  tl::detail::logreg_tile(tiled, block, lanes);
  std::vector<float> w(static_cast<size_t>(m.n_cols * lanes), 0.0f), r(static_cast<size_t>(m.n_rows * lanes), 0.0f);
  for (int64_t j = 0; j < m.n_cols; ++j)
    for (int c = 0; c < 9; ++c) w[j * lanes + c] = 0.01f * static_cast<float>(c + 1);
  for (int64_t i = 0; i < m.n_rows; ++i)
    for (int c = 0; c < 9; ++c) r[i * lanes + c] = 1e-4f * static_cast<float>(c - 4);
  std::vector<double> z(static_cast<size_t>(m.n_rows * lanes)), g(static_cast<size_t>(m.n_cols * lanes));
  auto margins = [&](const LogregRows& x) {
    for (int64_t r0 = 0; r0 < m.n_rows; r0 += block)
      tl::detail::logreg_gather(x, r0, std::min<int64_t>(m.n_rows, r0 + block), w.data(), lanes, z.data() + r0 * lanes);
  };
  const double untiled_ms = best_ms([&] { margins(rows); });
  const double tiled_ms = best_ms([&] { margins(tiled); });
  const double gradient_ms = best_ms([&] { tl::detail::logreg_gather(cols, 0, cols.n_rows, r.data(), lanes, g.data()); });
  std::printf("%zu entries: margins %.3f ms untiled, %.3f ms tiled (%lld bands, blocks of %lld rows); "
              "gradient %.3f ms\n",
              m.indices.size(), untiled_ms, tiled_ms, static_cast<long long>(tiled.n_bands),
              static_cast<long long>(block), gradient_ms);
  return 0;
}
