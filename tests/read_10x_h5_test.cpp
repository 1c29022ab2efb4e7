// sc.read_10x_h5 on Cell Ranger's own test files (scanpy's tests/_data/10x_data):
// every value is checked against the Matrix Market folder holding the same data,
// and the totals against figures read from the HDF5 files with h5py.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "scanpp/io/hdf5.hpp"
#include "scanpp/io/read_10x_h5.hpp"

namespace fs = std::filesystem;
using namespace scanpp;

namespace {

const std::string kData = std::string(SCANPP_SHARED_DIR) + "/data/tenx_formats/";

// Lines of a text file, gzip-compressed or not.
std::vector<std::string> read_lines(const std::string& path) {
  gzFile g = gzopen(path.c_str(), "rb");
  if (!g) throw std::runtime_error("cannot open " + path);
  std::vector<std::string> lines;
  std::string cur;
  char buf[4096];
  int n;
  while ((n = gzread(g, buf, sizeof buf)) > 0)
    for (int i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        lines.push_back(cur);
        cur.clear();
      } else {
        cur += buf[i];
      }
    }
  gzclose(g);
  if (!cur.empty()) lines.push_back(cur);
  return lines;
}

std::vector<std::string> tsv_column(const std::string& path, size_t col) {
  std::vector<std::string> out;
  for (const auto& line : read_lines(path)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string x;
    while (std::getline(ss, x, '\t')) f.push_back(x);
    out.push_back(f.at(col));
  }
  return out;
}

// A Matrix Market genes x barcodes file as {(barcode, gene) -> value}.
struct Mtx {
  int64_t n_genes = 0, n_cells = 0, nnz = 0;
  std::map<std::pair<int64_t, int64_t>, double> cell_gene;
};
Mtx read_mtx(const std::string& path) {
  Mtx m;
  bool header = false;
  for (const auto& line : read_lines(path)) {
    if (line.empty() || line[0] == '%') continue;
    std::stringstream ss(line);
    if (!header) {
      ss >> m.n_genes >> m.n_cells >> m.nnz;
      header = true;
      continue;
    }
    int64_t g, c;
    double v;
    ss >> g >> c >> v;
    m.cell_gene[{c - 1, g - 1}] += v;
  }
  return m;
}

std::map<std::pair<int64_t, int64_t>, double> entries(const SparseMatrix& x) {
  std::map<std::pair<int64_t, int64_t>, double> out;
  for (int64_t r = 0; r < x.n_rows; ++r)
    for (int64_t k = x.indptr[r]; k < x.indptr[r + 1]; ++k) out[{r, x.indices[k]}] += x.data.get_double(k);
  return out;
}

double total(const SparseMatrix& x) {
  double s = 0;
  for (int64_t k = 0; k < x.nnz(); ++k) s += x.data.get_double(k);
  return s;
}

const std::vector<std::string>& strings(const DataFrame& df, const std::string& col) {
  return std::get<std::vector<std::string>>(df.at(col));
}

std::string temp_dir(const std::string& tag) {
  fs::path p = fs::temp_directory_path() / ("scanpp_10x_" + tag + "_" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p.string();
}

// A small v3 file: `data`, `indices`, `indptr` of any dtype, features given per column.
void write_v3(const std::string& path, int64_t n_genes, const std::vector<std::string>& barcodes, const Array& data,
              const Array& indices, const Array& indptr, const std::map<std::string, std::vector<std::string>>& features,
              bool with_features = true) {
  h5::Handle f = h5::create_file(path);
  h5::Handle m = h5::create_group(f, "matrix");
  h5::write_strings(m, "barcodes", barcodes);
  h5::write_array(m, "data", data);
  h5::write_array(m, "indices", indices);
  h5::write_array(m, "indptr", indptr);
  h5::write_array(m, "shape", Array::from_vector(std::vector<int32_t>{static_cast<int32_t>(n_genes),
                                                                       static_cast<int32_t>(barcodes.size())}));
  if (!with_features) return;
  h5::Handle ft = h5::create_group(m, "features");
  for (const auto& [k, v] : features) h5::write_strings(ft, k, v);
}

// Three cells x five features: two genomes, one antibody capture feature.
struct Synthetic {
  std::vector<std::string> barcodes{"AAA-1", "CCC-1", "GGG-1"};
  // CSR over cells; cell 1 is empty.
  std::vector<int64_t> indptr{0, 3, 3, 6};
  std::vector<int64_t> indices{4, 0, 2, 1, 3, 4};
  std::vector<int32_t> data{5, 1, 2, 7, 3, 4};
  std::map<std::string, std::vector<std::string>> features{
      {"name", {"g0", "g1", "g2", "m0", "CD3"}},
      {"id", {"ENSG0", "ENSG1", "ENSG2", "ENSMUSG0", "CD3_TotalSeqB"}},
      {"feature_type", {"Gene Expression", "Gene Expression", "Gene Expression", "Gene Expression", "Antibody Capture"}},
      {"genome", {"GRCh38", "GRCh38", "GRCh38", "mm10", ""}},
      {"pattern", {"", "", "", "", "5PNNNNNNNNNN(BC)"}},
      {"_all_tag_keys", {"genome", "pattern"}}};
};

}  // namespace

