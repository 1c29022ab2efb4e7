// regress_out: Scanpy's closed form, least-squares fallback and categorical path,
// and the PBMC 3k golden (regress_out then scale(max_value=10) == X_scaled.npy).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <unordered_map>

#include "golden_support.hpp"
#include "regress_support.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/hdf5.hpp"
#include "scanpp/pp/regress_out.hpp"
#include "scanpp/pp/scale.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using scanpp::testing::shared;

namespace {

using regress_support::Pbmc;
using regress_support::pbmc;

AnnData pbmc_adata() {
  const Pbmc& p = pbmc();
  AnnData ad{Element(p.X)};
  ad.var.set_index(p.genes);
  ad.obs.set_array("total_counts", p.total_counts);
  ad.obs.set_array("pct_counts_mt", p.pct_counts_mt);
  return ad;
}

std::vector<double> as_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// 6 cells x 4 genes; gene 2 is constant. Expected values computed with numpy
// exactly as Scanpy 1.11 does (see the report of this module).
Array small_x() {
  return Array::from_vector(std::vector<float>{1.5f, 0, 2, 0.25f, 3, 0, 2, 7, 0, 1, 2, 0,
                                               4, 0, 2, 1, 2, 5.5f, 2, 3, 0.5f, 0, 2, -2},
                            {6, 4});
}

}  // namespace

TEST(RegressOutGolden, Pbmc3kRegressOutThenScaleMatchesXScaled) {
  AnnData ad = pbmc_adata();
  pp::regress_out(ad, {"total_counts", "pct_counts_mt"});
  ASSERT_TRUE(ad.X->is<Array>());
  EXPECT_EQ(ad.X_dense().dtype(), DType::Float32);  // Scanpy's float32 fast path keeps the dtype
  pp::scale(ad, {.max_value = 10.0});

  ASSERT_EQ(ad.X_dense().shape(), (std::vector<int64_t>{2638, 1838}));
  const golden::XScaledDeviation dev = golden::x_scaled_deviation(ad.X_dense().as<float>());
  ASSERT_EQ(dev.size, 2638 * 1838);
  std::cout << "[ pbmc3k ] X_scaled max |dev| = " << dev.max_abs << ", bit-identical entries " << dev.exact << " of "
            << dev.size << "\n";
  EXPECT_LE(dev.max_abs, 1e-4);
  // Same operations in the same order as Scanpy: practically every entry is the same float.
  EXPECT_GE(static_cast<double>(dev.exact), 0.999 * static_cast<double>(dev.size));

  // var['mean'] / var['std'] against the golden file's columns and numpy's numbers.
  const std::string file = shared("golden/pbmc3k/pbmc3k_scanpy.h5ad");
  h5::Handle f = h5::open_file(file);
  const h5::Loc root{file, "/"};
  const auto gmean = h5::read_array(h5::open_dataset(f, "var/mean", root), root).to_vector<double>();
  const auto gstd = h5::read_array(h5::open_dataset(f, "var/std", root), root).to_vector<double>();
  const auto mean = ad.var.numeric("mean");
  const auto sd = ad.var.numeric("std");
  double dm = 0, ds = 0;
  for (size_t k = 0; k < gmean.size(); ++k) {
    dm = std::max(dm, std::abs(mean[k] - gmean[k]));
    ds = std::max(ds, std::abs(sd[k] - gstd[k]));
  }
  std::cout << "[ pbmc3k ] var mean max |dev| = " << dm << ", var std max |dev| = " << ds << "\n";
  EXPECT_LE(dm, 1e-8);
  EXPECT_LE(ds, 1e-7);
  // numpy (float64) on the same pipeline: TNFRSF4, CPSF3L, LRIG2, PRMT2.
  EXPECT_NEAR(sd[0], 0.4244808697868483, 1e-7);
  EXPECT_NEAR(sd[1], 0.4604161650929502, 1e-7);
  EXPECT_NEAR(sd[100], 0.18443580416660088, 1e-7);
  EXPECT_NEAR(sd[1837], 0.7627529039031106, 1e-7);
  // The intercept is regressed out too: residual means are ~0 (numpy: -3.4e-10 for TNFRSF4).
  for (double m : mean) EXPECT_LT(std::abs(m), 1e-7);
}

