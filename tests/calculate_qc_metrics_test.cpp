// calculate_qc_metrics against Scanpy 1.11.5 on PBMC 3k (raw 10x folder and
// the filtered counts), plus naming templates, dtypes, errors and threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "golden_support.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/read_10x_mtx.hpp"
#include "scanpp/pp/calculate_qc_metrics.hpp"

using namespace scanpp;

namespace {

void add_mt(AnnData& a) {
  std::vector<Bool8> mt;
  for (const auto& g : a.var_names()) mt.push_back(Bool8(g.rfind("MT-", 0) == 0));
  a.var.set("mt", Array::from_vector(mt));
}

DType dtype(const DataFrame& df, const std::string& col) { return std::get<Array>(df.at(col)).dtype(); }

}  // namespace

TEST(CalculateQcMetrics, RawPbmcMatchesScanpy) {
  AnnData a = io::read_10x_mtx(golden::shared("data/pbmc3k/filtered_gene_bc_matrices/hg19"));
  add_mt(a);
  pp::calculate_qc_metrics(a, {.qc_vars = {"mt"}, .inplace = true});
  const golden::Csv obs = golden::read_csv(golden::shared("golden/pbmc3k/qc_obs_raw.csv"));
  ASSERT_EQ(obs.text("barcode"), a.obs_names());
  double worst = 0;
  for (size_t c = 1; c < obs.header.size(); ++c) {
    const std::string& name = obs.header[c];
    ASSERT_TRUE(a.obs.has(name)) << name;
    const double d = golden::max_rel_dev(a.obs.numeric(name), obs.numeric(name));
    worst = std::max(worst, d);
    EXPECT_LT(d, 1e-6) << name;
  }
  const golden::Csv var = golden::read_csv(golden::shared("golden/pbmc3k/qc_var_raw.csv"));
  ASSERT_EQ(var.text("gene"), a.var_names());
  for (size_t c = 3; c < var.header.size(); ++c) {
    const std::string& name = var.header[c];
    const double d = golden::max_rel_dev(a.var.numeric(name), var.numeric(name));
    worst = std::max(worst, d);
    EXPECT_LT(d, 1e-6) << name;
  }
  std::cout << "  qc_obs_raw/qc_var_raw: max relative deviation " << worst << "\n";
  // Scanpy's dtypes for float32 CSR counts.
  EXPECT_EQ(dtype(a.obs, "n_genes_by_counts"), DType::Int32);
  EXPECT_EQ(dtype(a.obs, "log1p_n_genes_by_counts"), DType::Float64);
  EXPECT_EQ(dtype(a.obs, "total_counts"), DType::Float32);
  EXPECT_EQ(dtype(a.obs, "log1p_total_counts"), DType::Float32);
  EXPECT_EQ(dtype(a.obs, "pct_counts_in_top_50_genes"), DType::Float64);
  EXPECT_EQ(dtype(a.obs, "pct_counts_mt"), DType::Float32);
  EXPECT_EQ(dtype(a.var, "n_cells_by_counts"), DType::Int64);
  EXPECT_EQ(dtype(a.var, "mean_counts"), DType::Float64);
  EXPECT_EQ(dtype(a.var, "pct_dropout_by_counts"), DType::Float64);
  EXPECT_EQ(dtype(a.var, "total_counts"), DType::Float32);
}

TEST(CalculateQcMetrics, FilteredCountsMatchFinalObs) {
  AnnData a = golden::pbmc3k_filtered_counts();
  add_mt(a);
  const pp::QcMetrics m = pp::calculate_qc_metrics(a, {.qc_vars = {"mt"}, .percent_top = std::nullopt, .log1p = false});
  EXPECT_FALSE(a.obs.has("total_counts"));  // inplace defaults to false, as in Scanpy
  EXPECT_EQ(m.obs.column_names(),
            (std::vector<std::string>{"n_genes_by_counts", "total_counts", "total_counts_mt", "pct_counts_mt"}));
  const golden::Csv fin = golden::read_csv(golden::shared("golden/pbmc3k/obs_final.csv"));
  ASSERT_EQ(fin.text("barcode"), m.obs.index());
  for (const char* col : {"n_genes_by_counts", "total_counts", "total_counts_mt", "pct_counts_mt"}) {
    const double d = golden::max_rel_dev(m.obs.numeric(col), fin.numeric(col));
    std::cout << "  obs_final " << col << ": max relative deviation " << d << "\n";
    EXPECT_LT(d, 1e-6) << col;
  }
}

