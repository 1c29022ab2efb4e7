// tl.score_genes and tl.score_genes_cell_cycle against Scanpy 1.11's output
// (golden/pbmc3k_extra/score_genes_tcell.csv) and against Scanpy's algorithm
// run step by step with pandas/numpy by /usr/bin/python3.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "scanpp/core/error.hpp"
#include "scanpp/tl/score_genes.hpp"
#include "scoring_support.hpp"

namespace {

using scanpp::AnnData;
using scanpp::Array;
using scanpp::tl::ScoreGenesOptions;
using scoring_test::golden_pbmc;

// Scanpy 1.11's score_genes on a sparse matrix, written out with pandas and
// numpy's global legacy RNG exactly as scanpy/tools/_score_genes.py does it.
const char* kScanpyScoreGenes = R"PY(
import sys
import numpy as np, pandas as pd, anndata as ad
a = ad.read_h5ad(sys.argv[1])
dense = sys.argv[4] == "X"
if dense:
    # Dense float32 X: np.nanmean without a dtype gives float32 gene means.
    X = np.asarray(a.X); var_names = a.var_names
    gene_avg = np.nanmean(X, axis=0)
else:
    # float64 first: scipy's sum(dtype=...) would accumulate in float32
    X = a.raw.X.tocsr().astype(np.float64); var_names = a.raw.var_names
    gene_avg = np.asarray(X.sum(axis=0)).ravel() / X.shape[0]
genes = pd.Index(sys.argv[2].split(",")).intersection(var_names)
ctrl_size = int(sys.argv[3])
np.random.seed(0)
pool = var_names.astype("string")
avg = pd.Series(gene_avg, index=pool)
avg = avg[np.isfinite(avg)]
n_items = int(np.round(len(avg) / 24))
cut = avg.rank(method="min") // n_items
ctrl = pd.Index([], dtype="string")
for c in np.unique(cut.loc[genes]):
    r = cut[cut == c].index
    if ctrl_size < len(r):
        r = r.to_series().sample(ctrl_size).index
    ctrl = ctrl.union(r.difference(genes))
def means(g):
    sub = X[:, var_names.get_indexer(g)]
    if dense:
        return np.nanmean(sub, axis=1, dtype="float64")
    return np.asarray(sub.sum(axis=1)).ravel() / len(g)
print(len(ctrl))
print(" ".join(repr(v) for v in means(genes) - means(ctrl)))
)PY";

// Regev lab cell cycle genes (Tirosh et al. 2016), as in Scanpy's cell cycle tutorial.
const std::vector<std::string> kSGenes = {
    "MCM5", "PCNA",  "TYMS",  "FEN1", "MCM2",     "MCM4", "RRM1",  "UNG",   "GINS2", "MCM6", "CDCA7",
    "DTL",  "PRIM1", "UHRF1", "MLF1IP", "HELLS",  "RFC2", "RPA2",  "NASP",  "RAD51AP1", "GMNN", "WDR76",
    "SLBP", "CCNE2", "UBR7",  "POLD3", "MSH2",    "ATAD2", "RAD51", "RRM2", "CDC45", "CDC6", "EXO1",
    "TIPIN", "DSCC1", "BLM",  "CASP8AP2", "USP1", "CLSPN", "POLA1", "CHAF1B", "BRIP1", "E2F8"};
const std::vector<std::string> kG2MGenes = {
    "HMGB2", "CDK1",   "NUSAP1", "UBE2C", "BIRC5",  "TPX2",   "TOP2A", "NDC80",  "CKS2",   "NUF2",  "CKS1B",
    "MKI67", "TMPO",   "CENPF",  "TACC3", "FAM64A", "SMC4",   "CCNB2", "CKAP2L", "CKAP2",  "AURKB", "BUB1",
    "KIF11", "ANP32E", "TUBB4B", "GTSE1", "KIF20B", "HJURP",  "CDCA3", "HN1",    "CDC20",  "TTK",   "CDC25C",
    "KIF2C", "RANGAP1", "NCAPD2", "DLGAP5", "CDCA2", "CDCA8", "ECT2",  "KIF23",  "HMMR",   "AURKA", "PSRC1",
    "ANLN",  "LBR",    "CKAP5",  "CENPE", "CTCF",   "NEK2",   "G2E3",  "GAS2L3", "CBX5",   "CENPA"};

// The tutorial keeps the genes present in the data.
std::vector<std::string> present(const std::vector<std::string>& genes, const AnnData& a) {
  const std::set<std::string> names(a.raw->var.index().begin(), a.raw->var.index().end());
  std::vector<std::string> out;
  for (const auto& g : genes)
    if (names.count(g)) out.push_back(g);
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& g : v) s += (s.empty() ? "" : ",") + g;
  return s;
}

