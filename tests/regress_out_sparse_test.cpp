// regress_out on sparse input: float CSR with sorted unique indices takes the
// one-pass path (RᵀX from the stored values, rows expanded as they are
// written); everything else is densified first. Both must give exactly the
// dense path's numbers, and with them Scanpy's X_scaled.npy.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "golden_support.hpp"
#include "regress_support.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pp/regress_out.hpp"
#include "scanpp/pp/scale.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using regress_support::pbmc;

namespace {

std::vector<std::vector<double>> pbmc_covariates() {
  const auto& p = pbmc();
  return {std::vector<double>(p.total_counts.begin(), p.total_counts.end()),
          std::vector<double>(p.pct_counts_mt.begin(), p.pct_counts_mt.end())};
}

// n x p with ~60 % zeros and a few negative values, in dtype T.
template <class T>
Array random_matrix(int64_t n, int64_t p, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<T> v(static_cast<size_t>(n * p));
  for (auto& x : v) x = u(gen) < 0.6 ? T(0) : static_cast<T>(std::log1p(20.0 * u(gen)) - 0.3);
  return Array::from_vector(v, {n, p});
}

std::vector<std::vector<double>> random_covariates(int64_t n, int count, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<std::vector<double>> c(static_cast<size_t>(count), std::vector<double>(static_cast<size_t>(n)));
  for (auto& col : c)
    for (auto& x : col) x = 1000.0 * u(gen);
  return c;
}

}  // namespace

TEST(RegressOutSparse, Pbmc3kOnePassEqualsDenseAndScanpy) {
  const auto& p = pbmc();
  const auto cov = pbmc_covariates();
  const SparseMatrix csr = dense_to_csr(p.X);
  const auto dense = pp::regress_out_continuous(p.X, cov);
  const int before = num_threads();
  set_num_threads(1);
  const auto one = pp::regress_out_continuous(csr, cov);
  set_num_threads(2);
  const auto two = pp::regress_out_continuous(csr, cov);
  set_num_threads(before);
  EXPECT_EQ(one.path, pp::RegressOutPath::ClosedForm);
  ASSERT_EQ(one.X.dtype(), DType::Float32);
  EXPECT_TRUE(one.X == dense.X);
  EXPECT_TRUE(two.X == dense.X);

  Array x = one.X;
  pp::scale(x, {.max_value = 10.0});
  const golden::XScaledDeviation dev = golden::x_scaled_deviation(x.as<float>());
  ASSERT_EQ(static_cast<size_t>(dev.size), x.as<float>().size());
  std::cout << "[ pbmc3k sparse ] X_scaled max |dev| = " << dev.max_abs << ", bit-identical entries " << dev.exact
            << " of " << dev.size << "\n";
  EXPECT_LE(dev.max_abs, 1e-4);
  EXPECT_GE(static_cast<double>(dev.exact), 0.999 * static_cast<double>(dev.size));
}

TEST(RegressOutSparse, EveryCovariateCountAndFloat64MatchDense) {
  // 1 to 5 covariates: the unrolled kernels (k = 2..4) and the generic one.
  for (int count = 1; count <= 5; ++count) {
    const Array x32 = random_matrix<float>(300, 517, 11u + static_cast<unsigned>(count));
    const auto cov = random_covariates(300, count, 7u * static_cast<unsigned>(count));
    const auto d32 = pp::regress_out_continuous(x32, cov);
    const auto s32 = pp::regress_out_continuous(dense_to_csr(x32), cov);
    EXPECT_TRUE(s32.X == d32.X) << count << " covariates, float32";
    const Array x64 = random_matrix<double>(300, 517, 23u + static_cast<unsigned>(count));
    const auto d64 = pp::regress_out_continuous(x64, cov);
    const auto s64 = pp::regress_out_continuous(dense_to_csr(x64), cov);
    ASSERT_EQ(s64.X.dtype(), DType::Float64);
    EXPECT_TRUE(s64.X == d64.X) << count << " covariates, float64";
  }
}

TEST(RegressOutSparse, UnsortedDuplicatedCscAndSingularGoThroughDense) {
  const Array x = random_matrix<float>(40, 30, 5u);
  const auto cov = random_covariates(40, 2, 9u);
  const auto expect = pp::regress_out_continuous(x, cov);
  SparseMatrix csr = dense_to_csr(x);
  // Reverse the indices of every row: unsorted, same matrix.
  SparseMatrix rev = csr;
  for (int64_t i = 0; i < rev.n_rows; ++i) {
    const auto a = static_cast<size_t>(rev.indptr[static_cast<size_t>(i)]);
    const auto b = static_cast<size_t>(rev.indptr[static_cast<size_t>(i) + 1]);
    std::reverse(rev.indices.begin() + static_cast<std::ptrdiff_t>(a), rev.indices.begin() + static_cast<std::ptrdiff_t>(b));
    auto v = rev.data.as<float>();
    std::reverse(v.begin() + static_cast<std::ptrdiff_t>(a), v.begin() + static_cast<std::ptrdiff_t>(b));
  }
  EXPECT_TRUE(pp::regress_out_continuous(rev, cov).X == expect.X);
  EXPECT_TRUE(pp::regress_out_continuous(convert_format(csr, SparseFormat::CSC), cov).X == expect.X);
  // A duplicated entry: to_dense keeps the last value, and so must the result.
  SparseMatrix dup;
  dup.n_rows = 3;
  dup.n_cols = 2;
  dup.indptr = {0, 2, 3, 4};
  dup.indices = {1, 1, 0, 1};
  dup.data = Array::from_vector(std::vector<float>{5.f, 2.f, 1.f, 3.f});
  const std::vector<std::vector<double>> c3 = {{1.0, 4.0, 2.0}};
  EXPECT_TRUE(pp::regress_out_continuous(dup, c3).X == pp::regress_out_continuous(to_dense(dup), c3).X);
  // Two identical covariates: singular design, least squares on the dense matrix.
  const std::vector<std::vector<double>> twice = {cov[0], cov[0]};
  const auto ls = pp::regress_out_continuous(csr, twice);
  EXPECT_EQ(ls.path, pp::RegressOutPath::LeastSquares);
  EXPECT_TRUE(ls.X == pp::regress_out_continuous(x, twice).X);
}

TEST(RegressOutSparse, AnnDataWithSparseXSaysSoAndMatchesDense) {
  const auto& p = pbmc();
  AnnData ad{Element(dense_to_csr(p.X))};
  ad.obs.set_array("total_counts", p.total_counts);
  ad.obs.set_array("pct_counts_mt", p.pct_counts_mt);
  ::testing::internal::CaptureStderr();
  pp::regress_out(ad, {"total_counts", "pct_counts_mt"});
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("densified"), std::string::npos);
  ASSERT_TRUE(ad.X->is<Array>());
  EXPECT_TRUE(ad.X->get<Array>() == pp::regress_out_continuous(p.X, pbmc_covariates()).X);
}