TEST(CalculateQcMetrics, TemplatesDenseSparseAndZeros) {
  // 3 cells x 4 genes with one explicit zero in the sparse matrix.
  SparseMatrix s;
  s.n_rows = 3;
  s.n_cols = 4;
  s.indptr = {0, 3, 4, 4};
  s.indices = {0, 1, 3, 2};
  s.data = Array::from_vector(std::vector<float>{2, 0, 5, 1});
  AnnData a{Element(s)};
  a.var.set("ercc", Array::from_vector(std::vector<Bool8>{false, false, false, true}));
  const pp::QcMetrics m = pp::calculate_qc_metrics(
      a, {.expr_type = "umis", .var_type = "features", .qc_vars = {"ercc"}, .percent_top = std::vector<int64_t>{1, 2}});
  // eliminate_zeros ran on the AnnData's matrix in place, as Scanpy does.
  EXPECT_EQ(a.X_sparse().nnz(), 3);
  EXPECT_EQ(m.obs.numeric("n_features_by_umis"), (std::vector<double>{2, 1, 0}));
  EXPECT_EQ(m.obs.numeric("total_umis"), (std::vector<double>{7, 1, 0}));
  const auto top1 = m.obs.numeric("pct_umis_in_top_1_features");
  EXPECT_DOUBLE_EQ(top1[0], 5.0 / 7.0 * 100.0);
  EXPECT_DOUBLE_EQ(top1[1], 100.0);
  EXPECT_TRUE(std::isnan(top1[2]));  // empty cell: 0/0
  EXPECT_FLOAT_EQ(static_cast<float>(m.obs.numeric("pct_umis_ercc")[0]), 5.0f / 7.0f * 100.0f);
  EXPECT_EQ(m.var.numeric("n_cells_by_umis"), (std::vector<double>{1, 0, 1, 1}));
  EXPECT_DOUBLE_EQ(m.var.numeric("pct_dropout_by_umis")[0], (1.0 - 1.0 / 3.0) * 100.0);
  EXPECT_TRUE(m.var.has("log1p_total_umis"));
  // The dense matrix gives the same numbers (int64 counts, float32 means).
  const Array d = to_dense(a.X_sparse());
  const pp::QcMetrics md = pp::qc_metrics(d, {{"ercc", a.var.boolean("ercc")}}, {.percent_top = std::vector<int64_t>{1}});
  EXPECT_EQ(md.obs.numeric("n_genes_by_counts"), (std::vector<double>{2, 1, 0}));
  EXPECT_EQ(dtype(md.obs, "n_genes_by_counts"), DType::Int64);
  EXPECT_EQ(dtype(md.var, "mean_counts"), DType::Float32);
  EXPECT_EQ(md.obs.numeric("total_counts_ercc"), m.obs.numeric("total_umis_ercc"));
}

TEST(CalculateQcMetrics, TopSumsMatchASortOnMixedValues) {
  // The top-n sums take small integers from a histogram and sort the rest:
  // mix integers, fractions, large and negative values, dense and sparse, and
  // compare with sorting each row.
  const int64_t n = 40, p = 700;
  std::vector<double> v(static_cast<size_t>(n * p), 0.0);
  uint64_t st = 12345;
  auto next = [&] {
    st = st * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(st >> 11) * 0x1.0p-53;
  };
  for (auto& x : v) {
    const double u = next();
    if (u < 0.5) continue;                        // zero
    if (u < 0.8) x = std::floor(next() * 6) + 1;  // small counts
    else if (u < 0.9) x = std::floor(next() * 3000);  // large counts (some >= 128)
    else if (u < 0.97) x = next() * 50;           // fractions
    else x = -next() * 5;                         // negative
  }
  const Array dense = Array::from_vector(v, {n, p});
  const std::vector<int64_t> ns = {1, 7, 50, 300, 700};
  const pp::QcMetrics md = pp::qc_metrics(dense, {}, {.percent_top = ns});
  const pp::QcMetrics ms = pp::qc_metrics(dense_to_csr(dense), {}, {.percent_top = ns});
  for (int64_t r = 0; r < n; ++r) {
    std::vector<double> all(v.begin() + r * p, v.begin() + (r + 1) * p), stored;
    for (double x : all)
      if (x != 0) stored.push_back(x);
    std::sort(all.begin(), all.end(), std::greater<>());
    std::sort(stored.begin(), stored.end(), std::greater<>());
    double total = 0;
    for (double x : all) total += x;
    for (int64_t k : ns) {
      const std::string col = "pct_counts_in_top_" + std::to_string(k) + "_genes";
      double want_d = 0, want_s = 0;
      for (int64_t j = 0; j < k; ++j) want_d += all[static_cast<size_t>(j)];
      for (int64_t j = 0; j < std::min<int64_t>(k, static_cast<int64_t>(stored.size())); ++j)
        want_s += stored[static_cast<size_t>(j)];
      EXPECT_NEAR(md.obs.numeric(col)[static_cast<size_t>(r)], want_d / total * 100, 1e-9) << col << " row " << r;
      EXPECT_NEAR(ms.obs.numeric(col)[static_cast<size_t>(r)], want_s / total * 100, 1e-9) << col << " row " << r;
    }
  }
}

TEST(CalculateQcMetrics, BadParameters) {
  AnnData a = golden::pbmc3k_filtered_counts();
  EXPECT_THROW(pp::calculate_qc_metrics(a, {.qc_vars = {"mt"}}), KeyError);
  EXPECT_THROW(pp::calculate_qc_metrics(a, {.percent_top = std::vector<int64_t>{50, 20000}}), ValueError);
  EXPECT_THROW(pp::calculate_qc_metrics(a, {.percent_top = std::vector<int64_t>{0}}), ValueError);
  EXPECT_THROW(pp::calculate_qc_metrics(a, {.layer = "counts", .use_raw = true}), ValueError);
  EXPECT_THROW(pp::calculate_qc_metrics(a, {.layer = "missing"}), KeyError);
}

TEST(CalculateQcMetrics, SameBitsWithOneAndTwoThreads) {
  AnnData a = golden::pbmc3k_filtered_counts();
  add_mt(a);
  const auto mask = a.var.boolean("mt");
  set_num_threads(1);
  const pp::QcMetrics m1 = pp::qc_metrics(a.X_sparse(), {{"mt", mask}});
  set_num_threads(2);
  const pp::QcMetrics m2 = pp::qc_metrics(a.X_sparse(), {{"mt", mask}});
  set_num_threads(0);
  EXPECT_TRUE(m1.obs == m2.obs);
  EXPECT_TRUE(m1.var == m2.var);
}