const std::vector<std::string> kTcell = {"CD3D", "CD3E", "CD2", "IL7R", "LTB"};

TEST(ScoreGenes, MatchesScanpyGoldenTcellScore) {
  AnnData a = golden_pbmc();
  const auto s = scanpp::tl::score_genes(a, kTcell, {.score_name = "tcell_score"});
  const auto csv = golden::read_csv(golden::shared("golden/pbmc3k_extra/score_genes_tcell.csv"));
  const auto barcodes = csv.text("barcode");
  const auto want = csv.numeric("tcell_score");
  ASSERT_EQ(static_cast<int64_t>(want.size()), a.n_obs());
  const auto got = a.obs.numeric("tcell_score");
  EXPECT_EQ(a.obs.at("tcell_score").index(), 0u);
  EXPECT_EQ(std::get<Array>(a.obs.at("tcell_score")).dtype(), scanpp::DType::Float64);
  double max_dev = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(barcodes[i], a.obs_names()[i]);
    max_dev = std::max(max_dev, std::abs(got[i] - want[i]));
  }
  // The golden differs from the stored raw data by float32 rounding noise
  // (1e-7); a different control gene would move scores by > 1e-3.
  EXPECT_LT(max_dev, 1e-6);
  std::printf("[ score ] tcell score: max |scanpp - Scanpy| = %.3g over %zu cells, %zu control genes\n", max_dev,
              want.size(), s.control_genes.size());
  EXPECT_EQ(s.gene_list, kTcell);
  EXPECT_EQ(s.control_genes.size(), 50u);
  EXPECT_TRUE(std::is_sorted(s.control_genes.begin(), s.control_genes.end()));
}

TEST(ScoreGenes, SameScoresFromDenseFloat64Raw) {
  AnnData a = golden_pbmc();
  const auto sparse = scanpp::tl::score_genes(a, kTcell);
  a.raw->X = scanpp::to_dense(a.raw->X->get<scanpp::SparseMatrix>()).astype(scanpp::DType::Float64);
  const auto dense = scanpp::tl::score_genes(a, kTcell);
  EXPECT_EQ(sparse.control_genes, dense.control_genes);
  for (size_t i = 0; i < sparse.scores.size(); ++i) ASSERT_NEAR(sparse.scores[i], dense.scores[i], 1e-12) << i;
}

TEST(ScoreGenes, DenseFloat32XAsNumpy) {
  // The golden X is the scaled dense float32 matrix (negative values too):
  // gene means in float32 decide the bins, as np.nanmean does in Scanpy.
  AnnData a = golden_pbmc();
  const std::vector<std::string> genes = {"LYZ", "CST3", "FCER1A", "GNLY", "PPBP"};
  ScoreGenesOptions o;
  o.use_raw = false;
  o.ctrl_size = 30;
  const auto s = scanpp::tl::score_genes(a, genes, o);
  scanpp::testing::TempDir tmp;
  const auto out = scoring_test::numbers(
      scoring_test::run_python(tmp, kScanpyScoreGenes, scoring_test::golden_h5ad() + " " + joined(genes) + " 30 X"));
  ASSERT_EQ(out.size(), 1 + s.scores.size());
  EXPECT_EQ(static_cast<size_t>(out[0]), s.control_genes.size());
  double dev = 0;
  for (size_t i = 0; i < s.scores.size(); ++i) dev = std::max(dev, std::abs(out[i + 1] - s.scores[i]));
  EXPECT_LT(dev, 1e-12);
  std::printf("[ score ] dense float32 X: max dev vs numpy %.3g, %zu control genes\n", dev, s.control_genes.size());
}

TEST(ScoreGenes, CtrlAsRefFalseAndGenePool) {
  AnnData a = golden_pbmc();
  // A gene set spanning several bins, with ctrl_as_ref=False the set's genes
  // are excluded before sampling, so exactly ctrl_size come from each bin.
  const std::vector<std::string> genes = {"CD3D", "LYZ", "MS4A1", "NKG7", "PPBP", "FCER1A"};
  ScoreGenesOptions o;
  o.ctrl_as_ref = false;
  o.ctrl_size = 20;
  const auto s = scanpp::tl::score_genes(a, genes, o);
  for (const auto& g : genes) EXPECT_FALSE(std::binary_search(s.control_genes.begin(), s.control_genes.end(), g));
  EXPECT_GE(s.control_genes.size(), 20u);
  EXPECT_EQ(s.control_genes.size() % 20, 0u);  // whole bins of 20 (bins are large at this pool size)

  // A pool: controls come from it only.
  std::vector<std::string> pool(a.raw->var.index().begin(), a.raw->var.index().begin() + 4000);
  for (const auto& g : genes) pool.push_back(g);
  o.gene_pool = pool;
  const auto sp = scanpp::tl::score_genes(a, genes, o);
  const std::set<std::string> pool_set(pool.begin(), pool.end());
  for (const auto& g : sp.control_genes) EXPECT_TRUE(pool_set.count(g)) << g;
}

