// The gather behind both sparse passes of the logistic regression.
#include "scanpp/tl/rank_genes_groups_logreg_passes.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "scanpp/core/dtype.hpp"
#include "scanpp/core/error.hpp"

// Multiplies and adds stay separate in every clone (the AVX-512 one would
// fuse them), so the passes round alike on any x86-64 CPU.
#pragma GCC optimize("fp-contract=off")

namespace scanpp::tl::detail {

namespace {

// GCC's generic vectors: one register each in the clone whose instruction
// set has them, split into several otherwise. Only ever locals of inlined
// code (never passed or returned by value, whose ABI differs between clones).
typedef float f4 __attribute__((vector_size(16)));
typedef float f8 __attribute__((vector_size(32)));
typedef float f16 __attribute__((vector_size(64)));
typedef double d2 __attribute__((vector_size(16)));
typedef double d4 __attribute__((vector_size(32)));
typedef double d8 __attribute__((vector_size(64)));

// The two halves of a float vector widened to double (exactly); through
// memcpy, which GCC turns into register moves (its shuffles of generic
// vectors spill).
template <class F, class D>
[[gnu::always_inline]] inline void widen(const F& a, D& lo, D& hi) {
  typedef float H __attribute__((vector_size(sizeof(F) / 2)));
  H h0, h1;
  std::memcpy(&h0, &a, sizeof h0);
  std::memcpy(&h1, reinterpret_cast<const char*>(&a) + sizeof h0, sizeof h1);
  lo = __builtin_convertvector(h0, D);
  hi = __builtin_convertvector(h1, D);
}

// Entries summed in float before their sum joins the double total: C
// chains of at most 64 / C terms each (relative error a few 1e-7 of the
// run's magnitude; the margins and gradients need ~1e-6 of theirs), so that
// the float work per entry is one multiply and one add.
constexpr int64_t kRun = 64;

// NV vectors of F per row of m (the lanes [0, NV·|F|) of rows of stride
// `lanes`); C chains of sums hide the adder's latency. `add`: the sums are
// added to out.
template <class F, class D, int NV>
[[gnu::always_inline]] inline void gather_rows(const int64_t* ptr, const int32_t* off, const float* val, int64_t r0,
                                               int64_t r1, const float* m, int64_t lanes, double* out, bool add) {
  constexpr int L = sizeof(F) / sizeof(float);
  constexpr int C = NV == 1 ? 4 : 2;
  for (int64_t r = r0; r < r1; ++r) {
    D lo[NV], hi[NV];
    double* o = out + (r - r0) * lanes;
#pragma GCC unroll 4
    for (int l = 0; l < NV; ++l) {
      if (add) {
        std::memcpy(&lo[l], o + l * L, sizeof lo[l]);
        std::memcpy(&hi[l], o + l * L + L / 2, sizeof hi[l]);
      } else {
        lo[l] = hi[l] = D{};
      }
    }
    int64_t e = ptr[r];
    const int64_t e1 = ptr[r + 1];
    while (e < e1) {
      const int64_t stop = std::min(e1, e + kRun);
      F a[C][NV];
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c)
#pragma GCC unroll 4
        for (int l = 0; l < NV; ++l) a[c][l] = F{};
      for (; e + C <= stop; e += C) {
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
          const float w = val[e + c];
          const float* mr = m + off[e + c];
#pragma GCC unroll 4
          for (int l = 0; l < NV; ++l) {
            F x;
            std::memcpy(&x, mr + l * L, sizeof x);
            a[c][l] += w * x;
          }
        }
      }
      for (; e < stop; ++e) {  // the last < C entries into the first chain
        const float w = val[e];
        const float* mr = m + off[e];
#pragma GCC unroll 4
        for (int l = 0; l < NV; ++l) {
          F x;
          std::memcpy(&x, mr + l * L, sizeof x);
          a[0][l] += w * x;
        }
      }
#pragma GCC unroll 4
      for (int l = 0; l < NV; ++l) {
        // The chains' sum in float (two more roundings of the run's sum),
        // widened once.
        F t = a[0][l];
#pragma GCC unroll 4
        for (int c = 1; c < C; ++c) t += a[c][l];
        D x, y;
        widen(t, x, y);
        lo[l] += x;
        hi[l] += y;
      }
    }
#pragma GCC unroll 4
    for (int l = 0; l < NV; ++l) {
      std::memcpy(o + l * L, &lo[l], sizeof lo[l]);
      std::memcpy(o + l * L + L / 2, &hi[l], sizeof hi[l]);
    }
  }
}

