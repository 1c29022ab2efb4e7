// The whole PBMC 3k tutorial as the README's main job runs it
// (examples/pbmc3k.yaml), checked end to end against Scanpy 1.11's goldens.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "golden_support.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/io/npy.hpp"
#include "scanpp/pipeline/pipeline.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using scanpp::testing::shared;

namespace {
std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  return s;
}
std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}
}  // namespace

TEST(Pbmc3kPipeline, ExampleReproducesScanpyGoldens) {
  scanpp::testing::TempDir tmp;
  std::ifstream in(std::string(SCANPP_SOURCE_DIR) + "/examples/pbmc3k.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string yaml = replace_all(ss.str(), "../shared", SCANPP_SHARED_DIR);
  yaml = replace_all(yaml, "out/", tmp.path() + "/");
  AnnData ad;
  pipeline::run_yaml(yaml, "pbmc3k.yaml", {.verbose = false}, &ad);

  // Cells and genes after filtering and HVG selection.
  EXPECT_EQ(ad.obs_names(), lines(shared("golden/pbmc3k/filtered_barcodes.txt")));
  EXPECT_EQ(ad.var_names(), lines(shared("golden/pbmc3k/genes_hvg.txt")));
  EXPECT_EQ(ad.raw->var.index(), lines(shared("golden/pbmc3k/genes_filtered.txt")));
  // X after regress_out + scale.
  const golden::XScaledDeviation dev = golden::x_scaled_deviation(ad.X_dense().as<float>());
  ASSERT_EQ(static_cast<size_t>(dev.size), ad.X_dense().as<float>().size());
  EXPECT_LT(dev.max_abs, 1e-4);
  // First 10 PCs as Scanpy's, sign included.
  Array gp = io::read_npy(shared("golden/pbmc3k/X_pca.npy")).astype(DType::Float64);
  const Array& pca = ad.obsm.at("X_pca").get<Array>();
  const int64_t n = ad.n_obs(), k = pca.shape()[1], kg = gp.shape()[1];
  for (int64_t c = 0; c < 10; ++c) {
    std::vector<double> a(n), b(n);
    for (int64_t i = 0; i < n; ++i) a[i] = pca.get_double(i * k + c), b[i] = gp.get_double(i * kg + c);
    EXPECT_GT(golden::pearson(a, b), 0.9999) << "PC " << c;
  }
  // The graph, UMAP and Leiden ran and were written under Scanpy's keys.
  EXPECT_EQ(ad.obsp.at("distances").get<SparseMatrix>().nnz(), 2638 * 9);
  EXPECT_TRUE(ad.obsm.count("X_umap"));
  EXPECT_GE(std::get<Categorical>(ad.obs.at("leiden")).n_categories(), 6);
  // Marker genes, PAGA, t-SNE and ForceAtlas2 ran.
  EXPECT_TRUE(ad.uns.count("rank_genes_groups"));
  EXPECT_TRUE(ad.uns.count("paga"));
  EXPECT_TRUE(ad.obsm.count("X_tsne"));
  EXPECT_TRUE(ad.obsm.count("X_draw_graph_fa"));
  // Every figure of the tutorial was written as a PNG of sensible size.
  for (const char* f : {"highest_expr_genes", "qc_violin", "qc_scatter_mt", "highly_variable_genes", "pca_variance_ratio",
                        "umap_leiden", "umap_CST3_NKG7_PPBP", "rank_genes_groups", "dotplot_markers",
                        "stacked_violin_markers", "paga", "tsne_leiden", "draw_graph_fa_leiden"}) {
    const std::string path = tmp.file(std::string("figures/") + f + ".png");
    std::ifstream png(path, std::ios::binary);
    ASSERT_TRUE(png.good()) << path;
    char sig[8] = {};
    png.read(sig, 8);
    EXPECT_EQ(std::string(sig + 1, 3), "PNG") << path;
    png.seekg(0, std::ios::end);
    EXPECT_GT(png.tellg(), 10000) << path;
  }
  AnnData back = io::read_h5ad(tmp.file("pbmc3k.h5ad"));
  EXPECT_TRUE(back.obsm == ad.obsm);
  EXPECT_TRUE(back.obs == ad.obs);
}
