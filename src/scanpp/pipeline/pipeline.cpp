#include "scanpp/pipeline/pipeline.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/read.hpp"
#include "scanpp/pipeline/ahead_plan.hpp"
#include "scanpp/pipeline/ahead_runner.hpp"

namespace scanpp::pipeline {

Params::Params(std::string step, YAML::Node node, std::string file)
    : step_(std::move(step)), file_(std::move(file)), node_(std::move(node)) {
  if (node_ && !node_.IsNull() && !node_.IsMap()) fail("parameters must be a mapping ({name: value, ...})", &node_);
}

bool Params::has(const std::string& key) const { return node_ && node_.IsMap() && node_[key]; }

std::vector<std::string> Params::keys() const {
  std::vector<std::string> out;
  if (node_ && node_.IsMap())
    for (auto it = node_.begin(); it != node_.end(); ++it) out.push_back(it->first.as<std::string>());
  return out;
}

std::optional<YAML::Node> Params::take(const std::string& key) {
  if (!has(key)) return std::nullopt;
  used_.insert(key);
  return node_[key];
}

void Params::check_all_used() const {
  if (!node_ || !node_.IsMap()) return;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const auto key = it->first.as<std::string>();
    if (!used_.count(key)) fail("unknown parameter '" + key + "'", &it->first);
  }
}

void Params::fail(const std::string& problem, const YAML::Node* at) const {
  const YAML::Node& n = at ? *at : node_;
  std::string where = "step '" + step_ + "'";
  if (n && n.Mark().line >= 0) where = "line " + std::to_string(n.Mark().line + 1) + ", " + where;
  throw InputError(file_, where, problem);
}

std::map<std::string, StepFactory>& registry() {
  // Filled explicitly (not by static initialisers, which a static library drops).
  static std::map<std::string, StepFactory> r = [] {
    std::map<std::string, StepFactory> m;
    add_builtin_steps(m);
    add_pp_steps(m);
    add_tl_steps(m);
    add_rank_genes_steps(m);
    add_tsne_steps(m);
    add_draw_graph_steps(m);
    add_scoring_steps(m);
    add_ingest_steps(m);
    add_pl_steps(m);
    add_pl_grouped_steps(m);
    add_backed_steps(m);  // last: wraps the steps above
    return m;
  }();
  return r;
}

namespace {

double rss_gib() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 30);
}
double peak_gib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / (1 << 20);
}

std::string trim(std::string s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::vector<std::string> split_and(const std::string& expr) {
  std::vector<std::string> parts;
  std::string rest = expr;
  while (true) {
    size_t p = rest.find(" and ");
    if (p == std::string::npos) {
      parts.push_back(trim(rest));
      break;
    }
    parts.push_back(trim(rest.substr(0, p)));
    rest = rest.substr(p + 5);
  }
  return parts;
}

}  // namespace

std::vector<bool> eval_mask(const DataFrame& df, const std::string& expr) {
  std::vector<bool> mask(static_cast<size_t>(df.n_rows()), true);
  for (const std::string& term : split_and(expr)) {
    static const char* ops[] = {"<=", ">=", "==", "!=", "<", ">"};
    std::string op, lhs, rhs;
    for (const char* o : ops) {
      size_t p = term.find(o);
      if (p != std::string::npos) {
        op = o;
        lhs = trim(term.substr(0, p));
        rhs = trim(term.substr(p + op.size()));
        break;
      }
    }
    if (op.empty()) {  // a boolean column, possibly negated
      bool neg = term.rfind("not ", 0) == 0;
      std::string col = trim(neg ? term.substr(4) : term);
      if (!df.has(col)) throw KeyError("no column '" + col + "' (in \"" + expr + "\")");
      auto b = df.boolean(col);
      for (size_t i = 0; i < mask.size(); ++i) mask[i] = mask[i] && (b[i] != neg);
      continue;
    }
    if (!df.has(lhs)) throw KeyError("no column '" + lhs + "' (in \"" + expr + "\")");
    const Column& c = df.at(lhs);
    const bool quoted = rhs.size() >= 2 && (rhs.front() == '"' || rhs.front() == '\'') && rhs.back() == rhs.front();
    if (quoted || std::holds_alternative<std::vector<std::string>>(c) ||
        (std::holds_alternative<Categorical>(c) && std::get<Categorical>(c).has_string_categories())) {
      if (op != "==" && op != "!=") throw ValueError("only == and != compare text (in \"" + expr + "\")");
      const std::string value = quoted ? rhs.substr(1, rhs.size() - 2) : rhs;
      for (size_t i = 0; i < mask.size(); ++i) {
        const bool eq = column_cell_text(c, static_cast<int64_t>(i)) == value;
        mask[i] = mask[i] && (op == "==" ? eq : !eq);
      }
      continue;
    }
    double v;
    try {
      size_t used = 0;
      v = std::stod(rhs, &used);
      if (used != rhs.size()) throw std::invalid_argument(rhs);
    } catch (const std::exception&) {
      throw ValueError("'" + rhs + "' is not a number (in \"" + expr + "\")");
    }
    auto x = df.numeric(lhs);
    for (size_t i = 0; i < mask.size(); ++i) {
      bool keep = op == "<" ? x[i] < v : op == "<=" ? x[i] <= v : op == ">" ? x[i] > v : op == ">=" ? x[i] >= v
                : op == "==" ? x[i] == v : x[i] != v;
      mask[i] = mask[i] && keep;
    }
  }
  return mask;
}

namespace {

struct BoundStep {
  std::string name;
  StepFn fn;
  AheadCandidate ahead;  // what ahead_plan needs to know of it
};

void collect_strings(const YAML::Node& n, std::vector<std::string>& out) {
  if (!n) return;
  if (n.IsScalar()) out.push_back(n.Scalar());
  else if (n.IsSequence() || n.IsMap())
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (n.IsMap()) collect_strings(it->second, out);
      else collect_strings(*it, out);
    }
}