[[gnu::target_clones("avx512f", "avx2", "default")]] void gather_dispatch(const int64_t* ptr, const int32_t* off,
                                                                         const float* val, int64_t r0, int64_t r1,
                                                                         const float* m, int64_t lanes, double* out,
                                                                         bool add) {
  if (lanes == 4) return gather_rows<f4, d2, 1>(ptr, off, val, r0, r1, m, lanes, out, add);
  if (lanes == 8) return gather_rows<f8, d4, 1>(ptr, off, val, r0, r1, m, lanes, out, add);
  // Windows of up to 64 lanes (four vectors of accumulators) across the row.
  for (int64_t w = 0; w < lanes; w += 64) {
    switch (std::min<int64_t>(4, (lanes - w) / 16)) {
      case 1: gather_rows<f16, d8, 1>(ptr, off, val, r0, r1, m + w, lanes, out + w, add); break;
      case 2: gather_rows<f16, d8, 2>(ptr, off, val, r0, r1, m + w, lanes, out + w, add); break;
      case 3: gather_rows<f16, d8, 3>(ptr, off, val, r0, r1, m + w, lanes, out + w, add); break;
      default: gather_rows<f16, d8, 4>(ptr, off, val, r0, r1, m + w, lanes, out + w, add); break;
    }
  }
}

// Columns per band: M rows of 64 KiB. Rows of M fetched at random from
// all of PBMC 3k's 13,714 (878 KiB of 64-byte coefficient rows) cost the
// margins pass 5.7 ms on Sapphire Rapids (2.1 ms when they all sit in L1);
// bands of 64 KiB cost 3.5 ms, of 16 or 128 KiB 3.8-4.9 ms (more and
// shorter runs, or more misses).
constexpr int64_t kBandBytes = 64 * 1024;

// a's transpose (cols: the column of each of a's entries), its offsets for
// rows of `lanes`.
LogregRows transpose(const LogregRows& a, const int32_t* cols, int lanes) {
  LogregRows t;
  t.n_rows = a.n_cols;
  t.n_cols = a.n_rows;
  t.ptr.assign(static_cast<size_t>(t.n_rows) + 1, 0);
  for (size_t e = 0; e < a.off.size(); ++e) ++t.ptr[static_cast<size_t>(cols[e]) + 1];
  for (int64_t i = 0; i < t.n_rows; ++i) t.ptr[i + 1] += t.ptr[i];
  t.off.resize(a.off.size());
  t.val.resize(a.off.size());
  std::vector<int64_t> next(t.ptr.begin(), t.ptr.end() - 1);
  for (int64_t j = 0; j < a.n_rows; ++j)
    for (int64_t e = a.ptr[j]; e < a.ptr[j + 1]; ++e) {
      const int64_t at = next[cols[e]]++;
      t.off[at] = static_cast<int32_t>(j) * lanes;
      t.val[at] = a.val[e];
    }
  return t;
}

}  // namespace

int logreg_lanes(int k) { return k <= 4 ? 4 : k <= 8 ? 8 : (k + 15) / 16 * 16; }

