// The command line as a user meets it: summaries, conversions, and one clear
// line with exit code 2 for every kind of bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <vector>
#include <fstream>

#include "scanpp/io/h5ad.hpp"
#include "scanpp/io/hdf5.hpp"
#include "test_paths.hpp"

using scanpp::testing::file_bytes;
using scanpp::testing::run_command;
using scanpp::testing::shared;
using scanpp::testing::TempDir;

namespace {
const std::string kCli = SCANPP_CLI;
const std::string kPbmc = shared("data/pbmc3k/filtered_gene_bc_matrices/hg19");

// Runs the CLI, expects exit 2 and exactly one line mentioning `needle`.
void expect_user_error(const std::string& args, const std::string& needle) {
  std::string out;
  EXPECT_EQ(run_command(kCli + " " + args, &out), 2) << args << "\n" << out;
  EXPECT_NE(out.find(needle), std::string::npos) << "'" << needle << "' not in: " << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_EQ(out.find("Segmentation"), std::string::npos);
}

// A copy of a small 10x folder with one file replaced.
std::string broken_10x(const TempDir& tmp, const std::string& name, const std::string& file, const std::string& text) {
  const std::string dir = tmp.file(name);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/genes.tsv") << "G1\tA\nG2\tB\nG3\tC\n";
  std::ofstream(dir + "/barcodes.tsv") << "AAA-1\nCCC-1\n";
  std::ofstream(dir + "/matrix.mtx") << "%%MatrixMarket matrix coordinate integer general\n3 2 3\n1 1 5\n2 2 1\n3 1 2\n";
  std::ofstream(dir + "/" + file) << text;
  return dir;
}
}  // namespace

TEST(Cli, VersionAndInfo) {
  std::string out;
  ASSERT_EQ(run_command(kCli + " --version", &out), 0);
  EXPECT_NE(out.find("scanpp 0."), std::string::npos) << out;
  ASSERT_EQ(run_command(kCli + " info " + kPbmc, &out), 0) << out;
  EXPECT_NE(out.find("n_obs × n_vars = 2700 × 32738"), std::string::npos) << out;
  EXPECT_NE(out.find("2286884 stored values"), std::string::npos) << out;
  EXPECT_NE(out.find("'gene_ids'"), std::string::npos) << out;
}

// The launcher sets the runtime settings (apps/runtime_env.hpp) before the
// program's libraries load; the program run directly restarts itself with
// the same ones; a user's own values are kept.
TEST(Cli, RuntimeSettings) {
  const std::string clean = "env -u OMP_WAIT_POLICY -u OPENBLAS_THREAD_TIMEOUT -u OPENBLAS_CORETYPE ";
  const std::string program = std::filesystem::path(kCli).parent_path().string() + "/libexec/scanpp";
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  for (const std::string& exe : {kCli, program}) {
    std::string out;
    ASSERT_EQ(run_command(clean + exe + " --version", &out), 0) << out;
    EXPECT_NE(out.find("OMP_WAIT_POLICY: passive"), std::string::npos) << exe << ": " << out;
    EXPECT_NE(out.find("OPENBLAS_THREAD_TIMEOUT: 4"), std::string::npos) << exe << ": " << out;
    if (avx512) {
      EXPECT_NE(out.find("OpenBLAS kernels: SkylakeX"), std::string::npos) << exe << ": " << out;
    }
    // Through the launcher the libraries load once: no restart.
    EXPECT_EQ(out.find("restarted itself") != std::string::npos, exe == program) << exe << ": " << out;
    ASSERT_EQ(run_command(clean + "OMP_WAIT_POLICY=active OPENBLAS_THREAD_TIMEOUT=8 OPENBLAS_CORETYPE=Sandybridge " +
                              exe + " --version",
                          &out),
              0)
        << out;
    EXPECT_NE(out.find("OpenBLAS kernels: Sandybridge; OMP_WAIT_POLICY: active; OPENBLAS_THREAD_TIMEOUT: 8"),
              std::string::npos)
        << exe << ": " << out;
  }
}

// The launcher without its program beside it ends with one clear line.
TEST(Cli, LauncherWithoutProgram) {
  TempDir tmp;
  std::filesystem::copy_file(kCli, tmp.file("scanpp"));
  std::string out;
  EXPECT_EQ(run_command(tmp.file("scanpp") + " --version", &out), 2) << out;
  // The launcher names its folder as /proc/self/exe does: without links.
  const std::string folder = std::filesystem::canonical(tmp.path()).string();
  EXPECT_NE(out.find("scanpp: error: cannot start " + folder + "/libexec/scanpp: No such file"),
            std::string::npos)
      << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
}

