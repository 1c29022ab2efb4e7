// packed_scatter_eigs (pp.pca's thick-restart Lanczos on the packed scatter
// matrix, all threads in one region): the leading eigenpairs of the matrix
// it multiplies by (S rounded to float32) as a dense solver gives them, with
// restarts and without; the same bits for 1, 2 and 3 threads; a rank-deficient
// S (the Krylov space becomes invariant and restarts from a new direction);
// the same number of products as Spectra's solver on the same problem; and
// clear errors.
#include "scanpp/pp/pca_lanczos.hpp"

#include <Spectra/SymEigsSolver.h>
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <random>
#include <vector>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pp/pca_packed_scatter.hpp"

using scanpp::pp::pca_detail::PackedScatter;
using scanpp::pp::pca_detail::packed_scatter_eigs;
using scanpp::pp::pca_detail::ScatterEigs;

namespace {

// Xᵀ·X for X of `rows` standard normal rows with decaying column scales (a
// spectrum like PCA's: a few large eigenvalues over a slowly falling bulk).
Eigen::MatrixXd random_scatter(int64_t rows, int64_t p, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> d;
  Eigen::MatrixXd X(rows, p);
  for (Eigen::Index c = 0; c < p; ++c)
    for (Eigen::Index r = 0; r < rows; ++r) X(r, c) = d(gen) * (1.0 + 20.0 / (1.0 + static_cast<double>(c)));
  return X.transpose() * X;
}

// What PackedScatter multiplies by: every entry rounded to float32.
Eigen::MatrixXd rounded(const Eigen::MatrixXd& S) {
  return S.unaryExpr([](double v) { return static_cast<double>(static_cast<float>(v)); });
}

std::vector<double> start(int64_t p) {
  std::vector<double> v(static_cast<size_t>(p));
  for (int64_t i = 0; i < p; ++i) v[static_cast<size_t>(i)] = std::sin(1.0 + static_cast<double>(i));
  return v;
}

// The eigenvalues and vectors against a dense solver of the rounded matrix.
void expect_matches_dense(const Eigen::MatrixXd& S, const ScatterEigs& got, int64_t k, double tol) {
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(rounded(S));
  const int64_t p = S.rows();
  ASSERT_EQ(got.values.size(), k);
  ASSERT_EQ(got.vectors.rows(), p);
  ASSERT_EQ(got.vectors.cols(), k);
  for (int64_t i = 0; i < k; ++i) {
    const double want = es.eigenvalues()[p - 1 - i];
    EXPECT_NEAR(got.values[i], want, tol * std::abs(want)) << "eigenvalue " << i;
    EXPECT_NEAR(std::abs(got.vectors.col(i).dot(es.eigenvectors().col(p - 1 - i))), 1.0, 1e-8) << "vector " << i;
  }
  const Eigen::MatrixXd gram = got.vectors.transpose() * got.vectors;
  EXPECT_LT((gram - Eigen::MatrixXd::Identity(k, k)).cwiseAbs().maxCoeff(), 1e-12);
}

struct SpectraOp {
  using Scalar = double;
  const PackedScatter* S;
  mutable int64_t calls = 0;
  Eigen::Index rows() const { return S->size(); }
  Eigen::Index cols() const { return S->size(); }
  void perform_op(const double* x, double* y) const {
    ++calls;
    S->multiply(x, y);
  }
};

}  // namespace

TEST(PcaLanczos, LeadingEigenpairsAsDenseSolverWithAndWithoutRestarts) {
  for (int64_t p : {40, 203, 517}) {
    const Eigen::MatrixXd S = random_scatter(p + 50, p, static_cast<unsigned>(p));
    const PackedScatter packed(S);
    const std::vector<double> v0 = start(p);
    // ncv = p: no restart; ncv = 2k + 1 as pp.pca: restarts.
    for (const auto& [k, ncv] : {std::pair<int64_t, int64_t>{10, p}, {10, 21}, {1, 20}}) {
      const ScatterEigs got = packed_scatter_eigs(packed, k, ncv, v0.data(), 1e-10);
      if (ncv == p) {
        EXPECT_EQ(got.restarts, 0);
      }
      if (ncv == 21) {
        EXPECT_GT(got.restarts, 0) << "p " << p;
      }
      expect_matches_dense(S, got, k, 1e-10);
    }
  }
}

