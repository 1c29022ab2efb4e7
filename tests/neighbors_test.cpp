// pp::neighbors at the AnnData level: the PBMC 3k golden object's obsp and
// uns['neighbors'] reproduced from its X_pca (n_neighbors=10, n_pcs=40),
// Scanpy's choice of representation and its errors, key_added, the
// approximate path's storage, the small-data adjustment of k, and a round
// trip through write_h5ad read by Python's anndata.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "knn_test_data.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/pp/neighbors.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using scanpp::testing::shared;

namespace {

const AnnData& golden() {
  static const AnnData a = io::read_h5ad(shared("golden/pbmc3k/pbmc3k_scanpy.h5ad"));
  return a;
}

// The golden object without its neighbour graph.
AnnData golden_without_graph() {
  AnnData a = golden();
  a.obsp.clear();
  a.uns.erase("neighbors");
  return a;
}

AnnData small_adata(int64_t n, int d, uint64_t seed) {
  return AnnData(Element(knn_test_data::clustered(n, d, 4, seed)));
}

}  // namespace

TEST(Neighbors, Pbmc3kReproducesScanpyGraph) {
  AnnData a = golden_without_graph();
  pp::neighbors(a, {.n_neighbors = 10, .n_pcs = 40});
  const AnnData& g = golden();

  const auto& dist = a.obsp.at("distances").get<SparseMatrix>();
  const auto& gdist = g.obsp.at("distances").get<SparseMatrix>();
  EXPECT_EQ(dist.dtype(), gdist.dtype());  // float64, as scikit-learn returns it
  EXPECT_EQ(dist.indptr, gdist.indptr);    // 9 per row
  EXPECT_EQ(dist.indices, gdist.indices);  // same neighbours in the same rank order
  const auto dv = dist.data.as<double>(), gv = gdist.data.as<double>();
  double max_rel = 0;
  int64_t equal = 0;
  for (size_t p = 0; p < dv.size(); ++p) {
    max_rel = std::max(max_rel, std::fabs(dv[p] - gv[p]) / gv[p]);
    equal += dv[p] == gv[p];
  }

  const auto& conn = a.obsp.at("connectivities").get<SparseMatrix>();
  const auto& gconn = g.obsp.at("connectivities").get<SparseMatrix>();
  EXPECT_EQ(conn.dtype(), DType::Float32);
  EXPECT_EQ(conn.indptr, gconn.indptr);
  EXPECT_EQ(conn.indices, gconn.indices);
  const std::vector<float> cv = conn.data.to_vector<float>(), gcv = gconn.data.to_vector<float>();
  double max_abs = 0;
  int64_t cequal = 0;
  for (size_t p = 0; p < cv.size() && p < gcv.size(); ++p) {
    max_abs = std::max(max_abs, std::fabs(static_cast<double>(cv[p]) - gcv[p]));
    cequal += cv[p] == gcv[p];
  }
  std::printf("[pbmc3k neighbors] distances: %lld / %zu bit-equal, max rel diff %.3g; connectivities: "
              "%lld / %zu bit-equal, max abs diff %.3g\n",
              static_cast<long long>(equal), dv.size(), max_rel, static_cast<long long>(cequal), cv.size(), max_abs);
  EXPECT_LE(max_rel, 1e-5);
  EXPECT_LE(max_abs, 1e-5);

  // uns['neighbors'] equals the golden's: same keys, values and dtypes.
  EXPECT_EQ(a.uns.at("neighbors"), g.uns.at("neighbors"));
  const Dict& params = a.uns.at("neighbors").get<Dict>().at("params").get<Dict>();
  EXPECT_EQ(params.at("n_pcs").get<Array>().dtype(), DType::Int64);
  EXPECT_EQ(params.at("n_pcs").get<Array>().scalar_value<int64_t>(), 40);
  EXPECT_EQ(params.at("method").get<std::string>(), "umap");
  EXPECT_EQ(params.count("use_rep"), 0u);
}

TEST(Neighbors, OneAndTwoThreadsBitIdentical) {
  const int saved = num_threads();
  AnnData a1 = golden_without_graph(), a2 = a1;
  set_num_threads(1);
  pp::neighbors(a1, {.n_neighbors = 15, .n_pcs = 30});
  set_num_threads(2);
  pp::neighbors(a2, {.n_neighbors = 15, .n_pcs = 30});
  set_num_threads(saved);
  EXPECT_EQ(a1.obsp, a2.obsp);
}

TEST(Neighbors, ChoosesRepresentationLikeScanpy) {
  AnnData a = golden_without_graph();  // 1,838 genes > 50: X_pca is used
  const Array rep = pp::choose_representation(a, std::nullopt, std::nullopt);
  EXPECT_EQ(rep.shape(), (std::vector<int64_t>{2638, 50}));
  EXPECT_EQ(pp::choose_representation(a, std::nullopt, 20).shape()[1], 20);
  EXPECT_THROW(pp::choose_representation(a, std::nullopt, 60), ValueError);
  EXPECT_THROW(pp::choose_representation(a, std::string("X_nothing"), std::nullopt), KeyError);
  EXPECT_EQ(pp::choose_representation(a, std::string("X_umap"), std::nullopt).shape()[1], 2);
  // n_pcs = 0 means .X (Scanpy's backwards compatibility).
  EXPECT_EQ(pp::choose_representation(a, std::nullopt, 0).shape()[1], a.n_vars());
  a.obsm.erase("X_pca");
  try {
    pp::neighbors(a);
    FAIL() << "expected KeyError";
  } catch (const KeyError& e) {
    EXPECT_NE(std::string(e.what()).find("run pp::pca first"), std::string::npos) << e.what();
  }
  // <= 50 variables: X itself.
  AnnData s = small_adata(100, 8, 3);
  EXPECT_EQ(pp::choose_representation(s, std::nullopt, std::nullopt).shape()[1], 8);
}

