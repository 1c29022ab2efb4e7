// The PBMC 3k tutorial's 13 figures (examples/pbmc3k.yaml's pl.* steps),
// each drawn `reps` times in one process through the pipeline's step table:
// median wall and CPU (all threads) milliseconds per figure and their sum.
// pl.highest_expr_genes runs on the raw 10x counts, the others on the
// tutorial's final AnnData (write it with `scanpp run examples/pbmc3k.yaml
// -o t.h5ad`).
//   pl_figures_bench [t.h5ad=/tmp/t.h5ad] [out_dir=/tmp] [reps=9] [only=NAME]
// (only: the one figure whose file name, e.g. sv or he, is NAME)
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "bench_timing.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/io/read.hpp"
#include "scanpp/pipeline/pipeline.hpp"

namespace {

constexpr const char* kMarkers =
    "[IL7R, CD79A, MS4A1, CD8A, CD8B, LYZ, CD14, LGALS3, S100A8, GNLY, NKG7, KLRB1, FCGR3A, MS4A7, FCER1A, CST3, PPBP]";

// (step, parameters without `save`, file name)
const std::vector<std::tuple<std::string, std::string, std::string>>& figures() {
  static const std::vector<std::tuple<std::string, std::string, std::string>> f = {
      {"pl.violin", "{keys: [n_genes_by_counts, total_counts, pct_counts_mt], jitter: 0.4, multi_panel: true}", "v"},
      {"pl.scatter", "{x: total_counts, y: pct_counts_mt}", "sc"},
      {"pl.highly_variable_genes", "{}", "hvg"},
      {"pl.pca_variance_ratio", "{log: true}", "pvr"},
      {"pl.umap", "{color: leiden}", "u1"},
      {"pl.umap", "{color: [CST3, NKG7, PPBP]}", "u3"},
      {"pl.rank_genes_groups", "{n_genes: 25, sharey: false}", "rgg"},
      {"pl.dotplot", std::string("{groupby: leiden, var_names: ") + kMarkers + "}", "dot"},
      {"pl.stacked_violin", std::string("{groupby: leiden, var_names: ") + kMarkers + "}", "sv"},
      {"pl.paga", "{}", "paga"},
      {"pl.tsne", "{color: leiden}", "tsne"},
      {"pl.draw_graph", "{color: leiden}", "fa"},
  };
  return f;
}

scanpp::bench::Timing time_step(scanpp::AnnData& ad, const std::string& step, const std::string& params,
                                const std::string& out, int reps) {
  YAML::Node node = YAML::Load(params);
  node["save"] = out;
  scanpp::pipeline::Params p(step, node, "pl_figures_bench");
  auto fn = scanpp::pipeline::registry().at(step)(p);
  p.check_all_used();
  return scanpp::bench::median_time(reps, [&] { fn(ad); });
}

}  // namespace

int main(int argc, char** argv) {
  const std::string h5ad = argc > 1 ? argv[1] : "/tmp/t.h5ad";
  const std::string dir = argc > 2 ? argv[2] : "/tmp";
  const int reps = argc > 3 ? std::max(1, std::stoi(argv[3])) : 9;
  const std::string only = argc > 4 ? argv[4] : "";
  double wall = 0, cpu = 0;
  std::printf("%-28s %9s %9s\n", "figure (median ms)", "wall", "cpu");
  if (only.empty() || only == "he") {
    scanpp::io::ReadOptions ro;
    ro.var_names = "gene_symbols";
    scanpp::AnnData raw = scanpp::io::read(std::string(SCANPP_SHARED_DIR) + "/data/pbmc3k/filtered_gene_bc_matrices/hg19", ro);
    const auto t = time_step(raw, "pl.highest_expr_genes", "{n_top: 20}", dir + "/he.png", reps);
    std::printf("%-28s %9.2f %9.2f\n", "highest_expr_genes", 1e3 * t.wall, 1e3 * t.cpu);
    wall += t.wall;
    cpu += t.cpu;
  }
  scanpp::AnnData ad = scanpp::io::read_h5ad(h5ad);
  for (const auto& [step, params, name] : figures()) {
    if (!only.empty() && only != name) continue;
    const auto t = time_step(ad, step, params, dir + "/" + name + ".png", reps);
    std::printf("%-28s %9.2f %9.2f\n", (step.substr(3) + " " + name).c_str(), 1e3 * t.wall, 1e3 * t.cpu);
    wall += t.wall;
    cpu += t.cpu;
  }
  std::printf("%-28s %9.2f %9.2f\n", "sum", 1e3 * wall, 1e3 * cpu);
  return 0;
}
