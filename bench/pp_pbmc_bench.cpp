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
// The steps are examples/pbmc3k_preprocessing.yaml (run from the repository
// root). --pipeline runs another step list instead (e.g. bench/pp_100k.yaml with
// its path filled in): its first step must be `read`, which is run once.
// Prints, per step, the median wall time and the median CPU time (all
// threads), then the medians of the totals; the minima beside them are the
// figures to compare while other jobs load the machine.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "bench_timing.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pipeline/pipeline.hpp"

namespace {

using scanpp::bench::cpu_now;
using scanpp::bench::median;

using Clock = std::chrono::steady_clock;



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
  std::string file = "examples/pbmc3k_preprocessing.yaml";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--last" && i + 1 < argc) last = std::atoi(argv[++i]);
    else if (a == "--pipeline" && i + 1 < argc) file = argv[++i];
    else {
      std::fprintf(stderr, "usage: pp_pbmc_bench [--reps N] [--threads N] [--pipeline FILE.yaml] [--last N]\n");
      return 2;
    }
  }
  scanpp::set_num_threads(threads);
  try {
    std::vector<Step> steps = bind_steps(YAML::LoadFile(file), file);
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
