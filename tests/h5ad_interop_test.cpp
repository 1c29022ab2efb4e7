// Files cross between scanpp and Debian's anndata 0.8 (python3-anndata) in
// both directions, every element kind checked by value.
#include <gtest/gtest.h>

#include <cmath>

#include "example_adata.hpp"
#include "scanpp/io/h5ad.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using scanpp::testing::run_command;
using scanpp::testing::TempDir;

namespace {
std::string py(const std::string& script) {
  return "/usr/bin/python3 " + std::string(SCANPP_SOURCE_DIR) + "/tests/interop/" + script;
}
}  // namespace

TEST(H5adInterop, ScanppReadsEveryElementAnndataWrites) {
  TempDir tmp;
  for (std::string comp : {"", "gzip"}) {
    const std::string p = tmp.file("py" + comp + ".h5ad");
    std::string out;
    ASSERT_EQ(run_command(py("write_all_types.py") + " " + p + " " + comp, &out), 0) << out;
    AnnData a = io::read_h5ad(p);
    ASSERT_EQ(a.n_obs(), 4);
    ASSERT_EQ(a.n_vars(), 3);
    auto& x = a.X_sparse();
    EXPECT_EQ(x.dtype(), DType::Float32);
    EXPECT_EQ(x.indptr, (std::vector<int64_t>{0, 2, 2, 3, 5}));
    EXPECT_EQ(x.indices, (std::vector<int32_t>{0, 2, 1, 0, 1}));
    EXPECT_EQ(x.data.to_vector<float>(), (std::vector<float>{1.5f, 2, 3, 4, 5.25f}));
    EXPECT_EQ(a.obs.index(), (std::vector<std::string>{"c1", "c2", "c3", "c4"}));
    EXPECT_EQ(a.var.index_name(), "symbol");
    EXPECT_EQ(std::get<Array>(a.obs.at("n")).to_vector<int32_t>(), (std::vector<int32_t>{1, 2, 3, 4}));
    EXPECT_EQ(std::get<Array>(a.obs.at("n")).dtype(), DType::Int32);
    auto f = a.obs.numeric("f");
    EXPECT_EQ(f[0], 0.5);
    EXPECT_TRUE(std::isnan(f[1]));
    EXPECT_EQ(a.obs.boolean("flag"), (std::vector<bool>{true, false, true, true}));
    EXPECT_EQ(std::get<std::vector<std::string>>(a.obs.at("uniq")), (std::vector<std::string>{"a", "b", "c", "d"}));
    auto& cat = std::get<Categorical>(a.obs.at("cat"));
    EXPECT_EQ(cat.string_categories(), (std::vector<std::string>{"x", "y", "z"}));
    EXPECT_EQ(cat.codes, (std::vector<int32_t>{0, 1, 0, 2}));
    auto& ord = std::get<Categorical>(a.obs.at("ord"));
    EXPECT_TRUE(ord.ordered);
    EXPECT_EQ(ord.string_categories(), (std::vector<std::string>{"lo", "hi"}));
    EXPECT_EQ(ord.codes, (std::vector<int32_t>{0, 1, 0, -1}));
    auto& nint = std::get<Nullable>(a.obs.at("nint"));
    EXPECT_EQ(nint.mask, (std::vector<uint8_t>{0, 1, 0, 0}));
    EXPECT_EQ(nint.values.get_double(2), 3.0);
    auto& nbool = std::get<Nullable>(a.obs.at("nbool"));
    EXPECT_EQ(nbool.values.dtype(), DType::Bool);
    EXPECT_EQ(nbool.mask, (std::vector<uint8_t>{0, 0, 1, 0}));
    auto& numcat = std::get<Categorical>(a.obs.at("numcat"));
    EXPECT_FALSE(numcat.has_string_categories());
    EXPECT_EQ(numcat.label(1), "20");
    EXPECT_EQ(std::get<Array>(a.var.at("u8")).dtype(), DType::UInt8);
    EXPECT_EQ(std::get<Array>(a.var.at("u8")).get_double(2), 255.0);
    EXPECT_EQ(a.obsm.at("X_pca").get<Array>().get_double(7), 7.0);
    EXPECT_EQ(a.obsm.at("df").get<DataFrame>().numeric("u")[3], 4.0);
    EXPECT_EQ(a.varm.at("PCs").get<Array>().get_double(2), 3.0);
    EXPECT_EQ(a.obsp.at("distances").get<SparseMatrix>().nnz(), 2);
    EXPECT_EQ(a.layers.at("counts").get<Array>().dtype(), DType::Int64);
    EXPECT_EQ(a.layers.at("csc").get<SparseMatrix>().format, SparseFormat::CSC);
    EXPECT_TRUE(convert_format(a.layers.at("csc").get<SparseMatrix>(), SparseFormat::CSR) == x);
    auto& params = a.uns.at("neighbors").get<Dict>().at("params").get<Dict>();
    EXPECT_EQ(params.at("n_neighbors").get<Array>().scalar_value<int64_t>(), 15);
    EXPECT_EQ(params.at("method").get<std::string>(), "umap");
    EXPECT_TRUE(params.at("flag").get<Array>().scalar_value<Bool8>());
    EXPECT_EQ(params.at("ratio").get<Array>().scalar_value<double>(), 0.5);
    EXPECT_EQ(a.uns.at("colors").get<StringArray>().values, (std::vector<std::string>{"#ff0000", "#00ff00"}));
    EXPECT_EQ(a.uns.at("ints").get<Array>().to_vector<int16_t>(), (std::vector<int16_t>{3, 1, 2}));
    EXPECT_EQ(a.uns.at("matrix").get<Array>().shape(), (std::vector<int64_t>{2, 2}));
    auto& rec = a.uns.at("rec").get<RecArray>();
    EXPECT_EQ(std::get<std::vector<std::string>>(rec.field("0").values), (std::vector<std::string>{"g1", "g2"}));
    EXPECT_EQ(std::get<Array>(rec.field("1").values).to_vector<float>(), (std::vector<float>{0.5f, 0.25f}));
    EXPECT_EQ(a.uns.at("pts").get<DataFrame>().numeric("0")[2], 0.3);
    EXPECT_EQ(a.uns.at("text").get<std::string>(), "hello");
    ASSERT_TRUE(a.raw);
    EXPECT_TRUE(*a.raw->X == *a.X);
  }
}

