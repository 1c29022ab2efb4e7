// Per-call timings of t-SNE's kernels on PBMC 3k (golden X_pca, 40 PCs, and
// Scanpy's embedding as the positions), the fastest of many calls (robust on
// a shared machine). Run from /work/main.
//   tsne_kernels_bench [calls]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "scanpp/core/parallel.hpp"
#include "scanpp/io/npy.hpp"
#include "scanpp/tl/tsne.hpp"
#include "scanpp/tl/tsne_gradient.hpp"
#include "scanpp/tl/tsne_knn.hpp"

using namespace scanpp;

namespace {

double fastest(int calls, const std::function<void()>& f) {
  double best = 1e300;
  for (int c = 0; c < calls; ++c) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int calls = argc > 1 ? std::atoi(argv[1]) : 200;
  const Array pca = io::read_npy("../shared/golden/pbmc3k/X_pca.npy");
  std::vector<int64_t> cols(40);
  for (int c = 0; c < 40; ++c) cols[c] = c;
  const Array X = pca.take_cols(cols);
  const std::vector<double> y = io::read_npy("../shared/golden/pbmc3k/X_tsne.npy").to_vector<double>();
  const std::vector<float> y32(y.begin(), y.end());
  const SparseMatrix Ps = tl::tsne_affinities(X, 30.0);
  const tl::TsneP P = tl::tsne_p_from_sparse(Ps);
  std::vector<double> out(y.size());
  tl::TsneBarnesHut bh;
  const int few = std::max(3, calls / 20);
  std::printf("%d threads, fastest of %d calls (%d for the affinities):\n", num_threads(), calls, few);
  std::printf("  Barnes-Hut repulsion  %8.1f us\n", 1e6 * fastest(calls, [&] { bh(y, out); }));
  std::printf("    tree build          %8.1f us\n", 1e6 * fastest(calls, [&] { bh.build(y); }));
  std::printf("  attraction float32    %8.1f us\n", 1e6 * fastest(calls, [&] { tl::tsne_attraction_f32(P, y32, out); }));
  std::printf("  attraction + KL term  %8.1f us\n", 1e6 * fastest(calls, [&] { tl::tsne_attraction(P, y, out, true); }));
  std::printf("  kNN (k = 91)          %8.1f ms\n", 1e3 * fastest(few, [&] { tl::tsne_neighbours(X, 91); }));
  const tl::TsneNeighbours nn = tl::tsne_neighbours(X, 91);
  std::printf("  calibration           %8.1f ms\n",
              1e3 * fastest(few, [&] { tl::tsne_conditional_p(nn.sq, nn.n, nn.k, 30.0); }));
  std::printf("  affinities            %8.1f ms\n", 1e3 * fastest(few, [&] { tl::tsne_affinities(X, 30.0); }));
  return 0;
}
