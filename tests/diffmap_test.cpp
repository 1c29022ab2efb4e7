// tl.diffmap against Scanpy 1.11.5's golden eigenvalues and eigenvectors
// (pbmc3k, from the golden h5ad's obsp['connectivities']).
#include "scanpp/tl/diffmap.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "golden_support.hpp"
#include "trajectory_support.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/io/npy.hpp"

namespace {

using scanpp::AnnData;
using scanpp::Array;
using scanpp::SparseMatrix;

// Only what diffmap reads: obs index, obsp and uns['neighbors'].
const AnnData& golden_graph() {
  static const AnnData a = trajectory_test::golden_graph();
  return a;
}

TEST(DiffmapTest, EigenvaluesAndVectorsMatchScanpy) {
  AnnData a = golden_graph();
  scanpp::tl::diffmap(a);
  const Array& evals = a.uns.at("diffmap_evals").get<Array>();
  const Array& evecs = a.obsm.at("X_diffmap").get<Array>();
  ASSERT_EQ(evals.dtype(), scanpp::DType::Float32);
  ASSERT_EQ(evecs.dtype(), scanpp::DType::Float32);
  ASSERT_EQ(evecs.shape(), (std::vector<int64_t>{2638, 15}));

  const auto gold = golden::read_csv(golden::shared("golden/pbmc3k/diffmap_eigenvalues.csv")).numeric("eval");
  ASSERT_EQ(gold.size(), 15u);
  double worst = 0;
  for (size_t j = 0; j < 15; ++j) worst = std::max(worst, std::abs(evals.get_double(static_cast<int64_t>(j)) - gold[j]));
  std::printf("max |eval - scanpy| = %.3g\n", worst);
  EXPECT_LT(worst, 1e-6);  // brief: 1e-4; observed 6e-8

  const Array ref = scanpp::io::read_npy(golden::shared("golden/pbmc3k/X_diffmap.npy"));
  double min_r = 1;
  for (int64_t j = 0; j < 15; ++j) min_r = std::min(min_r, std::abs(golden::column_correlation(evecs, j, ref, j)));
  std::printf("min over columns |r| = %.6f\n", min_r);
  EXPECT_GE(min_r, 0.9999);  // brief: 0.999
}

// Checks that hold for any graph: unit-norm columns, T v = lambda v for the
// symmetric transition matrix, first eigenvalue 1 with eigenvector
// proportional to z (the square roots of K's column sums).
TEST(DiffmapTest, EigenpairsSatisfyTheDefinitionOnPbmc) {
  const SparseMatrix t = scanpp::tl::diffusion_transitions_sym(
      golden_graph().obsp.at("connectivities").get<SparseMatrix>());
  const auto r = scanpp::tl::diffmap_eigen(t, 15);
  const int64_t n = t.n_rows, k = 15;
  auto v = t.data.as<double>();
  auto ec = r.eigenvectors.as<float>();
  double worst_res = 0, worst_norm = 0;
  for (int64_t j = 0; j < k; ++j) {
    double nrm = 0, res = 0;
    const double lam = r.eigenvalues.get_double(j);
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int64_t p = t.indptr[i]; p < t.indptr[i + 1]; ++p) s += v[p] * ec[t.indices[p] * k + j];
      res += (s - lam * ec[i * k + j]) * (s - lam * ec[i * k + j]);
      nrm += double(ec[i * k + j]) * ec[i * k + j];
    }
    worst_res = std::max(worst_res, std::sqrt(res));
    worst_norm = std::max(worst_norm, std::abs(std::sqrt(nrm) - 1));
    if (j > 0) {
      EXPECT_LE(lam, r.eigenvalues.get_double(j - 1));
    }
  }
  std::printf("max ||T v - lambda v|| = %.3g, max | ||v|| - 1 | = %.3g\n", worst_res, worst_norm);
  EXPECT_LT(worst_res, 1e-5);
  EXPECT_LT(worst_norm, 1e-5);
  EXPECT_NEAR(r.eigenvalues.get_double(0), 1.0, 1e-6);
}

TEST(DiffmapTest, SmallGraphUsesTheSameDefinition) {
  // A 12-cell ring with unequal weights: dense path, checked by the eigen equation.
  const int64_t n = 12;
  std::vector<float> dense(static_cast<size_t>(n * n), 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = (i + 1) % n;
    const float w = 0.2f + 0.07f * static_cast<float>(i);
    dense[static_cast<size_t>(i * n + j)] = dense[static_cast<size_t>(j * n + i)] = w;
  }
  const SparseMatrix w = scanpp::dense_to_csr(Array::from_vector(dense, {n, n}));
  const SparseMatrix t = scanpp::tl::diffusion_transitions_sym(w);
  const auto r = scanpp::tl::diffmap_eigen(t, 15);
  ASSERT_EQ(r.eigenvalues.size(), n - 1);  // min(n - 1, n_comps)
  EXPECT_NEAR(r.eigenvalues.get_double(0), 1.0, 1e-6);
  const Array td = scanpp::to_dense(t);
  const int64_t k = n - 1;
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int64_t c = 0; c < n; ++c) s += td.get_double(i * n + c) * r.eigenvectors.get_double(c * k + j);
      EXPECT_NEAR(s, r.eigenvalues.get_double(j) * r.eigenvectors.get_double(i * k + j), 1e-6);
    }
  // A ring is bipartite for even n: -1 is an eigenvalue of largest magnitude and sorts last.
  EXPECT_NEAR(r.eigenvalues.get_double(k - 1), -1.0, 1e-6);
}

TEST(DiffmapTest, BitIdenticalForOneAndTwoThreads) {
  AnnData a1 = golden_graph(), a2 = golden_graph();
  scanpp::set_num_threads(1);
  scanpp::tl::diffmap(a1);
  scanpp::set_num_threads(2);
  scanpp::tl::diffmap(a2);
  EXPECT_TRUE(a1.obsm.at("X_diffmap").get<Array>() == a2.obsm.at("X_diffmap").get<Array>());
  EXPECT_TRUE(a1.uns.at("diffmap_evals").get<Array>() == a2.uns.at("diffmap_evals").get<Array>());
  scanpp::set_num_threads(0);  // back to the default for the suites that follow
}

TEST(DiffmapTest, BadInputIsRejected) {
  AnnData a = golden_graph();
  EXPECT_THROW(scanpp::tl::diffmap(a, {.n_comps = 2}), scanpp::ValueError);
  EXPECT_THROW(scanpp::tl::diffmap(a, {.neighbors_key = "nope"}), scanpp::KeyError);
  // An isolated cell makes the density normalisation divide by zero.
  std::vector<float> dense = {0, 1, 0, 1, 0, 0, 0, 0, 0};
  const SparseMatrix w = scanpp::dense_to_csr(Array::from_vector(dense, {3, 3}));
  EXPECT_THROW(scanpp::tl::diffusion_transitions_sym(w), scanpp::ValueError);
}

}  // namespace
