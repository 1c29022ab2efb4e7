#include "scanpp/pp/pca_operator.hpp"

#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/error.hpp"
#include "scanpp/core/huge_pages.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/core/simd_v8.hpp"

namespace scanpp::pp::pca_detail {

RowChunks::RowChunks(int64_t n_rows, int64_t min_rows, int64_t max_chunks, int64_t multiple) : n(n_rows) {
  count = std::clamp<int64_t>((n_rows + min_rows - 1) / min_rows, 1, max_chunks);
  size = std::max<int64_t>(1, (n_rows + count - 1) / count);
  size = (size + multiple - 1) / multiple * multiple;
  count = (n_rows + size - 1) / size;
  if (n_rows == 0) count = 0;
}

void CenteredOperator::gram_n(const double* u, double* out) const {
  Eigen::MatrixXd U = Eigen::Map<const Eigen::VectorXd>(u, n_);
  Eigen::MatrixXd w = tmul(U);
  Eigen::MatrixXd y = mul(w);
  Eigen::Map<Eigen::VectorXd>(out, n_) = y.col(0);
}

// Dense products go to OpenBLAS in row blocks taken in a fixed order; each
// call splits only its output among BLAS threads, never the summation.
Eigen::MatrixXd CenteredOperator::scatter_p() const {
  Eigen::MatrixXd S = Eigen::MatrixXd::Zero(p_, p_);
  for_each_dense_chunk(2048, [&](int64_t, int64_t rows, RowMatrix& Xb) {
    subtract_mean(Xb);
    // Row-major rows × p is column-major p × rows: S += Xbᵀ·Xb.
    cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, static_cast<int>(p_), static_cast<int>(rows), 1.0,
                Xb.data(), static_cast<int>(p_), 1.0, S.data(), static_cast<int>(p_));
  });
  return S;
}

// For float32 data (Scanpy's ARPACK itself runs in float32): ssyrk is twice
// as fast as dsyrk here, and forming S was half of PBMC 3k's PCA. Rows are
// centred in double and rounded to float32 a block at a time; each block's
// products are summed by one ssyrk in a float32 p × p buffer, and the blocks
// are added in double, so the error grows with the block, not with n. The
// diagonal, which sets the total variance and dominates S, is summed from the
// double values. Blocks depend on n and p alone. One call per block: on PBMC
// 3k, ssyrk over all 2,638 rows took 36-44 ms where calls of 256 rows took
// 51-55 ms.
namespace {

// Rows per float32 block: up to 4096, fewer where a block of rows in
// float32 would pass 64 MiB (p over 4096).
int64_t f32_block_rows(int64_t p) {
  return std::clamp<int64_t>((int64_t{64} << 20) / (4 * std::max<int64_t>(p, 1)), 256, 4096);
}

}  // namespace

template <class Block>
void CenteredOperator::f32_scatter_blocks(Eigen::VectorXd& diag, Block&& block) const {
  const int64_t rows_max = std::min(n_, f32_block_rows(p_));
  // Uninitialised, with huge pages for their first write (NoInitAllocator):
  // 19 + 13.5 MB on PBMC 3k. Sf needs no zeroing: each block's ssyrk
  // overwrites its lower triangle, the only part read.
  std::vector<float, NoInitAllocator<float>> Xf(static_cast<size_t>(rows_max) * static_cast<size_t>(p_));
  std::vector<float, NoInitAllocator<float>> Sf(static_cast<size_t>(p_) * static_cast<size_t>(p_));
  diag = Eigen::VectorXd::Zero(p_);
  for (int64_t r0 = 0; r0 < n_; r0 += rows_max) {
    const int64_t rows = std::min(rows_max, n_ - r0);
    centered_rows_f32(r0, r0 + rows, Xf.data(), diag.data());
    cblas_ssyrk(CblasColMajor, CblasLower, CblasNoTrans, static_cast<int>(p_), static_cast<int>(rows), 1.0f,
                Xf.data(), static_cast<int>(p_), 0.0f, Sf.data(), static_cast<int>(p_));
    block(static_cast<const float*>(Sf.data()));
  }
}

Eigen::MatrixXd CenteredOperator::scatter_p_lower_f32() const {
  const size_t pp = static_cast<size_t>(p_) * static_cast<size_t>(p_);
  Eigen::MatrixXd S(p_, p_);
  advise_huge_pages(S.data(), pp * sizeof(double));
  S.setZero();
  Eigen::VectorXd diag;
  f32_scatter_blocks(diag, [&](const float* Sf) {
    parallel_blocks(p_, 16, [&](int64_t a, int64_t e) {
      for (int64_t i = a; i < e; ++i) {
        const float* src = Sf + i * p_;
        double* dst = S.data() + i * p_;
        for (int64_t j = i + 1; j < p_; ++j) dst[j] += static_cast<double>(src[j]);
      }
    });
  });
  S.diagonal() = diag;
  return S;
}