void logreg_tile(LogregRows& x, int64_t tile_rows, int lanes) {
  const int64_t band = std::max<int64_t>(1, kBandBytes / (static_cast<int64_t>(lanes) * 4));
  const int64_t nb = (x.n_cols + band - 1) / band;
  const int64_t n = x.n_rows;
  if (nb <= 1 || n == 0) return;
  // Each row's entries counted per band, then placed in the order
  // (block of rows, band, row), each row's entries of one band in their
  // given order.
  // An entry's band: its offset over lanes x band, a shift when that is a
  // power of two (it is for up to 64 classes but 33-48).
  const int64_t span = lanes * band;
  const bool pow2 = std::has_single_bit(static_cast<uint64_t>(span));
  const int shift = std::countr_zero(static_cast<uint64_t>(span));
  auto band_of = [&](int32_t o) { return pow2 ? static_cast<int64_t>(o) >> shift : o / span; };
  std::vector<int64_t> count(static_cast<size_t>(n * nb), 0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t e = x.ptr[r]; e < x.ptr[r + 1]; ++e) ++count[r * nb + band_of(x.off[e])];
  std::vector<int64_t> seg(static_cast<size_t>(n * nb) + 1);
  std::vector<int64_t> next(static_cast<size_t>(n * nb));  // storage position of (row, band)'s next entry
  int64_t at = 0, k = 0;
  for (int64_t rb0 = 0; rb0 < n; rb0 += tile_rows) {
    const int64_t rb1 = std::min(n, rb0 + tile_rows);
    for (int64_t b = 0; b < nb; ++b)
      for (int64_t r = rb0; r < rb1; ++r) {
        seg[k++] = at;
        next[r * nb + b] = at;
        at += count[r * nb + b];
      }
  }
  seg[k] = at;
  std::vector<int32_t> off(x.off.size());
  std::vector<float> val(x.val.size());
  for (int64_t r = 0; r < n; ++r)
    for (int64_t e = x.ptr[r]; e < x.ptr[r + 1]; ++e) {
      const int64_t to = next[r * nb + band_of(x.off[e])]++;
      off[to] = x.off[e];
      val[to] = x.val[e];
    }
  x.off = std::move(off);
  x.val = std::move(val);
  x.seg = std::move(seg);
  x.tile_rows = tile_rows;
  x.n_bands = nb;
}

void logreg_gather(const LogregRows& x, int64_t r0, int64_t r1, const float* m, int lanes, double* out) {
  if (x.tile_rows == 0) {
    gather_dispatch(x.ptr.data(), x.off.data(), x.val.data(), r0, r1, m, lanes, out, false);
    return;
  }
  for (int64_t rb0 = r0; rb0 < r1; rb0 += x.tile_rows) {
    const int64_t nr = std::min(x.n_rows, rb0 + x.tile_rows) - rb0;
    for (int64_t b = 0; b < x.n_bands; ++b)
      gather_dispatch(x.seg.data() + rb0 * x.n_bands + b * nr, x.off.data(), x.val.data(), 0, nr, m, lanes,
                      out + (rb0 - r0) * lanes, b > 0);
  }
}

LogregDesign logreg_design(const SparseMatrix& m, int lanes) {
  if (std::max(m.n_rows, m.n_cols) > std::numeric_limits<int32_t>::max() / lanes)
    throw ValueError("logistic_regression: too many rows or columns for the number of classes");
  LogregDesign d;
  const bool csr = m.format == SparseFormat::CSR;
  LogregRows& major = csr ? d.rows : d.cols;
  LogregRows& minor = csr ? d.cols : d.rows;
  major.n_rows = m.n_major();
  major.n_cols = m.n_minor();
  major.ptr = m.indptr;
  major.off.resize(m.indices.size());
  for (size_t e = 0; e < major.off.size(); ++e) major.off[e] = m.indices[e] * lanes;
  major.val.resize(m.indices.size());
  dispatch_dtype(m.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (!std::is_same_v<T, Bool8>) {
      const T* src = m.data.as<T>().data();
      for (size_t e = 0; e < major.val.size(); ++e) major.val[e] = static_cast<float>(src[e]);
    }
  });
  minor = transpose(major, m.indices.data(), lanes);
  return d;
}

}  // namespace scanpp::tl::detail
