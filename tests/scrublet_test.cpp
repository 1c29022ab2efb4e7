// pp.scrublet and pp.scrublet_simulate_doublets on the PBMC 3k counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>

#include "golden_support.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/pp/scrublet.hpp"
#include "scanpp/pp/scrublet_simulate_doublets.hpp"
#include "scanpp/pp/scrublet_threshold.hpp"
#include "test_paths.hpp"

using namespace scanpp;

namespace {

const AnnData& pbmc_counts() {
  static const AnnData a = golden::pbmc3k_filtered_counts();
  return a;
}

// The first n cells of the PBMC counts.
AnnData first_cells(int64_t n) {
  Indices rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), int64_t{0});
  return pbmc_counts().subset(rows, std::nullopt);
}

// Default scrublet on all 2,638 cells, computed once for the tests below.
const AnnData& pbmc_scrubbed() {
  static const AnnData a = [] {
    AnnData x = pbmc_counts();
    pp::scrublet(x);
    return x;
  }();
  return a;
}

// Area under the ROC curve: P(score of a positive > score of a negative), ties count half.
double auc(const std::vector<double>& pos, const std::vector<double>& neg) {
  double s = 0.0;
  for (double p : pos)
    for (double q : neg) s += p > q ? 1.0 : (p == q ? 0.5 : 0.0);
  return s / (static_cast<double>(pos.size()) * static_cast<double>(neg.size()));
}

std::vector<int64_t> parse_ints(const std::string& text) {
  std::istringstream in(text);
  std::vector<int64_t> v;
  int64_t x;
  while (in >> x) v.push_back(x);
  return v;
}

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }

}  // namespace

// The pair draws replay scikit-learn's sample_without_replacement on numpy's
// RandomState(0). numpy is the reference here; scikit-learn's tracking-selection
// and reservoir loops are short and restated in the Python snippet.
TEST(ScrubletSimulate, PairsMatchNumpyRandomState) {
  const std::string py =
      "import numpy as np\n"
      "def tracking(n_pop, n, seed):\n"
      "    rs = np.random.RandomState(seed); sel = set(); out = []\n"
      "    for i in range(n):\n"
      "        j = rs.randint(n_pop)\n"
      "        while j in sel: j = rs.randint(n_pop)\n"
      "        sel.add(j); out.append(j)\n"
      "    return out\n"
      "def reservoir(n_pop, n, seed):\n"
      "    rs = np.random.RandomState(seed); out = list(range(n))\n"
      "    for i in range(n, n_pop):\n"
      "        j = rs.randint(0, i + 1)\n"
      "        if j < n: out[j] = i\n"
      "    return out\n"
      "print(*tracking(2638 * 2638, 5276, 0))\n"
      "print(*np.random.RandomState(3).permutation(50 * 50)[:100])\n"
      "print(*reservoir(1000, 995, 7))\n";
  scanpp::testing::TempDir dir;
  {
    std::ofstream f(dir.file("pairs.py"));
    f << py;
  }
  std::string out;
  if (scanpp::testing::run_command("/usr/bin/python3 " + dir.file("pairs.py"), &out) != 0)
    GTEST_SKIP() << "/usr/bin/python3 with numpy is not available";
  std::istringstream lines(out);
  std::string l1, l2, l3;
  std::getline(lines, l1);
  std::getline(lines, l2);
  std::getline(lines, l3);

  random::NumpyRandomState rs0(0);
  EXPECT_EQ(pp::sample_without_replacement(2638LL * 2638, 5276, rs0), parse_ints(l1));  // ratio < 0.01
  random::NumpyRandomState rs3(3);
  EXPECT_EQ(pp::sample_without_replacement(2500, 100, rs3), parse_ints(l2));  // permutation branch
  random::NumpyRandomState rs7(7);
  EXPECT_EQ(pp::sample_without_replacement(1000, 995, rs7), parse_ints(l3));  // reservoir branch

  // The same draws become Scanpy's doublet_parents: (idx // n_obs, idx % n_obs).
  const std::vector<int64_t> flat = parse_ints(l1);
  const std::vector<int64_t>& parents = pbmc_scrubbed().uns.at("scrublet").get<Dict>().at("doublet_parents").get<Array>().to_vector<int64_t>();
  // parents index the cells kept by filter_cells(min_genes=3): all 2,638 here.
  ASSERT_EQ(parents.size(), 2 * flat.size());
  for (size_t s = 0; s < flat.size(); ++s) {
    ASSERT_EQ(parents[2 * s], flat[s] / 2638);
    ASSERT_EQ(parents[2 * s + 1], flat[s] % 2638);
  }
}

