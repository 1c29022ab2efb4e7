// gzip datasets written and read by scanpp's own parallel deflate (direct
// chunk I/O) against h5py/anndata (Debian's /usr/bin/python3) both ways.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "scanpp/core/parallel.hpp"
#include "scanpp/io/deflate_chunks.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/io/npy.hpp"
#include "hdf5_chunk_support.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using scanpp::testing::raw_chunks;
using scanpp::testing::run_command;
using scanpp::testing::same_bytes;
using scanpp::testing::shared;
using scanpp::testing::TempDir;

namespace {

std::string py(const std::string& args) {
  return "/usr/bin/python3 " + std::string(SCANPP_SOURCE_DIR) + "/tests/interop/gzip_interop.py " + args;
}

// A structured matrix (compressible, but not trivially).
Array test_matrix(int64_t rows, int64_t cols) {
  Array a(DType::Float32, {rows, cols});
  auto v = a.as<float>();
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) v[i * cols + j] = static_cast<float>((i * 31 + j * 7) % 113) * 0.25f;
  return a;
}

}  // namespace

// The golden file (h5py's gzip 4, chunks cut on both axes) read by scanpp
// matches the values stored beside it; rewritten by scanpp with gzip 4, h5py
// sees gzip 4 on every numeric dataset and anndata reads identical values.
TEST(H5adGzip, GoldenRewrittenReadsIdenticallyInAnndata) {
  const std::string golden = shared("golden/pbmc3k/pbmc3k_scanpy.h5ad");
  AnnData ad = io::read_h5ad(golden);
  EXPECT_TRUE(same_bytes(ad.X->get<Array>(), io::read_npy(shared("golden/pbmc3k/X_scaled.npy"))));
  const SparseMatrix counts = io::read_sparse_npz(shared("golden/pbmc3k/counts_filtered_csr.npz"));
  const auto& raw = ad.raw->X->get<SparseMatrix>();
  EXPECT_EQ(raw.indices, counts.indices);
  EXPECT_EQ(raw.indptr, counts.indptr);

  TempDir tmp;
  const std::string out = tmp.file("rewritten.h5ad");
  io::write_h5ad(ad, out, {.compression = 4});
  {
    h5::Handle f = h5::open_file(out);
    h5::Handle x(H5Dopen2(f, "X", H5P_DEFAULT));
    EXPECT_EQ(h5::deflate_level(x), 4);
  }
  AnnData back = io::read_h5ad(out);
  EXPECT_TRUE(same_bytes(back.X->get<Array>(), ad.X->get<Array>()));
  EXPECT_TRUE(back.raw->X->get<SparseMatrix>() == raw);
  EXPECT_TRUE(back.uns.at("rgg_wilcoxon").get<Dict>().at("names").get<RecArray>() ==
              ad.uns.at("rgg_wilcoxon").get<Dict>().at("names").get<RecArray>());
  EXPECT_TRUE(back.uns.at("rgg_ttest").get<Dict>().at("pvals").get<RecArray>() ==
              ad.uns.at("rgg_ttest").get<Dict>().at("pvals").get<RecArray>());

  std::string log;
  ASSERT_EQ(run_command(py("against " + out + " " + golden), &log), 0) << log;
  EXPECT_NE(log.find("OK"), std::string::npos) << log;
}

