// highly_variable_genes (seurat, cell_ranger; with and without batches)
// against Scanpy 1.11.5's tables for PBMC 3k and Kang et al.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <set>

#include "golden_support.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/mtx.hpp"
#include "scanpp/pp/highly_variable_genes.hpp"
#include "scanpp/pp/log1p.hpp"
#include "scanpp/pp/normalize_total.hpp"

using namespace scanpp;

namespace {

AnnData pbmc_log(std::optional<double> target) {
  AnnData a = golden::pbmc3k_filtered_counts();
  pp::normalize_total(a, {.target_sum = target});
  pp::log1p(a);
  return a;
}

// Compares the var columns Scanpy wrote (golden CSV) with ours; returns the
// largest relative deviation of means / dispersions / dispersions_norm.
void expect_matches(const AnnData& a, const std::string& csv, bool batched, double tol = 1e-5) {
  golden::Csv g = golden::read_csv(golden::shared(csv));
  ASSERT_EQ(g.rows.size(), static_cast<size_t>(a.n_vars()));
  ASSERT_EQ(g.text("gene"), a.var_names());
  // Log dispersions and normalised dispersions cross zero, where a relative
  // measure is meaningless: deviations are taken relative to max(|golden|, 1).
  const double dm = golden::max_rel_dev(a.var.numeric("means"), g.numeric("means"));
  const double dd = golden::max_rel_dev(a.var.numeric("dispersions"), g.numeric("dispersions"), 1.0);
  const double dz = golden::max_rel_dev(a.var.numeric("dispersions_norm"), g.numeric("dispersions_norm"), 1.0);
  std::cout << "  " << csv << ": max rel dev means " << dm << ", dispersions " << dd << ", dispersions_norm " << dz
            << " (rel to max(|x|,1)); strict relative: dispersions "
            << golden::max_rel_dev(a.var.numeric("dispersions"), g.numeric("dispersions")) << ", dispersions_norm "
            << golden::max_rel_dev(a.var.numeric("dispersions_norm"), g.numeric("dispersions_norm")) << "\n";
  EXPECT_LT(dm, tol);
  EXPECT_LT(dd, tol);
  EXPECT_LT(dz, tol);
  const std::vector<double> hv = g.numeric("highly_variable");
  const std::vector<bool> ours = a.var.boolean("highly_variable");
  int64_t mismatches = 0;
  for (size_t i = 0; i < hv.size(); ++i) mismatches += (hv[i] != 0) != ours[i];
  EXPECT_EQ(mismatches, 0);
  if (batched) {
    EXPECT_EQ(a.var.numeric("highly_variable_nbatches"), g.numeric("highly_variable_nbatches"));
    const std::vector<double> gi = g.numeric("highly_variable_intersection");
    const std::vector<bool> oi = a.var.boolean("highly_variable_intersection");
    int64_t bad = 0;
    for (size_t i = 0; i < gi.size(); ++i) bad += (gi[i] != 0) != oi[i];
    EXPECT_EQ(bad, 0);
  }
}

AnnData kang_counts() {
  const std::string dir = golden::shared("data/kang_stim/");
  AnnData a{Element(io::read_mtx_matrix_transposed(dir + "matrix.mtx"))};
  a.obs.set_index(golden::read_lines(dir + "barcodes.tsv"));
  std::vector<std::string> genes;
  for (auto& l : golden::read_lines(dir + "features.tsv")) genes.push_back(l.substr(0, l.find('\t')));
  a.var.set_index(genes);
  golden::Csv obs = golden::read_csv(dir + "obs.csv");
  EXPECT_EQ(obs.text(""), a.obs_names());
  a.obs.set("stim", obs.text("stim"));
  return a;
}

}  // namespace

