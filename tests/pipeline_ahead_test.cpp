// Steps that run ahead of their turn (pipeline/ahead_plan, ahead_runner):
// where plan_ahead starts tl.tsne and what keeps it in its turn; a pipeline
// gives the same state run ahead or in order, on 2 threads and on 1; errors
// of a step run ahead are reported as that step's, whether its start or its
// work failed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "budget_flipper.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/core/thread_budget.hpp"
#include "scanpp/tl/tsne.hpp"
#include "scanpp/pipeline/ahead_plan.hpp"
#include "scanpp/pipeline/ahead_runner.hpp"
#include "scanpp/pipeline/pipeline.hpp"

using namespace scanpp;
using pipeline::AheadCandidate;
using pipeline::plan_ahead;

namespace {

AheadCandidate step(const std::string& name, std::vector<std::string> strings = {}, std::string key = "") {
  AheadCandidate c;
  c.name = name;
  c.can_run_ahead = name == "tl.tsne";
  c.strings = std::move(strings);
  c.key_added = std::move(key);
  return c;
}

const char* kSteps = R"(- datasets.synthetic: {n_cells: 700, n_genes: 600, n_clusters: 4, seed: 3}
- pp.normalize_total: {target_sum: 10000}
- pp.log1p: {}
- pp.pca: {n_comps: 20, svd_solver: arpack}
- pp.neighbors: {n_neighbors: 10, n_pcs: 20}
- tl.umap: {}
- tl.leiden: {resolution: 1.0}
- tl.rank_genes_groups: {groupby: leiden, method: t-test}
- tl.tsne: {n_pcs: 20, perplexity: 20}
)";

AnnData run(const std::string& yaml, bool ahead, std::vector<pipeline::StepReport>* report = nullptr) {
  AnnData ad;
  auto r = pipeline::run_yaml(yaml, "p.yaml", {.verbose = false, .run_ahead = ahead}, &ad);
  if (report) *report = r;
  return ad;
}

bool same_array(const Element& a, const Element& b) {
  const Array& x = a.get<Array>();
  const Array& y = b.get<Array>();
  return x.shape() == y.shape() && x.dtype() == y.dtype() && x.to_vector<double>() == y.to_vector<double>();
}

}  // namespace

TEST(PlanAhead, TsneStartsAfterTheLastStepThatMayChangeItsInput) {
  const std::vector<AheadCandidate> tutorial = {
      step("pp.scale"),         step("pp.pca"),      step("pl.pca_variance_ratio", {"out/pca.png"}),
      step("pp.neighbors"),     step("tl.umap"),     step("tl.leiden"),
      step("pl.umap", {"leiden", "out/umap.png"}),   step("tl.draw_graph", {"fa"}),
      step("tl.tsne", {"40"}),  step("pl.tsne", {"leiden"}),   step("write", {"out.h5ad"})};
  const std::vector<int> got = plan_ahead(tutorial);
  ASSERT_EQ(got.size(), tutorial.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], i == 8 ? 2 : -1) << tutorial[i].name;
}

TEST(PlanAhead, StepsThatReadOrChangeWhatItUsesKeepItBehindThem) {
  // Each list ends with tl.tsne; want: the step it starts before.
  const std::vector<std::pair<std::vector<AheadCandidate>, int>> cases = {
      {{step("pp.pca"), step("pl.tsne"), step("tl.umap"), step("tl.tsne")}, 2},      // reads the old X_tsne
      {{step("pp.pca"), step("tl.umap", {}, "X_pca"), step("tl.tsne")}, -1},        // any key_added
      {{step("pp.pca"), step("pl.scatter", {"tsne"}), step("tl.tsne")}, -1},        // a parameter names it
      {{step("pp.pca"), step("tl.umap"), step("tl.tsne", {"X_umap"})}, -1},         // reads tl.umap's output
      {{step("pp.pca"), step("subset", {"a < 1"}), step("tl.tsne")}, -1},           // changes the cells
      {{step("pp.pca"), step("tl.leiden"), step("tl.tsne", {}, "emb")}, 1},         // own key: still ahead
      {{step("pp.pca"), step("pl.umap", {"emb"}), step("tl.tsne", {}, "emb")}, -1},  // reads the own key
      {{step("tl.umap"), step("tl.tsne")}, 0},                                      // from the first step
  };
  for (const auto& [steps, want] : cases) {
    const std::vector<int> got = plan_ahead(steps);
    EXPECT_EQ(got.back(), want) << steps[steps.size() - 2].name;
    for (size_t i = 0; i + 1 < got.size(); ++i) EXPECT_EQ(got[i], -1);
  }
  // Two t-SNE steps: the second starts after the first one's turn.
  const std::vector<int> two = plan_ahead({step("pp.pca"), step("tl.umap"), step("tl.tsne"), step("tl.leiden"),
                                           step("tl.tsne", {}, "second")});
  EXPECT_EQ(two, (std::vector<int>{-1, -1, 1, -1, 3}));
}