// One block (n up to 4096 on PBMC-sized p): packed straight from the float32
// buffer, without the p × p double matrix (27 MB on PBMC 3k) and its passes;
// the same values as packing scatter_p_lower_f32().
PackedScatter CenteredOperator::packed_scatter_f32() const {
  if (n_ == 0 || n_ > f32_block_rows(p_)) return PackedScatter(scatter_p_lower_f32());  // no block, or several
  Eigen::VectorXd diag;
  std::optional<PackedScatter> packed;
  f32_scatter_blocks(diag, [&](const float* Sf) { packed.emplace(Sf, diag.data(), p_); });  // the one block
  return std::move(*packed);
}

void CenteredOperator::centered_rows_f32(int64_t r0, int64_t r1, float* out, double* diag) const {
  RowMatrix Xb;
  dense_rows(r0, r1, Xb);
  subtract_mean(Xb);
  const int64_t rows = r1 - r0;
  parallel_blocks(p_, 256, [&](int64_t a, int64_t e) {
    for (int64_t r = 0; r < rows; ++r) {
      const double* x = Xb.data() + r * p_;
      float* xf = out + r * p_;
      for (int64_t j = a; j < e; ++j) {
        diag[j] += x[j] * x[j];
        xf[j] = static_cast<float>(x[j]);
      }
    }
  });
}

void CenteredOperator::subtract_mean(RowMatrix& rows) const {
  const double* mu = mean_.data();
  parallel_blocks(rows.rows(), 64, [&](int64_t a, int64_t b) {
    for (int64_t r = a; r < b; ++r) {
      double* o = rows.data() + r * p_;
      for (int64_t j = 0; j < p_; ++j) o[j] -= mu[j];
    }
  });
}

Eigen::MatrixXd CenteredOperator::scatter_n() const {
  RowMatrix Xc;
  dense_rows(0, n_, Xc);
  subtract_mean(Xc);
  Eigen::MatrixXd G = Eigen::MatrixXd::Zero(n_, n_);
  cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, static_cast<int>(n_), static_cast<int>(p_), 1.0, Xc.data(),
              static_cast<int>(p_), 0.0, G.data(), static_cast<int>(n_));
  return G;
}

namespace {

// Row kernels of the dense operator: four 8-lane double accumulators combined
// in a fixed order, so a row's result never depends on the thread count. The
// clones let the loop use AVX2/AVX-512 where the machine has it (GCC may fuse
// into FMA there, so results can differ in the last bits between machines,
// never between runs on one machine). The loop is memory-bound: one pass
// over X per operator call.
typedef double v8d __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));

// Eight values of x starting at x + j, widened to double, into `out` (a macro:
// a function returning a 64-byte vector would change the ABI between clones).
#define SCANPP_LOAD8_float(out, x)        \
  do {                                    \
    v8f f_;                               \
    std::memcpy(&f_, (x), sizeof f_);     \
    out = __builtin_convertvector(f_, v8d); \
  } while (0)
#define SCANPP_LOAD8_double(out, x) std::memcpy(&out, (x), sizeof out)

#define SCANPP_ROW_KERNEL(T)                                                                  \
  __attribute__((target_clones("avx512f", "avx2", "default"))) double row_dot_##T(            \
      const T* x, const double* v, int64_t p) {                                               \
    v8d a0 = {0, 0, 0, 0, 0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;                             \
    int64_t j = 0;                                                                            \
    for (; j + 32 <= p; j += 32) {                                                            \
      v8d v0, v1, v2, v3, x0, x1, x2, x3;                                                     \
      std::memcpy(&v0, v + j, sizeof v0);                                                     \
      std::memcpy(&v1, v + j + 8, sizeof v1);                                                 \
      std::memcpy(&v2, v + j + 16, sizeof v2);                                                \
      std::memcpy(&v3, v + j + 24, sizeof v3);                                                \
      SCANPP_LOAD8_##T(x0, x + j);                                                            \
      SCANPP_LOAD8_##T(x1, x + j + 8);                                                        \
      SCANPP_LOAD8_##T(x2, x + j + 16);                                                       \
      SCANPP_LOAD8_##T(x3, x + j + 24);                                                       \
      a0 += x0 * v0;                                                                          \
      a1 += x1 * v1;                                                                          \
      a2 += x2 * v2;                                                                          \
      a3 += x3 * v3;                                                                          \
    }                                                                                         \
    const v8d acc = (a0 + a1) + (a2 + a3);                                                    \
    double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])); \
    for (; j < p; ++j) s += static_cast<double>(x[j]) * v[j];                                 \
    return s;                                                                                 \
  }                                                                                           \
  __attribute__((target_clones("avx512f", "avx2", "default"))) void row_axpy_##T(             \
      double* z, double y, const T* x, int64_t p) {                                           \
    const v8d yy = {y, y, y, y, y, y, y, y};                                                  \
    int64_t j = 0;                                                                            \
    for (; j + 8 <= p; j += 8) {                                                              \
      v8d zz, xx;                                                                             \
      std::memcpy(&zz, z + j, sizeof zz);                                                     \
      SCANPP_LOAD8_##T(xx, x + j);                                                            \
      zz += yy * xx;                                                                          \
      std::memcpy(z + j, &zz, sizeof zz);                                                     \
    }                                                                                         \
    for (; j < p; ++j) z[j] += y * static_cast<double>(x[j]);                                 \
  }

