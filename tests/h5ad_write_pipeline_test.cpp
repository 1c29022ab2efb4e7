// gzip writes through h5::DeflatePipeline (chunks deflated on helper threads
// while HDF5 writes the rest of the file) and the byte shuffle on integer
// datasets: the same chunks as the one-dataset-at-a-time writer, the same file
// bytes whatever the number of helpers, and values read back unchanged, by
// scanpp and by h5py/anndata (Debian's /usr/bin/python3).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "scanpp/core/parallel.hpp"
#include "scanpp/io/deflate_chunks.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/io/hdf5_deflate_filter.hpp"
#include "hdf5_chunk_support.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using scanpp::testing::file_bytes;
using scanpp::testing::raw_chunks;
using scanpp::testing::run_command;
using scanpp::testing::same_bytes;
using scanpp::testing::shared;
using scanpp::testing::TempDir;

namespace {

struct Case {
  std::string name;
  Array a;
  std::vector<hsize_t> chunk;  // empty: scanpp's own chunking (write_raw)
  bool shuffle = false;
};

// Dense floats (Huffman-only chunks), shuffled int32 and int64 with partial
// last chunks, a matrix chunked on both axes (gathered, zero-padded edges),
// and a one-chunk dataset.
std::vector<Case> cases() {
  std::vector<Case> c;
  Array dense(DType::Float32, {3000, 150});
  auto d = dense.as<float>();
  uint64_t s = 99;
  for (auto& x : d) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<float>(static_cast<int64_t>(s >> 40) % 100000) * 1e-3f - 50.f;
  }
  c.push_back({"dense", dense, {}, false});
  std::vector<int32_t> idx(700'001);
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int32_t>((i * 7919) % 13714);
  c.push_back({"indices", Array::from_vector(idx), {}, true});
  std::vector<int64_t> counts(90'000);
  for (size_t i = 0; i < counts.size(); ++i) counts[i] = static_cast<int64_t>((i * i) % 5003);
  c.push_back({"counts", Array::from_vector(counts), {}, true});
  Array grid(DType::Float64, {1001, 77});
  auto g = grid.as<double>();
  for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<double>(i % 1013) * 0.5;
  c.push_back({"grid", grid, {128, 20}, false});
  c.push_back({"one", Array::from_vector(std::vector<int16_t>{3, 1, 4, 1, 5, 9, 2, 6}), {}, true});
  return c;
}

h5::Handle create(hid_t f, const Case& c) {
  if (c.chunk.empty()) return h5::create_dataset(f, c.name, c.a.dtype(), c.a.shape(), {4, false, c.shuffle});
  std::vector<hsize_t> dims(c.a.shape().begin(), c.a.shape().end());
  h5::Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  h5::Handle dcpl = h5::dataset_create_plist();
  H5Pset_chunk(dcpl, static_cast<int>(c.chunk.size()), c.chunk.data());
  if (c.shuffle) H5Pset_shuffle(dcpl);
  H5Pset_deflate(dcpl, 4);
  h5::Handle t = h5::h5type_for(c.a.dtype());
  return h5::Handle(H5Dcreate2(f, c.name.c_str(), t, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
}

}  // namespace

// Queued through the pipeline with 0, 1 or 2 helpers and a budget small
// enough to store datasets midway (or not), every chunk is the one
// write_deflate_chunks stores; the files are byte-identical for a given
// budget; and HDF5's own reader (H5Dread: filters, shuffle, edge chunks) and
// scanpp's read the values back.
TEST(DeflatePipeline, SameChunksAsOneByOneAndSameFileForAnyHelpers) {
  TempDir tmp;
  const auto cs = cases();
  const std::string ref = tmp.file("ref.h5");
  {
    h5::Handle f = h5::create_file(ref);
    for (const auto& c : cs) {
      h5::Handle d = create(f, c);
      h5::write_deflate_chunks(d, c.a.raw(), dtype_size(c.a.dtype()), 4);
    }
  }
  std::vector<std::vector<std::vector<char>>> ref_chunks;
  {
    h5::Handle f = h5::open_file(ref);
    for (const auto& c : cs) ref_chunks.push_back(raw_chunks(f, c.name));
  }
  EXPECT_EQ(ref_chunks[0].size(), 2u);  // 1.8 MB of floats: 1 MiB chunks
  EXPECT_EQ(ref_chunks[1].size(), 3u);  // 2.8 MB of int32
  EXPECT_EQ(ref_chunks[3].size(), 8u * 4u);

  for (size_t budget : {size_t{1} << 20, h5::DeflatePipeline::kDefaultBudget}) {
    std::string first;
    for (int helpers : {0, 1, 2}) {
      SCOPED_TRACE("budget " + std::to_string(budget) + ", helpers " + std::to_string(helpers));
      const std::string p = tmp.file("p" + std::to_string(helpers) + ".h5");
      {
        h5::Handle f = h5::create_file(p);
        h5::DeflatePipeline pipe(helpers, budget);
        for (const auto& c : cs) {
          pipe.add(create(f, c), c.a.raw(), dtype_size(c.a.dtype()), 4);
          // HDF5 work between the datasets, as write_h5ad does.
          h5::Handle g = h5::create_group(f, "after_" + c.name);
          h5::write_strings(g, "s", {"a", "bb", c.name}, {}, {.gzip_level = 4});
        }
        pipe.finish();
      }
      const std::string bytes = file_bytes(p);
      if (first.empty()) first = bytes;
      EXPECT_TRUE(bytes == first);
      h5::Handle f = h5::open_file(p);
      for (size_t k = 0; k < cs.size(); ++k) {
        SCOPED_TRACE(cs[k].name);
        EXPECT_TRUE(raw_chunks(f, cs[k].name) == ref_chunks[k]);
        const h5::Loc where{p, "/" + cs[k].name};
        h5::Handle d = h5::open_dataset(f, cs[k].name, where);
        EXPECT_TRUE(same_bytes(h5::read_array(d, where), cs[k].a));
        Array via_hdf5(cs[k].a.dtype(), cs[k].a.shape());
        h5::Handle mem = h5::h5type_for(cs[k].a.dtype());
        ASSERT_GE(H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, via_hdf5.raw()), 0);
        EXPECT_TRUE(same_bytes(via_hdf5, cs[k].a));
      }
    }
  }
}

// Shuffled int32 stores the indices in fewer bytes than deflate alone.
TEST(DeflatePipeline, ShuffleShrinksIntegerIndices) {
  TempDir tmp;
  const auto cs = cases();
  const Array& idx = cs[1].a;
  const std::string p = tmp.file("s.h5");
  {
    h5::Handle f = h5::create_file(p);
    h5::write_array(f, "plain", idx, {4, true, false});
    h5::write_array(f, "shuffled", idx, {4, true, true});
  }
  h5::Handle f = h5::open_file(p);
  h5::Handle a(H5Dopen2(f, "plain", H5P_DEFAULT)), b(H5Dopen2(f, "shuffled", H5P_DEFAULT));
  const hsize_t plain = H5Dget_storage_size(a), shuffled = H5Dget_storage_size(b);
  EXPECT_LT(static_cast<double>(shuffled), 0.9 * static_cast<double>(plain)) << plain << " vs " << shuffled;
  EXPECT_TRUE(same_bytes(h5::read_array(b, {p, "/shuffled"}), idx));
}

TEST(DeflatePipeline, RejectsUnchunkedDatasets) {
  TempDir tmp;
  h5::Handle f = h5::create_file(tmp.file("u.h5"));
  const std::vector<float> v(10, 1.f);
  h5::DeflatePipeline pipe(1);
  EXPECT_THROW(pipe.add(h5::create_dataset(f, "plain", DType::Float32, {10}), v.data(), 4, 4), Error);
  EXPECT_THROW(pipe.add(h5::create_dataset(f, "gz", DType::Float32, {10}, {.gzip_level = 4}), v.data(), 4, 12),
               ValueError);
  pipe.finish();
}

// The whole PBMC 3k golden AnnData (X, raw counts, graphs, the
// rank_genes_groups records, string columns) written with gzip by 1 and 2
// threads: the same bytes; integers shuffled, floats not; scanpp reads back
// what it wrote, and anndata reads the same values as from the golden file.
TEST(H5adWritePipeline, PbmcGoldenSameBytesWithOneAndTwoThreads) {
  const std::string golden = shared("golden/pbmc3k/pbmc3k_scanpy.h5ad");
  const AnnData ad = io::read_h5ad(golden);
  TempDir tmp;
  const int before = num_threads();
  std::vector<std::string> bytes;
  for (int t : {1, 2}) {
    set_num_threads(t);
    const std::string p = tmp.file("t" + std::to_string(t) + ".h5ad");
    io::write_h5ad(ad, p, {.compression = 4});
    bytes.push_back(file_bytes(p));
  }
  set_num_threads(before);
  EXPECT_GT(bytes[0].size(), 10'000'000u);
  EXPECT_TRUE(bytes[0] == bytes[1]);

  const std::string p = tmp.file("t2.h5ad");
  {
    h5::Handle f = h5::open_file(p);
    auto shuffled = [&](const char* name) {
      h5::Handle d(H5Dopen2(f, name, H5P_DEFAULT));
      h5::Handle dcpl(H5Dget_create_plist(d));
      unsigned flags = 0, cd[4] = {}, config = 0;
      size_t ncd = 4;
      const bool has = H5Pget_filter_by_id2(dcpl, H5Z_FILTER_SHUFFLE, &flags, &ncd, cd, 0, nullptr, &config) >= 0;
      EXPECT_EQ(h5::deflate_level(d), 4) << name;
      return has;
    };
    EXPECT_TRUE(shuffled("raw/X/indices"));
    EXPECT_TRUE(shuffled("raw/X/indptr"));
    EXPECT_TRUE(shuffled("obsp/distances/indices"));
    EXPECT_FALSE(shuffled("raw/X/data"));
    EXPECT_FALSE(shuffled("X"));
  }
  const AnnData back = io::read_h5ad(p);
  EXPECT_TRUE(same_bytes(back.X->get<Array>(), ad.X->get<Array>()));
  EXPECT_TRUE(back.raw->X->get<SparseMatrix>() == ad.raw->X->get<SparseMatrix>());
  EXPECT_TRUE(back.obsp.at("distances").get<SparseMatrix>() == ad.obsp.at("distances").get<SparseMatrix>());
  EXPECT_TRUE(back.uns.at("rgg_wilcoxon").get<Dict>().at("names").get<RecArray>() ==
              ad.uns.at("rgg_wilcoxon").get<Dict>().at("names").get<RecArray>());
  EXPECT_TRUE(back.uns.at("rgg_logreg").get<Dict>().at("scores").get<RecArray>() ==
              ad.uns.at("rgg_logreg").get<Dict>().at("scores").get<RecArray>());
  EXPECT_TRUE(same_bytes(back.obsm.at("X_pca").get<Array>(), ad.obsm.at("X_pca").get<Array>()));

  std::string log;
  const std::string cmd = "/usr/bin/python3 " + std::string(SCANPP_SOURCE_DIR) + "/tests/interop/gzip_interop.py against " +
                          p + " " + golden;
  ASSERT_EQ(run_command(cmd, &log), 0) << log;
  EXPECT_NE(log.find("OK"), std::string::npos) << log;
}

// HDF5's deflate filter (which vlen strings' chunks go through) compresses
// with libdeflate here: the chunk of heap references shrinks, scanpp and
// HDF5 read the strings back, and so does h5py (the golden rewrite above and
// h5ad_interop_test read every string of such files through anndata).
TEST(Hdf5DeflateFilter, StringsThroughHdf5PipelineRoundTrip) {
  ASSERT_TRUE(h5::use_libdeflate_in_hdf5_deflate_filter());
  TempDir tmp;
  const std::string p = tmp.file("s.h5");
  std::vector<std::string> v(50'000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = "gene-" + std::to_string((i * 7919) % 13714) + (i % 3 ? "" : "\xc3\xa9");
  {
    h5::Handle f = h5::create_file(p);
    h5::write_strings(f, "s", v, {}, {.gzip_level = 4});
    h5::write_strings(f, "plain", v);
  }
  h5::Handle f = h5::open_file(p);
  h5::Handle d = h5::open_dataset(f, "s", {p, "/s"});
  EXPECT_EQ(h5::deflate_level(d), 4);
  EXPECT_EQ(h5::read_strings(d, {p, "/s"}), v);
  // 16 bytes of heap reference per string, deflated to under a third.
  EXPECT_LT(H5Dget_storage_size(d), v.size() * 16 / 3);
  std::string log;
  const std::string cmd = "/usr/bin/python3 -c \"import h5py,sys; f=h5py.File(sys.argv[1],'r'); "
                          "a=f['s'].asstr()[()]; b=f['plain'].asstr()[()]; "
                          "assert f['s'].compression=='gzip' and list(a)==list(b) and len(a)==50000, 'differ'; "
                          "print('OK', a[3])\" " + p;
  ASSERT_EQ(run_command(cmd, &log), 0) << log;
  EXPECT_NE(log.find("OK gene-10043\xc3\xa9"), std::string::npos) << log;
  // The filter's message in the file names it "deflate", as HDF5's own does.
  const std::string bytes = file_bytes(p);
  EXPECT_EQ(bytes.find("libdeflate"), std::string::npos);
  EXPECT_NE(bytes.find("deflate"), std::string::npos);
}

// Writing over an existing file (whose blocks are freed on a thread of its
// own) leaves exactly the new file, complete, and nothing else; a failed
// write leaves the old one.
TEST(H5adWritePipeline, OverwritesAnExistingFile) {
  TempDir tmp;
  const std::string p = tmp.file("same.h5ad");
  AnnData a;
  a.X = Element(Array::from_vector(std::vector<float>(4000 * 50, 1.5f), {4000, 50}));
  std::vector<std::string> cells(4000), genes(50);
  for (size_t i = 0; i < cells.size(); ++i) cells[i] = "c" + std::to_string(i);
  for (size_t i = 0; i < genes.size(); ++i) genes[i] = "g" + std::to_string(i);
  a.obs = DataFrame(cells);
  a.var = DataFrame(genes);
  io::write_h5ad(a, p, {.compression = 4});
  AnnData b = a;
  b.X = Element(Array::from_vector(std::vector<float>(4000 * 50, -2.f), {4000, 50}));
  io::write_h5ad(b, p, {.compression = 4});
  io::write_h5ad(b, p);
  EXPECT_TRUE(same_bytes(io::read_h5ad(p).X->get<Array>(), b.X->get<Array>()));
  // A write that fails after X's chunks were queued (uns is written last)
  // stops the helpers, drops the chunks and keeps the old file.
  AnnData bad = a;
  bad.uns["bad/key"] = std::string("x");
  EXPECT_THROW(io::write_h5ad(bad, p, {.compression = 4}), ValueError);
  EXPECT_TRUE(same_bytes(io::read_h5ad(p).X->get<Array>(), b.X->get<Array>()));
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(tmp.path())) n += e.is_regular_file();
  EXPECT_EQ(n, 1);
}
