// tl.ingest: half of the golden PBMC 3k cells mapped onto the other half.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "golden_support.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/pp/neighbors.hpp"
#include "scanpp/pp/pca.hpp"
#include "scanpp/tl/ingest.hpp"
#include "scanpp/tl/umap.hpp"
#include "scanpp/tl/umap_transform.hpp"
#include "test_paths.hpp"

using namespace scanpp;

namespace {

struct Split {
  AnnData ref;                      // half A: PCA, neighbours, UMAP recomputed by scanpp; golden leiden
  AnnData query;                    // half B: X, var; no embeddings or labels
  std::vector<std::string> leiden;  // golden leiden labels of B
};

// Even cells are the reference, odd cells the new data. The reference keeps
// the golden PCA (fitted on all cells, the space the golden Leiden clusters
// were found in); its neighbours and UMAP are recomputed by scanpp. A PCA
// refitted on half of the cells rotates the subtle directions that separate
// the two CD4 T clusters (0 and 2), and the label agreement drops to 0.75 in
// Scanpy's arithmetic as in ours (checked with numpy on the same split).
const Split& split() {
  static const Split s = [] {
    const AnnData g = io::read_h5ad(golden::shared("golden/pbmc3k/pbmc3k_scanpy.h5ad"));
    Indices even, odd;
    for (int64_t i = 0; i < g.n_obs(); ++i) (i % 2 ? odd : even).push_back(i);
    Split r;
    r.ref = g.subset(even, std::nullopt);
    r.ref.raw.reset();
    for (const char* k : {"X_umap", "X_tsne", "X_diffmap", "X_draw_graph_fa", "X_draw_graph_fr"}) r.ref.obsm.erase(k);
    r.ref.obsp.clear();
    for (const char* k : {"neighbors", "umap", "paga", "diffmap_evals", "draw_graph", "tsne"}) r.ref.uns.erase(k);
    pp::neighbors(r.ref, {.n_neighbors = 10, .n_pcs = 40});
    tl::umap(r.ref);
    const AnnData b = g.subset(odd, std::nullopt);
    r.query = AnnData(*b.X);
    r.query.obs = DataFrame(b.obs_names());
    r.query.var = b.var;
    const Categorical& lab = std::get<Categorical>(b.obs.at("leiden"));
    for (int64_t i = 0; i < b.n_obs(); ++i) r.leiden.push_back(lab.label(i));
    return r;
  }();
  return s;
}

const AnnData& ingested() {
  static const AnnData a = [] {
    AnnData q = split().query;
    tl::ingest(q, split().ref, {.obs = {"leiden"}});
    return q;
  }();
  return a;
}

}  // namespace

TEST(Ingest, LabelsAgreeWithGoldenLeiden) {
  const AnnData& q = ingested();
  const Categorical& lab = std::get<Categorical>(q.obs.at("leiden"));
  const Categorical& ref_lab = std::get<Categorical>(split().ref.obs.at("leiden"));
  EXPECT_TRUE(lab.categories == ref_lab.categories);
  int64_t same = 0;
  for (int64_t i = 0; i < q.n_obs(); ++i) same += lab.label(i) == split().leiden[i];
  const double agreement = static_cast<double>(same) / static_cast<double>(q.n_obs());
  std::printf("[ingest] label agreement with golden leiden: %.4f (%lld of %lld)\n", agreement,
              static_cast<long long>(same), static_cast<long long>(q.n_obs()));
  // numpy with Scanpy's semantics on the same split (B centred on its own mean,
  // exact 10-NN among A in the first 40 PCs, pandas' mode) gives 1124 of 1319
  // as well; the golden kNN graph itself reproduces only 0.926 of its labels by
  // majority vote, so > 0.90 is out of reach for a 10-NN vote on half the cells.
  EXPECT_GT(agreement, 0.84);
}

// obsm['X_pca'] is the reference's PCA basis applied to the new cells centred
// on their own means (Scanpy's Ingest._pca), computed here independently.
TEST(Ingest, PcaIsTheReferenceBasisApplied) {
  const AnnData& q = ingested();
  const Array& pcs = split().ref.varm.at("PCs").get<Array>();
  const Array& x = q.X_dense();
  const int64_t n = x.rows(), g = x.cols(), k = pcs.cols();
  ASSERT_EQ(pcs.rows(), g);
  std::vector<double> mean(static_cast<size_t>(g), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < g; ++j) mean[j] += x.get_double(i * g + j) / static_cast<double>(n);
  const Array& got = q.obsm.at("X_pca").get<Array>();
  ASSERT_EQ(got.shape(), (std::vector<int64_t>{n, k}));
  EXPECT_EQ(got.dtype(), pcs.dtype() == DType::Float32 ? DType::Float32 : DType::Float64);
  double max_dev = 0.0, max_abs = 0.0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < k; ++c) {
      long double s = 0.0L;
      for (int64_t j = 0; j < g; ++j) s += (static_cast<long double>(x.get_double(i * g + j)) - mean[j]) * pcs.get_double(j * k + c);
      max_dev = std::max(max_dev, std::fabs(static_cast<double>(s) - got.get_double(i * k + c)));
      max_abs = std::max(max_abs, std::fabs(static_cast<double>(s)));
    }
  std::printf("[ingest] X_pca vs (X - mean) . PCs: max |dev| %.3g (max |value| %.3g)\n", max_dev, max_abs);
  EXPECT_LT(max_dev, 1e-9 * max_abs);
  // The representation the neighbours were searched in: the first n_pcs = 40 columns.
  const Array& rep = q.obsm.at("rep").get<Array>();
  ASSERT_EQ(rep.shape(), (std::vector<int64_t>{n, 40}));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < 40; ++c) ASSERT_EQ(rep.get_double(i * 40 + c), got.get_double(i * k + c));
}

