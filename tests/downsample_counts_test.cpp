// downsample_counts: the thinned counts equal Scanpy's (numba 0.56 kernel run
// with numpy 1.24; values printed by it), totals are exact, results are
// deterministic and independent of the thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "scanpp/core/parallel.hpp"
#include "scanpp/pp/downsample_counts.hpp"
#include "test_paths.hpp"

using namespace scanpp;
using scanpp::testing::shared;

namespace {

std::vector<float> vec() { return {5, 0, 3, 12, 0, 7, 1, 20, 2, 0, 9, 4}; }

// 6 x 15 counts (numpy: RandomState(123).poisson(2, (6, 15)), values < 1.5 set to 0).
Array counts() {
  return Array::from_vector(
      std::vector<float>{2, 4, 2, 2, 2, 0, 4, 2, 0, 0, 2, 0, 4, 0, 0, 2, 3, 3, 0, 4, 3, 2, 0, 3, 2, 0, 2, 3, 0, 0,
                         4, 0, 0, 2, 0, 0, 3, 2, 0, 3, 0, 3, 3, 3, 0, 2, 0, 2, 3, 2, 2, 2, 0, 4, 2, 4, 2, 3, 0, 0,
                         2, 2, 0, 3, 3, 0, 2, 0, 4, 2, 4, 0, 2, 2, 2, 2, 0, 0, 3, 3, 0, 3, 3, 2, 2, 3, 0, 0, 2, 0},
      {6, 15});
}

std::vector<float> as_floats(const std::vector<int>& v) { return {v.begin(), v.end()}; }

std::vector<float> dense_values(const Element& e) {
  const Array d = e.is<Array>() ? e.get<Array>() : to_dense(e.get<SparseMatrix>());
  const auto s = d.as<float>();
  return {s.begin(), s.end()};
}

// Kang et al. counts (genes x cells in the file), as a cells x genes CSR float32 matrix.
SparseMatrix kang_counts() {
  std::ifstream mtx(shared("data/kang_stim/matrix.mtx"));
  std::string line;
  while (std::getline(mtx, line) && line[0] == '%') {
  }
  int64_t n_genes, n_cells, nnz;
  std::istringstream(line) >> n_genes >> n_cells >> nnz;
  SparseMatrix csc;  // the file's genes x cells as a CSC of cells x genes, built row by row
  std::vector<std::vector<std::pair<int32_t, float>>> rows(static_cast<size_t>(n_cells));
  int64_t g, c;
  double v;
  while (mtx >> g >> c >> v) rows[static_cast<size_t>(c - 1)].push_back({static_cast<int32_t>(g - 1), static_cast<float>(v)});
  SparseMatrix m;
  m.n_rows = n_cells;
  m.n_cols = n_genes;
  std::vector<float> data;
  for (auto& r : rows) {
    std::sort(r.begin(), r.end());
    for (auto& [gi, val] : r) {
      m.indices.push_back(gi);
      data.push_back(val);
    }
    m.indptr.push_back(static_cast<int64_t>(m.indices.size()));
  }
  m.data = Array::from_vector(data);
  return m;
}

}  // namespace

TEST(DownsampleCounts, VectorMatchesScanpysKernel) {
  struct Case {
    bool replace;
    uint32_t seed;
    std::vector<int> expect;
  };
  const std::vector<Case> cases = {{false, 0, {2, 0, 1, 3, 0, 2, 1, 11, 1, 0, 2, 2}},
                                   {false, 7, {2, 0, 0, 7, 0, 3, 1, 8, 2, 0, 1, 1}},
                                   {true, 0, {4, 0, 1, 3, 0, 6, 0, 7, 0, 0, 3, 1}},
                                   {true, 7, {4, 0, 1, 4, 0, 5, 0, 8, 1, 0, 2, 0}}};
  for (const auto& c : cases) {
    std::vector<float> v = vec();
    pp::downsample_vector(std::span<float>(v), 25, c.seed, c.replace);
    EXPECT_EQ(v, as_floats(c.expect)) << "replace=" << c.replace << " seed=" << c.seed;
  }
}

TEST(DownsampleCounts, PerCellMatchesScanpyOnCsrCscAndDense) {
  const std::vector<int> expect = {1, 0, 0, 1, 2, 0, 2, 1, 0, 0, 0, 0, 3, 0, 0, 0, 1, 1, 0, 1, 2, 0, 0, 2, 1,
                                   0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 2, 0, 2, 0, 3, 0, 0, 0, 1, 1, 0,
                                   0, 1, 0, 2, 1, 2, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 2, 1, 1, 0, 1, 2, 0,
                                   1, 0, 0, 0, 0, 0, 2, 2, 1, 1, 1, 0, 0, 2, 0};
  Element csr = dense_to_csr(counts());
  pp::downsample_counts(csr, {.counts_per_cell = 10});
  EXPECT_EQ(dense_values(csr), as_floats(expect));
  EXPECT_EQ(csr.get<SparseMatrix>().nnz(), 43);  // explicit zeros removed, as scipy's eliminate_zeros

  Element csc = convert_format(dense_to_csr(counts()), SparseFormat::CSC);
  pp::downsample_counts(csc, {.counts_per_cell = 10});
  EXPECT_EQ(csc.get<SparseMatrix>().format, SparseFormat::CSC);
  EXPECT_EQ(dense_values(csc), as_floats(expect));

  Element dense = counts();
  pp::downsample_counts(dense, {.counts_per_cell_each = std::vector<int64_t>(6, 10)});
  EXPECT_EQ(dense_values(dense), as_floats(expect));

  const std::vector<int> with_replacement = {
      1, 2, 1, 1, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0, 0, 1, 2, 1, 0, 1, 1, 1, 0, 1, 2, 0, 0, 0, 0, 0,
      3, 0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1, 2, 0, 1, 0, 2, 0, 1, 1, 1, 0, 1, 0, 2, 0, 1, 0, 0,
      1, 2, 0, 0, 2, 0, 0, 0, 2, 0, 2, 0, 0, 0, 1, 1, 0, 0, 2, 1, 0, 1, 1, 1, 0, 1, 0, 0, 2, 0};
  Element r = dense_to_csr(counts());
  pp::downsample_counts(r, {.counts_per_cell = 10, .replace = true});
  EXPECT_EQ(dense_values(r), as_floats(with_replacement));
}

