// tl.marker_gene_overlap on Scanpy's golden Wilcoxon result (uns['rgg_wilcoxon'])
// with the PBMC tutorial's reference markers; the expected tables are computed
// independently: from the golden top-25 CSV in the test, and with Python sets
// from the h5ad by /usr/bin/python3.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "scanpp/core/error.hpp"
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/tl/dendrogram.hpp"
#include "scanpp/tl/embedding_density.hpp"
#include "scanpp/tl/marker_gene_overlap.hpp"
#include "scanpp/tl/score_genes.hpp"
#include "scoring_support.hpp"

namespace {

using scanpp::AnnData;
using scanpp::DataFrame;
using scanpp::tl::MarkerGeneOverlapOptions;
using scoring_test::golden_pbmc;

// The PBMC 3k tutorial's marker genes.
const scanpp::tl::MarkerSets kMarkers = {
    {"CD4 T cells", {"IL7R"}},          {"CD14+ Monocytes", {"CD14", "LYZ"}},
    {"B cells", {"MS4A1"}},             {"CD8 T cells", {"CD8A"}},
    {"NK cells", {"GNLY", "NKG7"}},     {"FCGR3A+ Monocytes", {"FCGR3A", "MS4A7"}},
    {"Dendritic Cells", {"FCER1A", "CST3"}}, {"Megakaryocytes", {"PPBP"}}};

// Scanpy's formulas with Python sets, for several options; one line per
// option: the table row-major.
const char* kPythonOverlap = R"PY(
import sys
import numpy as np, anndata as ad
a = ad.read_h5ad(sys.argv[1], backed="r")
rgg = a.uns["rgg_wilcoxon"]
ref = {"CD4 T cells": {"IL7R"}, "CD14+ Monocytes": {"CD14", "LYZ"}, "B cells": {"MS4A1"},
       "CD8 T cells": {"CD8A"}, "NK cells": {"GNLY", "NKG7"}, "FCGR3A+ Monocytes": {"FCGR3A", "MS4A7"},
       "Dendritic Cells": {"FCER1A", "CST3"}, "Megakaryocytes": {"PPBP"}}
groups = rgg["names"].dtype.names
def data_sets(top=None, thr=None):
    out = {}
    for g in groups:
        if top is not None:
            n = top
        elif thr is not None:
            n = int((rgg["pvals_adj"][g] < thr).sum())
        else:
            n = 100
        out[g] = set(rgg["names"][g][:n])
    return out
def table(data, f):
    return [f(ref[r], data[c]) for r in ref for c in data]
d100 = data_sets()
print("count", *table(d100, lambda r, d: len(r & d)))
print("coef", *table(d100, lambda r, d: len(r & d) / max(min(len(r), len(d)), 1)))
print("jaccard", *table(d100, lambda r, d: len(r & d) / len(r | d)))
print("norm_ref", *table(d100, lambda r, d: len(r & d) / len(r)))
print("norm_data", *table(d100, lambda r, d: len(r & d) / len(d)))
dthr = data_sets(thr=1e-20)
print("thr", *table(dthr, lambda r, d: len(r & d)))
print("thr_sizes", *[len(dthr[g]) for g in groups])
)PY";

std::vector<double> row_major(const DataFrame& df) {
  std::vector<double> v;
  std::vector<std::vector<double>> cols;
  for (const auto& c : df.column_names()) cols.push_back(df.numeric(c));
  for (int64_t r = 0; r < df.n_rows(); ++r)
    for (const auto& c : cols) v.push_back(c[static_cast<size_t>(r)]);
  return v;
}

