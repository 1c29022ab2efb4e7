// The 2018 preprocessing API (normalize_per_cell, filter_genes_dispersion)
// and the recipes zheng17 / seurat / weinreb17, against the same steps
// written out in numpy/pandas the way Scanpy 1.11 computes them
// (tests/interop/legacy_preprocessing.py), on the filtered PBMC 3k counts.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "golden_support.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/npy.hpp"
#include "scanpp/pp/filter_genes_dispersion.hpp"
#include "scanpp/pp/normalize_per_cell.hpp"
#include "scanpp/pp/normalize_total.hpp"
#include "scanpp/pp/recipes.hpp"
#include "test_paths.hpp"

using namespace scanpp;

namespace {

const io::NpzFile& reference() {
  static const io::NpzFile ref = [] {
    static scanpp::testing::TempDir tmp;
    const std::string out = tmp.file("legacy_ref.npz");
    std::string log;
    const int rc = scanpp::testing::run_command("/usr/bin/python3 " + std::string(SCANPP_SOURCE_DIR) +
                                            "/tests/interop/legacy_preprocessing.py " +
                                            golden::shared("golden/pbmc3k/counts_filtered_csr.npz") + " " + out,
                                        &log);
    if (rc != 0) throw std::runtime_error("reference script failed: " + log);
    return io::read_npz(out);
  }();
  return ref;
}

std::vector<double> reference_values(const std::string& key) { return golden::as_doubles(reference().array(key)); }

std::vector<bool> ref_bool(const std::string& key) {
  std::vector<bool> out;
  for (double v : reference_values(key)) out.push_back(v != 0);
  return out;
}

// Largest |a - b| / max(|b|, floor), NaN matching NaN.
double dev(const std::vector<double>& a, const std::vector<double>& b, double floor = 1e-12) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) {
      if (std::isnan(a[i]) != std::isnan(b[i])) return INFINITY;
      continue;
    }
    if (std::isinf(a[i]) || std::isinf(b[i])) {
      if (a[i] != b[i]) return INFINITY;
      continue;
    }
    m = std::max(m, std::abs(a[i] - b[i]) / std::max(std::abs(b[i]), floor));
  }
  return m;
}

std::vector<double> matrix_values(const Element& x) {
  if (x.is<SparseMatrix>()) return golden::as_doubles(x.get<SparseMatrix>().data);
  return golden::as_doubles(x.get<Array>());
}

AnnData normalized_1e4() {
  AnnData a = golden::pbmc3k_filtered_counts();
  pp::normalize_total(a, {.target_sum = 1e4});
  return a;
}

}  // namespace

TEST(NormalizePerCell, MatchesScanpysSteps) {
  AnnData a = golden::pbmc3k_filtered_counts();
  pp::normalize_per_cell(a);
  EXPECT_EQ(a.n_obs(), 2638);
  const double dc = dev(a.obs.numeric("n_counts"), reference_values("npc_counts"));
  const double dx = dev(matrix_values(*a.X), reference_values("npc_data"));
  std::cout << "  normalize_per_cell: n_counts max rel dev " << dc << ", X " << dx << "\n";
  EXPECT_LT(dc, 1e-6);
  EXPECT_LT(dx, 1e-6);
  // Every cell now sums to the median total.
  const SparseMatrix& m = a.X_sparse();
  std::vector<double> totals = a.obs.numeric("n_counts");
  std::sort(totals.begin(), totals.end());
  const double median = (totals[1318] + totals[1319]) / 2;
  for (int64_t r = 0; r < m.n_rows; r += 97) {
    double s = 0;
    for (int64_t k = m.indptr[static_cast<size_t>(r)]; k < m.indptr[static_cast<size_t>(r) + 1]; ++k) s += m.data.get_double(k);
    EXPECT_NEAR(s, median, median * 1e-5);
  }
}

TEST(NormalizePerCell, DropsCellsBelowMinCountsAndKeepsTheirTotals) {
  AnnData a = golden::pbmc3k_filtered_counts();
  pp::normalize_per_cell(a, {.counts_per_cell_after = 1e4, .key_n_counts = "n_counts_all", .min_counts = 3000});
  const std::vector<double> kept = a.obs.numeric("n_counts_all");
  ASSERT_GT(a.n_obs(), 0);
  EXPECT_LT(a.n_obs(), 2638);
  for (double t : kept) EXPECT_GE(t, 3000);
  EXPECT_THROW(pp::normalize_per_cell(a, {.use_rep = std::string("Y")}), ValueError);
  EXPECT_THROW(pp::normalize_per_cell(a, {.layers = {"absent"}}), KeyError);
}