SCANPP_ROW_KERNEL(float)
SCANPP_ROW_KERNEL(double)
#undef SCANPP_ROW_KERNEL

// Four consecutive rows at once for Xcᵀ·Xc·v: the dots of the four rows with
// v share each load of v, and the four axpys into z share each load and
// store of z, which is what the one-row kernels spend most of their time on.
// Returns the sum of the four centred dots (y_i = x_i·v − μ·v), added in a
// fixed order.
#define SCANPP_ROW4_KERNEL(T)                                                                     \
  __attribute__((target_clones("avx512f", "avx2", "default"))) double rows4_gram_##T(             \
      const T* x0, int64_t p, const double* v, double mu_v, double* z) {                           \
    const T* x1 = x0 + p;                                                                          \
    const T* x2 = x1 + p;                                                                          \
    const T* x3 = x2 + p;                                                                          \
    v8d a0 = {0, 0, 0, 0, 0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;                                  \
    int64_t j = 0;                                                                                 \
    for (; j + 8 <= p; j += 8) {                                                                   \
      v8d vv, xx;                                                                                  \
      std::memcpy(&vv, v + j, sizeof vv);                                                          \
      SCANPP_LOAD8_##T(xx, x0 + j);                                                                \
      a0 += xx * vv;                                                                               \
      SCANPP_LOAD8_##T(xx, x1 + j);                                                                \
      a1 += xx * vv;                                                                               \
      SCANPP_LOAD8_##T(xx, x2 + j);                                                                \
      a2 += xx * vv;                                                                               \
      SCANPP_LOAD8_##T(xx, x3 + j);                                                                \
      a3 += xx * vv;                                                                               \
    }                                                                                              \
    double y[4] = {((a0[0] + a0[1]) + (a0[2] + a0[3])) + ((a0[4] + a0[5]) + (a0[6] + a0[7])),      \
                   ((a1[0] + a1[1]) + (a1[2] + a1[3])) + ((a1[4] + a1[5]) + (a1[6] + a1[7])),      \
                   ((a2[0] + a2[1]) + (a2[2] + a2[3])) + ((a2[4] + a2[5]) + (a2[6] + a2[7])),      \
                   ((a3[0] + a3[1]) + (a3[2] + a3[3])) + ((a3[4] + a3[5]) + (a3[6] + a3[7]))};     \
    for (int64_t t = j; t < p; ++t) {                                                              \
      y[0] += static_cast<double>(x0[t]) * v[t];                                                   \
      y[1] += static_cast<double>(x1[t]) * v[t];                                                   \
      y[2] += static_cast<double>(x2[t]) * v[t];                                                   \
      y[3] += static_cast<double>(x3[t]) * v[t];                                                   \
    }                                                                                              \
    for (double& yi : y) yi -= mu_v;                                                               \
    const v8d y0 = {y[0], y[0], y[0], y[0], y[0], y[0], y[0], y[0]};                               \
    const v8d y1 = {y[1], y[1], y[1], y[1], y[1], y[1], y[1], y[1]};                               \
    const v8d y2 = {y[2], y[2], y[2], y[2], y[2], y[2], y[2], y[2]};                               \
    const v8d y3 = {y[3], y[3], y[3], y[3], y[3], y[3], y[3], y[3]};                               \
    j = 0;                                                                                         \
    for (; j + 8 <= p; j += 8) {                                                                   \
      v8d zz, xx;                                                                                  \
      std::memcpy(&zz, z + j, sizeof zz);                                                          \
      SCANPP_LOAD8_##T(xx, x0 + j);                                                                \
      zz += y0 * xx;                                                                               \
      SCANPP_LOAD8_##T(xx, x1 + j);                                                                \
      zz += y1 * xx;                                                                               \
      SCANPP_LOAD8_##T(xx, x2 + j);                                                                \
      zz += y2 * xx;                                                                               \
      SCANPP_LOAD8_##T(xx, x3 + j);                                                                \
      zz += y3 * xx;                                                                               \
      std::memcpy(z + j, &zz, sizeof zz);                                                          \
    }                                                                                              \
    for (; j < p; ++j)                                                                             \
      z[j] = (((z[j] + y[0] * static_cast<double>(x0[j])) + y[1] * static_cast<double>(x1[j])) +   \
              y[2] * static_cast<double>(x2[j])) +                                                 \
             y[3] * static_cast<double>(x3[j]);                                                    \
    return (y[0] + y[1]) + (y[2] + y[3]);                                                          \
  }

SCANPP_ROW4_KERNEL(float)
SCANPP_ROW4_KERNEL(double)
#undef SCANPP_ROW4_KERNEL

// Rows [0, rows) of X over columns [a, e): centred in double, Σ xc² added
// into diag (rows in order, per column), rounded to float32 into out (same
// row stride p). Eight columns at a time: the scalar loop, which GCC -O2
// does not vectorise, took 8-11 ms on PBMC 3k (27 ms in a one-shot run).
#define SCANPP_CENTER_KERNEL(T)                                                                          \
  __attribute__((target_clones("avx512f", "avx2", "default"))) void center_rows_##T(                     \
      const T* X, int64_t p, int64_t rows, const double* mu, float* out, double* diag, int64_t a,        \
      int64_t e) {                                                                                       \
    for (int64_t r = 0; r < rows; ++r) {                                                                 \
      const T* x = X + r * p;                                                                            \
      float* xf = out + r * p;                                                                           \
      int64_t j = a;                                                                                     \
      for (; j + 8 <= e; j += 8) {                                                                       \
        v8d xx, m, d;                                                                                    \
        SCANPP_LOAD8_##T(xx, x + j);                                                                     \
        std::memcpy(&m, mu + j, sizeof m);                                                               \
        std::memcpy(&d, diag + j, sizeof d);                                                             \
        const v8d c = xx - m;                                                                            \
        d += c * c;                                                                                      \
        std::memcpy(diag + j, &d, sizeof d);                                                             \
        const v8f cf = __builtin_convertvector(c, v8f);                                                  \
        std::memcpy(xf + j, &cf, sizeof cf);                                                             \
      }                                                                                                  \
      for (; j < e; ++j) {                                                                               \
        const double c = static_cast<double>(x[j]) - mu[j];                                              \
        diag[j] += c * c;                                                                                \
        xf[j] = static_cast<float>(c);                                                                   \
      }                                                                                                  \
    }                                                                                                    \
  }
