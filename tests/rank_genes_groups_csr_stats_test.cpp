// tl.rank_genes_groups' per-group statistics on CSR input are summed row by
// row in fixed blocks of 16,384 cells: on a 40,000-cell matrix (three blocks)
// they must agree with the gene-wise path (the same matrix as CSC) to
// rounding, count the same non-zeros, and not depend on the thread count.
#include <gtest/gtest.h>

#include <cmath>

#include "scanpp/core/parallel.hpp"
#include "scanpp/core/random.hpp"
#include "scanpp/core/sparse.hpp"
#include "scanpp/tl/rank_genes_groups_stats.hpp"

using namespace scanpp;

namespace {

// 40,000 x 60 float32, ~30 % non-zero log-like values, some explicit zeros.
Array random_matrix() {
  const int64_t n = 40000, p = 60;
  Array a(DType::Float32, {n, p});
  auto v = a.as<float>();
  for (int64_t i = 0; i < n; ++i) {
    random::Stream rs(11, static_cast<uint64_t>(i), 0);
    for (int64_t j = 0; j < p; ++j) {
      const double u = rs.uniform();
      v[i * p + j] = u < 0.3 ? static_cast<float>(std::log1p(1.0 + 20.0 * rs.uniform() * (1 + j % 7))) : 0.0f;
    }
  }
  return a;
}

std::vector<int32_t> random_codes(int64_t n) {
  std::vector<int32_t> c(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) c[i] = static_cast<int32_t>(i % 7) - 1;  // groups 0..5 and -1
  return c;
}

}  // namespace

TEST(RankGenesGroupsCsrStats, RowBlocksMatchGeneWiseAndThreads) {
  const Array dense = random_matrix();
  const SparseMatrix csr = dense_to_csr(dense);
  const SparseMatrix csc = convert_format(csr, SparseFormat::CSC);
  const auto codes = random_codes(dense.rows());
  const int before = num_threads();
  set_num_threads(1);
  const tl::GroupStats one = tl::group_statistics(Element(SparseMatrix(csr)), codes, 6);
  set_num_threads(2);
  const tl::GroupStats two = tl::group_statistics(Element(SparseMatrix(csr)), codes, 6);
  const tl::GroupStats genewise = tl::group_statistics(Element(SparseMatrix(csc)), codes, 6);
  set_num_threads(before);
  EXPECT_EQ(one.means, two.means);
  EXPECT_EQ(one.vars, two.vars);
  EXPECT_EQ(one.vars_rest, two.vars_rest);
  EXPECT_EQ(one.nnz, genewise.nnz);
  EXPECT_EQ(one.nnz_rest, genewise.nnz_rest);
  double worst = 0;
  for (size_t o = 0; o < one.means.size(); ++o) {
    worst = std::max(worst, std::abs(one.means[o] - genewise.means[o]) / std::abs(genewise.means[o]));
    worst = std::max(worst, std::abs(one.vars[o] - genewise.vars[o]) / std::abs(genewise.vars[o]));
    worst = std::max(worst, std::abs(one.means_rest[o] - genewise.means_rest[o]) / std::abs(genewise.means_rest[o]));
    worst = std::max(worst, std::abs(one.vars_rest[o] - genewise.vars_rest[o]) / std::abs(genewise.vars_rest[o]));
  }
  std::printf("largest relative difference CSR row blocks vs gene-wise: %.3g\n", worst);
  EXPECT_LT(worst, 1e-12);
  EXPECT_GT(one.nnz[0], 0);
}
