#pragma once
// The PBMC 3k matrix Scanpy's tutorial regresses (raw.X of the golden file
// restricted to genes_hvg.txt, log-normalised, dense float32) with the two obs
// covariates, read once per test program.
#include <fstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "scanpp/core/array.hpp"
#include "scanpp/io/hdf5.hpp"
#include "test_paths.hpp"

namespace scanpp::regress_support {

// The log-normalised HVG matrix Scanpy regressed: raw.X of the golden file
// restricted to genes_hvg.txt, with the two obs covariates.
struct Pbmc {
  Array X;
  std::vector<std::string> genes;
  std::vector<float> total_counts, pct_counts_mt;
};

inline const Pbmc& pbmc() {
  static const Pbmc cached = [] {
    Pbmc r;
    const std::string file = scanpp::testing::shared("golden/pbmc3k/pbmc3k_scanpy.h5ad");
    h5::Handle f = h5::open_file(file);
    const h5::Loc root{file, "/"};
    h5::Handle g = h5::open_group(f, "raw/X", root.child("raw/X"));
    const Array shape = h5::read_array_attr(g, "shape", root.child("raw/X"));
    const int64_t n = static_cast<int64_t>(shape.get_double(0));
    const Array data = h5::read_array(h5::open_dataset(g, "data", root), root);
    const std::vector<int64_t> indices = h5::read_array(h5::open_dataset(g, "indices", root), root).to_vector<int64_t>();
    const std::vector<int64_t> indptr = h5::read_array(h5::open_dataset(g, "indptr", root), root).to_vector<int64_t>();
    const std::vector<std::string> raw_names = h5::read_strings(h5::open_dataset(f, "raw/var/_index", root), root);
    std::ifstream in(scanpp::testing::shared("golden/pbmc3k/genes_hvg.txt"));
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) r.genes.push_back(line);
    std::unordered_map<std::string, int64_t> pos;
    for (size_t k = 0; k < r.genes.size(); ++k) pos[r.genes[k]] = static_cast<int64_t>(k);
    std::vector<int64_t> col_of(raw_names.size(), -1);
    for (size_t k = 0; k < raw_names.size(); ++k) {
      auto it = pos.find(raw_names[k]);
      if (it != pos.end()) col_of[k] = it->second;
    }
    const int64_t p = static_cast<int64_t>(r.genes.size());
    r.X = Array(DType::Float32, {n, p});
    auto x = r.X.as<float>();
    auto d = data.as<float>();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = indptr[static_cast<size_t>(i)]; j < indptr[static_cast<size_t>(i) + 1]; ++j) {
        const int64_t c = col_of[static_cast<size_t>(indices[static_cast<size_t>(j)])];
        if (c >= 0) x[static_cast<size_t>(i * p + c)] = d[static_cast<size_t>(j)];
      }
    r.total_counts = h5::read_array(h5::open_dataset(f, "obs/total_counts", root), root).to_vector<float>();
    r.pct_counts_mt = h5::read_array(h5::open_dataset(f, "obs/pct_counts_mt", root), root).to_vector<float>();
    return r;
  }();
  return cached;
}

}  // namespace scanpp::regress_support