SCANPP_CENTER_KERNEL(float)
SCANPP_CENTER_KERNEL(double)
#undef SCANPP_CENTER_KERNEL
inline void center_rows(const float* X, int64_t p, int64_t rows, const double* mu, float* out, double* diag,
                        int64_t a, int64_t e) {
  center_rows_float(X, p, rows, mu, out, diag, a, e);
}
inline void center_rows(const double* X, int64_t p, int64_t rows, const double* mu, float* out, double* diag,
                        int64_t a, int64_t e) {
  center_rows_double(X, p, rows, mu, out, diag, a, e);
}
#undef SCANPP_LOAD8_float
#undef SCANPP_LOAD8_double

// X·V for many columns (the final scores; randomized PCA's products): four
// rows of X against G groups of 8 columns of Vt (V row-major, its width
// padded to a multiple of 8), 4·G vector sums in registers, each summed over
// j in order, in double. Read from X directly: no double copy of its rows
// (a fresh 15 MB buffer, ~15 ms of page faults in a one-shot run) and no
// BLAS call. Rows past `rows` repeat the last (their sums are not kept).
template <int G, class T>
__attribute__((always_inline)) inline void scores_tile_impl(const T* x0, int64_t rows, int64_t p, const double* Vt,
                                                            int64_t bp, double* acc) {
  const T* x[4];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) x[i] = x0 + std::min<int64_t>(i, rows - 1) * p;
  // Unrolled so that the 4·G sums stay in registers (GCC -O2 unrolls
  // nothing by itself and kept them on the stack: 2x slower).
  V8 a[4][G];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i)
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) a[i][g] = V8{};
  for (int64_t j = 0; j < p; ++j) {
    const double* v = Vt + j * bp;
    V8 vg[G];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) vg[g] = SCANPP_LOAD8(v + 8 * g);
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      const double s = static_cast<double>(x[i][j]);
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) a[i][g] += vg[g] * s;
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i)
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) SCANPP_STORE8(acc + i * 32 + 8 * g, a[i][g]);
}

