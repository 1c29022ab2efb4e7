// Where a gzip .h5ad write spends its time, element by element: each of the
// file's elements (X, obs, var, every obsm/obsp/layers/uns entry, raw's
// parts) is written alone into a fresh file, and the median wall and CPU
// seconds and the bytes it adds are listed, slowest first; then the whole
// file, for comparison with the sum.
//   h5ad_write_elements_bench IN.h5ad OUT_DIR [repeats] [gzip level] [only]
// `only`: time just the elements whose name contains it (for perf);
// "whole": just the whole file.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <time.h>

#include "bench_timing.hpp"
#include "scanpp/io/h5ad.hpp"

namespace {

using scanpp::AnnData;
using scanpp::Element;

struct Row {
  std::string name;
  scanpp::bench::Timing t;
  uintmax_t bytes = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: h5ad_write_elements_bench IN.h5ad OUT_DIR [repeats] [gzip level]\n");
    return 2;
  }
  const AnnData ad = scanpp::io::read_h5ad(argv[1]);
  const std::string dir = argv[2];
  const int reps = argc > 3 ? std::atoi(argv[3]) : 5;
  const scanpp::io::WriteH5adOptions opt{.compression = argc > 4 ? std::atoi(argv[4]) : 4};
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/element.h5ad";

  // An empty file's size, taken off every element's.
  uintmax_t empty = 0;
  {
    scanpp::h5::Handle f = scanpp::h5::create_file(path);
  }
  empty = std::filesystem::file_size(path);

  const std::string only = argc > 5 ? argv[5] : "";
  std::vector<Row> rows;
  // write(f) puts one element into the fresh file f.
  auto measure_write = [&](const std::string& name, const auto& write) {
    if (name.find(only) == std::string::npos) return;
    Row r{name, {}, 0};
    r.t = scanpp::bench::median_time(reps, [&] {
      scanpp::h5::Handle f = scanpp::h5::create_file(path);
      write(f);
    });
    r.bytes = std::filesystem::file_size(path) - empty;
    rows.push_back(r);
  };
  auto measure = [&](const std::string& name, const Element& e) {
    measure_write(name, [&](scanpp::h5::Handle& f) { scanpp::io::write_element(f, "e", e, opt); });
  };
  auto measure_df = [&](const std::string& name, const scanpp::DataFrame& df) {
    measure_write(name, [&](scanpp::h5::Handle& f) { scanpp::io::write_dataframe(f, "e", df, opt); });
  };
  if (ad.X) measure("X", *ad.X);
  measure_df("obs", ad.obs);
  measure_df("var", ad.var);
  const std::pair<const char*, const scanpp::Dict*> dicts[] = {
      {"obsm", &ad.obsm}, {"varm", &ad.varm}, {"obsp", &ad.obsp}, {"varp", &ad.varp}, {"layers", &ad.layers}};
  for (const auto& [dn, d] : dicts)
    for (const auto& [k, v] : *d) measure(std::string(dn) + "/" + k, v);
  // uns one level down (rank_genes_groups' records are its children).
  for (const auto& [k, v] : ad.uns) {
    if (const auto* sub = std::get_if<scanpp::Dict>(&v.value)) {
      for (const auto& [k2, v2] : *sub) measure("uns/" + k + "/" + k2, v2);
    } else {
      measure("uns/" + k, v);
    }
  }
  if (ad.raw) {
    if (ad.raw->X) measure("raw/X", *ad.raw->X);
    measure_df("raw/var", ad.raw->var);
    for (const auto& [k, v] : ad.raw->varm) measure("raw/varm/" + k, v);
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.t.wall > b.t.wall; });
  double sw = 0, sc = 0;
  std::printf("%-44s %9s %9s %12s\n", "element (gzip)", "wall s", "cpu s", "bytes");
  for (const auto& r : rows) {
    std::printf("%-44s %9.4f %9.4f %12ju\n", r.name.c_str(), r.t.wall, r.t.cpu, r.bytes);
    sw += r.t.wall;
    sc += r.t.cpu;
  }
  std::printf("%-44s %9.4f %9.4f\n", "sum of the above", sw, sc);
  if (!only.empty() && only != "whole") return 0;
  const std::string whole = dir + "/whole.h5ad";
  // The calling thread's own CPU time: HDF5's serial work plus the chunks it
  // deflates itself while it waits for the helpers.
  std::vector<double> own;
  const auto t = scanpp::bench::median_time(reps, [&] {
    timespec a{}, b{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    scanpp::io::write_h5ad(ad, whole, opt);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    own.push_back(static_cast<double>(b.tv_sec - a.tv_sec) + 1e-9 * static_cast<double>(b.tv_nsec - a.tv_nsec));
  });
  std::printf("%-44s %9.4f %9.4f %12ju\n", "whole file (write_h5ad)", t.wall, t.cpu,
              std::filesystem::file_size(whole));
  std::printf("%-44s %9s %9.4f\n", "  of which the calling thread", "", scanpp::bench::median(own));
  return 0;
}