TEST(Read10xH5, V2SingleGenomeMatchesMtxFolder) {
  AnnData a = io::read_10x_h5(kData + "1.2.0/filtered_gene_bc_matrices_h5.h5");
  ASSERT_NO_THROW(a.validate());
  EXPECT_EQ(a.n_obs(), 12);
  EXPECT_EQ(a.n_vars(), 343);
  ASSERT_TRUE(a.x_is_sparse());
  const SparseMatrix& X = a.X_sparse();
  EXPECT_EQ(X.format, SparseFormat::CSR);
  EXPECT_EQ(X.dtype(), DType::Float32);  // int32 counts become float32
  EXPECT_EQ(X.nnz(), 12);
  EXPECT_DOUBLE_EQ(total(X), 12.0);  // h5py: data.sum() == 12
  EXPECT_EQ(a.obs_names().front(), "AACACGTGTACGCTGC-1");
  EXPECT_EQ(a.obs_names().back(), "TTTATGCCATCCGTGG-1");
  EXPECT_EQ(a.var.column_names(), std::vector<std::string>{"gene_ids"});
  EXPECT_EQ(a.var_names()[0], "DSCAM");
  EXPECT_EQ(a.var_names()[1], "MIR99AHG");
  EXPECT_EQ(a.var_names().back(), "S100B");
  // First cell: one count of gene 200 (h5py: indices[0:1] == [200]).
  EXPECT_EQ(X.indptr[1], 1);
  EXPECT_EQ(X.indices[0], 200);

  const std::string dir = kData + "1.2.0/filtered_gene_bc_matrices/hg19_chr21/";
  EXPECT_EQ(a.obs_names(), tsv_column(dir + "barcodes.tsv", 0));
  EXPECT_EQ(a.var_names(), tsv_column(dir + "genes.tsv", 1));
  EXPECT_EQ(strings(a.var, "gene_ids"), tsv_column(dir + "genes.tsv", 0));
  Mtx mtx = read_mtx(dir + "matrix.mtx");
  EXPECT_EQ(mtx.n_genes, a.n_vars());
  EXPECT_EQ(mtx.n_cells, a.n_obs());
  EXPECT_EQ(entries(X), mtx.cell_gene);
}

