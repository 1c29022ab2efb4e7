#include "scanpp/pp/pca_lanczos.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "scanpp/core/column_block.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/random.hpp"
#include "scanpp/core/simd_v8.hpp"
#include "scanpp/core/spin_barrier.hpp"
#include "scanpp/pp/pca_packed_scatter.hpp"

// LAPACK (OpenBLAS): all eigenpairs of a symmetric matrix (divide and conquer).
extern "C" void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                        double* work, const int* lwork, int* iwork, const int* liwork, int* info, size_t jobz_len,
                        size_t uplo_len);

extern "C" void openblas_set_num_threads(int n);
extern "C" int openblas_get_num_threads(void);

namespace scanpp::pp::pca_detail {

namespace {

// The basis V is column-major with leading dimension ld (the scatter's
// padded size, a multiple of 16; padding rows stay zero). Row ranges
// [r0, r1) are multiples of 8.

// out(i, c) = Σ_q V(i, q)·Y(q, c) over [r0, r1) for c < ncols (Y m × ncols,
// column-major; out with leading dimension ld), q ascending; four output
// columns share each load of V.
[[gnu::target_clones("avx512f", "avx2", "default")]] void combination(const double* V, int64_t ld, int64_t m,
                                                                      const double* Y, int64_t ncols, double* out,
                                                                      int64_t r0, int64_t r1) {
  int64_t c = 0;
  for (; c + 4 <= ncols; c += 4) {
    double* o0 = out + c * ld;
    double* o1 = o0 + ld;
    double* o2 = o1 + ld;
    double* o3 = o2 + ld;
    const double* y0 = Y + c * m;
    for (int64_t i = r0; i < r1; i += 8) {
      SCANPP_STORE8(o0 + i, V8{});
      SCANPP_STORE8(o1 + i, V8{});
      SCANPP_STORE8(o2 + i, V8{});
      SCANPP_STORE8(o3 + i, V8{});
    }
    for (int64_t q = 0; q < m; ++q) {
      const double* v = V + q * ld;
      const double s0 = y0[q], s1 = y0[m + q], s2 = y0[2 * m + q], s3 = y0[3 * m + q];
      for (int64_t i = r0; i < r1; i += 8) {
        const V8 x = SCANPP_LOAD8(v + i);
        SCANPP_STORE8(o0 + i, SCANPP_LOAD8(o0 + i) + x * s0);
        SCANPP_STORE8(o1 + i, SCANPP_LOAD8(o1 + i) + x * s1);
        SCANPP_STORE8(o2 + i, SCANPP_LOAD8(o2 + i) + x * s2);
        SCANPP_STORE8(o3 + i, SCANPP_LOAD8(o3 + i) + x * s3);
      }
    }
  }
  for (; c < ncols; ++c) {
    double* o = out + c * ld;
    for (int64_t i = r0; i < r1; i += 8) SCANPP_STORE8(o + i, V8{});
    for (int64_t q = 0; q < m; ++q) {
      const double* v = V + q * ld;
      const double s = Y[c * m + q];
      for (int64_t i = r0; i < r1; i += 8) SCANPP_STORE8(o + i, SCANPP_LOAD8(o + i) + SCANPP_LOAD8(v + i) * s);
    }
  }
}

[[gnu::target_clones("avx512f", "avx2", "default")]] double sum_squares(const double* w, int64_t r0, int64_t r1) {
  V8 a{};
  for (int64_t i = r0; i < r1; i += 8) {
    const V8 x = SCANPP_LOAD8(w + i);
    a += x * x;
  }
  return SCANPP_HSUM8(a);
}

// A fixed pseudo-random vector (core/random.hpp's stream of the salt), for
// the rare restart after the Krylov space became invariant.
void fill_random(double* v, int64_t p, uint64_t salt) {
  for (int64_t i = 0; i < p; ++i) v[i] = random::to_unit(random::hash3(salt, static_cast<uint64_t>(i), 0)) - 0.5;
}

// The `want` largest eigenpairs of symmetric T (m × m), ascending: theta
// (want) and their vectors Y (m × want). All pairs by divide and conquer
// (dsyevd: 1.05 ms against MRRR's (dsyevr) 1.55 ms at m = 101; 2.5 ms less
// of PBMC 3k's Lanczos, while the other threads wait), on one OpenBLAS
// thread: for a matrix this small, OpenBLAS's workers would only wake to
// spin for the cores against the team's threads. False if LAPACK failed.
bool top_eigenpairs(const Eigen::MatrixXd& T, int64_t want, Eigen::VectorXd& theta, Eigen::MatrixXd& Y) {
  Eigen::MatrixXd Z = T;  // dsyevd overwrites its input with the eigenvectors
  const int n = static_cast<int>(T.rows());
  int info = 0, lwork = -1, liwork = -1, iquery = 0;
  double query = 0.0;
  Eigen::VectorXd w(n);
  const int blas_threads = openblas_get_num_threads();
  openblas_set_num_threads(1);
  dsyevd_("V", "L", &n, Z.data(), &n, w.data(), &query, &lwork, &iquery, &liwork, &info, 1, 1);
  if (info == 0) {
    lwork = std::max(1, static_cast<int>(query));
    liwork = std::max(1, iquery);
    std::vector<double> work(static_cast<size_t>(lwork));
    std::vector<int> iwork(static_cast<size_t>(liwork));
    dsyevd_("V", "L", &n, Z.data(), &n, w.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  }
  openblas_set_num_threads(blas_threads);
  if (info != 0) return false;
  theta = w.tail(want);
  Y = Z.rightCols(want);
  return true;
}

// Row ranges of the basis: multiples of 16 rows, their number fixed by the
// padded size alone.
std::vector<int64_t> row_ranges(int64_t ld) {
  const int64_t nr = std::clamp<int64_t>(ld / 128, 1, 16);
  std::vector<int64_t> b(static_cast<size_t>(nr) + 1);
  for (int64_t r = 0; r < nr; ++r) b[static_cast<size_t>(r)] = (r * ld / nr) & ~int64_t{15};
  b[static_cast<size_t>(nr)] = ld;
  return b;
}

// Thread t's share [lo, hi) of n items (contiguous).
void share(int64_t n, int t, int n_threads, int64_t& lo, int64_t& hi) {
  lo = n * t / n_threads;
  hi = n * (t + 1) / n_threads;
}

}  // namespace

ScatterEigs packed_scatter_eigs(const PackedScatter& S, int64_t k, int64_t ncv, const double* v0, double tol,
                                int64_t max_restarts) {
  const int64_t p = S.size(), ld = S.padded_size(), m = ncv;
  if (k < 1 || k >= p || ncv <= k || ncv > p)
    throw ValueError("pca: Lanczos needs 1 <= k < ncv <= p (k=" + std::to_string(k) + ", ncv=" +
                     std::to_string(ncv) + ", p=" + std::to_string(p) + ")");
  std::vector<double> V(static_cast<size_t>(ld * (m + 1)), 0.0), w(static_cast<size_t>(ld), 0.0);
  double n0 = 0.0;
  for (int64_t i = 0; i < p; ++i) n0 += v0[i] * v0[i];
  n0 = std::sqrt(n0);
  if (!(n0 > 0) || !std::isfinite(n0)) throw ValueError("pca: the Lanczos start vector is zero or not finite");
  for (int64_t i = 0; i < p; ++i) V[static_cast<size_t>(i)] = v0[i] / n0;

  const std::vector<int64_t> ranges = row_ranges(ld);
  const auto nr = static_cast<int64_t>(ranges.size()) - 1;
  const int64_t nb = S.n_blocks();
  // Per range: the two Gram–Schmidt passes' coefficients and Σ w².
  std::vector<double> cparts(static_cast<size_t>(nr * (m + 1))), dparts(cparts.size()), nparts(static_cast<size_t>(nr));
  Eigen::MatrixXd T = Eigen::MatrixXd::Zero(m, m);
  // Set by thread 0 at a restart, read by all after the barrier: the
  // coefficients of the kept (or, when done, the wanted) Ritz vectors in
  // the first l columns.
  Eigen::MatrixXd Ykeep(m, m);
  std::vector<double> Vnew(static_cast<size_t>(ld * m));  // the new basis columns / final vectors
  const double eps = std::numeric_limits<double>::epsilon();
  const double eps23 = std::pow(eps, 2.0 / 3.0);
  ScatterEigs out;
  int64_t l = 0;          // Ritz vectors kept by the last restart
  double beta = 0.0;      // the last coupling ‖w‖
  bool done = false;      // converged: Vnew holds the wanted vectors
  // Two failure flags, each read only after a barrier that follows its
  // writes and before the next write can come: the Krylov space cannot grow
  // (set inside a step); no convergence or a failed projected problem (set
  // at a restart). With one flag, thread 0 could set it at a restart while
  // another thread, still between the last step's barrier and its check,
  // read it there, left the region and never came to the restart's barrier.
  bool failed = false, restart_failed = false;
  std::string failure;
  SpinBarrier barrier;

#pragma omp parallel
  {
    const int tid = omp_get_thread_num(), n_threads = omp_get_num_threads();
    if (tid == 0) barrier.set_threads(n_threads);
#pragma omp barrier
    int64_t b_lo, b_hi, r_lo, r_hi;
    share(nb, tid, n_threads, b_lo, b_hi);
    share(nr, tid, n_threads, r_lo, r_hi);
    std::vector<double> c(static_cast<size_t>(m + 1)), d(c.size());
    // Sum of the ranges' parts in range order (the same bits on every thread).
    const auto total = [&](const std::vector<double>& parts, int64_t cols, std::vector<double>& into) {
      std::fill(into.begin(), into.begin() + cols, 0.0);
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t q = 0; q < cols; ++q) into[static_cast<size_t>(q)] += parts[static_cast<size_t>(r * (m + 1) + q)];
    };
    for (int64_t restart = 0;; ++restart) {
      for (int64_t j = l; j < m; ++j) {
        const double* vj = V.data() + j * ld;
        for (int64_t b = b_lo; b < b_hi; ++b) S.multiply_block(b, vj);
        barrier.arrive_and_wait();
        const int64_t cols = j + 1;
        for (int64_t r = r_lo; r < r_hi; ++r) {
          const int64_t i0 = ranges[static_cast<size_t>(r)], i1 = ranges[static_cast<size_t>(r) + 1];
          S.gather_rows(std::min(i0, p), std::min(i1, p), w.data());
          block_dots(V.data(), ld, static_cast<int>(cols), w.data(), i0, i1, cparts.data() + r * (m + 1));
        }
        barrier.arrive_and_wait();
        // Classical Gram–Schmidt twice (the second pass removes what rounding
        // left of the first; Lanczos vectors lose orthogonality fast without it).
        total(cparts, cols, c);
        for (int64_t r = r_lo; r < r_hi; ++r) {
          const int64_t i0 = ranges[static_cast<size_t>(r)], i1 = ranges[static_cast<size_t>(r) + 1];
          block_subtract(V.data(), ld, static_cast<int>(cols), c.data(), w.data(), i0, i1);
          block_dots(V.data(), ld, static_cast<int>(cols), w.data(), i0, i1, dparts.data() + r * (m + 1));
        }
        barrier.arrive_and_wait();
        total(dparts, cols, d);
        for (int64_t r = r_lo; r < r_hi; ++r) {
          const int64_t i0 = ranges[static_cast<size_t>(r)], i1 = ranges[static_cast<size_t>(r) + 1];
          block_subtract(V.data(), ld, static_cast<int>(cols), d.data(), w.data(), i0, i1);
          nparts[static_cast<size_t>(r)] = sum_squares(w.data(), i0, i1);
        }
        barrier.arrive_and_wait();
        double norm2 = 0.0;
        for (int64_t r = 0; r < nr; ++r) norm2 += nparts[static_cast<size_t>(r)];
        const double tjj = c[static_cast<size_t>(j)] + d[static_cast<size_t>(j)];
        const double bj = std::sqrt(norm2);
        double* vn = V.data() + (j + 1) * ld;
        if (bj <= eps * std::max(1.0, std::abs(tjj))) {
          // The Krylov space became invariant (exact low rank): go on from a
          // new direction orthogonal to it, with a zero coupling.
          if (tid == 0) {
            fill_random(w.data(), p, static_cast<uint64_t>(out.products + 1));
            for (int pass = 0; pass < 2; ++pass) {
              block_dots(V.data(), ld, static_cast<int>(cols), w.data(), 0, ld, c.data());
              block_subtract(V.data(), ld, static_cast<int>(cols), c.data(), w.data(), 0, ld);
            }
            const double r = std::sqrt(sum_squares(w.data(), 0, ld));
            if (!(r > 0)) {
              failed = true;
              failure = "pca: the Lanczos solver cannot extend the Krylov space";
            } else {
              for (int64_t i = 0; i < ld; ++i) vn[i] = w[static_cast<size_t>(i)] / r;
            }
            beta = 0.0;
          }
        } else {
          for (int64_t r = r_lo; r < r_hi; ++r)
            for (int64_t i = ranges[static_cast<size_t>(r)]; i < ranges[static_cast<size_t>(r) + 1]; ++i)
              vn[i] = w[static_cast<size_t>(i)] / bj;
          if (tid == 0) beta = bj;
        }
        if (tid == 0) {
          ++out.products;
          T(j, j) = tjj;
          if (j + 1 < m) T(j, j + 1) = T(j + 1, j) = beta;
        }
        barrier.arrive_and_wait();
        if (failed) break;
      }
      if (failed) break;
      if (tid == 0) try {
        // The projected problem: converged Ritz pairs, or the restart's.
        // Enough pairs for the test and the largest restart below.
        const int64_t want = std::min(m, std::max(k + (m - k) / 2, std::max<int64_t>(m / 2, 2)));
        Eigen::VectorXd theta;
        Eigen::MatrixXd Y;
        if (!top_eigenpairs(T, want, theta, Y)) {
          restart_failed = true;
          failure = "pca: the Lanczos solver's projected eigenproblem failed";
        } else {
          const auto col = [want](int64_t i) { return want - 1 - i; };  // the i-th largest
          int64_t nconv = 0;
          for (int64_t i = 0; i < k; ++i)
            if (std::abs(beta * Y(m - 1, col(i))) < tol * std::max(eps23, std::abs(theta[col(i)]))) ++nconv;
          int64_t keep;
          if (nconv >= k) {
            done = true;
            keep = k;
            out.values.resize(k);
            for (int64_t i = 0; i < k; ++i) out.values[i] = theta[col(i)];
          } else if (restart == max_restarts) {
            restart_failed = true;
            failure = "pca: the Lanczos eigensolver did not converge";
            keep = 0;
          } else {
            ++out.restarts;
            // ARPACK's dsaup2 rule (Spectra's too).
            keep = k + std::min(nconv, (m - k) / 2);
            if (k == 1) keep = m >= 6 ? m / 2 : 2;
            keep = std::min(keep, m - 1);
            T.setZero();
            for (int64_t i = 0; i < keep; ++i) {
              T(i, i) = theta[col(i)];
              T(i, keep) = T(keep, i) = beta * Y(m - 1, col(i));
            }
          }
          for (int64_t i = 0; i < keep; ++i) Ykeep.col(i) = Y.col(col(i));
          l = keep;
        }
      } catch (const std::exception& e) {  // nothing may leave the parallel region
        restart_failed = true;
        failure = std::string("pca: the Lanczos solver failed at a restart: ") + e.what();
      }
      barrier.arrive_and_wait();
      if (restart_failed) break;
      for (int64_t r = r_lo; r < r_hi; ++r) {
        const int64_t i0 = ranges[static_cast<size_t>(r)], i1 = ranges[static_cast<size_t>(r) + 1];
        combination(V.data(), ld, m, Ykeep.data(), l, Vnew.data(), i0, i1);
        if (done) continue;
        // The kept Ritz vectors, then the last Lanczos vector after them.
        for (int64_t q = 0; q < l; ++q)
          std::copy(Vnew.begin() + q * ld + i0, Vnew.begin() + q * ld + i1, V.begin() + q * ld + i0);
        std::copy(V.begin() + m * ld + i0, V.begin() + m * ld + i1, V.begin() + l * ld + i0);
      }
      if (done) break;
      barrier.arrive_and_wait();
    }
  }
  if (failed || restart_failed) throw Error(failure);
  out.vectors.resize(p, k);
  for (int64_t q = 0; q < k; ++q)
    std::copy(Vnew.begin() + q * ld, Vnew.begin() + q * ld + p, out.vectors.col(q).data());
  return out;
}

}  // namespace scanpp::pp::pca_detail