#define SCANPP_SCORES_TILE(T)                                                                               \
  [[gnu::target_clones("avx512f", "avx2", "default")]] void scores_tile_##T(                                \
      const T* x0, int64_t rows, int64_t p, const double* Vt, int64_t bp, int groups, double* acc) {       \
    switch (groups) {                                                                                       \
      case 1: scores_tile_impl<1>(x0, rows, p, Vt, bp, acc); break;                                         \
      case 2: scores_tile_impl<2>(x0, rows, p, Vt, bp, acc); break;                                         \
      case 3: scores_tile_impl<3>(x0, rows, p, Vt, bp, acc); break;                                         \
      default: scores_tile_impl<4>(x0, rows, p, Vt, bp, acc); break;                                        \
    }                                                                                                       \
  }
SCANPP_SCORES_TILE(float)
SCANPP_SCORES_TILE(double)
#undef SCANPP_SCORES_TILE

inline void scores_tile(const float* x0, int64_t rows, int64_t p, const double* Vt, int64_t bp, int groups, double* acc) {
  scores_tile_float(x0, rows, p, Vt, bp, groups, acc);
}
inline void scores_tile(const double* x0, int64_t rows, int64_t p, const double* Vt, int64_t bp, int groups, double* acc) {
  scores_tile_double(x0, rows, p, Vt, bp, groups, acc);
}

inline double dot_acc(const float* x, const double* v, int64_t p) { return row_dot_float(x, v, p); }
inline double dot_acc(const double* x, const double* v, int64_t p) { return row_dot_double(x, v, p); }
inline void axpy_acc(double* z, double y, const float* x, int64_t p) { row_axpy_float(z, y, x, p); }
inline void axpy_acc(double* z, double y, const double* x, int64_t p) { row_axpy_double(z, y, x, p); }
// rows4_gram_float with AVX-512 intrinsics: GCC lowers the generic kernel's
// 8-float-to-8-double conversion into four instructions (two 4-wide converts
// and a lane insert), which made the Lanczos products of PBMC-sized X (in
// cache, compute-bound) about a third slower. Same lanes and the same
// summation order as the generic kernel's FMA clones. (GCC 12's
// _mm512_cvtps_pd starts from an undefined vector, which -Wmaybe-uninitialized
// reports as a false positive.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f"))) double rows4_gram_float_avx512(const float* x0, int64_t p, const double* v,
                                                                  double mu_v, double* z) {
  const float* x1 = x0 + p;
  const float* x2 = x1 + p;
  const float* x3 = x2 + p;
  __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
  int64_t j = 0;
  for (; j + 8 <= p; j += 8) {
    const __m512d vv = _mm512_loadu_pd(v + j);
    a0 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x0 + j)), vv, a0);
    a1 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x1 + j)), vv, a1);
    a2 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x2 + j)), vv, a2);
    a3 = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x3 + j)), vv, a3);
  }
  alignas(64) double acc[4][8];
  _mm512_store_pd(acc[0], a0);
  _mm512_store_pd(acc[1], a1);
  _mm512_store_pd(acc[2], a2);
  _mm512_store_pd(acc[3], a3);
  double y[4];
  for (int r = 0; r < 4; ++r) {
    const double* t = acc[r];
    y[r] = ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
  }
  for (int64_t t = j; t < p; ++t) {
    y[0] += static_cast<double>(x0[t]) * v[t];
    y[1] += static_cast<double>(x1[t]) * v[t];
    y[2] += static_cast<double>(x2[t]) * v[t];
    y[3] += static_cast<double>(x3[t]) * v[t];
  }
  for (double& yi : y) yi -= mu_v;
  const __m512d y0 = _mm512_set1_pd(y[0]), y1 = _mm512_set1_pd(y[1]), y2 = _mm512_set1_pd(y[2]),
                y3 = _mm512_set1_pd(y[3]);
  j = 0;
  for (; j + 8 <= p; j += 8) {
    __m512d zz = _mm512_loadu_pd(z + j);
    zz = _mm512_fmadd_pd(y0, _mm512_cvtps_pd(_mm256_loadu_ps(x0 + j)), zz);
    zz = _mm512_fmadd_pd(y1, _mm512_cvtps_pd(_mm256_loadu_ps(x1 + j)), zz);
    zz = _mm512_fmadd_pd(y2, _mm512_cvtps_pd(_mm256_loadu_ps(x2 + j)), zz);
    zz = _mm512_fmadd_pd(y3, _mm512_cvtps_pd(_mm256_loadu_ps(x3 + j)), zz);
    _mm512_storeu_pd(z + j, zz);
  }
  for (; j < p; ++j)
    z[j] = (((z[j] + y[0] * static_cast<double>(x0[j])) + y[1] * static_cast<double>(x1[j])) +
            y[2] * static_cast<double>(x2[j])) +
           y[3] * static_cast<double>(x3[j]);
  return (y[0] + y[1]) + (y[2] + y[3]);
}
#pragma GCC diagnostic pop