TEST(HighlyVariableGenes, PbmcSeuratCutoffsMatchScanpy) {
  AnnData a = pbmc_log(1e4);
  pp::highly_variable_genes(a, {.min_disp = 0.5, .min_mean = 0.0125, .max_mean = 3});
  expect_matches(a, "golden/pbmc3k/hvg_table.csv", false);
  std::vector<std::string> hv;
  const auto mask = a.var.boolean("highly_variable");
  for (int64_t g = 0; g < a.n_vars(); ++g)
    if (mask[static_cast<size_t>(g)]) hv.push_back(a.var_names()[static_cast<size_t>(g)]);
  EXPECT_EQ(hv.size(), 1838u);
  EXPECT_EQ(hv, golden::read_lines(golden::shared("golden/pbmc3k/genes_hvg.txt")));
  // Scanpy's dtypes and uns entry.
  EXPECT_EQ(std::get<Array>(a.var.at("dispersions_norm")).dtype(), DType::Float32);
  EXPECT_EQ(std::get<Array>(a.var.at("means")).dtype(), DType::Float64);
  EXPECT_EQ(std::get<Array>(a.var.at("highly_variable")).dtype(), DType::Bool);
  ASSERT_TRUE(a.uns.count("hvg"));
  EXPECT_EQ(a.uns.at("hvg").get<Dict>().at("flavor").get<std::string>(), "seurat");
}

TEST(HighlyVariableGenes, PbmcSeuratTop2000MatchesScanpy) {
  AnnData a = pbmc_log(std::nullopt);
  pp::highly_variable_genes(a, {.n_top_genes = 2000});
  expect_matches(a, "golden/pbmc3k_extra/hvg_seurat_top2000.csv", false);
  const auto mask = a.var.boolean("highly_variable");
  EXPECT_GE(std::count(mask.begin(), mask.end(), true), 2000);
}

TEST(HighlyVariableGenes, PbmcCellRangerTop2000MatchesScanpy) {
  AnnData a = pbmc_log(std::nullopt);
  pp::highly_variable_genes(a, {.n_top_genes = 2000, .flavor = pp::HvgFlavor::CellRanger});
  expect_matches(a, "golden/pbmc3k_extra/hvg_cell_ranger_top2000.csv", false);
  EXPECT_EQ(a.uns.at("hvg").get<Dict>().at("flavor").get<std::string>(), "cell_ranger");
}

TEST(HighlyVariableGenes, KangBatchTop2000MatchesScanpy) {
  AnnData a = kang_counts();
  pp::normalize_total(a, {.target_sum = 1e4});
  pp::log1p(a);
  pp::highly_variable_genes(a, {.n_top_genes = 2000, .batch_key = "stim"});
  expect_matches(a, "golden/kang_stim/hvg_seurat_batch_top2000.csv", true);
  const auto mask = a.var.boolean("highly_variable");
  EXPECT_EQ(std::count(mask.begin(), mask.end(), true), 2000);
}

TEST(HighlyVariableGenes, KangBatchCutoffsMatchScanpy) {
  AnnData a = kang_counts();
  pp::normalize_total(a, {.target_sum = 1e4});
  pp::log1p(a);
  pp::highly_variable_genes(a, {.batch_key = "stim"});
  expect_matches(a, "golden/kang_stim/hvg_seurat_batch_cutoffs.csv", true);
}

TEST(HighlyVariableGenes, DenseEqualsSparseAndSubset) {
  AnnData a = pbmc_log(1e4);
  const SparseMatrix& m = a.X_sparse();
  const Array dense = to_dense(m);
  const pp::HvgResult rs = pp::highly_variable_genes(m, {.flavor = pp::HvgFlavor::CellRanger});
  const pp::HvgResult rd = pp::highly_variable_genes(dense, {.flavor = pp::HvgFlavor::CellRanger});
  EXPECT_LT(golden::max_rel_dev(rd.dispersions_norm, rs.dispersions_norm, 1e-6), 1e-12);
  EXPECT_EQ(rd.highly_variable, rs.highly_variable);
  pp::highly_variable_genes(a, {.subset = true});
  EXPECT_EQ(a.n_vars(), 1838);
  EXPECT_EQ(a.var_names(), golden::read_lines(golden::shared("golden/pbmc3k/genes_hvg.txt")));
}