TEST(ScrubletSimulate, DoubletsAreSumsOfTheirParents) {
  const AnnData a = first_cells(300);
  const AnnData sim = pp::scrublet_simulate_doublets(a, {.sim_doublet_ratio = 1.5});
  ASSERT_EQ(sim.n_obs(), 450);
  ASSERT_EQ(sim.n_vars(), a.n_vars());
  const Array dense_obs = to_dense(a.X_sparse());
  const Array dense_sim = to_dense(sim.X_sparse());
  EXPECT_EQ(dense_sim.dtype(), DType::Float32);
  const auto par = sim.obsm.at("doublet_parents").get<Array>().to_vector<int64_t>();
  const auto n_counts = sim.obs.numeric("n_counts");
  const int64_t g = a.n_vars();
  for (int64_t s = 0; s < sim.n_obs(); ++s) {
    const int64_t i = par[2 * s], j = par[2 * s + 1];
    double total = 0.0, parents_total = 0.0;
    for (int64_t c = 0; c < g; ++c) {
      const double want = dense_obs.get_double(i * g + c) + dense_obs.get_double(j * g + c);
      ASSERT_EQ(dense_sim.get_double(s * g + c), want) << "doublet " << s << " gene " << c;
      total += dense_sim.get_double(s * g + c);
      parents_total += want;
    }
    EXPECT_EQ(n_counts[s], parents_total);
    EXPECT_EQ(total, parents_total);
  }
  const Dict& params = sim.uns.at("scrublet").get<Dict>().at("parameters").get<Dict>();
  EXPECT_EQ(params.at("sim_doublet_ratio").get<Array>().get_double(0), 1.5);
}

TEST(ScrubletSimulate, SubsamplingThinsCounts) {
  const AnnData a = first_cells(200);
  const AnnData full = pp::scrublet_simulate_doublets(a, {.random_state = 1});
  const AnnData thin = pp::scrublet_simulate_doublets(a, {.synthetic_doublet_umi_subsampling = 0.5, .random_state = 1});
  // Same pairs, about half the UMIs; every thinned count is at most the full one.
  EXPECT_EQ(full.obsm.at("doublet_parents"), thin.obsm.at("doublet_parents"));
  const Array f = to_dense(full.X_sparse()), t = to_dense(thin.X_sparse());
  double sf = 0.0, st = 0.0;
  for (int64_t k = 0; k < f.size(); ++k) {
    ASSERT_LE(t.get_double(k), f.get_double(k));
    sf += f.get_double(k);
    st += t.get_double(k);
  }
  EXPECT_NEAR(st / sf, 0.5, 0.01);
  // Deterministic for any thread count.
  set_num_threads(1);
  const AnnData t1 = pp::scrublet_simulate_doublets(a, {.synthetic_doublet_umi_subsampling = 0.5, .random_state = 1});
  set_num_threads(2);
  const AnnData t2 = pp::scrublet_simulate_doublets(a, {.synthetic_doublet_umi_subsampling = 0.5, .random_state = 1});
  set_num_threads(0);
  EXPECT_TRUE(t1.X_sparse() == t2.X_sparse());
  EXPECT_TRUE(t1.X_sparse() == thin.X_sparse());
  EXPECT_THROW(pp::scrublet_simulate_doublets(a, {.synthetic_doublet_umi_subsampling = 0.0}), ValueError);
  EXPECT_THROW(pp::scrublet_simulate_doublets(a, {.layer = "nope"}), KeyError);
}