TEST(DownsampleCounts, TotalCountsMatchesScanpy) {
  const std::vector<int> expect = {0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1,
                                   0, 0, 0, 0, 0, 2, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0,
                                   1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 2, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0,
                                   0, 0, 0, 0, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  for (bool sparse : {true, false}) {
    Element x = sparse ? Element(dense_to_csr(counts())) : Element(counts());
    AnnData ad{x};
    pp::downsample_counts(ad, {.total_counts = 30});
    EXPECT_EQ(dense_values(*ad.X), as_floats(expect)) << "sparse=" << sparse;
  }
  // A total above the matrix total leaves it alone.
  Element x = counts();
  pp::downsample_counts(x, {.total_counts = 100000});
  EXPECT_EQ(x.get<Array>(), counts());
}

TEST(DownsampleCounts, KangCellsHitTheirTargetExactly) {
  const SparseMatrix orig = kang_counts();
  ASSERT_EQ(orig.n_rows, 2000);
  SparseMatrix m = orig;
  pp::downsample_counts(m, {.counts_per_cell = 1000});
  const std::span<const float> va = orig.data.as<float>();
  const std::span<const float> vb = std::as_const(m.data).as<float>();
  int64_t thinned = 0;
  for (int64_t i = 0; i < orig.n_rows; ++i) {
    double ta = 0, tb = 0;
    // The thinned row's genes are a subset of the original's (indices stay sorted).
    int64_t ja = orig.indptr[static_cast<size_t>(i)];
    for (int64_t jb = m.indptr[static_cast<size_t>(i)]; jb < m.indptr[static_cast<size_t>(i) + 1]; ++jb) {
      while (orig.indices[static_cast<size_t>(ja)] != m.indices[static_cast<size_t>(jb)]) ++ja;
      ASSERT_LE(vb[static_cast<size_t>(jb)], va[static_cast<size_t>(ja)]);  // without replacement no entry grows
      tb += vb[static_cast<size_t>(jb)];
    }
    for (int64_t j = orig.indptr[static_cast<size_t>(i)]; j < orig.indptr[static_cast<size_t>(i) + 1]; ++j)
      ta += va[static_cast<size_t>(j)];
    EXPECT_EQ(tb, std::min(ta, 1000.0)) << "cell " << i;
    thinned += ta > 1000;
  }
  EXPECT_GT(thinned, 1000);  // most Kang cells have more than 1,000 UMIs

  // Deterministic for a seed, different for another, independent of threads.
  SparseMatrix again = orig, other = orig, two = orig;
  pp::downsample_counts(again, {.counts_per_cell = 1000});
  pp::downsample_counts(other, {.counts_per_cell = 1000, .random_state = 5});
  const int before = num_threads();
  set_num_threads(1);
  SparseMatrix one = orig;
  pp::downsample_counts(one, {.counts_per_cell = 1000});
  set_num_threads(2);
  pp::downsample_counts(two, {.counts_per_cell = 1000});
  set_num_threads(before);
  EXPECT_EQ(again, m);
  EXPECT_NE(other, m);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, m);

  SparseMatrix total = orig;
  pp::downsample_counts(total, {.total_counts = 500000});
  double sum = 0;
  for (float v : total.data.as<float>()) sum += v;
  EXPECT_EQ(sum, 500000.0);
}

TEST(DownsampleCounts, BadArgumentsAreReported) {
  Element x = counts();
  EXPECT_THROW(pp::downsample_counts(x, {}), ValueError);
  EXPECT_THROW(pp::downsample_counts(x, {.counts_per_cell = 5, .total_counts = 10}), ValueError);
  EXPECT_THROW(pp::downsample_counts(x, {.counts_per_cell_each = std::vector<int64_t>{1, 2}}), ValueError);
  EXPECT_THROW(pp::downsample_counts(x, {.counts_per_cell = -1}), ValueError);
  EXPECT_EQ(x.get<Array>(), counts());
  Element neg = Array::from_vector(std::vector<float>{1, -2, 3, 4}, {2, 2});
  EXPECT_THROW(pp::downsample_counts(neg, {.counts_per_cell = 1}), ValueError);
  Element b = Array(DType::UInt8, {2, 2});
  EXPECT_THROW(pp::downsample_counts(b, {.counts_per_cell = 1}), ValueError);
}
