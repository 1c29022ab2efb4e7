#pragma once
// Kang et al. stimulated/control PBMCs as the combat golden used them:
// normalize_total(1e4) + log1p in float32, the 1,000 highly variable genes
// kept in ../shared/golden/kang_stim/combat_top1000hvg.csv.gz, obs 'stim'.
// Shared by combat_test.cpp and combat_covariates_test.cpp.
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "test_paths.hpp"

namespace combat_support {

using namespace scanpp;
using scanpp::testing::shared;

struct Golden {
  std::vector<std::string> genes, cells;
  std::vector<double> values;  // cells x genes
};

inline Golden read_golden() {
  Golden g;
  const std::string path = shared("golden/kang_stim/combat_top1000hvg.csv.gz");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  std::string text;
  char buf[1 << 16];
  int r;
  while ((r = gzread(f, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(r));
  gzclose(f);
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  {
    std::istringstream h(line);
    std::string cell;
    std::getline(h, cell, ',');  // empty index header
    while (std::getline(h, cell, ',')) g.genes.push_back(cell);
  }
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream l(line);
    std::string cell;
    std::getline(l, cell, ',');
    g.cells.push_back(cell);
    while (std::getline(l, cell, ',')) g.values.push_back(std::stod(cell));
  }
  return g;
}

// normalize_total(target_sum=1e4) and log1p in float32 as Scanpy does, then
// the 1,000 highly variable genes the golden kept (its columns).
inline AnnData kang_hvg(const Golden& gold) {
  const std::string dir = shared("data/kang_stim/");
  std::vector<std::string> features, barcodes;
  {
    std::ifstream in(dir + "features.tsv");
    for (std::string line; std::getline(in, line);) features.push_back(line.substr(0, line.find('\t')));
    std::ifstream bc(dir + "barcodes.tsv");
    for (std::string line; std::getline(bc, line);)
      if (!line.empty()) barcodes.push_back(line);
  }
  std::unordered_map<std::string, int64_t> col_of;
  for (size_t k = 0; k < gold.genes.size(); ++k) col_of[gold.genes[k]] = static_cast<int64_t>(k);
  const int64_t n = static_cast<int64_t>(barcodes.size()), p = static_cast<int64_t>(gold.genes.size());

  std::ifstream mtx(dir + "matrix.mtx");
  std::string line;
  while (std::getline(mtx, line) && line[0] == '%') {
  }
  std::vector<double> totals(static_cast<size_t>(n), 0.0);
  std::vector<float> counts(static_cast<size_t>(n * p), 0.f);
  int64_t gene, cell;
  double v;
  while (mtx >> gene >> cell >> v) {  // genes x cells, 1-based
    totals[static_cast<size_t>(cell - 1)] += v;
    auto it = col_of.find(features[static_cast<size_t>(gene - 1)]);
    if (it != col_of.end()) counts[static_cast<size_t>((cell - 1) * p + it->second)] = static_cast<float>(v);
  }
  Array X(DType::Float32, {n, p});
  auto x = X.as<float>();
  for (int64_t i = 0; i < n; ++i) {
    const float size = static_cast<float>(totals[static_cast<size_t>(i)]) / 1e4f;
    for (int64_t g = 0; g < p; ++g)
      x[static_cast<size_t>(i * p + g)] = std::log1p(counts[static_cast<size_t>(i * p + g)] / size);
  }
  AnnData ad{Element(std::move(X))};
  ad.obs.set_index(barcodes);
  ad.var.set_index(gold.genes);
  std::vector<std::string> stim;
  std::ifstream obs(dir + "obs.csv");
  std::getline(obs, line);
  while (std::getline(obs, line)) {
    if (line.empty()) continue;
    std::string s = line.substr(line.rfind(',') + 1);
    s.erase(std::remove(s.begin(), s.end(), '"'), s.end());
    stim.push_back(s);
  }
  ad.obs.set("stim", stim);
  return ad;
}

inline const Golden& golden() {
  static const Golden g = read_golden();
  return g;
}

// Parsed once: both tests start from the same normalised matrix.
inline const AnnData& kang() {
  static const AnnData ad = kang_hvg(golden());
  return ad;
}

}  // namespace combat_support
