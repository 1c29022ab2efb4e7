#include "scanpp/tl/diffmap_lanczos.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <string>

#include "scanpp/core/column_block.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/numpy_random.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/core/simd_v8.hpp"

// LAPACK (OpenBLAS): selected eigenpairs of a symmetric tridiagonal matrix (MRRR).
extern "C" void dstevr_(const char* jobz, const char* range, const int* n, double* d, double* e, const double* vl,
                        const double* vu, const int* il, const int* iu, const double* abstol, int* m, double* w,
                        double* z, const int* ldz, int* isuppz, double* work, const int* lwork, int* iwork,
                        const int* liwork, int* info, size_t jobz_len, size_t range_len);
// LAPACK: all eigenvalues of a symmetric tridiagonal matrix (root-free QR), ascending.
extern "C" void dsterf_(const int* n, double* d, double* e, int* info);

namespace scanpp::tl {

namespace {

// For k = 1 or 2 columns (the local orthogonalisation of a Lanczos step):
// x[r0, r1) -= V[:, :k] h, then in the same pass out[c] = V[:, c] . x (new x)
// for c < k, or with want_norm out[0] = x . x.
[[gnu::target_clones("avx512f", "avx2", "default")]] void block_subtract_then_dots(const double* V, int64_t ld,
                                                                                   int k, const double* h,
                                                                                   double* x, int64_t r0,
                                                                                   int64_t r1, bool want_norm,
                                                                                   double* out) {
  // With k == 1 the second column is the first with coefficient 0, which
  // leaves x - h0 a0 unchanged bit for bit.
  const double* a0 = V;
  const double* a1 = k == 2 ? V + ld : V;
  const double h0 = h[0], h1 = k == 2 ? h[1] : 0.0;
  V8 s0 = {}, s1 = {};
  int64_t i = r0;
  for (; i + 8 <= r1; i += 8) {
    const V8 va = SCANPP_LOAD8(a0 + i), vb = SCANPP_LOAD8(a1 + i);
    const V8 xv = SCANPP_LOAD8(x + i) - (h0 * va + h1 * vb);
    SCANPP_STORE8(x + i, xv);
    if (want_norm) {
      s0 += xv * xv;
    } else {
      s0 += va * xv;
      s1 += vb * xv;
    }
  }
  double t0 = 0, t1 = 0;
  for (; i < r1; ++i) {
    const double xi = x[i] - (h0 * a0[i] + h1 * a1[i]);
    x[i] = xi;
    if (want_norm) {
      t0 += xi * xi;
    } else {
      t0 += a0[i] * xi;
      t1 += a1[i] * xi;
    }
  }
  out[0] = SCANPP_HSUM8(s0) + t0;
  if (!want_norm && k == 2) out[1] = SCANPP_HSUM8(s1) + t1;
}

// Y[r0, r1) = V[:, :k] S for the nev columns of S (k x nev, column-major,
// padded with zero columns to a multiple of 8). Register-blocked: eight rows
// by eight columns of Y stay in registers while the k basis vectors stream
// through, one load of V per eight multiply-adds.
[[gnu::target_clones("avx512f", "avx2", "default")]] void block_combine(const double* V, int64_t ld, int k,
                                                                        const double* S, int nev, double* Y,
                                                                        int64_t r0, int64_t r1) {
  for (int j0 = 0; j0 < nev; j0 += 8) {
    const int nj = std::min(8, nev - j0);
    const double* s0 = S + static_cast<int64_t>(j0) * k;
    int64_t i = r0;
    for (; i + 8 <= r1; i += 8) {
      V8 a0 = {}, a1 = {}, a2 = {}, a3 = {}, a4 = {}, a5 = {}, a6 = {}, a7 = {};
      for (int p = 0; p < k; ++p) {
        const V8 v = SCANPP_LOAD8(V + static_cast<int64_t>(p) * ld + i);
        a0 += s0[p] * v;
        a1 += s0[k + p] * v;
        a2 += s0[2 * k + p] * v;
        a3 += s0[3 * k + p] * v;
        a4 += s0[4 * k + p] * v;
        a5 += s0[5 * k + p] * v;
        a6 += s0[6 * k + p] * v;
        a7 += s0[7 * k + p] * v;
      }
      const V8 acc[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
      for (int jj = 0; jj < nj; ++jj) SCANPP_STORE8(Y + static_cast<int64_t>(j0 + jj) * ld + i, acc[jj]);
    }
    for (; i < r1; ++i)
      for (int jj = 0; jj < nj; ++jj) {
        double acc = 0;
        for (int p = 0; p < k; ++p) acc += s0[static_cast<int64_t>(jj) * k + p] * V[static_cast<int64_t>(p) * ld + i];
        Y[static_cast<int64_t>(j0 + jj) * ld + i] = acc;
      }
  }
}

#undef SCANPP_LOAD8
#undef SCANPP_STORE8
#undef SCANPP_HSUM8

// The dense kernels over fixed row blocks: per-block partial dot products are
// added in block order, so one or many threads give the same bits.
class BlockKernels {
 public:
  BlockKernels(int64_t n, int64_t block_rows, int max_cols)
      : n_(n),
        block_(std::max<int64_t>(block_rows, 64)),
        nblocks_((n + block_ - 1) / block_),
        max_cols_(max_cols),
        partial_(static_cast<size_t>(nblocks_ * max_cols)) {}

  // f(r0, r1) over the row blocks; a single block runs inline, since even an
  // inactive OpenMP region costs ~1 us and the solver makes ~10 calls per step.
  template <class F>
  void blocks(F&& f) const {
    if (nblocks_ == 1)
      f(int64_t{0}, n_);
    else
      parallel_blocks(n_, block_, f);
  }

  // out[c] = V[:, c] . x for c < k.
  void dots(const double* V, int k, const double* x, double* out) {
    double* part = partial_.data();
    const int64_t stride = max_cols_;
    blocks([&](int64_t r0, int64_t r1) {
      block_dots(V, n_, k, x, r0, r1, part + (r0 / block_) * stride);
    });
    for (int c = 0; c < k; ++c) {
      double s = part[c];
      for (int64_t b = 1; b < nblocks_; ++b) s += part[b * stride + c];
      out[c] = s;
    }
  }

  // x -= V[:, :k] h (k <= 2), then out = V[:, :k]^T x in the same pass.
  void subtract_then_dots(const double* V, int k, const double* h, double* x, double* out) {
    double* part = partial_.data();
    const int64_t stride = max_cols_;
    blocks([&](int64_t r0, int64_t r1) {
      block_subtract_then_dots(V, n_, k, h, x, r0, r1, false, part + (r0 / block_) * stride);
    });
    for (int c = 0; c < k; ++c) {
      double s = part[c];
      for (int64_t b = 1; b < nblocks_; ++b) s += part[b * stride + c];
      out[c] = s;
    }
  }

  // x -= V[:, :k] h (k <= 2); returns ||x|| from the same pass.
  double subtract_then_norm(const double* V, int k, const double* h, double* x) {
    double* part = partial_.data();
    const int64_t stride = max_cols_;
    blocks([&](int64_t r0, int64_t r1) {
      block_subtract_then_dots(V, n_, k, h, x, r0, r1, true, part + (r0 / block_) * stride);
    });
    double s = part[0];
    for (int64_t b = 1; b < nblocks_; ++b) s += part[b * stride];
    return std::sqrt(s);
  }

  double norm(const double* x) {
    double s = 0;
    dots(x, 1, x, &s);
    return std::sqrt(s);
  }

  // x -= V[:, :k] h
  void subtract(const double* V, int k, const double* h, double* x) {
    blocks([&](int64_t r0, int64_t r1) { block_subtract(V, n_, k, h, x, r0, r1); });
  }

  // Classical Gram-Schmidt of x against V[:, :k], repeated once when the
  // first pass removed more than 1 - 1/sqrt(2) of x's norm (the DGKS test:
  // then the result may still hold rounding-level components along V).
  // Returns the final norm of x.
  double orthogonalise(const double* V, int k, double* x, double* h) {
    const double before = norm(x);
    dots(V, k, x, h);
    subtract(V, k, h, x);
    double after = norm(x);
    if (after < 0.7071067811865476 * before) {
      dots(V, k, x, h);
      subtract(V, k, h, x);
      after = norm(x);
    }
    return after;
  }

  void combine(const double* V, int k, const double* S, int nev, double* Y) {
    blocks([&](int64_t r0, int64_t r1) { block_combine(V, n_, k, S, nev, Y, r0, r1); });
  }

  // y = f x
  void scaled_copy(const double* x, double f, double* y) {
    blocks([&](int64_t r0, int64_t r1) {
      for (int64_t i = r0; i < r1; ++i) y[i] = f * x[i];
    });
  }

  void scale(double* x, double f) {
    blocks([&](int64_t r0, int64_t r1) {
      for (int64_t i = r0; i < r1; ++i) x[i] *= f;
    });
  }

 private:
  int64_t n_, block_, nblocks_;
  int max_cols_;
  std::vector<double> partial_;
};

// All eigenpairs of the symmetric tridiagonal matrix (diag, sub), ascending:
// theta (m) and S (m x m, column-major), by LAPACK's MRRR (dstevr with
// RANGE='A' runs dstemr, O(m^2)).
void tridiagonal_eigenpairs(const std::vector<double>& diag, const std::vector<double>& sub,
                            std::vector<double>& theta, std::vector<double>& S) {
  const int m = static_cast<int>(diag.size());
  std::vector<double> d(diag), e(static_cast<size_t>(m), 0.0);
  std::copy(sub.begin(), sub.begin() + (m - 1), e.begin());
  theta.assign(static_cast<size_t>(m), 0.0);
  S.assign(static_cast<size_t>(m) * m, 0.0);
  std::vector<int> isuppz(static_cast<size_t>(2 * m));
  const int lwork = 20 * m, liwork = 10 * m, one = 1;
  std::vector<double> work(static_cast<size_t>(lwork));
  std::vector<int> iwork(static_cast<size_t>(liwork));
  const double zero = 0, abstol = 0;
  int found = 0, info = 0;
  dstevr_("V", "A", &m, d.data(), e.data(), &zero, &zero, &one, &m, &abstol, &found, theta.data(), S.data(), &m,
          isuppz.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  if (info != 0 || found != m)
    throw Error("lanczos: LAPACK dstevr failed on the tridiagonal matrix (info " + std::to_string(info) + ")");
}

// All eigenvalues of the tridiagonal matrix, ascending (LAPACK dsterf, O(m^2)).
std::vector<double> tridiagonal_eigenvalues(const std::vector<double>& diag, const std::vector<double>& sub) {
  const int m = static_cast<int>(diag.size());
  std::vector<double> d(diag), e(static_cast<size_t>(m), 0.0);
  std::copy(sub.begin(), sub.begin() + (m - 1), e.begin());
  int info = 0;
  dsterf_(&m, d.data(), e.data(), &info);
  if (info != 0) throw Error("lanczos: LAPACK dsterf failed on the tridiagonal matrix (info " + std::to_string(info) + ")");
  return d;
}

// The unit eigenvector of the tridiagonal matrix for the (computed, hence
// accurate to rounding) eigenvalue theta: three steps of inverse iteration
// from a fixed pseudo-random start, with Gaussian elimination and partial
// pivoting (zero pivots perturbed, as in LAPACK's dlagtf/dlagts). O(m).
// Accurate when theta is well separated from the other eigenvalues; the
// caller takes LAPACK's dstevr for clusters.
std::vector<double> tridiagonal_eigenvector(const std::vector<double>& diag, const std::vector<double>& sub,
                                            double theta, double tnorm) {
  const int m = static_cast<int>(diag.size());
  if (m == 1) return {1.0};
  // U: rows with up to three entries (u0 on the diagonal, u1, u2 to its right).
  std::vector<double> u0(static_cast<size_t>(m)), u1(static_cast<size_t>(m), 0.0), u2(static_cast<size_t>(m), 0.0);
  std::vector<double> mult(static_cast<size_t>(m), 0.0);
  std::vector<char> swapped(static_cast<size_t>(m), 0);
  const double tiny = std::numeric_limits<double>::epsilon() * std::max(tnorm, 1e-300);
  double a = diag[0] - theta;  // the pending pivot row: a (diagonal), c (right of it)
  double c = sub[0];
  for (int i = 0; i < m - 1; ++i) {
    const double bl = sub[static_cast<size_t>(i)];                                    // below the pivot
    const double an = diag[static_cast<size_t>(i) + 1] - theta;                        // next row's diagonal
    const double cn = i + 1 < m - 1 ? sub[static_cast<size_t>(i) + 1] : 0.0;          // next row's right entry
    if (std::abs(bl) > std::abs(a)) {
      swapped[static_cast<size_t>(i)] = 1;
      const double f = a / bl;
      mult[static_cast<size_t>(i)] = f;
      u0[static_cast<size_t>(i)] = bl;
      u1[static_cast<size_t>(i)] = an;
      u2[static_cast<size_t>(i)] = cn;
      a = c - f * an;
      c = -f * cn;
    } else {
      const double piv = a == 0 ? tiny : a;
      const double f = bl / piv;
      mult[static_cast<size_t>(i)] = f;
      u0[static_cast<size_t>(i)] = piv;
      u1[static_cast<size_t>(i)] = c;
      u2[static_cast<size_t>(i)] = 0.0;
      a = an - f * c;
      c = cn;
    }
  }
  u0[static_cast<size_t>(m) - 1] = a;
  for (double& u : u0)
    if (std::abs(u) < tiny) u = std::copysign(tiny, u == 0 ? 1.0 : u);
  std::vector<double> x(static_cast<size_t>(m));
  uint64_t state = 0x9E3779B97F4A7C15ull;  // splitmix64: any start with no structure will do
  for (double& xi : x) {
    state += 0x9E3779B97F4A7C15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    xi = static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53 - 0.5;
  }
  for (int it = 0; it < 3; ++it) {
    for (int i = 0; i < m - 1; ++i) {  // apply L^-1 (with the row swaps)
      if (swapped[static_cast<size_t>(i)]) std::swap(x[static_cast<size_t>(i)], x[static_cast<size_t>(i) + 1]);
      x[static_cast<size_t>(i) + 1] -= mult[static_cast<size_t>(i)] * x[static_cast<size_t>(i)];
    }
    for (int i = m - 1; i >= 0; --i) {  // U^-1
      double r = x[static_cast<size_t>(i)];
      if (i + 1 < m) r -= u1[static_cast<size_t>(i)] * x[static_cast<size_t>(i) + 1];
      if (i + 2 < m) r -= u2[static_cast<size_t>(i)] * x[static_cast<size_t>(i) + 2];
      x[static_cast<size_t>(i)] = r / u0[static_cast<size_t>(i)];
    }
    double nrm = 0;
    for (double v : x) nrm = std::max(nrm, std::abs(v));
    for (double& v : x) v /= nrm;
  }
  double nrm2 = 0;
  for (double v : x) nrm2 += v * v;
  const double f = 1.0 / std::sqrt(nrm2);
  for (double& v : x) v *= f;
  return x;
}

// The nev indices of largest |theta| (ties: lower index first).
std::vector<int> largest_magnitude(const std::vector<double>& theta, int nev) {
  std::vector<int> order(theta.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
    return std::abs(theta[static_cast<size_t>(x)]) > std::abs(theta[static_cast<size_t>(y)]);
  });
  order.resize(static_cast<size_t>(nev));
  return order;
}

}  // namespace

SymmetricLanczosResult symmetric_lanczos_largest_magnitude(int64_t n, const SymmetricOperator& op,
                                                           const SymmetricLanczosOptions& opt) {
  if (n < 2) throw ValueError("lanczos: the matrix needs at least 2 rows, got " + std::to_string(n));
  if (opt.nev < 1 || opt.nev >= n)
    throw ValueError("lanczos: nev must be in [1, n - 1] = [1, " + std::to_string(n - 1) + "], got " +
                     std::to_string(opt.nev));
  if (!(opt.tol > 0)) throw ValueError("lanczos: tol must be positive");
  const int nev = opt.nev;
  int64_t mmax = opt.max_basis > 0 ? opt.max_basis : std::max(400, 20 * nev);
  if (opt.max_basis <= 0)
    mmax = std::min<int64_t>(mmax, std::max<int64_t>(2 * nev + 1, (int64_t{256} << 20) / (8 * n)));
  mmax = std::max<int64_t>(std::min<int64_t>(mmax, n), nev + 1);
  const int m_max = static_cast<int>(mmax);

  constexpr double eps = std::numeric_limits<double>::epsilon();
  const double eps23 = std::pow(eps, 2.0 / 3.0);
  const double sqrt_eps = std::sqrt(eps);
  // The rounding error a new Lanczos vector carries (Simon's psi and the
  // noise term of the omega recurrence).
  const double eps1 = eps * std::sqrt(static_cast<double>(n));
  // Rayleigh-Ritz every few steps once a basis could hold the wanted pairs.
  const int first_check = std::min(m_max, std::max(2 * nev, 20));
  constexpr int check_every = 5;

  BlockKernels kern(n, opt.block_rows, m_max);
  // Uninitialised: only the columns the basis reaches are ever touched.
  const std::unique_ptr<double[]> basis(new double[static_cast<size_t>(n * mmax)]);
  double* const Vp = basis.get();
  std::vector<double> w(static_cast<size_t>(n)), h(static_cast<size_t>(m_max));
  std::vector<double> alpha, beta;  // the tridiagonal matrix: diagonal, subdiagonal
  // omega[k] ~ v_j . v_k and omega_old[k] ~ v_(j-1) . v_k (estimates).
  std::vector<double> omega(static_cast<size_t>(m_max) + 1, 0.0), omega_old(static_cast<size_t>(m_max) + 1, 0.0);
  random::NumpyRandomState rng(opt.seed);

  // A random unit vector orthogonal to the first m basis vectors, written to column m.
  auto fresh_vector = [&](int m) -> bool {
    for (int64_t i = 0; i < n; ++i) w[i] = static_cast<double>(rng.next_uint64() >> 11) * 0x1.0p-53 - 0.5;
    const double w0 = kern.norm(w.data());
    const double nw = m > 0 ? kern.orthogonalise(Vp, m, w.data(), h.data()) : w0;
    if (!(nw > 1e-8 * w0)) return false;  // the basis spans the whole space
    kern.scaled_copy(w.data(), 1.0 / nw, Vp + static_cast<int64_t>(m) * n);
    return true;
  };

  SymmetricLanczosResult res;
  if (!fresh_vector(0)) throw ValueError("lanczos: the start vector is zero");
  omega[0] = 1.0;
  double anorm = 0;
  int next_check = first_check;
  int prev_check_m = 0;
  double prev_worst = 0;
  bool reorth_next = false;
  std::vector<double> theta, S;
  for (int j = 0;; ++j) {
    const double* v = Vp + static_cast<int64_t>(j) * n;
    op(v, w.data());
    ++res.products;
    // The three-term recurrence as Gram-Schmidt against v_(j-1), v_j (the
    // coefficients are beta_(j-1), recomputed, and alpha_j), twice: the
    // second pass keeps the explicit residuals of the Ritz pairs near the
    // tolerance (~1e-12 relative instead of ~1e-11 with one pass on PBMC).
    const int k0 = j > 0 ? j - 1 : 0;
    const double* local = Vp + static_cast<int64_t>(k0) * n;
    const int nk = j - k0 + 1;
    double hl[2], hl2[2];
    kern.dots(local, nk, w.data(), hl);
    kern.subtract_then_dots(local, nk, hl, w.data(), hl2);
    const double a = hl[nk - 1] + hl2[nk - 1];
    alpha.push_back(a);
    double b = kern.subtract_then_norm(local, nk, hl2, w.data());
    anorm = std::max({anorm, std::abs(a), b});

    // Omega recurrence: estimates of v_(j+1) . v_k for k <= j.
    std::vector<double> omega_new(static_cast<size_t>(j) + 2, 0.0);
    if (b > 0) {
      for (int k = 0; k < j; ++k) {
        double x = beta[static_cast<size_t>(k)] * omega[static_cast<size_t>(k) + 1] +
                   (alpha[static_cast<size_t>(k)] - a) * omega[static_cast<size_t>(k)] -
                   (j > 0 ? beta[static_cast<size_t>(j - 1)] * omega_old[static_cast<size_t>(k)] : 0.0);
        if (k > 0) x += beta[static_cast<size_t>(k - 1)] * omega[static_cast<size_t>(k) - 1];
        x = (x + std::copysign(eps1 * anorm, x)) / b;
        omega_new[static_cast<size_t>(k)] = x;
      }
    }
    omega_new[static_cast<size_t>(j)] = eps1;
    omega_new[static_cast<size_t>(j) + 1] = 1.0;
    double worst_omega = 0;
    for (int k = 0; k < j; ++k) worst_omega = std::max(worst_omega, std::abs(omega_new[static_cast<size_t>(k)]));
    // Semi-orthogonality lost (or the second of a pair): orthogonalise the new
    // vector against the whole basis.
    if (j > 0 && (reorth_next || worst_omega > sqrt_eps)) {
      b = kern.orthogonalise(Vp, j + 1, w.data(), h.data());
      ++res.reorthogonalisations;
      for (int k = 0; k <= j; ++k) omega_new[static_cast<size_t>(k)] = eps1;
      reorth_next = !reorth_next;
    }
    const int m = j + 1;  // basis vectors with their product done
    // An invariant subspace: its Ritz pairs are exact, but eigenvalues outside
    // it cannot appear without a fresh direction.
    const bool breakdown = b <= 1e-13 * anorm;
    const bool last = m == m_max;

    if (m >= nev && (m >= next_check || last)) {
      // Cheap estimate first (eigenvalues, then the last components of the
      // wanted Ritz vectors by inverse iteration), the full tridiagonal
      // eigendecomposition only once that says converged.
      double tnorm = 0;
      for (int k = 0; k < m; ++k)
        tnorm = std::max(tnorm, std::abs(alpha[static_cast<size_t>(k)]) +
                                    (k > 0 ? std::abs(beta[static_cast<size_t>(k - 1)]) : 0.0) +
                                    (k + 1 < m ? std::abs(beta[static_cast<size_t>(k)]) : 0.0));
      theta = tridiagonal_eigenvalues(alpha, beta);
      std::vector<int> sel = largest_magnitude(theta, nev);
      S.assign(static_cast<size_t>(m) * m, 0.0);  // columns of the selected pairs only
      double worst = 0;
      for (int i : sel) {
        const double th = theta[static_cast<size_t>(i)];
        const std::vector<double> s_i = tridiagonal_eigenvector(alpha, beta, th, tnorm);
        std::copy(s_i.begin(), s_i.end(), S.begin() + static_cast<int64_t>(i) * m);
        worst = std::max(worst, std::abs(b * s_i[static_cast<size_t>(m) - 1]) / std::max(eps23, std::abs(th)));
      }
      bool clustered = false;
      for (size_t x = 0; x < sel.size() && !clustered; ++x)
        for (size_t y = 0; y < x && !clustered; ++y)
          clustered = std::abs(theta[static_cast<size_t>(sel[x])] - theta[static_cast<size_t>(sel[y])]) <= 1e-6 * tnorm;
      if (worst <= opt.tol && clustered) {
        // Close or repeated wanted eigenvalues: orthogonal vectors from MRRR.
        tridiagonal_eigenpairs(alpha, beta, theta, S);
        worst = 0;
        for (int i : largest_magnitude(theta, nev))
          worst = std::max(worst, std::abs(b * S[static_cast<size_t>(i) * m + (m - 1)]) /
                                      std::max(eps23, std::abs(theta[static_cast<size_t>(i)])));
      }
      res.basis_size = m;
      ++res.checks;
      // The residual falls about geometrically with the basis size: aim the
      // next check at where the last two predict convergence.
      int step = check_every;
      if (prev_check_m > 0 && worst < prev_worst && worst > opt.tol) {
        const double rate = std::log(prev_worst / worst) / (m - prev_check_m);
        step = static_cast<int>(std::ceil(std::log(worst / opt.tol) / rate));
        step = std::clamp(step, check_every, 40);
      }
      prev_check_m = m;
      prev_worst = worst;
      next_check = m + step;
      res.max_residual = worst;
      if (worst <= opt.tol && (!breakdown || last)) {
        std::vector<int> order = largest_magnitude(theta, nev);
        std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
          return theta[static_cast<size_t>(x)] > theta[static_cast<size_t>(y)];
        });
        // Padded with zero columns to a multiple of 8 for block_combine.
        std::vector<double> Ssel(static_cast<size_t>(m) * ((nev + 7) / 8 * 8), 0.0);
        res.values.resize(static_cast<size_t>(nev));
        for (int c = 0; c < nev; ++c) {
          const size_t i = static_cast<size_t>(order[static_cast<size_t>(c)]);
          res.values[static_cast<size_t>(c)] = theta[i];
          std::copy(S.begin() + static_cast<int64_t>(i) * m, S.begin() + static_cast<int64_t>(i + 1) * m,
                    Ssel.begin() + static_cast<int64_t>(c) * m);
        }
        res.vectors.resize(static_cast<size_t>(n) * nev);
        kern.combine(Vp, m, Ssel.data(), nev, res.vectors.data());
        // A semi-orthogonal basis leaves the Ritz vectors' norms off 1 by ~sqrt(eps).
        for (int c = 0; c < nev; ++c) {
          double* y = res.vectors.data() + static_cast<int64_t>(c) * n;
          kern.scale(y, 1.0 / kern.norm(y));
        }
        res.converged = true;
        return res;
      }
    }
    if (last) return res;
    omega_old.swap(omega);
    std::copy(omega_new.begin(), omega_new.end(), omega.begin());
    if (breakdown) {
      if (!fresh_vector(m)) throw Error("lanczos: the Krylov basis cannot be extended");  // only with m == n
      beta.push_back(0.0);
      for (int k = 0; k < m; ++k) omega[static_cast<size_t>(k)] = eps1;
      omega[static_cast<size_t>(m)] = 1.0;
    } else {
      beta.push_back(b);
      kern.scaled_copy(w.data(), 1.0 / b, Vp + static_cast<int64_t>(m) * n);
    }
  }
}

}  // namespace scanpp::tl
