// The `scanpp` command line. Every user error ends in one line on stderr and
// exit code 2; a crash is a bug.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/datasets/grn_datasets.hpp"
#include "scanpp/datasets/synthetic.hpp"
#include "scanpp/io/read.hpp"
#include "scanpp/pipeline/pipeline.hpp"
#include "runtime_env.hpp"

namespace {

using namespace scanpp;

std::string human_bytes(uintmax_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

int cmd_info(const std::string& path, const io::ReadOptions& ro) {
  const io::Format f = ro.format == io::Format::Auto ? io::detect_format(path) : ro.format;
  auto t0 = std::chrono::steady_clock::now();
  AnnData ad = io::read(path, ro);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << path << " (" << io::format_name(f);
  if (std::filesystem::is_regular_file(path)) std::cout << ", " << human_bytes(std::filesystem::file_size(path));
  std::cout << ", read in " << std::fixed << std::setprecision(3) << secs << " s)\n" << ad.summary() << "\n";
  return 0;
}

int cmd_convert(const std::string& in, const std::string& out, const io::ReadOptions& ro, int compression) {
  AnnData ad = io::read(in, ro);
  io::write(ad, out, {.compression = compression});
  std::cout << "wrote " << out << "\n" << ad.summary() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  scanpp::app::ensure_runtime_env(argv);
  CLI::App app{"scanpp: Scanpy and AnnData in C++"};
  app.set_version_flag("--version", std::string("scanpp ") + SCANPP_VERSION + "\n" + app::runtime_summary());
  app.require_subcommand(1);
  int threads = 0;
  app.add_option("--threads", threads, "Threads to use (0 = all cores)")->check(CLI::NonNegativeNumber);

  io::ReadOptions ro;
  std::string format = "auto";
  auto add_read_opts = [&](CLI::App* c) {
    c->add_option("--format", format, "Input format: auto, h5ad, 10x_mtx, 10x_h5, loom, mtx, csv, text");
    c->add_option("--var-names", ro.var_names, "10x mtx: gene_symbols or gene_ids");
    c->add_option("--genome", ro.genome, "10x h5: the genome to read");
  };

  std::string info_path;
  auto* info = app.add_subcommand("info", "Summarise a dataset in any supported format");
  info->add_option("FILE", info_path, "File or Cell Ranger folder")->required();
  add_read_opts(info);

  std::string conv_in, conv_out, compression = "none";
  auto* convert = app.add_subcommand("convert", "Convert between formats (output format from the extension)");
  convert->add_option("IN", conv_in, "Input file or Cell Ranger folder")->required();
  convert->add_option("OUT", conv_out, "Output .h5ad or .loom")->required();
  convert->add_option("--compression", compression, "h5ad compression: none or gzip")
      ->check(CLI::IsMember({"none", "gzip"}));
  add_read_opts(convert);

  std::string run_path, run_out;
  auto* run = app.add_subcommand("run", "Run a pipeline file (YAML list of Scanpy steps)");
  run->add_option("PIPELINE", run_path, "Pipeline .yaml (or .json)")->required();
  run->add_option("-o,--output", run_out, "Write the result here at the end (.h5ad or .loom)");
  bool quiet = false;
  run->add_flag("-q,--quiet", quiet, "No progress lines");
  bool in_order = false;
  run->add_flag("--in-order", in_order,
                "Run every step in its turn (by default a step such as tl.tsne may start earlier, beside steps that "
                "neither change its input nor read its output; the results are the same)");

  // `scanpp pp NAME IN OUT key=value ...` runs one pipeline step on a file, so
  // every function has a subcommand with the same parameter checking.
  std::string fn_name, fn_in, fn_out;
  std::vector<std::string> fn_params;
  std::vector<CLI::App*> fn_cmds;
  bool fn_backed = false;
  for (const char* ns : {"pp", "tl"}) {
    auto* c = app.add_subcommand(ns, std::string("Run one sc.") + ns + " function on a file: " + ns +
                                         " NAME IN OUT [param=value ...] (values in YAML, e.g. qc_vars=[mt])");
    c->add_option("NAME", fn_name, "Function name, e.g. filter_cells")->required();
    c->add_option("IN", fn_in, "Input file")->required();
    c->add_option("OUT", fn_out, "Output .h5ad or .loom")->required();
    c->add_option("PARAMS", fn_params, "param=value pairs");
    c->add_flag("--backed", fn_backed, "Keep X on disk and stream it in row blocks (row-pass steps only)");
    fn_cmds.push_back(c);
  }

  // `scanpp pl NAME IN key=value ...` / `scanpp get NAME IN ...`: steps that
  // write their own files (figures, tables) and leave IN untouched.
  std::string view_name, view_in;
  std::vector<std::string> view_params;
  std::vector<CLI::App*> view_cmds;
  for (const char* ns : {"pl", "get"}) {
    auto* c = app.add_subcommand(ns, std::string(ns) == "pl"
                                         ? "Draw one sc.pl figure from a file: pl NAME IN save=fig.png [param=value ...]"
                                         : "Export one sc.get table from a file: get NAME IN save=out.csv [param=value ...]");
    c->add_option("NAME", view_name, std::string("Function name, e.g. ") + (std::string(ns) == "pl" ? "umap" : "rank_genes_groups_df"))
        ->required();
    c->add_option("IN", view_in, "Input file")->required();
    c->add_option("PARAMS", view_params, "param=value pairs (values in YAML, e.g. color=[leiden,CST3])");
    view_cmds.push_back(c);
  }

  datasets::SyntheticOptions syn;
  std::string syn_out;
  auto* ds = app.add_subcommand("datasets", "Generate datasets");
  ds->require_subcommand(1);
  auto* synth = ds->add_subcommand("synthetic", "Synthetic UMI counts (negative binomial, clusters), written block by block");
  synth->add_option("--cells", syn.n_cells, "Number of cells")->check(CLI::PositiveNumber);
  synth->add_option("--genes", syn.n_genes, "Number of genes")->check(CLI::PositiveNumber);
  synth->add_option("--clusters", syn.n_clusters, "Number of clusters")->check(CLI::PositiveNumber);
  synth->add_option("--seed", syn.seed, "Random seed");
  synth->add_option("--mean-umis", syn.mean_umis, "Median library size (UMIs per cell)")->check(CLI::PositiveNumber);
  synth->add_option("-o,--output", syn_out, "Output .h5ad")->required();
  std::string grn_out, grn_models = datasets::kDefaultSimModelsDir;
  std::vector<CLI::App*> grn_cmds;
  for (const char* name : {"krumsiek11", "toggleswitch"}) {
    auto* c = ds->add_subcommand(name, std::string("Simulate Scanpy's ") + name + " gene regulatory network (tl.sim)");
    c->add_option("-o,--output", grn_out, "Output .h5ad")->required();
    c->add_option("--models-dir", grn_models, "Folder with the model files");
    grn_cmds.push_back(c);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    set_num_threads(threads);
    ro.format = io::parse_format(format);
    if (info->parsed()) return cmd_info(info_path, ro);
    if (convert->parsed()) return cmd_convert(conv_in, conv_out, ro, compression == "gzip" ? 4 : -1);
    for (auto* c : fn_cmds)
      if (c->parsed()) {
        std::string yaml = "- read: {path: '" + fn_in + "'" + (fn_backed ? ", backed: r" : "") + "}\n- " + c->get_name() + "." + fn_name + ":\n";
        if (fn_params.empty()) yaml += "    {}\n";
        for (auto& kv : fn_params) {
          const auto eq = kv.find('=');
          if (eq == std::string::npos) throw ValueError("parameter '" + kv + "' is not of the form name=value");
          yaml += "    " + kv.substr(0, eq) + ": " + kv.substr(eq + 1) + "\n";
        }
        yaml += "- write: {path: '" + fn_out + "'}\n";
        pipeline::run_yaml(yaml, "command line", {.verbose = false});
        std::cout << "wrote " << fn_out << "\n";
        return 0;
      }
    for (auto* c : view_cmds)
      if (c->parsed()) {
        std::string yaml = "- read: {path: '" + view_in + "'}\n- " + c->get_name() + "." + view_name + ":\n";
        if (view_params.empty()) yaml += "    {}\n";
        for (auto& kv : view_params) {
          const auto eq = kv.find('=');
          if (eq == std::string::npos) throw ValueError("parameter '" + kv + "' is not of the form name=value");
          yaml += "    " + kv.substr(0, eq) + ": " + kv.substr(eq + 1) + "\n";
        }
        pipeline::run_yaml(yaml, "command line", {.verbose = false});
        return 0;
      }
    for (auto* c : grn_cmds)
      if (c->parsed()) {
        AnnData ad = c->get_name() == "krumsiek11" ? datasets::krumsiek11(grn_models) : datasets::toggleswitch(grn_models);
        io::write(ad, grn_out);
        std::cout << "wrote " << grn_out << "\n" << ad.summary() << "\n";
        return 0;
      }
    if (synth->parsed()) {
      datasets::write_synthetic_h5ad(syn_out, syn);
      std::cout << "wrote " << syn_out << " (" << syn.n_cells << " cells x " << syn.n_genes << " genes)\n";
      return 0;
    }
    if (run->parsed()) {
      pipeline::RunOptions o;
      if (!run_out.empty()) o.output = run_out;
      o.verbose = !quiet;
      o.run_ahead = !in_order;
      auto report = pipeline::run_file(run_path, o);
      std::cout << pipeline::format_report(report);
      return 0;
    }
  } catch (const scanpp::Error& e) {
    std::cerr << "scanpp: error: " << e.what() << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "scanpp: error: out of memory\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "scanpp: error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
