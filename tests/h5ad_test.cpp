#include "scanpp/io/h5ad.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>
#include <thread>

#include "example_adata.hpp"
#include "scanpp/core/parallel.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using scanpp::testing::shared;
using scanpp::testing::TempDir;
using scanpp::testing::example_adata;

TEST(H5adRead, Pbmc68kReducedComplete) {
  AnnData ad = io::read_h5ad(shared("data/pbmc68k_reduced/pbmc68k_reduced.h5ad"));
  EXPECT_EQ(ad.n_obs(), 700);
  EXPECT_EQ(ad.n_vars(), 765);
  ASSERT_TRUE(ad.X && ad.X->is<Array>());
  EXPECT_EQ(ad.X->get<Array>().dtype(), DType::Float32);
  // obs: 'index' is the index name in this file; categoricals with int8 codes.
  EXPECT_EQ(ad.obs.index_name(), "index");
  EXPECT_EQ(ad.obs.index()[0], "AAAGCCTGGCTAAC-1");
  auto& bulk = std::get<Categorical>(ad.obs.at("bulk_labels"));
  EXPECT_EQ(bulk.n_categories(), 10);
  EXPECT_EQ(std::get<Categorical>(ad.obs.at("louvain")).n_categories(), 11);
  EXPECT_EQ(std::get<Array>(ad.obs.at("n_genes")).dtype(), DType::Int64);
  EXPECT_EQ(std::get<Array>(ad.var.at("highly_variable")).dtype(), DType::Bool);
  EXPECT_EQ(ad.obsm.at("X_pca").get<Array>().shape(), (std::vector<int64_t>{700, 50}));
  EXPECT_EQ(ad.obsm.at("X_umap").get<Array>().dtype(), DType::Float64);
  auto& conn = ad.obsp.at("connectivities").get<SparseMatrix>();
  EXPECT_EQ(conn.nnz(), 9992);
  EXPECT_EQ(conn.dtype(), DType::Float64);
  ASSERT_TRUE(ad.raw);
  EXPECT_EQ(ad.raw->n_vars(), 765);
  EXPECT_EQ(ad.raw->X->get<SparseMatrix>().nnz(), 174400);
  auto& rgg = ad.uns.at("rank_genes_groups").get<Dict>();
  auto& names = rgg.at("names").get<RecArray>();
  EXPECT_EQ(names.n_records, 100);
  EXPECT_EQ(names.fields.size(), 10u);
  EXPECT_EQ(names.fields[0].name, "CD4+/CD25 T Reg");
  EXPECT_TRUE(std::holds_alternative<std::vector<std::string>>(names.fields[0].values));
  auto& scores = rgg.at("scores").get<RecArray>();
  EXPECT_EQ(std::get<Array>(scores.fields[0].values).dtype(), DType::Float32);
  EXPECT_EQ(ad.uns.at("neighbors").get<Dict>().at("params").get<Dict>().at("method").get<std::string>(), "umap");
  EXPECT_EQ(ad.uns.at("louvain_colors").get<StringArray>().values.size(), 11u);
}

TEST(H5adRead, GoldenPbmc3kComplete) {
  AnnData ad = io::read_h5ad(shared("golden/pbmc3k/pbmc3k_scanpy.h5ad"));
  EXPECT_EQ(ad.n_obs(), 2638);
  EXPECT_EQ(ad.n_vars(), 1838);
  EXPECT_EQ(ad.obs.index_name(), "");
  EXPECT_EQ(std::get<Categorical>(ad.obs.at("leiden")).n_categories(), 9);
  EXPECT_EQ(ad.raw->X->get<SparseMatrix>().nnz(), 2238732);
  EXPECT_EQ(ad.raw->var.n_rows(), 13714);
  EXPECT_EQ(ad.uns.at("iroot").get<Array>().scalar_value<int64_t>(), 0);
  EXPECT_TRUE(ad.uns.at("pca").get<Dict>().at("params").get<Dict>().at("zero_center").get<Array>().scalar_value<Bool8>());
  EXPECT_TRUE(ad.uns.at("log1p").get<Dict>().empty());
  auto& pvals = ad.uns.at("rgg_ttest").get<Dict>().at("pvals").get<RecArray>();
  EXPECT_EQ(pvals.n_records, 13714);
  EXPECT_EQ(std::get<Array>(pvals.fields[3].values).dtype(), DType::Float64);
  EXPECT_EQ(ad.varm.at("PCs").get<Array>().shape(), (std::vector<int64_t>{1838, 50}));
}


