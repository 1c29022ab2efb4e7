// Literal-only Huffman deflate (io/huffman_deflate) decoded by two
// independent inflaters (zlib, libdeflate), and its use for gzip chunks in
// .h5ad files (io/deflate_chunks) read back by scanpp, h5py and anndata.
#include <gtest/gtest.h>
#include <libdeflate.h>
#include <zlib.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>
#include <queue>
#include <string>
#include <vector>

#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/io/hdf5.hpp"
#include "scanpp/io/huffman_deflate.hpp"
#include "scanpp/io/npy.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using scanpp::testing::run_command;
using scanpp::testing::shared;
using scanpp::testing::TempDir;

namespace {

using Bytes = std::vector<std::byte>;

// Room for any input: stored blocks add 5 bytes per 64 KiB, the stream 6.
size_t room(size_t n) { return n + 5 * (n / 65535 + 2) + 5 * (n / io::kHuffmanBlockBytes + 1) + 16; }

Bytes compress(const Bytes& in) {
  Bytes out(room(in.size()));
  const size_t got = io::huffman_zlib_compress(in.data(), in.size(), out.data(), out.size());
  EXPECT_GT(got, 0u);
  out.resize(got);
  return out;
}

// The stream decoded by zlib and by libdeflate must both give back `want`.
void expect_round_trip(const Bytes& want, const Bytes& z) {
  Bytes a(want.size() + 1);
  uLongf got = static_cast<uLongf>(a.size());
  ASSERT_EQ(uncompress(reinterpret_cast<Bytef*>(a.data()), &got, reinterpret_cast<const Bytef*>(z.data()),
                       static_cast<uLong>(z.size())),
            Z_OK);
  ASSERT_EQ(got, want.size());
  a.resize(got);
  EXPECT_TRUE(a == want) << "zlib decoded other bytes";

  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  Bytes b(want.size() + 1);
  size_t in_used = 0, out_got = 0;
  const auto r = libdeflate_zlib_decompress_ex(d, z.data(), z.size(), b.data(), b.size(), &in_used, &out_got);
  libdeflate_free_decompressor(d);
  ASSERT_EQ(r, LIBDEFLATE_SUCCESS);
  EXPECT_EQ(in_used, z.size());
  ASSERT_EQ(out_got, want.size());
  b.resize(out_got);
  EXPECT_TRUE(b == want) << "libdeflate decoded other bytes";
}

// Compresses, checks the size the planner predicts, decodes twice.
size_t check(const Bytes& in) {
  const Bytes z = compress(in);
  EXPECT_EQ(z.size(), io::huffman_zlib_size(in.data(), in.size()));
  expect_round_trip(in, z);
  return z.size();
}

Bytes lcg_bytes(size_t n, uint64_t seed, int modulo = 256) {
  Bytes v(n);
  for (auto& b : v) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    b = static_cast<std::byte>((seed >> 33) % static_cast<uint64_t>(modulo));
  }
  return v;
}

// The raw float32 bytes of the scaled PBMC 3k matrix (npy header skipped).
Bytes x_scaled_bytes() {
  std::ifstream in(shared("golden/pbmc3k/X_scaled.npy"), std::ios::binary);
  std::vector<char> all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_GT(all.size(), 128u);
  const size_t header = 10 + static_cast<size_t>(static_cast<unsigned char>(all[8])) +
                        256 * static_cast<size_t>(static_cast<unsigned char>(all[9]));
  EXPECT_EQ(all.size() - header, size_t{2638} * 1838 * 4);
  Bytes v(all.size() - header);
  std::memcpy(v.data(), all.data() + header, v.size());
  return v;
}

size_t libdeflate_size(const std::byte* p, size_t n, int level) {
  libdeflate_compressor* c = libdeflate_alloc_compressor(level);
  Bytes out(libdeflate_zlib_compress_bound(c, n));
  const size_t got = libdeflate_zlib_compress(c, p, n, out.data(), out.size());
  libdeflate_free_compressor(c);
  return got;
}

}  // namespace

