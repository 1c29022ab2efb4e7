// PackedScatter (pp.pca's scatter matrix as a float32 upper triangle with a
// halved diagonal): its product against S·v in double for sizes around the
// 16-column padding and the row blocks, bit-identical for 1, 2 and 3 threads,
// and the same product whether v is reused or not (the scratch is reset).
#include "scanpp/pp/pca_packed_scatter.hpp"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <random>
#include <vector>

#include "scanpp/core/parallel.hpp"

using scanpp::pp::pca_detail::PackedScatter;

namespace {

// A random scatter matrix Xᵀ·X (symmetric positive semi-definite).
Eigen::MatrixXd random_scatter(int64_t p, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> d;
  Eigen::MatrixXd X(p + 7, p);
  for (Eigen::Index i = 0; i < X.size(); ++i) X.data()[i] = d(gen);
  return X.transpose() * X;
}

std::vector<double> random_vector(int64_t p, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> v(static_cast<size_t>(p));
  for (auto& x : v) x = u(gen);
  return v;
}

}  // namespace

TEST(PackedScatter, ProductEqualsDoubleProductToFloatPrecision) {
  for (int64_t p : {1, 2, 15, 16, 17, 63, 64, 65, 127, 200, 1031}) {
    const Eigen::MatrixXd S = random_scatter(p, static_cast<unsigned>(p));
    const PackedScatter packed(S);
    ASSERT_EQ(packed.size(), p);
    const std::vector<double> v = random_vector(p, 7);
    std::vector<double> got(static_cast<size_t>(p));
    packed.multiply(v.data(), got.data());
    const Eigen::VectorXd want = S * Eigen::Map<const Eigen::VectorXd>(v.data(), p);
    // Each entry of S is rounded to float32 (relative 2^-24), so an output
    // may deviate by up to ~6e-8 of Σ_j |S_ij v_j|.
    double worst = 0;
    for (int64_t i = 0; i < p; ++i) {
      const double scale = (S.row(i).cwiseAbs() * Eigen::Map<const Eigen::VectorXd>(v.data(), p).cwiseAbs())(0);
      worst = std::max(worst, std::abs(got[static_cast<size_t>(i)] - want[i]) / scale);
    }
    EXPECT_LT(worst, 1.2e-7) << "p = " << p;
  }
}

TEST(PackedScatter, SameBitsForAnyThreadCountAndRepeatedCalls) {
  const int64_t p = 1031;
  const PackedScatter packed(random_scatter(p, 3));
  const std::vector<double> v = random_vector(p, 4), w = random_vector(p, 5);
  const int before = scanpp::num_threads();
  std::vector<double> first(static_cast<size_t>(p)), other(static_cast<size_t>(p)), again(static_cast<size_t>(p));
  scanpp::set_num_threads(1);
  packed.multiply(v.data(), first.data());
  for (int threads : {2, 3}) {
    scanpp::set_num_threads(threads);
    packed.multiply(w.data(), other.data());  // leaves different partial sums in the scratch
    packed.multiply(v.data(), again.data());
    EXPECT_EQ(again, first) << threads << " threads";
  }
  scanpp::set_num_threads(before);
}