TEST(H5adWrite, RoundTripKeepsEverything) {
  TempDir tmp;
  AnnData ad = example_adata();
  for (int level : {-1, 4}) {
    const std::string p = tmp.file("rt" + std::to_string(level) + ".h5ad");
    io::write_h5ad(ad, p, {.compression = level});
    AnnData back = io::read_h5ad(p);
    AnnData expected = ad;
    expected.uns.erase("none");  // None is dropped, as anndata 0.8 does
    // 'uniq' stays strings (no duplicates); everything else keeps its type.
    EXPECT_TRUE(back.obs == expected.obs);
    EXPECT_TRUE(back.var == expected.var);
    EXPECT_TRUE(back.X == expected.X);
    EXPECT_TRUE(back.obsm == expected.obsm);
    EXPECT_TRUE(back.varm == expected.varm);
    EXPECT_TRUE(back.obsp == expected.obsp);
    EXPECT_TRUE(back.layers == expected.layers);
    EXPECT_TRUE(back.uns == expected.uns);
    EXPECT_TRUE(back.raw == expected.raw);
  }
}

TEST(H5adWrite, StringColumnsWithRepeatsBecomeCategoricals) {
  TempDir tmp;
  AnnData ad = example_adata();
  ad.obs.set("batch", std::vector<std::string>{"b10", "b2", "b2", "b1"});
  io::write_h5ad(ad, tmp.file("a.h5ad"));
  AnnData back = io::read_h5ad(tmp.file("a.h5ad"));
  auto& c = std::get<Categorical>(back.obs.at("batch"));
  EXPECT_EQ(c.string_categories(), (std::vector<std::string>{"b1", "b2", "b10"}));  // natural order
  EXPECT_EQ(c.codes, (std::vector<int32_t>{2, 1, 1, 0}));
}

TEST(H5adWrite, GoldenFileRoundTripsLosslessly) {
  TempDir tmp;
  AnnData ad = io::read_h5ad(shared("golden/pbmc3k/pbmc3k_scanpy.h5ad"));
  io::write_h5ad(ad, tmp.file("g.h5ad"), {.compression = 1});
  AnnData back = io::read_h5ad(tmp.file("g.h5ad"));
  EXPECT_TRUE(back == ad);
}

// No object carries a modification time, so the same data written twice,
// seconds apart (HDF5's times have 1 s resolution), give the same bytes,
// compressed or not, and with 1 or 2 threads.
TEST(H5adWrite, SameDataSameBytes) {
  TempDir tmp;
  const AnnData ad = example_adata();
  const auto bytes = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const int before = num_threads();
  for (int level : {-1, 4}) {
    const std::string a = tmp.file("a.h5ad"), b = tmp.file("b.h5ad");
    set_num_threads(1);
    io::write_h5ad(ad, a, {.compression = level});
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    set_num_threads(2);
    io::write_h5ad(ad, b, {.compression = level});
    const std::string x = bytes(a), y = bytes(b);
    EXPECT_GT(x.size(), 1000u);
    EXPECT_TRUE(x == y) << "compression " << level;
  }
  set_num_threads(before);
}

TEST(H5adWrite, InterruptedWriteLeavesOldFile) {
  TempDir tmp;
  AnnData ad = example_adata();
  const std::string p = tmp.file("keep.h5ad");
  io::write_h5ad(ad, p);
  AnnData bad = ad;
  bad.uns["bad/key"] = "x";  // invalid key: the write fails midway
  EXPECT_THROW(io::write_h5ad(bad, p), ValueError);
  AnnData back = io::read_h5ad(p);
  EXPECT_EQ(back.n_obs(), 4);
  // No temporary file is left behind.
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(tmp.path())) n += e.is_regular_file();
  EXPECT_EQ(n, 1);
}

