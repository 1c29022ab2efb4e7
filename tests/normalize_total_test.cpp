// normalize_total against Scanpy 1.11.5 (PBMC 3k, highly-expressed gene
// exclusion), dtype rules, zero-count cells, layers and threads.
#include <gtest/gtest.h>

#include <cstring>

#include "golden_support.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pp/normalize_total.hpp"

using namespace scanpp;

namespace {
std::vector<double> row_sums(const SparseMatrix& m) {
  std::vector<double> s(static_cast<size_t>(m.n_rows), 0.0);
  auto d = m.data.as<float>();
  for (int64_t r = 0; r < m.n_rows; ++r)
    for (int64_t k = m.indptr[static_cast<size_t>(r)]; k < m.indptr[static_cast<size_t>(r + 1)]; ++k)
      s[static_cast<size_t>(r)] += d[static_cast<size_t>(k)];
  return s;
}
}  // namespace

TEST(NormalizeTotal, ExcludeHighlyExpressedMatchesScanpy) {
  AnnData a = golden::pbmc3k_filtered_counts();
  const pp::NormalizeTotalResult r =
      pp::normalize_total(a, {.exclude_highly_expressed = true, .max_fraction = 0.05, .key_added = "norm_total"});
  const golden::Csv obs = golden::read_csv(golden::shared("golden/pbmc3k_extra/normalize_total_excl_obs.csv"));
  const golden::Csv sums = golden::read_csv(golden::shared("golden/pbmc3k_extra/normalize_total_excl_rowsums.csv"));
  ASSERT_EQ(obs.text("barcode"), a.obs_names());
  // Scanpy 1.11.5 stores the size factor total / target (not the raw total).
  const double dn = golden::max_rel_dev(a.obs.numeric("norm_total"), obs.numeric("norm_total"));
  const double ds = golden::max_rel_dev(row_sums(a.X_sparse()), sums.numeric("rowsum"));
  std::cout << "  norm_total max rel dev " << dn << ", row sums " << ds << ", target " << r.target_sum << "\n";
  EXPECT_LT(dn, 1e-6);
  EXPECT_LT(ds, 1e-6);
  EXPECT_EQ(std::get<Array>(a.obs.at("norm_total")).dtype(), DType::Float32);
  EXPECT_EQ(std::count(r.gene_subset.begin(), r.gene_subset.end(), false), 40);
  EXPECT_DOUBLE_EQ(r.target_sum, 1767.5);
}

TEST(NormalizeTotal, TargetSumAndMedian) {
  AnnData a = golden::pbmc3k_filtered_counts();
  AnnData b = a;
  pp::normalize_total(a, {.target_sum = 1e4});
  for (double s : row_sums(a.X_sparse())) EXPECT_NEAR(s, 1e4, 1e4 * 1e-5);
  EXPECT_EQ(a.X_sparse().dtype(), DType::Float32);
  const auto r = pp::normalize_total(b, {});
  EXPECT_DOUBLE_EQ(r.target_sum, 2213.0);  // median of the PBMC totals
  for (double s : row_sums(b.X_sparse())) EXPECT_NEAR(s, 2213.0, 2213.0 * 1e-5);
  EXPECT_FALSE(b.obs.has("n_counts"));
}

TEST(NormalizeTotal, DenseIntegersZeroCellsAndLayers) {
  // Integer data become float32; an empty cell is left as is (with a warning).
  Array x = Array::from_vector(std::vector<int32_t>{1, 3, 0, 0, 2, 2}, {3, 2});
  AnnData a{Element(x)};
  a.layers["counts"] = Element(x);
  testing::internal::CaptureStderr();
  pp::normalize_total(a, {.target_sum = 4.0, .key_added = "nf"});
  EXPECT_NE(testing::internal::GetCapturedStderr().find("Some cells have zero counts"), std::string::npos);
  const Array& d = a.X_dense();
  ASSERT_EQ(d.dtype(), DType::Float32);
  EXPECT_EQ(golden::as_doubles(d), (std::vector<double>{1, 3, 0, 0, 2, 2}));
  EXPECT_EQ(a.obs.numeric("nf"), (std::vector<double>{1, 0, 1}));
  // The layer was untouched; normalising it with inplace=false returns a copy.
  const auto r = pp::normalize_total(a, {.target_sum = 1.0, .layer = "counts", .inplace = false});
  ASSERT_TRUE(r.X.has_value());
  EXPECT_EQ(golden::as_doubles(r.X->get<Array>()), (std::vector<double>{0.25, 0.75, 0, 0, 0.5, 0.5}));
  EXPECT_EQ(a.layers.at("counts").get<Array>().dtype(), DType::Int32);
  // CSC input becomes CSR.
  SparseMatrix csc = convert_format(dense_to_csr(Array::from_vector(std::vector<float>{1, 1, 0, 2}, {2, 2})), SparseFormat::CSC);
  pp::normalize_total(csc, {.target_sum = 2.0});
  EXPECT_EQ(csc.format, SparseFormat::CSR);
  EXPECT_EQ(golden::as_doubles(csc.data), (std::vector<double>{1, 1, 2}));
  // Dense exclusion: gene 1 holds more than half of cell 0's counts.
  Array e = Array::from_vector(std::vector<double>{1, 8, 1, 2, 2, 2}, {2, 3});
  const auto re = pp::normalize_total(e, {.target_sum = 1.0, .exclude_highly_expressed = true, .max_fraction = 0.5});
  EXPECT_EQ(re.gene_subset, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(golden::as_doubles(e), (std::vector<double>{0.5, 4, 0.5, 0.5, 0.5, 0.5}));
}

TEST(NormalizeTotal, BadParameters) {
  AnnData a = golden::pbmc3k_filtered_counts();
  EXPECT_THROW(pp::normalize_total(a, {.max_fraction = 1.5}), ValueError);
  EXPECT_THROW(pp::normalize_total(a, {.layer = "nope"}), KeyError);
  Array zeros(DType::Float32, {2, 2});
  EXPECT_THROW(pp::normalize_total(zeros, {}), ValueError);
}

TEST(NormalizeTotal, SameBitsWithOneAndTwoThreads) {
  const AnnData a = golden::pbmc3k_filtered_counts();
  SparseMatrix m1 = a.X_sparse(), m2 = a.X_sparse();
  set_num_threads(1);
  const auto r1 = pp::normalize_total(m1, {.exclude_highly_expressed = true});
  set_num_threads(2);
  const auto r2 = pp::normalize_total(m2, {.exclude_highly_expressed = true});
  set_num_threads(0);
  EXPECT_TRUE(m1 == m2);
  EXPECT_TRUE(r1.norm_factor == r2.norm_factor);
  EXPECT_EQ(r1.gene_subset, r2.gene_subset);
}
