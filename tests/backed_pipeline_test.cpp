// `read: {backed: r}` pipelines: the tutorial's preprocessing streamed from
// disk gives the same file as the in-memory pipeline, steps that need X in
// memory stop with an error naming them, and the input is never changed.
#include <gtest/gtest.h>

#include <filesystem>

#include "backed_support.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/pipeline/pipeline.hpp"

using namespace scanpp;
using namespace backed_test;

namespace {

std::string tutorial(const std::string& in, const std::string& out, bool backed) {
  return "- read: {path: '" + in + "'" + (backed ? ", backed: r, block_mb: 0.5" : "") +
         "}\n"
         "- annotate: {var: mt, startswith: 'MT-'}\n"
         "- pp.calculate_qc_metrics: {qc_vars: [mt]}\n"
         "- pp.filter_cells: {min_genes: 200}\n"
         "- pp.filter_genes: {min_cells: 3}\n"
         "- pp.calculate_qc_metrics: {qc_vars: [mt], percent_top: null, log1p: false}\n"
         "- subset: {obs: 'n_genes_by_counts < 2500 and pct_counts_mt < 5'}\n"
         "- pp.normalize_total: {target_sum: 10000}\n"
         "- pp.log1p: {}\n"
         "- pp.highly_variable_genes: {min_mean: 0.0125, max_mean: 3, min_disp: 0.5}\n"
         "- pp.pca: {n_comps: 20, svd_solver: arpack}\n"
         "- pp.neighbors: {n_neighbors: 10, n_pcs: 20}\n"
         "- write: {path: '" + out + "'}\n";
}

}  // namespace

TEST(BackedPipeline, TutorialPreprocessingStreamedEqualsInMemory) {
  scanpp::testing::TempDir dir;
  const std::string in = dir.file("raw.h5ad");
  io::write_h5ad(pbmc3k_raw(), in);
  const std::string before = file_bytes(in);
  pipeline::run_yaml(tutorial(in, dir.file("mem.h5ad"), false), "mem.yaml", {.verbose = false});
  pipeline::run_yaml(tutorial(in, dir.file("backed.h5ad"), true), "backed.yaml", {.verbose = false});
  EXPECT_EQ(file_bytes(in), before);
  const AnnData m = io::read_h5ad(dir.file("mem.h5ad"));
  const AnnData b = io::read_h5ad(dir.file("backed.h5ad"));
  ASSERT_EQ(b.n_obs(), 2638);
  ASSERT_EQ(b.n_vars(), 13714);
  EXPECT_TRUE(b.X->get<SparseMatrix>() == m.X->get<SparseMatrix>());
  expect_same_frame(b.obs, m.obs, "obs");
  expect_same_frame(b.var, m.var, "var");
  EXPECT_TRUE(b.obsm.at("X_pca").get<Array>() == m.obsm.at("X_pca").get<Array>());
  EXPECT_TRUE(b.varm.at("PCs").get<Array>() == m.varm.at("PCs").get<Array>());
  EXPECT_TRUE(b.obsp.at("connectivities").get<SparseMatrix>() == m.obsp.at("connectivities").get<SparseMatrix>());
  for (const char* k : {"log1p", "hvg", "pca", "neighbors"}) EXPECT_TRUE(b.uns.count(k)) << k;
  const auto hv = b.var.boolean("highly_variable");
  EXPECT_EQ(std::count(hv.begin(), hv.end(), true), 1838);
}

TEST(BackedPipeline, StepsNeedingXInMemoryFailClearly) {
  scanpp::testing::TempDir dir;
  const std::string in = dir.file("counts.h5ad");
  io::write_h5ad(golden::pbmc3k_filtered_counts(), in);
  for (const char* step : {"pp.scale: {}", "raw: {}", "pp.regress_out: {keys: [n_counts]}"}) {
    const std::string yaml = "- read: {path: '" + in + "', backed: r}\n- " + step + "\n";
    try {
      pipeline::run_yaml(yaml, "x.yaml", {.verbose = false});
      ADD_FAILURE() << step << " should fail on a backed X";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("needs X in memory"), std::string::npos) << e.what();
    }
  }
  // Bad backed parameters fail before anything runs.
  EXPECT_THROW(pipeline::run_yaml("- read: {path: '" + in + "', backed: w}\n", "x.yaml", {.verbose = false}), InputError);
  EXPECT_THROW(pipeline::run_yaml("- read: {path: '" + in + "', backed: r, block_mb: -1}\n", "x.yaml", {.verbose = false}),
               InputError);
  EXPECT_THROW(pipeline::run_yaml("- read: {path: '" + in + "', backed: r}\n- write: {path: '" + dir.file("w.h5ad") +
                                      "', compression: lzf}\n",
                                  "x.yaml", {.verbose = false}),
               InputError);
  EXPECT_FALSE(std::filesystem::exists(dir.file("w.h5ad")));
  // A pipeline with -o streams the backed result.
  pipeline::run_yaml("- read: {path: '" + in + "', backed: r}\n- pp.log1p: {}\n", "x.yaml",
                     {.output = dir.file("o.h5ad"), .verbose = false});
  AnnData want = golden::pbmc3k_filtered_counts();
  const AnnData got = io::read_h5ad(dir.file("o.h5ad"));
  ASSERT_TRUE(got.X.has_value());
  EXPECT_EQ(got.X->get<SparseMatrix>().nnz(), want.X->get<SparseMatrix>().nnz());
  EXPECT_TRUE(got.uns.count("log1p"));
}
