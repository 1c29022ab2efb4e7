// tl::sim and the simulated data sets: numpy's random stream, Scanpy's
// bundled krumsiek11 data reproduced, realisations ending in the models'
// attractors, branching, determinism, trajectories moving away from the start,
// Hill steady states, and the AnnData layout.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "scanpp/core/error.hpp"
#include "scanpp/datasets/grn_datasets.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/tl/sim.hpp"
#include "scanpp/tl/sim_rng.hpp"
#include "test_paths.hpp"
#include "trajectory_support.hpp"

using namespace scanpp;
using namespace scanpp::tl;

namespace {

using trajectory_test::spearman;

std::string models_dir() { return scanpp::testing::shared("data/sim_models"); }
SimModel model(const std::string& name) { return read_sim_model(models_dir() + "/" + name + ".txt"); }

struct Cells {
  int64_t n = 0, p = 0;
  std::vector<float> x;
  std::vector<double> realization, time;
  float at(int64_t i, int64_t g) const { return x[static_cast<size_t>(i * p + g)]; }
};
Cells cells(const AnnData& a) {
  Cells c;
  c.n = a.n_obs();
  c.p = a.n_vars();
  const auto v = a.X_dense().as<float>();
  c.x.assign(v.begin(), v.end());
  c.realization = a.obs.numeric("realization");
  c.time = a.obs.numeric("time");
  return c;
}

// Rows of each realisation, in order.
std::map<int, std::vector<int64_t>> by_realization(const Cells& c) {
  std::map<int, std::vector<int64_t>> out;
  for (int64_t i = 0; i < c.n; ++i) out[static_cast<int>(c.realization[static_cast<size_t>(i)])].push_back(i);
  return out;
}

// A gene is "high" in the upper half of its range over all simulated cells:
// a Hill steady state is near 0 when the gene is off and near the sum of its
// true products (0.75-1 here) when on, so the midpoint separates the two for
// every gene whatever its on-level.
struct Range {
  std::vector<double> lo, hi;
  bool high(const Cells& c, int64_t i, int64_t g) const {
    return c.at(i, g) > lo[static_cast<size_t>(g)] + 0.5 * (hi[static_cast<size_t>(g)] - lo[static_cast<size_t>(g)]);
  }
};
Range range(const Cells& c) {
  Range r{std::vector<double>(static_cast<size_t>(c.p), 1e300), std::vector<double>(static_cast<size_t>(c.p), -1e300)};
  for (int64_t i = 0; i < c.n; ++i)
    for (int64_t g = 0; g < c.p; ++g) {
      r.lo[static_cast<size_t>(g)] = std::min(r.lo[static_cast<size_t>(g)], static_cast<double>(c.at(i, g)));
      r.hi[static_cast<size_t>(g)] = std::max(r.hi[static_cast<size_t>(g)], static_cast<double>(c.at(i, g)));
    }
  return r;
}

// The Krumsiek et al. fates a final state matches.
std::vector<std::string> krumsiek_fates(const Cells& c, const Range& r, const SimModel& m, int64_t i) {
  auto hi = [&](const char* g) { return r.high(c, i, m.index_of(g)); };
  std::vector<std::string> f;
  if (hi("Gata1") && hi("EKLF")) f.push_back("erythroid");
  if (hi("Gata1") && hi("Fli1")) f.push_back("megakaryocyte");
  if (hi("Pu.1") && hi("cJun")) f.push_back("monocyte");
  if (hi("Cebpa") && hi("Gfi1")) f.push_back("neutrophil");
  return f;
}


// Spearman correlation of time with the distance to the initial state over the
// approach to the attractor: from the start until the distance first reaches
// 90% of its final level (mean over the last tenth of the realisation). After
// that the state sits in the attractor and only noise moves it.
double approach_spearman(const Cells& c, const std::vector<int64_t>& rows, double* final_distance) {
  std::vector<double> d;
  for (int64_t i : rows) {
    double s = 0;
    for (int64_t g = 0; g < c.p; ++g) {
      const double e = c.at(i, g) - c.at(rows[0], g);
      s += e * e;
    }
    d.push_back(std::sqrt(s));
  }
  const size_t tail = std::max<size_t>(1, d.size() / 10);
  const double fin = std::accumulate(d.end() - static_cast<std::ptrdiff_t>(tail), d.end(), 0.0) / static_cast<double>(tail);
  size_t end = 0;
  while (end < d.size() && d[end] < 0.9 * fin) ++end;
  std::vector<double> t, dd;
  for (size_t k = 0; k <= std::min(end, d.size() - 1); ++k) {
    t.push_back(c.time[static_cast<size_t>(rows[k])]);
    dd.push_back(d[k]);
  }
  *final_distance = fin;
  return spearman(t, dd);
}

}  // namespace