// threshold_minimum against numpy's histogram and scipy's uniform_filter1d
// running scikit-image's loop (restated in the snippet: skimage is not installed).
TEST(ScrubletThreshold, MatchesHistogramSmoothingInNumpy) {
  std::mt19937_64 gen(42);
  std::normal_distribution<double> lo(0.1, 0.04), hi(0.6, 0.1);
  std::vector<std::vector<double>> samples(3);
  for (int i = 0; i < 3000; ++i) samples[0].push_back(lo(gen));
  for (int i = 0; i < 1200; ++i) samples[0].push_back(hi(gen));
  for (int i = 0; i < 2000; ++i) samples[1].push_back(lo(gen));
  for (int i = 0; i < 500; ++i) samples[2].push_back(std::floor(hi(gen) * 20) / 20);  // many ties on bin edges
  scanpp::testing::TempDir dir;
  {
    std::ofstream py(dir.file("t.py"));
    py << "import numpy as np, scipy.ndimage as ndi, sys\n"
          "def mx(h):\n"
          "    out=[]; d=1\n"
          "    for i in range(h.shape[0]-1):\n"
          "        if d>0:\n"
          "            if h[i+1]<h[i]: d=-1; out.append(i)\n"
          "        elif h[i+1]>h[i]: d=1\n"
          "    return out\n"
          "for f in sys.argv[1:]:\n"
          "    h, e = np.histogram(np.loadtxt(f), bins=256)\n"
          "    c = (e[:-1] + e[1:]) / 2\n"
          "    s = h.astype(np.float64)\n"
          "    for it in range(10000):\n"
          "        s = ndi.uniform_filter1d(s, 3); m = mx(s)\n"
          "        if len(m) < 3: break\n"
          "    print(repr(float(c[m[0] + np.argmin(s[m[0]:m[1]+1])])) if len(m) == 2 and it < 9999 else 'None')\n";
  }
  std::string args;
  for (size_t k = 0; k < samples.size(); ++k) {
    const std::string f = dir.file("v" + std::to_string(k) + ".txt");
    std::ofstream out(f);
    out.precision(17);
    for (double x : samples[k]) out << x << "\n";
    args += " " + f;
  }
  std::string out;
  if (scanpp::testing::run_command("/usr/bin/python3 " + dir.file("t.py") + args, &out) != 0)
    GTEST_SKIP() << "/usr/bin/python3 with numpy/scipy is not available";
  std::istringstream lines(out);
  bool any_none = false;
  for (const auto& v : samples) {
    std::string line;
    std::getline(lines, line);
    const auto got = pp::threshold_minimum(v);
    if (line == "None") {
      any_none = true;
      EXPECT_FALSE(got.has_value());
    } else {
      ASSERT_TRUE(got.has_value()) << line;
      EXPECT_EQ(*got, std::stod(line));
    }
  }
  // The bimodal sample's threshold lies between its modes.
  const auto t = pp::threshold_minimum(samples[0]);
  ASSERT_TRUE(t.has_value());
  EXPECT_GT(*t, 0.2);
  EXPECT_LT(*t, 0.45);
  std::printf("[scrublet] threshold_minimum: %s", out.c_str());
  (void)any_none;
  EXPECT_THROW(pp::threshold_minimum(std::vector<double>{}), ValueError);
  EXPECT_THROW(pp::threshold_minimum(std::vector<double>{1.0, std::nan("")}), ValueError);
}

TEST(Scrublet, Pbmc3kScoresAndKeys) {
  const AnnData& a = pbmc_scrubbed();
  const auto score = a.obs.numeric("doublet_score");
  const auto pred = a.obs.boolean("predicted_doublet");
  ASSERT_EQ(score.size(), 2638u);
  const Dict& u = a.uns.at("scrublet").get<Dict>();
  const auto sim = u.at("doublet_scores_sim").get<Array>().to_vector<double>();
  ASSERT_EQ(sim.size(), 5276u);
  EXPECT_EQ(u.at("doublet_parents").get<Array>().shape(), (std::vector<int64_t>{5276, 2}));
  const Dict& params = u.at("parameters").get<Dict>();
  EXPECT_EQ(params.at("n_neighbors").get<Array>().get_double(0), 26);  // round(0.5 * sqrt(2638))
  EXPECT_EQ(params.at("expected_doublet_rate").get<Array>().get_double(0), 0.05);
  EXPECT_EQ(params.at("sim_doublet_ratio").get<Array>().get_double(0), 2.0);
  for (double s : score) {
    ASSERT_GE(s, 0.0);
    ASSERT_LE(s, 1.0);
  }
  for (double s : sim) {
    ASSERT_GE(s, 0.0);
    ASSERT_LE(s, 1.0);
  }
  // Simulated doublets score far higher than the observed cells.
  const double mo = mean(score), ms = mean(sim);
  std::printf("[scrublet] mean score observed %.4f, simulated %.4f\n", mo, ms);
  EXPECT_GT(ms, 2.5 * mo);
  ASSERT_TRUE(u.count("threshold"));
  const double t = u.at("threshold").get<Array>().get_double(0);
  int64_t called = 0;
  for (size_t i = 0; i < score.size(); ++i) {
    ASSERT_EQ(pred[i], score[i] > t);
    called += pred[i];
  }
  const double rate = static_cast<double>(called) / 2638.0;
  int64_t sim_above = 0;
  for (double s : sim) sim_above += s > t;
  std::printf("[scrublet] threshold %.4f, predicted doublets %lld (%.2f%%), detectable fraction %.1f%%\n", t,
              static_cast<long long>(called), 100 * rate, 100.0 * sim_above / 5276.0);
  // Scrublet on PBMC 3k typically calls 1-5 %; allow a little more room.
  EXPECT_GT(rate, 0.003);
  EXPECT_LT(rate, 0.08);
  EXPECT_GT(t, 0.05);
  EXPECT_LT(t, 0.9);
}