TEST(PcaLanczos, SameBitsForAnyThreadCount) {
  const int64_t p = 517;
  const PackedScatter packed(random_scatter(p + 50, p, 9));
  const std::vector<double> v0 = start(p);
  const int before = scanpp::num_threads();
  scanpp::set_num_threads(1);
  const ScatterEigs one = packed_scatter_eigs(packed, 12, 25, v0.data());
  for (int threads : {2, 3}) {
    scanpp::set_num_threads(threads);
    const ScatterEigs many = packed_scatter_eigs(packed, 12, 25, v0.data());
    EXPECT_EQ(many.products, one.products);
    EXPECT_TRUE(many.values == one.values) << threads << " threads";
    EXPECT_TRUE(many.vectors == one.vectors) << threads << " threads";
  }
  scanpp::set_num_threads(before);
}

TEST(PcaLanczos, RankDeficientScatterRestartsFromNewDirection) {
  // Rank 15: the Krylov space is invariant after 15 products.
  const int64_t p = 120, k = 10;
  const Eigen::MatrixXd S = random_scatter(15, p, 4);
  const PackedScatter packed(S);
  const std::vector<double> v0 = start(p);
  const ScatterEigs got = packed_scatter_eigs(packed, k, 30, v0.data());
  expect_matches_dense(S, got, k, 1e-9);
}

TEST(PcaLanczos, SameProductsAsSpectra) {
  // The same iteration as Spectra's implicit restarts with exact shifts.
  const int64_t p = 517, k = 20, ncv = 41;
  const PackedScatter packed(random_scatter(p + 50, p, 11));
  const std::vector<double> v0 = start(p);
  SpectraOp op{&packed};
  Spectra::SymEigsSolver<SpectraOp> solver(op, k, ncv);
  solver.init(v0.data());
  solver.compute(Spectra::SortRule::LargestAlge, 1000, 1e-10);
  ASSERT_EQ(solver.info(), Spectra::CompInfo::Successful);
  const ScatterEigs got = packed_scatter_eigs(packed, k, ncv, v0.data(), 1e-10);
  EXPECT_NEAR(static_cast<double>(got.products), static_cast<double>(op.calls), 2.0);
  for (int64_t i = 0; i < k; ++i) EXPECT_NEAR(got.values[i], solver.eigenvalues()[i], 1e-10 * solver.eigenvalues()[i]);
}

TEST(PcaLanczos, ClearErrors) {
  const PackedScatter packed(random_scatter(30, 20, 1));
  const std::vector<double> v0 = start(20), zero(20, 0.0);
  EXPECT_THROW(packed_scatter_eigs(packed, 0, 10, v0.data()), scanpp::ValueError);
  EXPECT_THROW(packed_scatter_eigs(packed, 10, 10, v0.data()), scanpp::ValueError);
  EXPECT_THROW(packed_scatter_eigs(packed, 5, 21, v0.data()), scanpp::ValueError);
  EXPECT_THROW(packed_scatter_eigs(packed, 5, 12, zero.data()), scanpp::ValueError);
  // No convergence within the restarts allowed.
  EXPECT_THROW(packed_scatter_eigs(packed, 5, 7, v0.data(), 1e-300, 0), scanpp::Error);
}

// A failure found at a restart (here: no convergence within the restarts
// allowed) ends the run with an error on every thread, also when a thread
// is descheduled right after a step's last barrier: with more threads than
// cores that happens often. Once, one flag served both the steps' and the
// restarts' failures, and a late thread could read the restart's before
// reaching the restart's barrier, leave, and hang the others there.
TEST(PcaLanczos, RestartFailureWithMoreThreadsThanCores) {
  const PackedScatter packed(random_scatter(30, 20, 1));
  const std::vector<double> v0 = start(20);
  const int before = scanpp::num_threads();
  scanpp::set_num_threads(8);
  for (int rep = 0; rep < 300; ++rep)
    EXPECT_THROW(packed_scatter_eigs(packed, 5, 7, v0.data(), 1e-300, 0), scanpp::Error);
  scanpp::set_num_threads(before);
}