TEST(Cli, ConvertPbmc3kMatchesAnndata) {
  TempDir tmp;
  std::string out;
  ASSERT_EQ(run_command(kCli + " --threads 2 convert " + kPbmc + " " + tmp.file("p.h5ad"), &out), 0) << out;
  ASSERT_EQ(run_command("/usr/bin/python3 " + std::string(SCANPP_SOURCE_DIR) + "/tests/interop/compare_10x.py " +
                            kPbmc + " " + tmp.file("p.h5ad"),
                        &out),
            0)
      << out;
  // And back through loom.
  ASSERT_EQ(run_command(kCli + " convert " + tmp.file("p.h5ad") + " " + tmp.file("p.loom"), &out), 0) << out;
  ASSERT_EQ(run_command(kCli + " info " + tmp.file("p.loom"), &out), 0) << out;
  EXPECT_NE(out.find("2700 × 32738"), std::string::npos) << out;
}

TEST(Cli, BadInputIsOneLineAndExitCode2) {
  TempDir tmp;
  expect_user_error("info " + tmp.file("nope.h5ad"), "nope.h5ad");
  expect_user_error("info " + broken_10x(tmp, "trunc", "matrix.mtx",
                                         "%%MatrixMarket matrix coordinate integer general\n3 2 3\n1 1 5\n"),
                    "matrix.mtx");
  expect_user_error("info " + broken_10x(tmp, "genes", "genes.tsv", "G1\tA\nG2\tB\n"), "genes.tsv");
  expect_user_error("info " + broken_10x(tmp, "barcodes", "barcodes.tsv", "AAA-1\n"), "barcodes.tsv");
  expect_user_error("info " + broken_10x(tmp, "range", "matrix.mtx",
                                         "%%MatrixMarket matrix coordinate integer general\n3 2 3\n1 1 5\n2 7 1\n3 1 2\n"),
                    "out of range");
  // An h5ad whose X/indptr is not monotonic.
  {
    scanpp::SparseMatrix x{scanpp::SparseFormat::CSR, 2, 2, scanpp::Array::from_vector(std::vector<float>{1, 2}),
                           {0, 1}, {0, 1, 2}};
    scanpp::AnnData ad{scanpp::Element(x)};
    scanpp::io::write_h5ad(ad, tmp.file("bad.h5ad"));
    scanpp::h5::Handle f = scanpp::h5::open_file(tmp.file("bad.h5ad"), true);
    scanpp::h5::Handle d(H5Dopen2(f, "X/indptr", H5P_DEFAULT));
    const int32_t bad[3] = {0, 2, 1};
    H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, bad);
  }
  expect_user_error("info " + tmp.file("bad.h5ad"), "/X/indptr");
  // An HDF5 file that is neither an h5ad nor a Cell Ranger matrix.
  {
    scanpp::h5::Handle f = scanpp::h5::create_file(tmp.file("other.h5"));
    scanpp::h5::write_array(f, "numbers", scanpp::Array::from_vector(std::vector<int32_t>{1, 2, 3}));
  }
  expect_user_error("info " + tmp.file("other.h5"), "other.h5");
  // A truncated h5ad.
  {
    const std::string bytes = file_bytes(shared("data/pbmc68k_reduced/pbmc68k_reduced.h5ad"));
    std::ofstream(tmp.file("trunc.h5ad"), std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  }
  expect_user_error("info " + tmp.file("trunc.h5ad"), "trunc.h5ad");
  expect_user_error("info " + tmp.file("x.unknown"), "x.unknown");
  expect_user_error("convert " + kPbmc + " " + tmp.file("out.txt"), "out.txt");
  expect_user_error("pp filter_cells " + kPbmc + " " + tmp.file("o.h5ad") + " min_genes=200 max_genes=300",
                    "exactly one");
  expect_user_error("pp no_such_function " + kPbmc + " " + tmp.file("o.h5ad"), "unknown step 'pp.no_such_function'");
  // Nothing was written by the failed commands.
  EXPECT_FALSE(std::filesystem::exists(tmp.file("o.h5ad")));
  EXPECT_FALSE(std::filesystem::exists(tmp.file("out.txt")));
}

TEST(Cli, PpSubcommandAndSyntheticData) {
  TempDir tmp;
  std::string out;
  ASSERT_EQ(run_command(kCli + " datasets synthetic --cells 500 --genes 3000 --clusters 3 -o " + tmp.file("s.h5ad"), &out), 0)
      << out;
  ASSERT_EQ(run_command(kCli + " pp filter_cells " + tmp.file("s.h5ad") + " " + tmp.file("f.h5ad") + " min_genes=50", &out), 0)
      << out;
  scanpp::AnnData ad = scanpp::io::read_h5ad(tmp.file("f.h5ad"));
  EXPECT_TRUE(ad.obs.has("n_genes"));
  for (double n : ad.obs.numeric("n_genes")) EXPECT_GE(n, 50);
  // --mean-umis sets the median library size.
  ASSERT_EQ(run_command(kCli + " datasets synthetic --cells 400 --genes 3000 --mean-umis 800 -o " + tmp.file("u.h5ad"), &out),
            0)
      << out;
  const scanpp::AnnData u = scanpp::io::read_h5ad(tmp.file("u.h5ad"));
  std::vector<double> totals;
  for (int64_t i = 0; i < u.X_sparse().n_rows; ++i) {
    double t = 0;
    for (int64_t k = u.X_sparse().indptr[i]; k < u.X_sparse().indptr[i + 1]; ++k) t += u.X_sparse().data.get_double(k);
    totals.push_back(t);
  }
  std::nth_element(totals.begin(), totals.begin() + 200, totals.end());
  EXPECT_GT(totals[200], 600);
  EXPECT_LT(totals[200], 1000);
}

