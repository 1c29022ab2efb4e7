// scale: Scanpy 1.11's statistics (ddof=1, E[x²]−mean², std 0 → 1), centring,
// clipping, masks, sparse handling and thread independence. Expected numbers
// were computed with numpy the way Scanpy does (float32 X, float64 statistics).
// The PBMC 3k golden (regress_out then scale) is in regress_out_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "scanpp/core/parallel.hpp"
#include "scanpp/pp/scale.hpp"

using namespace scanpp;

namespace {

// 6 cells x 4 genes; gene 2 is constant.
Array small_x() {
  return Array::from_vector(std::vector<float>{1.5f, 0, 2, 0.25f, 3, 0, 2, 7, 0, 1, 2, 0,
                                               4, 0, 2, 1, 2, 5.5f, 2, 3, 0.5f, 0, 2, -2},
                            {6, 4});
}

const std::vector<double> kMean = {1.8333333333333333, 1.0833333333333333, 2.0, 1.5416666666666667};
const std::vector<double> kStd = {1.5055453054181622, 2.200378755275252, 1.0, 3.124166555525916};

void expect_float_values(const Array& a, const std::vector<double>& expect) {
  ASSERT_EQ(a.dtype(), DType::Float32);
  const auto x = a.as<float>();
  ASSERT_EQ(x.size(), expect.size());
  // numpy's float32 results, printed exactly: the values must be the same float.
  for (size_t k = 0; k < expect.size(); ++k) EXPECT_EQ(x[k], static_cast<float>(expect[k])) << k;
}

Array random_matrix(int64_t n, int64_t p, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n * p));
  for (auto& x : v) x = u(gen) < 0.6f ? 0.f : std::log1p(20.f * u(gen));
  return Array::from_vector(v, {n, p});
}

}  // namespace

TEST(Scale, ZeroCenterClipMatchesNumpy) {
  Array x = small_x();
  auto r = pp::scale(x, {.max_value = 1.5});
  for (size_t g = 0; g < 4; ++g) {
    EXPECT_DOUBLE_EQ(r.mean[g], kMean[g]);
    EXPECT_NEAR(r.std[g], kStd[g], 1e-15);
  }
  EXPECT_EQ(r.std[2], 1.0);  // constant gene: std 0 replaced by 1
  expect_float_values(x, {-0.22140373289585114, -0.49233949184417725, 0.0, -0.41344359517097473,
                          0.7749130129814148,   -0.49233949184417725, 0.0, 1.5,
                          -1.2177205085754395,  -0.03787226974964142, 0.0, -0.4934649169445038,
                          1.4391242265701294,   -0.49233949184417725, 0.0, -0.173379585146904,
                          0.11070186644792557,  1.5,                  0.0, 0.46679118275642395,
                          -0.8856149315834045,  -0.49233949184417725, 0.0, -1.1336357593536377});
}

TEST(Scale, NoCenterClipsOnlyAboveAndSparseStaysSparse) {
  const std::vector<double> expect = {0.9963167309761047, 0.0, 1.5, 0.08002134412527084, 1.5, 0.0, 1.5, 1.5,
                                      0.0, 0.45446720719337463, 1.5, 0.0, 1.5, 0.0, 1.5, 0.3200853765010834,
                                      1.3284223079681396, 1.5, 1.5, 0.9602560997009277, 0.3321055769920349, 0.0,
                                      1.5, -0.6401707530021667};
  Array x = small_x();
  pp::scale(x, {.zero_center = false, .max_value = 1.5});
  expect_float_values(x, expect);  // -0.64 is kept: no lower clip without centring

  for (auto fmt : {SparseFormat::CSR, SparseFormat::CSC}) {
    Element e = convert_format(dense_to_csr(small_x()), fmt);
    auto r = pp::scale(e, {.zero_center = false, .max_value = 1.5});
    ASSERT_TRUE(e.is<SparseMatrix>());
    EXPECT_EQ(e.get<SparseMatrix>().format, fmt);
    EXPECT_EQ(e.get<SparseMatrix>().dtype(), DType::Float32);
    expect_float_values(to_dense(e.get<SparseMatrix>()), expect);
    for (size_t g = 0; g < 4; ++g) EXPECT_NEAR(r.std[g], kStd[g], 1e-15);
  }
}

TEST(Scale, SparseWithZeroCenterIsDensified) {
  AnnData ad{Element(dense_to_csr(small_x()))};
  ::testing::internal::CaptureStderr();
  pp::scale(ad, {.max_value = 1.5});
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("densified"), std::string::npos);
  ASSERT_TRUE(ad.X->is<Array>());
  Array ref = small_x();
  pp::scale(ref, {.max_value = 1.5});
  EXPECT_EQ(ad.X_dense(), ref);
  EXPECT_EQ(ad.var.numeric("mean"), kMean);
  EXPECT_EQ(ad.var.numeric("std")[2], 1.0);
}

