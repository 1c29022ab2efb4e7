// The Lanczos eigensolver behind tl.diffmap (src/scanpp/tl/diffmap_lanczos):
// known spectra (largest magnitude including negative eigenvalues, repeated
// eigenvalues through breakdowns), thread independence, the PBMC 3k
// transition matrix against Scanpy's eigenvalues, and diffmap on a graph with
// several connected components (eigenvalue 1 repeated).
#include "scanpp/tl/diffmap_lanczos.hpp"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <functional>
#include <cstdio>
#include <vector>

#include "golden_support.hpp"
#include "trajectory_support.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/diffmap.hpp"

namespace {

using scanpp::Array;
using scanpp::SparseMatrix;
using scanpp::tl::SymmetricLanczosResult;
using scanpp::tl::symmetric_lanczos_largest_magnitude;

// A diagonal operator: Lanczos only sees the spectrum, so this is as hard as
// any symmetric matrix with these eigenvalues, and the eigenvectors are known.
struct Diagonal {
  std::vector<double> d;
  void operator()(const double* x, double* y) const {
    for (size_t i = 0; i < d.size(); ++i) y[i] = d[i] * x[i];
  }
};

Diagonal spread_spectrum(int64_t n) {
  Diagonal op;
  for (int64_t i = 0; i < n; ++i) op.d.push_back(-0.8 + 1.6 * static_cast<double>(i) / static_cast<double>(n - 1));
  // The four of largest magnitude (the rest lie in [-0.8, 0.8]): one of them
  // negative, and it sorts last.
  op.d[0] = 1.0;
  op.d[1] = 0.97;
  op.d[2] = -0.99;
  op.d[3] = 0.93;
  return op;
}

TEST(DiffmapLanczosTest, LargestMagnitudeOfAKnownSpectrum) {
  const int64_t n = 3000;
  const Diagonal op = spread_spectrum(n);
  const SymmetricLanczosResult r = symmetric_lanczos_largest_magnitude(n, op, {.nev = 4, .tol = 1e-12});
  ASSERT_TRUE(r.converged);
  std::printf("%d products, basis %d, %d reorthogonalisations, %d checks, residual %.3g\n", r.products,
              r.basis_size, r.reorthogonalisations, r.checks, r.max_residual);
  const std::vector<double> want = {1.0, 0.97, 0.93, -0.99};
  const std::vector<int64_t> where = {0, 1, 3, 2};
  ASSERT_EQ(r.values.size(), 4u);
  for (size_t j = 0; j < 4; ++j) {
    EXPECT_NEAR(r.values[j], want[j], 1e-12);
    // The eigenvector is +-e_where: its entry there is +-1, every other ~0.
    const double* y = r.vectors.data() + static_cast<int64_t>(j) * n;
    EXPECT_NEAR(std::abs(y[where[j]]), 1.0, 1e-12);
    double off = 0;
    for (int64_t i = 0; i < n; ++i)
      if (i != where[j]) off = std::max(off, std::abs(y[i]));
    EXPECT_LT(off, 1e-10);
  }
  EXPECT_LE(r.max_residual, 1e-12);
}

TEST(DiffmapLanczosTest, RepeatedEigenvaluesThroughBreakdowns) {
  // Five distinct eigenvalues, each 100 times: every Krylov space breaks down
  // after five vectors and the solver carries on with fresh directions, so
  // the three eigenpairs of largest magnitude are three copies of 1.
  const int64_t n = 500;
  Diagonal op;
  const double levels[5] = {1.0, 0.5, 0.0, -0.3, -0.8};
  for (int64_t i = 0; i < n; ++i) op.d.push_back(levels[i % 5]);
  const SymmetricLanczosResult r = symmetric_lanczos_largest_magnitude(n, op, {.nev = 3});
  ASSERT_TRUE(r.converged);
  for (double v : r.values) EXPECT_NEAR(v, 1.0, 1e-12);
  for (int a = 0; a < 3; ++a) {
    const double* ya = r.vectors.data() + static_cast<int64_t>(a) * n;
    double outside = 0;
    for (int64_t i = 0; i < n; ++i)
      if (i % 5 != 0) outside = std::max(outside, std::abs(ya[i]));
    EXPECT_LT(outside, 1e-10);  // inside the eigenspace of 1
    for (int b = 0; b <= a; ++b) {
      const double* yb = r.vectors.data() + static_cast<int64_t>(b) * n;
      double dot = 0;
      for (int64_t i = 0; i < n; ++i) dot += ya[i] * yb[i];
      EXPECT_NEAR(dot, a == b ? 1.0 : 0.0, 1e-10);
    }
  }
}

TEST(DiffmapLanczosTest, BitIdenticalForOneAndTwoThreads) {
  const int64_t n = 3000;
  const Diagonal op = spread_spectrum(n);
  // Small row blocks, so the dense kernels really split between threads.
  const scanpp::tl::SymmetricLanczosOptions opt{.nev = 4, .block_rows = 1024};
  scanpp::set_num_threads(1);
  const SymmetricLanczosResult r1 = symmetric_lanczos_largest_magnitude(n, op, opt);
  scanpp::set_num_threads(2);
  const SymmetricLanczosResult r2 = symmetric_lanczos_largest_magnitude(n, op, opt);
  scanpp::set_num_threads(0);
  EXPECT_EQ(r1.values, r2.values);
  EXPECT_EQ(r1.vectors, r2.vectors);
  EXPECT_EQ(r1.products, r2.products);
}

TEST(DiffmapLanczosTest, BadInputIsRejected) {
  const Diagonal op = spread_spectrum(10);
  EXPECT_THROW(symmetric_lanczos_largest_magnitude(10, op, {.nev = 0}), scanpp::ValueError);
  EXPECT_THROW(symmetric_lanczos_largest_magnitude(10, op, {.nev = 10}), scanpp::ValueError);
  EXPECT_THROW(symmetric_lanczos_largest_magnitude(1, op, {.nev = 1}), scanpp::ValueError);
  EXPECT_THROW(symmetric_lanczos_largest_magnitude(10, op, {.nev = 2, .tol = 0}), scanpp::ValueError);
}

const SparseMatrix& pbmc_connectivities() {
  return trajectory_test::golden_full().obsp.at("connectivities").get<SparseMatrix>();
}

TEST(DiffmapLanczosTest, PbmcTransitionMatrixConvergesToScanpysEigenvalues) {
  const SparseMatrix t = scanpp::tl::diffusion_transitions_sym(pbmc_connectivities());
  auto v = t.data.as<double>();
  auto op = [&](const double* x, double* y) {
    for (int64_t i = 0; i < t.n_rows; ++i) {
      double s = 0;
      for (int64_t k = t.indptr[i]; k < t.indptr[i + 1]; ++k) s += v[k] * x[t.indices[k]];
      y[i] = s;
    }
  };
  const SymmetricLanczosResult r = symmetric_lanczos_largest_magnitude(t.n_rows, op, {.nev = 15, .tol = 1e-12});
  ASSERT_TRUE(r.converged);
  std::printf("%d products, basis %d, %d reorthogonalisations, %d checks, residual %.3g\n", r.products,
              r.basis_size, r.reorthogonalisations, r.checks, r.max_residual);
  EXPECT_LE(r.max_residual, 1e-12);
  // Explicit residuals ||T y - theta y|| agree with the estimate (ARPACK's tolerance 1e-12 relative).
  double worst = 0;
  std::vector<double> ty(static_cast<size_t>(t.n_rows));
  for (int j = 0; j < 15; ++j) {
    const double* y = r.vectors.data() + static_cast<int64_t>(j) * t.n_rows;
    op(y, ty.data());
    double res = 0;
    for (int64_t i = 0; i < t.n_rows; ++i) res += std::pow(ty[static_cast<size_t>(i)] - r.values[static_cast<size_t>(j)] * y[i], 2);
    worst = std::max(worst, std::sqrt(res) / std::abs(r.values[static_cast<size_t>(j)]));
  }
  std::printf("max explicit relative residual %.3g\n", worst);
  EXPECT_LT(worst, 1e-11);
  const auto gold = golden::read_csv(golden::shared("golden/pbmc3k/diffmap_eigenvalues.csv")).numeric("eval");
  for (size_t j = 0; j < 15; ++j) EXPECT_NEAR(r.values[j], gold[j], 1e-6);
}

// Block-diagonal connectivities: PBMC 3k twice and a uniform 6-cell ring
// (bipartite: eigenvalues 1, 0.5, 0.5, -0.5, -0.5, -1).
SparseMatrix two_pbmc_and_a_ring() {
  const SparseMatrix& w = pbmc_connectivities();
  const SparseMatrix csr = w.format == scanpp::SparseFormat::CSR ? w : scanpp::convert_format(w, scanpp::SparseFormat::CSR);
  const Array wd = csr.data.astype(scanpp::DType::Float32);
  auto src = wd.as<float>();
  const int64_t m = csr.n_rows, n = 2 * m + 6;
  std::vector<float> data;
  std::vector<int32_t> indices;
  std::vector<int64_t> indptr = {0};
  for (int copy = 0; copy < 2; ++copy)
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t k = csr.indptr[i]; k < csr.indptr[i + 1]; ++k) {
        data.push_back(src[static_cast<size_t>(k)]);
        indices.push_back(static_cast<int32_t>(csr.indices[k] + copy * m));
      }
      indptr.push_back(static_cast<int64_t>(data.size()));
    }
  for (int64_t i = 0; i < 6; ++i) {
    const int64_t a = (i + 5) % 6, b = (i + 1) % 6;
    for (int64_t j : {std::min(a, b), std::max(a, b)}) {
      data.push_back(0.5f);
      indices.push_back(static_cast<int32_t>(2 * m + j));
    }
    indptr.push_back(static_cast<int64_t>(data.size()));
  }
  SparseMatrix g;
  g.format = scanpp::SparseFormat::CSR;
  g.n_rows = g.n_cols = n;
  g.data = Array::from_vector(data);
  g.indices = indices;
  g.indptr = indptr;
  return g;
}