TEST(H5adInterop, AnndataReadsEveryElementScanppWrites) {
  TempDir tmp;
  for (int level : {-1, 4}) {
    const std::string p = tmp.file("cpp" + std::to_string(level) + ".h5ad");
    io::write_h5ad(scanpp::testing::example_adata(), p, {.compression = level});
    std::string out;
    EXPECT_EQ(run_command(py("check_scanpp_file.py") + " " + p, &out), 0) << out;
  }
}

TEST(H5adInterop, PythonFileSurvivesScanppRoundTrip) {
  // anndata writes, scanpp reads and rewrites, anndata compares both files.
  TempDir tmp;
  std::string out;
  ASSERT_EQ(run_command(py("write_all_types.py") + " " + tmp.file("a.h5ad"), &out), 0) << out;
  io::write_h5ad(io::read_h5ad(tmp.file("a.h5ad")), tmp.file("b.h5ad"));
  EXPECT_EQ(run_command(py("compare_h5ad.py") + " " + tmp.file("a.h5ad") + " " + tmp.file("b.h5ad"), &out), 0) << out;
}

TEST(H5adInterop, ReadsAnndata07Layout) {
  TempDir tmp;
  std::string out;
  ASSERT_EQ(run_command(py("write_legacy_h5ad.py") + " v07 " + tmp.file("v07.h5ad"), &out), 0) << out;
  AnnData a = io::read_h5ad(tmp.file("v07.h5ad"));
  EXPECT_EQ(a.obs.index(), (std::vector<std::string>{"a", "b", "c"}));
  auto& cat = std::get<Categorical>(a.obs.at("louvain"));
  EXPECT_EQ(cat.string_categories(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(cat.codes, (std::vector<int32_t>{1, 0, 1}));
  EXPECT_EQ(a.obs.numeric("n"), (std::vector<double>{5, 6, 7}));
  EXPECT_EQ(a.X_sparse().nnz(), 3);
  auto& p = a.uns.at("neighbors").get<Dict>().at("params").get<Dict>();
  EXPECT_EQ(p.at("n_neighbors").get<Array>().scalar_value<int64_t>(), 15);
  EXPECT_EQ(p.at("method").get<std::string>(), "umap");
  EXPECT_EQ(a.uns.at("colors").get<StringArray>().values.size(), 2u);
  ASSERT_TRUE(a.raw);
  EXPECT_EQ(a.raw->var.index()[2], "g3");
}

TEST(H5adInterop, ReadsAnndata06Layout) {
  TempDir tmp;
  std::string out;
  ASSERT_EQ(run_command(py("write_legacy_h5ad.py") + " v06 " + tmp.file("v06.h5ad"), &out), 0) << out;
  AnnData a = io::read_h5ad(tmp.file("v06.h5ad"));
  EXPECT_EQ(a.obs.index(), (std::vector<std::string>{"a", "b", "c"}));
  auto& cat = std::get<Categorical>(a.obs.at("louvain"));  // folded from uns['louvain_categories']
  EXPECT_EQ(cat.string_categories(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(cat.codes, (std::vector<int32_t>{1, 0, 1}));
  EXPECT_FALSE(a.uns.count("louvain_categories"));
  EXPECT_EQ(a.obs.numeric("n_genes")[2], 30.0);
  EXPECT_EQ(std::get<std::vector<std::string>>(a.var.at("gene_ids"))[1], "E2");
  EXPECT_EQ(a.X_sparse().nnz(), 3);
  EXPECT_EQ(a.obsp.at("connectivities").get<SparseMatrix>().nnz(), 2);  // moved out of uns['neighbors']
  ASSERT_TRUE(a.raw);
  EXPECT_EQ(a.raw->X->get<SparseMatrix>().nnz(), 3);
  // And it is written back in the current layout, which anndata 0.8 reads.
  io::write_h5ad(a, tmp.file("new.h5ad"));
  ASSERT_EQ(run_command("/usr/bin/python3 -c \"import anndata; a = anndata.read_h5ad('" + tmp.file("new.h5ad") +
                            "'); assert list(a.obs['louvain']) == ['y', 'x', 'y'], a.obs\"",
                        &out),
            0)
      << out;
}