TEST(Read10xH5, V2SeveralGenomesNeedAGenome) {
  const std::string path = kData + "1.2.0/multiple_genomes.h5";
  try {
    io::read_10x_h5(path);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("more than one genome"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'another_genome', 'hg19_chr21'"), std::string::npos) << msg;
  }
  try {
    io::read_10x_h5(path, {.genome = "mm10"});
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'mm10'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'another_genome', 'hg19_chr21'"), std::string::npos) << msg;
  }

  AnnData other = io::read_10x_h5(path, {.genome = "another_genome"});
  EXPECT_EQ(other.n_obs(), 12);
  EXPECT_EQ(other.n_vars(), 343);
  EXPECT_EQ(other.X_sparse().nnz(), 12);
  EXPECT_DOUBLE_EQ(total(other.X_sparse()), 13.0);  // h5py: sum 13, max 2
  double mx = 0;
  for (int64_t k = 0; k < 12; ++k) mx = std::max(mx, other.X_sparse().data.get_double(k));
  EXPECT_DOUBLE_EQ(mx, 2.0);
  EXPECT_EQ(other.var_names().front(), "gene_0");
  EXPECT_EQ(other.var_names().back(), "gene_342");

  // The hg19_chr21 group is the same data as the single-genome file.
  AnnData hg = io::read_10x_h5(path, {.genome = "hg19_chr21"});
  AnnData single = io::read_10x_h5(kData + "1.2.0/filtered_gene_bc_matrices_h5.h5");
  EXPECT_EQ(hg.X_sparse(), single.X_sparse());
  EXPECT_EQ(hg.obs, single.obs);
  EXPECT_EQ(hg.var, single.var);
}

TEST(Read10xH5, V3MatchesMtxFolder) {
  AnnData a = io::read_10x_h5(kData + "3.0.0/filtered_feature_bc_matrix.h5");
  ASSERT_NO_THROW(a.validate());
  EXPECT_EQ(a.n_obs(), 1107);
  EXPECT_EQ(a.n_vars(), 507);
  const SparseMatrix& X = a.X_sparse();
  EXPECT_EQ(X.dtype(), DType::Float32);
  EXPECT_EQ(X.nnz(), 23866);
  EXPECT_DOUBLE_EQ(total(X), 41549.0);  // h5py: data.sum()
  EXPECT_EQ(a.var.column_names(), (std::vector<std::string>{"gene_ids", "feature_types", "genome"}));
  EXPECT_EQ(a.var_names()[0], "CH507-9B2.2");
  EXPECT_EQ(strings(a.var, "gene_ids")[0], "ENSG00000279493");
  for (const auto& s : strings(a.var, "feature_types")) EXPECT_EQ(s, "Gene Expression");
  for (const auto& s : strings(a.var, "genome")) EXPECT_EQ(s, "GRCh38_chr21");
  EXPECT_EQ(a.obs_names().front(), "AAACCCAAGGAGAGTA-1");
  EXPECT_EQ(a.obs_names().back(), "TTTGGTTGTAGAATAC-1");
  EXPECT_TRUE(a.obs.columns().empty());
  // The file's order within a cell is kept (Cell Ranger wrote it descending), as Scanpy keeps it.
  EXPECT_EQ(X.indptr[1], 26);
  EXPECT_EQ(X.indices[0], 457);
  EXPECT_FLOAT_EQ(X.data.as<float>()[0], 3.0f);

  const std::string dir = kData + "3.0.0/filtered_feature_bc_matrix/";
  EXPECT_EQ(a.obs_names(), tsv_column(dir + "barcodes.tsv.gz", 0));
  EXPECT_EQ(strings(a.var, "gene_ids"), tsv_column(dir + "features.tsv.gz", 0));
  EXPECT_EQ(a.var_names(), tsv_column(dir + "features.tsv.gz", 1));
  EXPECT_EQ(strings(a.var, "feature_types"), tsv_column(dir + "features.tsv.gz", 2));
  Mtx mtx = read_mtx(dir + "matrix.mtx.gz");
  EXPECT_EQ(mtx.nnz, X.nnz());
  EXPECT_EQ(entries(X), mtx.cell_gene);

  // Every feature is gene expression of GRCh38_chr21: the filters keep all.
  AnnData all = io::read_10x_h5(kData + "3.0.0/filtered_feature_bc_matrix.h5",
                                {.genome = "GRCh38_chr21", .gex_only = false});
  EXPECT_EQ(all.X_sparse(), X);
  EXPECT_EQ(all.var, a.var);
  try {
    io::read_10x_h5(kData + "3.0.0/filtered_feature_bc_matrix.h5", {.genome = "mm10"});
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("Available genomes are: ['GRCh38_chr21']"), std::string::npos) << e.what();
  }
}