const bool kHasAvx512 = __builtin_cpu_supports("avx512f");

inline double gram4_acc(const float* x, int64_t p, const double* v, double mu_v, double* z) {
  return kHasAvx512 ? rows4_gram_float_avx512(x, p, v, mu_v, z) : rows4_gram_float(x, p, v, mu_v, z);
}
inline double gram4_acc(const double* x, int64_t p, const double* v, double mu_v, double* z) {
  return rows4_gram_double(x, p, v, mu_v, z);
}

template <class T>
class DenseOperator final : public CenteredOperator {
 public:
  // Chunks of at least 64 rows, a multiple of the four-row kernel's: enough
  // of them (PBMC: 42) that two threads get equal shares of the products,
  // which run from cache at this size.
  DenseOperator(const Array& X, bool center) : X_(X.as<T>().data()), chunks_(X.rows(), 64, 64, 4) {
    n_ = X.rows();
    p_ = X.cols();
    // Two passes in row order (sums, then squared deviations), each row
    // chunk adding into its own partial, the partials combined in chunk
    // order: sequential reads of X, results independent of the threads.
    const size_t P = static_cast<size_t>(p_);
    std::vector<double> parts(static_cast<size_t>(chunks_.count) * P);
    auto column_sums = [&](auto&& term) {
      std::fill(parts.begin(), parts.end(), 0.0);
      parallel_blocks(chunks_.count, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
          double* z = parts.data() + static_cast<size_t>(c) * P;
          for (int64_t r = chunks_.begin(c); r < chunks_.end(c); ++r) {
            const T* x = X_ + r * p_;
            for (int64_t j = 0; j < p_; ++j) z[j] += term(static_cast<double>(x[j]), j);
          }
        }
      });
      Eigen::VectorXd out = Eigen::VectorXd::Zero(p_);
      for (int64_t c = 0; c < chunks_.count; ++c)
        for (int64_t j = 0; j < p_; ++j) out[j] += parts[static_cast<size_t>(c) * P + static_cast<size_t>(j)];
      return out;
    };
    Eigen::VectorXd true_mean = column_sums([](double x, int64_t) { return x; }) / static_cast<double>(n_);
    if (!true_mean.allFinite()) throw ValueError("pca: X contains NaN or infinity");
    const double* mu = true_mean.data();
    col_ss_ = column_sums([mu](double x, int64_t j) {
      const double d = x - mu[j];
      return d * d;
    });
    mean_ = center ? true_mean : Eigen::VectorXd::Zero(p_);
  }

  void gram_p(const double* v, double* out) const override {
    double mu_v = 0;
    for (int64_t j = 0; j < p_; ++j) mu_v += mean_[j] * v[j];
    const size_t P = static_cast<size_t>(p_);
    std::vector<double> parts(static_cast<size_t>(chunks_.count) * P, 0.0);
    std::vector<double> ysum(static_cast<size_t>(chunks_.count), 0.0);
    parallel_blocks(chunks_.count, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        double* z = parts.data() + static_cast<size_t>(c) * P;
        double ys = 0;
        int64_t r = chunks_.begin(c);
        for (; r + 4 <= chunks_.end(c); r += 4) ys += gram4_acc(X_ + r * p_, p_, v, mu_v, z);
        for (; r < chunks_.end(c); ++r) {
          const T* x = X_ + r * p_;
          const double y = dot_acc(x, v, p_) - mu_v;
          axpy_acc(z, y, x, p_);
          ys += y;
        }
        ysum[static_cast<size_t>(c)] = ys;
      }
    });
    double ys = 0;
    for (double y : ysum) ys += y;
    for (int64_t j = 0; j < p_; ++j) out[j] = 0;
    for (int64_t c = 0; c < chunks_.count; ++c) {
      const double* z = parts.data() + static_cast<size_t>(c) * P;
      for (int64_t j = 0; j < p_; ++j) out[j] += z[j];
    }
    for (int64_t j = 0; j < p_; ++j) out[j] -= mean_[j] * ys;
  }

  // Few columns: row by row with the vectorised dot kernel (each row read
  // once, kept in L1 across the columns of V, no double copy of X). Many
  // columns (the final scores, randomized PCA): four rows at a time against
  // up to 32 columns (scores_tile). Each output is one thread's sum over j in
  // order, whatever the thread count.
  Eigen::MatrixXd mul(const Eigen::MatrixXd& V) const override {
    const int64_t b = V.cols();
    const Eigen::RowVectorXd muV = mean_.transpose() * V;
    Eigen::MatrixXd out(n_, b);
    if (b < 8) {
      parallel_blocks(n_, 64, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const T* x = X_ + r * p_;
          for (int64_t c = 0; c < b; ++c) out(r, c) = dot_acc(x, V.col(c).data(), p_) - muV[c];
        }
      });
      return out;
    }
    const int64_t bp = (b + 7) & ~int64_t{7};
    std::vector<double> Vt(static_cast<size_t>(p_ * bp), 0.0);
    for (int64_t j = 0; j < p_; ++j)
      for (int64_t c = 0; c < b; ++c) Vt[static_cast<size_t>(j * bp + c)] = V(j, c);
    parallel_blocks((n_ + 3) / 4, 8, [&](int64_t q0, int64_t q1) {
      alignas(64) double acc[4 * 32];
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t r0 = 4 * q, rows = std::min<int64_t>(4, n_ - r0);
        for (int64_t c0 = 0; c0 < b; c0 += 32) {
          scores_tile(X_ + r0 * p_, rows, p_, Vt.data() + c0, bp, static_cast<int>(std::min<int64_t>(bp - c0, 32) / 8),
                      acc);
          for (int64_t i = 0; i < rows; ++i)
            for (int64_t c = c0; c < std::min(b, c0 + 32); ++c) out(r0 + i, c) = acc[i * 32 + (c - c0)] - muV[c];
        }
      }
    });
    return out;
  }

  Eigen::MatrixXd tmul(const Eigen::MatrixXd& U) const override {
    const int64_t b = U.cols();
    Eigen::MatrixXd out = Eigen::MatrixXd::Zero(p_, b);
    for_each_dense_chunk(2048, [&](int64_t r0, int64_t rows, const RowMatrix& Xb) {
      cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(p_), static_cast<int>(b),
                  static_cast<int>(rows), 1.0, Xb.data(), static_cast<int>(p_), U.data() + r0,
                  static_cast<int>(n_), 1.0, out.data(), static_cast<int>(p_));
    });
    out -= mean_ * U.colwise().sum();
    return out;
  }

  // The base class's three passes (widen, centre, round) in one, with the
  // same operations on every value.
  void centered_rows_f32(int64_t r0, int64_t r1, float* out, double* diag) const override {
    parallel_blocks(p_, 256, [&](int64_t a, int64_t e) {
      center_rows(X_ + r0 * p_, p_, r1 - r0, mean_.data(), out, diag, a, e);
    });
  }

  void dense_rows(int64_t r0, int64_t r1, RowMatrix& out) const override {
    out.resize(r1 - r0, p_);
    parallel_blocks(r1 - r0, 64, [&](int64_t a, int64_t e) {
      for (int64_t r = a; r < e; ++r) {
        const T* x = X_ + (r0 + r) * p_;
        double* o = out.data() + r * p_;
        for (int64_t j = 0; j < p_; ++j) o[j] = static_cast<double>(x[j]);
      }
    });
  }

 private:
  const T* X_;
  RowChunks chunks_;
};

