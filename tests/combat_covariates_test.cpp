// combat with covariates: Scanpy 1.11's formulas replayed in numpy/pandas
// (tests/interop/combat_covariates.py, run by /usr/bin/python3) on the Kang
// et al. data with a numeric and a categorical covariate, plus the design
// checks, thread independence and the errors Scanpy raises.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <sstream>

#include "combat_support.hpp"
#include "npy_lite.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pp/combat.hpp"

using namespace scanpp;
using namespace combat_support;
using scanpp::testing::run_command;
using scanpp::testing::TempDir;

namespace {

// Kang plus two covariates derived from the data (so they carry biology, not
// the batch): `frac` = fraction of the 1,000 genes a cell expresses (float),
// `depth` = terciles of the cell's summed log expression ("high"/"low"/"mid").
AnnData kang_with_covariates() {
  AnnData ad = kang();
  const auto x = ad.X_dense().as<float>();
  const int64_t n = ad.n_obs(), p = ad.n_vars();
  std::vector<double> frac(static_cast<size_t>(n)), sum(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t k = 0;
    double s = 0;
    for (int64_t g = 0; g < p; ++g) {
      const float v = x[static_cast<size_t>(i * p + g)];
      k += v > 0;
      s += v;
    }
    frac[static_cast<size_t>(i)] = static_cast<double>(k) / static_cast<double>(p);
    sum[static_cast<size_t>(i)] = s;
  }
  std::vector<double> sorted = sum;
  std::sort(sorted.begin(), sorted.end());
  const double t1 = sorted[static_cast<size_t>(n / 3)], t2 = sorted[static_cast<size_t>(2 * n / 3)];
  std::vector<std::string> depth(static_cast<size_t>(n));
  for (size_t i = 0; i < depth.size(); ++i) depth[i] = sum[i] < t1 ? "low" : sum[i] < t2 ? "mid" : "high";
  ad.obs.set_array("frac", frac);
  ad.obs.set("depth", depth);
  return ad;
}

// Writes X and obs for the replay, runs it and returns the corrected matrix;
// `rank` receives the script's "scanpy_design_rank R C" line.
Array replay(const AnnData& ad, const std::vector<std::string>& covs, const TempDir& dir, std::string* rank) {
  const Array x64 = ad.X_dense().astype(DType::Float64);
  {
    std::ofstream f(dir.file("X.f64"), std::ios::binary);
    f.write(static_cast<const char*>(x64.raw()), static_cast<std::streamsize>(x64.nbytes()));
  }
  {
    std::ofstream f(dir.file("obs.csv"));
    f.precision(17);
    const auto& stim = std::get<std::vector<std::string>>(ad.obs.at("stim"));
    const auto frac = ad.obs.numeric("frac");
    const auto& depth = std::get<std::vector<std::string>>(ad.obs.at("depth"));
    f << ",stim,frac,depth\n";
    for (int64_t i = 0; i < ad.n_obs(); ++i)
      f << ad.obs_names()[static_cast<size_t>(i)] << "," << stim[static_cast<size_t>(i)] << ","
        << frac[static_cast<size_t>(i)] << "," << depth[static_cast<size_t>(i)] << "\n";
  }
  std::string cmd = "/usr/bin/python3 " + std::string(SCANPP_SOURCE_DIR) + "/tests/interop/combat_covariates.py " +
                    dir.file("X.f64") + " " + std::to_string(ad.n_obs()) + " " + std::to_string(ad.n_vars()) + " " +
                    dir.file("obs.csv") + " stim " + dir.file("out.npy");
  for (const auto& c : covs) cmd += " " + c + (c == "frac" ? ":num" : "");
  std::string out;
  const int rc = run_command(cmd, &out);
  if (rc != 0) throw std::runtime_error("replay failed: " + out);
  const size_t at = out.find("scanpy_design_rank");
  *rank = at == std::string::npos ? "" : out.substr(at, out.find('\n', at) - at);
  return npy_lite::read(dir.file("out.npy"));
}

double max_abs_dev(const Array& a, const Array& b) {
  const auto x = a.as<double>(), y = b.as<double>();
  double m = 0;
  for (size_t k = 0; k < x.size(); ++k) m = std::max(m, std::abs(x[k] - y[k]));
  return m;
}

}  // namespace

TEST(CombatCovariates, NumericCovariateMatchesScanpyReplay) {
  // A numeric covariate leaves Scanpy's design as it is: [stim one-hot | frac].
  AnnData ad = kang_with_covariates();
  TempDir dir;
  std::string rank;
  const Array want = replay(ad, {"frac"}, dir, &rank);
  EXPECT_EQ(rank, "scanpy_design_rank 3 3");
  auto got = pp::combat(ad, {.key = "stim", .covariates = {"frac"}, .inplace = false});
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->shape(), want.shape());
  const double dev = max_abs_dev(*got, want);
  std::cout << "[ kang ] combat(covariates=[frac]) max |dev| vs numpy replay = " << dev << "\n";
  EXPECT_LE(dev, 1e-9);
  // The covariate changes the result: without it the numbers differ visibly.
  auto plain = pp::combat(ad, {.key = "stim", .inplace = false});
  EXPECT_GT(max_abs_dev(*got, *plain), 1e-3);
}

