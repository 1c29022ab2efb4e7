// matplotlib colormaps as 256-entry tables: the listed viridis, and maps
// matplotlib builds with LinearSegmentedColormap.from_list (ColorBrewer
// sequences, bwr) or from linear segment data (gray, binary).
#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include "scanpp/core/error.hpp"
#include "scanpp/pl/color.hpp"
#include "scanpp/pl/viridis_table.hpp"

namespace scanpp::pl {

RGBA Colormap::operator()(double t) const {
  if (std::isnan(t)) return RGBA{0, 0, 0, 0};
  // matplotlib: xa = int(t * N), then t == 1 (and above) takes the last entry.
  double s = t * N;
  int i = s < 0 ? 0 : s >= N ? N - 1 : static_cast<int>(s);
  return lut_[static_cast<size_t>(i)];
}

Colormap Colormap::reversed() const {
  std::array<RGBA, N> r;
  for (int i = 0; i < N; ++i) r[static_cast<size_t>(i)] = lut_[static_cast<size_t>(N - 1 - i)];
  const bool already = name_.size() > 2 && name_.compare(name_.size() - 2, 2, "_r") == 0;
  return Colormap(already ? name_.substr(0, name_.size() - 2) : name_ + "_r", r);
}

namespace {

// from_list: colours evenly spaced on [0, 1], the table sampled at i / (N - 1).
Colormap from_list(const std::string& name, const std::vector<const char*>& hex) {
  std::vector<RGBA> stops;
  for (const char* h : hex) stops.push_back(parse_color(h));
  std::array<RGBA, Colormap::N> lut;
  const double segs = static_cast<double>(stops.size() - 1);
  for (int i = 0; i < Colormap::N; ++i) {
    const double x = static_cast<double>(i) / (Colormap::N - 1) * segs;
    const size_t k = std::min(static_cast<size_t>(x), stops.size() - 2);
    const double f = x - static_cast<double>(k);
    const RGBA& a = stops[k];
    const RGBA& b = stops[k + 1];
    lut[static_cast<size_t>(i)] = {a.r + (b.r - a.r) * f, a.g + (b.g - a.g) * f, a.b + (b.b - a.b) * f, 1};
  }
  return Colormap(name, lut);
}

Colormap viridis() {
  std::array<RGBA, Colormap::N> lut;
  for (size_t i = 0; i < lut.size(); ++i)
    lut[i] = {detail::kViridis[i][0], detail::kViridis[i][1], detail::kViridis[i][2], 1};
  return Colormap("viridis", lut);
}

std::map<std::string, Colormap, std::less<>> build_base() {
  std::map<std::string, Colormap, std::less<>> m;
  auto add = [&](Colormap c) { m.emplace(c.name(), std::move(c)); };
  add(viridis());
  // ColorBrewer 9-class sequences as matplotlib's _cm.py lists them.
  add(from_list("Reds", {"#fff5f0", "#fee0d2", "#fcbba1", "#fc9272", "#fb6a4a", "#ef3b2c", "#cb181d", "#a50f15",
                         "#67000d"}));
  add(from_list("Blues", {"#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c",
                          "#08306b"}));
  add(from_list("Greens", {"#f7fcf5", "#e5f5e0", "#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#006d2c",
                           "#00441b"}));
  add(from_list("Greys", {"#ffffff", "#f0f0f0", "#d9d9d9", "#bdbdbd", "#969696", "#737373", "#525252", "#252525",
                          "#000000"}));
  add(from_list("Oranges", {"#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#a63603",
                            "#7f2704"}));
  add(from_list("Purples", {"#fcfbfd", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#54278f",
                            "#3f007d"}));
  add(from_list("YlOrRd", {"#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026",
                           "#800026"}));
  add(from_list("RdBu", {"#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7", "#d1e5f0", "#92c5de",
                         "#4393c3", "#2166ac", "#053061"}));
  add(from_list("bwr", {"#0000ff", "#ffffff", "#ff0000"}));
  add(from_list("gray", {"#000000", "#ffffff"}));
  add(from_list("binary", {"#ffffff", "#000000"}));
  return m;
}

}  // namespace

const Colormap& colormap(std::string_view name) {
  static std::mutex mu;
  static std::map<std::string, Colormap, std::less<>> maps = build_base();
  std::lock_guard lock(mu);
  if (auto it = maps.find(name); it != maps.end()) return it->second;
  if (name.size() > 2 && name.substr(name.size() - 2) == "_r") {
    auto base = maps.find(name.substr(0, name.size() - 2));
    if (base != maps.end()) return maps.emplace(std::string(name), base->second.reversed()).first->second;
  }
  std::string known;
  for (const auto& n : colormap_names()) known += (known.empty() ? "" : ", ") + n;
  throw ValueError("unknown colormap '" + std::string(name) + "' (known: " + known + ", each also with '_r')");
}

std::vector<std::string> colormap_names() {
  return {"viridis", "Reds", "Blues", "Greens", "Greys", "Oranges", "Purples", "YlOrRd", "RdBu", "bwr", "gray", "binary"};
}

}  // namespace scanpp::pl