TEST(SimRng, MatchesNumpyLegacyStream) {
  // np.random.seed(0); np.random.rand(3) and np.random.seed(0); np.random.randn(5)
  NumpyRandomState a(0);
  EXPECT_EQ(a.random_double(), 0.5488135039273248);
  EXPECT_EQ(a.random_double(), 0.7151893663724195);
  EXPECT_EQ(a.random_double(), 0.6027633760716439);
  NumpyRandomState b(0);
  for (double v : {1.764052345967664, 0.4001572083672233, 0.9787379841057392, 2.240893199201458, 1.8675579901499675})
    EXPECT_EQ(b.gauss(), v);
  // The cached second normal survives an interleaved uniform draw:
  // np.random.seed(7); randn(3); rand(); randn(2)
  NumpyRandomState c(7);
  for (double v : {1.690525703800356, -0.4659373705408328, 0.0328201636785844}) EXPECT_EQ(c.gauss(), v);
  EXPECT_EQ(c.random_double(), 0.5011204636599379);
  EXPECT_EQ(c.gauss(), 0.40751628299650783);
  EXPECT_EQ(c.gauss(), -0.1569886595634109);
  // np.random.seed(42); randint(1, 3, size=8); permutation(7); binomial(1, 0.4, size=8);
  // randint(0, 1000); choice(arange(5), size=2, replace=False)
  NumpyRandomState d(42);
  for (int v : {1, 2, 1, 1, 1, 2, 1, 1}) EXPECT_EQ(d.randint(1, 3), v);
  EXPECT_EQ(d.permutation(7), (std::vector<int64_t>{5, 0, 3, 4, 2, 1, 6}));
  for (int v : {1, 1, 1, 0, 1, 1, 0, 0}) EXPECT_EQ(d.binomial_one(0.4), v);
  EXPECT_EQ(d.randint(0, 1000), 276);
  const auto perm = d.permutation(5);
  EXPECT_EQ(perm[0], 4);
  EXPECT_EQ(perm[1], 2);
  NumpyRandomState e(4294967295u);
  EXPECT_EQ(e.gauss(), 0.6484086742306527);
}

TEST(Sim, ReproducesScanpysBundledKrumsiek11) {
  const AnnData a = sim(model("krumsiek11"));
  ASSERT_EQ(a.n_obs(), 640);
  ASSERT_EQ(a.n_vars(), 11);
  EXPECT_EQ(a.X_dense().dtype(), DType::Float32);
  // Rows of Scanpy's src/scanpy/datasets/krumsiek11.txt (what sc.datasets.krumsiek11()
  // loads; written by tl.sim with krumsiek11_params.txt): first and second
  // realisation starts, the monocyte realisation mid-way and at its end, the
  // neutrophil realisation late and at its end.
  const std::map<int64_t, std::vector<float>> scanpy = {
      {0, {0.8032f, -0.0005f, -0.0001f, 0.0003f, 0.0013f, 0.0011f, 0.7997f, 0.8017f, 0.0006f, 0.0009f, 0.0002f}},
      {80, {0.0185f, 0.0098f, -0.0003f, 0.0101f, -0.0013f, 0.0189f, 0.9999f, 0.7761f, 0.9460f, 0.9362f, 0.0030f}},
      {159, {0.0046f, -0.0072f, 0.0018f, -0.0036f, 0.0021f, -0.0090f, 1.0048f, 0.9932f, 0.9893f, 0.9727f, 0.0001f}},
      {160, {0.8010f, -0.0022f, 0.0006f, 0.0015f, 0.0011f, 0.0010f, 0.8006f, 0.8023f, 0.0012f, -0.0001f, 0.0001f}},
      {167, {0.4116f, 0.0179f, -0.0021f, -0.0026f, -0.0013f, 0.0058f, 0.9043f, 0.4148f, 0.1741f, 0.0538f, 0.1727f}},
      {600, {-0.0071f, -0.0056f, -0.0025f, 0.0002f, -0.0020f, -0.0040f, 1.0032f, 1.0047f, 0.0155f, -0.0102f, 0.9278f}},
      {639, {0.0049f, 0.0002f, -0.0013f, 0.0054f, -0.0036f, 0.0009f, 1.0011f, 0.9967f, 0.0066f, -0.0033f, 0.9177f}},
  };
  const Cells c = cells(a);
  for (const auto& [row, vals] : scanpy)
    for (int64_t g = 0; g < 11; ++g) EXPECT_EQ(c.at(row, g), vals[static_cast<size_t>(g)]) << "row " << row << " gene " << g;
  // Scanpy's obs_names: the time index within each realisation, repeated.
  EXPECT_EQ(a.obs_names()[0], "0");
  EXPECT_EQ(a.obs_names()[159], "159");
  EXPECT_EQ(a.obs_names()[160], "0");
  EXPECT_EQ(a.var_names(), model("krumsiek11").var_names);
  EXPECT_EQ(a.uns.at("iroot").get<Array>().get_double(0), 0.0);
  EXPECT_EQ(a.uns.at("tmax_write").get<Array>().get_double(0), 160.0);
  EXPECT_EQ(c.time[1], 5.0);
  EXPECT_EQ(c.time[159], 795.0);
  EXPECT_EQ(c.realization[159], 0.0);
  EXPECT_EQ(c.realization[160], 1.0);
  EXPECT_EQ(c.realization[639], 3.0);
}