TEST(CombatCovariates, CategoricalAndNumericMatchReplayAndThreadsAgree) {
  AnnData ad = kang_with_covariates();
  TempDir dir;
  std::string rank;
  const Array want = replay(ad, {"depth", "frac"}, dir, &rank);
  // Scanpy's own patsy design codes `depth` with all 3 levels next to the
  // 2 batch columns: 6 columns of rank 5, the singular case combat.hpp describes.
  EXPECT_EQ(rank, "scanpy_design_rank 5 6");
  const auto cov = pp::combat_covariates(ad.obs, "stim", {"depth", "frac"});
  ASSERT_EQ(cov.size(), 3u);
  EXPECT_EQ(cov[0].name, "Q('depth')[T.low]");
  EXPECT_EQ(cov[1].name, "Q('depth')[T.mid]");
  EXPECT_EQ(cov[2].name, "frac");

  const Categorical stim = Categorical::from_strings(std::get<std::vector<std::string>>(ad.obs.at("stim")));
  const int before = num_threads();
  set_num_threads(1);
  const auto a = pp::combat(ad.X_dense(), stim.codes, 2, cov);
  set_num_threads(2);
  const auto b = pp::combat(ad.X_dense(), stim.codes, 2, cov);
  set_num_threads(before);
  EXPECT_EQ(a.X, b.X);
  EXPECT_EQ(a.delta_star, b.delta_star);
  const double dev = max_abs_dev(a.X, want);
  std::cout << "[ kang ] combat(covariates=[depth, frac]) max |dev| vs numpy replay = " << dev
            << ", iterations " << a.iterations[0] << "/" << a.iterations[1] << "\n";
  EXPECT_LE(dev, 1e-9);
  // The AnnData-level call gives the same matrix.
  pp::combat(ad, {.key = "stim", .covariates = {"depth", "frac"}});
  EXPECT_EQ(ad.X_dense(), a.X);
}

TEST(CombatCovariates, ConfoundedAndBadCovariatesAreRejected) {
  AnnData ad = kang_with_covariates();
  // A relabelled copy of the batch is confounded with it.
  std::vector<std::string> same = std::get<std::vector<std::string>>(ad.obs.at("stim"));
  for (auto& s : same) s = s == "stim" ? "treated" : "control";
  ad.obs.set("condition", same);
  try {
    pp::combat(ad, {.key = "stim", .covariates = {"condition"}, .inplace = false});
    ADD_FAILURE() << "a confounded covariate was accepted";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("confounded"), std::string::npos) << e.what();
  }
  // Two numeric covariates that are multiples of each other.
  std::vector<double> twice = ad.obs.numeric("frac");
  for (auto& v : twice) v *= 2;
  ad.obs.set_array("frac2", twice);
  EXPECT_THROW(pp::combat(ad, {.key = "stim", .covariates = {"frac", "frac2"}, .inplace = false}), ValueError);
  // Scanpy's checks: unknown names (all listed), the key itself, duplicates, missing values.
  try {
    pp::combat(ad, {.key = "stim", .covariates = {"nope", "frac", "nada"}, .inplace = false});
    ADD_FAILURE() << "unknown covariates were accepted";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("['nope', 'nada']"), std::string::npos) << e.what();
  }
  EXPECT_THROW(pp::combat(ad, {.key = "stim", .covariates = {"stim"}, .inplace = false}), ValueError);
  EXPECT_THROW(pp::combat(ad, {.key = "stim", .covariates = {"frac", "frac"}, .inplace = false}), ValueError);
  std::vector<double> holes = ad.obs.numeric("frac");
  holes[7] = std::nan("");
  ad.obs.set_array("holes", holes);
  EXPECT_THROW(pp::combat(ad, {.key = "stim", .covariates = {"holes"}, .inplace = false}), ValueError);
  // X is untouched by every failed call.
  EXPECT_EQ(ad.X_dense(), kang().X_dense());
}

TEST(CombatCovariates, BoolCovariateIsOneDummy) {
  DataFrame obs(std::vector<std::string>{"a", "b", "c", "d"});
  obs.set("flag", Array::from_vector(std::vector<Bool8>{Bool8(true), Bool8(false), Bool8(true), Bool8(true)}));
  obs.set("batch", std::vector<std::string>{"x", "y", "x", "y"});
  const auto cov = pp::combat_covariates(obs, "batch", {"flag"});
  ASSERT_EQ(cov.size(), 1u);
  EXPECT_EQ(cov[0].name, "Q('flag')[T.True]");
  EXPECT_EQ(cov[0].values, (std::vector<double>{1, 0, 1, 1}));
}
