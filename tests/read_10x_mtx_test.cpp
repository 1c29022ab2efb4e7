// sc.read_10x_mtx: PBMC 3k against Scanpy 1.11's golden QC tables, the
// Cell Ranger 1.2 / 3.0 layouts and the integer-id variant against values
// checked with anndata 0.8 + pandas (scanpy's code path), and every error.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "scanpp/core/error.hpp"
#include "scanpp/io/read_10x_mtx.hpp"

namespace fs = std::filesystem;
using namespace scanpp;

namespace {

const std::string kData = std::string(SCANPP_SHARED_DIR) + "/data";
const std::string kGolden = std::string(SCANPP_SHARED_DIR) + "/golden/pbmc3k";
const std::string kPbmc = kData + "/pbmc3k/filtered_gene_bc_matrices/hg19";
const std::string kV3 = kData + "/tenx_formats/3.0.0/filtered_feature_bc_matrix";
const std::string kV12 = kData + "/tenx_formats/1.2.0/filtered_gene_bc_matrices/hg19_chr21";
const std::string kIntIds = kData + "/tenx_formats/int-ids";

// Columns of a plain comma-separated golden table (no quoting in these files).
std::vector<std::vector<std::string>> read_golden(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) f.push_back(cell);
    rows.push_back(std::move(f));
  }
  return rows;
}

std::vector<double> row_sums(const SparseMatrix& m) {
  std::vector<double> s(static_cast<size_t>(m.n_rows), 0.0);
  const auto v = m.data.as<float>();
  for (int64_t i = 0; i < m.n_rows; ++i)
    for (int64_t k = m.indptr[static_cast<size_t>(i)]; k < m.indptr[static_cast<size_t>(i) + 1]; ++k)
      s[static_cast<size_t>(i)] += v[static_cast<size_t>(k)];
  return s;
}

double total(const SparseMatrix& m) {
  double s = 0;
  for (float v : m.data.as<float>()) s += v;
  return s;
}

const std::vector<std::string>& strings(const DataFrame& df, const std::string& col) {
  return std::get<std::vector<std::string>>(df.at(col));
}

template <class F>
std::string error_text(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return std::string("InputError: ") + e.what();
  } catch (const ValueError& e) {
    return std::string("ValueError: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
  return "no error";
}

#define EXPECT_CONTAINS(text, piece) EXPECT_NE((text).find(piece), std::string::npos) << (text)

class TenxFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("scanpp_10x_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name, std::ios::binary) << text; }
  void write_gz(const std::string& name, const std::string& text) {
    gzFile f = gzopen((dir_ / name).c_str(), "wb");
    gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    gzclose(f);
  }
  // A small v3 folder: 4 features (one antibody), 3 barcodes.
  void write_v3(const std::string& prefix = "") {
    write_gz(prefix + "matrix.mtx.gz",
             "%%MatrixMarket matrix coordinate integer general\n%metadata_json: {}\n4 3 5\n1 1 2\n3 1 1\n2 2 5\n4 2 7\n4 3 1\n");
    write_gz(prefix + "features.tsv.gz",
             "G1\tGeneA\tGene Expression\nG2\tGeneA\tGene Expression\nAB1\tCD3\tAntibody Capture\nG3\tGeneC\tGene Expression\n");
    write_gz(prefix + "barcodes.tsv.gz", "AAA-1\nCCC-1\nGGG-1\n");
  }
  fs::path dir_;
};

}  // namespace

