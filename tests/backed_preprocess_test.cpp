// Preprocessing on a backed .h5ad (X read in row blocks) against the same
// functions in memory on PBMC 3k: QC, filters, normalize_total, log1p and HVG
// give the in-memory results bit for bit for blocks of 1, 7, 1000 rows and
// the memory-sized default, with 1 and 2 threads; plus Scanpy's goldens.
#include <gtest/gtest.h>

#include <iostream>

#include "backed_support.hpp"
#include "scanpp/io/backed_row_source.hpp"
#include "scanpp/pp/backed.hpp"
#include "scanpp/pp/calculate_qc_metrics.hpp"
#include "scanpp/pp/filter.hpp"
#include "scanpp/pp/highly_variable_genes.hpp"
#include "scanpp/pp/log1p.hpp"
#include "scanpp/pp/normalize_total.hpp"

using namespace scanpp;
using namespace backed_test;
namespace bk = scanpp::pp::backed;

namespace {

// The raw counts written once to a temporary .h5ad (CSR float32, as read).
struct RawFile {
  scanpp::testing::TempDir dir;
  std::string path = dir.file("pbmc3k_raw.h5ad");
  AnnData mem = pbmc3k_raw();
  RawFile() { io::write_h5ad(mem, path); }
};
RawFile& raw_file() {
  static RawFile f;
  return f;
}

// (block rows, threads): 0 rows = chosen by memory. One-row blocks run with
// one thread only (they are slow, and threads split within a block).
struct BlockRun {
  int64_t rows;
  int threads;
  std::string name() const { return "block_rows " + std::to_string(rows) + ", threads " + std::to_string(threads); }
};
const std::vector<BlockRun> kRuns = {{1, 1}, {7, 1}, {7, 2}, {1000, 1}, {1000, 2}, {0, 2}};

}  // namespace

TEST(BackedPreprocess, QcMetricsEqualInMemoryAndGolden) {
  RawFile& f = raw_file();
  AnnData mem = f.mem;
  const pp::QcMetrics want = pp::calculate_qc_metrics(mem, {.qc_vars = {"mt"}, .inplace = true});
  for (const BlockRun& run : kRuns) {
      const int64_t rows = run.rows;
      Threads t(run.threads);
      io::OpenedBacked b = io::open_backed(f.path);
      const pp::QcMetrics got =
          bk::calculate_qc_metrics(b.meta, *b.x, {.qc_vars = {"mt"}, .inplace = true}, {.block_rows = rows});
      const std::string what = run.name();
      expect_same_frame(got.obs, want.obs, "obs, " + what);
      expect_same_frame(got.var, want.var, "var, " + what);
    }
  // And Scanpy's numbers (1e-6 relative), from the backed run.
  io::OpenedBacked b = io::open_backed(f.path);
  bk::calculate_qc_metrics(b.meta, *b.x, {.qc_vars = {"mt"}, .inplace = true});
  const golden::Csv obs = golden::read_csv(golden::shared("golden/pbmc3k/qc_obs_raw.csv"));
  ASSERT_EQ(obs.text("barcode"), b.meta.obs_names());
  double worst = 0;
  for (size_t c = 1; c < obs.header.size(); ++c) {
    const double d = golden::max_rel_dev(b.meta.obs.numeric(obs.header[c]), obs.numeric(obs.header[c]));
    worst = std::max(worst, d);
    EXPECT_LT(d, 1e-6) << obs.header[c];
  }
  const golden::Csv var = golden::read_csv(golden::shared("golden/pbmc3k/qc_var_raw.csv"));
  ASSERT_EQ(var.text("gene"), b.meta.var_names());
  for (size_t c = 3; c < var.header.size(); ++c) {
    const double d = golden::max_rel_dev(b.meta.var.numeric(var.header[c]), var.numeric(var.header[c]));
    worst = std::max(worst, d);
    EXPECT_LT(d, 1e-6) << var.header[c];
  }
  std::cout << "  backed QC vs qc_obs_raw/qc_var_raw: max relative deviation " << worst << "\n";
}