// 100 planted doublets (sums of random cell pairs) must stand out. Pairs of
// cells of the same type (homotypic; a third of random PBMC pairs, T cells
// being half the data) look like singlets to any expression-based method, so
// the area under the ROC curve is also reported for the heterotypic ones.
TEST(Scrublet, PlantedDoubletsScoreHigh) {
  const AnnData& base = pbmc_counts();
  const SparseMatrix& x = base.X_sparse();
  const auto leiden = golden::read_csv(golden::shared("golden/pbmc3k/cluster_labels.csv")).text("leiden");
  ASSERT_EQ(static_cast<int64_t>(leiden.size()), base.n_obs());
  std::mt19937_64 gen(2024);
  std::uniform_int_distribution<int64_t> pick(0, base.n_obs() - 1);
  SparseMatrix csr = x;
  std::vector<float> data = x.data.to_vector<float>();
  std::vector<bool> heterotypic;
  for (int d = 0; d < 100; ++d) {
    const int64_t i = pick(gen);
    int64_t j = pick(gen);
    while (j == i) j = pick(gen);
    heterotypic.push_back(leiden[i] != leiden[j]);
    std::map<int32_t, float> m;
    for (int64_t c : {i, j})
      for (int64_t k = x.indptr[c]; k < x.indptr[c + 1]; ++k) m[x.indices[k]] += x.data.as<float>()[k];
    for (const auto& [c, v] : m) {
      csr.indices.push_back(c);
      data.push_back(v);
    }
    csr.indptr.push_back(static_cast<int64_t>(csr.indices.size()));
  }
  csr.n_rows += 100;
  csr.data = Array::from_vector(data);
  AnnData a{Element(std::move(csr))};
  pp::scrublet(a);
  const auto score = a.obs.numeric("doublet_score");
  const auto pred = a.obs.boolean("predicted_doublet");
  const size_t n0 = score.size() - 100;
  std::vector<double> pos(score.begin() + n0, score.end()), neg(score.begin(), score.begin() + n0), pos_het;
  for (int d = 0; d < 100; ++d)
    if (heterotypic[d]) pos_het.push_back(pos[d]);
  const double area = auc(pos, neg), area_het = auc(pos_het, neg);
  int64_t planted_called = 0, others_called = 0;
  for (size_t i = 0; i < pred.size(); ++i) (i >= n0 ? planted_called : others_called) += pred[i];
  std::printf("[scrublet] planted doublets: AUC %.3f (heterotypic, %zu of 100: %.3f), mean score %.3f vs %.3f, "
              "called %lld/100 (others %lld/%zu)\n",
              area, pos_het.size(), area_het, mean(pos), mean(neg), static_cast<long long>(planted_called),
              static_cast<long long>(others_called), n0);
  EXPECT_GT(area, 0.78);
  EXPECT_GT(area_het, 0.85);
  EXPECT_GT(mean(pos), 2.5 * mean(neg));
  // Planted doublets are called at a much higher rate than the other cells.
  EXPECT_GT(planted_called / 100.0, 5.0 * others_called / static_cast<double>(n0));
}

