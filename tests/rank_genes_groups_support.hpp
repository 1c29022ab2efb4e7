#pragma once
// Helpers for the rank_genes_groups tests: Scanpy's gzip-compressed golden
// tables, the golden final PBMC 3k object (read once per process), and the
// comparison of a stored ranking with a golden table.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "golden_support.hpp"
#include "scanpp/io/h5ad.hpp"
#include "test_paths.hpp"

namespace rgg_test {

// A CSV that may be gzip-compressed (zlib reads plain files as they are).
inline golden::Csv read_csv_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  std::string text;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  gzclose(f);
  golden::Csv c;
  size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    size_t e = text.find('\n', pos);
    if (e == std::string::npos) e = text.size();
    std::string line = text.substr(pos, e - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos = e + 1;
    if (line.empty()) continue;
    if (first) c.header = golden::split_csv(line);
    else c.rows.push_back(golden::split_csv(line));
    first = false;
  }
  return c;
}

// The golden final object (raw: log-normalised counts of all 13,714 genes; obs 'leiden').
inline const scanpp::AnnData& pbmc3k_final() {
  static const scanpp::AnnData a = scanpp::io::read_h5ad(golden::shared("golden/pbmc3k/pbmc3k_scanpy.h5ad"));
  return a;
}

// One group's ranked rows of a golden table, in file order.
struct GoldenGroup {
  std::vector<std::string> names;
  std::vector<double> scores, lfc, pvals, pvals_adj, pts;
};

// Numbers as Python wrote them; strtod keeps subnormal p-values that stod rejects.
inline std::vector<double> numbers(const golden::Csv& c, const std::string& col) {
  std::vector<double> v;
  for (auto& s : c.text(col)) v.push_back(s.empty() ? std::nan("") : std::strtod(s.c_str(), nullptr));
  return v;
}

inline std::map<std::string, GoldenGroup> golden_groups(const golden::Csv& c) {
  std::map<std::string, GoldenGroup> out;
  auto has = [&](const char* n) { return std::find(c.header.begin(), c.header.end(), n) != c.header.end(); };
  const auto grp = c.text("group"), names = c.text(has("names") ? "names" : "name");
  const auto scores = numbers(c, has("scores") ? "scores" : "score");
  std::vector<double> lfc, p, padj, pts;
  if (has("logfoldchanges")) {
    lfc = numbers(c, "logfoldchanges");
    p = numbers(c, "pvals");
    padj = numbers(c, "pvals_adj");
  }
  if (has("pct_nz_group")) pts = numbers(c, "pct_nz_group");
  for (size_t r = 0; r < grp.size(); ++r) {
    auto& g = out[grp[r]];
    g.names.push_back(names[r]);
    g.scores.push_back(scores[r]);
    if (!lfc.empty()) {
      g.lfc.push_back(lfc[r]);
      g.pvals.push_back(p[r]);
      g.pvals_adj.push_back(padj[r]);
    }
    if (!pts.empty()) g.pts.push_back(pts[r]);
  }
  return out;
}

inline std::vector<std::string> rec_names(const scanpp::RecArray& r, const std::string& g) {
  return std::get<std::vector<std::string>>(r.field(g).values);
}
inline std::vector<double> rec_numbers(const scanpp::RecArray& r, const std::string& g) {
  return std::get<scanpp::Array>(r.field(g).values).to_vector<double>();
}

struct Deviations {
  double scores = 0, lfc = 0, pvals = 0, pvals_adj = 0;
  int top_mismatches = 0;  // top-n positions whose names differ other than by an exact score tie
  std::string worst_p;     // group/gene of the largest p-value deviation
};

// Compares uns[key] with a golden table gene by gene (matched by name), and
// the first `top` names position by position, allowing swaps between genes
// whose golden scores are equal.
inline Deviations compare_with_golden(const scanpp::Dict& res, const std::map<std::string, GoldenGroup>& gold,
                                      int top = 25, double p_floor = 1e-300) {
  Deviations d;
  const auto& names = res.at("names").get<scanpp::RecArray>();
  EXPECT_EQ(names.fields.size(), gold.size());
  const bool with_p = res.count("pvals") > 0;
  for (auto& [g, gg] : gold) {
    const auto nm = rec_names(names, g);
    const auto sc = rec_numbers(res.at("scores").get<scanpp::RecArray>(), g);
    EXPECT_EQ(nm.size(), gg.names.size()) << g;
    std::map<std::string, size_t> pos;
    for (size_t k = 0; k < gg.names.size(); ++k) pos[gg.names[k]] = k;
    std::vector<double> lfc, p, padj;
    if (with_p && !gg.lfc.empty()) {
      lfc = rec_numbers(res.at("logfoldchanges").get<scanpp::RecArray>(), g);
      p = rec_numbers(res.at("pvals").get<scanpp::RecArray>(), g);
      padj = rec_numbers(res.at("pvals_adj").get<scanpp::RecArray>(), g);
    }
    auto rel = [](double a, double b, double floor) {
      return std::abs(a - b) / std::max(std::abs(b), floor);
    };
    for (size_t k = 0; k < nm.size(); ++k) {
      auto it = pos.find(nm[k]);
      if (it == pos.end()) {
        ADD_FAILURE() << "gene " << nm[k] << " not in golden group " << g;
        return d;
      }
      const size_t q = it->second;
      d.scores = std::max(d.scores, rel(sc[k], gg.scores[q], 1e-3));
      if (!lfc.empty()) {
        d.lfc = std::max(d.lfc, rel(lfc[k], gg.lfc[q], 1e-3));
        const double dp = rel(std::max(p[k], p_floor), std::max(gg.pvals[q], p_floor), p_floor);
        if (dp > d.pvals) d.worst_p = g + "/" + nm[k] + " p " + std::to_string(p[k]) + " score " + std::to_string(sc[k]);
        d.pvals = std::max(d.pvals, dp);
        d.pvals_adj = std::max(d.pvals_adj, rel(std::max(padj[k], p_floor), std::max(gg.pvals_adj[q], p_floor), p_floor));
      }
    }
    for (int k = 0; k < top && k < static_cast<int>(nm.size()); ++k)
      if (nm[k] != gg.names[k] && std::abs(gg.scores[pos[nm[k]]] - gg.scores[k]) > 1e-6 * std::abs(gg.scores[k]))
        ++d.top_mismatches;
  }
  return d;
}

}  // namespace rgg_test
