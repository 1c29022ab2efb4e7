// examples/krumsiek11.yaml: simulated differentiation through neighbours,
// diffusion map, DPT (one branching) and PAGA; DPT must recover the simulated
// time, and its branching must keep each simulated fate in one dpt_group,
// separate fates, and give branches dominated by a single cell type.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

#include "scanpp/pipeline/pipeline.hpp"
#include "test_paths.hpp"
#include "trajectory_support.hpp"

using namespace scanpp;
using trajectory_test::spearman;

TEST(Krumsiek11Pipeline, DptOrdersCellsBySimulatedTime) {
  scanpp::testing::TempDir tmp;
  std::ifstream in(std::string(SCANPP_SOURCE_DIR) + "/examples/krumsiek11.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string yaml = ss.str();
  const std::string from = "- datasets.krumsiek11: {}";
  yaml.replace(yaml.find(from), from.size(),
               "- datasets.krumsiek11: {models_dir: " + scanpp::testing::shared("data/sim_models") + "}");
  const std::string out = "out/krumsiek11.h5ad";
  yaml.replace(yaml.find(out), out.size(), tmp.file("k.h5ad"));
  AnnData ad;
  pipeline::run_yaml(yaml, "krumsiek11.yaml", {.verbose = false}, &ad);
  ASSERT_EQ(ad.n_obs(), 640);
  const auto pt = ad.obs.numeric("dpt_pseudotime");
  const auto time = ad.obs.numeric("time");
  const double rho = spearman(pt, time);
  EXPECT_GE(rho, 0.9) << "Spearman(dpt_pseudotime, time) = " << rho;
  EXPECT_EQ(pt[0], 0.0);  // the root, a progenitor at time 0
  EXPECT_TRUE(ad.uns.at("paga").is<Dict>());
  EXPECT_EQ(ad.uns.at("paga").get<Dict>().at("connectivities").get<SparseMatrix>().n_rows, 5);

  // DPT branching (n_branchings: 1): cell_type x dpt_groups
  const auto& groups = std::get<Categorical>(ad.obs.at("dpt_groups"));
  const auto& types = std::get<Categorical>(ad.obs.at("cell_type"));
  ASSERT_EQ(groups.n_categories(), 3);  // one branching: trunk + two branches
  std::map<std::string, std::map<int32_t, int>> table;  // cell type -> group -> cells
  std::map<int32_t, int> group_size;
  for (int64_t i = 0; i < ad.n_obs(); ++i) {
    ++table[types.label(i)][groups.codes[i]];
    ++group_size[groups.codes[i]];
  }
  std::set<int32_t> fate_groups;
  for (const std::string fate : {"Ery", "Mk", "Mo", "Neu"}) {
    ASSERT_TRUE(table.count(fate)) << fate;
    int total = 0, best = 0;
    int32_t best_group = -1;
    for (auto [g, c] : table[fate]) {
      total += c;
      if (c > best) best = c, best_group = g;
    }
    const double purity = static_cast<double>(best) / total;
    std::printf("[krumsiek11] %s: %d of %d cells in dpt_group %d (purity %.3f)\n", fate.c_str(), best, total,
                best_group, purity);
    EXPECT_GE(purity, 0.9) << fate;
    fate_groups.insert(best_group);
  }
  EXPECT_GE(fate_groups.size(), 2u) << "the branching separates no two fates";
  // the branches (groups other than the trunk '0') are each dominated by one cell type
  for (int32_t g = 1; g < 3; ++g) {
    int best = 0;
    std::string best_type;
    for (auto& [type, row] : table)
      if (row.count(g) && row.at(g) > best) best = row.at(g), best_type = type;
    const double purity = static_cast<double>(best) / group_size[g];
    std::printf("[krumsiek11] dpt_group %d: %d cells, %.3f of them %s\n", g, group_size[g], purity, best_type.c_str());
    EXPECT_GE(purity, 0.9) << "dpt_group " << g;
  }
}
