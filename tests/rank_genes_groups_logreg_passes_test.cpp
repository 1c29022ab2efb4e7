// The logistic regression's sparse passes (rank_genes_groups_logreg_passes):
// the float gather against double sums on PBMC 3k's raw matrix, tiled and
// untiled, in both orientations; and the fit's independence of the input's
// sparse format.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "rank_genes_groups_support.hpp"
#include "scanpp/core/sparse.hpp"
#include "scanpp/tl/rank_genes_groups_logreg.hpp"
#include "scanpp/tl/rank_genes_groups_logreg_passes.hpp"

using namespace scanpp;
using tl::detail::LogregRows;

namespace {

// A CSR matrix as the passes hold it, offsets for rows of `lanes`.
LogregRows rows_of(const SparseMatrix& m, int lanes) {
  LogregRows r;
  r.n_rows = m.n_rows;
  r.n_cols = m.n_cols;
  r.ptr = m.indptr;
  for (int32_t j : m.indices) r.off.push_back(j * lanes);
  for (float v : m.data.as<float>()) r.val.push_back(v);
  return r;
}

// Rows of `lanes` values, the first k in [-0.5, 0.5) (a fixed LCG), the
// padding zero.
std::vector<float> coefficients(int64_t rows, int lanes, int k) {
  std::vector<float> w(static_cast<size_t>(rows * lanes), 0.0f);
  uint64_t s = 12345;
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < k; ++c) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      w[r * lanes + c] = static_cast<float>(static_cast<double>(s >> 11) / 9007199254740992.0 - 0.5);
    }
  return w;
}

// The largest deviation of out from the double sums, relative to the sum of
// the terms' magnitudes of its row and lane; padding lanes must be 0.
double worst_deviation(const SparseMatrix& m, const std::vector<float>& w, int lanes, int k,
                       const std::vector<double>& out, bool* padding_zero) {
  double worst = 0;
  *padding_zero = true;
  const auto v = m.data.as<float>();
  for (int64_t r = 0; r < m.n_rows; ++r)
    for (int c = 0; c < lanes; ++c) {
      double sum = 0, mag = 0;
      for (int64_t e = m.indptr[r]; e < m.indptr[r + 1]; ++e) {
        const double t = static_cast<double>(v[e]) * w[static_cast<int64_t>(m.indices[e]) * lanes + c];
        sum += t;
        mag += std::abs(t);
      }
      const double got = out[r * lanes + c];
      if (c >= k) *padding_zero = *padding_zero && got == 0.0;
      else if (mag > 0) worst = std::max(worst, std::abs(got - sum) / mag);
    }
  return worst;
}

}  // namespace

TEST(RankGenesGroupsLogregPasses, GatherMatchesDoubleSums) {
  const SparseMatrix& x = rgg_test::pbmc3k_final().raw->X->get<SparseMatrix>();
  const SparseMatrix xt = convert_format(x, SparseFormat::CSC);  // columns as compressed rows
  SparseMatrix cols = xt;
  cols.format = SparseFormat::CSR;
  std::swap(cols.n_rows, cols.n_cols);
  for (int k : {1, 6, 9, 20}) {
    const int lanes = tl::detail::logreg_lanes(k);
    ASSERT_EQ(lanes, k <= 4 ? 4 : k <= 8 ? 8 : k <= 16 ? 16 : 32);
    // Margins: rows of X against coefficient rows, untiled and tiled in
    // blocks of 64 rows (taken in blocks of 128 and in one call).
    const std::vector<float> w = coefficients(x.n_cols, lanes, k);
    LogregRows rows = rows_of(x, lanes);
    std::vector<double> plain(static_cast<size_t>(x.n_rows * lanes)), tiled(plain.size()), whole(plain.size());
    tl::detail::logreg_gather(rows, 0, rows.n_rows, w.data(), lanes, plain.data());
    tl::detail::logreg_tile(rows, 64, lanes);
    EXPECT_GT(rows.n_bands, 1);  // 13,714 coefficient rows of >= 16 bytes: more than one band
    for (int64_t r0 = 0; r0 < rows.n_rows; r0 += 128)
      tl::detail::logreg_gather(rows, r0, std::min<int64_t>(rows.n_rows, r0 + 128), w.data(), lanes,
                                tiled.data() + r0 * lanes);
    tl::detail::logreg_gather(rows, 0, rows.n_rows, w.data(), lanes, whole.data());
    EXPECT_EQ(tiled, whole);  // any split of the rows gives the same bits
    bool zero = false;
    const double dev_plain = worst_deviation(x, w, lanes, k, plain, &zero);
    EXPECT_TRUE(zero);
    const double dev_tiled = worst_deviation(x, w, lanes, k, tiled, &zero);
    EXPECT_TRUE(zero);
    // Gradient: columns of X against residual rows.
    const std::vector<float> r = coefficients(x.n_rows, lanes, k);
    const LogregRows crow = rows_of(cols, lanes);
    std::vector<double> g(static_cast<size_t>(x.n_cols * lanes));
    tl::detail::logreg_gather(crow, 0, crow.n_rows, r.data(), lanes, g.data());
    const double dev_cols = worst_deviation(cols, r, lanes, k, g, &zero);
    EXPECT_TRUE(zero);
    std::printf("%d classes (%d lanes, %lld bands): worst deviation from double sums / sum of |terms|: margins %.2e, "
                "tiled %.2e, gradient %.2e\n",
                k, lanes, static_cast<long long>(rows.n_bands), dev_plain, dev_tiled, dev_cols);
    // Products and runs of <= 64 terms summed in float: a few float
    // roundings (seen: 2e-8 for the margins, 1.4e-7 for the gradient).
    EXPECT_LT(dev_plain, 5e-7);
    EXPECT_LT(dev_tiled, 5e-7);
    EXPECT_LT(dev_cols, 5e-7);
  }
}

TEST(RankGenesGroupsLogregPasses, CsrAndCscInputGiveTheSameFit) {
  const AnnData& a = rgg_test::pbmc3k_final();
  const SparseMatrix& x = a.raw->X->get<SparseMatrix>();
  const auto& cat = std::get<Categorical>(a.obs.at("leiden"));
  const std::vector<int32_t> labels(cat.codes.begin(), cat.codes.end());
  tl::LogregOptions o;
  o.max_iter = 20;
  const auto csr = tl::logistic_regression(Element(x), labels, static_cast<int>(cat.n_categories()), o);
  const auto csc = tl::logistic_regression(Element(convert_format(x, SparseFormat::CSC)), labels,
                                           static_cast<int>(cat.n_categories()), o);
  EXPECT_EQ(csr.iterations, 20);
  EXPECT_EQ(csr.coef, csc.coef);
  EXPECT_EQ(csr.intercept, csc.intercept);
}
