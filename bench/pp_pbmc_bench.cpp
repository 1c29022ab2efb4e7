// Times the preprocessing of the PBMC 3k tutorial step by step (issue #3's
// "under 0.07 s" target): QC, filters, QC again, the cell subset,
// normalize_total, log1p, HVG, raw + gene subset, regress_out and scale, as
// in ../shared/golden/README.md steps 2-9. The input is read once, outside
// the timing; each repetition starts from a fresh copy of it.
//
//   pp_pbmc_bench [--reps N] [--threads N] [--pipeline FILE.yaml] [--last N]
//
// --last N times only the last N steps: the steps before them run once,
// untimed, and each repetition starts from a copy of their result (many
// repetitions of, e.g., raw + subset + regress_out + scale are then cheap).
//
// --pipeline runs another step list instead (e.g. bench/pp_100k.yaml with
// its path filled in): its first step must be `read`, which is run once.
// Prints, per step, the median wall time and the median CPU time (all
// threads), then the medians of the totals; the minima beside them are the
// figures to compare while other jobs load the machine.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "scanpp/core/parallel.hpp"
#include "scanpp/pipeline/pipeline.hpp"

namespace {

using Clock = std::chrono::steady_clock;

const char* kTutorial = R"(
- read: {path: ../shared/data/pbmc3k/filtered_gene_bc_matrices/hg19, var_names: gene_symbols}
- annotate: {var: mt, startswith: "MT-"}
- pp.calculate_qc_metrics: {qc_vars: [mt]}
- pp.filter_cells: {min_genes: 200}
- pp.filter_genes: {min_cells: 3}
- pp.calculate_qc_metrics: {qc_vars: [mt], percent_top: null, log1p: false}
- subset: {obs: "n_genes_by_counts < 2500 and pct_counts_mt < 5"}
- pp.normalize_total: {target_sum: 10000}
- pp.log1p: {}
- pp.highly_variable_genes: {min_mean: 0.0125, max_mean: 3, min_disp: 0.5}
- raw: {}
- subset: {var: highly_variable}
- pp.regress_out: {keys: [total_counts, pct_counts_mt]}
- pp.scale: {max_value: 10}
)";

double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

double minimum(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end()); }

struct Step {
  std::string name;
  scanpp::pipeline::StepFn fn;
};

std::vector<Step> bind_steps(const YAML::Node& root, const std::string& file) {
  std::vector<Step> steps;
  for (const auto& item : root) {
    auto it = item.begin();
    const std::string name = it->first.as<std::string>();
    auto f = scanpp::pipeline::registry().find(name);
    if (f == scanpp::pipeline::registry().end()) throw std::runtime_error("unknown step " + name);
    scanpp::pipeline::Params p(name, it->second, file);
    steps.push_back({name, f->second(p)});
    p.check_all_used();
  }
  return steps;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 7, threads = 2, last = 0;
  std::string text = kTutorial, file = "tutorial";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--last" && i + 1 < argc) last = std::atoi(argv[++i]);
    else if (a == "--pipeline" && i + 1 < argc) {
      file = argv[++i];
      std::ifstream in(file);
      std::stringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    } else {
      std::fprintf(stderr, "usage: pp_pbmc_bench [--reps N] [--threads N] [--pipeline FILE.yaml] [--last N]\n");
      return 2;
    }
  }
  scanpp::set_num_threads(threads);
  try {
    std::vector<Step> steps = bind_steps(YAML::Load(text), file);
    if (steps.empty() || steps[0].name != "read") throw std::runtime_error("the first step must be read");
    scanpp::AnnData input;
    const auto r0 = Clock::now();
    steps[0].fn(input);
    std::printf("read (once, not counted): %.3f s, %lld x %lld\n",
                std::chrono::duration<double>(Clock::now() - r0).count(), static_cast<long long>(input.n_obs()),
                static_cast<long long>(input.n_vars()));
    const size_t ns = steps.size();
    // The first timed step; the ones before it run once on the input.
    const size_t first = last > 0 && static_cast<size_t>(last) < ns ? ns - static_cast<size_t>(last) : 1;
    for (size_t s = 1; s < first; ++s) steps[s].fn(input);
    std::vector<std::vector<double>> wall(ns), cpu(ns);
    std::vector<double> total_wall, total_cpu;
    for (int r = 0; r < reps; ++r) {
      scanpp::AnnData ad = input;
      double tw = 0, tc = 0;
      for (size_t s = first; s < ns; ++s) {
        const auto a = Clock::now();
        const double c0 = cpu_now();
        steps[s].fn(ad);
        const double c = cpu_now() - c0;
        const double w = std::chrono::duration<double>(Clock::now() - a).count();
        wall[s].push_back(w);
        cpu[s].push_back(c);
        tw += w;
        tc += c;
      }
      total_wall.push_back(tw);
      total_cpu.push_back(tc);
    }
    std::printf("%-28s %10s %10s %10s %10s   (%d reps, %d threads)\n", "step", "wall med", "cpu med", "wall min",
                "cpu min", reps, threads);
    for (size_t s = first; s < ns; ++s)
      std::printf("%-28s %10.4f %10.4f %10.4f %10.4f\n", steps[s].name.c_str(), median(wall[s]), median(cpu[s]),
                  minimum(wall[s]), minimum(cpu[s]));
    std::printf("%-28s %10.4f %10.4f %10.4f %10.4f\n", "total", median(total_wall), median(total_cpu),
                minimum(total_wall), minimum(total_cpu));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pp_pbmc_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