TEST(Scale, MaskObsUsesAndScalesOnlyMaskedCells) {
  const std::vector<bool> mask = {true, false, true, true, false, true};
  const std::vector<double> expect = {0.0, -0.5, 0.0, 0.34156501293182373, 3.0, 0.0, 2.0, 7.0,
                                      -0.8429272174835205, 1.5, 0.0, 0.14638501405715942,
                                      1.4048787355422974, -0.5, 0.0, 0.9271050691604614, 2.0, 5.5, 2.0, 3.0,
                                      -0.5619514584541321, -0.5, 0.0, -1.4150551557540894};
  AnnData ad{Element(small_x())};
  pp::scale(ad, {.mask_obs = mask});
  expect_float_values(ad.X_dense(), expect);
  const std::vector<double> mmean = {1.5, 0.25, 2.0, -0.1875};
  const std::vector<double> mstd = {1.7795130420052185, 0.5, 1.0, 1.2808688457449497};
  const auto m = ad.var.numeric("mean with mask");
  const auto s = ad.var.numeric("std with mask");
  for (size_t g = 0; g < 4; ++g) {
    EXPECT_DOUBLE_EQ(m[g], mmean[g]);
    EXPECT_NEAR(s[g], mstd[g], 1e-15);
  }
  EXPECT_FALSE(ad.var.has("mean"));

  AnnData named{Element(small_x())};
  std::vector<Bool8> flags(mask.begin(), mask.end());
  named.obs.set_array("keep", flags);
  pp::scale(named, {.mask_obs_key = "keep"});
  EXPECT_EQ(named.X_dense(), ad.X_dense());
  EXPECT_TRUE(named.var.has("mean of keep"));
  EXPECT_TRUE(named.var.has("std of keep"));

  // Sparse without centring: masked rows divided, the rest untouched, still sparse.
  Element e = dense_to_csr(small_x());
  pp::scale(e, {.zero_center = false, .mask_obs = mask});
  const Array d = to_dense(e.get<SparseMatrix>());
  const auto dv = d.as<float>();
  const Array orig = small_x();
  const auto xv = orig.as<float>();
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t g = 0; g < 4; ++g) {
      const size_t k = static_cast<size_t>(i * 4 + g);
      if (mask[static_cast<size_t>(i)]) EXPECT_EQ(dv[k], static_cast<float>(xv[k] / mstd[static_cast<size_t>(g)]));
      else EXPECT_EQ(dv[k], xv[k]);
    }
}

TEST(Scale, IntegersBecomeFloat64AndLayersWork) {
  Array xi = Array::from_vector(std::vector<int32_t>{1, 0, 3, 0, 0, 2, 4, 0, 2, 5, 0, 1}, {6, 2});
  auto r = pp::scale(xi);
  EXPECT_EQ(xi.dtype(), DType::Float64);
  // Column 0 = 1,3,0,4,2,0: mean 5/3, sample std sqrt(2.666...) .
  EXPECT_DOUBLE_EQ(r.mean[0], 10.0 / 6.0);
  EXPECT_NEAR(r.std[0], std::sqrt((30.0 / 6.0 - 100.0 / 36.0) * 6.0 / 5.0), 1e-15);

  AnnData ad{Element(small_x())};
  ad.layers["scaled"] = small_x();
  pp::scale(ad, {.layer = "scaled"});
  EXPECT_EQ(ad.X_dense(), small_x());
  Array ref = small_x();
  pp::scale(ref);
  EXPECT_EQ(ad.layers["scaled"].get<Array>(), ref);
}

TEST(Scale, BadArgumentsAreReported) {
  AnnData ad{Element(small_x())};
  EXPECT_THROW(pp::scale(ad, {.mask_obs = std::vector<bool>{true, false}}), ValueError);
  EXPECT_THROW(pp::scale(ad, {.layer = "nope"}), KeyError);
  EXPECT_THROW(pp::scale(ad, {.mask_obs_key = "nope"}), KeyError);
  ad.obsm["X_pca"] = Array(DType::Float32, {6, 2});
  EXPECT_THROW(pp::scale(ad, {.obsm = "X_pca"}), ValueError);
  SparseMatrix s = dense_to_csr(small_x());
  EXPECT_THROW(pp::scale(s, {}), ValueError);  // zero-centring a sparse matrix needs densifying
  EXPECT_EQ(ad.X_dense(), small_x());
}