TEST(Sim, Krumsiek11RealisationsEndInDistinctAttractors) {
  const SimModel m = model("krumsiek11");
  for (uint32_t seed : {0u, 1u, 2u}) {
    const SimSettings s = resolve_sim_settings(m, {.seed = seed});
    const SimResult r = simulate_grn(m, s);
    EXPECT_EQ(r.n_realizations, 4) << "seed " << seed;
    EXPECT_GE(r.n_trials, 4);
    const Cells c = cells(sim(m, {.seed = seed}));
    const Range rg = range(c);
    std::set<std::string> reached;
    for (const auto& [real, rows] : by_realization(c)) {
      const auto f = krumsiek_fates(c, rg, m, rows.back());
      ASSERT_EQ(f.size(), 1u) << "seed " << seed << " realisation " << real << " ends in no single fate";
      reached.insert(f[0]);
      // The progenitor start is none of the fates.
      EXPECT_TRUE(krumsiek_fates(c, rg, m, rows.front()).empty());
    }
    // With branching every kept realisation reaches a new branch.
    EXPECT_EQ(reached.size(), 4u) << "seed " << seed;
  }
  // Seed 0 in Scanpy's order: monocyte, erythroid, megakaryocyte, neutrophil
  // (the order sc.datasets.krumsiek11 hard-codes in its cell_type labels).
  const Cells c = cells(sim(m));
  const Range rg = range(c);
  std::vector<std::string> order;
  for (const auto& [real, rows] : by_realization(c)) order.push_back(krumsiek_fates(c, rg, m, rows.back())[0]);
  EXPECT_EQ(order, (std::vector<std::string>{"monocyte", "erythroid", "megakaryocyte", "neutrophil"}));
}

TEST(Sim, WithoutBranchingRealisationsRepeatBranches) {
  const SimModel m = model("krumsiek11");
  const SimResult r = simulate_grn(m, resolve_sim_settings(m, {.branching = false, .nrRealizations = 12}));
  EXPECT_EQ(r.n_realizations, 12);
  EXPECT_EQ(r.n_trials, 12);  // every realisation kept
  EXPECT_EQ(r.n_obs, 12 * 160);
  const AnnData a = sim(m, {.branching = false, .nrRealizations = 12});
  const Cells c = cells(a);
  const Range rg = range(c);
  std::map<std::string, int> count;
  for (const auto& [real, rows] : by_realization(c)) {
    const auto f = krumsiek_fates(c, rg, m, rows.back());
    ASSERT_EQ(f.size(), 1u) << "realisation " << real;
    ++count[f[0]];
  }
  // 12 independent runs over 4 attractors must revisit some, and reach more than one.
  EXPECT_GT(count.size(), 1u);
  EXPECT_LT(count.size(), 12u);
}

