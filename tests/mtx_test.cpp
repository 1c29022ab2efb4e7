// MatrixMarket reading: values and structure checked against what
// anndata.read_mtx (scipy.io.mmread + csr_matrix) gives for the same files,
// the 10x transposed path against core's transpose, and every malformed
// input against its error message.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "scanpp/core/error.hpp"
#include "text_file_support.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/core/sparse.hpp"
#include "scanpp/io/mtx.hpp"
#include "scanpp/io/text_reader.hpp"

namespace fs = std::filesystem;
using namespace scanpp;
using scanpp::testing::input_error;

namespace {

const std::string kShared = SCANPP_SHARED_DIR;
const std::string kPbmcMtx = kShared + "/data/pbmc3k/filtered_gene_bc_matrices/hg19/matrix.mtx";
const std::string kV3Mtx = kShared + "/data/tenx_formats/3.0.0/filtered_feature_bc_matrix/matrix.mtx.gz";

using MtxFiles = scanpp::testing::TextFiles;


std::vector<float> floats(const SparseMatrix& m) {
  auto s = m.data.as<float>();
  return {s.begin(), s.end()};
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

}  // namespace

TEST_F(MtxFiles, GeneralRealSumsDuplicatesKeepsZerosSortsIndices) {
  // Expected from anndata.read_mtx on the same text.
  const auto p = write("d.mtx",
                       "%%MatrixMarket matrix coordinate real general\n3 3 5\n1 2 1.5\n1 2 2.25\n3 1 0\n2 3 -1e-3\n1 1 7\n");
  const SparseMatrix m = io::read_mtx_matrix(p);
  EXPECT_EQ(m.format, SparseFormat::CSR);
  EXPECT_EQ(m.n_rows, 3);
  EXPECT_EQ(m.n_cols, 3);
  EXPECT_EQ(m.indptr, (std::vector<int64_t>{0, 2, 3, 4}));
  EXPECT_EQ(m.indices, (std::vector<int32_t>{0, 1, 2, 0}));
  EXPECT_EQ(floats(m), (std::vector<float>{7.0f, 3.75f, -0.001f, 0.0f}));
  EXPECT_NO_THROW(m.validate());
}

TEST_F(MtxFiles, SymmetricSkewAndPatternExpandAsScipy) {
  const auto sym = write("sym.mtx",
                         "%%MatrixMarket matrix coordinate integer symmetric\n% comment\n4 4 4\n1 1 5\n3 1 -2\n4 2 7\n4 4 1\n");
  SparseMatrix m = io::read_mtx_matrix(sym);
  EXPECT_EQ(m.indptr, (std::vector<int64_t>{0, 2, 3, 4, 6}));
  EXPECT_EQ(m.indices, (std::vector<int32_t>{0, 2, 3, 0, 1, 3}));
  EXPECT_EQ(floats(m), (std::vector<float>{5, -2, 7, -2, 7, 1}));

  const auto skew = write("skew.mtx", "%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 2\n2 1 1.5\n3 2 -4\n");
  m = io::read_mtx_matrix(skew);
  EXPECT_EQ(m.indptr, (std::vector<int64_t>{0, 1, 3, 4}));
  EXPECT_EQ(m.indices, (std::vector<int32_t>{1, 0, 2, 1}));
  EXPECT_EQ(floats(m), (std::vector<float>{-1.5f, 1.5f, 4.0f, -4.0f}));

  const auto pat = write("pat.mtx", "%%MatrixMarket matrix coordinate pattern general\n2 3 3\n2 3\n1 1\n2 1\n");
  m = io::read_mtx_matrix(pat);
  EXPECT_EQ(m.indptr, (std::vector<int64_t>{0, 1, 3}));
  EXPECT_EQ(m.indices, (std::vector<int32_t>{0, 0, 2}));
  EXPECT_EQ(floats(m), (std::vector<float>{1, 1, 1}));
  const io::MtxHeader h = io::read_mtx_header(pat);
  EXPECT_EQ(h.field, "pattern");
  EXPECT_EQ(h.symmetry, "general");
  EXPECT_EQ(h.n_rows, 2);
  EXPECT_EQ(h.n_cols, 3);
  EXPECT_EQ(h.n_entries, 3);
}

TEST_F(MtxFiles, ValuesRoundToFloat32AsNumpy) {
  // numpy: float32(float64(text)); bit patterns printed by numpy.
  const auto p = write("v.mtx",
                       "%%MatrixMarket matrix coordinate real general\r\n1 7 7\r\n1 1 0.1\r\n1 2 16777217\r\n1 3 1e-50\r\n"
                       "1 4 +2.5\r\n1 5 -0\r\n1 6 3.4028235e38\r\n1\t7\t  1e-400  \r\n");
  const SparseMatrix m = io::read_mtx_matrix(p);
  const auto v = floats(m);
  ASSERT_EQ(v.size(), 7u);
  EXPECT_EQ(bits(v[0]), 0x3dcccccdu);
  EXPECT_EQ(bits(v[1]), 0x4b800000u);
  EXPECT_EQ(bits(v[2]), 0x0u);
  EXPECT_EQ(bits(v[3]), 0x40200000u);
  EXPECT_EQ(bits(v[4]), 0x80000000u);
  EXPECT_EQ(bits(v[5]), 0x7f7fffffu);
  EXPECT_EQ(bits(v[6]), 0x0u);
  // float64 keeps the parsed doubles.
  const SparseMatrix d = io::read_mtx_matrix(p, DType::Float64);
  EXPECT_EQ(d.data.as<double>()[0], 0.1);
  EXPECT_EQ(d.data.as<double>()[1], 16777217.0);
  EXPECT_EQ(d.data.as<double>()[2], 1e-50);
  // integer targets truncate as numpy's astype.
  const auto q = write("i.mtx", "%%MatrixMarket matrix coordinate real general\n1 2 2\n1 1 2.9\n1 2 -3.7\n");
  const SparseMatrix i = io::read_mtx_matrix(q, DType::Int32);
  EXPECT_EQ(i.data.as<int32_t>()[0], 2);
  EXPECT_EQ(i.data.as<int32_t>()[1], -3);
}

TEST_F(MtxFiles, ReadMtxGivesAnnDataWithRangeNames) {
  const auto p = write("a.mtx", "%%MatrixMarket matrix coordinate integer general\n3 2 2\n3 2 4\n1 1 1\n");
  const AnnData a = io::read_mtx(p);
  EXPECT_EQ(a.n_obs(), 3);
  EXPECT_EQ(a.n_vars(), 2);
  EXPECT_EQ(a.obs_names(), (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(a.var_names(), (std::vector<std::string>{"0", "1"}));
  ASSERT_TRUE(a.x_is_sparse());
  EXPECT_EQ(a.X_sparse().dtype(), DType::Float32);
  EXPECT_EQ(floats(a.X_sparse()), (std::vector<float>{1, 4}));
}

TEST_F(MtxFiles, GzipEqualsPlainAndTransposedEqualsTranspose) {
  std::string text = "%%MatrixMarket matrix coordinate real general\n%\n5 4 7\n";
  text += "5 4 1\n2 1 2.5\n2 3 3\n1 4 4\n5 1 5\n3 3 6\n2 1 1\n";
  const auto plain = write("m.mtx", text);
  const auto gz = write_gz("m.mtx.gz", text);
  EXPECT_FALSE(io::is_gzip_file(plain));
  EXPECT_TRUE(io::is_gzip_file(gz));
  const SparseMatrix a = io::read_mtx_matrix(plain), b = io::read_mtx_matrix(gz);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.nnz(), 6);  // (2,1) appears twice and is summed
  const SparseMatrix t = io::read_mtx_matrix_transposed(gz);
  EXPECT_EQ(t.n_rows, 4);
  EXPECT_EQ(t.n_cols, 5);
  EXPECT_EQ(t, transpose(a));
}

TEST_F(MtxFiles, LargeShuffledFileAcrossChunksAndThreads) {
  // About 3 MiB: several parse chunks, an unsorted entry order (scatter path)
  // and the same entries sorted by column (concatenation path).
  std::mt19937_64 rng(7);
  const int rows = 3000, cols = 500;
  std::vector<std::tuple<int, int, int>> e;
  for (int c = 1; c <= cols; ++c)
    for (int r = 1; r <= rows; r += 1 + static_cast<int>(rng() % 9)) e.emplace_back(r, c, 1 + static_cast<int>(rng() % 50));
  auto render = [&](const std::vector<std::tuple<int, int, int>>& es) {
    std::string s = "%%MatrixMarket matrix coordinate integer general\n" + std::to_string(rows) + " " + std::to_string(cols) +
                    " " + std::to_string(es.size()) + "\n";
    for (auto& [r, c, v] : es) s += std::to_string(r) + " " + std::to_string(c) + " " + std::to_string(v) + "\n";
    return s;
  };
  const auto sorted_path = write("sorted.mtx", render(e));
  ASSERT_GT(fs::file_size(sorted_path), 3u << 20);
  auto shuffled = e;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  const auto shuffled_path = write("shuffled.mtx", render(shuffled));

  const SparseMatrix a = io::read_mtx_matrix(sorted_path), b = io::read_mtx_matrix(shuffled_path);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.nnz(), static_cast<int64_t>(e.size()));
  const SparseMatrix at = io::read_mtx_matrix_transposed(sorted_path), bt = io::read_mtx_matrix_transposed(shuffled_path);
  EXPECT_EQ(at, bt);
  EXPECT_EQ(at, transpose(a));
  double sum = 0, expect = 0;
  for (float v : a.data.as<float>()) sum += v;
  for (auto& [r, c, v] : e) expect += v;
  EXPECT_EQ(sum, expect);

  const int threads = num_threads();
  set_num_threads(1);
  const SparseMatrix one = io::read_mtx_matrix_transposed(shuffled_path);
  set_num_threads(threads);
  EXPECT_EQ(one, bt);

  // A bad line deep in a later chunk is reported with its own line number.
  auto broken = e;
  std::string text = render(broken);
  const size_t line_no = 200000;
  size_t pos = 0;
  for (size_t l = 1; l < line_no; ++l) pos = text.find('\n', pos) + 1;
  text.replace(pos, text.find('\n', pos) - pos, "17 x 3");
  const auto bad = write("bad.mtx", text);
  const std::string msg = input_error([&] { io::read_mtx_matrix(bad); });
  EXPECT_CONTAINS(msg, "line 200000:");
  EXPECT_CONTAINS(msg, "'17 x 3'");
}

// Short lines, many to a chunk's stretch of bytes (the parser's count of
// lines, the room its entries get, must not overflow): 6-byte lines over
// two 1 MiB chunks, with every line an entry, summed as duplicates.
TEST_F(MtxFiles, DenseShortLinesAcrossChunks) {
  const int64_t n = 400000;
  std::string text = "%%MatrixMarket matrix coordinate integer general\n3 3 " + std::to_string(n) + "\n";
  for (int64_t i = 0; i < n; ++i) text += i % 2 ? "1 1 1\n" : "3 2 2\n";
  for (int t : {1, 2}) {
    set_num_threads(t);
    const SparseMatrix m = io::read_mtx_matrix(write("short.mtx", text));
    EXPECT_EQ(m.indptr, (std::vector<int64_t>{0, 1, 1, 2}));
    EXPECT_EQ(m.indices, (std::vector<int32_t>{0, 1}));
    EXPECT_EQ(floats(m), (std::vector<float>{static_cast<float>(n / 2), static_cast<float>(n)}));
  }
  set_num_threads(0);
}

TEST(MtxPbmc3k, MatchesScanpyCounts) {
  const SparseMatrix m = io::read_mtx_matrix(kPbmcMtx);
  EXPECT_EQ(m.n_rows, 32738);
  EXPECT_EQ(m.n_cols, 2700);
  EXPECT_EQ(m.nnz(), 2286884);
  double total = 0;
  for (float v : m.data.as<float>()) total += v;
  EXPECT_EQ(total, 6390631.0);
  EXPECT_NO_THROW(m.validate());
  const SparseMatrix t = io::read_mtx_matrix_transposed(kPbmcMtx);
  EXPECT_EQ(t, transpose(m));
}

TEST(MtxV3, GzippedTenxMatrix) {
  // scipy: 507 x 1107, 23866 entries summing to 41549, integer field.
  const io::MtxHeader h = io::read_mtx_header(kV3Mtx);
  EXPECT_EQ(h.field, "integer");
  EXPECT_EQ(h.n_rows, 507);
  EXPECT_EQ(h.n_cols, 1107);
  const SparseMatrix m = io::read_mtx_matrix(kV3Mtx);
  EXPECT_EQ(m.nnz(), 23866);
  double total = 0;
  for (float v : m.data.as<float>()) total += v;
  EXPECT_EQ(total, 41549.0);
}

// ---------------------------------------------------------------------------
// Errors: one per kind of bad input, each naming the file and the line.

TEST_F(MtxFiles, ErrorNotMatrixMarket) {
  const auto p = write("x.mtx", "hello\n1 1 1\n");
  const auto msg = input_error([&] { io::read_mtx_matrix(p); });
  EXPECT_CONTAINS(msg, p + ": line 1: not a MatrixMarket file");
  const auto e = write("empty.mtx", "");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(e); }), "empty file");
}

