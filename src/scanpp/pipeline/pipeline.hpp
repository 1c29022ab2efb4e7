#pragma once
// `scanpp run PIPELINE.yaml`: a list of steps, each a one-key mapping from a
// Scanpy function name to its parameters with Scanpy's names. Every step's
// parameters are checked (unknown names, wrong types) before anything runs.
#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"

namespace scanpp::pipeline {

// Parameters of one step; reading a key marks it used, so leftovers are
// reported as unknown parameters with their line.
class Params {
 public:
  Params(std::string step, YAML::Node node, std::string file);
  bool has(const std::string& key) const;
  std::vector<std::string> keys() const;
  template <class T>
  T get(const std::string& key, T fallback) {
    auto n = take(key);
    if (!n) return fallback;
    return convert<T>(*n, key);
  }
  template <class T>
  std::optional<T> opt(const std::string& key) {
    auto n = take(key);
    if (!n || n->IsNull()) return std::nullopt;
    return convert<T>(*n, key);
  }
  template <class T>
  T required(const std::string& key) {
    auto n = take(key);
    if (!n) fail("missing required parameter '" + key + "'");
    return convert<T>(*n, key);
  }
  std::optional<YAML::Node> take(const std::string& key);
  // Throws for every key nobody read.
  void check_all_used() const;
  [[noreturn]] void fail(const std::string& problem, const YAML::Node* at = nullptr) const;
  const std::string& step() const { return step_; }

 private:
  template <class T>
  T convert(const YAML::Node& n, const std::string& key) const {
    try {
      return n.as<T>();
    } catch (const YAML::Exception&) {
      fail("parameter '" + key + "' has the wrong type", &n);
    }
  }
  std::string step_, file_;
  YAML::Node node_;
  std::set<std::string> used_;
};

using StepFn = std::function<void(AnnData&)>;
// Reads and checks the parameters now; returns what the step will do.
using StepFactory = std::function<StepFn(Params&)>;

// A step that may run ahead of its turn, on a thread of its own beside the
// steps before it, when none of those can change what it reads or read what
// it writes (ahead_plan.hpp). start() reads its inputs from the state on the
// pipeline's thread, which waits for it (it may compute there, on all
// threads, what needs them), and returns the work (or no work: the step then
// runs in its turn); the work must not touch the state and returns the step's
// writes, which the pipeline applies in the step's turn. A factory returns
// one as its StepFn; called as a StepFn, it runs in_turn.
struct AheadStep {
  using Commit = std::function<void(AnnData&)>;
  using Work = std::function<Commit()>;
  std::function<Work(const AnnData&)> start;
  StepFn in_turn;
  void operator()(AnnData& ad) const { in_turn(ad); }
};

// Registry of step names: built-in steps (read, write, annotate, raw,
// set_uns, subset) and the pp./tl./datasets. steps.
using StepTable = std::map<std::string, StepFactory>;
StepTable& registry();
void add_builtin_steps(StepTable& t);  // steps_builtin.cpp
void add_pp_steps(StepTable& t);       // steps_pp.cpp
void add_pp_legacy_steps(StepTable& t);  // steps_pp.cpp (called by add_pp_steps)
void add_tl_steps(StepTable& t);       // steps_tl.cpp
void add_rank_genes_steps(StepTable& t);  // steps_rank_genes.cpp
void add_tsne_steps(StepTable& t);        // steps_tsne.cpp
void add_draw_graph_steps(StepTable& t);  // steps_draw_graph.cpp
void add_scoring_steps(StepTable& t);     // steps_scoring.cpp
void add_ingest_steps(StepTable& t);      // steps_ingest.cpp (scrublet, ingest)
void add_pl_steps(StepTable& t);          // steps_pl.cpp
void add_pl_grouped_steps(StepTable& t);  // steps_pl_grouped.cpp
// steps_backed.cpp: `read: {backed: r}` keeps X on disk; wraps every step
// registered before it (so it is called last), streaming the steps that can.
void add_backed_steps(StepTable& t);
// Whether the pipeline state `ad` has its X on disk; writes `ad` (streaming
// a backed X); forgets a backed X when the run ends.
bool is_backed(const AnnData& ad);
void write_result(const AnnData& ad, const std::string& path);
void release_backed(const AnnData& ad);

struct StepReport {
  std::string name;
  double seconds = 0;
  double rss_gib = 0;   // resident memory after the step
  double peak_gib = 0;  // process peak so far
};

struct RunOptions {
  std::optional<std::string> output;  // -o: write the result here at the end
  bool verbose = true;                // progress lines on stderr
  bool run_ahead = true;              // steps may start ahead of their turn (ahead_plan.hpp)
};

// Parses and checks a pipeline file, then runs it. Returns per-step figures.
std::vector<StepReport> run_file(const std::string& path, const RunOptions& opt = {});
std::vector<StepReport> run_yaml(const std::string& text, const std::string& name, const RunOptions& opt = {},
                                 AnnData* result = nullptr);
std::string format_report(const std::vector<StepReport>& r);

// Boolean row mask from an expression like "n_genes_by_counts < 2500 and pct_counts_mt < 5"
// or a bare boolean column ("highly_variable", "not highly_variable").
std::vector<bool> eval_mask(const DataFrame& df, const std::string& expr);

}  // namespace scanpp::pipeline
