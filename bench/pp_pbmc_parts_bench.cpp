// Splits the PBMC 3k preprocessing steps (examples/pbmc3k_preprocessing.yaml)
// into their parts, to see what inside a step costs: the kernels (QC
// metrics, the filters' counts, HVG on a matrix) apart from the AnnData
// work around them (subsets, raw, writing columns). Each part runs on a copy
// of the state the pipeline has reached before it.
//
//   pp_pbmc_parts_bench [--reps N] [--threads N]
//
// Prints the median wall and CPU seconds of each part and the minimum CPU
// seconds (the steadiest figure while other jobs load the machine); run from
// the repository root.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bench_timing.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/pp/calculate_qc_metrics.hpp"
#include "scanpp/pp/filter.hpp"
#include "scanpp/pp/highly_variable_genes.hpp"
#include "scanpp/pp/log1p.hpp"

namespace {

using scanpp::AnnData;
using scanpp::bench::Timing;

scanpp::pipeline::StepFn step(const std::string& name, const std::string& yaml) {
  const YAML::Node node = YAML::Load(yaml);
  scanpp::pipeline::Params p(name, node, "pp_pbmc_parts_bench");
  auto fn = scanpp::pipeline::registry().at(name)(p);
  p.check_all_used();
  return fn;
}

struct PartTiming {
  Timing median;
  double cpu_min = 0;
};

// Times part(copy of state), the copy made outside the timing.
PartTiming time_part(int reps, const AnnData& state, const std::function<void(AnnData&)>& part) {
  std::vector<double> wall, cpu;
  for (int r = 0; r < reps; ++r) {
    AnnData a = state;
    const double w0 = scanpp::bench::wall_now(), c0 = scanpp::bench::cpu_now();
    part(a);
    cpu.push_back(scanpp::bench::cpu_now() - c0);
    wall.push_back(scanpp::bench::wall_now() - w0);
  }
  return {{scanpp::bench::median(wall), scanpp::bench::median(cpu)}, *std::min_element(cpu.begin(), cpu.end())};
}

void print(const char* what, const PartTiming& t) {
  std::printf("%-40s %9.4f %9.4f %9.4f\n", what, t.median.wall, t.median.cpu, t.cpu_min);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 11, threads = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: pp_pbmc_parts_bench [--reps N] [--threads N]\n");
      return 2;
    }
  }
  if (reps < 1) {
    std::fprintf(stderr, "pp_pbmc_parts_bench: --reps must be at least 1\n");
    return 2;
  }
  scanpp::set_num_threads(threads);
  namespace pp = scanpp::pp;
  try {
    AnnData s;
    step("read", "{path: ../shared/data/pbmc3k/filtered_gene_bc_matrices/hg19, var_names: gene_symbols}")(s);
    step("annotate", "{var: mt, startswith: 'MT-'}")(s);
    std::printf("%-40s %9s %9s %9s   (%d reps, %d threads)\n", "part", "wall med", "cpu med", "cpu min", reps,
                threads);
    const std::vector<std::pair<std::string, std::vector<bool>>> mt = {{"mt", s.var.boolean("mt")}};
    pp::CalculateQcMetricsOptions q1;
    pp::CalculateQcMetricsOptions q2;
    q2.percent_top = std::nullopt;
    q2.log1p = false;
    print("qc1: eliminate_zeros", time_part(reps, s, [](AnnData& a) { pp::eliminate_zeros(a.X_sparse()); }));
    print("qc1: qc_metrics kernel", time_part(reps, s, [&](AnnData& a) { pp::qc_metrics(a.X_sparse(), mt, q1); }));
    print("qc1: whole step", time_part(reps, s, step("pp.calculate_qc_metrics", "{qc_vars: [mt]}")));
    step("pp.calculate_qc_metrics", "{qc_vars: [mt]}")(s);
    print("filter_cells: whole step", time_part(reps, s, step("pp.filter_cells", "{min_genes: 200}")));
    step("pp.filter_cells", "{min_genes: 200}")(s);
    pp::FilterGenesOptions fg;
    fg.min_cells = 3;
    print("filter_genes: counts", time_part(reps, s, [&](AnnData& a) { pp::filter_genes(a.X_sparse(), fg); }));
    const auto genes = scanpp::indices_from_mask(pp::filter_genes(s.X_sparse(), fg).keep);
    print("filter_genes: subset_inplace", time_part(reps, s, [&](AnnData& a) { a.subset_inplace(std::nullopt, genes); }));
    print("filter_genes: var.take", time_part(reps, s, [&](AnnData& a) { a.var = a.var.take(genes); }));
    print("filter_genes: whole step", time_part(reps, s, step("pp.filter_genes", "{min_cells: 3}")));
    step("pp.filter_genes", "{min_cells: 3}")(s);
    print("qc2: qc_metrics kernel", time_part(reps, s, [&](AnnData& a) { pp::qc_metrics(a.X_sparse(), {{"mt", a.var.boolean("mt")}}, q2); }));
    const auto qc2 = step("pp.calculate_qc_metrics", "{qc_vars: [mt], percent_top: null, log1p: false}");
    print("qc2: whole step", time_part(reps, s, qc2));
    qc2(s);
    const auto sub_obs = step("subset", "{obs: 'n_genes_by_counts < 2500 and pct_counts_mt < 5'}");
    print("subset obs: whole step", time_part(reps, s, sub_obs));
    sub_obs(s);
    const auto norm = step("pp.normalize_total", "{target_sum: 10000}");
    print("normalize_total", time_part(reps, s, norm));
    norm(s);
    print("log1p: kernel", time_part(reps, s, [](AnnData& a) { pp::log1p(a.X_sparse()); }));
    step("pp.log1p", "{}")(s);
    pp::HighlyVariableGenesOptions h;
    h.min_mean = 0.0125;
    h.max_mean = 3;
    h.min_disp = 0.5;
    print("hvg: kernel", time_part(reps, s, [&](AnnData& a) { pp::highly_variable_genes(a.X_sparse(), h); }));
    const auto hvg = step("pp.highly_variable_genes", "{min_mean: 0.0125, max_mean: 3, min_disp: 0.5}");
    print("hvg: whole step", time_part(reps, s, hvg));
    hvg(s);
    print("raw: whole step", time_part(reps, s, [](AnnData& a) { a.freeze_raw(); }));
    s.freeze_raw();
    const auto sub_var = step("subset", "{var: highly_variable}");
    print("subset var: whole step", time_part(reps, s, sub_var));
    sub_var(s);
    const auto reg = step("pp.regress_out", "{keys: [total_counts, pct_counts_mt]}");
    print("regress_out: whole step", time_part(reps, s, reg));
    reg(s);
    print("scale: whole step", time_part(reps, s, step("pp.scale", "{max_value: 10}")));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pp_pbmc_parts_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
