// The interpolating loess behind seurat_v3: exact on polynomials it can
// represent, Hermite-interpolated between k-d tree vertices otherwise.
#include <gtest/gtest.h>

#include <cmath>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/loess.hpp"

using namespace scanpp;

TEST(Loess, ReproducesQuadraticsExactly) {
  std::vector<double> x, y;
  for (int i = 0; i < 500; ++i) {
    const double t = std::sin(i * 0.37) * 3.0;  // unsorted, with a spread of values
    x.push_back(t);
    y.push_back(1.5 - 0.25 * t + 0.75 * t * t);
  }
  const auto f = pp::loess_fit(x, y);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(f[i], y[i], 1e-9) << i;
}

TEST(Loess, SmoothsNoiseAndHandlesTies) {
  std::vector<double> x, y;
  for (int i = 0; i < 400; ++i) {
    const double t = (i % 100) / 10.0;  // every x value appears four times
    x.push_back(t);
    y.push_back(std::sin(t) + ((i * 7919) % 13 - 6) * 0.01);
  }
  const auto f = pp::loess_fit(x, y, {.span = 0.3});
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(f[i] - std::sin(x[i])));
  EXPECT_LT(worst, 0.1);  // noise is up to 0.06
  // Equal x give equal fitted values.
  EXPECT_EQ(f[0], f[100]);
}

TEST(Loess, BadInput) {
  EXPECT_THROW(pp::loess_fit({}, {}), ValueError);
  EXPECT_THROW(pp::loess_fit({1, 2}, {1}), ValueError);
  EXPECT_THROW(pp::loess_fit({1, 2, 3}, {1, 2, 3}, {.degree = 3}), ValueError);
  EXPECT_THROW(pp::loess_fit({1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}, {.span = 0.1}), ValueError);
}