TEST(Scale, OneAndTwoThreadsAreBitIdentical) {
  const Array x = random_matrix(700, 300, 7);
  const int before = num_threads();
  Array a = x, b = x;
  Element sa = dense_to_csr(x), sb = dense_to_csr(x);
  set_num_threads(1);
  auto ra = pp::scale(a, {.max_value = 3.0});
  pp::scale(sa, {.zero_center = false, .max_value = 3.0});
  set_num_threads(2);
  auto rb = pp::scale(b, {.max_value = 3.0});
  pp::scale(sb, {.zero_center = false, .max_value = 3.0});
  set_num_threads(before);
  EXPECT_EQ(a, b);
  EXPECT_EQ(ra.mean, rb.mean);
  EXPECT_EQ(ra.std, rb.std);
  EXPECT_EQ(sa, sb);
}

namespace {

// Scanpy's scale written as plain loops, cell by cell in order: the blocked,
// vectorised kernels must give these exact bits.
template <class T>
void reference_scale(std::vector<T>& x, int64_t n, int64_t p, const std::vector<bool>& mask, bool zero_center,
                     double max_value, std::vector<double>& mean, std::vector<double>& sd) {
  mean.assign(static_cast<size_t>(p), 0.0);
  sd.assign(static_cast<size_t>(p), 0.0);
  int64_t m = 0;
  for (int64_t i = 0; i < n; ++i) m += mask[static_cast<size_t>(i)];
  for (int64_t g = 0; g < p; ++g) {
    double s = 0, q = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (!mask[static_cast<size_t>(i)]) continue;
      const T v = x[static_cast<size_t>(i * p + g)];
      s += static_cast<double>(v);
      q += static_cast<double>(static_cast<T>(v * v));
    }
    const double mu = s / static_cast<double>(m);
    const double var = (q / static_cast<double>(m) - mu * mu) * (static_cast<double>(m) / static_cast<double>(m - 1));
    double d = std::sqrt(var);
    if (d == 0.0) d = 1.0;
    mean[static_cast<size_t>(g)] = mu;
    sd[static_cast<size_t>(g)] = d;
  }
  for (int64_t i = 0; i < n; ++i) {
    if (!mask[static_cast<size_t>(i)]) continue;
    for (int64_t g = 0; g < p; ++g) {
      T& v = x[static_cast<size_t>(i * p + g)];
      if (zero_center) v = static_cast<T>(static_cast<double>(v) - mean[static_cast<size_t>(g)]);
      v = static_cast<T>(static_cast<double>(v) / sd[static_cast<size_t>(g)]);
      if (static_cast<double>(v) > max_value) v = static_cast<T>(max_value);
      if (zero_center && static_cast<double>(v) < -max_value) v = static_cast<T>(-max_value);
    }
  }
}

template <class T>
void check_against_plain_loops(bool zero_center, bool masked) {
  const int64_t n = 613, p = 1500;  // several gene blocks, rows not a multiple of 4
  const Array x32 = random_matrix(n, p, 21);
  const Array x = x32.astype(dtype_of<T>());
  std::vector<bool> mask(static_cast<size_t>(n), true);
  if (masked)
    for (int64_t i = 0; i < n; ++i) mask[static_cast<size_t>(i)] = i % 5 != 3;
  std::vector<T> expect(x.as<T>().begin(), x.as<T>().end());
  std::vector<double> mean, sd;
  reference_scale(expect, n, p, mask, zero_center, 2.5, mean, sd);
  const int before = num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    Array y = x;
    pp::ScaleOptions opt{.zero_center = zero_center, .max_value = 2.5};
    if (masked) opt.mask_obs = mask;
    const auto r = pp::scale(y, opt);
    EXPECT_EQ(r.mean, mean) << threads << " threads";
    EXPECT_EQ(r.std, sd) << threads << " threads";
    const auto got = y.as<T>();
    size_t differ = 0;
    for (size_t k = 0; k < expect.size(); ++k) differ += std::memcmp(&got[k], &expect[k], sizeof(T)) != 0;
    EXPECT_EQ(differ, 0u) << threads << " threads, zero_center " << zero_center << ", masked " << masked;
  }
  set_num_threads(before);
}

}  // namespace

TEST(Scale, KernelsEqualPlainLoopsWithAnyThreadCount) {
  check_against_plain_loops<float>(true, false);
  check_against_plain_loops<float>(true, true);
  check_against_plain_loops<float>(false, false);
  check_against_plain_loops<double>(true, false);
  check_against_plain_loops<double>(false, true);
}