TEST(Sim, ToggleswitchEndsInBothStates) {
  const SimModel m = model("toggleswitch");
  for (uint32_t seed : {0u, 3u}) {
    const AnnData a = sim(m, {.seed = seed});
    ASSERT_EQ(a.n_obs(), 200);
    ASSERT_EQ(a.n_vars(), 2);
    const Cells c = cells(a);
    const Range rg = range(c);
    std::set<int> states;
    for (const auto& [real, rows] : by_realization(c)) {
      const int64_t last = rows.back();
      const bool h0 = rg.high(c, last, 0), h1 = rg.high(c, last, 1);
      ASSERT_NE(h0, h1) << "seed " << seed << " realisation " << real << ": " << c.at(last, 0) << ", " << c.at(last, 1);
      states.insert(h0 ? 0 : 1);
      // The winner is near 1, the loser near 0 (Hill steady state with noiseObs 0.01).
      EXPECT_GT(std::max(c.at(last, 0), c.at(last, 1)), 0.9f);
      EXPECT_LT(std::min(c.at(last, 0), c.at(last, 1)), 0.1f);
    }
    EXPECT_EQ(states.size(), 2u) << "seed " << seed;
  }
}

TEST(Sim, DeterministicForASeed) {
  const SimModel m = model("krumsiek11");
  const AnnData a = sim(m, {.seed = 5}), b = sim(m, {.seed = 5}), c = sim(m, {.seed = 6});
  EXPECT_TRUE(a.X_dense() == b.X_dense());
  EXPECT_TRUE(a.obs == b.obs);
  ASSERT_EQ(a.n_obs(), c.n_obs());
  const auto xa = a.X_dense().as<float>(), xc = c.X_dense().as<float>();
  size_t differ = 0;
  for (size_t i = 0; i < xa.size(); ++i) differ += xa[i] != xc[i];
  EXPECT_GT(differ, xa.size() / 2);
  const SimModel t = model("toggleswitch");
  EXPECT_TRUE(sim(t).X_dense() == sim(t).X_dense());
  EXPECT_FALSE(sim(t).X_dense() == sim(t, {.seed = 1}).X_dense());
}

TEST(Sim, TrajectoriesMoveAwayFromTheStart) {
  // Until a realisation settles in its attractor, its distance from the start
  // grows with time. Per realisation the rank correlation is at least 0.8 (the
  // megakaryocyte path turns once, when Fli1 wins over EKLF: 0.86 to 0.98) and
  // on average over a run's realisations at least 0.9 (seen: 0.95 to 1.0).
  for (const char* name : {"krumsiek11", "toggleswitch"}) {
    const SimModel m = model(name);
    for (uint32_t seed : {0u, 1u, 2u}) {
      const Cells c = cells(sim(m, {.seed = seed}));
      double sum = 0;
      int n = 0;
      for (const auto& [real, rows] : by_realization(c)) {
        double fin = 0;
        const double rho = approach_spearman(c, rows, &fin);
        EXPECT_GE(rho, 0.8) << name << " seed " << seed << " realisation " << real;
        EXPECT_GT(fin, 0.5) << name << " seed " << seed << " realisation " << real;
        sum += rho;
        ++n;
      }
      EXPECT_GE(sum / n, 0.9) << name << " seed " << seed;
    }
  }
}

TEST(Sim, HillAndVarStepsOnASmallModel) {
  // A constant input A, B = A (coupling 0.5: θ = 0.2), C = not B (θ = 0.1).
  const SimModel m = parse_sim_model(
      "# modelType = hill\n# invTimeStep = 0.1\nA =\nB = A\nC = not B\n# coupling list:\nB A 0.5\nC B 1.0\n",
      "cascade.txt", "cascade");
  const SimOptions opt{.tmax = 400, .branching = false, .nrRealizations = 2, .noiseObs = 0.0, .noiseDyn = 0.0,
                       .step = 10, .seed = 3};
  const AnnData a = sim(m, opt);
  ASSERT_EQ(a.n_obs(), 80);
  const Cells c = cells(a);
  const double A = c.at(0, 0);
  EXPECT_GT(A, 0.0);
  EXPECT_LT(A, 1.0);
  const double b_star = A * A / (A * A + 0.04);
  const double c_star = 0.01 / (b_star * b_star + 0.01);
  for (int64_t i : {int64_t{39}, int64_t{79}}) {
    EXPECT_EQ(c.at(i, 0), c.at(0, 0));  // no inputs, no noise: A is constant
    EXPECT_NEAR(c.at(i, 1), b_star, 2e-4);
    EXPECT_NEAR(c.at(i, 2), c_star, 2e-4);
  }
  // One explicit increment: B' = 0.1·(A²/(A²+θ²) − B).
  std::vector<double> x = {0.3, 0.1, 0.7}, d(3);
  grn_increment(m, x, d);
  EXPECT_DOUBLE_EQ(d[0], 0.0);
  EXPECT_DOUBLE_EQ(d[1], 0.1 * (0.09 / (0.09 + 0.04) - 0.1));
  EXPECT_DOUBLE_EQ(d[2], 0.1 * (0.01 / (0.01 + 0.01) - 0.7));

  // A var model: x_{t+1} = x_t + (C x_t − x_t) = 0.5 x_t.
  const SimModel v = parse_sim_model("a = a\n# coupling list:\na a 0.5\n", "half.txt", "half");
  EXPECT_EQ(v.model_type, SimModelType::Var);
  const SimResult r = simulate_grn(v, resolve_sim_settings(v, {.params_file = false, .tmax = 4, .branching = false,
                                                              .nrRealizations = 1, .noiseObs = 0.0, .noiseDyn = 0.0,
                                                              .step = 1, .seed = 0}));
  ASSERT_EQ(r.n_obs, 4);
  EXPECT_GT(r.X[0], 0.0);  // a uniform initial state, as Scanpy draws for models other than its two
  EXPECT_LT(r.X[0], 1.0);
  for (int t = 1; t < 4; ++t) EXPECT_DOUBLE_EQ(r.X[static_cast<size_t>(t)], r.X[0] * std::pow(0.5, t));
}

