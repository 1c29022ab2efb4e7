// The fast paths of tl.rank_genes_groups against their plain equivalents:
// Wilcoxon on packed float32 keys (with the group statistics taken in the
// same pass) against the double-valued path and group_statistics; the radix
// orderings of top_n_indices and benjamini_hochberg against stable sorts;
// and the compact-form L-BFGS on problems with known minimisers, for 1 and
// 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "scanpp/core/parallel.hpp"
#include "scanpp/core/random.hpp"
#include "scanpp/core/sparse.hpp"
#include "scanpp/tl/rank_genes_groups_lbfgs.hpp"
#include "scanpp/tl/rank_genes_groups_logreg.hpp"
#include "scanpp/tl/rank_genes_groups_stats.hpp"

using namespace scanpp;

namespace {

int32_t code_of(int64_t i) { return static_cast<int32_t>((i * 7) % 6) - 1; }  // groups 0..4 and -1

// 3,000 x 200 float32, ~25 % non-zero (60 % in group 1 for every fourth
// gene: markers), values on a coarse grid (many ties, some negative).
Array tied_matrix() {
  const int64_t n = 3000, p = 200;
  Array a(DType::Float32, {n, p});
  auto v = a.as<float>();
  for (int64_t i = 0; i < n; ++i) {
    random::Stream rs(5, static_cast<uint64_t>(i), 0);
    for (int64_t j = 0; j < p; ++j) {
      const double u = rs.uniform();
      const double w = rs.uniform();
      const double dense = code_of(i) == 1 && j % 4 == 0 ? 0.6 : 0.25;
      v[i * p + j] = u < dense ? static_cast<float>(std::floor(40 * w * (1 + j % 5)) / 8 - (j % 9 == 0 ? 2 : 0)) : 0.0f;
    }
  }
  return a;
}

std::vector<int32_t> codes_for(int64_t n) {
  std::vector<int32_t> c(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) c[i] = code_of(i);
  return c;
}

}  // namespace

TEST(RankGenesGroupsFastPaths, PackedKeysMatchDoublePathAndGroupStatistics) {
  const Array x32 = tied_matrix();
  const SparseMatrix csr32 = dense_to_csr(x32);
  SparseMatrix csr64 = csr32;
  csr64.data = csr32.data.astype(DType::Float64);
  const auto codes = codes_for(x32.shape()[0]);
  for (int reference : {-1, 2}) {
    for (bool tie : {false, true}) {
      tl::GroupStats st;
      const auto keys = tl::wilcoxon_scores(Element(csr32), codes, 5, reference, tie, &st);
      const auto plain = tl::wilcoxon_scores(Element(csr64), codes, 5, reference, tie);
      // Widened float32 values have the same order and ties: the same ranks,
      // added in the same order.
      ASSERT_EQ(keys.size(), plain.size());
      int64_t differ = 0;
      for (size_t q = 0; q < keys.size(); ++q) differ += keys[q] != plain[q];
      EXPECT_EQ(differ, 0) << "reference " << reference << " tie_correct " << tie;
      // The markers of group 1 stand out.
      EXPECT_GT(keys[1 * 200 + 4], 8.0);
      // Statistics from the same pass equal the gene-wise path's bit for bit.
      const tl::GroupStats gw = tl::group_statistics(Element(convert_format(csr32, SparseFormat::CSC)), codes, 5);
      EXPECT_EQ(st.sizes, gw.sizes);
      EXPECT_EQ(st.means, gw.means);
      EXPECT_EQ(st.vars, gw.vars);
      EXPECT_EQ(st.nnz, gw.nnz);
      EXPECT_EQ(st.means_rest, gw.means_rest);
      EXPECT_EQ(st.vars_rest, gw.vars_rest);
      EXPECT_EQ(st.nnz_rest, gw.nnz_rest);
    }
  }
  // Threads: the same bits.
  const int before = num_threads();
  set_num_threads(1);
  const auto one = tl::wilcoxon_scores(Element(csr32), codes, 5, -1, true);
  set_num_threads(2);
  const auto two = tl::wilcoxon_scores(Element(csr32), codes, 5, -1, true);
  set_num_threads(before);
  EXPECT_EQ(one, two);
}