TEST(Read10xMtxPbmc3k, MatchesScanpyGolden) {
  const AnnData a = io::read_10x_mtx(kPbmc);
  EXPECT_EQ(a.n_obs(), 2700);
  EXPECT_EQ(a.n_vars(), 32738);
  ASSERT_TRUE(a.x_is_sparse());
  const SparseMatrix& X = a.X_sparse();
  EXPECT_EQ(X.format, SparseFormat::CSR);
  EXPECT_EQ(X.dtype(), DType::Float32);
  EXPECT_EQ(X.n_rows, 2700);
  EXPECT_EQ(X.n_cols, 32738);
  EXPECT_EQ(X.nnz(), 2286884);
  EXPECT_EQ(total(X), 6390631.0);
  EXPECT_NO_THROW(X.validate());
  EXPECT_NO_THROW(a.validate());

  // var: names made unique the anndata way, gene_ids beside them, nothing else.
  const auto var = read_golden(kGolden + "/qc_var_raw.csv");
  ASSERT_EQ(var.size(), 32739u);
  ASSERT_EQ(var[0][0], "gene");
  ASSERT_EQ(var[0][1], "gene_ids");
  EXPECT_EQ(a.var.column_names(), (std::vector<std::string>{"gene_ids"}));
  const auto& ids = strings(a.var, "gene_ids");
  int name_mismatch = 0, id_mismatch = 0;
  for (size_t j = 0; j < 32738; ++j) {
    name_mismatch += a.var_names()[j] != var[j + 1][0];
    id_mismatch += ids[j] != var[j + 1][1];
  }
  EXPECT_EQ(name_mismatch, 0);
  EXPECT_EQ(id_mismatch, 0);
  EXPECT_EQ(a.var_names()[2026], "EFNA3-1");  // 95 duplicated symbols get suffixes

  // obs: barcodes and per-cell totals.
  const auto obs = read_golden(kGolden + "/qc_obs_raw.csv");
  ASSERT_EQ(obs.size(), 2701u);
  ASSERT_EQ(obs[0][3], "total_counts");
  const auto sums = row_sums(X);
  int bc_mismatch = 0, total_mismatch = 0;
  for (size_t i = 0; i < 2700; ++i) {
    bc_mismatch += a.obs_names()[i] != obs[i + 1][0];
    total_mismatch += sums[i] != std::stod(obs[i + 1][3]);
  }
  EXPECT_EQ(bc_mismatch, 0);
  EXPECT_EQ(total_mismatch, 0);
  EXPECT_TRUE(a.obs.columns().empty());
}

TEST(Read10xMtxPbmc3k, GeneIdsAndNotUnique) {
  const AnnData ids = io::read_10x_mtx(kPbmc, {.var_names = "gene_ids"});
  EXPECT_EQ(ids.var_names()[0], "ENSG00000243485");
  EXPECT_EQ(ids.var_names()[1], "ENSG00000237613");
  EXPECT_EQ(ids.var.column_names(), (std::vector<std::string>{"gene_symbols"}));
  EXPECT_EQ(strings(ids.var, "gene_symbols")[0], "MIR1302-10");
  EXPECT_EQ(strings(ids.var, "gene_symbols")[2026], "EFNA3");  // symbols kept as in the file

  const AnnData raw = io::read_10x_mtx(kPbmc, {.make_unique = false});
  EXPECT_EQ(raw.var_names()[2026], "EFNA3");
  EXPECT_EQ(raw.var_names()[377], "U1");
  EXPECT_EQ(raw.X_sparse(), ids.X_sparse());
}

TEST(Read10xMtxLayouts, CellRanger3) {
  const AnnData a = io::read_10x_mtx(kV3);
  EXPECT_EQ(a.n_obs(), 1107);
  EXPECT_EQ(a.n_vars(), 507);
  EXPECT_EQ(a.X_sparse().nnz(), 23866);
  EXPECT_EQ(total(a.X_sparse()), 41549.0);
  EXPECT_EQ(a.var.column_names(), (std::vector<std::string>{"gene_ids", "feature_types"}));
  EXPECT_EQ(a.var_names()[0], "CH507-9B2.2");
  EXPECT_EQ(a.var_names()[1], "CH507-9B2.1");
  EXPECT_EQ(a.var_names().back(), "PRMT2");
  EXPECT_EQ(strings(a.var, "gene_ids")[0], "ENSG00000279493");
  EXPECT_EQ(strings(a.var, "feature_types")[0], "Gene Expression");
  EXPECT_EQ(a.obs_names()[0], "AAACCCAAGGAGAGTA-1");
  EXPECT_EQ(a.obs_names()[1], "AAACGCTTCAGCCCAG-1");
  EXPECT_EQ(a.obs_names().back(), "TTTGGTTGTAGAATAC-1");
  const auto sums = row_sums(a.X_sparse());
  EXPECT_EQ(sums[0], 36.0);
  EXPECT_EQ(sums[1], 24.0);
  EXPECT_EQ(sums[2], 23.0);
  EXPECT_EQ(sums[3], 12.0);
  // First stored entries of cell 0: genes 138, 139, 140, 161, 165 with 1, 1, 1, 1, 2.
  const SparseMatrix& X = a.X_sparse();
  EXPECT_EQ(std::vector<int32_t>(X.indices.begin(), X.indices.begin() + 5), (std::vector<int32_t>{138, 139, 140, 161, 165}));
  EXPECT_EQ(X.data.as<float>()[4], 2.0f);
  // All features are Gene Expression here: gex_only changes nothing.
  EXPECT_EQ(io::read_10x_mtx(kV3, {.gex_only = false}), a);
}