TEST(HuffmanDeflate, EmptyAndOneByte) {
  EXPECT_EQ(check({}), 2u + 5u + 4u);  // header, an empty stored block, Adler-32
  check({std::byte{0}});
  check({std::byte{0xff}});
  check({std::byte{0x80}});
}

// Random bytes: Huffman cannot shrink them, so the blocks are stored.
TEST(HuffmanDeflate, RandomBytesAreStoredNotExpanded) {
  const Bytes in = lcg_bytes(1'000'003, 7);
  const size_t z = check(in);
  EXPECT_LE(z, in.size() + 6 + 5 * (in.size() / 65535 + 1) + 5 * (in.size() / io::kHuffmanBlockBytes + 1));
  EXPECT_GE(z, in.size());
}

// One byte value: a 1-bit code beside end-of-block's; two values: 1 and 2
// bits (end-of-block shares a branch with one of them).
TEST(HuffmanDeflate, OneAndTwoSymbols) {
  const Bytes same(300'000, std::byte{0x41});
  const size_t z1 = check(same);
  EXPECT_LT(z1, same.size() / 8 + 1000);
  EXPECT_GT(z1, same.size() / 8);
  Bytes two = lcg_bytes(300'000, 3, 2);
  for (auto& b : two) b = b == std::byte{0} ? std::byte{0x00} : std::byte{0xfe};
  const size_t z2 = check(two);
  EXPECT_LT(z2, two.size() * 3 / 16 + 1000);
  EXPECT_GT(z2, two.size() / 8);
  // Small inputs of one or two values, and a block boundary hit exactly.
  check(Bytes(1, std::byte{7}));
  check(Bytes(5, std::byte{7}));
  check(Bytes(io::kHuffmanBlockBytes, std::byte{9}));
  check(Bytes(io::kHuffmanBlockBytes + 1, std::byte{9}));
}

// Fibonacci frequencies (doubled, so that end-of-block's weight 1 breaks no
// tie) make an unlimited Huffman code 19 bits deep: the limit to 15
// bits must keep the code valid and close to optimal.
TEST(HuffmanDeflate, FibonacciFrequenciesForceTheLengthLimit) {
  std::vector<uint32_t> freq = {2, 2};
  while (freq.size() < 21) freq.push_back(freq[freq.size() - 1] + freq[freq.size() - 2]);
  for (int i = 0; i < 8; ++i) freq.push_back(900);  // 29 symbols in all, 64,512 bytes
  Bytes block;
  for (size_t s = 0; s < freq.size(); ++s) block.insert(block.end(), freq[s], static_cast<std::byte>(s * 7 + 1));
  ASSERT_LE(block.size(), io::kHuffmanBlockBytes);  // one block: the skew is not diluted
  // Mixed deterministically so that runs do not matter (they would not to Huffman).
  for (size_t i = block.size() - 1; i > 0; --i) std::swap(block[i], block[(i * 2654435761u) % (i + 1)]);
  const size_t z = check(block);
  // An unlimited Huffman code's cost (the sum of its merged weights, end-of-
  // block included) bounds a limited one from below; limiting costs ~nothing
  // here, since only symbols seen once or twice get deeper than 15.
  using Node = std::pair<uint64_t, int>;  // weight, height
  std::priority_queue<Node, std::vector<Node>, std::greater<>> q;
  for (uint32_t f : freq) q.push({f, 0});
  q.push({1, 0});
  uint64_t unlimited_bits = 0;
  while (q.size() > 1) {
    const Node a = q.top();
    q.pop();
    const Node b = q.top();
    q.pop();
    unlimited_bits += a.first + b.first;
    q.push({a.first + b.first, std::max(a.second, b.second) + 1});
  }
  EXPECT_GT(q.top().second, 18);  // what the limit must cut to 15
  EXPECT_GE(static_cast<double>(z), static_cast<double>(unlimited_bits) / 8);
  EXPECT_LT(static_cast<double>(z), static_cast<double>(unlimited_bits) / 8 * 1.002 + 100);
  // Several such blocks in a row, each with its own code.
  Bytes three;
  for (int k = 0; k < 3; ++k) three.insert(three.end(), block.begin(), block.end());
  check(three);
}

// Blocks of different kinds in one stream: stored blocks start at any bit
// offset, after Huffman blocks.
TEST(HuffmanDeflate, MixedStoredAndHuffmanBlocks) {
  Bytes in = lcg_bytes(io::kHuffmanBlockBytes * 3 + 12345, 11, 4);
  const Bytes noise = lcg_bytes(io::kHuffmanBlockBytes + 77, 5);
  std::copy(noise.begin(), noise.end(), in.begin() + static_cast<std::ptrdiff_t>(io::kHuffmanBlockBytes));
  const size_t z = check(in);
  EXPECT_LT(z, in.size() * 3 / 4);
}

// Many alphabet sizes and skews, at lengths around the block and stored-block
// limits (65,535 and 65,536 bytes): every stream decodes in both inflaters
// and has the predicted size.
TEST(HuffmanDeflate, ManyAlphabetsAndLengths) {
  const std::vector<size_t> lengths = {2, 3, 31, 1000, 65535, 65536, 65537, 65536 * 2 + 17};
  uint64_t seed = 99;
  for (int alphabet : {1, 2, 3, 17, 200, 256}) {
    for (double skew : {0.0, 0.5, 0.9}) {
      for (size_t n : lengths) {
        SCOPED_TRACE(std::to_string(alphabet) + " symbols, skew " + std::to_string(skew) + ", " + std::to_string(n));
        Bytes in(n);
        for (auto& b : in) {
          seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
          // A geometric-ish draw: each step keeps the symbol with probability skew.
          int s = static_cast<int>((seed >> 33) % static_cast<uint64_t>(alphabet));
          const double u = static_cast<double>((seed >> 11) & 0xfffff) / 1048576.0;
          if (u < skew) s = s / 4;
          b = static_cast<std::byte>(s);
        }
        check(in);
      }
    }
  }
}

// The scaled PBMC matrix in 1 MiB pieces (gzip chunks of that size): the
// same ratio as libdeflate level 4 within 2%.
TEST(HuffmanDeflate, XScaledRatioMatchesLibdeflateLevel4) {
  const Bytes x = x_scaled_bytes();
  check(x);
  size_t ours = 0, theirs = 0;
  const size_t piece = size_t{1} << 20;
  for (size_t off = 0; off < x.size(); off += piece) {
    const size_t n = std::min(piece, x.size() - off);
    ours += io::huffman_zlib_size(x.data() + off, n);
    theirs += libdeflate_size(x.data() + off, n, 4);
  }
  const double ratio = static_cast<double>(ours) / static_cast<double>(x.size());
  const double rel = static_cast<double>(ours) / static_cast<double>(theirs);
  RecordProperty("huffman_ratio", std::to_string(ratio));
  RecordProperty("vs_libdeflate4", std::to_string(rel));
  EXPECT_LT(rel, 1.02) << ours << " vs libdeflate " << theirs;
  EXPECT_GT(rel, 0.95) << ours << " vs libdeflate " << theirs;
  EXPECT_LT(ratio, 0.92);
}

// With `cap` one byte short the compressor gives up (returns 0) and writes
// nothing past cap; with cap exactly the size it succeeds, also through the
// exact (no 8-byte overrun) path at the end of the buffer.
TEST(HuffmanDeflate, CapTooSmallReturnsZeroAndNeverWritesPastCap) {
  const Bytes x = x_scaled_bytes();
  const std::vector<Bytes> inputs = {Bytes(x.begin(), x.begin() + 300'000), lcg_bytes(200'000, 9, 3),
                                     lcg_bytes(100'000, 1), Bytes(1000, std::byte{1}), Bytes{}};
  for (const Bytes& in : inputs) {
    const size_t need = io::huffman_zlib_size(in.data(), in.size());
    for (size_t cap : {need - 1, need, need + 3, need + 9}) {
      SCOPED_TRACE(std::to_string(in.size()) + " bytes, cap " + std::to_string(cap));
      Bytes out(cap + 32, std::byte{0xa5});
      const size_t got = io::huffman_zlib_compress(in.data(), in.size(), out.data(), cap);
      for (size_t i = cap; i < out.size(); ++i) ASSERT_EQ(out[i], std::byte{0xa5}) << "wrote past cap at " << i;
      if (cap < need) {
        EXPECT_EQ(got, 0u);
      } else {
        ASSERT_EQ(got, need);
        out.resize(got);
        expect_round_trip(in, out);
      }
    }
  }
  Bytes out(8);
  EXPECT_EQ(io::huffman_zlib_compress(x.data(), x.size(), out.data(), 0), 0u);
  EXPECT_EQ(io::huffman_zlib_compress(x.data(), x.size(), out.data(), 5), 0u);
  EXPECT_EQ(io::huffman_zlib_compress(x.data(), x.size(), out.data(), out.size()), 0u);
}

// Levels 1 and 9 make the same choice for X's chunks (the probe runs at
// level 4 whatever the level), and both files read back exactly.
TEST(HuffmanDeflate, LevelsOneAndNineTakeHuffmanForDenseFloats) {
  const Array x = io::read_npy(shared("golden/pbmc3k/X_scaled.npy"));
  TempDir tmp;
  for (int level : {1, 9}) {
    SCOPED_TRACE(level);
    const std::string p = tmp.file("x" + std::to_string(level) + ".h5");
    {
      h5::Handle f = h5::create_file(p);
      h5::write_array(f, "X", x, {.gzip_level = level});
    }
    h5::Handle f = h5::open_file(p);
    h5::Handle d = h5::open_dataset(f, "X", {p, "/X"});
    const Array back = h5::read_array(d, {p, "/X"});
    EXPECT_EQ(std::memcmp(back.raw(), x.raw(), static_cast<size_t>(x.size()) * 4), 0);
    h5::Handle space(H5Dget_space(d));
    hsize_t n = 0;
    H5Dget_num_chunks(d, space, &n);
    ASSERT_GE(n, 2u);
    hsize_t off[2] = {0, 0}, size = 0;
    unsigned mask = 0;
    haddr_t addr = 0;
    H5Dget_chunk_info(d, space, 0, off, &mask, &addr, &size);
    std::vector<unsigned char> first(size);
    uint32_t filters = 0;
    H5Dread_chunk(d, H5P_DEFAULT, off, &filters, first.data());
    EXPECT_EQ(first[1], 0x01);
    EXPECT_LT(static_cast<double>(H5Dget_storage_size(d)), 0.91 * static_cast<double>(x.size()) * 4);
  }
}

namespace {

struct ChunkInfo {
  std::vector<char> bytes;
  unsigned mask = 0;
  bool operator==(const ChunkInfo&) const = default;
};

// Every stored chunk of every dataset in the file, as written.
std::map<std::string, std::vector<ChunkInfo>> all_chunks(const std::string& path) {
  std::map<std::string, std::vector<ChunkInfo>> out;
  h5::Handle f = h5::open_file(path);
  struct Ctx {
    hid_t file;
    std::map<std::string, std::vector<ChunkInfo>>* out;
  } ctx{f, &out};
  H5Ovisit2(
      f, H5_INDEX_NAME, H5_ITER_NATIVE,
      [](hid_t, const char* name, const H5O_info_t* info, void* p) -> herr_t {
        if (info->type != H5O_TYPE_DATASET) return 0;
        auto* c = static_cast<Ctx*>(p);
        h5::Handle d(H5Dopen2(c->file, name, H5P_DEFAULT));
        h5::Handle dcpl(H5Dget_create_plist(d));
        auto& chunks = (*c->out)[name];
        if (H5Pget_layout(dcpl) != H5D_CHUNKED) return 0;
        h5::Handle space(H5Dget_space(d));
        hsize_t n = 0;
        H5Dget_num_chunks(d, space, &n);
        for (hsize_t i = 0; i < n; ++i) {
          hsize_t off[H5S_MAX_RANK] = {}, size = 0;
          unsigned mask = 0;
          haddr_t addr = 0;
          H5Dget_chunk_info(d, space, i, off, &mask, &addr, &size);
          ChunkInfo ci;
          ci.bytes.resize(size);
          uint32_t filters = 0;
          H5Dread_chunk(d, H5P_DEFAULT, off, &filters, ci.bytes.data());
          ci.mask = filters;
          chunks.push_back(std::move(ci));
        }
        return 0;
      },
      &ctx, H5O_INFO_BASIC);
  return out;
}

hsize_t storage(const std::string& path, const std::string& name) {
  h5::Handle f = h5::open_file(path);
  h5::Handle d(H5Dopen2(f, name.c_str(), H5P_DEFAULT));
  return H5Dget_storage_size(d);
}

bool same_bytes(const Array& a, const Array& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw(), b.raw(), static_cast<size_t>(a.size()) * dtype_size(a.dtype())) == 0;
}

}  // namespace

// The PBMC scaled matrix as dense X and the raw counts as raw.X, written with
// gzip 4: X's chunks go Huffman-only (zlib FLG byte 0x01) at libdeflate's
// size within 2%, the counts keep LZ77 (they compress ~3-6x with it), and
// scanpp, h5py and anndata read identical values; 1 and 2 threads store the
// same chunks.
TEST(HuffmanDeflate, H5adWithDenseAndSparseReadsBackEverywhere) {
  AnnData ad;
  ad.X = Element(io::read_npy(shared("golden/pbmc3k/X_scaled.npy")));
  const SparseMatrix counts = io::read_sparse_npz(shared("golden/pbmc3k/counts_filtered_csr.npz"));
  std::vector<std::string> cells, genes, raw_genes;
  for (int64_t i = 0; i < counts.n_rows; ++i) cells.push_back("c" + std::to_string(i));
  for (int64_t j = 0; j < 1838; ++j) genes.push_back("g" + std::to_string(j));
  for (int64_t j = 0; j < counts.n_cols; ++j) raw_genes.push_back("r" + std::to_string(j));
  ad.obs = DataFrame(cells);
  ad.var = DataFrame(genes);
  Raw raw;
  raw.X = Element(counts);
  raw.var = DataFrame(raw_genes);
  ad.raw = raw;

  TempDir tmp;
  std::vector<std::map<std::string, std::vector<ChunkInfo>>> chunks;
  for (int t : {1, 2}) {
    set_num_threads(t);
    const std::string p = tmp.file("t" + std::to_string(t) + ".h5ad");
    io::write_h5ad(ad, p, {.compression = 4});
    chunks.push_back(all_chunks(p));
  }
  set_num_threads(0);
  ASSERT_EQ(chunks[0].size(), chunks[1].size());
  for (const auto& [name, c] : chunks[0]) EXPECT_TRUE(c == chunks[1].at(name)) << name << " differs with 2 threads";

  const std::string path = tmp.file("t2.h5ad");
  const auto& x_chunks = chunks[1].at("X");
  ASSERT_GE(x_chunks.size(), 18u);
  // The last chunk is mostly zero padding, where matching pays.
  for (size_t i = 0; i + 1 < x_chunks.size(); ++i) {
    const auto& c = x_chunks[i];
    ASSERT_GE(c.bytes.size(), 2u);
    EXPECT_EQ(c.mask, 0u);
    EXPECT_EQ(static_cast<unsigned char>(c.bytes[1]), 0x01) << "X chunk " << i << " not Huffman-only";
  }
  EXPECT_EQ(static_cast<unsigned char>(x_chunks.back().bytes[1]), 0x5e);
  for (const char* name : {"raw/X/data", "raw/X/indices"})
    for (const auto& c : chunks[1].at(name)) EXPECT_NE(static_cast<unsigned char>(c.bytes[1]), 0x01) << name;

  // Sizes against libdeflate level 4 on the same chunks (1 MiB of values,
  // zero-padded at the end, as stored).
  const Array& x = ad.X->get<Array>();
  const auto* xb = static_cast<const std::byte*>(x.raw());
  const size_t xbytes = static_cast<size_t>(x.size()) * 4;
  const size_t cbytes = [&] {
    h5::Handle f = h5::open_file(path);
    h5::Handle d(H5Dopen2(f, "X", H5P_DEFAULT));
    h5::Handle dcpl(H5Dget_create_plist(d));
    hsize_t dims[2] = {};
    H5Pget_chunk(dcpl, 2, dims);
    return static_cast<size_t>(dims[0] * dims[1] * 4);
  }();
  size_t lib4 = 0;
  for (size_t off = 0; off < xbytes; off += cbytes) {
    Bytes c(cbytes, std::byte{0});
    std::memcpy(c.data(), xb + off, std::min(cbytes, xbytes - off));
    lib4 += libdeflate_size(c.data(), c.size(), 4);
  }
  const double x_rel = static_cast<double>(storage(path, "X")) / static_cast<double>(lib4);
  RecordProperty("X_vs_libdeflate4", std::to_string(x_rel));
  EXPECT_LT(x_rel, 1.02);
  auto lib4_1d = [&](const void* data, size_t n, const std::string& name) {
    size_t total = 0;
    h5::Handle f = h5::open_file(path);
    h5::Handle d(H5Dopen2(f, name.c_str(), H5P_DEFAULT));
    h5::Handle dcpl(H5Dget_create_plist(d));
    hsize_t chunk = 0;
    H5Pget_chunk(dcpl, 1, &chunk);
    const size_t cb = static_cast<size_t>(chunk) * 4;
    for (size_t off = 0; off < n; off += cb) {
      Bytes c(cb, std::byte{0});
      std::memcpy(c.data(), static_cast<const std::byte*>(data) + off, std::min(cb, n - off));
      total += libdeflate_size(c.data(), c.size(), 4);
    }
    return total;
  };
  const size_t data_lib4 = lib4_1d(counts.data.raw(), static_cast<size_t>(counts.nnz()) * 4, "raw/X/data");
  const size_t idx_lib4 = lib4_1d(counts.indices.data(), counts.indices.size() * 4, "raw/X/indices");
  EXPECT_LE(static_cast<double>(storage(path, "raw/X/data")), 1.01 * static_cast<double>(data_lib4));
  EXPECT_LE(static_cast<double>(storage(path, "raw/X/indices")), 1.01 * static_cast<double>(idx_lib4));

  AnnData back = io::read_h5ad(path);
  EXPECT_TRUE(same_bytes(back.X->get<Array>(), x));
  EXPECT_TRUE(back.raw->X->get<SparseMatrix>() == counts);

  std::string log;
  const std::string cmd = "/usr/bin/python3 " + std::string(SCANPP_SOURCE_DIR) +
                          "/tests/interop/huffman_deflate_interop.py " + path + " " +
                          shared("golden/pbmc3k/X_scaled.npy") + " " +
                          shared("golden/pbmc3k/counts_filtered_csr.npz");
  ASSERT_EQ(run_command(cmd, &log), 0) << log;
  EXPECT_NE(log.find("OK"), std::string::npos) << log;
}