TEST(DiffmapLanczosTest, DisconnectedGraphRepeatsEigenvalueOne) {
  const SparseMatrix t = scanpp::tl::diffusion_transitions_sym(two_pbmc_and_a_ring());
  const int64_t n = t.n_rows;
  scanpp::set_num_threads(1);
  const auto r = scanpp::tl::diffmap_eigen(t, 15);
  scanpp::set_num_threads(2);
  const auto r2 = scanpp::tl::diffmap_eigen(t, 15);
  scanpp::set_num_threads(0);
  EXPECT_TRUE(r.eigenvalues == r2.eigenvalues);
  EXPECT_TRUE(r.eigenvectors == r2.eigenvectors);

  const auto g = golden::read_csv(golden::shared("golden/pbmc3k/diffmap_eigenvalues.csv")).numeric("eval");
  // 1 three times (two PBMC copies and the ring), PBMC's next six twice each
  // but the last once, and the ring's -1, which sorts last.
  const std::vector<double> want = {1, 1, 1, g[1], g[1], g[2], g[2], g[3], g[3], g[4], g[4], g[5], g[5], g[6], -1};
  ASSERT_EQ(r.eigenvalues.size(), 15);
  for (int64_t j = 0; j < 15; ++j) EXPECT_NEAR(r.eigenvalues.get_double(j), want[static_cast<size_t>(j)], 1e-6) << j;

  auto v = t.data.as<double>();
  auto ec = r.eigenvectors.as<float>();
  double worst_res = 0, worst_dot = 0;
  for (int64_t a = 0; a < 15; ++a) {
    const double lam = r.eigenvalues.get_double(a);
    double res = 0;
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int64_t p = t.indptr[i]; p < t.indptr[i + 1]; ++p) s += v[p] * ec[t.indices[p] * 15 + a];
      res += std::pow(s - lam * ec[i * 15 + a], 2);
    }
    worst_res = std::max(worst_res, std::sqrt(res));
    for (int64_t b = 0; b <= a; ++b) {
      double dot = 0;
      for (int64_t i = 0; i < n; ++i) dot += double(ec[i * 15 + a]) * ec[i * 15 + b];
      worst_dot = std::max(worst_dot, std::abs(dot - (a == b ? 1.0 : 0.0)));
    }
  }
  std::printf("max ||T v - lambda v|| = %.3g, max |V^T V - I| = %.3g\n", worst_res, worst_dot);
  EXPECT_LT(worst_res, 1e-5);
  EXPECT_LT(worst_dot, 1e-5);
}

