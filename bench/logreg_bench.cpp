// The logreg kernel alone on PBMC 3k raw (2,638 x 13,714, 9 Leiden groups):
// L-BFGS iterations, evaluations, time (median of --reps), and the fit
// against Scanpy's full coefficient table (rank_genes_groups_logreg_full):
// per group the top-25 overlap, the top coefficient's relative deviation,
// and the whole coefficient vector's relative L2 deviation.
//   logreg_bench [--max-iter N (1000)] [--tol T (LogregOptions')] [--reps N (1)]
//                [--save FILE] [--compare FILE]                        run from /work/main
// --save writes the coefficients (doubles); --compare reports their largest
// and relative L2 deviation from a saved run's (e.g. float32 vs double passes).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/tl/rank_genes_groups_logreg.hpp"

using namespace scanpp;

namespace {

// Scanpy's coefficient per group and gene name, from the gzip CSV (group,names,scores).
std::map<std::string, std::map<std::string, double>> scanpy_coefficients(const std::string& path) {
  std::map<std::string, std::map<std::string, double>> out;
  FILE* f = popen(("zcat " + path).c_str(), "r");
  if (!f) return out;
  char line[512];
  bool header = true;
  while (std::fgets(line, sizeof line, f)) {
    if (header) {
      header = false;
      continue;
    }
    char* c1 = std::strchr(line, ',');
    if (!c1) continue;
    char* c2 = std::strchr(c1 + 1, ',');
    if (!c2) continue;
    out[std::string(line, c1)][std::string(c1 + 1, c2)] = std::atof(c2 + 1);
  }
  pclose(f);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  tl::LogregOptions o;
  o.max_iter = 1000;
  int reps = 1;
  std::string save, compare;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) {
      std::fprintf(stderr, "option %s needs a value\n", argv[i]);
      return 2;
    }
    const std::string a = argv[i];
    if (a == "--max-iter") o.max_iter = std::atoi(argv[i + 1]);
    else if (a == "--tol") o.tol = std::atof(argv[i + 1]);
    else if (a == "--reps") reps = std::atoi(argv[i + 1]);
    else if (a == "--memory") o.memory = std::atoi(argv[i + 1]);
    else if (a == "--save") save = argv[i + 1];
    else if (a == "--compare") compare = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  AnnData a = io::read_h5ad("../shared/golden/pbmc3k/pbmc3k_scanpy.h5ad");
  const auto& cat = std::get<Categorical>(a.obs.at("leiden"));
  const std::vector<int32_t> labels(cat.codes.begin(), cat.codes.end());
  std::vector<double> secs, cpus;
  tl::LogregResult r;
  for (int rep = 0; rep < reps; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    r = tl::logistic_regression(*a.raw->X, labels, static_cast<int>(cat.n_categories()), o);
    secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    cpus.push_back(static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
  }
  std::sort(secs.begin(), secs.end());
  std::sort(cpus.begin(), cpus.end());
  std::printf("%d threads: %d iterations, %d evaluations, converged %d, %.3f s wall, %.3f s cpu (medians of %d)\n",
              num_threads(), r.iterations, r.evaluations, r.converged ? 1 : 0, secs[secs.size() / 2],
              cpus[cpus.size() / 2], reps);

  const auto gold = scanpy_coefficients("../shared/golden/pbmc3k/rank_genes_groups_logreg_full.csv.gz");
  const auto& genes = a.raw->var.index();
  const int64_t p = r.n_features;
  std::printf("group: top-25 overlap, top coefficient (Scanpy's, rel dev), coefficients' rel L2 dev\n");
  double worst_top = 0, worst_l2 = 0;
  int min_overlap = 25;
  for (int64_t c = 0; c < r.n_rows; ++c) {
    const std::string g = cat.string_categories().at(static_cast<size_t>(c));
    const auto& gc = gold.at(g);
    std::vector<std::pair<double, std::string>> mine, theirs;
    double diff2 = 0, ref2 = 0;
    for (int64_t j = 0; j < p; ++j) {
      const double v = r.coef[c * p + j], s = gc.at(genes[j]);
      mine.emplace_back(-v, genes[j]);
      theirs.emplace_back(-s, genes[j]);
      diff2 += (v - s) * (v - s);
      ref2 += s * s;
    }
    std::partial_sort(mine.begin(), mine.begin() + 25, mine.end());
    std::partial_sort(theirs.begin(), theirs.begin() + 25, theirs.end());
    std::set<std::string> want;
    for (int k = 0; k < 25; ++k) want.insert(theirs[k].second);
    int overlap = 0;
    for (int k = 0; k < 25; ++k) overlap += static_cast<int>(want.count(mine[k].second));
    const double top = -mine[0].first, stop = -theirs[0].first;
    const double top_dev = std::abs(top - stop) / std::abs(stop), l2 = std::sqrt(diff2 / ref2);
    worst_top = std::max(worst_top, top_dev);
    worst_l2 = std::max(worst_l2, l2);
    min_overlap = std::min(min_overlap, overlap);
    std::printf("  %s: %2d  %.4f (%.4f, %.3f)  %.4f\n", g.c_str(), overlap, top, stop, top_dev, l2);
  }
  std::printf("min overlap %d, worst top-coefficient dev %.3f, worst rel L2 dev %.4f\n", min_overlap, worst_top,
              worst_l2);
  if (!save.empty()) {
    FILE* f = std::fopen(save.c_str(), "wb");
    std::fwrite(r.coef.data(), sizeof(double), r.coef.size(), f);
    std::fclose(f);
  }
  if (!compare.empty()) {
    std::vector<double> ref(r.coef.size());
    FILE* f = std::fopen(compare.c_str(), "rb");
    const size_t got = f ? std::fread(ref.data(), sizeof(double), ref.size(), f) : 0;
    if (f) std::fclose(f);
    if (got != ref.size()) {
      std::fprintf(stderr, "cannot read %s\n", compare.c_str());
      return 1;
    }
    double dmax = 0, rmax = 0, d2 = 0, r2 = 0;
    for (size_t e = 0; e < ref.size(); ++e) {
      dmax = std::max(dmax, std::abs(r.coef[e] - ref[e]));
      rmax = std::max(rmax, std::abs(ref[e]));
      d2 += (r.coef[e] - ref[e]) * (r.coef[e] - ref[e]);
      r2 += ref[e] * ref[e];
    }
    std::printf("vs %s: largest deviation %.3g (of largest |coef| %.3g), rel L2 %.3g\n", compare.c_str(), dmax, rmax,
                std::sqrt(d2 / r2));
  }
  return 0;
}