TEST(RegressOut, ClosedFormMatchesNumpyAndKeepsFloat32) {
  const std::vector<std::vector<double>> cov = {{10, 20, 15, 30, 25, 12}, {0.1, 0.5, 0.2, 0.9, 0.4, 0.3}};
  auto r = pp::regress_out_continuous(small_x(), cov);
  EXPECT_EQ(r.path, pp::RegressOutPath::ClosedForm);
  ASSERT_EQ(r.X.dtype(), DType::Float32);
  const std::vector<double> expect = {1.0492883920669556,   -0.482340544462204,  0, 0.08460727334022522,
                                      0.7443331480026245,   -0.3964153826236725, 0, 5.451502323150635,
                                      -0.9638903737068176,  -0.886794924736023,  0, -1.2374802827835083,
                                      -0.06062203645706177, -0.3104902505874634, 0, -1.9316024780273438,
                                      0.009752240031957626, 0.8042962551116943,  0, -0.3816552460193634,
                                      -0.7788613438606262,  1.2717448472976685,  0, -1.9853715896606445};
  const auto x = r.X.as<float>();
  for (size_t k = 0; k < expect.size(); ++k) EXPECT_NEAR(x[k], expect[k], 2e-6) << k;
}

TEST(RegressOut, CategoricalRegressesOnCategoryMeans) {
  const std::vector<int32_t> codes = {0, 1, 0, 2, 1, 2};
  auto r = pp::regress_out_categorical(small_x(), codes, 3);
  EXPECT_EQ(r.path, pp::RegressOutPath::Categorical);
  ASSERT_EQ(r.X.dtype(), DType::Float64);
  // numpy + lstsq on [1, per-category float32 mean]; the constant gene 2 is returned unchanged.
  const std::vector<double> expect = {0.75, -0.5, 2, 0.125, 0.5,  -2.75, 2, 2,  -0.75, 0.5, 2, -0.125,
                                      1.75, 0,    2, 1.5,   -0.5, 2.75,  2, -2, -1.75, 0,   2, -1.5};
  const auto x = r.X.as<double>();
  for (size_t k = 0; k < expect.size(); ++k) EXPECT_NEAR(x[k], expect[k], 1e-12) << k;
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(x[static_cast<size_t>(i * 4 + 2)], 2.0);
}

TEST(RegressOut, CategoricalKeyViaAnnData) {
  AnnData ad{Element(small_x())};
  ad.obs.set("group", Categorical::from_strings({"a", "b", "a", "c", "b", "c"}));
  pp::regress_out(ad, {"group"});
  ASSERT_EQ(ad.X_dense().dtype(), DType::Float64);
  EXPECT_NEAR(ad.X_dense().as<double>()[0], 0.75, 1e-12);
  EXPECT_NEAR(ad.X_dense().as<double>()[5], -2.75, 1e-12);
}

TEST(RegressOut, SingularDesignFallsBackToLeastSquares) {
  // The second covariate duplicates the first: RᵀR is singular; the projection is
  // the same as with the covariate once (closed form), now in float64.
  const std::vector<double> c = {10, 20, 15, 30, 25, 12};
  auto ls = pp::regress_out_continuous(small_x(), {c, c});
  auto cf = pp::regress_out_continuous(small_x().astype(DType::Float64), {c});
  EXPECT_EQ(ls.path, pp::RegressOutPath::LeastSquares);
  EXPECT_EQ(cf.path, pp::RegressOutPath::ClosedForm);
  ASSERT_EQ(ls.X.dtype(), DType::Float64);
  const auto a = ls.X.as<double>();
  const auto b = cf.X.as<double>();
  for (size_t k = 0; k < a.size(); ++k) {
    if (k % 4 == 2) EXPECT_EQ(a[k], 2.0);  // constant gene returned unchanged on this path
    else EXPECT_NEAR(a[k], b[k], 1e-10) << k;
  }
}