TEST(Sim, ParameterErrors) {
  const SimModel bare = read_sim_model(models_dir() + "/krumsiek11.txt", false);
  EXPECT_THROW(sim(bare), ValueError);  // nothing says tmax
  const SimModel m = model("krumsiek11");
  EXPECT_THROW(sim(m, {.tmax = 0}), ValueError);
  EXPECT_THROW(sim(m, {.nrRealizations = 0}), ValueError);
  EXPECT_THROW(sim(m, {.noiseDyn = -0.1}), ValueError);
  // Given values win over the file; krumsiek11's step is always 5, as in Scanpy.
  const SimSettings s = resolve_sim_settings(m, {.tmax = 50, .step = 2});
  EXPECT_EQ(s.tmax, 50);
  EXPECT_EQ(s.step, 5);
  EXPECT_EQ(sim(m, {.tmax = 50, .branching = false, .nrRealizations = 1}).n_obs(), 10);
}

TEST(SimDatasets, Krumsiek11AsScanpyAnnotatesIt) {
  const AnnData a = datasets::krumsiek11(models_dir());
  ASSERT_EQ(a.n_obs(), 640);
  const auto& ct = a.obs.at("cell_type");
  ASSERT_TRUE(std::holds_alternative<Categorical>(ct));
  const auto& cat = std::get<Categorical>(ct);
  // sc.datasets.krumsiek11: cell_type[80:160] = 'Mo', [240:320] = 'Ery',
  // [400:480] = 'Mk', [560:640] = 'Neu', 'progenitor' elsewhere.
  for (int64_t i = 0; i < 640; ++i) {
    const int64_t block = i / 160, within = i % 160;
    const std::string expect = within < 80 ? "progenitor" : std::vector<std::string>{"Mo", "Ery", "Mk", "Neu"}[static_cast<size_t>(block)];
    ASSERT_EQ(cat.label(i), expect) << i;
  }
  const Dict& h = a.uns.at("highlights").get<Dict>();
  EXPECT_EQ(h.at("0").get<std::string>(), "Stem");
  EXPECT_EQ(h.at("159").get<std::string>(), "Mo");
  EXPECT_EQ(h.at("319").get<std::string>(), "Ery");
  EXPECT_EQ(h.at("479").get<std::string>(), "Mk");
  EXPECT_EQ(h.at("639").get<std::string>(), "Neu");
  EXPECT_THROW(datasets::krumsiek11(scanpp::testing::shared("data/no_such_dir")), InputError);
}

TEST(SimDatasets, ToggleswitchAndH5adRoundTrip) {
  const AnnData a = datasets::toggleswitch(models_dir());
  EXPECT_EQ(a.n_obs(), 200);
  EXPECT_EQ(a.var_names(), (std::vector<std::string>{"0", "1"}));
  scanpp::testing::TempDir tmp;
  const AnnData k = datasets::krumsiek11(models_dir());
  io::write_h5ad(k, tmp.file("krumsiek11.h5ad"));
  const AnnData back = io::read_h5ad(tmp.file("krumsiek11.h5ad"));
  EXPECT_TRUE(back.X_dense() == k.X_dense());
  EXPECT_EQ(back.obs_names(), k.obs_names());  // non-unique, as Scanpy's
  EXPECT_EQ(back.obs.numeric("time"), k.obs.numeric("time"));
  EXPECT_EQ(std::get<Categorical>(back.obs.at("cell_type")).label(100), "Mo");
}
