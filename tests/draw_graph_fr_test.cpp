// tl.draw_graph(layout='fr') against Scanpy 1.11 on PBMC 3k (golden
// connectivities): igraph's Fruchterman-Reingold from numpy's start keeps PCA
// neighbourhoods as well as Scanpy's X_draw_graph_fr (within 0.05). Its own
// executable: igraph's layout takes about 10 s of CPU on this graph.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "layout_quality_support.hpp"
#include "npy_lite.hpp"
#include "scanpp/tl/draw_graph.hpp"

using namespace layout_quality;

TEST(DrawGraphFrTest, FruchtermanReingoldKeepsNeighbourhoodsAsScanpy) {
  AnnData a = golden();
  const auto t0 = std::chrono::steady_clock::now();
  tl::draw_graph(a, {.layout = "fr"});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Array& emb = a.obsm.at("X_draw_graph_fr").get<Array>();
  ASSERT_EQ(emb.shape(), (std::vector<int64_t>{2638, 2}));
  const double ours = neighbourhood_share(as_vector(emb));
  const double theirs =
      neighbourhood_share(as_vector(npy_lite::read(scanpp::testing::shared("golden/pbmc3k/X_draw_graph_fr.npy"))));
  std::printf("[draw_graph fr] share of 10-NN in 2-D among 10-NN in 40 PCs: scanpp %.4f, Scanpy %.4f; %.3f s\n",
              ours, theirs, seconds);
  EXPECT_NEAR(ours, theirs, 0.05);
}

TEST(DrawGraphFrTest, WritesScanpysKeys) {
  // uns['draw_graph']['params']['layout'] names the layout run last
  AnnData a = golden();
  tl::draw_graph(a, {.layout = "fr", .maxiter = 5});
  EXPECT_EQ(a.uns.at("draw_graph").get<Dict>().at("params").get<Dict>().at("layout").get<std::string>(), "fr");
  EXPECT_EQ(a.obsm.at("X_draw_graph_fr").get<Array>().shape(), (std::vector<int64_t>{2638, 2}));
}