TEST(FilterGenesDispersion, EveryVariantMatchesScanpysSteps) {
  const AnnData base = normalized_1e4();
  struct Variant {
    std::string name;
    pp::FilterGenesDispersionOptions opts;
  };
  const std::vector<Variant> variants = {
      {"seurat_log", {.log = true}},
      {"seurat_nolog", {.log = false}},
      {"seurat_top", {.n_top_genes = 800, .log = true}},
      {"ranger_top", {.flavor = pp::HvgFlavor::CellRanger, .n_top_genes = 1000, .log = false}},
  };
  for (const auto& v : variants) {
    const pp::FilterGenesDispersionResult r = pp::filter_genes_dispersion(base.X->get<SparseMatrix>(), v.opts);
    const std::string k = "fgd_" + v.name;
    const double dm = dev(r.means, reference_values(k + "_means"));
    const double dd = dev(r.dispersions, reference_values(k + "_disp"), 1.0);
    const double dz = dev(std::vector<double>(r.dispersions_norm.begin(), r.dispersions_norm.end()), reference_values(k + "_norm"), 1.0);
    const std::vector<bool> want = ref_bool(k + "_subset");
    int64_t n = 0, bad = 0;
    for (size_t g = 0; g < want.size(); ++g) {
      n += r.gene_subset[g];
      bad += r.gene_subset[g] != want[g];
    }
    std::cout << "  " << v.name << ": " << n << " genes, " << bad << " differ; max dev means " << dm << ", dispersions "
              << dd << ", dispersions_norm " << dz << "\n";
    EXPECT_LT(dm, 1e-9) << v.name;
    EXPECT_LT(dd, 1e-7) << v.name;
    EXPECT_LT(dz, 1e-5) << v.name;
    EXPECT_EQ(bad, 0) << v.name;
  }
}

TEST(FilterGenesDispersion, AnnDataSubsetsOrAnnotates) {
  AnnData a = normalized_1e4();
  pp::filter_genes_dispersion(a, {.subset = false});
  EXPECT_EQ(a.n_vars(), 13714);
  int64_t n = 0;
  for (bool b : a.var.boolean("highly_variable")) n += b;
  EXPECT_EQ(n, 1838);
  EXPECT_EQ(std::get<Array>(a.var.at("dispersions_norm")).dtype(), DType::Float32);
  pp::filter_genes_dispersion(a, {});
  EXPECT_EQ(a.n_vars(), 1838);
  EXPECT_THROW(pp::filter_genes_dispersion(a, {.flavor = pp::HvgFlavor::SeuratV3}), ValueError);
}

TEST(Recipes, Zheng17MatchesScanpysSteps) {
  AnnData a = golden::pbmc3k_filtered_counts();
  pp::recipe_zheng17(a);
  const std::vector<double> genes = reference_values("zheng17_genes");
  ASSERT_EQ(a.n_vars(), static_cast<int64_t>(genes.size()));
  const std::vector<std::string> all = golden::pbmc3k_filtered_counts().var_names();
  for (size_t g = 0; g < genes.size(); ++g) ASSERT_EQ(a.var_names()[g], all[static_cast<size_t>(genes[g])]);
  EXPECT_TRUE(a.obs.has("n_counts_all"));
  const double dx = dev(matrix_values(*a.X), reference_values("zheng17_X"), 1.0);
  std::cout << "  zheng17: " << a.n_vars() << " genes, X max dev " << dx << "\n";
  EXPECT_LT(dx, 1e-5);
}

TEST(Recipes, SeuratMatchesScanpysSteps) {
  AnnData a = golden::pbmc3k_filtered_counts();
  pp::recipe_seurat(a);
  const std::vector<double> genes = reference_values("seurat_genes");
  ASSERT_EQ(a.n_vars(), static_cast<int64_t>(genes.size()));
  const std::vector<std::string> all = golden::pbmc3k_filtered_counts().var_names();
  for (size_t g = 0; g < genes.size(); ++g) ASSERT_EQ(a.var_names()[g], all[static_cast<size_t>(genes[g])]);
  const double dx = dev(matrix_values(*a.X), reference_values("seurat_X"), 1.0);
  std::cout << "  seurat: " << a.n_vars() << " genes, X max dev " << dx << "\n";
  EXPECT_LT(dx, 1e-5);
}

TEST(Recipes, Weinreb17NeedsDenseAndGivesPcaOfSelectedGenes) {
  AnnData sparse = golden::pbmc3k_filtered_counts();
  EXPECT_THROW(pp::recipe_weinreb17(sparse), ValueError);
  AnnData a = sparse.subset(Indices{[] {
                              std::vector<int64_t> v;
                              for (int64_t i = 0; i < 600; ++i) v.push_back(i);
                              return v;
                            }()},
                            std::nullopt);
  a.X = Element(to_dense(a.X_sparse()));
  pp::recipe_weinreb17(a, {.n_pcs = 10});
  ASSERT_TRUE(a.obsm.count("X_pca"));
  const Array& pcs = a.obsm.at("X_pca").get<Array>();
  EXPECT_EQ(pcs.shape()[0], 600);
  EXPECT_EQ(pcs.shape()[1], 10);
  EXPECT_GT(a.n_vars(), 10);
  EXPECT_LT(a.n_vars(), 13714);
  // The first component carries the most variance.
  double v0 = 0, v9 = 0;
  for (int64_t i = 0; i < 600; ++i) {
    v0 += pcs.get_double(i * 10) * pcs.get_double(i * 10);
    v9 += pcs.get_double(i * 10 + 9) * pcs.get_double(i * 10 + 9);
  }
  EXPECT_GT(v0, v9);
}

TEST(NormalizePerCell, SameResultWithOneAndTwoThreads) {
  AnnData a = golden::pbmc3k_filtered_counts(), b = a;
  set_num_threads(1);
  pp::normalize_per_cell(a);
  set_num_threads(2);
  pp::normalize_per_cell(b);
  EXPECT_TRUE(a.X_sparse().data == b.X_sparse().data);
}