TEST(MarkerGeneOverlap, Top25CountsFromGoldenCsv) {
  AnnData a = golden_pbmc();
  MarkerGeneOverlapOptions o;
  o.key = "rgg_wilcoxon";
  o.top_n_markers = 25;
  const DataFrame df = scanpp::tl::marker_gene_overlap(a, kMarkers, o);
  // Independent: the golden top-25 table (group, rank, name).
  const auto csv = golden::read_csv(golden::shared("golden/pbmc3k/rank_genes_groups_wilcoxon_top25.csv"));
  std::map<std::string, std::set<std::string>> top;
  const auto g = csv.text("group"), name = csv.text("name");
  for (size_t i = 0; i < g.size(); ++i) top[g[i]].insert(name[i]);
  ASSERT_EQ(df.column_names().size(), top.size());
  ASSERT_EQ(df.index().size(), kMarkers.size());
  int total = 0;
  for (size_t r = 0; r < kMarkers.size(); ++r) {
    EXPECT_EQ(df.index()[r], kMarkers[r].first);
    for (const auto& col : df.column_names()) {
      int want = 0;
      for (const auto& gene : kMarkers[r].second) want += static_cast<int>(top.at(col).count(gene));
      EXPECT_EQ(df.numeric(col)[r], want) << kMarkers[r].first << " x " << col;
      total += want;
    }
  }
  std::printf("[ overlap ] top-25 Wilcoxon markers: %d reference markers matched over %zu clusters\n", total,
              top.size());
  EXPECT_GT(total, 8);
  EXPECT_FALSE(a.uns.count("marker_gene_overlap"));  // inplace=False by default
}

TEST(MarkerGeneOverlap, MethodsAndOptionsAsPythonSets) {
  AnnData a = golden_pbmc();
  scanpp::testing::TempDir tmp;
  const std::string out = scoring_test::run_python(tmp, kPythonOverlap, scoring_test::golden_h5ad());
  std::map<std::string, std::vector<double>> ref;
  {
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
      const auto sp = line.find(' ');
      ref[line.substr(0, sp)] = scoring_test::numbers(line.substr(sp + 1));
    }
  }
  auto run = [&](MarkerGeneOverlapOptions o) {
    o.key = "rgg_wilcoxon";
    return row_major(scanpp::tl::marker_gene_overlap(a, kMarkers, o));
  };
  auto expect_table = [](const std::vector<double>& got, const std::vector<double>& want, const char* what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-15) << what << " " << i;
  };
  expect_table(run({}), ref["count"], "overlap_count");
  expect_table(run({.method = "overlap_coef"}), ref["coef"], "overlap_coef");
  expect_table(run({.method = "jaccard"}), ref["jaccard"], "jaccard");
  expect_table(run({.normalize = "reference"}), ref["norm_ref"], "normalize=reference");
  expect_table(run({.normalize = "data"}), ref["norm_data"], "normalize=data");
  expect_table(run({.adj_pval_threshold = 1e-20}), ref["thr"], "adj_pval_threshold");
  double sum = 0;
  for (double v : ref["count"]) sum += v;
  std::printf("[ overlap ] top-100: %.0f matches; adj_pval<1e-20 markers per cluster:", sum);
  for (double v : ref["thr_sizes"]) std::printf(" %.0f", v);
  std::printf("\n");

  // inplace stores the table.
  MarkerGeneOverlapOptions o;
  o.key = "rgg_wilcoxon";
  o.inplace = true;
  o.key_added = "mgo";
  scanpp::tl::marker_gene_overlap(a, kMarkers, o);
  ASSERT_TRUE(a.uns.at("mgo").is<DataFrame>());
  EXPECT_EQ(row_major(a.uns.at("mgo").get<DataFrame>()), ref["count"]);
}

