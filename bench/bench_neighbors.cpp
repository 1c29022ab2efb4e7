// pp.neighbors timings:
//  1. PBMC 3k: golden X_pca[:, :40], n_neighbors=10, exact search + umap
//     connectivities (Scanpy 1.11: 0.1 s compiled, 4.4 s with numba start-up).
//  2. 100,000 x 50 synthetic clustered points (tests/knn_test_data.hpp),
//     n_neighbors=15: approximate search (NN-descent, parallel and
//     deterministic) + umap connectivities; recall against exact search on
//     2,000 sampled cells. (bench_nn_descent times the index alone, also on
//     neurons10k and on a saved X_pca.)
// Usage: bench_neighbors [shared_dir] [n_points]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_timing.hpp"
#include "../tests/knn_test_data.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/npy.hpp"
#include "scanpp/pp/connectivities.hpp"
#include "scanpp/pp/neighbors.hpp"

using namespace scanpp;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string shared_dir =
      argc > 1 ? argv[1] : std::string(SCANPP_SHARED_DIR);
  const int64_t n_big = argc > 2 ? std::stoll(argv[2]) : 100000;
  std::printf("threads: %d\n", num_threads());

  // 1. PBMC 3k exact.
  const Array pca = io::read_npy(shared_dir + "/golden/pbmc3k/X_pca.npy");
  const Array x40 = knn_test_data::first_cols(pca, 40);
  pp::KnnResult knn;
  double c0 = bench::cpu_now();
  const double t_knn = bench::median_time(5, [&] { knn = pp::knn(x40, 10); }).wall;
  const double c_knn = (bench::cpu_now() - c0) / 5;
  SparseMatrix conn;
  const double t_conn = bench::median_time(5, [&] { conn = pp::umap_connectivities(knn); }).wall;
  pp::NeighborsResult res;
  const double t_all = bench::median_time(5, [&] { res = pp::compute_neighbors(x40, {.n_neighbors = 10}); }).wall;
  std::printf("pbmc3k 2638 x 40, k=10, exact: knn %.4f s, umap connectivities %.4f s, compute_neighbors %.4f s "
              "(median of 5 wall; knn CPU %.4f s per run; Scanpy 1.11: 0.1 s compiled, 4.4 s cold)\n",
              t_knn, t_conn, t_all, c_knn);

  // 2. Large approximate.
  const Array big = knn_test_data::clustered(n_big, 50, 60, 42);
  auto t0 = std::chrono::steady_clock::now();
  c0 = bench::cpu_now();
  const pp::KnnResult approx = pp::knn(big, 15);
  const double t_approx = seconds_since(t0), c_approx = bench::cpu_now() - c0;
  t0 = std::chrono::steady_clock::now();
  const SparseMatrix big_conn = pp::umap_connectivities(approx);
  const double t_big_conn = seconds_since(t0);
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < n_big; i += std::max<int64_t>(1, n_big / 2000)) rows.push_back(i);
  t0 = std::chrono::steady_clock::now();
  const pp::KnnResult exact = pp::knn_exact_rows(big, rows, 15);
  const double t_exact = seconds_since(t0);
  const double recall = pp::knn_recall(approx, exact, rows);
  std::printf("synthetic %lld x 50, k=15, %s: knn %.2f s wall / %.2f s CPU, umap connectivities %.2f s, recall %.4f on %zu cells "
              "(exact search of those cells %.2f s); Scanpy 1.11 neighbors on 95,579 cells: 26.7 s\n",
              static_cast<long long>(n_big), approx.approximate ? "NN-descent" : "exact", t_approx, c_approx, t_big_conn, recall,
              rows.size(), t_exact);
  return recall >= 0.95 ? 0 : 1;
}