TEST(Neighbors, KeyAddedUseRepAndMethods) {
  AnnData a = small_adata(300, 6, 9);
  a.obsm["X_rep"] = knn_test_data::clustered(300, 12, 3, 4);
  pp::neighbors(a, {.n_neighbors = 8, .use_rep = std::string("X_rep"), .method = pp::ConnectivityMethod::Gauss,
                    .key_added = std::string("foo")});
  ASSERT_TRUE(a.obsp.count("foo_distances"));
  ASSERT_TRUE(a.obsp.count("foo_connectivities"));
  const Dict& u = a.uns.at("foo").get<Dict>();
  EXPECT_EQ(u.at("connectivities_key").get<std::string>(), "foo_connectivities");
  EXPECT_EQ(u.at("distances_key").get<std::string>(), "foo_distances");
  const Dict& p = u.at("params").get<Dict>();
  EXPECT_EQ(p.at("use_rep").get<std::string>(), "X_rep");
  EXPECT_EQ(p.at("method").get<std::string>(), "gauss");
  EXPECT_EQ(p.count("n_pcs"), 0u);
  EXPECT_EQ(a.obsp.at("foo_connectivities").get<SparseMatrix>().dtype(), DType::Float64);

  pp::neighbors(a, {.n_neighbors = 8, .method = pp::ConnectivityMethod::Jaccard, .metric = "cosine"});
  EXPECT_EQ(a.uns.at("neighbors").get<Dict>().at("params").get<Dict>().at("metric").get<std::string>(), "cosine");
  EXPECT_EQ(a.obsp.at("distances").get<SparseMatrix>().dtype(), DType::Float32);  // sklearn's cosine dtype
  EXPECT_EQ(a.obsp.at("distances").get<SparseMatrix>().nnz(), 300 * 7);

  EXPECT_THROW(pp::neighbors(a, {.knn = false}), ValueError);  // umap needs knn
  pp::neighbors(a, {.n_neighbors = 8, .knn = false, .method = pp::ConnectivityMethod::Gauss});
  EXPECT_EQ(a.obsp.at("distances").get<Array>().shape(), (std::vector<int64_t>{300, 300}));
  EXPECT_EQ(a.obsp.at("connectivities").get<Array>().shape(), (std::vector<int64_t>{300, 300}));
  EXPECT_THROW(pp::neighbors(a, {.metric = "hamming"}), ValueError);
  EXPECT_THROW(pp::neighbors(a, {.n_neighbors = 1}), ValueError);
}

TEST(Neighbors, SmallDataShrinksK) {
  AnnData a = small_adata(9, 3, 1);
  pp::neighbors(a, {.n_neighbors = 15});
  // k > n_obs → 1 + floor(n_obs / 2) = 5, stored as such.
  EXPECT_EQ(a.uns.at("neighbors").get<Dict>().at("params").get<Dict>().at("n_neighbors").get<Array>().scalar_value<int64_t>(), 5);
  EXPECT_EQ(a.obsp.at("distances").get<SparseMatrix>().nnz(), 9 * 4);
}

TEST(Neighbors, ApproximatePathStoresSelfPlusK) {
  // 9,000 cells >= 8,192: Scanpy would use pynndescent and store its raw
  // output (self as an explicit 0 + k neighbours, float32).
  AnnData a = small_adata(9000, 20, 5);
  pp::neighbors(a, {.n_neighbors = 10});
  const auto& d = a.obsp.at("distances").get<SparseMatrix>();
  EXPECT_EQ(d.dtype(), DType::Float32);
  ASSERT_EQ(d.nnz(), 9000 * 11);
  for (int64_t i = 0; i < 9000; i += 500) {
    EXPECT_EQ(d.indices[static_cast<size_t>(i * 11)], i);
    EXPECT_EQ(d.data.as<float>()[static_cast<size_t>(i * 11)], 0.f);
  }
  const auto& c = a.obsp.at("connectivities").get<SparseMatrix>();
  EXPECT_EQ(c.dtype(), DType::Float32);
  EXPECT_GE(c.nnz(), 9000 * 9);
}

TEST(Neighbors, WrittenFileReadsInAnndata) {
  AnnData a = small_adata(200, 5, 2);
  pp::neighbors(a, {.n_neighbors = 6});
  scanpp::testing::TempDir tmp;
  const std::string path = tmp.file("nbr.h5ad");
  io::write_h5ad(a, path);
  const std::string py =
      "import anndata, numpy as np, scipy.sparse as sp\n"
      "a = anndata.read_h5ad('" + path + "')\n"
      "d, c = a.obsp['distances'], a.obsp['connectivities']\n"
      "assert sp.issparse(d) and d.dtype == np.float64 and d.nnz == 200 * 5, (d.dtype, d.nnz)\n"
      "assert c.dtype == np.float32 and abs(c - c.T).max() == 0\n"
      "p = a.uns['neighbors']['params']\n"
      "assert p['n_neighbors'] == 6 and p['method'] == 'umap' and p['metric'] == 'euclidean'\n"
      "assert a.uns['neighbors']['connectivities_key'] == 'connectivities'\n"
      "print('ok')\n";
  const std::string script = tmp.file("check.py");
  FILE* f = std::fopen(script.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(py.c_str(), f);
  std::fclose(f);
  std::string out;
  const int rc = scanpp::testing::run_command("/usr/bin/python3 " + script, &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("ok"), std::string::npos) << out;
}
