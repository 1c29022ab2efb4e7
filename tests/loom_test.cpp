// Loom read/write: round trips through scanpp, the on-disk layout loompy
// writes, and interop both ways with Debian's anndata 0.8 + loompy 3.0
// (tests/interop/loom_roundtrip.py).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "scanpp/io/hdf5.hpp"
#include "scanpp/io/loom.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace scanpp;

namespace {

const std::string kHelper = std::string(SCANPP_SOURCE_DIR) + "/tests/interop/loom_roundtrip.py";

std::string temp_dir(const std::string& tag) {
  fs::path p = fs::temp_directory_path() / ("scanpp_loom_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

int run(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

bool python_has_loompy() {
  static const bool ok = run("/usr/bin/python3 " + kHelper + " modules >/dev/null 2>&1") == 0;
  return ok;
}

// Five cells x four genes with every column kind a DataFrame holds.
AnnData sample() {
  AnnData a;
  a.X = dense_to_csr(Array::from_vector(
      std::vector<float>{0, 1, 2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1.5f, 0, 0, 4, 0, 2, 0, 7}, {5, 4}));
  a.obs = DataFrame({"c0", "c1", "c2", "c3", "c4"});
  a.obs.set_array<int32_t>("n_genes", {2, 1, 0, 2, 2});
  a.obs.set_array<float>("frac", {0.5f, 0.25f, 0.f, 1.f, 0.125f});
  a.obs.set("doublet", Array::from_vector(std::vector<Bool8>{true, false, false, true, false}));
  a.obs.set("label", std::vector<std::string>{"T cell", "B cell", "", "NK", "T cell"});
  a.obs.set("batch", Categorical::from_strings({"b2", "b1", "b2", "b1", "b1"}));
  a.obs.set("opt", Nullable{Array::from_vector(std::vector<int32_t>{1, 2, 3, 4, 5}), {0, 0, 1, 0, 0}});
  a.var = DataFrame({"G1", "G2", "G3", "G4"});
  a.var.set("gene_ids", std::vector<std::string>{"E1", "E2", "E3", "E4"});
  a.var.set_array<double>("mean", {0.9, 0.6, 0.4, 2.2});
  a.var.set("hv", Array::from_vector(std::vector<Bool8>{true, false, true, true}));
  a.layers["counts"] = Array::from_vector(
      std::vector<int32_t>{0, 2, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 8, 0, 4, 0, 14}, {5, 4});
  a.obsm["X_pca"] = Array::from_vector(std::vector<double>{0.1, -1, 2.5, 3, -4, 5, 6, -7.25, 8, 9}, {5, 2});
  a.varm["PCs"] =
      Array::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.5f}, {4, 3});
  return a;
}

// A larger matrix (more than one 64 x 64 chunk each way) of deterministic counts.
AnnData larger(int64_t n_obs, int64_t n_vars) {
  std::vector<float> v(static_cast<size_t>(n_obs * n_vars));
  uint64_t s = 12345;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    const uint64_t r = s >> 33;
    x = r % 5 == 0 ? static_cast<float>(r % 17) : 0.f;
  }
  AnnData a;
  a.X = dense_to_csr(Array::from_vector(v, {n_obs, n_vars}));
  std::vector<std::string> cells, genes;
  for (int64_t i = 0; i < n_obs; ++i) cells.push_back("cell" + std::to_string(i));
  for (int64_t j = 0; j < n_vars; ++j) genes.push_back("gene" + std::to_string(j));
  a.obs = DataFrame(cells);
  a.var = DataFrame(genes);
  return a;
}

std::vector<double> values(const Element& m) {
  const Array d = m.is<SparseMatrix>() ? to_dense(m.get<SparseMatrix>()) : m.get<Array>();
  return d.to_vector<double>();
}

const std::vector<std::string>& strings(const DataFrame& df, const std::string& col) {
  return std::get<std::vector<std::string>>(df.at(col));
}
const Array& array(const DataFrame& df, const std::string& col) { return std::get<Array>(df.at(col)); }

// ---- comparison with what anndata.read_loom sees (JSON from the helper)

json load_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

void expect_numbers(const std::vector<double>& got, const json& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (want[i].is_null()) EXPECT_TRUE(std::isnan(got[i])) << what << "[" << i << "]";
    else EXPECT_DOUBLE_EQ(got[i], want[i].get<double>()) << what << "[" << i << "]";
  }
}