// Two 310-cell rings (each above the dense solver's size) asked for 619
// components, all but one: one ring alone has only 310 pairs, so both must
// give all of theirs. Every column is a true eigenvector of the whole matrix
// and the eigenvalues are the largest-magnitude ones of its dense spectrum.
TEST(DiffmapLanczosTest, DisconnectedGraphGivesAllButOnePair) {
  const int64_t m = 310, n = 2 * m;
  std::vector<float> data;
  std::vector<int32_t> indices;
  std::vector<int64_t> indptr = {0};
  for (int64_t i = 0; i < n; ++i) {
    const int64_t base = i < m ? 0 : m, j = i - base;
    const int64_t a = base + (j + m - 1) % m, b = base + (j + 1) % m;
    for (int64_t k : {std::min(a, b), std::max(a, b)}) {
      data.push_back(1.0f);
      indices.push_back(static_cast<int32_t>(k));
    }
    indptr.push_back(static_cast<int64_t>(data.size()));
  }
  SparseMatrix g;
  g.format = scanpp::SparseFormat::CSR;
  g.n_rows = g.n_cols = n;
  g.data = Array::from_vector(data);
  g.indices = indices;
  g.indptr = indptr;
  const SparseMatrix t = scanpp::tl::diffusion_transitions_sym(g);
  const int nev = static_cast<int>(n - 1);
  const auto r = scanpp::tl::diffmap_eigen(t, nev);
  ASSERT_EQ(r.eigenvalues.size(), nev);

  Eigen::MatrixXd dense = Eigen::MatrixXd::Zero(n, n);
  auto v = t.data.as<double>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = t.indptr[i]; p < t.indptr[i + 1]; ++p) dense(i, t.indices[p]) = v[p];
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(dense);
  std::vector<double> want(es.eigenvalues().data(), es.eigenvalues().data() + n);
  std::sort(want.begin(), want.end(), [](double a, double b) { return std::abs(a) > std::abs(b); });
  want.resize(static_cast<size_t>(nev));
  std::sort(want.begin(), want.end(), std::greater<>());

  Eigen::MatrixXd vec(n, nev);
  auto ec = r.eigenvectors.as<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < nev; ++j) vec(i, j) = ec[static_cast<size_t>(i * nev + j)];
  for (int j = 0; j < nev; ++j) {
    const double lam = r.eigenvalues.get_double(j);
    EXPECT_NEAR(lam, want[static_cast<size_t>(j)], 1e-6) << j;
    EXPECT_LT((dense * vec.col(j) - lam * vec.col(j)).norm(), 1e-5) << j;
    EXPECT_NEAR(vec.col(j).norm(), 1.0, 1e-5) << j;
  }
}

}  // namespace