TEST_F(MtxFiles, ErrorUnsupportedFormats) {
  const auto arr = write("arr.mtx", "%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n4\n");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(arr); }), "line 1: unsupported MatrixMarket format 'array'");
  const auto cx = write("cx.mtx", "%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 2\n");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(cx); }), "unsupported MatrixMarket field 'complex'");
  const auto short_banner = write("sb.mtx", "%%MatrixMarket matrix coordinate real\n1 1 1\n1 1 1\n");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(short_banner); }), "bad MatrixMarket header");
}

TEST_F(MtxFiles, ErrorBadSizeLine) {
  const auto p = write("s.mtx", "%%MatrixMarket matrix coordinate real general\n% c\n\n3 x 2\n1 1 1\n");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(p); }), p + ": line 4: bad size line '3 x 2'");
  const auto two = write("s2.mtx", "%%MatrixMarket matrix coordinate real general\n3 3\n");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(two); }), "line 2: bad size line");
  const auto none = write("s3.mtx", "%%MatrixMarket matrix coordinate real general\n%only comments\n");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(none); }), "file ends before the size line");
}

TEST_F(MtxFiles, ErrorMalformedEntry) {
  const auto p = write("m.mtx", "%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 1\n2 2 abc\n3 3 3\n");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(p); }), p + ": line 4: malformed entry '2 2 abc'");
  const auto extra = write("e.mtx", "%%MatrixMarket matrix coordinate integer general\n3 3 2\n1 1 1\n2 2 2 9\n");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(extra); }), "line 4: malformed entry '2 2 2 9'");
  const auto missing = write("mv.mtx", "%%MatrixMarket matrix coordinate real general\n3 3 1\n1 1\n");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(missing); }), "line 3: malformed entry '1 1'");
  const auto frac = write("f.mtx", "%%MatrixMarket matrix coordinate integer general\n3 3 1\n1 1 1.5\n");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(frac); }), "integer value");
}