void expect_matrix(const Element& m, const json& j, const std::string& what) {
  EXPECT_EQ(m.is<SparseMatrix>(), j["kind"] == "csr") << what;
  const DType dt = m.is<SparseMatrix>() ? m.get<SparseMatrix>().dtype() : m.get<Array>().dtype();
  EXPECT_EQ(dtype_name(dt), j["dtype"].get<std::string>()) << what;
  EXPECT_EQ(matrix_rows(m), j["shape"][0].get<int64_t>()) << what;
  EXPECT_EQ(matrix_cols(m), j["shape"][1].get<int64_t>()) << what;
  expect_numbers(values(m), j["data"], what);
}

void expect_frame(const DataFrame& df, const json& j, const std::string& what) {
  EXPECT_EQ(df.index(), j["index"].get<std::vector<std::string>>()) << what;
  EXPECT_EQ(df.index_name(), j["index_name"].is_null() ? "" : j["index_name"].get<std::string>()) << what;
  EXPECT_EQ(df.column_names(), j["order"].get<std::vector<std::string>>()) << what;
  for (const auto& [name, col] : j["columns"].items()) {
    ASSERT_TRUE(df.has(name)) << what << " lacks " << name;
    if (col["dtype"] == "object") {
      ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(df.at(name))) << what << "." << name;
      EXPECT_EQ(strings(df, name), col["values"].get<std::vector<std::string>>()) << what << "." << name;
    } else {
      ASSERT_TRUE(std::holds_alternative<Array>(df.at(name))) << what << "." << name;
      EXPECT_EQ(dtype_name(array(df, name).dtype()), col["dtype"].get<std::string>()) << what << "." << name;
      expect_numbers(array(df, name).to_vector<double>(), col["values"], what + "." + name);
    }
  }
}

void expect_mapping(const Dict& m, const json& j, const std::string& what) {
  EXPECT_EQ(m.size(), j.size()) << what;
  for (const auto& [key, v] : j.items()) {
    ASSERT_TRUE(m.count(key)) << what << " lacks " << key;
    const Element& e = m.at(key);
    if (v["dtype"] == "object") {
      ASSERT_TRUE(e.is<StringArray>()) << what << "." << key;
      EXPECT_EQ(e.get<StringArray>().values, v["data"].get<std::vector<std::string>>());
    } else {
      ASSERT_TRUE(e.is<Array>()) << what << "." << key;
      EXPECT_EQ(dtype_name(e.get<Array>().dtype()), v["dtype"].get<std::string>()) << what << "." << key;
      EXPECT_EQ(e.get<Array>().shape(), v["shape"].get<std::vector<int64_t>>()) << what << "." << key;
      expect_numbers(e.get<Array>().to_vector<double>(), v["data"], what + "." + key);
    }
  }
}

struct ReadCase {
  std::string file;
  io::ReadLoomOptions opt;
};

std::string spec(const ReadCase& c) {
  return c.file + ":" + c.opt.obs_names + ":" + c.opt.var_names + ":" + (c.opt.sparse ? "1" : "0");
}

// What anndata.read_loom sees in each file, from one run of the helper
// (after `pre`, e.g. "write DIR"); importing loompy takes seconds.
json anndata_views(const std::vector<ReadCase>& cases, const std::string& out, const std::string& pre = "") {
  std::string cmd = "/usr/bin/python3 " + kHelper + " " + pre + " dump " + out;
  for (const auto& c : cases) cmd += " " + spec(c);
  if (run(cmd) != 0) return json();
  return load_json(out);
}