TEST(HighlyVariableGenes, SameBitsWithOneAndTwoThreads) {
  AnnData a = kang_counts();
  pp::normalize_total(a, {.target_sum = 1e4});
  pp::log1p(a);
  pp::HvgContext ctx;
  const Categorical c = Categorical::from_strings(std::get<std::vector<std::string>>(a.obs.at("stim")));
  ctx.batch_codes = c.codes;
  ctx.n_batches = static_cast<int32_t>(c.n_categories());
  ctx.gene_names = a.var_names();
  set_num_threads(1);
  const auto r1 = pp::highly_variable_genes(a.X_sparse(), {.n_top_genes = 2000}, ctx);
  const auto s1 = pp::highly_variable_genes(a.X_sparse(), {});
  set_num_threads(2);
  const auto r2 = pp::highly_variable_genes(a.X_sparse(), {.n_top_genes = 2000}, ctx);
  const auto s2 = pp::highly_variable_genes(a.X_sparse(), {});
  const auto v1 = pp::highly_variable_genes(a.X_sparse(), {.flavor = pp::HvgFlavor::SeuratV3, .check_values = false}, ctx);
  set_num_threads(1);
  const auto v0 = pp::highly_variable_genes(a.X_sparse(), {.flavor = pp::HvgFlavor::SeuratV3, .check_values = false}, ctx);
  set_num_threads(0);
  EXPECT_EQ(0, std::memcmp(v0.variances_norm.data(), v1.variances_norm.data(), v0.variances_norm.size() * sizeof(double)));
  EXPECT_EQ(v0.highly_variable, v1.highly_variable);
  EXPECT_EQ(0, std::memcmp(r1.means.data(), r2.means.data(), r1.means.size() * sizeof(double)));
  EXPECT_EQ(0, std::memcmp(r1.dispersions_norm.data(), r2.dispersions_norm.data(), r1.means.size() * sizeof(double)));
  EXPECT_EQ(r1.highly_variable, r2.highly_variable);
  EXPECT_EQ(0, std::memcmp(s1.dispersions.data(), s2.dispersions.data(), s1.dispersions.size() * sizeof(double)));
  EXPECT_EQ(s1.highly_variable, s2.highly_variable);
}

TEST(HighlyVariableGenes, BadParametersAreRejected) {
  AnnData a = pbmc_log(1e4);
  EXPECT_THROW(pp::hvg_flavor_from_string("seurat_v4"), ValueError);
  EXPECT_EQ(pp::hvg_flavor_from_string("cell_ranger"), pp::HvgFlavor::CellRanger);
  EXPECT_THROW(pp::highly_variable_genes(a, {.batch_key = "no_such_column"}), KeyError);
  EXPECT_THROW(pp::highly_variable_genes(a, {.n_top_genes = 0}), ValueError);
  a.obs.set("numeric_batch", Array::from_vector(std::vector<double>(static_cast<size_t>(a.n_obs()), 1.0)));
  EXPECT_THROW(pp::highly_variable_genes(a, {.batch_key = "numeric_batch"}), ValueError);
  // Cutoffs are ignored with n_top_genes, and Scanpy warns about it.
  testing::internal::CaptureStderr();
  pp::highly_variable_genes(a, {.n_top_genes = 100, .min_mean = 0.5});
  EXPECT_NE(testing::internal::GetCapturedStderr().find("all cutoffs are ignored"), std::string::npos);
}

TEST(HighlyVariableGenes, WarnsOnRawCounts) {
  AnnData a = golden::pbmc3k_filtered_counts();
  testing::internal::CaptureStderr();
  pp::highly_variable_genes(a, {.flavor = pp::HvgFlavor::CellRanger, .inplace = false});
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("expects logarithmized data"), std::string::npos) << err;
  EXPECT_FALSE(a.var.has("highly_variable"));  // inplace=false leaves var alone
}