// h5py's own gzip datasets: with and without shuffle, chunks cut on every
// axis, big-endian, widened on read, records with fixed strings; and the
// ones left to HDF5 (fletcher32, scale-offset, chunks never written).
TEST(H5adGzip, ReadsH5pyGzipVariants) {
  TempDir tmp;
  const std::string path = tmp.file("variants.h5");
  std::string log;
  ASSERT_EQ(run_command(py("variants " + path), &log), 0) << log;
  h5::Handle f = h5::open_file(path);
  const std::vector<std::pair<std::string, bool>> cases = {
      {"gz2d", true},          {"gz_shuffle_f32", true}, {"gz_shuffle_i64", true},          {"gz_be_f8", true},
      {"gz_i32", true},        {"gz_bool", true},        {"gz_chunk_over_extent", true},    {"fletcher", false},
      {"scaleoffset", false},  {"missing_chunks", false}};
  for (const auto& [name, fast] : cases) {
    SCOPED_TRACE(name);
    const h5::Loc where{path, "/gz/" + name};
    h5::Handle gz = h5::open_dataset(f, "gz/" + name, where);
    h5::Handle plain = h5::open_dataset(f, "plain/" + name, where);
    const Array a = h5::read_array(gz, where);
    const Array b = h5::read_array(plain, where);
    EXPECT_TRUE(same_bytes(a, b));
    EXPECT_GT(a.size(), 0);
    // Whether the parallel path took it (the others must fall back to HDF5).
    Array probe(a.dtype(), a.shape());
    h5::Handle mem = h5::h5type_for(a.dtype());
    EXPECT_EQ(h5::read_deflate_chunks(gz, mem, probe.raw(), where), fast);
    if (fast && a.dtype() != DType::Bool) {
      EXPECT_TRUE(same_bytes(probe, b));
    }
  }
  // int32 on disk, widened to int64 (CSR indptr) and read as is.
  {
    const h5::Loc where{path, "/gz/gz_i32"};
    h5::Handle gz = h5::open_dataset(f, "gz/gz_i32", where);
    h5::Handle plain = h5::open_dataset(f, "plain/gz_i32", where);
    EXPECT_EQ(h5::read_int64(gz, where), h5::read_int64(plain, where));
    EXPECT_EQ(h5::read_int32(gz, where), h5::read_int32(plain, where));
    EXPECT_EQ(h5::read_int64(gz, where)[999], 2997);
  }
  // Row ranges (backed mode, 10x h5 blocks): chunks straddling both ends.
  {
    const h5::Loc where{path, "/gz/gz_rows2d"};
    h5::Handle gz = h5::open_dataset(f, "gz/gz_rows2d", where);
    h5::Handle plain = h5::open_dataset(f, "plain/gz_rows2d", where);
    const Array a = h5::read_rows(gz, 777, 4321 - 777, where);
    EXPECT_TRUE(same_bytes(a, h5::read_rows(plain, 777, 4321 - 777, where)));
    EXPECT_EQ(a.shape(), (std::vector<int64_t>{4321 - 777, 40}));
    Array probe(DType::Float32, {4321 - 777, 40});
    h5::Handle mem = h5::h5type_for(DType::Float32);
    EXPECT_TRUE(h5::read_deflate_rows(gz, mem, 777, 4321 - 777, probe.raw(), where));
    EXPECT_TRUE(same_bytes(probe, a));
    // A small read stays with HDF5 (and its chunk cache).
    EXPECT_FALSE(h5::read_deflate_rows(gz, mem, 10, 5, probe.raw(), where));
    EXPECT_TRUE(same_bytes(h5::read_rows(gz, 10, 5, where), h5::read_rows(plain, 10, 5, where)));
  }
  {
    const h5::Loc where{path, "/gz/gz_rows1d"};
    h5::Handle gz = h5::open_dataset(f, "gz/gz_rows1d", where);
    h5::Handle plain = h5::open_dataset(f, "plain/gz_rows1d", where);
    const Array a = h5::read_array_slice(gz, 12345, 150000 - 12345, where, DType::Int64);
    EXPECT_TRUE(same_bytes(a, h5::read_array_slice(plain, 12345, 150000 - 12345, where, DType::Int64)));
    EXPECT_EQ(a.get_double(0), static_cast<double>(12345 * 7 % 20011));
    Array probe(DType::Int64, {150000 - 12345});
    h5::Handle mem = h5::h5type_for(DType::Int64);
    EXPECT_TRUE(h5::read_deflate_rows(gz, mem, 12345, 150000 - 12345, probe.raw(), where));
    EXPECT_TRUE(same_bytes(probe, a));
  }
  // Record array with a fixed-length string field, read in one pass.
  const RecArray rec = io::read_element(f, "gz/gz_rec", {path, "/gz/gz_rec"}).get<RecArray>();
  EXPECT_TRUE(rec == io::read_element(f, "plain/gz_rec", {path, "/plain/gz_rec"}).get<RecArray>());
  ASSERT_EQ(rec.n_records, 200);
  EXPECT_EQ(std::get<std::vector<std::string>>(rec.field("name").values)[123], "g123");
  EXPECT_EQ(std::get<Array>(rec.field("n").values).get_double(199), 199.0);
}

// A damaged chunk is reported as bad input, not a crash or silent garbage.
TEST(H5adGzip, CorruptChunkIsAnInputError) {
  TempDir tmp;
  const std::string path = tmp.file("variants.h5");
  std::string log;
  ASSERT_EQ(run_command(py("variants " + path), &log), 0) << log;
  haddr_t addr = 0;
  hsize_t size = 0;
  {
    h5::Handle f = h5::open_file(path);
    h5::Handle d(H5Dopen2(f, "gz/gz_shuffle_f32", H5P_DEFAULT));
    hsize_t off = 300;
    unsigned mask = 0;
    ASSERT_GE(H5Dget_chunk_info_by_coord(d, &off, &mask, &addr, &size), 0);
    ASSERT_GT(size, 40u);
  }
  {
    std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(addr + size / 2));
    const char junk[16] = {'\x5a', '\x5a', '\x5a', '\x5a', '\x5a', '\x5a', '\x5a', '\x5a',
                           '\x5a', '\x5a', '\x5a', '\x5a', '\x5a', '\x5a', '\x5a', '\x5a'};
    io.write(junk, sizeof junk);
  }
  h5::Handle f = h5::open_file(path);
  h5::Handle d = h5::open_dataset(f, "gz/gz_shuffle_f32", {path, "/gz/gz_shuffle_f32"});
  EXPECT_THROW(h5::read_array(d, {path, "/gz/gz_shuffle_f32"}), InputError);
}