TEST(Read10xMtxLayouts, CellRanger12) {
  const AnnData a = io::read_10x_mtx(kV12);
  EXPECT_EQ(a.n_obs(), 12);
  EXPECT_EQ(a.n_vars(), 343);
  EXPECT_EQ(a.X_sparse().nnz(), 12);
  EXPECT_EQ(total(a.X_sparse()), 12.0);
  EXPECT_EQ(a.var.column_names(), (std::vector<std::string>{"gene_ids"}));
  EXPECT_EQ(a.var_names()[0], "DSCAM");
  EXPECT_EQ(a.var_names().back(), "S100B");
  EXPECT_EQ(a.obs_names()[0], "AACACGTGTACGCTGC-1");
  EXPECT_EQ(a.obs_names().back(), "TTTATGCCATCCGTGG-1");
  const SparseMatrix& X = a.X_sparse();
  EXPECT_EQ(X.indices[0], 200);  // cell 0 holds one count, gene 200
  EXPECT_EQ(X.indices[1], 122);
  EXPECT_EQ(X.indices[2], 282);
}

TEST(Read10xMtxLayouts, IntegerFeatureIds) {
  // Uncompressed v3 files: pandas types the ids as int64.
  const AnnData a = io::read_10x_mtx(kIntIds, {.compressed = false});
  EXPECT_EQ(a.n_obs(), 5);
  EXPECT_EQ(a.n_vars(), 6);
  EXPECT_EQ(a.X_sparse().nnz(), 3);
  EXPECT_EQ(total(a.X_sparse()), 8.0);
  EXPECT_EQ(a.var.column_names(), (std::vector<std::string>{"gene_ids", "feature_types"}));
  const Array& ids = std::get<Array>(a.var.at("gene_ids"));
  ASSERT_EQ(ids.dtype(), DType::Int64);
  EXPECT_EQ(ids.to_vector<int64_t>(), (std::vector<int64_t>{574405, 574404, 574403, 574402, 100862323, 100862329}));
  EXPECT_EQ(a.var_names(), (std::vector<std::string>{"Pwwp4b", "Pwwp4a", "Insyn2b", "Gpr17", "Btbd35f22", "Btbd35f21"}));
  EXPECT_EQ(a.obs_names()[2], "AAACCCATCGGACCAC-1");
  const auto sums = row_sums(a.X_sparse());
  EXPECT_EQ(sums, (std::vector<double>{0, 0, 8, 0, 0}));
  const SparseMatrix& X = a.X_sparse();
  EXPECT_EQ(X.indices, (std::vector<int32_t>{3, 4, 5}));
  EXPECT_EQ(X.data.to_vector<float>(), (std::vector<float>{6, 1, 1}));

  // As var_names the ids become their text (anndata's str index).
  const AnnData b = io::read_10x_mtx(kIntIds, {.var_names = "gene_ids", .compressed = false});
  EXPECT_EQ(b.var_names()[0], "574405");
  EXPECT_EQ(b.var_names()[4], "100862323");
  EXPECT_EQ(strings(b.var, "gene_symbols")[0], "Pwwp4b");

  // Scanpy 1.11 looks for .gz files in a v3 folder: say what to do instead.
  const std::string msg = error_text([&] { io::read_10x_mtx(kIntIds); });
  EXPECT_CONTAINS(msg, "matrix.mtx.gz: no such file");
  EXPECT_CONTAINS(msg, "compressed = false");
}

TEST_F(TenxFolder, GexOnlyKeepsGeneExpression) {
  write_v3();
  const AnnData all = io::read_10x_mtx(dir_.string(), {.gex_only = false});
  EXPECT_EQ(all.n_obs(), 3);
  EXPECT_EQ(all.n_vars(), 4);
  EXPECT_EQ(all.var_names(), (std::vector<std::string>{"GeneA", "GeneA-1", "CD3", "GeneC"}));
  EXPECT_EQ(strings(all.var, "feature_types")[2], "Antibody Capture");

  const AnnData gex = io::read_10x_mtx(dir_.string());
  EXPECT_EQ(gex.n_vars(), 3);
  EXPECT_EQ(gex.var_names(), (std::vector<std::string>{"GeneA", "GeneA-1", "GeneC"}));
  EXPECT_EQ(strings(gex.var, "gene_ids"), (std::vector<std::string>{"G1", "G2", "G3"}));
  EXPECT_EQ(gex.obs_names(), (std::vector<std::string>{"AAA-1", "CCC-1", "GGG-1"}));
  const SparseMatrix& X = gex.X_sparse();
  // cells x genes: AAA: G1=2; CCC: G2=5, G3=7; GGG: G3=1 (the antibody count is gone).
  EXPECT_EQ(X.indptr, (std::vector<int64_t>{0, 1, 3, 4}));
  EXPECT_EQ(X.indices, (std::vector<int32_t>{0, 1, 2, 2}));
  EXPECT_EQ(X.data.to_vector<float>(), (std::vector<float>{2, 5, 7, 1}));
  EXPECT_NO_THROW(gex.validate());
}

