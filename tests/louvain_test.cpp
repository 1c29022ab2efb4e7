// tl.louvain (flavor igraph) against Scanpy 1.11's louvain(flavor="igraph")
// on PBMC 3k: unweighted like Scanpy's default, judged by modularity on the
// same unweighted graph.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/tl/louvain.hpp"
#include "test_paths.hpp"

using namespace scanpp;

namespace {

const AnnData& golden() {
  static const AnnData a = io::read_h5ad(scanpp::testing::shared("golden/pbmc3k/pbmc3k_scanpy.h5ad"), {.read_X = false});
  return a;
}

std::vector<int32_t> golden_louvain() {
  std::ifstream in(scanpp::testing::shared("golden/pbmc3k/cluster_labels.csv"));
  std::string line;
  std::getline(in, line);  // barcode,leiden,leiden_igraph,louvain_igraph,louvain_taynaud
  EXPECT_NE(line.find("louvain_igraph"), std::string::npos);
  std::map<std::string, int32_t> by_barcode;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string f;
    std::vector<std::string> fields;
    while (std::getline(ss, f, ',')) fields.push_back(f);
    by_barcode[fields[0]] = std::stoi(fields.at(3));
  }
  std::vector<int32_t> out;
  for (const auto& bc : golden().obs_names()) out.push_back(by_barcode.at(bc));
  return out;
}

const SparseMatrix& connectivities() { return golden().obsp.at("connectivities").get<SparseMatrix>(); }

}  // namespace

TEST(LouvainTest, ModularityAtLeastScanpys) {
  AnnData a = golden();
  tl::louvain(a);
  const auto& cat = std::get<Categorical>(a.obs.at("louvain"));
  std::vector<int32_t> ours;
  for (size_t i = 0; i < cat.codes.size(); ++i) ours.push_back(std::stoi(cat.label(static_cast<int64_t>(i))));
  const auto scanpy = golden_louvain();
  // Scanpy's default is unweighted (use_weights=False): compare on that graph.
  const double q_ours = tl::modularity(connectivities(), ours, 1.0, false);
  const double q_scanpy = tl::modularity(connectivities(), scanpy, 1.0, false);
  std::printf("[louvain] unweighted modularity scanpp %.5f, Scanpy (igraph multilevel) %.5f; clusters %lld\n", q_ours,
              q_scanpy, static_cast<long long>(cat.n_categories()));
  EXPECT_NEAR(q_scanpy, 0.64716, 1e-4);
  EXPECT_GE(q_ours, q_scanpy - 0.005);
  const Dict& params = a.uns.at("louvain").get<Dict>().at("params").get<Dict>();
  EXPECT_EQ(params.size(), 1u);  // resolution None is not stored, as in the golden file
  EXPECT_EQ(params.at("random_state").get<Array>().get_double(0), 0.0);
  EXPECT_EQ(params.at("random_state").get<Array>().dtype(),
            golden().uns.at("louvain_igraph").get<Dict>().at("params").get<Dict>().at("random_state").get<Array>().dtype());
}

TEST(LouvainTest, WeightedRunOptimisesTheWeightedGraph) {
  const tl::Partition w = tl::louvain_partition(connectivities(), {.use_weights = true});
  const tl::Partition u = tl::louvain_partition(connectivities());
  const double qw_of_w = tl::modularity(connectivities(), w.membership, 1.0, true);
  const double qw_of_u = tl::modularity(connectivities(), u.membership, 1.0, true);
  std::printf("[louvain] weighted modularity: weighted run %.5f, unweighted run %.5f\n", qw_of_w, qw_of_u);
  EXPECT_NEAR(w.modularity, qw_of_w, 1e-12);
  EXPECT_GE(qw_of_w, qw_of_u);
}

TEST(LouvainTest, ReproducibleAndRestrictable) {
  const int before = num_threads();
  set_num_threads(1);
  const tl::Partition one = tl::louvain_partition(connectivities());
  set_num_threads(2);
  const tl::Partition two = tl::louvain_partition(connectivities());
  set_num_threads(before);
  EXPECT_EQ(one.membership, two.membership);

  AnnData a = golden();
  tl::louvain(a, {.restrict_to = tl::RestrictTo{"leiden", {"2"}}});
  const auto& sub = std::get<Categorical>(a.obs.at("louvain_R"));
  const auto& old = std::get<Categorical>(a.obs.at("leiden"));
  int64_t restricted = 0;
  for (int64_t i = 0; i < a.n_obs(); ++i) {
    if (old.label(i) == "2") {
      ++restricted;
      EXPECT_EQ(sub.label(i).rfind("2,", 0), 0u);
    } else {
      EXPECT_EQ(sub.label(i), old.label(i));
    }
  }
  EXPECT_EQ(restricted, 457);
  EXPECT_THROW(tl::louvain(a, {.neighbors_key = "missing"}), KeyError);
}
