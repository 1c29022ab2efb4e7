#include "scanpp/pl/grouped_dendrogram.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>

#include "scanpp/core/error.hpp"
#include "scanpp/pl/figure.hpp"
#include "scanpp/tl/dendrogram.hpp"

namespace scanpp::pl {

namespace {

std::vector<std::string> strings_of(const Element& e, const std::string& what) {
  if (e.is<StringArray>()) return e.get<StringArray>().values;
  if (e.is<std::string>()) return {e.get<std::string>()};
  if (e.is<Array>()) {
    const Array& a = e.get<Array>();
    std::vector<std::string> out;
    for (int64_t i = 0; i < a.size(); ++i) out.push_back(std::to_string(static_cast<long long>(a.get_double(i))));
    return out;
  }
  throw ValueError(what + " is not a list of strings");
}

const Element& entry(const Dict& d, const std::string& name, const std::string& where) {
  auto it = d.find(name);
  if (it == d.end()) throw KeyError(where + " has no '" + name + "'");
  return it->second;
}

std::vector<std::array<double, 4>> links(const Element& e, const std::string& what) {
  if (!e.is<Array>()) throw ValueError(what + " is not a numeric array");
  const Array& a = e.get<Array>();
  if (a.size() % 4 != 0) throw ValueError(what + " does not have 4 columns");
  std::vector<std::array<double, 4>> out(static_cast<size_t>(a.size() / 4));
  for (int64_t i = 0; i < a.size(); ++i) out[static_cast<size_t>(i / 4)][static_cast<size_t>(i % 4)] = a.get_double(i);
  return out;
}

}  // namespace

DendrogramData dendrogram_data(AnnData& adata, const std::vector<std::string>& groupby,
                               const std::optional<std::string>& key) {
  if (groupby.empty()) throw ValueError("a dendrogram needs a groupby column");
  const std::string k = key ? *key : tl::dendrogram_key(groupby);
  if (adata.uns.find(k) == adata.uns.end()) {
    std::cerr << "scanpp warning: dendrogram data not found (using key=" << k
              << "). Running tl.dendrogram with default parameters.\n";
    tl::DendrogramOptions o;
    o.groupby = groupby;
    o.key_added = k;
    tl::dendrogram(adata, o);
  }
  const Element& e = adata.uns.at(k);
  if (!e.is<Dict>()) throw ValueError("uns['" + k + "'] is not a dendrogram entry");
  const Dict& u = e.get<Dict>();
  const std::string where = "uns['" + k + "']";
  if (u.find("dendrogram_info") == u.end())
    throw ValueError("The given dendrogram key ('" + k + "') does not contain valid dendrogram information.");
  DendrogramData d;
  d.groupby = strings_of(entry(u, "groupby", where), where + "['groupby']");
  if (d.groupby != groupby)
    throw ValueError("Incompatible observations. The precomputed dendrogram in " + where +
                     " is for other groupby columns than the plot's. Please run tl.dendrogram for '" + groupby[0] + "'.");
  const Element& idx = entry(u, "categories_idx_ordered", where);
  if (!idx.is<Array>()) throw ValueError(where + "['categories_idx_ordered'] is not numeric");
  d.categories_idx_ordered = idx.get<Array>().to_vector<int64_t>();
  d.categories_ordered = strings_of(entry(u, "categories_ordered", where), where + "['categories_ordered']");
  const Element& info_e = entry(u, "dendrogram_info", where);
  if (!info_e.is<Dict>()) throw ValueError(where + "['dendrogram_info'] is not a mapping");
  const Dict& info = info_e.get<Dict>();
  d.ivl = strings_of(entry(info, "ivl", where + "['dendrogram_info']"), where + "['dendrogram_info']['ivl']");
  d.icoord = links(entry(info, "icoord", where + "['dendrogram_info']"), where + "['dendrogram_info']['icoord']");
  d.dcoord = links(entry(info, "dcoord", where + "['dendrogram_info']"), where + "['dendrogram_info']['dcoord']");
  if (d.icoord.size() != d.dcoord.size()) throw ValueError(where + ": icoord and dcoord differ in length");
  return d;
}

DendrogramOrder reorder_after_dendrogram(const DendrogramData& d, const std::vector<std::string>& categories,
                                         int64_t n_vars, const VarGroups& groups) {
  if (d.categories_idx_ordered.size() != categories.size())
    throw ValueError("Incompatible observations. Dendrogram data has " + std::to_string(d.categories_idx_ordered.size()) +
                     " categories but the current groupby observation contains " + std::to_string(categories.size()) +
                     " categories. Please run tl.dendrogram again.");
  DendrogramOrder o;
  o.categories_idx_ordered = d.categories_idx_ordered;
  for (int64_t i : o.categories_idx_ordered)
    if (i < 0 || i >= static_cast<int64_t>(categories.size())) throw ValueError("dendrogram category index out of range");
  o.var_groups = groups;
  for (int64_t i = 0; i < n_vars; ++i) o.var_names_idx_ordered.push_back(i);
  if (groups.empty()) return o;
  std::vector<std::string> a = groups.labels, b = categories;
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  std::sort(b.begin(), b.end());
  if (a != b) {
    std::cerr << "scanpp warning: Groups are not reordered because the groupby categories and the "
                 "var_group_labels are different.\n";
    return o;
  }
  o.var_names_idx_ordered.clear();
  o.var_groups = {};
  int64_t start = 0;
  for (auto& cat : d.categories_ordered) {
    const auto it = std::find(groups.labels.begin(), groups.labels.end(), cat);
    if (it == groups.labels.end()) continue;
    const auto& [lo, hi] = groups.positions[static_cast<size_t>(it - groups.labels.begin())];
    for (int64_t i = lo; i <= hi; ++i) o.var_names_idx_ordered.push_back(i);
    o.var_groups.labels.push_back(cat);
    o.var_groups.positions.emplace_back(start, start + hi - lo);
    start += hi - lo + 1;
  }
  return o;
}

void draw_dendrogram_links(Axes& ax, const DendrogramData& d, const std::vector<double>& ticks,
                           const std::string& orientation) {
  const size_t n = d.ivl.size();
  if (ticks.size() != n) throw ValueError("dendrogram ticks do not match its leaves");
  // scipy places leaf k at 10 k + 5; map those positions onto `ticks`.
  auto translate = [&](double x) {
    if (n == 1) return ticks[0];
    double k = (x - 5) / 10;
    k = std::clamp(k, 0.0, static_cast<double>(n - 1));
    const auto lo = static_cast<size_t>(std::floor(k));
    if (lo + 1 >= n) return ticks[n - 1];
    const double f = k - static_cast<double>(lo);
    return ticks[lo] + f * (ticks[lo + 1] - ticks[lo]);
  };
  double dmax = 0;
  for (auto& l : d.dcoord)
    for (double v : l) dmax = std::max(dmax, v);
  const double margin = 0.05 * (dmax > 0 ? dmax : 1);
  const LineStyle st{parse_color("#555555"), 1.5, {}};
  if (orientation == "right" || orientation == "left") {
    ax.set_xlim(-margin, dmax + margin);
    if (orientation == "left") ax.set_xlim(dmax + margin, -margin);
  } else {
    ax.set_ylim(-margin, dmax + margin);
    if (orientation == "bottom") ax.set_ylim(dmax + margin, -margin);
  }
  for (size_t i = 0; i < d.icoord.size(); ++i) {
    std::vector<double> pos(4), dist(4);
    for (int j = 0; j < 4; ++j) {
      pos[static_cast<size_t>(j)] = translate(d.icoord[i][static_cast<size_t>(j)]);
      dist[static_cast<size_t>(j)] = d.dcoord[i][static_cast<size_t>(j)];
    }
    if (orientation == "right" || orientation == "left") ax.plot(dist, pos, st);
    else ax.plot(pos, dist, st);
  }
}

}  // namespace scanpp::pl