// Checks scanpp's reading of a file against anndata.read_loom's view `j`.
void expect_same_as_anndata(const ReadCase& c, const json& j) {
  const std::string what = spec(c);
  AnnData a = io::read_loom(c.file, c.opt);
  EXPECT_EQ(a.n_obs(), j["shape"][0].get<int64_t>()) << what;
  EXPECT_EQ(a.n_vars(), j["shape"][1].get<int64_t>()) << what;
  expect_matrix(*a.X, j["X"], what + " X");
  EXPECT_EQ(a.layers.size(), j["layers"].size()) << what;
  for (const auto& [name, lj] : j["layers"].items()) {
    ASSERT_TRUE(a.layers.count(name)) << what << " lacks layer " << name;
    expect_matrix(a.layers.at(name), lj, what + " layers['" + name + "']");
  }
  expect_frame(a.obs, j["obs"], what + " obs");
  expect_frame(a.var, j["var"], what + " var");
  expect_mapping(a.obsm, j["obsm"], what + " obsm");
  expect_mapping(a.varm, j["varm"], what + " varm");
}

}  // namespace

TEST(Loom, RoundTripKeepsValues) {
  const std::string dir = temp_dir("roundtrip");
  const AnnData a = sample();
  io::write_loom(a, dir + "/s.loom", /*write_obsm_varm=*/true);
  AnnData b = io::read_loom(dir + "/s.loom", {.obs_names = "obs_names", .var_names = "var_names"});
  ASSERT_NO_THROW(b.validate());

  ASSERT_TRUE(b.x_is_sparse());
  EXPECT_EQ(b.X_sparse().dtype(), DType::Float32);
  EXPECT_EQ(b.X_sparse(), a.X_sparse());
  ASSERT_EQ(b.layers.size(), 1u);
  EXPECT_EQ(b.layers["counts"].get<SparseMatrix>().dtype(), DType::Int32);  // layers keep their dtype
  EXPECT_EQ(values(b.layers["counts"]), values(a.layers.at("counts")));

  EXPECT_EQ(b.obs_names(), a.obs_names());
  EXPECT_EQ(b.obs.index_name(), "obs_names");
  EXPECT_EQ(b.var_names(), a.var_names());
  EXPECT_EQ(b.var.index_name(), "var_names");
  // HDF5 name order, as loompy lists attributes.
  EXPECT_EQ(b.obs.column_names(), (std::vector<std::string>{"batch", "doublet", "frac", "label", "n_genes", "opt"}));
  EXPECT_EQ(b.var.column_names(), (std::vector<std::string>{"gene_ids", "hv", "mean"}));
  // Stored as pandas hands the columns to loompy: int64, float64, uint8, strings.
  EXPECT_EQ(array(b.obs, "n_genes").dtype(), DType::Int64);
  EXPECT_EQ(array(b.obs, "n_genes").to_vector<int64_t>(), (std::vector<int64_t>{2, 1, 0, 2, 2}));
  EXPECT_EQ(array(b.obs, "frac").dtype(), DType::Float64);
  EXPECT_EQ(array(b.obs, "frac").to_vector<double>(), (std::vector<double>{0.5, 0.25, 0, 1, 0.125}));
  EXPECT_EQ(array(b.obs, "doublet").dtype(), DType::UInt8);
  EXPECT_EQ(array(b.obs, "doublet").to_vector<int>(), (std::vector<int>{1, 0, 0, 1, 0}));
  EXPECT_EQ(strings(b.obs, "label"), strings(a.obs, "label"));
  EXPECT_EQ(strings(b.obs, "batch"), (std::vector<std::string>{"b2", "b1", "b2", "b1", "b1"}));
  EXPECT_EQ(strings(b.obs, "opt"), (std::vector<std::string>{"1", "2", "<NA>", "4", "5"}));
  EXPECT_EQ(strings(b.var, "gene_ids"), strings(a.var, "gene_ids"));
  EXPECT_EQ(array(b.var, "mean").to_vector<double>(), (std::vector<double>{0.9, 0.6, 0.4, 2.2}));
  EXPECT_EQ(array(b.var, "hv").to_vector<int>(), (std::vector<int>{1, 0, 1, 1}));
  EXPECT_EQ(b.obsm["X_pca"], a.obsm.at("X_pca"));
  EXPECT_EQ(b.varm["PCs"], a.varm.at("PCs"));

  // Dense read: X float32 cells x genes, layers dense in their dtype.
  AnnData d = io::read_loom(dir + "/s.loom", {.sparse = false, .obs_names = "obs_names", .var_names = "var_names"});
  ASSERT_TRUE(d.X->is<Array>());
  EXPECT_EQ(d.X_dense().dtype(), DType::Float32);
  EXPECT_EQ(d.X_dense().shape(), (std::vector<int64_t>{5, 4}));
  EXPECT_EQ(d.X_dense(), to_dense(a.X_sparse()));
  EXPECT_EQ(d.layers["counts"].get<Array>(), a.layers.at("counts").get<Array>());

  // Without write_obsm_varm, no multi-column attributes; default names give '0', '1', ...
  io::write_loom(a, dir + "/plain.loom");
  AnnData p = io::read_loom(dir + "/plain.loom");
  EXPECT_TRUE(p.obsm.empty());
  EXPECT_TRUE(p.varm.empty());
  EXPECT_EQ(p.obs_names(), (std::vector<std::string>{"0", "1", "2", "3", "4"}));
  EXPECT_EQ(p.obs.index_name(), "");
  EXPECT_EQ(strings(p.obs, "obs_names"), a.obs_names());
  fs::remove_all(dir);
}