TEST(Read10xH5, V3GenomeAndFeatureTypeSelection) {
  const std::string dir = temp_dir("select");
  const std::string path = dir + "/mixed.h5";
  Synthetic s;
  write_v3(path, 5, s.barcodes, Array::from_vector(s.data), Array::from_vector(s.indices),
           Array::from_vector(s.indptr), s.features);

  AnnData all = io::read_10x_h5(path, {.gex_only = false});
  EXPECT_EQ(all.n_obs(), 3);
  EXPECT_EQ(all.n_vars(), 5);
  EXPECT_EQ(all.var.column_names(), (std::vector<std::string>{"gene_ids", "feature_types", "genome", "pattern"}));
  EXPECT_EQ(strings(all.var, "pattern")[4], "5PNNNNNNNNNN(BC)");
  EXPECT_DOUBLE_EQ(total(all.X_sparse()), 22.0);

  // gex_only drops the antibody feature (column 4, which held 5 + 4 counts).
  AnnData gex = io::read_10x_h5(path);
  EXPECT_EQ(gex.var_names(), (std::vector<std::string>{"g0", "g1", "g2", "m0"}));
  EXPECT_DOUBLE_EQ(total(gex.X_sparse()), 13.0);
  EXPECT_EQ(gex.n_obs(), 3);

  // genome selects the human genes; then gex_only has nothing more to drop.
  AnnData hs = io::read_10x_h5(path, {.genome = "GRCh38"});
  EXPECT_EQ(hs.var_names(), (std::vector<std::string>{"g0", "g1", "g2"}));
  EXPECT_EQ(strings(hs.var, "gene_ids"), (std::vector<std::string>{"ENSG0", "ENSG1", "ENSG2"}));
  Array dense = to_dense(hs.X_sparse());
  EXPECT_EQ(dense.to_vector<double>(), (std::vector<double>{1, 0, 2, 0, 0, 0, 0, 7, 0}));
  AnnData mm = io::read_10x_h5(path, {.genome = "mm10"});
  EXPECT_EQ(mm.var_names(), std::vector<std::string>{"m0"});
  EXPECT_EQ(to_dense(mm.X_sparse()).to_vector<double>(), (std::vector<double>{0, 0, 3}));
  try {
    io::read_10x_h5(path, {.genome = "hg19"});
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("['GRCh38', 'mm10', '']"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(Read10xH5, AnyIntegerWidthAndDtypes) {
  const std::string dir = temp_dir("widths");
  Synthetic s;
  // int32 indices, uint32 indptr, int64 counts (kept as int64, as Scanpy does).
  std::vector<int32_t> idx32(s.indices.begin(), s.indices.end());
  std::vector<uint32_t> ptr32(s.indptr.begin(), s.indptr.end());
  std::vector<int64_t> data64(s.data.begin(), s.data.end());
  write_v3(dir + "/w.h5", 5, s.barcodes, Array::from_vector(data64), Array::from_vector(idx32),
           Array::from_vector(ptr32), s.features);
  AnnData a = io::read_10x_h5(dir + "/w.h5", {.gex_only = false});
  EXPECT_EQ(a.X_sparse().dtype(), DType::Int64);
  EXPECT_EQ(a.X_sparse().indptr, s.indptr);
  EXPECT_EQ(a.X_sparse().indices, std::vector<int32_t>(s.indices.begin(), s.indices.end()));
  EXPECT_EQ(a.X_sparse().data.to_vector<int64_t>(), data64);
  fs::remove_all(dir);
}

TEST(Read10xH5, BadFilesGiveInputError) {
  const std::string dir = temp_dir("bad");
  // Missing file.
  EXPECT_THROW(io::read_10x_h5(dir + "/absent.h5"), InputError);

  // Truncated copies of both layouts.
  for (const char* src : {"3.0.0/filtered_feature_bc_matrix.h5", "1.2.0/filtered_gene_bc_matrices_h5.h5"}) {
    const auto size = fs::file_size(kData + src);
    for (double frac : {0.9, 0.5, 0.02}) {
      const std::string dst = dir + "/trunc.h5";
      fs::remove(dst);
      fs::copy_file(kData + src, dst);
      fs::permissions(dst, fs::perms::owner_write | fs::perms::owner_read, fs::perm_options::add);
      fs::resize_file(dst, static_cast<uintmax_t>(static_cast<double>(size) * frac));
      EXPECT_THROW(io::read_10x_h5(dst), InputError) << src << " cut to " << frac;
    }
  }

  // An HDF5 file that is not a Cell Ranger matrix.
  {
    h5::Handle f = h5::create_file(dir + "/other.h5");
    h5::Handle g = h5::create_group(f, "foo");
    h5::write_array(g, "bar", Array::from_vector(std::vector<double>{1, 2, 3}));
    h5::Handle g2 = h5::create_group(f, "baz");
  }
  try {
    io::read_10x_h5(dir + "/other.h5");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not a Cell Ranger"), std::string::npos) << e.what();
  }
  // A text file.
  std::ofstream(dir + "/text.h5") << "not hdf5\n";
  EXPECT_THROW(io::read_10x_h5(dir + "/text.h5"), InputError);

  Synthetic s;
  // /matrix without features/.
  write_v3(dir + "/nofeat.h5", 5, s.barcodes, Array::from_vector(s.data), Array::from_vector(s.indices),
           Array::from_vector(s.indptr), s.features, false);
  try {
    io::read_10x_h5(dir + "/nofeat.h5");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.element(), "/matrix/features");
  }
  // indptr not monotonic.
  {
    auto ptr = s.indptr;
    ptr[1] = 5;
    write_v3(dir + "/ptr.h5", 5, s.barcodes, Array::from_vector(s.data), Array::from_vector(s.indices),
             Array::from_vector(ptr), s.features);
    try {
      io::read_10x_h5(dir + "/ptr.h5");
      FAIL() << "expected InputError";
    } catch (const InputError& e) {
      EXPECT_EQ(e.file(), dir + "/ptr.h5");
      EXPECT_EQ(e.element(), "/matrix/indptr");
    }
  }
  // A gene index past the number of features (5), and a negative one.
  for (int64_t bad : {int64_t{5}, int64_t{-1}, int64_t{1} << 40}) {
    auto idx = s.indices;
    idx[4] = bad;
    write_v3(dir + "/idx.h5", 5, s.barcodes, Array::from_vector(s.data), Array::from_vector(idx),
             Array::from_vector(s.indptr), s.features);
    try {
      io::read_10x_h5(dir + "/idx.h5");
      FAIL() << "expected InputError";
    } catch (const InputError& e) {
      EXPECT_EQ(e.element(), "/matrix/indices");
      EXPECT_NE(std::string(e.what()).find("position 4"), std::string::npos) << e.what();
    }
    fs::remove(dir + "/idx.h5");
  }
  // indptr of the wrong length, data and indices of different lengths, too few barcodes.
  {
    auto ptr = s.indptr;
    ptr.pop_back();
    write_v3(dir + "/len.h5", 5, s.barcodes, Array::from_vector(s.data), Array::from_vector(s.indices),
             Array::from_vector(ptr), s.features);
    EXPECT_THROW(io::read_10x_h5(dir + "/len.h5"), InputError);
    fs::remove(dir + "/len.h5");
    auto data = s.data;
    data.pop_back();
    write_v3(dir + "/len.h5", 5, s.barcodes, Array::from_vector(data), Array::from_vector(s.indices),
             Array::from_vector(s.indptr), s.features);
    EXPECT_THROW(io::read_10x_h5(dir + "/len.h5"), InputError);
    fs::remove(dir + "/len.h5");
    auto feats = s.features;
    feats["name"].pop_back();
    write_v3(dir + "/len.h5", 5, s.barcodes, Array::from_vector(s.data), Array::from_vector(s.indices),
             Array::from_vector(s.indptr), feats);
    try {
      io::read_10x_h5(dir + "/len.h5");
      FAIL() << "expected InputError";
    } catch (const InputError& e) {
      EXPECT_EQ(e.element(), "/matrix/features/name");
    }
  }
  fs::remove_all(dir);
}

// Garbage written over 64 bytes at 40 places in each file: the reader either
// reads data or reports an InputError, and never crashes or throws anything else.
TEST(Read10xH5, CorruptedBytesNeverCrash) {
  const std::string dir = temp_dir("garbage");
  for (const char* src : {"3.0.0/filtered_feature_bc_matrix.h5", "1.2.0/filtered_gene_bc_matrices_h5.h5"}) {
    std::ifstream in(kData + src, std::ios::binary);
    const std::string orig((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    int detected = 0;
    for (size_t off = 0; off < orig.size(); off += orig.size() / 40) {
      std::string bytes = orig;
      for (size_t k = off; k < std::min(bytes.size(), off + 64); ++k) bytes[k] = static_cast<char>(0xA5 ^ k);
      const std::string dst = dir + "/garbage.h5";
      std::ofstream(dst, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      try {
        AnnData a = io::read_10x_h5(dst);
        EXPECT_NO_THROW(a.validate()) << src << " offset " << off;
      } catch (const InputError&) {
        ++detected;
      } catch (const std::exception& e) {
        ADD_FAILURE() << src << " offset " << off << ": " << e.what();
      }
    }
    EXPECT_GT(detected, 0) << src;
  }
  fs::remove_all(dir);
}
