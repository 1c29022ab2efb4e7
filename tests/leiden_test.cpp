// tl.leiden against Scanpy 1.11's result on PBMC 3k: the same weighted graph
// (golden obsp['connectivities']), judged by modularity and by agreement
// (ARI) with Scanpy's labels, plus Scanpy's output keys, restrict_to and
// reproducibility.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/tl/leiden.hpp"
#include "test_paths.hpp"

using namespace scanpp;

namespace {

const AnnData& golden() {
  static const AnnData a = io::read_h5ad(scanpp::testing::shared("golden/pbmc3k/pbmc3k_scanpy.h5ad"), {.read_X = false});
  return a;
}

// Column `name` of golden cluster_labels.csv, aligned to the h5ad's cells.
std::vector<int32_t> golden_labels(const std::string& name) {
  std::ifstream in(scanpp::testing::shared("golden/pbmc3k/cluster_labels.csv"));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  {
    std::stringstream ss(line);
    std::string f;
    while (std::getline(ss, f, ',')) header.push_back(f);
  }
  const size_t col = std::find(header.begin(), header.end(), name) - header.begin();
  std::map<std::string, int32_t> by_barcode;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string f;
    std::vector<std::string> fields;
    while (std::getline(ss, f, ',')) fields.push_back(f);
    by_barcode[fields[0]] = std::stoi(fields.at(col));
  }
  std::vector<int32_t> out;
  for (const auto& bc : golden().obs_names()) out.push_back(by_barcode.at(bc));
  return out;
}

std::vector<int32_t> codes_of(const AnnData& a, const std::string& key) {
  const auto& cat = std::get<Categorical>(a.obs.at(key));
  std::vector<int32_t> m;
  for (size_t i = 0; i < cat.codes.size(); ++i) m.push_back(std::stoi(cat.label(static_cast<int64_t>(i))));
  return m;
}

double adjusted_rand_index(const std::vector<int32_t>& x, const std::vector<int32_t>& y) {
  std::map<std::pair<int32_t, int32_t>, double> nij;
  std::map<int32_t, double> a, b;
  for (size_t i = 0; i < x.size(); ++i) {
    nij[{x[i], y[i]}] += 1;
    a[x[i]] += 1;
    b[y[i]] += 1;
  }
  auto c2 = [](double v) { return v * (v - 1) / 2; };
  double sum_ij = 0, sum_a = 0, sum_b = 0;
  for (auto& [k, v] : nij) sum_ij += c2(v);
  for (auto& [k, v] : a) sum_a += c2(v);
  for (auto& [k, v] : b) sum_b += c2(v);
  const double expected = sum_a * sum_b / c2(static_cast<double>(x.size()));
  return (sum_ij - expected) / (0.5 * (sum_a + sum_b) - expected);
}

const SparseMatrix& connectivities() { return golden().obsp.at("connectivities").get<SparseMatrix>(); }

// One default run shared by the tests that only read it.
const AnnData& leiden_run() {
  static const AnnData a = [] {
    AnnData c = golden();
    tl::leiden(c);
    return c;
  }();
  return a;
}

}  // namespace

TEST(LeidenTest, ModularityAtLeastScanpys) {
  const auto ours = codes_of(leiden_run(), "leiden");
  const auto scanpy = golden_labels("leiden");
  const double q_ours = tl::modularity(connectivities(), ours);
  const double q_scanpy = tl::modularity(connectivities(), scanpy);
  std::printf("[leiden] modularity scanpp %.5f, Scanpy (leidenalg) %.5f, clusters %d vs %d\n", q_ours, q_scanpy,
              *std::max_element(ours.begin(), ours.end()) + 1, *std::max_element(scanpy.begin(), scanpy.end()) + 1);
  // The formula reproduces the value Python computes for Scanpy's labels on this graph.
  EXPECT_NEAR(q_scanpy, 0.66995, 1e-4);
  EXPECT_GE(q_ours, q_scanpy - 0.005);
}

TEST(LeidenTest, AgreesWithScanpyLabels) {
  const double ari = adjusted_rand_index(codes_of(leiden_run(), "leiden"), golden_labels("leiden"));
  std::printf("[leiden] ARI against Scanpy's labels %.4f\n", ari);
  EXPECT_GE(ari, 0.65);
}

TEST(LeidenTest, WritesScanpysKeys) {
  const AnnData& a = leiden_run();
  const auto& cat = std::get<Categorical>(a.obs.at("leiden"));
  const auto& cats = cat.string_categories();
  for (size_t k = 0; k < cats.size(); ++k) EXPECT_EQ(cats[k], std::to_string(k));
  std::vector<int64_t> size(cats.size(), 0);
  for (int32_t c : cat.codes) ++size.at(c);
  for (size_t k = 1; k < size.size(); ++k) EXPECT_GE(size[k - 1], size[k]) << "cluster '0' must be the largest";
  const Dict& params = a.uns.at("leiden").get<Dict>().at("params").get<Dict>();
  const Dict& gold = golden().uns.at("leiden").get<Dict>().at("params").get<Dict>();
  for (const char* k : {"resolution", "random_state", "n_iterations"}) {
    EXPECT_EQ(params.at(k).get<Array>().dtype(), gold.at(k).get<Array>().dtype()) << k;
    EXPECT_EQ(params.at(k).get<Array>().get_double(0), gold.at(k).get<Array>().get_double(0)) << k;
  }
}