TEST(Loom, FileLayoutFollowsLoompy) {
  const std::string dir = temp_dir("layout");
  AnnData a = larger(90, 70);
  a.obs.set_index_name("CellID");
  a.var.set_index_name("Gene");
  io::write_loom(a, dir + "/l.loom");

  h5::Handle f = h5::open_file(dir + "/l.loom");
  for (const char* g : {"attrs", "layers", "row_attrs", "col_attrs", "row_graphs", "col_graphs"})
    EXPECT_TRUE(h5::is_group(f, g)) << g;
  const h5::Loc loc{dir + "/l.loom", "/attrs/LOOM_SPEC_VERSION"};
  h5::Handle v = h5::open_dataset(f, "attrs/LOOM_SPEC_VERSION", loc);
  EXPECT_EQ(h5::read_strings(v, loc), std::vector<std::string>{"3.0.0"});
  h5::Handle m = h5::open_dataset(f, "matrix", {dir + "/l.loom", "/matrix"});
  EXPECT_EQ(h5::dataset_shape(m), (std::vector<int64_t>{70, 90}));  // genes x cells
  h5::Handle dcpl(H5Dget_create_plist(m));
  hsize_t chunk[2] = {0, 0};
  ASSERT_EQ(H5Pget_chunk(dcpl, 2, chunk), 2);
  EXPECT_EQ(chunk[0], 64u);
  EXPECT_EQ(chunk[1], 64u);
  unsigned flags = 0, cd[4] = {0, 0, 0, 0};
  size_t ncd = 4;
  ASSERT_EQ(H5Pget_nfilters(dcpl), 1);
  EXPECT_EQ(H5Pget_filter2(dcpl, 0, &flags, &ncd, cd, 0, nullptr, nullptr), H5Z_FILTER_DEFLATE);
  EXPECT_EQ(cd[0], 2u);
  // The index is stored under its name; strings are variable-length UTF-8.
  h5::Handle cid = h5::open_dataset(f, "col_attrs/CellID", {dir + "/l.loom", "/col_attrs/CellID"});
  h5::Handle t(H5Dget_type(cid));
  EXPECT_GT(H5Tis_variable_str(t), 0);
  EXPECT_EQ(H5Tget_cset(t), H5T_CSET_UTF8);
  EXPECT_TRUE(h5::exists(f, "row_attrs/Gene"));
  // The stored matrix is X transposed.
  Array stored = h5::read_array(m, {dir + "/l.loom", "/matrix"});
  const Array x = to_dense(a.X_sparse());
  const auto s = stored.as<float>();
  const auto xv = x.as<float>();
  for (int64_t c = 0; c < 90; ++c)
    for (int64_t g = 0; g < 70; ++g) ASSERT_EQ(s[g * 90 + c], xv[c * 70 + g]) << c << "," << g;
  f.reset();

  // Default obs_names/var_names ("CellID", "Gene") now find the index.
  AnnData b = io::read_loom(dir + "/l.loom");
  EXPECT_EQ(b.obs_names(), a.obs_names());
  EXPECT_EQ(b.var_names(), a.var_names());
  EXPECT_EQ(b.X_sparse(), a.X_sparse());
  fs::remove_all(dir);
}