// Chunks are compressed independently, so 1 and 2 threads store the same
// bytes, and read the same values back.
TEST(H5adGzip, SameChunkBytesWithOneAndTwoThreads) {
  TempDir tmp;
  const Array m = test_matrix(12000, 100);  // 4.8 MB: 5 chunks of ~1 MiB
  std::vector<int32_t> idx(3'000'000);
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int32_t>((i * 2654435761u) % 20000);
  std::vector<std::vector<std::vector<char>>> chunks;
  std::vector<Array> back;
  for (int t : {1, 2}) {
    set_num_threads(t);
    const std::string p = tmp.file("t" + std::to_string(t) + ".h5");
    {
      h5::Handle f = h5::create_file(p);
      h5::write_array(f, "m", m, {.gzip_level = 1});
      h5::write_raw(f, "idx", DType::Int32, {static_cast<int64_t>(idx.size())}, idx.data(), {4, true});
    }
    h5::Handle f = h5::open_file(p);
    chunks.push_back(raw_chunks(f, "m"));
    auto more = raw_chunks(f, "idx");
    chunks.back().insert(chunks.back().end(), more.begin(), more.end());
    h5::Handle d = h5::open_dataset(f, "m", {p, "/m"});
    back.push_back(h5::read_array(d, {p, "/m"}));
    h5::Handle di = h5::open_dataset(f, "idx", {p, "/idx"});
    EXPECT_EQ(h5::read_int32(di, {p, "/idx"}), idx);
  }
  set_num_threads(0);
  EXPECT_EQ(chunks[0].size(), 5u + 12u);
  EXPECT_TRUE(chunks[0] == chunks[1]);
  EXPECT_TRUE(same_bytes(back[0], m));
  EXPECT_TRUE(same_bytes(back[1], m));
}

// Empty datasets, datasets smaller than one chunk, a partial last chunk and
// data deflate cannot shrink (stored raw, flagged in the chunk's filter mask):
// h5py reads each like its uncompressed twin, and so does scanpp.
TEST(H5adGzip, EmptySmallPartialAndIncompressible) {
  TempDir tmp;
  const std::string path = tmp.file("pairs.h5");
  std::vector<uint8_t> noise(3 << 20);
  uint64_t s = 12345;
  for (auto& b : noise) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    b = static_cast<uint8_t>(s >> 56);
  }
  std::vector<Bool8> flags(7);
  for (size_t i = 0; i < flags.size(); ++i) flags[i].v = i % 2;
  const std::vector<std::pair<std::string, Array>> arrays = {
      {"empty", Array(DType::Float32, {0})},
      {"empty_rows", Array(DType::Float64, {0, 5})},
      {"empty_cols", Array(DType::Float32, {5, 0})},
      {"small", Array::from_vector(std::vector<float>{0.5f, 1.5f, -2.0f, 3.25f, 0, 0, 7, 8, 9, 10})},
      {"partial", test_matrix(3000, 100)},
      {"flags", Array::from_vector(flags)},
      {"codes", Array::from_vector(std::vector<int8_t>{0, 1, 2, -1, 1})},
      {"noise", Array::from_vector(noise)},
  };
  {
    h5::Handle f = h5::create_file(path);
    h5::Handle gz = h5::create_group(f, "gz");
    h5::Handle plain = h5::create_group(f, "plain");
    for (const auto& [name, a] : arrays) {
      h5::write_array(gz, name, a, {.gzip_level = 4});
      h5::write_array(plain, name, a);
    }
    // anndata's resizable sparse components, empty and tiny.
    h5::write_raw(gz, "chunked_empty", DType::Int32, {0}, nullptr, {4, true});
    h5::write_raw(plain, "chunked_empty", DType::Int32, {0}, nullptr);
    const int32_t three[3] = {1, 2, 3};
    h5::write_raw(gz, "chunked_small", DType::Int32, {3}, three, {4, true});
    h5::write_raw(plain, "chunked_small", DType::Int32, {3}, three);
  }
  std::string log;
  ASSERT_EQ(run_command(py("pairs " + path + " 4"), &log), 0) << log;
  EXPECT_NE(log.find("OK 10 gzip-4"), std::string::npos) << log;
  h5::Handle f = h5::open_file(path);
  for (const auto& [name, a] : arrays) {
    SCOPED_TRACE(name);
    const h5::Loc where{path, "/gz/" + name};
    h5::Handle d = h5::open_dataset(f, "gz/" + name, where);
    EXPECT_TRUE(same_bytes(h5::read_array(d, where), a));
  }
  // The incompressible chunks were stored raw, not expanded.
  h5::Handle noise_d(H5Dopen2(f, "gz/noise", H5P_DEFAULT));
  EXPECT_LE(H5Dget_storage_size(noise_d), noise.size());

  // A whole AnnData with nothing stored in X, an empty obsm and a tiny uns.
  AnnData ad;
  SparseMatrix none;
  none.n_rows = 3;
  none.n_cols = 4;
  none.indptr.assign(4, 0);
  ad.X = Element(none);
  ad.obs = DataFrame({"a", "b", "c"});
  ad.var = DataFrame({"g1", "g2", "g3", "g4"});
  ad.obsm["none"] = Array(DType::Float32, {3, 0});
  ad.uns["small"] = Array::from_vector(std::vector<double>{1, 2, 3});
  const std::string h5ad = tmp.file("tiny.h5ad");
  io::write_h5ad(ad, h5ad, {.compression = 4});
  AnnData back = io::read_h5ad(h5ad);
  EXPECT_EQ(back.X_sparse().nnz(), 0);
  EXPECT_EQ(back.X_sparse().indptr, (std::vector<int64_t>{0, 0, 0, 0}));
  EXPECT_EQ(back.obsm.at("none").get<Array>().shape(), (std::vector<int64_t>{3, 0}));
  EXPECT_EQ(back.uns.at("small").get<Array>().to_vector<double>(), (std::vector<double>{1, 2, 3}));
}

