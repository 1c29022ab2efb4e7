// tl.dendrogram and the scipy-compatible linkage kernel, checked against
// pandas + scipy.cluster.hierarchy run by /usr/bin/python3 (Scanpy 1.11's own
// code path: groupby mean of X_pca, DataFrame.corr, linkage, dendrogram).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>

#include "scanpp/core/error.hpp"
#include "scanpp/tl/dendrogram.hpp"
#include "scanpp/tl/linkage.hpp"
#include "scoring_support.hpp"

namespace {

using scanpp::AnnData;
using scanpp::Array;
using scanpp::Dict;
using scanpp::StringArray;
using scoring_test::golden_pbmc;

// Scanpy 1.11's dendrogram on the golden object: prints one line per output,
// "name v1 v2 ...".
const char* kScanpyDendrogram = R"PY(
import sys
import numpy as np, pandas as pd, anndata as ad
import scipy.cluster.hierarchy as sch
from scipy.spatial import distance
a = ad.read_h5ad(sys.argv[1], backed="r")
rep_df = pd.DataFrame(a.obsm["X_pca"][:])
rep_df.index = a.obs["leiden"].copy()
categories = rep_df.index.categories
mean_df = rep_df.groupby(level=0).mean().loc[categories]
for combo in sys.argv[2:]:
    cor_method, link = combo.split(":")
    corr = mean_df.T.corr(method=cor_method).clip(-1, 1)
    Z = sch.linkage(distance.squareform(1 - corr), method=link)
    d = sch.dendrogram(Z, labels=list(categories), no_plot=True)
    def out(name, values):
        print(combo + "." + name, " ".join(repr(float(v)) if not isinstance(v, str) else v for v in values))
    out("corr", corr.values.ravel())
    out("Z", Z.ravel())
    out("leaves", d["leaves"])
    out("ivl", d["ivl"])
    out("icoord", np.ravel(d["icoord"]))
    out("dcoord", np.ravel(d["dcoord"]))
    out("color_list", d["color_list"])
    out("leaves_color_list", d["leaves_color_list"])
)PY";

// scipy's linkage for each method of a condensed matrix read from a file.
const char* kScipyLinkage = R"PY(
import sys
import numpy as np
import scipy.cluster.hierarchy as sch
y = np.loadtxt(sys.argv[1])
for m in ["single", "complete", "average", "weighted", "ward"]:
    Z = sch.linkage(y, method=m)
    d = sch.dendrogram(Z, no_plot=True)
    print(m, " ".join(repr(float(v)) for v in Z.ravel()))
    print(m + "_leaves", " ".join(str(v) for v in d["leaves"]))
    print(m + "_colors", " ".join(d["color_list"]))
    Zo = sch.linkage(y, method=m, optimal_ordering=True)
    print(m + "_optimal", " ".join(repr(float(v)) for v in Zo.ravel()))
)PY";

std::map<std::string, std::vector<std::string>> parse_lines(const std::string& text) {
  std::map<std::string, std::vector<std::string>> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string name, tok;
    ls >> name;
    auto& v = out[name];
    while (ls >> tok) v.push_back(tok);
  }
  return out;
}

std::vector<double> as_doubles(const std::vector<std::string>& v) {
  std::vector<double> d;
  for (const auto& s : v) d.push_back(std::stod(s));
  return d;
}

void expect_close(const std::vector<double>& got, const std::vector<double>& want, double tol, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], tol) << what << " [" << i << "]";
}

// Scanpy's outputs for three method combinations, computed once per process:
// "pearson:complete.Z" -> values.
const std::map<std::string, std::vector<std::string>>& scanpy_reference() {
  static const auto ref = [] {
    scanpp::testing::TempDir tmp;
    return parse_lines(scoring_test::run_python(
        tmp, kScanpyDendrogram, scoring_test::golden_h5ad() + " pearson:complete spearman:average kendall:single"));
  }();
  return ref;
}

std::vector<double> array_values(const scanpp::Element& e) {
  return e.get<Array>().to_vector<double>();
}

