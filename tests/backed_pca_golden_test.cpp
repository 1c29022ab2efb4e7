// Streaming PCA (X stays on disk; every Lanczos product is a pass over the
// row blocks) on the PBMC 3k tutorial's PCA input against the in-memory
// pp.pca and Scanpy's X_pca / variance ratios.
#include <gtest/gtest.h>

#include "backed_support.hpp"
#include "scanpp/pp/backed.hpp"

using namespace scanpp;
using namespace backed_test;
namespace bk = scanpp::pp::backed;

// The tutorial's PCA input (regressed and scaled, dense) streamed in blocks.
TEST(BackedPca, StreamingMatchesInMemoryAndScanpyOnScaledPbmc) {
  const Array& X = x_scaled();
  MatrixRowSource src(X);
  const pp::PcaOptions opt{.svd_solver = pp::PcaSolver::Arpack};
  const pp::PcaResult want = pp::pca(X, opt);
  const pp::PcaResult got = bk::pca(src, {}, opt, {.streaming = true, .blocks = {.block_rows = 500}});
  expect_close_pca(got, want, "streaming vs in-memory");
  // Against Scanpy's X_pca and variance ratios.
  const Array ref = io::read_npy(golden::shared("golden/pbmc3k/X_pca.npy"));
  double min_r = 1;
  for (int64_t c = 0; c < 10; ++c) min_r = std::min(min_r, golden::column_correlation(got.scores, c, ref, c));
  EXPECT_GE(min_r, 0.9999);
  const golden::Csv v = golden::read_csv(golden::shared("golden/pbmc3k/pca_variance.csv"));
  std::vector<double> ratio = golden::as_doubles(got.variance_ratio), gr = v.numeric("variance_ratio");
  ratio.resize(40);
  gr.resize(40);
  EXPECT_LT(golden::max_rel_dev(ratio, gr), 1e-4);
  std::printf("  streaming vs Scanpy: PCs 1-10 min r %.8f, variance_ratio (40) max rel dev %.2e, %lld passes\n", min_r,
              golden::max_rel_dev(ratio, gr), static_cast<long long>(got.n_operations));
}

