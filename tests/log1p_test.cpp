// log1p: values, bases, dtypes, the uns entry and the warnings.
#include <gtest/gtest.h>

#include <cmath>

#include "golden_support.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pp/log1p.hpp"

using namespace scanpp;

TEST(Log1p, ValuesDtypesAndUns) {
  SparseMatrix s = dense_to_csr(Array::from_vector(std::vector<float>{0, 1, 3, 0}, {2, 2}));
  AnnData a{Element(s)};
  pp::log1p(a);
  const auto d = a.X_sparse().data.as<float>();
  ASSERT_EQ(d.size(), 2u);  // zeros stay implicit
  EXPECT_EQ(d[0], std::log1p(1.0f));
  EXPECT_EQ(d[1], std::log1p(3.0f));
  ASSERT_TRUE(a.uns.at("log1p").is<Dict>());
  EXPECT_TRUE(a.uns.at("log1p").get<Dict>().empty());  // base None is not stored
  // Base 2 on integer data: float64 log2(1 + x).
  Array x = Array::from_vector(std::vector<int64_t>{0, 1, 3, 7}, {2, 2});
  AnnData b{Element(x)};
  pp::log1p(b, {.base = 2.0});
  ASSERT_EQ(b.X_dense().dtype(), DType::Float64);
  const std::vector<double> v = golden::as_doubles(b.X_dense());
  EXPECT_DOUBLE_EQ(v[1], 1.0);
  EXPECT_DOUBLE_EQ(v[2], 2.0);
  EXPECT_DOUBLE_EQ(v[3], 3.0);
  EXPECT_DOUBLE_EQ(b.uns.at("log1p").get<Dict>().at("base").get<Array>().get_double(0), 2.0);
  // A layer.
  b.layers["c"] = Element(Array::from_vector(std::vector<float>{1}, {1, 1}));
  testing::internal::CaptureStderr();
  pp::log1p(b, {.layer = "c"});
  EXPECT_NE(testing::internal::GetCapturedStderr().find("already log-transformed"), std::string::npos);
  EXPECT_FLOAT_EQ(b.layers.at("c").get<Array>().as<float>()[0], std::log1p(1.0f));
}

TEST(Log1p, WarningsAndErrors) {
  Array neg = Array::from_vector(std::vector<float>{-0.5f, 2.0f}, {1, 2});
  testing::internal::CaptureStderr();
  pp::log1p(neg);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("negative values"), std::string::npos);
  EXPECT_FLOAT_EQ(neg.as<float>()[0], std::log1p(-0.5f));
  Array m = Array::from_vector(std::vector<float>{1}, {1, 1});
  EXPECT_THROW(pp::log1p(m, 1.0), ValueError);
  EXPECT_THROW(pp::log1p(m, -2.0), ValueError);
  AnnData a{Element(m)};
  EXPECT_THROW(pp::log1p(a, {.layer = "missing"}), KeyError);
}

TEST(Log1p, PbmcSameBitsWithOneAndTwoThreads) {
  AnnData a = golden::pbmc3k_filtered_counts();
  SparseMatrix m1 = a.X_sparse(), m2 = a.X_sparse();
  set_num_threads(1);
  pp::log1p(m1, 10.0);
  set_num_threads(2);
  pp::log1p(m2, 10.0);
  set_num_threads(0);
  EXPECT_TRUE(m1 == m2);
  // Spot check against numpy's float32 log1p / float32(ln 10).
  const float x0 = a.X_sparse().data.as<float>()[0];
  EXPECT_EQ(m1.data.as<float>()[0], std::log1p(x0) / static_cast<float>(std::log(10.0)));
}
