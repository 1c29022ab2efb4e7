// The .npy / .npz reader: golden files, Fortran order, endianness, strings,
// deflate, and clear errors on malformed input.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "golden_support.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/io/npy.hpp"

using namespace scanpp;

namespace {

std::vector<uint8_t> npy(const std::string& descr, bool fortran, const std::string& shape, const std::vector<uint8_t>& data) {
  std::string h = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  const uint8_t head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(h.size() & 0xFF),
                            static_cast<uint8_t>(h.size() >> 8)};
  std::vector<uint8_t> out;
  out.reserve(sizeof head + h.size() + data.size());
  for (uint8_t c : head) out.push_back(c);
  for (char c : h) out.push_back(static_cast<uint8_t>(c));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::string temp_file(const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string p = testing::TempDir() + name;
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return p;
}

}  // namespace

TEST(Npy, GoldenSparseNpzAndFortranNpy) {
  const SparseMatrix m = io::read_sparse_npz(golden::shared("golden/pbmc3k/counts_filtered_csr.npz"));
  EXPECT_EQ(m.n_rows, 2638);
  EXPECT_EQ(m.n_cols, 13714);
  EXPECT_EQ(m.nnz(), 2238732);
  EXPECT_EQ(m.dtype(), DType::Float32);
  // The first cell's counts sum to its golden total (obs_final total_counts).
  double s = 0;
  for (int64_t k = m.indptr[0]; k < m.indptr[1]; ++k) s += m.data.as<float>()[static_cast<size_t>(k)];
  EXPECT_EQ(s, 2419.0);
  const io::NpzFile z = io::read_npz(golden::shared("golden/pbmc3k/counts_filtered_csr.npz"));
  EXPECT_EQ(z.strings.at("format").values, std::vector<std::string>{"csr"});
  EXPECT_EQ(z.array("indptr").dtype(), DType::Int32);
  // X_pca.npy is stored in Fortran order: row 0 must be the cell's scores.
  const Array pca = io::read_npy(golden::shared("golden/pbmc3k/X_pca.npy"));
  ASSERT_EQ(pca.shape(), (std::vector<int64_t>{2638, 50}));
  EXPECT_EQ(pca.dtype(), DType::Float32);
  const Array knn = io::read_npy(golden::shared("golden/pbmc3k/knn_indices.npy"));
  EXPECT_EQ(knn.shape()[0], 2638);
}

TEST(Npy, OrdersEndiannessAndStrings) {
  // 2x3 int32 in Fortran order: memory holds columns.
  std::vector<uint8_t> d;
  for (int32_t v : {1, 4, 2, 5, 3, 6})
    for (int b = 0; b < 4; ++b) d.push_back(static_cast<uint8_t>((v >> (8 * b)) & 0xFF));
  Array a = io::parse_npy(npy("<i4", true, "(2, 3)", d));
  EXPECT_EQ(a.to_vector<int32_t>(), (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));
  // Big-endian float64 scalar 1.5 (shape ()).
  Array b = io::parse_npy(npy(">f8", false, "()", {0x3F, 0xF8, 0, 0, 0, 0, 0, 0}));
  EXPECT_TRUE(b.is_scalar());
  EXPECT_EQ(b.get_double(0), 1.5);
  Array c = io::parse_npy(npy("|b1", false, "(2,)", {1, 0}));
  EXPECT_EQ(c.dtype(), DType::Bool);
  EXPECT_THROW(io::parse_npy(npy("|b1", false, "(1,)", {7})), InputError);
  EXPECT_THROW(io::parse_npy(npy("|S3", false, "(1,)", {'c', 's', 'r'})), InputError);
}

TEST(Npy, MalformedInputIsAnInputError) {
  EXPECT_THROW(io::parse_npy({1, 2, 3}), InputError);
  std::vector<uint8_t> ok = npy("<f4", false, "(4,)", std::vector<uint8_t>(16, 0));
  std::vector<uint8_t> cut(ok.begin(), ok.end() - 4);
  EXPECT_THROW(io::parse_npy(cut), InputError);
  EXPECT_THROW(io::parse_npy(npy("<c16", false, "(1,)", std::vector<uint8_t>(16, 0))), InputError);
  EXPECT_THROW(io::parse_npy(npy("<f4", false, "(a,)", {})), InputError);
  EXPECT_THROW(io::read_npy(testing::TempDir() + "does_not_exist.npy"), InputError);
  const std::string notzip = temp_file("notzip.npz", ok);
  EXPECT_THROW(io::read_npz(notzip), InputError);
  // A truncated copy of a real archive.
  std::ifstream in(golden::shared("golden/pbmc3k/counts_filtered_csr.npz"), std::ios::binary);
  std::vector<uint8_t> z((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  z.resize(z.size() / 2);
  EXPECT_THROW(io::read_npz(temp_file("half.npz", z)), InputError);
  try {
    io::read_sparse_npz(temp_file("npy_as_npz.npz", ok));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("npy_as_npz.npz"), std::string::npos);
  }
}