// `--backed` streams X from disk and must write what the in-memory run writes;
// steps that need X in memory refuse it in one line.
TEST(Cli, PpSubcommandBackedEqualsInMemory) {
  TempDir tmp;
  std::string out;
  ASSERT_EQ(run_command(kCli + " datasets synthetic --cells 400 --genes 2000 --clusters 3 -o " + tmp.file("s.h5ad"), &out), 0)
      << out;
  for (const char* mode : {"", " --backed"}) {
    const std::string dst = tmp.file(std::string("n") + (*mode ? "b" : "m") + ".h5ad");
    ASSERT_EQ(run_command(kCli + " pp normalize_total" + mode + " " + tmp.file("s.h5ad") + " " + dst + " target_sum=10000",
                          &out),
              0)
        << out;
  }
  const scanpp::AnnData mem = scanpp::io::read_h5ad(tmp.file("nm.h5ad"));
  const scanpp::AnnData backed = scanpp::io::read_h5ad(tmp.file("nb.h5ad"));
  ASSERT_TRUE(mem.x_is_sparse() && backed.x_is_sparse());
  const auto& a = mem.X_sparse();
  const auto& b = backed.X_sparse();
  ASSERT_EQ(a.data.size(), b.data.size());
  ASSERT_GT(a.data.size(), 0);
  for (int64_t i = 0; i < a.data.size(); ++i) ASSERT_EQ(a.data.get_double(i), b.data.get_double(i)) << i;
  EXPECT_EQ(a.indices, b.indices);
  double row0 = 0;  // normalised to the target
  for (int64_t k = b.indptr[0]; k < b.indptr[1]; ++k) row0 += b.data.get_double(k);
  EXPECT_NEAR(row0, 10000.0, 1e-2);
  expect_user_error("pp scale --backed " + tmp.file("s.h5ad") + " " + tmp.file("x.h5ad"), "needs X in memory");
  EXPECT_FALSE(std::filesystem::exists(tmp.file("x.h5ad")));
}

TEST(Cli, SimulatedDatasets) {
  TempDir tmp;
  std::string out;
  const std::string models = " --models-dir " + shared("data/sim_models");
  ASSERT_EQ(run_command(kCli + " datasets krumsiek11 -o " + tmp.file("k.h5ad") + models, &out), 0) << out;
  EXPECT_NE(out.find("640 × 11"), std::string::npos) << out;
  ASSERT_EQ(run_command(kCli + " datasets toggleswitch -o " + tmp.file("t.h5ad") + models, &out), 0) << out;
  scanpp::AnnData t = scanpp::io::read_h5ad(tmp.file("t.h5ad"));
  EXPECT_EQ(t.n_vars(), 2);
  EXPECT_TRUE(t.obs.has("time"));
  expect_user_error("datasets krumsiek11 -o " + tmp.file("x.h5ad") + " --models-dir " + tmp.file("none"), "none");
}

// `run` starts tl.tsne ahead of its turn (beside neighbors and UMAP here)
// and writes the same file as `run --in-order`, byte for byte.
TEST(Cli, RunAheadWritesWhatInOrderWrites) {
  TempDir tmp;
  const std::string yaml = tmp.file("p.yaml");
  std::ofstream(yaml) << "- datasets.synthetic: {n_cells: 600, n_genes: 800, n_clusters: 3, seed: 2}\n"
                         "- pp.normalize_total: {}\n"
                         "- pp.log1p: {}\n"
                         "- pp.pca: {n_comps: 15}\n"
                         "- pp.neighbors: {n_pcs: 15}\n"
                         "- tl.umap: {}\n"
                         "- tl.tsne: {n_pcs: 15, perplexity: 15}\n";
  std::string ahead, in_order;
  ASSERT_EQ(run_command(kCli + " --threads 2 run " + yaml + " -o " + tmp.file("a.h5ad"), &ahead), 0) << ahead;
  ASSERT_EQ(run_command(kCli + " --threads 2 run --in-order " + yaml + " -o " + tmp.file("b.h5ad"), &in_order), 0)
      << in_order;
  EXPECT_NE(ahead.find("tl.tsne (ran ahead)"), std::string::npos) << ahead;
  EXPECT_EQ(in_order.find("ran ahead"), std::string::npos) << in_order;
  const std::string a = file_bytes(tmp.file("a.h5ad")), b = file_bytes(tmp.file("b.h5ad"));
  EXPECT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "the two runs wrote different files";
}