AheadCandidate candidate(const std::string& name, const YAML::Node& params, const StepFn& fn) {
  AheadCandidate c;
  c.name = name;
  c.can_run_ahead = fn.target<AheadStep>() != nullptr;
  if (params && params.IsMap() && params["key_added"] && params["key_added"].IsScalar())
    c.key_added = params["key_added"].Scalar();
  collect_strings(params, c.strings);
  return c;
}

std::vector<BoundStep> bind_steps(const YAML::Node& root, const std::string& file) {
  if (!root || !root.IsSequence()) {
    throw InputError(file, "", "a pipeline is a list of steps (- name: {params})");
  }
  std::vector<BoundStep> steps;
  for (const auto& item : root) {
    const std::string line = "line " + std::to_string(item.Mark().line + 1);
    if (!item.IsMap() || item.size() != 1)
      throw InputError(file, line, "each step is a one-key mapping like '- pp.filter_cells: {min_genes: 200}'");
    auto it = item.begin();
    const std::string name = it->first.as<std::string>();
    auto f = registry().find(name);
    if (f == registry().end()) throw InputError(file, line, "unknown step '" + name + "'");
    Params p(name, it->second, file);
    StepFn fn;
    try {
      fn = f->second(p);
    } catch (const InputError&) {
      throw;
    } catch (const Error& e) {
      p.fail(e.what());
    }
    p.check_all_used();
    AheadCandidate c = candidate(name, it->second, fn);
    steps.push_back({name, std::move(fn), std::move(c)});
  }
  return steps;
}

}  // namespace

std::vector<StepReport> run_yaml(const std::string& text, const std::string& name, const RunOptions& opt,
                                 AnnData* result) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InputError(name, "line " + std::to_string(e.mark.line + 1), "not valid YAML: " + e.msg);
  }
  auto steps = bind_steps(root, name);
  AnnData ad;
  // A backed X (read: {backed: r}) is held beside `ad` for this run only.
  struct ReleaseBacked {
    const AnnData& ad;
    ~ReleaseBacked() { release_backed(ad); }
  } release_backed_x{ad};
  // Steps that run ahead of their turn (ahead_plan.hpp): starts_before[j]
  // is the step started just before step j runs.
  std::vector<AheadCandidate> candidates;
  for (const auto& s : steps) candidates.push_back(s.ahead);
  const std::vector<int> start_at = plan_ahead(candidates);
  std::vector<int> starts_before(steps.size(), -1);
  for (size_t i = 0; i < steps.size() && opt.run_ahead; ++i)
    if (start_at[i] >= 0) starts_before[static_cast<size_t>(start_at[i])] = static_cast<int>(i);
  AheadRunner ahead(num_threads());
  std::vector<StepReport> reports;
  for (size_t j = 0; j < steps.size(); ++j) {
    auto& s = steps[j];
    // HDF5 (a backed X) is not for two threads at once.
    if (const int i = starts_before[j]; i >= 0 && !is_backed(ad) &&
                                        ahead.start(*steps[static_cast<size_t>(i)].fn.target<AheadStep>(), i, ad)) {
      if (opt.verbose) std::cerr << "[scanpp] " << steps[static_cast<size_t>(i)].name << " starts ahead of its turn\n";
    }
    const bool was_ahead = ahead.running() == static_cast<int>(j);
    const std::string label = was_ahead ? s.name + " (ran ahead)" : s.name;
    if (opt.verbose) std::cerr << "[scanpp] " << label << " ..." << std::flush;
    auto t0 = std::chrono::steady_clock::now();
    try {
      if (was_ahead) ahead.finish(ad);
      else s.fn(ad);
    } catch (const Error& e) {
      if (opt.verbose) std::cerr << "\n";
      throw Error("step '" + s.name + "': " + e.what());
    }
    ahead.poll();
    StepReport r{label, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), rss_gib(),
                 peak_gib()};
    // A step ahead counts its start (run before an earlier step, on all
    // threads) and the wait in its turn: the rows still sum to the run.
    if (was_ahead) r.seconds += ahead.start_seconds();
    if (opt.verbose && was_ahead)
      std::fprintf(stderr, " %.3f s (its start took %.3f s on all threads, then its own run %.3f s)\n", r.seconds,
                   ahead.start_seconds(), ahead.work_seconds());
    else if (opt.verbose) std::fprintf(stderr, " %.3f s\n", r.seconds);
    reports.push_back(r);
  }
  if (opt.output) {
    auto t0 = std::chrono::steady_clock::now();
    write_result(ad, *opt.output);
    reports.push_back({"write " + *opt.output,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), rss_gib(),
                       peak_gib()});
  }
  if (result) *result = std::move(ad);
  return reports;
}

std::vector<StepReport> run_file(const std::string& path, const RunOptions& opt) {
  std::ifstream in(path);
  if (!in) throw InputError(path, "", "cannot open the pipeline file");
  std::stringstream ss;
  ss << in.rdbuf();
  return run_yaml(ss.str(), path, opt);
}

std::string format_report(const std::vector<StepReport>& r) {
  std::ostringstream s;
  double total = 0;
  s << "step                              seconds   RSS GiB  peak GiB\n";
  for (auto& x : r) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%-32s %8.3f %9.2f %9.2f\n", x.name.substr(0, 32).c_str(), x.seconds, x.rss_gib,
                  x.peak_gib);
    s << buf;
    total += x.seconds;
  }
  char buf[128];
  std::snprintf(buf, sizeof buf, "%-32s %8.3f\n", "total", total);
  s << buf;
  return s.str();
}

}  // namespace scanpp::pipeline
