// Median wall time of read_10x_mtx on a Cell Ranger folder.
//   bench_read_10x_mtx <folder> [repeats=10]
// e.g. bench_read_10x_mtx ../shared/data/pbmc3k/filtered_gene_bc_matrices/hg19
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "scanpp/core/parallel.hpp"
#include "scanpp/io/read_10x_mtx.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <10x mtx folder> [repeats=10]\n", argv[0]);
    return 2;
  }
  const int repeats = argc > 2 ? std::max(1, std::atoi(argv[2])) : 10;
  try {
    std::vector<double> secs;
    int64_t n_obs = 0, n_vars = 0, nnz = 0;
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      const scanpp::AnnData a = scanpp::io::read_10x_mtx(argv[1]);
      const auto t1 = std::chrono::steady_clock::now();
      secs.push_back(std::chrono::duration<double>(t1 - t0).count());
      n_obs = a.n_obs();
      n_vars = a.n_vars();
      nnz = a.X_sparse().nnz();
    }
    std::sort(secs.begin(), secs.end());
    const size_t n = secs.size();
    const double median = n % 2 ? secs[n / 2] : 0.5 * (secs[n / 2 - 1] + secs[n / 2]);
    std::printf("read_10x_mtx %s: %lld x %lld, nnz %lld, threads %d\n", argv[1], static_cast<long long>(n_obs),
                static_cast<long long>(n_vars), static_cast<long long>(nnz), scanpp::num_threads());
    std::printf("median %.4f s over %d runs (min %.4f, max %.4f)\n", median, repeats, secs.front(), secs.back());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  return 0;
}