TEST_F(MtxFiles, ErrorEntryCountDisagrees) {
  const auto fewer = write("few.mtx", "%%MatrixMarket matrix coordinate real general\n3 3 4\n1 1 1\n2 2 2\n3 3 3\n");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(fewer); }),
                  fewer + ": line 5: file ends after 3 of the 4 entries declared in the size line");
  const auto more = write("more.mtx", "%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1\n2 2 2\n3 3 3\n");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(more); }),
                  more + ": line 5: more entries than the 2 declared in the size line");
  // A gzip stream cut short.
  std::string text = "%%MatrixMarket matrix coordinate integer general\n100 100 1000\n";
  for (int i = 0; i < 1000; ++i) text += std::to_string(i % 100 + 1) + " " + std::to_string(i / 10 + 1) + " " + std::to_string(i) + "\n";
  const auto gz = write_gz("t.mtx.gz", text);
  const auto size = fs::file_size(gz);
  fs::resize_file(gz, size / 2);
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(gz); }), gz + ": gzip data is truncated");
}

TEST_F(MtxFiles, ErrorIndexOutOfRange) {
  const auto row = write("r.mtx", "%%MatrixMarket matrix coordinate real general\n3 2 2\n1 1 1\n4 2 2\n");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(row); }), row + ": line 4: row index 4 out of range 1..3");
  const auto col = write("c.mtx", "%%MatrixMarket matrix coordinate real general\n3 2 2\n1 3 1\n1 1 2\n");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix_transposed(col); }), "line 3: column index 3 out of range 1..2");
  const auto zero = write("z.mtx", "%%MatrixMarket matrix coordinate pattern general\n3 2 1\n0 1\n");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(zero); }), "line 3: row index 0 out of range 1..3");
}