TEST(Loom, SplicedLayerBecomesX) {
  const std::string dir = temp_dir("spliced");
  AnnData a = sample();
  std::vector<uint16_t> sp = {1, 0, 0, 2, 0, 3, 0, 0, 5, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 1};
  a.layers["spliced"] = Array::from_vector(sp, {5, 4});
  io::write_loom(a, dir + "/v.loom");
  AnnData b = io::read_loom(dir + "/v.loom");
  EXPECT_EQ(b.X_sparse().dtype(), DType::Float32);
  EXPECT_EQ(values(*b.X), Array::from_vector(sp, {5, 4}).to_vector<double>());
  ASSERT_EQ(b.layers.size(), 3u);  // matrix, counts and spliced itself, as anndata
  EXPECT_EQ(values(b.layers["matrix"]), values(*a.X));
  EXPECT_EQ(b.layers["spliced"].get<SparseMatrix>().dtype(), DType::UInt16);
  // X_name naming no layer falls back to the main matrix.
  AnnData c = io::read_loom(dir + "/v.loom", {.X_name = "absent"});
  EXPECT_EQ(values(*c.X), values(*a.X));
  EXPECT_EQ(c.layers.size(), 2u);
  fs::remove_all(dir);
}

TEST(Loom, CleanupMovesConstantColumnsToUns) {
  const std::string dir = temp_dir("cleanup");
  AnnData a = sample();
  a.obs.set("sample", std::vector<std::string>(5, "s1"));
  a.obs.set_array<int64_t>("lane", {3, 3, 3, 3, 3});
  io::write_loom(a, dir + "/c.loom");
  AnnData b = io::read_loom(dir + "/c.loom", {.obs_names = "obs_names", .var_names = "var_names", .cleanup = true});
  EXPECT_FALSE(b.obs.has("sample"));
  EXPECT_FALSE(b.obs.has("lane"));
  EXPECT_TRUE(b.obs.has("label"));
  const Dict& lo = b.uns.at("loom-obs").get<Dict>();
  EXPECT_EQ(lo.at("sample").get<std::string>(), "s1");
  EXPECT_EQ(lo.at("lane").get<Array>().scalar_value<int64_t>(), 3);
  EXPECT_EQ(b.uns.count("loom-var"), 0u);
  fs::remove_all(dir);
}

TEST(Loom, FailedWriteKeepsTheOldFile) {
  const std::string dir = temp_dir("atomic");
  AnnData a = sample();
  io::write_loom(a, dir + "/a.loom");
  AnnData bad = sample();
  bad.X_sparse().data.as<float>()[0] = std::nanf("");
  EXPECT_THROW(io::write_loom(bad, dir + "/a.loom"), ValueError);
  AnnData noX = sample();
  noX.X.reset();
  EXPECT_THROW(io::write_loom(noX, dir + "/a.loom"), ValueError);
  AnnData boolX = sample();
  boolX.layers["flag"] = Array(DType::Bool, {5, 4});
  EXPECT_THROW(io::write_loom(boolX, dir + "/a.loom"), ValueError);
  // Still the first file, and no temporary files left behind.
  AnnData b = io::read_loom(dir + "/a.loom");
  EXPECT_EQ(b.X_sparse(), a.X_sparse());
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  fs::remove_all(dir);
}