TEST(RegressOut, SparseIsDensifiedAndIntegersBecomeFloat32) {
  const std::vector<double> c = {10, 20, 15, 30, 25, 12};
  const Array xi = Array::from_vector(std::vector<int32_t>{1, 0, 3, 0, 0, 2, 4, 0, 2, 5, 0, 1}, {6, 2});
  auto dense = pp::regress_out_continuous(xi, {c});
  EXPECT_EQ(dense.X.dtype(), DType::Float32);
  auto sparse = pp::regress_out_continuous(dense_to_csr(xi.astype(DType::Float32)), {c});
  EXPECT_EQ(sparse.X, dense.X);

  AnnData ad{Element(dense_to_csr(xi.astype(DType::Float32)))};
  ad.obs.set_array("c", c);
  ::testing::internal::CaptureStderr();
  pp::regress_out(ad, {"c"});
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("densified"), std::string::npos);
  ASSERT_TRUE(ad.X->is<Array>());
  EXPECT_EQ(ad.X_dense(), dense.X);
}

TEST(RegressOut, LayerIsRegressedAndXUntouched) {
  AnnData ad{Element(small_x())};
  ad.layers["counts"] = small_x();
  ad.obs.set_array("c", std::vector<double>{10, 20, 15, 30, 25, 12});
  pp::regress_out(ad, {"c"}, {.layer = "counts"});
  EXPECT_EQ(ad.X_dense(), small_x());
  EXPECT_NE(ad.layers["counts"].get<Array>(), small_x());
}

TEST(RegressOut, BadKeysAreReportedAndLeaveXIntact) {
  AnnData ad{Element(small_x())};
  ad.obs.set("group", Categorical::from_strings({"a", "b", "a", "c", "b", "c"}));
  ad.obs.set("name", std::vector<std::string>{"a", "b", "c", "d", "e", "f"});
  ad.obs.set_array("c", std::vector<double>{10, 20, 15, 30, 25, 12});
  ad.obs.set_array("bad", std::vector<double>{10, NAN, 15, 30, 25, 12});
  EXPECT_THROW(pp::regress_out(ad, {"missing"}), KeyError);
  EXPECT_THROW(pp::regress_out(ad, {"group", "c"}), ValueError);
  EXPECT_THROW(pp::regress_out(ad, {"c", "name"}), ValueError);
  EXPECT_THROW(pp::regress_out(ad, {"bad"}), ValueError);
  EXPECT_THROW(pp::regress_out(ad, {}), ValueError);
  EXPECT_THROW(pp::regress_out(ad, {"c"}, {.layer = "nope"}), KeyError);
  EXPECT_EQ(ad.X_dense(), small_x());
  EXPECT_THROW(pp::regress_out_categorical(small_x(), std::vector<int32_t>{0, 1, 0, 5, 1, 2}, 3), ValueError);
  EXPECT_THROW(pp::regress_out_continuous(small_x(), {{1.0, 2.0}}), ValueError);
}

TEST(RegressOut, OneAndTwoThreadsAreBitIdentical) {
  const Pbmc& p = pbmc();
  const std::vector<std::vector<double>> cov = {as_double(p.total_counts), as_double(p.pct_counts_mt)};
  const std::vector<int32_t> codes = [&] {
    std::vector<int32_t> c(p.total_counts.size());
    for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<int32_t>(i % 3);
    return c;
  }();
  const int before = num_threads();
  set_num_threads(1);
  auto a = pp::regress_out_continuous(p.X, cov);
  auto ac = pp::regress_out_categorical(p.X, codes, 3);
  set_num_threads(2);
  auto b = pp::regress_out_continuous(p.X, cov);
  auto bc = pp::regress_out_categorical(p.X, codes, 3);
  set_num_threads(before);
  EXPECT_EQ(a.X, b.X);
  EXPECT_EQ(ac.X, bc.X);
}

TEST(RegressOut, EmptyMatricesPassThrough) {
  auto a = pp::regress_out_continuous(Array(DType::Float32, {0, 3}), {std::vector<double>{}});
  EXPECT_EQ(a.X.shape(), (std::vector<int64_t>{0, 3}));
  auto b = pp::regress_out_categorical(Array(DType::Float32, {2, 0}), std::vector<int32_t>{0, 1}, 2);
  EXPECT_EQ(b.X.shape(), (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(b.X.dtype(), DType::Float64);
}