TEST(PipelineAhead, SameStateAheadAndInOrderOnOneAndTwoThreads) {
  const int before = num_threads();
  set_num_threads(2);
  std::vector<pipeline::StepReport> report;
  const AnnData ahead = run(kSteps, true, &report);
  EXPECT_EQ(report.back().name, "tl.tsne (ran ahead)");
  const AnnData in_order = run(kSteps, false, &report);
  EXPECT_EQ(report.back().name, "tl.tsne");
  set_num_threads(1);
  const AnnData single = run(kSteps, true, &report);
  EXPECT_EQ(report.back().name, "tl.tsne");  // one thread: nothing to run beside
  set_num_threads(before);
  for (const AnnData* other : {&in_order, &single}) {
    for (const char* key : {"X_tsne", "X_umap", "X_pca"})
      EXPECT_TRUE(same_array(ahead.obsm.at(key), other->obsm.at(key))) << key;
    EXPECT_EQ(ahead.uns.at("tsne").get<Dict>().size(), other->uns.at("tsne").get<Dict>().size());
    EXPECT_EQ(ahead.obs.column_names(), other->obs.column_names());
  }
}

TEST(PipelineAhead, FftTsneRunsInItsTurn) {
  // The FFT method declines to run ahead (it wants every thread).
  const int before = num_threads();
  set_num_threads(2);
  std::string fft = kSteps;
  fft.replace(fft.find("perplexity: 20"), 14, "perplexity: 20, method: fft, max_iter: 30");
  std::vector<pipeline::StepReport> report;
  const AnnData got = run(fft, true, &report);
  EXPECT_EQ(report.back().name, "tl.tsne");
  const AnnData in_order = run(fft, false);
  EXPECT_TRUE(same_array(got.obsm.at("X_tsne"), in_order.obsm.at("X_tsne")));
  set_num_threads(before);
}

TEST(PipelineAhead, ErrorsAreTheStepsOwn) {
  const int before = num_threads();
  set_num_threads(2);
  // The work fails (perplexity above the number of cells): reported in the
  // step's turn, after the steps in between ran.
  std::string bad = kSteps;
  bad.replace(bad.find("perplexity: 20"), 14, "perplexity: 5000");
  for (bool ahead : {true, false}) {
    try {
      run(bad, ahead);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("step 'tl.tsne'"), std::string::npos) << what;
      EXPECT_NE(what.find("perplexity"), std::string::npos) << what;
    }
  }
  // The start fails (no such representation): the step runs in its turn.
  std::string missing = kSteps;
  const std::string tsne_params = "n_pcs: 20, perplexity: 20";
  missing.replace(missing.find(tsne_params), tsne_params.size(), "use_rep: X_nothing, perplexity: 20");
  try {
    run(missing, true);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("step 'tl.tsne'"), std::string::npos) << what;
    EXPECT_NE(what.find("X_nothing"), std::string::npos) << what;
  }
  set_num_threads(before);
}

TEST(PipelineAhead, TsneFollowsItsThreadBudgetWithTheSameBits) {
  // 600 points in 8 dimensions, four clusters.
  std::mt19937 gen(5);
  std::normal_distribution<float> d;
  Array X(DType::Float32, {600, 8});
  auto x = X.as<float>();
  for (int64_t i = 0; i < 600; ++i)
    for (int64_t j = 0; j < 8; ++j) x[static_cast<size_t>(i * 8 + j)] = d(gen) + (j == i % 4 ? 6.0f : 0.0f);
  tl::TsneOptions opt;
  opt.perplexity = 20;
  opt.max_iter = 400;
  const int before = num_threads();
  set_num_threads(1);
  const Array plain = tl::tsne_embedding(X, opt).embedding;
  // The budget flips between 1 and 2 threads while the descent runs.
  Array budgeted;
  {
    const scanpp::testing::BudgetFlipper flipper;
    budgeted = tl::tsne_embedding(X, opt).embedding;
  }
  set_num_threads(before);
  EXPECT_TRUE(plain.to_vector<double>() == budgeted.to_vector<double>());
}

// While a step runs ahead, the pipeline's thread has a budget of the other
// threads (for the layouts that follow one, core/thread_budget.hpp); it
// grows to all of them when the step's work is done, and is gone once the
// step has finished.
TEST(PipelineAhead, PipelineBudgetGrowsWhenTheStepIsDone) {
  const int before = num_threads();
  set_num_threads(2);
  std::atomic<bool> release{false};
  const pipeline::AheadStep step{[&](const AnnData&) -> pipeline::AheadStep::Work {
                                   return [&]() -> pipeline::AheadStep::Commit {
                                     while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                                     return nullptr;
                                   };
                                 },
                                 [](AnnData&) {}};
  AnnData ad;
  {
    pipeline::AheadRunner runner(2);
    ASSERT_TRUE(runner.start(step, 3, ad));
    const ThreadBudget* budget = current_thread_budget();
    ASSERT_NE(budget, nullptr);
    EXPECT_EQ(budget->threads(), 1);
    EXPECT_EQ(num_threads(), 1);
    release.store(true);
    for (int k = 0; k < 10000 && budget->threads() != 2; ++k) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(budget->threads(), 2);
    runner.finish(ad);
    EXPECT_EQ(current_thread_budget(), nullptr);
    EXPECT_EQ(num_threads(), 2);
  }
  set_num_threads(before);
}