template <class T>
class SparseOperator final : public CenteredOperator {
 public:
  SparseOperator(const SparseMatrix& X, bool center) {
    n_ = X.n_rows;
    p_ = X.n_cols;
    if (X.format == SparseFormat::CSR) {
      csr_ = X;
      csc_ = convert_format(X, SparseFormat::CSC);
    } else {
      csc_ = X;
      csr_ = convert_format(X, SparseFormat::CSR);
    }
    Eigen::VectorXd true_mean = Eigen::VectorXd::Zero(p_);
    col_ss_ = Eigen::VectorXd::Zero(p_);
    const T* d = csc_.data.as<T>().data();
    std::atomic<bool> finite{true};
    // Scanpy's mean_var: E[x²] − μ² with every value widened to double first.
    parallel_blocks(p_, 256, [&](int64_t a, int64_t b) {
      for (int64_t g = a; g < b; ++g) {
        double s = 0, q = 0;
        for (int64_t k = csc_.indptr[static_cast<size_t>(g)]; k < csc_.indptr[static_cast<size_t>(g) + 1]; ++k) {
          const double x = static_cast<double>(d[k]);
          s += x;
          q += x * x;
        }
        if (!std::isfinite(s) || !std::isfinite(q)) finite = false;
        const double mu = s / static_cast<double>(n_);
        true_mean[g] = mu;
        col_ss_[g] = q - static_cast<double>(n_) * mu * mu;
      }
    });
    if (!finite) throw ValueError("pca: X contains NaN or infinity");
    mean_ = center ? true_mean : Eigen::VectorXd::Zero(p_);
  }

