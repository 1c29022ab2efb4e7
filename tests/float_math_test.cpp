// The float32 log1p/expm1 used by pp.log1p and the seurat HVG flavor: the
// correctly rounded result (long double reference) on a sweep over all float
// bit patterns, the special values, and the array versions equal to the
// single-value ones.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "scanpp/pp/detail/float_math.hpp"

using scanpp::pp::detail::expm1_f32;
using scanpp::pp::detail::log1p_f32;

namespace {

bool same(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b)); }

}  // namespace

TEST(FloatMath, CorrectlyRoundedOnASweepOfAllFloats) {
  // Every 1,021st bit pattern: 4.2M floats of both signs and all exponents.
  std::vector<float> xs;
  for (uint64_t b = 0; b < (uint64_t{1} << 32); b += 1021) xs.push_back(std::bit_cast<float>(static_cast<uint32_t>(b)));
  std::vector<float> l = xs, e(xs.size());
  log1p_f32(l.data(), l.size());
  expm1_f32(xs.data(), e.data(), xs.size());
  size_t bad_l = 0, bad_e = 0, glibc_l = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const float x = xs[i];
    const float wl = static_cast<float>(std::log1p(static_cast<long double>(x)));
    const float we = static_cast<float>(std::expm1(static_cast<long double>(x)));
    bad_l += !same(l[i], wl);
    bad_e += !same(e[i], we);
    glibc_l += !same(std::log1p(x), wl);
    ASSERT_TRUE(same(l[i], log1p_f32(x))) << x;  // array and single value agree
    ASSERT_TRUE(same(e[i], expm1_f32(x))) << x;
  }
  std::cout << "[ float_math ] " << xs.size() << " floats: log1p " << bad_l << " and expm1 " << bad_e
            << " differ from the correctly rounded value (glibc's log1pf: " << glibc_l << ")\n";
  EXPECT_EQ(bad_l, 0u);
  EXPECT_EQ(bad_e, 0u);
}

TEST(FloatMath, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(log1p_f32(-1.0f), -inf);
  EXPECT_TRUE(std::isnan(log1p_f32(-2.0f)));
  EXPECT_TRUE(std::isnan(log1p_f32(std::nanf(""))));
  EXPECT_EQ(log1p_f32(inf), inf);
  EXPECT_TRUE(std::signbit(log1p_f32(-0.0f)));
  EXPECT_EQ(log1p_f32(1e-30f), 1e-30f);
  EXPECT_EQ(expm1_f32(inf), inf);
  EXPECT_EQ(expm1_f32(-inf), -1.0f);
  EXPECT_EQ(expm1_f32(100.0f), inf);
  EXPECT_TRUE(std::isnan(expm1_f32(std::nanf(""))));
  EXPECT_EQ(expm1_f32(0.0f), 0.0f);
  // Arrays entirely on one side of |x| = 0.5 take a one-branch loop: same bits.
  for (const float lo : {0.5f, -0.4999f, 7.0f}) {
    std::vector<float> in, out(1000);
    for (int i = 0; i < 1000; ++i) in.push_back(lo + (lo > 0 ? 0.013f : 0.0009f) * static_cast<float>(i));
    expm1_f32(in.data(), out.data(), in.size());
    for (size_t i = 0; i < in.size(); ++i) ASSERT_TRUE(same(out[i], expm1_f32(in[i]))) << in[i];
  }
  // In place on a short array (the vector loop's remainder).
  std::vector<float> v = {0.5f, 1.0f, 3.0f};
  log1p_f32(v.data(), v.size());
  EXPECT_EQ(v[1], static_cast<float>(std::log1p(1.0L)));
}