TEST(Dendrogram, MatchesPandasAndScipyOnPbmcLeiden) {
  AnnData a = golden_pbmc();
  scanpp::tl::DendrogramOptions o;
  o.groupby = {"leiden"};
  const Dict d = scanpp::tl::dendrogram(a, o);
  ASSERT_TRUE(a.uns.count("dendrogram_leiden"));

  std::map<std::string, std::vector<std::string>> ref;  // the pearson:complete entries by bare name
  for (const auto& [name, values] : scanpy_reference())
    if (name.rfind("pearson:complete.", 0) == 0) ref[name.substr(17)] = values;
  ASSERT_TRUE(ref.count("Z"));
  const auto corr = array_values(d.at("correlation_matrix"));
  // Same float32 Kahan group means and Welford correlation as pandas: equal to rounding.
  double dev = 0;
  const auto want_corr = as_doubles(ref["corr"]);
  ASSERT_EQ(corr.size(), want_corr.size());
  for (size_t i = 0; i < corr.size(); ++i) dev = std::max(dev, std::abs(corr[i] - want_corr[i]));
  EXPECT_LT(dev, 1e-14);
  const auto Z = array_values(d.at("linkage"));
  expect_close(Z, as_doubles(ref["Z"]), 1e-14, "linkage");
  std::printf("[ dendro ] PBMC leiden (9 groups): max |corr - pandas| = %.3g; linkage rows %zu\n", dev, Z.size() / 4);
  const auto leaves = d.at("categories_idx_ordered").get<Array>().to_vector<int64_t>();
  EXPECT_EQ(leaves.size(), 9u);
  for (size_t i = 0; i < leaves.size(); ++i) EXPECT_EQ(leaves[i], std::stoll(ref["leaves"][i]));
  EXPECT_EQ(d.at("categories_ordered").get<StringArray>().values, ref["ivl"]);
  const Dict& info = d.at("dendrogram_info").get<Dict>();
  expect_close(array_values(info.at("icoord")), as_doubles(ref["icoord"]), 0, "icoord");
  expect_close(array_values(info.at("dcoord")), as_doubles(ref["dcoord"]), 1e-14, "dcoord");
  EXPECT_EQ(info.at("color_list").get<StringArray>().values, ref["color_list"]);
  EXPECT_EQ(info.at("leaves_color_list").get<StringArray>().values, ref["leaves_color_list"]);
  EXPECT_EQ(info.at("ivl").get<StringArray>().values, ref["ivl"]);
  EXPECT_EQ(d.at("groupby").get<StringArray>().values, std::vector<std::string>{"leiden"});
  EXPECT_EQ(d.at("cor_method").get<std::string>(), "pearson");
  EXPECT_EQ(d.at("linkage_method").get<std::string>(), "complete");
  EXPECT_FALSE(d.count("use_rep"));
  std::string order;
  for (const auto& s : ref["ivl"]) order += s + " ";
  std::printf("[ dendro ] leaf order %s\n", order.c_str());
}

TEST(Dendrogram, SpearmanKendallAverageAsPandasScipy) {
  for (const auto& [cor, link] : std::vector<std::pair<std::string, std::string>>{{"spearman", "average"},
                                                                                   {"kendall", "single"}}) {
    AnnData a = golden_pbmc();
    scanpp::tl::DendrogramOptions o;
    o.groupby = {"leiden"};
    o.cor_method = cor;
    o.linkage_method = link;
    o.key_added = "dg";
    scanpp::tl::dendrogram(a, o);
    const Dict& d = a.uns.at("dg").get<Dict>();
    const auto& ref = scanpy_reference();
    const std::string p = cor + ":" + link + ".";
    ASSERT_TRUE(ref.count(p + "corr")) << p;
    expect_close(array_values(d.at("correlation_matrix")), as_doubles(ref.at(p + "corr")), 1e-12, cor.c_str());
    expect_close(array_values(d.at("linkage")), as_doubles(ref.at(p + "Z")), 1e-12, link.c_str());
    EXPECT_EQ(d.at("categories_ordered").get<StringArray>().values, ref.at(p + "ivl")) << cor;
  }
}

TEST(Linkage, EveryMethodAsScipyIncludingTies) {
  // 14 points: integer distances with many ties (tie-breaking must follow
  // scipy's chain and stable sort), then Euclidean distances of scattered points.
  const int64_t n = 14;
  std::vector<double> ties, eucl;
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  std::vector<std::array<double, 3>> pts(static_cast<size_t>(n));
  for (auto& p : pts)
    for (double& c : p) c = static_cast<double>(next() % 1000) / 100.0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      ties.push_back(static_cast<double>(1 + next() % 4));
      double s = 0;
      for (int k = 0; k < 3; ++k)
        s += (pts[static_cast<size_t>(i)][static_cast<size_t>(k)] - pts[static_cast<size_t>(j)][static_cast<size_t>(k)]) *
             (pts[static_cast<size_t>(i)][static_cast<size_t>(k)] - pts[static_cast<size_t>(j)][static_cast<size_t>(k)]);
      eucl.push_back(std::sqrt(s));
    }
  scanpp::testing::TempDir tmp;
  int checked = 0;
  for (const auto* y : {&ties, &eucl}) {
    scoring_test::write_numbers(tmp.file("y.txt"), *y);
    auto ref = parse_lines(scoring_test::run_python(tmp, kScipyLinkage, tmp.file("y.txt")));
    for (const std::string m : {"single", "complete", "average", "weighted", "ward"}) {
      const auto z = scanpp::tl::linkage(*y, n, scanpp::tl::parse_linkage_method(m));
      expect_close(z.z, as_doubles(ref[m]), 1e-12, m.c_str());
      const auto layout = scanpp::tl::dendrogram_layout(z);
      std::vector<std::string> leaves;
      for (int64_t l : layout.leaves) leaves.push_back(std::to_string(l));
      EXPECT_EQ(leaves, ref[m + "_leaves"]) << m;
      EXPECT_EQ(layout.color_list, ref[m + "_colors"]) << m;
      const auto zo = scanpp::tl::linkage(*y, n, scanpp::tl::parse_linkage_method(m), true);
      expect_close(zo.z, as_doubles(ref[m + "_optimal"]), 1e-12, (m + " optimal_ordering").c_str());
      ++checked;
    }
  }
  EXPECT_EQ(checked, 10);
}