// The tutorial's filtering on the backed file: masks and stored numbers as in
// memory, and the golden 2,638 x 13,714 selection.
TEST(BackedPreprocess, FiltersEqualInMemoryAndGolden) {
  RawFile& f = raw_file();
  AnnData mem = f.mem;
  const pp::FilterResult wc = pp::filter_cells(mem, {.min_genes = 200});
  const pp::FilterResult wg = pp::filter_genes(mem, {.min_cells = 3});
  const AnnData cells = f.mem.subset(indices_from_mask(wc.keep), std::nullopt);
  const pp::FilterResult ws = pp::filter_genes(cells.X->get<SparseMatrix>(), {.max_counts = 1000.0});
  for (const BlockRun& run : kRuns) {
      const int64_t rows = run.rows;
      Threads t(run.threads);
      const RowBlockOptions blk{.block_rows = rows};
      io::OpenedBacked b = io::open_backed(f.path);
      const pp::FilterResult gc = bk::filter_cells(b.meta, *b.x, {.min_genes = 200}, blk);
      EXPECT_EQ(gc.keep, wc.keep);
      EXPECT_TRUE(gc.number == wc.number);
      auto x = bk::subset(b.meta, b.x, indices_from_mask(gc.keep), std::nullopt);
      const pp::FilterResult gg = bk::filter_genes(b.meta, *x, {.min_cells = 3}, blk);
      EXPECT_EQ(gg.keep, wg.keep);
      EXPECT_TRUE(gg.number == wg.number);
      // Sums of float32 counts, too (max_counts compares in float32).
      const pp::FilterResult gs = bk::filter_genes(*x, {.max_counts = 1000.0}, blk);
      EXPECT_EQ(gs.keep, ws.keep);
      EXPECT_TRUE(gs.number == ws.number);
    }
  io::OpenedBacked b = io::open_backed(f.path);
  auto x = b.x;
  x = bk::subset(b.meta, x, indices_from_mask(bk::filter_cells(b.meta, *x, {.min_genes = 200}).keep), std::nullopt);
  x = bk::subset(b.meta, x, std::nullopt, indices_from_mask(bk::filter_genes(b.meta, *x, {.min_cells = 3}).keep));
  EXPECT_EQ(b.meta.var_names(), golden::read_lines(golden::shared("golden/pbmc3k/genes_after_filter_genes.txt")));
  bk::calculate_qc_metrics(b.meta, *x, {.qc_vars = {"mt"}, .percent_top = std::nullopt, .inplace = true, .log1p = false});
  std::vector<bool> keep(static_cast<size_t>(b.meta.n_obs()));
  const auto ng = b.meta.obs.numeric("n_genes_by_counts"), mt = b.meta.obs.numeric("pct_counts_mt");
  for (size_t i = 0; i < keep.size(); ++i) keep[i] = ng[i] < 2500 && mt[i] < 5;
  x = bk::subset(b.meta, x, indices_from_mask(keep), std::nullopt);
  EXPECT_EQ(x->n_obs(), 2638);
  EXPECT_EQ(x->n_vars(), 13714);
  EXPECT_EQ(b.meta.obs_names(), golden::read_lines(golden::shared("golden/pbmc3k/filtered_barcodes.txt")));
  // The streamed submatrix is the golden filtered count matrix.
  const AnnData want = golden::pbmc3k_filtered_counts();
  const Element got = gather_rows(*x);
  EXPECT_TRUE(got.get<SparseMatrix>() == want.X->get<SparseMatrix>());
}

// normalize_total + log1p streamed into a new file equal the in-memory
// matrix bit for bit; the input file is left untouched.
TEST(BackedPreprocess, NormalizeLog1pWrittenToNewFileEqualInMemory) {
  scanpp::testing::TempDir dir;
  const std::string in = dir.file("counts.h5ad");
  io::write_h5ad(golden::pbmc3k_filtered_counts(), in);
  const std::string before = file_bytes(in);
  AnnData mem = golden::pbmc3k_filtered_counts();
  const pp::NormalizeTotalResult wr = pp::normalize_total(mem, {.target_sum = 1e4, .key_added = "size_factor"});
  pp::log1p(mem);
  for (const BlockRun& run : kRuns) {
      const int64_t rows = run.rows;
      Threads t(run.threads);
      const RowBlockOptions blk{.block_rows = rows};
      io::OpenedBacked b = io::open_backed(in);
      auto x = bk::normalize_total(b.meta, b.x, {.target_sum = 1e4, .key_added = "size_factor"}, blk);
      x = bk::log1p(b.meta, x);
      const std::string out = dir.file("norm_" + std::to_string(rows) + "_" + std::to_string(run.threads) + ".h5ad");
      bk::write_h5ad_from_blocks(b.meta, *x, out, {}, blk);
      const AnnData got = io::read_h5ad(out);
      ASSERT_TRUE(got.X && got.X->is<SparseMatrix>());
      EXPECT_TRUE(got.X->get<SparseMatrix>() == mem.X->get<SparseMatrix>()) << "block_rows " << rows;
      EXPECT_TRUE(got.obs.at("size_factor") == mem.obs.at("size_factor"));
      EXPECT_TRUE(got.uns.count("log1p"));
      EXPECT_EQ(got.obs_names(), mem.obs_names());
      EXPECT_EQ(got.var_names(), mem.var_names());
    }
  EXPECT_EQ(file_bytes(in), before) << "the backed input must never change";
  // Median target and exclude_highly_expressed (the extra golden's options).
  AnnData mem2 = golden::pbmc3k_filtered_counts();
  const pp::NormalizeTotalOptions ex{.exclude_highly_expressed = true, .max_fraction = 0.05, .key_added = "norm_total"};
  const pp::NormalizeTotalResult w2 = pp::normalize_total(mem2, ex);
  for (int64_t rows : {int64_t{7}, int64_t{0}}) {
    io::OpenedBacked b = io::open_backed(in);
    const pp::NormalizeTotalResult g2 = bk::normalize_total_factors(*b.x, ex, {.block_rows = rows});
    EXPECT_EQ(g2.target_sum, w2.target_sum);
    EXPECT_EQ(g2.gene_subset, w2.gene_subset);
    EXPECT_TRUE(g2.counts_per_cell == w2.counts_per_cell);
    EXPECT_TRUE(g2.norm_factor == w2.norm_factor);
    const Element gx = gather_rows(*bk::normalized(b.x, g2));
    EXPECT_TRUE(gx.get<SparseMatrix>() == mem2.X->get<SparseMatrix>());
  }
  (void)wr;
}