TEST_F(TenxFolder, PrefixedFiles) {
  write_v3("patientA_");
  const AnnData a = io::read_10x_mtx(dir_.string(), {.prefix = "patientA_"});
  EXPECT_EQ(a.n_obs(), 3);
  EXPECT_EQ(a.n_vars(), 3);
  // Without the prefix nothing is found.
  EXPECT_CONTAINS(error_text([&] { io::read_10x_mtx(dir_.string()); }), "matrix.mtx.gz: no such file");
  // A legacy folder with a prefix.
  for (const char* f : {"matrix.mtx", "genes.tsv", "barcodes.tsv"}) fs::copy_file(fs::path(kV12) / f, dir_ / (std::string("p_") + f));
  const AnnData b = io::read_10x_mtx(dir_.string(), {.prefix = "p_"});
  EXPECT_EQ(b, io::read_10x_mtx(kV12));
}

TEST_F(TenxFolder, ErrorsNameTheFileAndTheCounts) {
  EXPECT_CONTAINS(error_text([&] { io::read_10x_mtx((dir_ / "absent").string()); }), "absent: no such folder");
  EXPECT_CONTAINS(error_text([&] { io::read_10x_mtx(dir_.string()); }), "matrix.mtx.gz: no such file");
  EXPECT_CONTAINS(error_text([&] { io::read_10x_mtx(kV12, {.var_names = "symbols"}); }),
                  "ValueError: read_10x_mtx: var_names needs to be 'gene_symbols' or 'gene_ids'");

  write_v3();
  fs::remove(dir_ / "barcodes.tsv.gz");
  EXPECT_CONTAINS(error_text([&] { io::read_10x_mtx(dir_.string()); }), "barcodes.tsv.gz: no such file");

  write_gz("barcodes.tsv.gz", "AAA-1\nCCC-1\n");
  EXPECT_CONTAINS(error_text([&] { io::read_10x_mtx(dir_.string()); }),
                  "barcodes.tsv.gz: has 2 barcodes but matrix.mtx.gz has 3 columns (one per barcode)");

  write_gz("barcodes.tsv.gz", "AAA-1\nCCC-1\nGGG-1\n");
  write_gz("features.tsv.gz", "G1\tGeneA\tGene Expression\nG2\tGeneA\tGene Expression\nG3\tGeneC\tGene Expression\n");
  EXPECT_CONTAINS(error_text([&] { io::read_10x_mtx(dir_.string()); }),
                  "features.tsv.gz: has 3 features but matrix.mtx.gz has 4 rows (one per feature)");

  write_gz("features.tsv.gz", "G1\tGeneA\tGene Expression\nG2\tGeneA\nAB1\tCD3\tAntibody Capture\nG3\tGeneC\tGene Expression\n");
  EXPECT_CONTAINS(error_text([&] { io::read_10x_mtx(dir_.string()); }),
                  "features.tsv.gz: line 2: expected at least 3 tab-separated columns");

  // A broken matrix is reported by the matrix reader, with its line.
  write_v3();
  write_gz("matrix.mtx.gz", "%%MatrixMarket matrix coordinate integer general\n4 3 5\n1 1 2\n3 1 1\n2 2 5\n4 2 7\n");
  EXPECT_CONTAINS(error_text([&] { io::read_10x_mtx(dir_.string()); }), "file ends after 4 of the 5 entries");

  // Legacy folder: genes.tsv with one column fewer than the layout needs.
  const fs::path legacy = dir_ / "legacy";
  fs::create_directories(legacy);
  std::ofstream(legacy / "genes.tsv") << "G1\nG2\n";
  std::ofstream(legacy / "barcodes.tsv") << "A\n";
  std::ofstream(legacy / "matrix.mtx") << "%%MatrixMarket matrix coordinate integer general\n2 1 1\n1 1 1\n";
  EXPECT_CONTAINS(error_text([&] { io::read_10x_mtx(legacy.string()); }), "genes.tsv: line 1: expected at least 2");
}
