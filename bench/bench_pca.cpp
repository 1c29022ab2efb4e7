// Times pp.pca: the golden scaled PBMC 3k matrix (2,638 x 1,838 float32;
// Scanpy 1.11.5 takes 0.33 s with ARPACK) and a synthetic sparse
// log-normalised-looking matrix (default 100,000 x 2,000).
//
//   bench_pca [--reps N] [--cells N] [--genes N] [--threads N] [--skip-sparse]
// Prints the median wall time of each case in seconds.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_timing.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/core/sparse.hpp"
#include "scanpp/io/npy.hpp"
#include "scanpp/pp/pca.hpp"
#include "scanpp/pp/pca_lanczos.hpp"
#include "scanpp/pp/pca_operator.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double last_cpu = 0;  // median CPU seconds (all threads) of the last median_seconds call

// Median wall seconds; the median CPU time goes to last_cpu (on a loaded
// machine the CPU time is the steadier figure).
template <class F>
double median_seconds(int reps, F&& f) {
  const scanpp::bench::Timing t = scanpp::bench::median_time(reps, f);
  last_cpu = t.cpu;
  return t.wall;
}

uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
double unif(uint64_t a, uint64_t b) { return (static_cast<double>(mix(mix(a) ^ b) >> 11) + 0.5) * 0x1.0p-53; }

// Cells in 12 types; each gene has a base detection rate and a few types in
// which it is up-regulated. Values are log1p(count / total * 1e4), as after
// normalize_total + log1p.
scanpp::SparseMatrix synthetic(int64_t n, int64_t p) {
  std::vector<double> rate(static_cast<size_t>(p)), lam(static_cast<size_t>(p));
  for (int64_t g = 0; g < p; ++g) {
    rate[static_cast<size_t>(g)] = 0.02 + 0.25 * unif(1, static_cast<uint64_t>(g));
    lam[static_cast<size_t>(g)] = 0.5 + 3.0 * unif(2, static_cast<uint64_t>(g));
  }
  scanpp::SparseMatrix m;
  m.n_rows = n;
  m.n_cols = p;
  std::vector<float> data;
  m.indptr.assign(1, 0);
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t type = mix(static_cast<uint64_t>(i)) % 12;
    const size_t row_begin = data.size();
    double total = 0;
    for (int64_t g = 0; g < p; ++g) {
      const bool up = mix(static_cast<uint64_t>(g) * 31 + type) % 8 == 0;
      const double r = std::min(0.95, rate[static_cast<size_t>(g)] * (up ? 3.0 : 1.0));
      const uint64_t key = static_cast<uint64_t>(i) * static_cast<uint64_t>(p) + static_cast<uint64_t>(g);
      if (unif(3, key) >= r) continue;
      const double c = 1.0 + std::floor(-std::log(unif(4, key)) * lam[static_cast<size_t>(g)] * (up ? 2.0 : 1.0));
      data.push_back(static_cast<float>(c));
      m.indices.push_back(static_cast<int32_t>(g));
      total += c;
    }
    for (size_t k = row_begin; k < data.size(); ++k)
      data[k] = static_cast<float>(std::log1p(data[k] / std::max(total, 1.0) * 1e4));
    m.indptr.push_back(static_cast<int64_t>(m.indices.size()));
  }
  m.data = scanpp::Array::from_vector(data);
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 5, threads = 0;
  int64_t cells = 100000, genes = 2000;
  bool skip_sparse = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::atoll(argv[++i]) : 0LL; };
    if (a == "--reps") reps = static_cast<int>(next());
    else if (a == "--cells") cells = next();
    else if (a == "--genes") genes = next();
    else if (a == "--threads") threads = static_cast<int>(next());
    else if (a == "--skip-sparse") skip_sparse = true;
  }
  if (threads > 0) scanpp::set_num_threads(threads);
  std::printf("threads: %d\n", scanpp::num_threads());

  namespace fs = std::filesystem;
  const fs::path golden = fs::path(SCANPP_SHARED_DIR) / "golden/pbmc3k/X_scaled.npy";
  const scanpp::Array X = scanpp::io::read_npy(golden.string());
  scanpp::pp::PcaResult r;
  const double t_arpack = median_seconds(reps, [&] { r = scanpp::pp::pca(X, {}); });
  std::printf("pbmc3k scaled %lld x %lld, arpack, 50 comps: median %.4f s wall, %.4f s CPU (%lld operator calls; Scanpy 0.33 s)\n",
              static_cast<long long>(X.rows()), static_cast<long long>(X.cols()), t_arpack, last_cpu,
              static_cast<long long>(r.n_operations));
  // The exact route's parts: the centred operator, forming and packing the
  // scatter matrix, the Lanczos run on it (from a fixed start vector, not
  // pp.pca's seeded one, so its product count may differ by a few).
  {
    std::unique_ptr<scanpp::pp::pca_detail::CenteredOperator> A;
    const double t_op = median_seconds(reps, [&] { A = scanpp::pp::pca_detail::make_dense_operator(X, true); });
    std::optional<scanpp::pp::pca_detail::PackedScatter> S;
    const double t_s = median_seconds(reps, [&] { S.emplace(A->packed_scatter_f32()); });
    const double c_s = last_cpu;
    std::vector<double> v0(static_cast<size_t>(S->size()));
    for (size_t i = 0; i < v0.size(); ++i) v0[i] = std::sin(0.37 * static_cast<double>(i) + 1.0);
    scanpp::pp::pca_detail::ScatterEigs e;
    const double t_l = median_seconds(reps, [&] { e = scanpp::pp::pca_detail::packed_scatter_eigs(*S, 50, 101, v0.data(), 1e-10); });
    std::printf("  parts: operator %.4f s; scatter matrix %.4f s wall, %.4f s CPU; Lanczos %.4f s wall, %.4f s CPU (%lld products)\n",
                t_op, t_s, c_s, t_l, last_cpu, static_cast<long long>(e.products));
  }
  const double t_rand = median_seconds(
      reps, [&] { r = scanpp::pp::pca(X, {.svd_solver = scanpp::pp::PcaSolver::Randomized}); });
  std::printf("pbmc3k scaled, randomized, 50 comps: median %.4f s wall, %.4f s CPU\n", t_rand, last_cpu);

  if (!skip_sparse) {
    const auto a = Clock::now();
    const scanpp::SparseMatrix S = synthetic(cells, genes);
    std::printf("synthetic sparse %lld x %lld, nnz %lld (%.1f%%), generated in %.1f s\n",
                static_cast<long long>(cells), static_cast<long long>(genes), static_cast<long long>(S.nnz()),
                100.0 * static_cast<double>(S.nnz()) / static_cast<double>(cells * genes),
                std::chrono::duration<double>(Clock::now() - a).count());
    const int sreps = std::max(1, reps / 2);
    const double t_sparse = median_seconds(sreps, [&] { r = scanpp::pp::pca(S, {}); });
    std::printf("synthetic sparse, arpack (implicit centring), 50 comps: median %.3f s wall, %.3f s CPU (%lld operator calls)\n",
                t_sparse, last_cpu, static_cast<long long>(r.n_operations));
    const double t_srand = median_seconds(
        sreps, [&] { r = scanpp::pp::pca(S, {.svd_solver = scanpp::pp::PcaSolver::Randomized}); });
    std::printf("synthetic sparse, randomized, 50 comps: median %.3f s wall, %.3f s CPU\n", t_srand, last_cpu);
  }
  return 0;
}
