// examples/krumsiek11.yaml: simulated differentiation through neighbours,
// diffusion map, DPT and PAGA; DPT must recover the simulated time.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <sstream>

#include "scanpp/pipeline/pipeline.hpp"
#include "test_paths.hpp"

using namespace scanpp;

namespace {
std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < idx.size();) {  // average ranks for ties
    size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    for (size_t k = i; k <= j; ++k) r[idx[k]] = (i + j) / 2.0;
    i = j + 1;
  }
  return r;
}
double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  auto ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(a.size()), m = (n - 1) / 2;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (ra[i] - m) * (rb[i] - m);
    saa += (ra[i] - m) * (ra[i] - m);
    sbb += (rb[i] - m) * (rb[i] - m);
  }
  return sab / std::sqrt(saa * sbb);
}
}  // namespace

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
}
