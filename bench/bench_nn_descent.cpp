// NN-descent (pp/nn_descent.hpp) speed and recall against exact search, for
// tuning its defaults: the 50-d projection of neurons10k (all cells against
// the exact kNN) and a clustered synthetic set (2,000 sampled cells).
// Usage: bench_nn_descent [shared_dir] [n_synthetic] [key=value ...]
//   keys: trees, leaf, iters, cand, build_k, k (neighbours incl. self, 16),
//   hnsw=1 (the HNSW index instead), npy=FILE.npy (a cells x dims float32
//   matrix, e.g. X_pca of the 100k pipeline, instead of the clustered set).

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bench_timing.hpp"
#include "../tests/knn_test_data.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/npy.hpp"
#include "scanpp/pp/knn.hpp"

using namespace scanpp;

namespace {


void measure(const char* name, const Array& x, int k, const pp::KnnOptions& opt, const pp::KnnResult& exact,
             const std::vector<int64_t>& rows) {
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = bench::cpu_now();
  const pp::KnnResult a = pp::knn_approx(x, k, opt);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%-28s n=%lld d=%lld k=%d: %.3f s wall, %.3f s CPU, recall %.4f\n", name,
              static_cast<long long>(x.shape()[0]), static_cast<long long>(x.shape()[1]), k, wall, bench::cpu_now() - c0,
              pp::knn_recall(a, exact, rows));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string shared_dir =
      argc > 1 ? argv[1] : std::string(SCANPP_SHARED_DIR);
  int64_t n_big = argc > 2 ? std::stoll(argv[2]) : 100000;
  std::map<std::string, int> kv;
  std::string npy;
  for (int a = 3; a < argc; ++a) {
    const std::string s = argv[a];
    const auto eq = s.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "expected key=value, got %s\n", s.c_str());
      return 2;
    }
    if (s.substr(0, eq) == "npy") npy = s.substr(eq + 1);
    else kv[s.substr(0, eq)] = std::stoi(s.substr(eq + 1));
  }
  const int k = kv.count("k") ? kv["k"] : 16;
  pp::KnnOptions opt;
  opt.nndescent.n_trees = kv["trees"];
  opt.nndescent.leaf_size = kv["leaf"];
  opt.nndescent.n_iters = kv["iters"];
  opt.nndescent.max_candidates = kv["cand"];
  opt.nndescent.build_k = kv["build_k"];
  if (kv["hnsw"]) opt.approx_index = pp::ApproxIndex::Hnsw;
  std::printf("threads: %d\n", num_threads());

  const Array neurons = knn_test_data::neurons10k_projection(shared_dir + "/data/neurons10k/matrix.mtx", 50);
  const pp::KnnResult exact_n = pp::knn_exact(neurons, k);
  measure("neurons10k projection", neurons, k, opt, exact_n, {});

  const Array big = npy.empty() ? knn_test_data::clustered(n_big, 50, 60, 42) : io::read_npy(npy);
  n_big = big.shape()[0];
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < n_big; i += std::max<int64_t>(1, n_big / 2000)) rows.push_back(i);
  const pp::KnnResult exact_b = pp::knn_exact_rows(big, rows, k);
  measure(npy.empty() ? "synthetic clusters" : npy.c_str(), big, k, opt, exact_b, rows);
  return 0;
}
