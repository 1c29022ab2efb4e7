// pp.pca on a row-block source (a matrix that stays on disk) against the
// in-memory pp.pca on PBMC 3k: gather mode gives the in-memory result
// exactly; streaming mode (every Lanczos product a pass over the blocks)
// agrees to |r| >= 0.9999 for the first 10 PCs and 1e-4 in the variance
// ratio, and is bit-identical across block sizes and thread counts.
// (backed_pca_golden_test.cpp compares with Scanpy's PCA.)
#include <gtest/gtest.h>

#include "backed_support.hpp"
#include "scanpp/io/backed_row_source.hpp"
#include "scanpp/pp/backed.hpp"
#include "scanpp/pp/log1p.hpp"
#include "scanpp/pp/normalize_total.hpp"
#include "scanpp/pp/pca.hpp"

using namespace scanpp;
using namespace backed_test;
namespace bk = scanpp::pp::backed;


// Sparse log-normalised counts with the HVG mask, from a backed file.
TEST(BackedPca, GatherExactAndStreamingCloseOnBackedHvgMatrix) {
  scanpp::testing::TempDir dir;
  AnnData mem = golden::pbmc3k_filtered_counts();
  pp::normalize_total(mem, {.target_sum = 1e4});
  pp::log1p(mem);
  const auto hvg_names = golden::read_lines(golden::shared("golden/pbmc3k/genes_hvg.txt"));
  const std::vector<int64_t> pos = mem.var.positions(hvg_names, "var");
  std::vector<Bool8> hv(static_cast<size_t>(mem.n_vars()), Bool8(false));
  for (int64_t g : pos) hv[static_cast<size_t>(g)] = Bool8(true);
  mem.var.set("highly_variable", Array::from_vector(hv));
  io::write_h5ad(mem, dir.file("lognorm.h5ad"));
  pp::pca(mem, {.n_comps = 20, .svd_solver = pp::PcaSolver::Arpack});

  io::OpenedBacked b = io::open_backed(dir.file("lognorm.h5ad"));
  AnnData meta = b.meta;
  bk::pca(meta, *b.x, {.n_comps = 20, .svd_solver = pp::PcaSolver::Arpack}, {.blocks = {.block_rows = 333}});
  EXPECT_TRUE(meta.obsm.at("X_pca").get<Array>() == mem.obsm.at("X_pca").get<Array>());
  EXPECT_TRUE(meta.varm.at("PCs").get<Array>() == mem.varm.at("PCs").get<Array>());
  const Dict& u = meta.uns.at("pca").get<Dict>();
  const Dict& w = mem.uns.at("pca").get<Dict>();
  EXPECT_TRUE(u.at("variance_ratio").get<Array>() == w.at("variance_ratio").get<Array>());
  EXPECT_EQ(std::get<std::string>(u.at("params").get<Dict>().at("mask_var").value), "highly_variable");

  std::vector<int64_t> genes = pos;
  std::sort(genes.begin(), genes.end());
  const pp::PcaOptions opt{.n_comps = 12, .svd_solver = pp::PcaSolver::Arpack};
  const Element hx = gather_rows(*b.x, {}, genes);
  const pp::PcaResult want = pp::pca(hx, opt);
  const pp::PcaResult got = bk::pca(*b.x, genes, opt, {.streaming = true});
  expect_close_pca(got, want, "backed sparse HVG, streaming vs in-memory");
}

// Streaming products reduce in a fixed order: any block size, any thread count, same bits.
TEST(BackedPca, StreamingIdenticalAcrossBlockSizesAndThreads) {
  const Array& X = x_scaled();
  MatrixRowSource src(X);
  const pp::PcaOptions opt{.n_comps = 8, .svd_solver = pp::PcaSolver::Arpack};
  pp::PcaResult ref;
  {
    Threads t(1);
    ref = bk::pca(src, {}, opt, {.streaming = true, .blocks = {.block_rows = 1000}});
  }
  for (auto [rows, threads] : {std::pair<int64_t, int>{7, 2}, {1000, 2}}) {
    Threads t(threads);
    const pp::PcaResult r = bk::pca(src, {}, opt, {.streaming = true, .blocks = {.block_rows = rows}});
    EXPECT_TRUE(r.scores == ref.scores) << rows << " rows, " << threads << " threads";
    EXPECT_TRUE(r.components == ref.components) << rows;
    EXPECT_TRUE(r.variance_ratio == ref.variance_ratio) << rows;
  }
}

TEST(BackedPca, ClearErrors) {
  MatrixRowSource src(x_scaled());
  EXPECT_THROW(bk::pca(src, {}, {.zero_center = false}, {.streaming = true}), ValueError);
  EXPECT_THROW(bk::pca(src, {}, {.svd_solver = pp::PcaSolver::Randomized}, {.streaming = true}), ValueError);
  EXPECT_THROW(bk::pca(src, {}, {.n_comps = 5000}, {.streaming = true}), ValueError);
}