// Each new cell lands among reference cells of its own (golden) cluster.
TEST(Ingest, UmapPositionsLandInTheirClusters) {
  const AnnData& q = ingested();
  const Array& emb = q.obsm.at("X_umap").get<Array>();
  EXPECT_EQ(emb.dtype(), DType::Float32);
  const Array& ref_emb = split().ref.obsm.at("X_umap").get<Array>();
  const Categorical& ref_lab = std::get<Categorical>(split().ref.obs.at("leiden"));
  const int64_t n = emb.rows(), n_ref = ref_emb.rows();
  const int kk = 10;
  const Categorical& mapped = std::get<Categorical>(q.obs.at("leiden"));
  // Fraction of new cells whose kk nearest reference cells in UMAP vote for
  // (golden label, ingested label).
  auto score = [&](const Array& e) {
    int64_t hits = 0, hits_mapped = 0;
    for (int64_t i = 0; i < n; ++i) {
      std::vector<std::pair<double, int64_t>> d(static_cast<size_t>(n_ref));
      for (int64_t r = 0; r < n_ref; ++r) {
        const double dx = e.get_double(2 * i) - ref_emb.get_double(2 * r), dy = e.get_double(2 * i + 1) - ref_emb.get_double(2 * r + 1);
        d[r] = {dx * dx + dy * dy, r};
      }
      std::partial_sort(d.begin(), d.begin() + kk, d.end());
      std::map<std::string, int> votes;
      for (int j = 0; j < kk; ++j) ++votes[ref_lab.label(d[j].second)];
      const auto best = std::max_element(votes.begin(), votes.end(), [](auto& a, auto& b) { return a.second < b.second; });
      hits += best->first == split().leiden[i];
      hits_mapped += best->first == mapped.label(i);
    }
    return std::pair<double, double>(static_cast<double>(hits) / static_cast<double>(n),
                                     static_cast<double>(hits_mapped) / static_cast<double>(n));
  };
  const auto [frac, frac_mapped] = score(emb);
  // The start positions (weighted means of the neighbours' positions), for comparison.
  const Array ref_rep = split().ref.obsm.at("X_pca").get<Array>().take_cols(std::vector<int64_t>{
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
      20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39});
  const tl::QueryKnn nn = tl::knn_query(ref_rep, q.obsm.at("rep").get<Array>(), 10);
  const Dict& up = split().ref.uns.at("umap").get<Dict>().at("params").get<Dict>();
  const auto tr = tl::umap_transform(ref_emb, nn.indices, nn.distances, nn.n, nn.k,
                                     {.a = up.at("a").get<Array>().get_double(0), .b = up.at("b").get<Array>().get_double(0)});
  EXPECT_TRUE(tr.embedding == emb);
  const auto [frac0, frac0_mapped] = score(tr.initial);
  std::printf("[ingest] UMAP: majority of the %d nearest reference cells = golden label %.4f, = ingested label %.4f "
              "(start positions: %.4f, %.4f)\n", kk, frac, frac_mapped, frac0, frac0_mapped);
  // The placement follows the PCA neighbours the labels came from, so its
  // ceiling is the label agreement above (0.852); Scanpy's joint UMAP of all
  // cells scores 0.903 on this measure.
  EXPECT_GT(frac, 0.80);
  EXPECT_GT(frac_mapped, 0.85);
}

TEST(Ingest, ThreadIndependent) {
  AnnData a = split().query, b = split().query;
  set_num_threads(1);
  tl::ingest(a, split().ref, {.obs = {"leiden"}});
  set_num_threads(2);
  tl::ingest(b, split().ref, {.obs = {"leiden"}});
  set_num_threads(0);
  EXPECT_TRUE(a.obsm == b.obsm);
  EXPECT_TRUE(a.obs == b.obs);
  EXPECT_TRUE(a.obsm == ingested().obsm);
}

