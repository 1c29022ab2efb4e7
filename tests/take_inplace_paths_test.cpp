// take_inplace's two paths against take(): keeping under half of the values
// gathers them into buffers of their size (the subset to highly variable
// genes), keeping most compacts the matrix within its own buffers (the
// filters). Every value width (1, 2, 4, 8 bytes), and 1 vs 2 threads.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>

#include "scanpp/core/parallel.hpp"
#include "scanpp/core/sparse.hpp"

using namespace scanpp;

namespace {

// n x p CSR with ~30 % of the entries stored, values of type T.
template <class T>
SparseMatrix random_csr(int64_t n, int64_t p, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<T> dense(static_cast<size_t>(n * p), T(0));
  for (auto& x : dense)
    if (u(gen) < 0.3) x = static_cast<T>(1 + static_cast<int>(100 * u(gen)));
  return dense_to_csr(Array::from_vector(dense, {n, p}));
}

std::vector<int64_t> every(int64_t n, int64_t keep_of_ten, unsigned seed) {
  std::mt19937 gen(seed);
  std::vector<int64_t> v;
  for (int64_t i = 0; i < n; ++i)
    if (static_cast<int64_t>(gen() % 10) < keep_of_ten) v.push_back(i);
  return v;
}

template <class T>
void check_all_cuts(unsigned seed) {
  const SparseMatrix m = random_csr<T>(120, 90, seed);
  const std::vector<int64_t> all_rows = every(120, 10, 1), all_cols = every(90, 10, 1);
  const std::vector<int64_t> most_rows = every(120, 9, seed + 1), few_rows = every(120, 2, seed + 2);
  const std::vector<int64_t> most_cols = every(90, 9, seed + 3), few_cols = every(90, 2, seed + 4);
  struct Cut {
    const std::vector<int64_t>* rows;
    const std::vector<int64_t>* cols;
    bool compacted;  // keeps under half: new buffers of the kept size
  };
  const Cut cuts[] = {{&most_rows, &most_cols, false}, {&all_rows, &few_cols, true}, {&few_rows, &all_cols, true},
                      {&most_rows, &all_cols, false},  {&few_rows, &few_cols, true}, {&all_rows, &all_cols, false}};
  for (const Cut& c : cuts) {
    const SparseMatrix expect = take(m, *c.rows, *c.cols);
    const int before = num_threads();
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      SparseMatrix a = m;
      take_inplace(a, *c.rows, *c.cols);
      EXPECT_TRUE(a == expect) << dtype_name(m.dtype()) << " rows " << c.rows->size() << " cols " << c.cols->size()
                               << " threads " << threads;
      a.validate();
      if (c.compacted) {
        EXPECT_EQ(a.indices.capacity(), a.indices.size());
      }
    }
    set_num_threads(before);
  }
}

}  // namespace

TEST(TakeInplacePaths, OneByteValues) {
  check_all_cuts<uint8_t>(3);
  check_all_cuts<Bool8>(4);
}
TEST(TakeInplacePaths, TwoByteValues) { check_all_cuts<int16_t>(5); }
TEST(TakeInplacePaths, FourByteValues) {
  check_all_cuts<float>(6);
  check_all_cuts<int32_t>(7);
}
TEST(TakeInplacePaths, EightByteValues) {
  check_all_cuts<double>(8);
  check_all_cuts<int64_t>(9);
}

TEST(TakeInplacePaths, EmptyRowsAndNothingKept) {
  const SparseMatrix m = random_csr<float>(10, 8, 12);
  SparseMatrix a = m;
  take_inplace(a, std::vector<int64_t>{}, std::vector<int64_t>{0, 1});
  EXPECT_EQ(a.n_rows, 0);
  EXPECT_EQ(a.nnz(), 0);
  a.validate();
  SparseMatrix b = m;
  take_inplace(b, std::vector<int64_t>{2, 5}, std::vector<int64_t>{});
  EXPECT_TRUE(b == take(m, std::vector<int64_t>{2, 5}, std::vector<int64_t>{}));
  b.validate();
}
