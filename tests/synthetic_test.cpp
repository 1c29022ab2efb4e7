#include "scanpp/datasets/synthetic.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "test_paths.hpp"

using namespace scanpp;

namespace {
datasets::SyntheticOptions small() {
  return {.n_cells = 3000, .n_genes = 20000, .n_clusters = 6, .seed = 7, .block_rows = 700};
}
}  // namespace

TEST(Synthetic, RealisticCounts) {
  AnnData ad = datasets::synthetic(small());
  const auto& x = ad.X_sparse();
  ASSERT_EQ(x.n_rows, 3000);
  std::vector<double> genes_per_cell, totals;
  double mt = 0, all = 0;
  for (int64_t i = 0; i < x.n_rows; ++i) {
    genes_per_cell.push_back(static_cast<double>(x.indptr[i + 1] - x.indptr[i]));
    double t = 0;
    for (int64_t k = x.indptr[i]; k < x.indptr[i + 1]; ++k) {
      const float v = x.data.as<float>()[k];
      ASSERT_GE(v, 1.0f);
      ASSERT_EQ(v, std::floor(v));  // integer UMI counts
      t += v;
      if (x.indices[k] < 13) mt += v;
    }
    totals.push_back(t);
    all += t;
  }
  std::sort(genes_per_cell.begin(), genes_per_cell.end());
  const double median_genes = genes_per_cell[genes_per_cell.size() / 2];
  EXPECT_GT(median_genes, 1500);
  EXPECT_LT(median_genes, 2600);
  EXPECT_GT(mt / all, 0.01);  // some mitochondrial reads
  EXPECT_LT(mt / all, 0.10);
  // Library sizes spread log-normally: the 90th percentile well above the 10th.
  std::sort(totals.begin(), totals.end());
  EXPECT_GT(totals[2700] / totals[300], 2.0);
  // Indices sorted within each row, in range.
  for (int64_t i = 0; i < x.n_rows; ++i)
    EXPECT_TRUE(std::is_sorted(x.indices.begin() + x.indptr[i], x.indices.begin() + x.indptr[i + 1]));
  // Several clusters present; MT genes named as Scanpy's tutorial expects.
  EXPECT_EQ(std::get<Categorical>(ad.obs.at("cluster")).n_categories(), 6);
  EXPECT_EQ(ad.var_names()[0].rfind("MT-", 0), 0u);
}

TEST(Synthetic, SameSeedSameDataAnyThreadsAndBlocks) {
  set_num_threads(1);
  AnnData a = datasets::synthetic(small());
  set_num_threads(2);
  AnnData b = datasets::synthetic(small());
  EXPECT_TRUE(a == b);
  auto other = small();
  other.seed = 8;
  EXPECT_FALSE(datasets::synthetic(other) == a);
  // Written block by block to disk: identical to the in-memory matrix.
  scanpp::testing::TempDir tmp;
  datasets::write_synthetic_h5ad(tmp.file("s.h5ad"), small());
  AnnData c = io::read_h5ad(tmp.file("s.h5ad"));
  EXPECT_TRUE(c.X == a.X);
  EXPECT_TRUE(c.obs == a.obs);
  EXPECT_TRUE(c.var == a.var);
}