TEST_F(MtxFiles, ErrorNonFiniteValue) {
  for (const char* v : {"nan", "inf", "-Infinity", "1e400"}) {
    const auto p = write("n.mtx", std::string("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n2 2 ") + v + "\n");
    EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(p); }), "line 4: non-finite value");
  }
}

TEST_F(MtxFiles, ErrorMissingFile) {
  const std::string p = dir_.file("nope.mtx");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(p); }), p + ": cannot open file");
  EXPECT_CONTAINS(input_error([&] { io::read_mtx_matrix(dir_.path()); }), "is a folder");
}

TEST_F(MtxFiles, TextBlockReaderReturnsWholeLines) {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "line " + std::to_string(i) + (i % 7 ? "" : std::string(300, 'x')) + "\n";
  text += "last without newline";
  const auto gz = write_gz("lines.gz", text);
  io::LineReader lines(gz, 4096);  // small blocks: lines cross block ends
  std::string_view l;
  std::string joined;
  int64_t n = 0;
  while (lines.next(l)) {
    joined += l;
    joined += '\n';
    ++n;
  }
  EXPECT_EQ(n, 5001);
  EXPECT_EQ(lines.line_number(), 5001);
  EXPECT_EQ(joined, text + "\n");
  EXPECT_EQ(io::read_text_file(gz).view(), text);
}