TEST(RankGenesGroupsFastPaths, RadixOrderingsMatchStableSorts) {
  // Scores with ties, signed zeros, NaN and infinities.
  std::vector<double> s;
  random::Stream rs(3, 0, 0);
  for (int i = 0; i < 5000; ++i) s.push_back(std::round(rs.uniform() * 200 - 100) / 4);
  s[7] = NAN;
  s[8] = -0.0;
  s[9] = 0.0;
  s[10] = INFINITY;
  s[11] = -INFINITY;
  s[12] = NAN;
  for (bool by_abs : {false, true}) {
    auto key = [&](size_t i) {
      const double v = by_abs ? std::abs(s[i]) : s[i];
      return std::isnan(v) ? -INFINITY : v;
    };
    std::vector<int64_t> want(s.size());
    std::iota(want.begin(), want.end(), int64_t{0});
    std::stable_sort(want.begin(), want.end(), [&](int64_t a, int64_t b) { return key(a) > key(b); });
    const auto all = tl::top_n_indices(s, static_cast<int64_t>(s.size()), by_abs);
    EXPECT_EQ(all, want) << "by_abs " << by_abs;
    const auto head = tl::top_n_indices(s, 25, by_abs);
    EXPECT_EQ(head, std::vector<int64_t>(want.begin(), want.begin() + 25));
  }
  EXPECT_EQ(tl::top_n_indices(s, 0, false).size(), 0u);
  // Benjamini-Hochberg with tied p-values against the stable-sort definition.
  std::vector<double> p;
  for (int i = 0; i < 3000; ++i) p.push_back(std::round(rs.uniform() * 300) / 1000);
  p[5] = NAN;
  p[6] = 0.0;
  std::vector<double> pc = p;
  for (auto& v : pc)
    if (std::isnan(v)) v = 1;
  std::vector<size_t> order(pc.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return pc[a] < pc[b]; });
  std::vector<double> want(pc.size());
  double running = INFINITY;
  for (size_t k = pc.size(); k-- > 0;) {
    running = std::min(running, pc[order[k]] / (static_cast<double>(k + 1) / static_cast<double>(pc.size())));
    want[order[k]] = std::min(running, 1.0);
  }
  EXPECT_EQ(tl::benjamini_hochberg(p), want);
}

