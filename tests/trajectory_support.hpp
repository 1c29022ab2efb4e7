#pragma once
// Shared by the trajectory tests (diffmap, dpt, paga, sim, krumsiek11): the
// golden PBMC 3k graph without X, and Spearman's rank correlation.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "golden_support.hpp"
#include "scanpp/core/anndata.hpp"
#include "scanpp/io/h5ad.hpp"

namespace trajectory_test {

// Scanpy's final PBMC 3k AnnData, read once.
inline const scanpp::AnnData& golden_full() {
  static const scanpp::AnnData a = scanpp::io::read_h5ad(golden::shared("golden/pbmc3k/pbmc3k_scanpy.h5ad"));
  return a;
}

// Only the neighbour graph: obs index, no genes, obsp and uns['neighbors'].
inline scanpp::AnnData golden_graph() {
  const scanpp::AnnData& full = golden_full();
  scanpp::AnnData g;
  g.obs = scanpp::DataFrame(full.obs.index());
  g.var = scanpp::DataFrame(std::vector<std::string>{});
  g.obsp = full.obsp;
  g.uns["neighbors"] = full.uns.at("neighbors");
  return g;
}

// Ranks 0..n-1, ties sharing their mean rank.
inline std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> o(v.size());
  std::iota(o.begin(), o.end(), size_t{0});
  std::stable_sort(o.begin(), o.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < o.size();) {
    size_t j = i;
    while (j + 1 < o.size() && v[o[j + 1]] == v[o[i]]) ++j;
    for (size_t k = i; k <= j; ++k) r[o[k]] = 0.5 * static_cast<double>(i + j);
    i = j + 1;
  }
  return r;
}

inline double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  return golden::pearson(ranks(a), ranks(b));
}

}  // namespace trajectory_test
