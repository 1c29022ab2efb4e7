// The dense centred operator's product with many columns (pp.pca's final
// scores, randomized PCA's passes): Xc·V against a reference summed in long
// double, for shapes around its tiles (4 rows, groups of 8 columns, 32
// columns a pass), float32 and float64 X, and bit-identical for 1 and 3
// threads.
#include "scanpp/pp/pca_operator.hpp"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <random>
#include <vector>

#include "scanpp/core/array.hpp"
#include "scanpp/core/parallel.hpp"

using namespace scanpp;

namespace {

template <class T>
Array random_matrix(int64_t n, int64_t p, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> d(2.0, 1.5);  // off-centre: the mean matters
  std::vector<T> v(static_cast<size_t>(n * p));
  for (auto& x : v) x = static_cast<T>(d(gen));
  return Array::from_vector(v, {n, p});
}

template <class T>
void check_many_column_products(DType dtype) {
  for (int64_t n : {1, 3, 4, 5, 9, 70})
    for (int64_t p : {1, 7, 33})
      for (int64_t b : {8, 9, 31, 32, 33, 50, 65}) {
        const Array X = random_matrix<T>(n, p, static_cast<unsigned>(n * 1000 + p * 10 + b));
        ASSERT_EQ(X.dtype(), dtype);
        const auto A = pp::pca_detail::make_dense_operator(X, true);
        std::mt19937 gen(static_cast<unsigned>(b));
        std::uniform_real_distribution<double> u(-1, 1);
        Eigen::MatrixXd V(p, b);
        for (Eigen::Index i = 0; i < V.size(); ++i) V.data()[i] = u(gen);
        const Eigen::MatrixXd got = A->mul(V);
        ASSERT_EQ(got.rows(), n);
        ASSERT_EQ(got.cols(), b);
        const auto x = X.as<T>();
        double worst = 0;
        for (int64_t r = 0; r < n; ++r)
          for (int64_t c = 0; c < b; ++c) {
            long double ref = 0, scale = 0;
            for (int64_t j = 0; j < p; ++j) {
              const long double xc = static_cast<long double>(x[static_cast<size_t>(r * p + j)]) - A->mean()[j];
              ref += xc * V(j, c);
              // The product is X·V - μᵀ·V: its rounding scales with those terms.
              scale += std::fabs(static_cast<double>(x[static_cast<size_t>(r * p + j)]) * V(j, c)) +
                       std::fabs(A->mean()[j] * V(j, c));
            }
            worst = std::max(worst, static_cast<double>(std::fabs(got(r, c) - ref) / (scale + 1e-300)));
          }
        EXPECT_LT(worst, 1e-14) << "n=" << n << " p=" << p << " b=" << b;
        const int before = num_threads();
        set_num_threads(3);
        const Eigen::MatrixXd three = A->mul(V);
        set_num_threads(1);
        const Eigen::MatrixXd one = A->mul(V);
        set_num_threads(before);
        EXPECT_TRUE(three == one) << "n=" << n << " p=" << p << " b=" << b;
      }
}

}  // namespace

TEST(PcaOperator, ManyColumnProductsMatchLongDoubleFloat32) { check_many_column_products<float>(DType::Float32); }

TEST(PcaOperator, ManyColumnProductsMatchLongDoubleFloat64) { check_many_column_products<double>(DType::Float64); }
