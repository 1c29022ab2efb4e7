// The logreg kernel alone on PBMC 3k raw (2,638 x 13,714, 9 Leiden groups):
// L-BFGS iterations, evaluations, time, and each class's largest coefficient
// (rank_genes_groups' top score) against Scanpy's.
//   logreg_bench [max_iter (1000)] [tol (LogregOptions: 5e-5)]      run from /work/main
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/tl/rank_genes_groups_logreg.hpp"

using namespace scanpp;

int main(int argc, char** argv) {
  AnnData a = io::read_h5ad("../shared/golden/pbmc3k/pbmc3k_scanpy.h5ad");
  const auto& cat = std::get<Categorical>(a.obs.at("leiden"));
  const std::vector<int32_t> labels(cat.codes.begin(), cat.codes.end());
  tl::LogregOptions o;
  o.max_iter = argc > 1 ? std::atoi(argv[1]) : 1000;
  if (argc > 2) o.tol = std::atof(argv[2]);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = tl::logistic_regression(*a.raw->X, labels, static_cast<int>(cat.n_categories()), o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%d threads: %d iterations, %d evaluations, converged %d, %.3f s\nlargest coefficient per class:",
              num_threads(), r.iterations, r.evaluations, r.converged ? 1 : 0, s);
  for (int64_t c = 0; c < r.n_rows; ++c)
    std::printf(" %lld:%.4f", static_cast<long long>(c),
                *std::max_element(r.coef.begin() + c * r.n_features, r.coef.begin() + (c + 1) * r.n_features));
  std::printf("\n");
  return 0;
}