namespace {

// seurat_v3 columns against a golden table.
void expect_v3_matches(const AnnData& a, const std::string& csv, bool batched) {
  golden::Csv g = golden::read_csv(golden::shared(csv));
  ASSERT_EQ(g.text("gene"), a.var_names());
  const double dm = golden::max_rel_dev(a.var.numeric("means"), g.numeric("means"));
  const double dv = golden::max_rel_dev(a.var.numeric("variances"), g.numeric("variances"));
  const double dn = golden::max_rel_dev(a.var.numeric("variances_norm"), g.numeric("variances_norm"));
  const std::vector<double> gr = g.numeric("highly_variable_rank"), orank = a.var.numeric("highly_variable_rank");
  const std::vector<double> ghv = g.numeric("highly_variable");
  const std::vector<bool> ohv = a.var.boolean("highly_variable");
  int64_t rank_diff = 0, hv_diff = 0;
  for (size_t i = 0; i < gr.size(); ++i) {
    const bool differs = !(gr[i] == orank[i] || (std::isnan(gr[i]) && std::isnan(orank[i])));
    if (differs && rank_diff < 12)
      std::cout << "    " << a.var_names()[i] << " golden rank " << gr[i] << " ours " << orank[i] << " vnorm "
                << a.var.numeric("variances_norm")[i] << "\n";
    rank_diff += differs;
    hv_diff += (ghv[i] != 0) != ohv[i];
  }
  std::cout << "  " << csv << ": max rel dev means " << dm << ", variances " << dv << ", variances_norm " << dn
            << "; genes whose rank differs " << rank_diff << ", highly_variable differs " << hv_diff << "\n";
  EXPECT_LT(dm, 1e-6);
  EXPECT_LT(dv, 1e-6);
  EXPECT_LT(dn, 1e-5);
  EXPECT_EQ(rank_diff, 0);
  EXPECT_EQ(hv_diff, 0);
  if (batched) {
    EXPECT_EQ(a.var.numeric("highly_variable_nbatches"), g.numeric("highly_variable_nbatches"));
  }
  EXPECT_EQ(std::get<Array>(a.var.at("highly_variable_rank")).dtype(), DType::Float32);
}

}  // namespace

TEST(HighlyVariableGenes, PbmcSeuratV3MatchesScanpy) {
  AnnData a = golden::pbmc3k_filtered_counts();
  pp::highly_variable_genes(a, {.n_top_genes = 2000, .flavor = pp::HvgFlavor::SeuratV3});
  expect_v3_matches(a, "golden/pbmc3k_extra/hvg_seurat_v3_top2000.csv", false);
  EXPECT_FALSE(a.var.has("highly_variable_nbatches"));
  EXPECT_EQ(a.uns.at("hvg").get<Dict>().at("flavor").get<std::string>(), "seurat_v3");
  const auto mask = a.var.boolean("highly_variable");
  EXPECT_EQ(std::count(mask.begin(), mask.end(), true), 2000);
}

TEST(HighlyVariableGenes, KangSeuratV3BatchMatchesScanpy) {
  AnnData a = kang_counts();
  pp::highly_variable_genes(a, {.n_top_genes = 2000, .flavor = pp::HvgFlavor::SeuratV3, .batch_key = "stim"});
  expect_v3_matches(a, "golden/kang_stim/hvg_seurat_v3_batch_top2000.csv", true);
}

TEST(HighlyVariableGenes, SeuratV3WarnsOnNonIntegers) {
  AnnData a = pbmc_log(1e4);
  testing::internal::CaptureStderr();
  pp::highly_variable_genes(a, {.flavor = pp::HvgFlavor::SeuratV3, .inplace = false});
  EXPECT_NE(testing::internal::GetCapturedStderr().find("expects raw count data"), std::string::npos);
}