TEST(Loom, BadFilesGiveInputError) {
  const std::string dir = temp_dir("bad");
  EXPECT_THROW(io::read_loom(dir + "/absent.loom"), InputError);
  std::ofstream(dir + "/text.loom") << "not hdf5";
  EXPECT_THROW(io::read_loom(dir + "/text.loom"), InputError);
  {
    h5::Handle f = h5::create_file(dir + "/nomatrix.loom");
    h5::create_group(f, "row_attrs");
  }
  try {
    io::read_loom(dir + "/nomatrix.loom");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.element(), "/matrix");
  }
  // An attribute of the wrong length, and a layer of the wrong shape.
  io::write_loom(sample(), dir + "/ok.loom");
  fs::copy_file(dir + "/ok.loom", dir + "/attr.loom");
  {
    h5::Handle f = h5::open_file(dir + "/attr.loom", true);
    h5::Handle g = h5::open_group(f, "col_attrs", {dir + "/attr.loom", "/col_attrs"});
    h5::write_array(g, "short", Array::from_vector(std::vector<double>{1, 2, 3}));
  }
  try {
    io::read_loom(dir + "/attr.loom");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.element(), "/col_attrs/short");
  }
  fs::copy_file(dir + "/ok.loom", dir + "/layer.loom");
  {
    h5::Handle f = h5::open_file(dir + "/layer.loom", true);
    h5::Handle g = h5::open_group(f, "layers", {dir + "/layer.loom", "/layers"});
    h5::write_array(g, "odd", Array(DType::Float32, {4, 4}));
  }
  try {
    io::read_loom(dir + "/layer.loom");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.element(), "/layers/odd");
  }
  // Truncated copies.
  const auto size = fs::file_size(dir + "/ok.loom");
  for (double frac : {0.8, 0.3}) {
    fs::remove(dir + "/cut.loom");
    fs::copy_file(dir + "/ok.loom", dir + "/cut.loom");
    fs::resize_file(dir + "/cut.loom", static_cast<uintmax_t>(static_cast<double>(size) * frac));
    EXPECT_THROW(io::read_loom(dir + "/cut.loom"), InputError) << frac;
  }
  fs::remove_all(dir);
}

TEST(LoomInterop, AnndataReadsWhatScanppWrote) {
  if (!python_has_loompy()) GTEST_SKIP() << "/usr/bin/python3 lacks anndata/loompy/h5py (apt-get install python3-loompy)";
  const std::string dir = temp_dir("interop_w");
  const AnnData a = sample();
  io::write_loom(a, dir + "/s.loom", true);
  // A matrix of several chunks too, read dense.
  AnnData l = larger(90, 70);
  io::write_loom(l, dir + "/l.loom");
  // The helper validates with loompy's LoomValidator and reads with anndata.read_loom.
  const json views = anndata_views({{dir + "/s.loom", {.obs_names = "obs_names", .var_names = "var_names"}},
                                    {dir + "/l.loom", {.sparse = false, .obs_names = "obs_names"}}},
                                   dir + "/views.json");
  ASSERT_EQ(views.size(), 2u) << "anndata/loompy could not read the files scanpp wrote";
  const json& j = views[0];
  expect_matrix(*a.X, j["X"], "X");
  expect_numbers(values(a.layers.at("counts")), j["layers"]["counts"]["data"], "counts");
  EXPECT_EQ(j["layers"]["counts"]["dtype"], "int32");
  EXPECT_EQ(j["obs"]["index"].get<std::vector<std::string>>(), a.obs_names());
  EXPECT_EQ(j["obs"]["index_name"], "obs_names");
  EXPECT_EQ(j["var"]["index"].get<std::vector<std::string>>(), a.var_names());
  const json& oc = j["obs"]["columns"];
  EXPECT_EQ(oc["n_genes"]["dtype"], "int64");
  expect_numbers({2, 1, 0, 2, 2}, oc["n_genes"]["values"], "n_genes");
  EXPECT_EQ(oc["frac"]["dtype"], "float64");
  expect_numbers({0.5, 0.25, 0, 1, 0.125}, oc["frac"]["values"], "frac");
  EXPECT_EQ(oc["doublet"]["dtype"], "uint8");
  expect_numbers({1, 0, 0, 1, 0}, oc["doublet"]["values"], "doublet");
  EXPECT_EQ(oc["label"]["values"].get<std::vector<std::string>>(), strings(a.obs, "label"));
  EXPECT_EQ(oc["batch"]["values"].get<std::vector<std::string>>(),
            (std::vector<std::string>{"b2", "b1", "b2", "b1", "b1"}));
  EXPECT_EQ(oc["opt"]["values"].get<std::vector<std::string>>(),
            (std::vector<std::string>{"1", "2", "<NA>", "4", "5"}));
  const json& vc = j["var"]["columns"];
  EXPECT_EQ(vc["gene_ids"]["values"].get<std::vector<std::string>>(), strings(a.var, "gene_ids"));
  expect_numbers({0.9, 0.6, 0.4, 2.2}, vc["mean"]["values"], "mean");
  expect_numbers({1, 0, 1, 1}, vc["hv"]["values"], "hv");
  expect_mapping(a.obsm, j["obsm"], "obsm");
  expect_mapping(a.varm, j["varm"], "varm");

  const json& jl = views[1];
  EXPECT_EQ(jl["X"]["kind"], "dense");
  expect_numbers(values(*l.X), jl["X"]["data"], "larger X");
  EXPECT_EQ(jl["obs"]["index"].get<std::vector<std::string>>(), l.obs_names());
  fs::remove_all(dir);
}