// HVG statistics by streaming: identical to the in-memory kernel, and
// Scanpy's table (1e-5 relative, the same 1,838 genes).
TEST(BackedPreprocess, HighlyVariableGenesEqualInMemoryAndGolden) {
  AnnData mem = golden::pbmc3k_filtered_counts();
  pp::normalize_total(mem, {.target_sum = 1e4});
  pp::log1p(mem);
  const SparseMatrix logx = mem.X->get<SparseMatrix>();
  auto src = std::make_shared<MatrixRowSource>(logx);
  const pp::HighlyVariableGenesOptions seurat{.min_disp = 0.5, .min_mean = 0.0125, .max_mean = 3};
  const pp::HvgResult want = pp::highly_variable_genes(logx, seurat);
  const pp::HighlyVariableGenesOptions cr{.n_top_genes = 2000, .flavor = pp::HvgFlavor::CellRanger};
  const pp::HvgResult want_cr = pp::highly_variable_genes(logx, cr);
  for (const BlockRun& run : kRuns) {
      const int64_t rows = run.rows;
      Threads t(run.threads);
      const RowBlockOptions blk{.block_rows = rows};
      const pp::HvgResult got = bk::highly_variable_genes(*src, seurat, {}, blk);
      // Per-gene sums are added in the in-memory order, so the bits agree.
      EXPECT_EQ(got.means, want.means) << rows;
      // (max_rel_dev: NaN dispersions of unexpressed genes must match NaN.)
      EXPECT_EQ(golden::max_rel_dev(got.dispersions, want.dispersions), 0.0) << rows;
      EXPECT_EQ(golden::max_rel_dev(got.dispersions_norm, want.dispersions_norm), 0.0) << rows;
      EXPECT_EQ(got.highly_variable, want.highly_variable) << rows;
      const pp::HvgResult got_cr = bk::highly_variable_genes(*src, cr, {}, blk);
      EXPECT_EQ(got_cr.means, want_cr.means) << rows;
      EXPECT_EQ(got_cr.highly_variable, want_cr.highly_variable) << rows;
    }
  // Through the AnnData-level call on a backed view, against Scanpy.
  AnnData meta = golden::pbmc3k_filtered_counts();
  meta.X.reset();
  meta.uns["log1p"] = Element(Dict{});
  bk::highly_variable_genes(meta, *src, seurat);
  const golden::Csv g = golden::read_csv(golden::shared("golden/pbmc3k/hvg_table.csv"));
  ASSERT_EQ(g.text("gene"), meta.var_names());
  // As the in-memory golden test: dispersions relative to max(|value|, 1).
  EXPECT_LT(golden::max_rel_dev(meta.var.numeric("means"), g.numeric("means")), 1e-5);
  for (const char* col : {"dispersions", "dispersions_norm"})
    EXPECT_LT(golden::max_rel_dev(meta.var.numeric(col), g.numeric(col), 1.0), 1e-5) << col;
  const auto hv = meta.var.boolean("highly_variable");
  const auto ghv = g.numeric("highly_variable");
  int64_t n = 0, same = 0;
  for (size_t i = 0; i < hv.size(); ++i) {
    n += hv[i];
    same += hv[i] == (ghv[i] != 0);
  }
  EXPECT_EQ(n, 1838);
  EXPECT_EQ(same, static_cast<int64_t>(hv.size()));
  EXPECT_EQ(std::get<std::string>(meta.uns.at("hvg").get<Dict>().at("flavor").value), "seurat");
}