  void gram_p(const double* v, double* out) const override {
    double mu_v = 0;
    for (int64_t j = 0; j < p_; ++j) mu_v += mean_[j] * v[j];
    std::vector<double> y(static_cast<size_t>(n_));
    const T* rd = csr_.data.as<T>().data();
    parallel_blocks(n_, 1024, [&](int64_t a, int64_t b) {
      for (int64_t r = a; r < b; ++r) {
        double s = 0;
        for (int64_t k = csr_.indptr[static_cast<size_t>(r)]; k < csr_.indptr[static_cast<size_t>(r) + 1]; ++k)
          s += static_cast<double>(rd[k]) * v[csr_.indices[static_cast<size_t>(k)]];
        y[static_cast<size_t>(r)] = s - mu_v;
      }
    });
    double ys = 0;
    for (double e : y) ys += e;
    const T* cd = csc_.data.as<T>().data();
    parallel_blocks(p_, 256, [&](int64_t a, int64_t b) {
      for (int64_t g = a; g < b; ++g) {
        double s = 0;
        for (int64_t k = csc_.indptr[static_cast<size_t>(g)]; k < csc_.indptr[static_cast<size_t>(g) + 1]; ++k)
          s += static_cast<double>(cd[k]) * y[static_cast<size_t>(csc_.indices[static_cast<size_t>(k)])];
        out[g] = s - mean_[g] * ys;
      }
    });
  }

  Eigen::MatrixXd mul(const Eigen::MatrixXd& V) const override {
    const int64_t b = V.cols();
    const Eigen::MatrixXd Vt = V.transpose();  // b × p: each gene's row contiguous
    const Eigen::VectorXd muV = Vt * mean_;
    Eigen::MatrixXd outT(b, n_);
    const T* rd = csr_.data.as<T>().data();
    parallel_blocks(n_, 256, [&](int64_t a, int64_t e) {
      for (int64_t r = a; r < e; ++r) {
        auto o = outT.col(r);
        o = -muV;
        for (int64_t k = csr_.indptr[static_cast<size_t>(r)]; k < csr_.indptr[static_cast<size_t>(r) + 1]; ++k)
          o += static_cast<double>(rd[k]) * Vt.col(csr_.indices[static_cast<size_t>(k)]);
      }
    });
    return outT.transpose();
  }

  Eigen::MatrixXd tmul(const Eigen::MatrixXd& U) const override {
    const int64_t b = U.cols();
    const Eigen::MatrixXd Ut = U.transpose();  // b × n
    const Eigen::VectorXd colsum = U.colwise().sum().transpose();
    Eigen::MatrixXd outT(b, p_);
    const T* cd = csc_.data.as<T>().data();
    parallel_blocks(p_, 64, [&](int64_t a, int64_t e) {
      for (int64_t g = a; g < e; ++g) {
        auto o = outT.col(g);
        o = -mean_[g] * colsum;
        for (int64_t k = csc_.indptr[static_cast<size_t>(g)]; k < csc_.indptr[static_cast<size_t>(g) + 1]; ++k)
          o += static_cast<double>(cd[k]) * Ut.col(csc_.indices[static_cast<size_t>(k)]);
      }
    });
    return outT.transpose();
  }

  void dense_rows(int64_t r0, int64_t r1, RowMatrix& out) const override {
    out.setZero(r1 - r0, p_);
    const T* rd = csr_.data.as<T>().data();
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t k = csr_.indptr[static_cast<size_t>(r)]; k < csr_.indptr[static_cast<size_t>(r) + 1]; ++k)
        out(r - r0, csr_.indices[static_cast<size_t>(k)]) += static_cast<double>(rd[k]);
  }

 private:
  SparseMatrix csr_, csc_;
};

}  // namespace

std::unique_ptr<CenteredOperator> make_dense_operator(const Array& X, bool center) {
  if (X.ndim() != 2) throw ValueError("pca: X must be a 2-D matrix");
  if (X.dtype() == DType::Float32) return std::make_unique<DenseOperator<float>>(X, center);
  if (X.dtype() == DType::Float64) return std::make_unique<DenseOperator<double>>(X, center);
  throw ValueError(std::string("pca: dense operator needs float32 or float64 values, got ") + dtype_name(X.dtype()));
}

std::unique_ptr<CenteredOperator> make_sparse_operator(const SparseMatrix& X, bool center) {
  X.validate("", "X");
  if (X.dtype() == DType::Float32) return std::make_unique<SparseOperator<float>>(X, center);
  if (X.dtype() == DType::Float64) return std::make_unique<SparseOperator<double>>(X, center);
  throw ValueError(std::string("pca: sparse operator needs float32 or float64 values, got ") +
                   dtype_name(X.dtype()));
}

}  // namespace scanpp::pp::pca_detail
