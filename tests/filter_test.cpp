// filter_cells / filter_genes: Scanpy's PBMC 3k tutorial filtering must give
// exactly the golden cells and genes, and bad thresholds must be rejected.
#include <gtest/gtest.h>

#include "golden_support.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/read_10x_mtx.hpp"
#include "scanpp/pp/calculate_qc_metrics.hpp"
#include "scanpp/pp/filter.hpp"

using namespace scanpp;

TEST(Filter, PbmcTutorialGivesGoldenCellsAndGenes) {
  AnnData a = io::read_10x_mtx(golden::shared("data/pbmc3k/filtered_gene_bc_matrices/hg19"));
  ASSERT_EQ(a.n_obs(), 2700);
  pp::filter_cells(a, {.min_genes = 200});
  pp::filter_genes(a, {.min_cells = 3});
  EXPECT_EQ(a.var_names(), golden::read_lines(golden::shared("golden/pbmc3k/genes_after_filter_genes.txt")));
  EXPECT_EQ(std::get<Array>(a.obs.at("n_genes")).dtype(), DType::Int64);
  EXPECT_EQ(std::get<Array>(a.var.at("n_cells")).dtype(), DType::Int64);
  const auto n_genes = a.obs.numeric("n_genes");
  EXPECT_GE(*std::min_element(n_genes.begin(), n_genes.end()), 200);
  std::vector<Bool8> mt;
  for (const auto& g : a.var_names()) mt.push_back(Bool8(g.rfind("MT-", 0) == 0));
  a.var.set("mt", Array::from_vector(mt));
  pp::calculate_qc_metrics(a, {.qc_vars = {"mt"}, .percent_top = std::nullopt, .inplace = true, .log1p = false});
  const auto ng = a.obs.numeric("n_genes_by_counts");
  const auto pct = a.obs.numeric("pct_counts_mt");
  Indices keep;
  for (size_t i = 0; i < ng.size(); ++i)
    if (ng[i] < 2500 && pct[i] < 5) keep.push_back(static_cast<int64_t>(i));
  a.subset_inplace(keep, std::nullopt);
  EXPECT_EQ(a.n_obs(), 2638);
  EXPECT_EQ(a.n_vars(), 13714);
  EXPECT_EQ(a.obs_names(), golden::read_lines(golden::shared("golden/pbmc3k/filtered_barcodes.txt")));
  EXPECT_EQ(a.var_names(), golden::read_lines(golden::shared("golden/pbmc3k/genes_filtered.txt")));
  // The counts themselves equal Scanpy's filtered matrix.
  const SparseMatrix g = io::read_sparse_npz(golden::shared("golden/pbmc3k/counts_filtered_csr.npz"));
  const SparseMatrix& x = a.X_sparse();
  EXPECT_EQ(x.indptr, g.indptr);
  EXPECT_EQ(x.indices, g.indices);
  EXPECT_TRUE(x.data == g.data);
}

TEST(Filter, CountsThresholdsAndInclusiveBounds) {
  const Array x = Array::from_vector(std::vector<float>{1, 0, 3, 0, 0, 0, 2, 2, 2}, {3, 3});
  const SparseMatrix s = dense_to_csr(x);
  auto r = pp::filter_cells(s, {.min_counts = 4});
  EXPECT_EQ(r.keep, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(r.number.dtype(), DType::Float32);
  EXPECT_EQ(golden::as_doubles(r.number), (std::vector<double>{4, 0, 6}));
  r = pp::filter_cells(x, {.max_genes = 2});
  EXPECT_EQ(r.keep, (std::vector<bool>{true, true, false}));
  r = pp::filter_genes(s, {.min_cells = 2});
  EXPECT_EQ(r.keep, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(golden::as_doubles(r.number), (std::vector<double>{2, 1, 2}));
  r = pp::filter_genes(x, {.max_counts = 3});
  EXPECT_EQ(r.keep, (std::vector<bool>{true, true, false}));
  // Counting uses entries > 0 (negative values do not count as genes).
  const Array neg = Array::from_vector(std::vector<float>{-1, 1}, {1, 2});
  EXPECT_EQ(golden::as_doubles(pp::filter_cells(neg, {.min_genes = 1}).number), (std::vector<double>{1}));
  // AnnData level with n_counts stored for the surviving cells only.
  AnnData a{Element(s)};
  pp::filter_cells(a, {.min_counts = 1});
  EXPECT_EQ(a.n_obs(), 2);
  EXPECT_EQ(a.obs.numeric("n_counts"), (std::vector<double>{4, 6}));
  EXPECT_EQ(a.obs_names(), (std::vector<std::string>{"0", "2"}));
  pp::filter_genes(a, {.min_counts = 3, .inplace = false});
  EXPECT_EQ(a.n_vars(), 3);  // inplace=false leaves the object alone
}

TEST(Filter, ExactlyOneThreshold) {
  AnnData a = golden::pbmc3k_filtered_counts();
  EXPECT_THROW(pp::filter_cells(a, {}), ValueError);
  EXPECT_THROW(pp::filter_cells(a, {.min_counts = 10, .min_genes = 5}), ValueError);
  EXPECT_THROW(pp::filter_genes(a, {.min_cells = 3, .max_cells = 100}), ValueError);
  try {
    pp::filter_genes(a, {.min_counts = 1, .max_counts = 5});
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("only provide one"), std::string::npos) << e.what();
  }
  EXPECT_EQ(a.n_obs(), 2638);
}

TEST(Filter, SameBitsWithOneAndTwoThreads) {
  AnnData a = golden::pbmc3k_filtered_counts();
  set_num_threads(1);
  const auto c1 = pp::filter_genes(a.X_sparse(), {.min_counts = 10});
  const auto r1 = pp::filter_cells(a.X_sparse(), {.max_counts = 3000});
  set_num_threads(2);
  const auto c2 = pp::filter_genes(a.X_sparse(), {.min_counts = 10});
  const auto r2 = pp::filter_cells(a.X_sparse(), {.max_counts = 3000});
  set_num_threads(0);
  EXPECT_TRUE(c1.number == c2.number);
  EXPECT_EQ(c1.keep, c2.keep);
  EXPECT_TRUE(r1.number == r2.number);
}