TEST(LoomInterop, ScanppReadsWhatAnndataAndLoompyWrote) {
  if (!python_has_loompy()) GTEST_SKIP() << "/usr/bin/python3 lacks anndata/loompy/h5py (apt-get install python3-loompy)";
  const std::string dir = temp_dir("interop_r");
  std::vector<ReadCase> cases;
  for (bool sparse : {true, false}) {
    // anndata.write_loom output: names under obs_names/var_names, obsm/varm as 2-D attributes.
    cases.push_back({dir + "/anndata.loom", {.sparse = sparse, .obs_names = "obs_names", .var_names = "var_names"}});
    // ... and with the default keys, which it lacks: names become '0', '1', ...
    cases.push_back({dir + "/anndata.loom", {.sparse = sparse}});
    // velocyto-like file from loompy.create: X is the spliced layer.
    cases.push_back({dir + "/velocyto.loom", {.sparse = sparse}});
    // Spec-2 file: fixed-length strings with XML character references.
    cases.push_back({dir + "/old.loom", {.sparse = sparse}});
  }
  const json views = anndata_views(cases, dir + "/views.json", "write " + dir);
  ASSERT_EQ(views.size(), cases.size()) << "the helper could not write or read the loom files";
  for (size_t i = 0; i < cases.size(); ++i) expect_same_as_anndata(cases[i], views[i]);
  AnnData v = io::read_loom(dir + "/velocyto.loom");
  EXPECT_EQ(v.n_obs(), 90);
  EXPECT_EQ(v.n_vars(), 70);
  EXPECT_EQ(v.obs.index_name(), "CellID");
  EXPECT_EQ(v.obs_names()[3], "sample:3x");
  EXPECT_EQ(v.obsm["embedding"].get<Array>().shape(), (std::vector<int64_t>{90, 2}));
  // X + unspliced = matrix, value by value.
  const auto x = values(*v.X), u = values(v.layers["unspliced"]), m = values(v.layers["matrix"]);
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(x[i] + u[i], m[i]) << i;

  AnnData o = io::read_loom(dir + "/old.loom");
  EXPECT_EQ(o.var_names(), (std::vector<std::string>{"Actb", "Gapdh", "Caf\xc3\xa9", "A&B", "Sox2", "Pou5f1"}));
  EXPECT_EQ(o.obs_names(), (std::vector<std::string>{"c1", "c2", "c<3>", "c\xe4\xb8\xad"}));
  fs::remove_all(dir);
}
