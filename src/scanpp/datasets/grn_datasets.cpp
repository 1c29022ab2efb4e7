#include "scanpp/datasets/grn_datasets.hpp"

#include <algorithm>
#include <iostream>
#include <limits>
#include <map>

#include "scanpp/core/error.hpp"
#include "scanpp/tl/sim.hpp"
#include "scanpp/tl/sim_model.hpp"

namespace scanpp::datasets {

namespace {

tl::SimModel load(const std::filesystem::path& dir, const std::string& name) {
  const auto file = dir / (name + ".txt");
  if (!std::filesystem::exists(file))
    throw InputError(file.string(), "", "model file not found (pass the folder holding " + name + ".txt and " + name +
                                            "_params.txt)");
  if (!std::filesystem::exists(dir / (name + "_params.txt")))
    throw InputError((dir / (name + "_params.txt")).string(), "", "parameter file not found");
  return tl::read_sim_model(file, true);
}

}  // namespace

std::string krumsiek11_fate(std::span<const double> state, const std::vector<std::string>& var_names,
                            std::span<const double> lo, std::span<const double> hi) {
  auto high = [&](const char* gene) {
    const auto it = std::find(var_names.begin(), var_names.end(), gene);
    if (it == var_names.end()) throw ValueError(std::string("krumsiek11_fate: no gene ") + gene);
    const auto g = static_cast<size_t>(it - var_names.begin());
    return state[g] > lo[g] + 0.5 * (hi[g] - lo[g]);
  };
  std::vector<std::string> fates;
  if (high("Gata1") && high("EKLF")) fates.push_back("Ery");
  if (high("Gata1") && high("Fli1")) fates.push_back("Mk");
  if (high("Pu.1") && high("cJun")) fates.push_back("Mo");
  if (high("Cebpa") && high("Gfi1")) fates.push_back("Neu");
  return fates.size() == 1 ? fates[0] : std::string();
}

AnnData krumsiek11(const std::filesystem::path& models_dir) {
  AnnData a = tl::sim(load(models_dir, "krumsiek11"));
  const auto& X = a.X_dense();
  const int64_t n = a.n_obs(), p = a.n_vars();
  const auto x = X.as<float>();
  std::vector<double> lo(static_cast<size_t>(p), std::numeric_limits<double>::infinity());
  std::vector<double> hi(static_cast<size_t>(p), -std::numeric_limits<double>::infinity());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t g = 0; g < p; ++g) {
      lo[static_cast<size_t>(g)] = std::min(lo[static_cast<size_t>(g)], static_cast<double>(x[static_cast<size_t>(i * p + g)]));
      hi[static_cast<size_t>(g)] = std::max(hi[static_cast<size_t>(g)], static_cast<double>(x[static_cast<size_t>(i * p + g)]));
    }
  const auto real = a.obs.numeric("realization");
  // First and last row of each realisation (rows are grouped by realisation).
  std::map<int64_t, std::pair<int64_t, int64_t>> span;
  for (int64_t i = 0; i < n; ++i) {
    const auto r = static_cast<int64_t>(real[static_cast<size_t>(i)]);
    auto [it, fresh] = span.try_emplace(r, i, i);
    if (!fresh) it->second.second = i;
  }
  std::vector<std::string> cell_type(static_cast<size_t>(n), "progenitor");
  Dict highlights;
  highlights["0"] = std::string("Stem");
  for (const auto& [r, se] : span) {
    const auto [first, last] = se;
    std::vector<double> state(static_cast<size_t>(p));
    for (int64_t g = 0; g < p; ++g) state[static_cast<size_t>(g)] = x[static_cast<size_t>(last * p + g)];
    std::string fate = krumsiek11_fate(state, a.var_names(), lo, hi);
    if (fate.empty()) fate = "unassigned";
    // Scanpy labels the second half of each 160-point realisation with its fate.
    const int64_t len = last - first + 1;
    for (int64_t i = first + len / 2; i <= last; ++i) cell_type[static_cast<size_t>(i)] = fate;
    highlights[std::to_string(last)] = fate;
  }
  a.obs.set("cell_type", Categorical::from_strings(cell_type));
  a.uns["highlights"] = Element(std::move(highlights));
  return a;
}

AnnData toggleswitch(const std::filesystem::path& models_dir) { return tl::sim(load(models_dir, "toggleswitch")); }

}  // namespace scanpp::datasets