TEST(Ingest, BadInput) {
  const AnnData& ref = split().ref;
  AnnData q = split().query;
  AnnData renamed = q;
  renamed.var.index()[5] = "NOT_A_GENE";
  EXPECT_THROW(tl::ingest(renamed, ref, {.obs = {"leiden"}}), ValueError);
  // Gene names are compared case-insensitively, as Scanpy does.
  AnnData lower = q;
  for (auto& s : lower.var.index()) std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  EXPECT_NO_THROW(tl::ingest(lower, ref, {.embedding_method = {"pca"}}));
  EXPECT_THROW(tl::ingest(q, ref, {.obs = {"nope"}}), KeyError);
  EXPECT_THROW(tl::ingest(q, ref, {.embedding_method = {"tsne"}}), ValueError);
  EXPECT_THROW(tl::ingest(q, ref, {.obs = {"leiden"}, .labeling_method = {"svm"}}), ValueError);
  AnnData no_nb = ref;
  no_nb.uns.erase("neighbors");
  EXPECT_THROW(tl::ingest(q, no_nb), ValueError);
  AnnData no_umap = ref;
  no_umap.obsm.erase("X_umap");
  EXPECT_THROW(tl::ingest(q, no_umap), ValueError);
  EXPECT_NO_THROW(tl::ingest(q, no_umap, {.obs = {"leiden"}, .embedding_method = {"pca"}}));
  EXPECT_FALSE(q.obsm.count("X_umap"));
}

// A new point exactly on a reference point starts there (weight 1); others
// start at the weighted mean of their neighbours, and the optimisation keeps
// them near their own neighbourhood.
TEST(UmapTransform, StartsAtNeighboursAndStaysNear) {
  // Two reference clusters far apart.
  std::vector<float> ref;
  for (int i = 0; i < 30; ++i) {
    const float base = i < 15 ? 0.f : 20.f;
    ref.push_back(base + 0.1f * static_cast<float>(i % 5));
    ref.push_back(base + 0.1f * static_cast<float>(i / 5 % 3));
  }
  const Array ref_emb = Array::from_vector(ref, {30, 2});
  const int k = 5;
  // Point 0: neighbours 0..4 of cluster 1, the first at distance 0.
  // Point 1: neighbours 15..19 of cluster 2 at growing distances.
  std::vector<int32_t> idx = {0, 1, 2, 3, 4, 19, 18, 17, 16, 15};
  std::vector<double> dist = {0.0, 0.5, 0.6, 0.7, 0.8, 0.3, 0.4, 0.5, 0.6, 0.7};
  const auto r = tl::umap_transform(ref_emb, idx, dist, 2, k, {.a = 0.583, .b = 1.334});
  EXPECT_EQ(r.n_epochs, 100);
  EXPECT_EQ(r.initial.get_double(0), ref[0]);
  EXPECT_EQ(r.initial.get_double(1), ref[1]);
  double lo_x = 1e9, hi_x = -1e9;
  for (int j = 5; j < 10; ++j) {
    lo_x = std::min<double>(lo_x, ref[2 * idx[j]]);
    hi_x = std::max<double>(hi_x, ref[2 * idx[j]]);
  }
  EXPECT_GT(r.initial.get_double(2), lo_x);
  EXPECT_LT(r.initial.get_double(2), hi_x);
  EXPECT_LT(std::hypot(r.embedding.get_double(0) - 0.2, r.embedding.get_double(1) - 0.1), 3.0);
  EXPECT_LT(std::hypot(r.embedding.get_double(2) - 20.2, r.embedding.get_double(3) - 20.1), 3.0);
  EXPECT_THROW(tl::umap_transform(ref_emb, idx, dist, 3, k, {.a = 0.583, .b = 1.334}), ValueError);
  std::vector<int32_t> bad = idx;
  bad[3] = 99;
  EXPECT_THROW(tl::umap_transform(ref_emb, bad, dist, 2, k, {.a = 0.583, .b = 1.334}), ValueError);
}

TEST(Ingest, PipelineStep) {
  scanpp::testing::TempDir dir;
  io::write_h5ad(split().ref, dir.file("ref.h5ad"));
  io::write_h5ad(split().query, dir.file("new.h5ad"));
  const std::string yaml = "- read: {path: " + dir.file("new.h5ad") + "}\n- tl.ingest: {reference: " +
                           dir.file("ref.h5ad") + ", obs: leiden}\n";
  AnnData out;
  pipeline::run_yaml(yaml, "ingest.yaml", {.verbose = false}, &out);
  EXPECT_TRUE(out.obs.at("leiden") == ingested().obs.at("leiden"));
  EXPECT_TRUE(out.obsm.at("X_umap") == ingested().obsm.at("X_umap"));
  EXPECT_THROW(pipeline::run_yaml("- read: {path: " + dir.file("new.h5ad") + "}\n- tl.ingest: {obs: leiden}\n", "bad.yaml",
                                  {.verbose = false}, &out),
               Error);
}
