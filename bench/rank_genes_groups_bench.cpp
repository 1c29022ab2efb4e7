// Times tl.rank_genes_groups on an h5ad file: t-test, wilcoxon (and logreg
// with --logreg), against 'rest', on X (or raw.X when present).
//
//   rank_genes_groups_bench FILE.h5ad [--groupby KEY] [--reps N] [--threads N] [--logreg] [--log1p]
//                           [--only METHOD]
//
// FILE: e.g. golden/pbmc3k/pbmc3k_scanpy.h5ad (groupby leiden), or
// `scanpp datasets synthetic --cells 100000 --genes 20000 -o syn.h5ad`
// (groupby cluster; --log1p normalises to 1e4 and log-transforms first, as
// the test expects log data). --only times one method (for profiling).
// Prints median wall and CPU seconds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "bench_timing.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/pp/log1p.hpp"
#include "scanpp/pp/normalize_total.hpp"
#include "scanpp/tl/rank_genes_groups.hpp"

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE.h5ad [--groupby KEY] [--reps N] [--threads N] [--logreg] [--log1p] [--only METHOD]\n", argv[0]);
    return 2;
  }
  std::string path = argv[1], groupby, only;
  int reps = 3, threads = 0;
  bool logreg = false, log1p = false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--groupby" && i + 1 < argc) groupby = argv[++i];
    else if (a == "--reps" && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--logreg") logreg = true;
    else if (a == "--log1p") log1p = true;
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (threads > 0) scanpp::set_num_threads(threads);
  try {
    auto t0 = Clock::now();
    scanpp::AnnData adata = scanpp::io::read_h5ad(path);
    std::printf("read %s: %lld x %lld in %.2f s\n", path.c_str(), static_cast<long long>(adata.n_obs()),
                static_cast<long long>(adata.n_vars()), std::chrono::duration<double>(Clock::now() - t0).count());
    if (groupby.empty()) groupby = adata.obs.has("leiden") ? "leiden" : "cluster";
    if (log1p) {
      scanpp::pp::NormalizeTotalOptions n;
      n.target_sum = 1e4;
      scanpp::pp::normalize_total(adata, n);
      scanpp::pp::log1p(adata);
    }
    std::vector<scanpp::tl::RankGenesMethod> methods{scanpp::tl::RankGenesMethod::TTest,
                                                      scanpp::tl::RankGenesMethod::Wilcoxon};
    if (logreg) methods.push_back(scanpp::tl::RankGenesMethod::Logreg);
    if (!only.empty()) {
      methods = {scanpp::tl::parse_rank_genes_method(only)};
      logreg = false;
    }
    for (auto m : methods) {
      scanpp::tl::RankGenesGroupsOptions o;
      o.groupby = groupby;
      o.method = m;
      if (m == scanpp::tl::RankGenesMethod::Logreg) o.logreg.max_iter = 1000;
      const auto [wall, cpu] = scanpp::bench::median_time(reps, [&] { scanpp::tl::rank_genes_groups(adata, o); });
      std::printf("%-10s threads %d: wall %.3f s, cpu %.3f s (median of %d)\n", scanpp::tl::to_string(m).c_str(),
                  scanpp::num_threads(), wall, cpu, reps);
    }
    if (logreg) {
      // The kernel alone on the same cells, to report the L-BFGS work.
      const auto& cat = std::get<scanpp::Categorical>(adata.obs.at(groupby));
      const scanpp::Element& x = adata.raw && adata.raw->X ? *adata.raw->X : *adata.X;
      scanpp::tl::LogregOptions lo;
      lo.max_iter = 1000;
      const auto t1 = Clock::now();
      const auto r = scanpp::tl::logistic_regression(x, cat.codes, static_cast<int>(cat.n_categories()), lo);
      std::printf("logreg kernel: %d iterations, %d evaluations, converged %d, %.3f s\n", r.iterations,
                  r.evaluations, r.converged ? 1 : 0, std::chrono::duration<double>(Clock::now() - t1).count());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