TEST(RankGenesGroupsFastPaths, CompactLbfgsFindsKnownMinimisers) {
  // A separable quadratic (curvatures 1 .. 100) over two and a half
  // parallel blocks: minimiser c.
  const int64_t dim = 10000;
  std::vector<double> a(static_cast<size_t>(dim)), c(a.size());
  for (int64_t i = 0; i < dim; ++i) {
    a[i] = std::pow(10.0, 2.0 * static_cast<double>((i * 37) % dim) / static_cast<double>(dim));
    c[i] = std::sin(0.01 * static_cast<double>(i));
  }
  const tl::detail::LbfgsObjective quad = {[&](const std::vector<double>& x) {
                                             double f = 0;
                                             for (size_t i = 0; i < x.size(); ++i)
                                               f += 0.5 * a[i] * (x[i] - c[i]) * (x[i] - c[i]);
                                             return f;
                                           },
                                           [&](const std::vector<double>& x, std::vector<double>& g) {
                                             g.resize(x.size());
                                             for (size_t i = 0; i < x.size(); ++i) g[i] = a[i] * (x[i] - c[i]);
                                           }};
  const int before = num_threads();
  std::vector<std::vector<double>> runs;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (int memory : {10, 3}) {  // 3: the ring of pairs wraps many times
      std::vector<double> x(static_cast<size_t>(dim), 0.0);
      const auto r = tl::detail::lbfgs_minimise(quad, x, {500, 1e-7, memory});
      EXPECT_TRUE(r.converged) << "memory " << memory;
      double err = 0;
      for (int64_t i = 0; i < dim; ++i) err = std::max(err, std::abs(x[i] - c[i]));
      // Stopped by |g| <= 1e-7 (error <= 1e-7 / curvature) or by a relative
      // decrease below 64 eps of f (error ~ sqrt(64 eps f) ~ 1e-6 here).
      EXPECT_LT(err, 2e-6) << "memory " << memory;
      if (threads == 1) std::printf("quadratic, memory %d: %d iterations, max error %.2e\n", memory, r.iterations, err);
      runs.push_back(x);
    }
  }
  set_num_threads(before);
  EXPECT_EQ(runs[0], runs[2]);  // memory 10, 1 vs 2 threads
  EXPECT_EQ(runs[1], runs[3]);  // memory 3

  // The extended Rosenbrock function (non-convex: the line search and the
  // curvature test at work): minimiser all ones.
  const tl::detail::LbfgsObjective rosen = {[](const std::vector<double>& x) {
                                              double f = 0;
                                              for (size_t i = 0; i + 1 < x.size(); i += 2) {
                                                const double t = x[i + 1] - x[i] * x[i], u = 1 - x[i];
                                                f += 100 * t * t + u * u;
                                              }
                                              return f;
                                            },
                                            [](const std::vector<double>& x, std::vector<double>& g) {
                                              g.assign(x.size(), 0.0);
                                              for (size_t i = 0; i + 1 < x.size(); i += 2) {
                                                const double t = x[i + 1] - x[i] * x[i], u = 1 - x[i];
                                                g[i] = -400 * x[i] * t - 2 * u;
                                                g[i + 1] = 200 * t;
                                              }
                                            }};
  std::vector<double> x(100);
  for (size_t i = 0; i < x.size(); ++i) x[i] = i % 2 ? 1.0 : -1.2;
  const auto r = tl::detail::lbfgs_minimise(rosen, x, {1000, 1e-7, 10});
  EXPECT_TRUE(r.converged);
  double err = 0;
  for (double v : x) err = std::max(err, std::abs(v - 1));
  std::printf("Rosenbrock: %d iterations, max error %.2e\n", r.iterations, err);
  EXPECT_LT(err, 1e-5);
}

TEST(RankGenesGroupsFastPaths, LogregWithManyClassesUsesTheWideKernels) {
  // 6 and 12 classes (the AVX2 kernels where available), 24 (the generic
  // ones) and 48 (any stride). A class is a group (code + 1: learnable from
  // the markers) and a residue of the cell index (noise), so the fitted
  // model must recover the group part far above chance (1/6) on the cells.
  const SparseMatrix x = dense_to_csr(tied_matrix());
  const Array dense = tied_matrix();
  const auto v = dense.as<float>();
  const int before = num_threads();
  for (int k : {6, 12, 24, 48}) {
    std::vector<int32_t> labels(static_cast<size_t>(x.n_rows));
    for (int64_t i = 0; i < x.n_rows; ++i) labels[i] = (code_of(i) + 1) + 6 * static_cast<int32_t>(i % (k / 6));
    tl::LogregOptions o;
    o.max_iter = 40;
    set_num_threads(1);
    const auto one = tl::logistic_regression(Element(x), labels, k, o);
    set_num_threads(2);
    const auto two = tl::logistic_regression(Element(x), labels, k, o);
    EXPECT_EQ(one.coef, two.coef) << k << " classes";
    ASSERT_EQ(one.n_rows, k);
    int64_t right = 0;
    for (int64_t i = 0; i < x.n_rows; ++i) {
      int best = 0;
      double best_z = -INFINITY;
      for (int c = 0; c < k; ++c) {
        double z = one.intercept[c];
        for (int64_t j = 0; j < one.n_features; ++j) z += one.coef[c * one.n_features + j] * v[i * one.n_features + j];
        if (z > best_z) best_z = z, best = c;
      }
      right += best % 6 == labels[i] % 6;
    }
    const double acc = static_cast<double>(right) / static_cast<double>(x.n_rows);
    std::printf("%d classes: group recovered for %.3f of the cells\n", k, acc);
    EXPECT_GT(acc, 0.3) << k << " classes";
  }
  set_num_threads(before);
}