TEST(H5adBacked, CsrRowBlocksEqualInMemoryRows) {
  TempDir tmp;
  AnnData ad = io::read_h5ad(shared("golden/pbmc3k/pbmc3k_scanpy.h5ad"));
  AnnData counts;
  counts.obs = ad.obs;
  counts.var = ad.raw->var;
  counts.X = ad.raw->X;
  io::write_h5ad(counts, tmp.file("c.h5ad"));
  io::BackedAnnData b(tmp.file("c.h5ad"));
  EXPECT_TRUE(b.x_is_sparse());
  EXPECT_FALSE(b.meta().X.has_value());
  EXPECT_EQ(b.n_obs(), 2638);
  const auto& full = counts.X->get<SparseMatrix>();
  int64_t rows = 0, nnz = 0;
  b.for_each_block(500, [&](const Element& blk, int64_t s, int64_t e) {
    auto& m = blk.get<SparseMatrix>();
    EXPECT_EQ(m.n_rows, e - s);
    std::vector<int64_t> idx;
    for (int64_t i = s; i < e; ++i) idx.push_back(i);
    EXPECT_TRUE(take_rows(Element(full), idx) == blk);
    rows += m.n_rows;
    nnz += m.nnz();
  });
  EXPECT_EQ(rows, 2638);
  EXPECT_EQ(nnz, full.nnz());
}

TEST(H5adBacked, DenseRowBlocks) {
  io::BackedAnnData b(shared("golden/pbmc3k/pbmc3k_scanpy.h5ad"));
  EXPECT_FALSE(b.x_is_sparse());
  AnnData ad = io::read_h5ad(shared("golden/pbmc3k/pbmc3k_scanpy.h5ad"));
  Element blk = b.read_rows(100, 130);
  std::vector<int64_t> idx;
  for (int64_t i = 100; i < 130; ++i) idx.push_back(i);
  EXPECT_TRUE(blk == take_rows(*ad.X, idx));
}

TEST(H5adErrors, BadFilesGiveClearErrors) {
  TempDir tmp;
  EXPECT_THROW(io::read_h5ad(tmp.file("missing.h5ad")), InputError);
  {
    std::ofstream(tmp.file("text.h5ad")) << "not hdf5";
    try {
      io::read_h5ad(tmp.file("text.h5ad"));
      FAIL();
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("not an HDF5 file"), std::string::npos);
    }
  }
  // Truncated: the first half of a real file.
  {
    std::ifstream in(shared("data/pbmc68k_reduced/pbmc68k_reduced.h5ad"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(tmp.file("trunc.h5ad"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    EXPECT_THROW(io::read_h5ad(tmp.file("trunc.h5ad")), InputError);
  }
  // An HDF5 file that is not an h5ad.
  {
    h5::Handle f = h5::create_file(tmp.file("other.h5"));
    h5::write_array(f, "x", Array::from_vector(std::vector<int32_t>{1, 2}));
  }
  try {
    io::read_h5ad(tmp.file("other.h5"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not an .h5ad"), std::string::npos);
  }
}

TEST(H5adErrors, CorruptSparseStructure) {
  TempDir tmp;
  AnnData ad = example_adata();
  io::write_h5ad(ad, tmp.file("a.h5ad"));
  // Break indptr monotonicity and an index, each in its own copy.
  auto corrupt = [&](const std::string& name, const std::string& dset, int64_t pos, int64_t value) {
    std::filesystem::copy_file(tmp.file("a.h5ad"), tmp.file(name));
    h5::Handle f = h5::open_file(tmp.file(name), true);
    h5::Handle d(H5Dopen2(f, dset.c_str(), H5P_DEFAULT));
    h5::Handle fs(H5Dget_space(d));
    hsize_t st = static_cast<hsize_t>(pos), one = 1;
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &st, nullptr, &one, nullptr);
    h5::Handle ms(H5Screate_simple(1, &one, nullptr));
    H5Dwrite(d, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, &value);
  };
  corrupt("indptr.h5ad", "X/indptr", 2, 5);
  corrupt("indices.h5ad", "X/indices", 1, 7);
  try {
    io::read_h5ad(tmp.file("indptr.h5ad"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/X/indptr"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("monotonic"), std::string::npos) << e.what();
  }
  try {
    io::read_h5ad(tmp.file("indices.h5ad"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos) << e.what();
  }
}