// What Scanpy's plots read back from a written file.
const char* kReadBack = R"PY(
import sys
import anndata as ad
a = ad.read_h5ad(sys.argv[1])
d = a.uns["dendrogram_leiden"]
print(" ".join(sorted(d.keys())))
print(" ".join(sorted(d["dendrogram_info"].keys())))
print(d["linkage"].shape[0], d["linkage"].shape[1], d["correlation_matrix"].shape[0])
print(" ".join(str(int(i)) for i in d["categories_idx_ordered"]))
print(" ".join(str(s) for s in d["categories_ordered"]))
)PY";

TEST(Dendrogram, WrittenEntryReadsBackInAnndata) {
  const AnnData& g = golden_pbmc();
  AnnData a;
  a.obs = g.obs;
  a.var = scanpp::DataFrame(std::vector<std::string>{});
  a.obsm["X_pca"] = g.obsm.at("X_pca");
  scanpp::tl::DendrogramOptions o;
  o.groupby = {"leiden"};
  o.use_rep = "X_pca";  // no genes here, so the representation must be named
  const Dict d = scanpp::tl::dendrogram(a, o);
  scanpp::testing::TempDir tmp;
  scanpp::io::write_h5ad(a, tmp.file("d.h5ad"));
  const std::string out = scoring_test::run_python(tmp, kReadBack, tmp.file("d.h5ad"));
  std::istringstream in(out);
  std::string keys, info, shape, idx, names;
  std::getline(in, keys);
  std::getline(in, info);
  std::getline(in, shape);
  std::getline(in, idx);
  std::getline(in, names);
  EXPECT_EQ(keys,
            "categories_idx_ordered categories_ordered cor_method correlation_matrix dendrogram_info groupby linkage "
            "linkage_method use_rep");
  EXPECT_EQ(info, "color_list dcoord icoord ivl leaves leaves_color_list");
  EXPECT_EQ(shape, "8 4 9");
  std::string want_idx, want_names;
  for (int64_t l : d.at("categories_idx_ordered").get<Array>().to_vector<int64_t>())
    want_idx += (want_idx.empty() ? "" : " ") + std::to_string(l);
  for (const auto& s : d.at("categories_ordered").get<StringArray>().values) want_names += (want_names.empty() ? "" : " ") + s;
  EXPECT_EQ(idx, want_idx);
  EXPECT_EQ(names, want_names);
}

TEST(Dendrogram, BadInput) {
  AnnData a = golden_pbmc();
  scanpp::tl::DendrogramOptions o;
  o.groupby = {"no_such_column"};
  EXPECT_THROW(scanpp::tl::dendrogram(a, o), scanpp::ValueError);
  o.groupby = {"total_counts"};  // numeric, not categorical
  EXPECT_THROW(scanpp::tl::dendrogram(a, o), scanpp::ValueError);
  o.groupby = {"leiden"};
  o.linkage_method = "centroid";
  EXPECT_THROW(scanpp::tl::dendrogram(a, o), scanpp::ValueError);
  o.linkage_method = "complete";
  o.cor_method = "cosine";
  EXPECT_THROW(scanpp::tl::dendrogram(a, o), scanpp::ValueError);
  EXPECT_THROW(scanpp::tl::linkage(std::vector<double>{1.0, std::nan(""), 2.0}, 3), scanpp::ValueError);
  EXPECT_THROW(scanpp::tl::linkage(std::vector<double>{1.0, 2.0}, 3), scanpp::ValueError);
}

TEST(Dendrogram, VarNamesAndTwoGroupings) {
  AnnData a = golden_pbmc();
  scanpp::tl::DendrogramOptions o;
  o.groupby = {"leiden"};
  o.var_names = {"CD3D", "LYZ", "MS4A1", "NKG7", "PPBP", "FCER1A", "CST3", "GNLY"};
  const Dict d = scanpp::tl::dendrogram(a, o);
  EXPECT_EQ(d.at("categories_ordered").get<StringArray>().values.size(), 9u);
  // Scanpy's quirk: any var_names select the all-genes profile (raw values of X's genes).
  o.var_names = {"LYZ"};
  o.key_added = "other";
  const Dict d_other = scanpp::tl::dendrogram(a, o);
  EXPECT_EQ(array_values(d_other.at("correlation_matrix")), array_values(d.at("correlation_matrix")));
  // Two columns: categories are the observed combinations, sorted as strings.
  AnnData b = golden_pbmc();
  scanpp::tl::DendrogramOptions o2;
  o2.groupby = {"leiden", "louvain_igraph"};
  const Dict d2 = scanpp::tl::dendrogram(b, o2);
  ASSERT_TRUE(b.uns.count("dendrogram_leiden_louvain_igraph"));
  auto cats = d2.at("categories_ordered").get<StringArray>().values;
  std::sort(cats.begin(), cats.end());
  EXPECT_TRUE(std::adjacent_find(cats.begin(), cats.end()) == cats.end());
  EXPECT_GE(cats.size(), 9u);
}

}  // namespace