TEST(MarkerGeneOverlap, PipelineStepWritesCsv) {
  scanpp::testing::TempDir tmp;
  const std::string yaml = "- read: {path: " + scoring_test::golden_h5ad() +
                           "}\n"
                           "- tl.marker_gene_overlap:\n"
                           "    key: rgg_wilcoxon\n"
                           "    method: jaccard\n"
                           "    save: " +
                           tmp.file("overlap.csv") +
                           "\n"
                           "    reference_markers: {B cells: [MS4A1, CD79A], NK cells: [GNLY, NKG7], Megakaryocytes: PPBP}\n"
                           // The other scoring steps, checked against the functions below.
                           "- tl.score_genes: {gene_list: [CD3D, CD3E, CD2], score_name: t, ctrl_size: 40}\n"
                           "- tl.score_genes_cell_cycle: {s_genes: [MCM5, PCNA, TYMS], g2m_genes: [HMGB2, CDK1, TOP2A]}\n"
                           "- tl.dendrogram: {groupby: leiden, linkage_method: average, optimal_ordering: true}\n"
                           "- tl.embedding_density: {basis: tsne, components: '2,1', groupby: leiden}\n";
  AnnData out;
  scanpp::pipeline::run_yaml(yaml, "overlap.yaml", {.verbose = false}, &out);
  EXPECT_FALSE(out.uns.count("marker_gene_overlap"));  // save given, inplace not asked
  {
    AnnData ref = golden_pbmc();
    scanpp::tl::score_genes(ref, {"CD3D", "CD3E", "CD2"}, {.ctrl_size = 40, .score_name = "t"});
    scanpp::tl::score_genes_cell_cycle(ref, {"MCM5", "PCNA", "TYMS"}, {"HMGB2", "CDK1", "TOP2A"});
    scanpp::tl::DendrogramOptions d;
    d.groupby = {"leiden"};
    d.linkage_method = "average";
    d.optimal_ordering = true;
    scanpp::tl::dendrogram(ref, d);
    scanpp::tl::EmbeddingDensityOptions e;
    e.basis = "tsne";
    e.components = {2, 1};
    e.groupby = "leiden";
    scanpp::tl::embedding_density(ref, e);
    for (const char* col : {"t", "S_score", "G2M_score", "tsne_density_leiden"})
      EXPECT_EQ(out.obs.numeric(col), ref.obs.numeric(col)) << col;
    EXPECT_EQ(out.obs.at("phase"), ref.obs.at("phase"));
    EXPECT_EQ(out.uns.at("dendrogram_leiden"), ref.uns.at("dendrogram_leiden"));
    EXPECT_EQ(out.uns.at("tsne_density_leiden_params"), ref.uns.at("tsne_density_leiden_params"));
  }
  const auto lines = golden::read_lines(tmp.file("overlap.csv"));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], ",0,1,2,3,4,5,6,7,8");
  EXPECT_EQ(lines[1].substr(0, 8), "B cells,");
  EXPECT_EQ(lines[3].substr(0, 15), "Megakaryocytes,");
  // The same numbers as the function gives.
  AnnData a = golden_pbmc();
  MarkerGeneOverlapOptions o;
  o.key = "rgg_wilcoxon";
  o.method = "jaccard";
  const DataFrame df = scanpp::tl::marker_gene_overlap(
      a, {{"B cells", {"MS4A1", "CD79A"}}, {"NK cells", {"GNLY", "NKG7"}}, {"Megakaryocytes", {"PPBP"}}}, o);
  const auto fields = golden::split_csv(lines[2]);
  ASSERT_EQ(fields.size(), 10u);
  for (size_t c = 0; c < 9; ++c) EXPECT_EQ(std::stod(fields[c + 1]), df.numeric(std::to_string(c))[1]);
  // A bad method is reported when the pipeline is checked.
  EXPECT_THROW(scanpp::pipeline::run_yaml("- read: {path: " + scoring_test::golden_h5ad() +
                                              "}\n- tl.marker_gene_overlap: {reference_markers: {B: [MS4A1]}, "
                                              "method: enrich}\n",
                                          "bad.yaml", {.verbose = false}),
               scanpp::Error);
}

TEST(MarkerGeneOverlap, BadInput) {
  AnnData a = golden_pbmc();
  EXPECT_THROW(scanpp::tl::marker_gene_overlap(a, kMarkers, {}), scanpp::ValueError);  // no 'rank_genes_groups'
  MarkerGeneOverlapOptions o;
  o.key = "rgg_wilcoxon";
  o.method = "jaccard";
  o.normalize = "reference";
  EXPECT_THROW(scanpp::tl::marker_gene_overlap(a, kMarkers, o), scanpp::ValueError);
  o.method = "overlap_count";
  o.normalize = "cells";
  EXPECT_THROW(scanpp::tl::marker_gene_overlap(a, kMarkers, o), scanpp::ValueError);
  o.normalize.reset();
  o.key = "rgg_logreg";  // logreg stores no adjusted p-values
  o.adj_pval_threshold = 0.05;
  EXPECT_THROW(scanpp::tl::marker_gene_overlap(a, kMarkers, o), scanpp::ValueError);
}

}  // namespace