TEST(Scrublet, DeterministicAndThreadIndependent) {
  const AnnData sub = first_cells(600);
  AnnData a1 = sub, a2 = sub;
  set_num_threads(1);
  pp::scrublet(a1);
  set_num_threads(2);
  pp::scrublet(a2);
  set_num_threads(0);
  EXPECT_EQ(a1.obs.numeric("doublet_score"), a2.obs.numeric("doublet_score"));
  EXPECT_EQ(a1.obs.boolean("predicted_doublet"), a2.obs.boolean("predicted_doublet"));
  EXPECT_TRUE(a1.uns == a2.uns);
  // A different seed draws different doublets.
  const AnnData s0 = pp::scrublet_simulate_doublets(sub), s5 = pp::scrublet_simulate_doublets(sub, {.random_state = 5});
  EXPECT_FALSE(s0.obsm.at("doublet_parents") == s5.obsm.at("doublet_parents"));
  EXPECT_TRUE(s0.obsm.at("doublet_parents") == a1.uns.at("scrublet").get<Dict>().at("doublet_parents"));
}

TEST(Scrublet, BatchesAreScoredSeparately) {
  AnnData a = first_cells(600);
  std::vector<std::string> batch(600);
  for (int i = 0; i < 600; ++i) batch[i] = i % 2 ? "b" : "a";
  a.obs.set("sample", Categorical::from_strings(batch));
  pp::scrublet(a, {.batch_key = "sample", .n_neighbors = 10, .threshold = 0.3});
  const Dict& u = a.uns.at("scrublet").get<Dict>();
  EXPECT_EQ(u.at("batched_by").get<std::string>(), "sample");
  const Dict& batches = u.at("batches").get<Dict>();
  ASSERT_EQ(batches.size(), 2u);
  // Each batch is the same computation as running on that batch alone.
  Indices odd;
  for (int64_t i = 1; i < 600; i += 2) odd.push_back(i);
  AnnData b = first_cells(600).subset(odd, std::nullopt);
  pp::scrublet(b, {.n_neighbors = 10, .threshold = 0.3});
  const auto sa = a.obs.numeric("doublet_score"), sb = b.obs.numeric("doublet_score");
  for (size_t r = 0; r < odd.size(); ++r) ASSERT_EQ(sa[odd[r]], sb[r]);
  EXPECT_TRUE(batches.at("b") == b.uns.at("scrublet"));
  EXPECT_EQ(batches.at("a").get<Dict>().at("threshold").get<Array>().get_double(0), 0.3);
  EXPECT_THROW(pp::scrublet(a, {.batch_key = "nope"}), ValueError);
}

TEST(Scrublet, BadParameters) {
  AnnData a = first_cells(200);
  EXPECT_THROW(pp::scrublet(a, {.expected_doublet_rate = 1.5}), ValueError);
  EXPECT_THROW(pp::scrublet(a, {.knn_dist_metric = "hamming"}), ValueError);
  EXPECT_THROW(pp::scrublet(a, {.n_prin_comps = 5000}), ValueError);
  EXPECT_THROW(pp::scrublet(a, {.sim_doublet_ratio = -1}), ValueError);
  AnnData empty;
  EXPECT_THROW(pp::scrublet(empty), ValueError);
  // Nothing was written by the failed calls.
  EXPECT_FALSE(a.obs.has("doublet_score"));
}

TEST(Scrublet, PipelineStep) {
  scanpp::testing::TempDir dir;
  const AnnData a = first_cells(300);
  io::write_h5ad(a, dir.file("in.h5ad"));
  const std::string yaml = "- read: {path: " + dir.file("in.h5ad") +
                           "}\n- pp.scrublet: {n_neighbors: 8, random_state: 3, expected_doublet_rate: 0.06}\n";
  AnnData out;
  pipeline::run_yaml(yaml, "scrublet.yaml", {.verbose = false}, &out);
  ASSERT_TRUE(out.obs.has("doublet_score"));
  AnnData direct = a;
  pp::scrublet(direct, {.expected_doublet_rate = 0.06, .n_neighbors = 8, .random_state = 3});
  EXPECT_EQ(out.obs.numeric("doublet_score"), direct.obs.numeric("doublet_score"));
  EXPECT_EQ(out.obs.boolean("predicted_doublet"), direct.obs.boolean("predicted_doublet"));
  EXPECT_THROW(pipeline::run_yaml("- read: {path: " + dir.file("in.h5ad") + "}\n- pp.scrublet: {bogus: 1}\n", "bad.yaml",
                                  {.verbose = false}, &out),
               Error);
}