TEST(ScoreGenes, BadInput) {
  AnnData a = golden_pbmc();
  EXPECT_THROW(scanpp::tl::score_genes(a, {"NOT_A_GENE", "ALSO_NOT"}), scanpp::ValueError);
  ScoreGenesOptions o;
  o.layer = "counts";
  o.use_raw = true;
  EXPECT_THROW(scanpp::tl::score_genes(a, kTcell, o), scanpp::ValueError);
  o.use_raw = false;
  EXPECT_THROW(scanpp::tl::score_genes(a, kTcell, o), scanpp::KeyError);
  ScoreGenesOptions bins;
  bins.n_bins = 1;
  EXPECT_THROW(scanpp::tl::score_genes(a, kTcell, bins), scanpp::ValueError);
  ScoreGenesOptions pool;
  pool.gene_pool = std::vector<std::string>{"LYZ", "CST3"};
  EXPECT_THROW(scanpp::tl::score_genes(a, kTcell, pool), scanpp::Error);  // pool too small / set not in pool
}

TEST(ScoreGenesCellCycle, PhaseRuleAndScoresAsScanpy) {
  AnnData a = golden_pbmc();
  const auto s_genes = present(kSGenes, a), g2m_genes = present(kG2MGenes, a);
  ASSERT_GE(s_genes.size(), 20u);
  ASSERT_GE(g2m_genes.size(), 20u);
  scanpp::tl::score_genes_cell_cycle(a, s_genes, g2m_genes);
  const auto S = a.obs.numeric("S_score"), G = a.obs.numeric("G2M_score");
  const auto& phase = std::get<scanpp::Categorical>(a.obs.at("phase"));
  std::map<std::string, int> counts;
  for (int64_t i = 0; i < a.n_obs(); ++i) {
    const std::string p = phase.label(i);
    ++counts[p];
    const size_t k = static_cast<size_t>(i);
    const std::string want = (S[k] < 0 && G[k] < 0) ? "G1" : (G[k] > S[k] ? "G2M" : "S");
    ASSERT_EQ(p, want) << i;
  }
  std::printf("[ score ] cell cycle phases on PBMC 3k (%zu S, %zu G2M genes): G1 %d, G2M %d, S %d\n",
              s_genes.size(), g2m_genes.size(), counts["G1"], counts["G2M"], counts["S"]);
  EXPECT_GT(counts["G1"], 0);

  // Each score is score_genes' own output with ctrl_size = min of the list lengths.
  const int ctrl = static_cast<int>(std::min(s_genes.size(), g2m_genes.size()));
  AnnData b = golden_pbmc();
  ScoreGenesOptions o;
  o.ctrl_size = ctrl;
  const auto s_only = scanpp::tl::score_genes(b, s_genes, o);
  const auto g_only = scanpp::tl::score_genes(b, g2m_genes, o);
  for (size_t i = 0; i < S.size(); ++i) {
    ASSERT_EQ(S[i], s_only.scores[i]);
    ASSERT_EQ(G[i], g_only.scores[i]);
  }

  // And Scanpy's algorithm, run by pandas and numpy, picks the same control genes.
  scanpp::testing::TempDir tmp;
  for (const auto* genes : {&s_genes, &g2m_genes}) {
    const auto out = scoring_test::numbers(scoring_test::run_python(
        tmp, kScanpyScoreGenes, scoring_test::golden_h5ad() + " " + joined(*genes) + " " + std::to_string(ctrl) + " raw"));
    ASSERT_EQ(out.size(), 1 + S.size());
    const auto& mine = genes == &s_genes ? s_only : g_only;
    EXPECT_EQ(static_cast<size_t>(out[0]), mine.control_genes.size());
    double dev = 0;
    for (size_t i = 0; i < S.size(); ++i) dev = std::max(dev, std::abs(out[i + 1] - mine.scores[i]));
    EXPECT_LT(dev, 1e-12);
    std::printf("[ score ] %s score vs pandas/numpy Scanpy algorithm: max dev %.3g, %zu control genes\n",
                genes == &s_genes ? "S" : "G2M", dev, mine.control_genes.size());
  }
}

}  // namespace