// Every flavor with and without batches (three uneven batches and an empty
// category): the streamed per-set sums give the in-memory results bit for bit.
TEST(BackedPreprocess, HighlyVariableGenesAllFlavorsAndBatchesEqualInMemory) {
  AnnData counts = golden::pbmc3k_filtered_counts();
  const SparseMatrix rawx = counts.X->get<SparseMatrix>();
  AnnData logd = counts;
  pp::normalize_total(logd, {.target_sum = 1e4});
  pp::log1p(logd);
  const SparseMatrix logx = logd.X->get<SparseMatrix>();
  const int64_t n = counts.n_obs();
  std::vector<std::string> batch(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) batch[static_cast<size_t>(i)] = i % 5 == 0 ? "b" : (i < n / 2 ? "a" : "c");
  Categorical cat = Categorical::from_strings(batch);
  std::get<std::vector<std::string>>(cat.categories).push_back("unused");  // an empty batch
  counts.obs.set("batch", cat);
  logd.obs.set("batch", cat);

  struct Case {
    pp::HighlyVariableGenesOptions o;
    bool counts;
  };
  const std::vector<Case> cases = {
      {{.n_top_genes = 1000, .flavor = pp::HvgFlavor::Seurat, .batch_key = "batch"}, false},
      {{.flavor = pp::HvgFlavor::Seurat, .batch_key = "batch"}, false},
      {{.n_top_genes = 1000, .flavor = pp::HvgFlavor::CellRanger, .batch_key = "batch"}, false},
      {{.n_top_genes = 1000, .flavor = pp::HvgFlavor::SeuratV3}, true},
      {{.n_top_genes = 1000, .flavor = pp::HvgFlavor::SeuratV3, .batch_key = "batch"}, true},
      {{.n_top_genes = 800, .flavor = pp::HvgFlavor::SeuratV3Paper, .batch_key = "batch"}, true},
  };
  for (const Case& c : cases) {
    const AnnData& mem = c.counts ? counts : logd;
    AnnData want = mem;
    pp::highly_variable_genes(want, c.o);
    auto src = std::make_shared<MatrixRowSource>(c.counts ? rawx : logx);
    for (const BlockRun& run : {kRuns[2], kRuns[4], kRuns[5]}) {
      Threads t(run.threads);
      AnnData meta = mem;
      meta.X.reset();
      bk::highly_variable_genes(meta, *src, c.o, {.block_rows = run.rows});
      const std::string what = std::string(pp::hvg_flavor_name(c.o.flavor)) + (c.o.batch_key ? " batch, " : ", ") +
                               run.name();
      for (const auto& [name, col] : want.var.columns()) {
        ASSERT_TRUE(meta.var.has(name)) << name << ", " << what;
        EXPECT_EQ(golden::max_rel_dev(meta.var.numeric(name), want.var.numeric(name)), 0.0) << name << ", " << what;
      }
      EXPECT_EQ(meta.var.boolean("highly_variable"), want.var.boolean("highly_variable")) << what;
    }
  }
}

TEST(BackedPreprocess, ClearErrors) {
  scanpp::testing::TempDir dir;
  AnnData a = golden::pbmc3k_filtered_counts();
  a.X = Element(convert_format(a.X->get<SparseMatrix>(), SparseFormat::CSC));
  io::write_h5ad(a, dir.file("csc.h5ad"));
  EXPECT_THROW(io::open_backed(dir.file("csc.h5ad")), InputError);
  auto src = std::make_shared<MatrixRowSource>(golden::pbmc3k_filtered_counts().X->get<SparseMatrix>());
  EXPECT_THROW(bk::highly_variable_genes(*src, {.n_top_genes = 0}), ValueError);
  EXPECT_THROW(bk::filter_cells(*src, {.min_counts = 1, .min_genes = 1}), ValueError);
  EXPECT_THROW(bk::filter_genes(*src, {}), ValueError);
  EXPECT_THROW(bk::normalize_total_factors(*src, {.max_fraction = 2}), ValueError);
  EXPECT_THROW(bk::log1p(src, -1.0), ValueError);
}