TEST_F(MtxFiles, ConcatenatedGzipMembersReadAsOneFile) {
  // `cat a.gz b.gz` is a valid gzip file holding both texts (as gzip -d and
  // Python's gzip read it); trailing zero padding is ignored.
  const std::string a = "%%MatrixMarket matrix coordinate integer general\n2 2 2\n", b = "1 1 3\n2 2 4\n";
  const auto pa = write_gz("a.gz", a), pb = write_gz("b.gz", b);
  std::ifstream fa(pa, std::ios::binary), fb(pb, std::ios::binary);
  std::string both((std::istreambuf_iterator<char>(fa)), {});
  both.append((std::istreambuf_iterator<char>(fb)), {});
  const auto joined = write("ab.mtx.gz", both + std::string(8, '\0'));
  EXPECT_EQ(io::read_text_file(joined).view(), a + b);
  const SparseMatrix m = io::read_mtx_matrix(joined);
  EXPECT_EQ(floats(m), (std::vector<float>{3, 4}));
  io::LineReader lines(joined, 4096);
  std::string_view l;
  std::string seen;
  while (lines.next(l)) seen += std::string(l) + "\n";
  EXPECT_EQ(seen, a + b);
  // Garbage after the gzip data is an error, not silently dropped.
  const auto bad = write("bad.mtx.gz", both + "garbage");
  EXPECT_CONTAINS(input_error([&] { io::read_text_file(bad); }), "unexpected bytes after the end of the gzip data");
}