TEST(LeidenTest, SameSeedSameLabelsAnyThreadCount) {
  const int before = num_threads();
  set_num_threads(1);
  const tl::Partition one = tl::leiden_partition(connectivities());
  set_num_threads(2);
  const tl::Partition two = tl::leiden_partition(connectivities());
  set_num_threads(before);
  EXPECT_EQ(one.membership, two.membership);
  EXPECT_EQ(one.membership, codes_of(leiden_run(), "leiden"));
  // Another seed explores differently but reaches the same quality.
  const tl::Partition other = tl::leiden_partition(connectivities(), {.random_state = 1});
  std::printf("[leiden] seed 0 modularity %.5f, seed 1 %.5f\n", one.modularity, other.modularity);
  EXPECT_NEAR(other.modularity, one.modularity, 0.01);
}

TEST(LeidenTest, ResolutionChangesClusterCount) {
  const tl::Partition coarse = tl::leiden_partition(connectivities(), {.resolution = 0.3});
  const tl::Partition fine = tl::leiden_partition(connectivities(), {.resolution = 2.0});
  std::printf("[leiden] clusters at resolution 0.3: %d, at 2.0: %d\n", coarse.n_clusters, fine.n_clusters);
  const auto& cat = std::get<Categorical>(leiden_run().obs.at("leiden"));
  EXPECT_LT(coarse.n_clusters, cat.n_categories());
  EXPECT_GT(fine.n_clusters, cat.n_categories());
}

TEST(LeidenTest, RestrictToSubclustersOnlyThoseCells) {
  AnnData a = golden();
  tl::leiden(a, {.restrict_to = tl::RestrictTo{"leiden", {"0", "1"}}});
  ASSERT_TRUE(a.obs.has("leiden_R"));
  const auto& sub = std::get<Categorical>(a.obs.at("leiden_R"));
  const auto& old = std::get<Categorical>(golden().obs.at("leiden"));
  std::vector<int64_t> cells;
  for (int64_t i = 0; i < a.n_obs(); ++i) {
    const std::string was = old.label(i), now = sub.label(i);
    if (was == "0" || was == "1") {
      cells.push_back(i);
      EXPECT_EQ(now.rfind("0-1,", 0), 0u) << now;
    } else {
      EXPECT_EQ(now, was);
    }
  }
  // The new labels are the kernel's partition of the subgraph.
  const SparseMatrix subgraph = tl::restrict_adjacency(connectivities(), cells);
  const tl::Partition p = tl::leiden_partition(subgraph);
  for (size_t r = 0; r < cells.size(); ++r) ASSERT_EQ(sub.label(cells[r]), "0-1," + std::to_string(p.membership[r]));
  EXPECT_GE(p.n_clusters, 2);
  EXPECT_TRUE(a.uns.count("leiden_R"));
}

TEST(LeidenTest, BadInputGetsClearErrors) {
  AnnData a = golden();
  EXPECT_THROW(tl::leiden(a, {.restrict_to = tl::RestrictTo{"leiden", {"99"}}}), ValueError);
  EXPECT_THROW(tl::leiden(a, {.restrict_to = tl::RestrictTo{"no_such_column", {"0"}}}), KeyError);
  EXPECT_THROW(tl::leiden(a, {.neighbors_key = "nope"}), KeyError);
  EXPECT_THROW(tl::leiden(a, {.resolution = -1.0}), ValueError);
  SparseMatrix bad = connectivities();
  bad.indices[5] = 1 << 20;
  EXPECT_THROW(tl::leiden_partition(bad), InputError);
}

TEST(ClusterLabelsTest, RelabelBySizeAndModularityByHand) {
  // Two triangles joined by one edge: the two-triangle split has Q = 5/14.
  SparseMatrix m;
  m.n_rows = m.n_cols = 6;
  std::vector<std::pair<int, int>> e = {{0, 1}, {0, 2}, {1, 2}, {3, 4}, {3, 5}, {4, 5}, {2, 3}};
  std::vector<std::vector<int32_t>> rows(6);
  for (auto [i, j] : e) {
    rows[i].push_back(j);
    rows[j].push_back(i);
  }
  std::vector<float> vals;
  for (auto& r : rows) {
    std::sort(r.begin(), r.end());
    for (int32_t j : r) {
      m.indices.push_back(j);
      vals.push_back(1.0f);
    }
    m.indptr.push_back(static_cast<int64_t>(m.indices.size()));
  }
  m.data = Array::from_vector(vals);
  const std::vector<int32_t> split = {0, 0, 0, 1, 1, 1};
  EXPECT_NEAR(tl::modularity(m, split), 5.0 / 14.0, 1e-12);
  const tl::Partition p = tl::leiden_partition(m);
  EXPECT_EQ(p.membership, split);
  EXPECT_EQ(tl::relabel_by_size(std::vector<int32_t>{2, 0, 0, 1, 2, 2}), (std::vector<int32_t>{0, 1, 1, 2, 0, 0}));
}