// Streaming appends in blocks of any size store the same chunks as one
// block, with 1 or 2 threads, and h5py reads the result.
TEST(H5adGzip, AppenderChunksDoNotDependOnBlocksOrThreads) {
  TempDir tmp;
  std::vector<float> v(7277);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 101) * 0.5f;
  auto make = [&](hid_t g, const char* name, bool gzip) {
    hsize_t dims = 0, maxd = H5S_UNLIMITED, chunk = 1000;
    h5::Handle space(H5Screate_simple(1, &dims, &maxd));
    h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_chunk(dcpl, 1, &chunk);
    if (gzip) H5Pset_deflate(dcpl, 4);
    h5::Handle t = h5::h5type_for(DType::Float32);
    return h5::Handle(H5Dcreate2(g, name, t, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  };
  const std::vector<std::vector<int64_t>> cuts = {{7277}, {1, 999, 2500, 0, 3777}, {1000, 1000, 5277}};
  std::vector<std::vector<std::vector<char>>> chunks;
  for (int t : {1, 2}) {
    set_num_threads(t);
    for (size_t c = 0; c < cuts.size(); ++c) {
      const std::string p = tmp.file("a" + std::to_string(t) + std::to_string(c) + ".h5");
      {
        h5::Handle f = h5::create_file(p);
        h5::Handle gz = h5::create_group(f, "gz");
        h5::Handle d = make(gz, "v", true);
        h5::DeflateAppender app(d, sizeof(float), 4);
        int64_t at = 0;
        for (int64_t n : cuts[c]) {
          app.append(v.data() + at, n);
          at += n;
        }
        app.finish();
        EXPECT_EQ(app.size(), 7277);
        h5::Handle plain = h5::create_group(f, "plain");
        h5::write_raw(plain, "v", DType::Float32, {7277}, v.data());
      }
      h5::Handle f = h5::open_file(p);
      chunks.push_back(raw_chunks(f, "gz/v"));
      h5::Handle d = h5::open_dataset(f, "gz/v", {p, "/gz/v"});
      EXPECT_EQ(h5::read_array(d, {p, "/gz/v"}).to_vector<float>(), v);
      if (t == 2 && c == 1) {
        std::string log;
        ASSERT_EQ(run_command(py("pairs " + p + " 4"), &log), 0) << log;
      }
    }
  }
  set_num_threads(0);
  ASSERT_EQ(chunks[0].size(), 8u);
  for (const auto& c : chunks) EXPECT_TRUE(c == chunks[0]);
}

TEST(H5adGzip, LevelOutsideZeroToNineIsAValueError) {
  TempDir tmp;
  AnnData ad;
  ad.X = Element(Array::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2}));
  ad.obs = DataFrame({"a", "b"});
  ad.var = DataFrame({"x", "y"});
  EXPECT_THROW(io::write_h5ad(ad, tmp.file("bad.h5ad"), {.compression = 10}), ValueError);
  io::write_h5ad(ad, tmp.file("nine.h5ad"), {.compression = 9});
  EXPECT_TRUE(same_bytes(io::read_h5ad(tmp.file("nine.h5ad")).X->get<Array>(), ad.X->get<Array>()));
}
