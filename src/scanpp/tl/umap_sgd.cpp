#include "scanpp/tl/umap_sgd.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#define SCANPP_UMAP_AVX512 1
#endif

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>

#include "scanpp/core/parallel.hpp"
#include "scanpp/core/random.hpp"

namespace scanpp::tl::umap_sgd {

Graph make_graph(const SparseMatrix& pruned, int n_epochs) {
  Graph g;
  g.n = pruned.n_rows;
  g.indptr = pruned.indptr;
  g.tail = pruned.indices;
  const auto w = pruned.data.as<double>();
  double wmax = 0.0;
  for (double v : w) wmax = std::max(wmax, v);
  g.epochs_per_sample.resize(w.size());
  for (size_t e = 0; e < w.size(); ++e) {
    // umap-learn's make_epochs_per_sample: n_epochs / (n_epochs * w / w_max).
    const double n_samples = static_cast<double>(n_epochs) * (w[e] / wmax);
    g.epochs_per_sample[e] = static_cast<double>(n_epochs) / n_samples;
  }
  g.in_ptr.assign(static_cast<size_t>(g.n) + 1, 0);
  for (int32_t t : g.tail) ++g.in_ptr[static_cast<size_t>(t) + 1];
  for (int64_t i = 0; i < g.n; ++i) g.in_ptr[i + 1] += g.in_ptr[i];
  g.in_edge.resize(g.tail.size());
  g.in_head.resize(g.tail.size());
  std::vector<int64_t> next(g.in_ptr.begin(), g.in_ptr.end() - 1);
  for (int64_t i = 0; i < g.n; ++i)
    for (int64_t e = g.indptr[i]; e < g.indptr[i + 1]; ++e) {
      const int64_t pos = next[g.tail[e]]++;
      g.in_edge[pos] = e;
      g.in_head[pos] = static_cast<int32_t>(i);
    }
  return g;
}

namespace {

constexpr uint64_t kNegativeStream = 0x554d415033ULL;
// Vertices per parallel work item (fixed: results never depend on it).
constexpr int64_t kBlock = 256;
// An update is the other vertex's index, with this bit set for an attraction.
constexpr uint32_t kAttractBit = 0x80000000u;
constexpr uint32_t kIndexMask = 0x7fffffffu;

// Least-squares fits on Chebyshev nodes. log2(1 + f) = f * P(f) on
// [sqrt(1/2) - 1, sqrt(2) - 1], absolute error below 7e-7:
constexpr float kLog2[7] = {1.442696433e+00f,  -7.213640448e-01f, 4.806291043e-01f, -3.593503793e-01f,
                            2.956341052e-01f, -2.695093451e-01f, 1.721307475e-01f};
// 2^f on [-1/2, 1/2], relative error below 2e-7:
constexpr float kExp2[6] = {1.000000076e+00f, 6.931472067e-01f, 2.402210727e-01f,
                            5.550327202e-02f, 9.676041930e-03f, 1.340043695e-03f};
constexpr float kSqrt2 = 1.41421356f;
constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: (t + kRound) - kRound rounds t to an integer

struct Consts {
  float a, b, neg_two_ab, two_gamma_b, alpha;
};

// The scalar kernel's arithmetic (builtins rather than std::fma and
// std::bit_cast so that they inline into the FMA clone). Every step has an exact counterpart in the
// AVX-512 kernel (x > y ? x : y is what vmaxps computes, fma is fused on
// both paths), which is what makes the two kernels agree bit for bit.
__attribute__((always_inline)) inline float log2_scalar(float x) {
  x = x > FLT_MIN ? x : FLT_MIN;
  const uint32_t bits = __builtin_bit_cast(uint32_t, x);
  int32_t e = static_cast<int32_t>(bits >> 23) - 127;
  float m = __builtin_bit_cast(float, (bits & 0x007fffffu) | 0x3f800000u);
  if (m > kSqrt2) {
    m = m * 0.5f;
    e += 1;
  }
  const float f = m - 1.0f;
  float p = kLog2[6];
  for (int i = 5; i >= 0; --i) p = __builtin_fmaf(p, f, kLog2[i]);
  return __builtin_fmaf(p, f, static_cast<float>(e));
}

__attribute__((always_inline)) inline float exp2_scalar(float t) {
  t = t > -126.0f ? t : -126.0f;
  t = t < 126.0f ? t : 126.0f;
  const float r = (t + kRound) - kRound;
  const float f = t - r;
  float p = kExp2[5];
  for (int i = 4; i >= 0; --i) p = __builtin_fmaf(p, f, kExp2[i]);
  const int32_t i = static_cast<int32_t>(r);
  return p * __builtin_bit_cast(float, static_cast<uint32_t>(i + 127) << 23);
}

__attribute__((always_inline)) inline float clip4(float v) {
  v = v > -4.0f ? v : -4.0f;
  return v < 4.0f ? v : 4.0f;
}

// umap-learn's gradient coefficients: attraction -2ab d^(2(b-1)) / (1 + a d^2b),
// repulsion 2 gamma b / ((0.001 + d^2)(1 + a d^2b)); zero for coincident points.
__attribute__((always_inline)) inline float grad_coeff(float d2, bool attract, const Consts& c) {
  const float pb = exp2_scalar(c.b * log2_scalar(d2));
  const float q = __builtin_fmaf(c.a, pb, 1.0f);
  const float num = attract ? c.neg_two_ab * pb : c.two_gamma_b;
  const float den = (attract ? d2 : 0.001f + d2) * q;
  return d2 > 0.0f ? num / den : 0.0f;
}

// Applies the listed updates of vertices [v0, v0 + nv) to their positions in
// `old`, writing `out`.
template <int DIM>
__attribute__((always_inline)) inline void run_block_scalar(const uint32_t* ops, const int32_t* start, int64_t v0, int64_t nv, const float* old,
                      float* out, const Consts& c, int dim_rt) {
  const int dim = DIM > 0 ? DIM : dim_rt;
  std::vector<float> buf(DIM > 0 ? 0 : 2 * static_cast<size_t>(dim));
  float fixed[DIM > 0 ? 2 * DIM : 1];
  float* cur = DIM > 0 ? fixed : buf.data();
  float* diff = cur + dim;
  for (int64_t t = 0; t < nv; ++t) {
    const int64_t j = v0 + t;
    for (int d = 0; d < dim; ++d) cur[d] = old[j * dim + d];
    for (int32_t o = start[t]; o < start[t + 1]; ++o) {
      const uint32_t op = ops[o];
      const float* other = old + static_cast<int64_t>(op & kIndexMask) * dim;
      float d2 = 0.0f;
      for (int d = 0; d < dim; ++d) {
        diff[d] = cur[d] - other[d];
        d2 = d == 0 ? diff[d] * diff[d] : __builtin_fmaf(diff[d], diff[d], d2);
      }
      const float coeff = grad_coeff(d2, (op & kAttractBit) != 0, c);
      for (int d = 0; d < dim; ++d) cur[d] = __builtin_fmaf(clip4(coeff * diff[d]), c.alpha, cur[d]);
    }
    for (int d = 0; d < dim; ++d) out[j * dim + d] = cur[d];
  }
}

// The scalar kernel for each dimension, also built for CPUs with FMA
// (std::fma is then one instruction instead of a libm call; the result is
// the same either way, as fma is correctly rounded).
#define SCANPP_SCALAR_BLOCK(NAME, DIM)                                                                     \
  __attribute__((target_clones("fma", "default"))) void NAME(                                             \
      const uint32_t* ops, const int32_t* start, int64_t v0, int64_t nv, const float* old, float* out,    \
      const Consts& c, int dim) {                                                                          \
    run_block_scalar<DIM>(ops, start, v0, nv, old, out, c, dim);                                           \
  }
SCANPP_SCALAR_BLOCK(run_block_scalar_2d, 2)
SCANPP_SCALAR_BLOCK(run_block_scalar_3d, 3)
SCANPP_SCALAR_BLOCK(run_block_scalar_nd, 0)
#undef SCANPP_SCALAR_BLOCK

#ifdef SCANPP_UMAP_AVX512
// GCC 12's AVX-512 headers start unmasked intrinsics from _mm512_undefined_*(),
// which -Wmaybe-uninitialized reports once inlined; the values are never read.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define SCANPP_AVX512_FN __attribute__((target("avx512f"), always_inline)) inline

SCANPP_AVX512_FN __m512 log2_v(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(FLT_MIN));
  const __m512i bits = _mm512_castps_si512(x);
  __m512i e = _mm512_sub_epi32(_mm512_srli_epi32(bits, 23), _mm512_set1_epi32(127));
  __m512 m = _mm512_castsi512_ps(
      _mm512_or_si512(_mm512_and_si512(bits, _mm512_set1_epi32(0x007fffff)), _mm512_set1_epi32(0x3f800000)));
  const __mmask16 big = _mm512_cmp_ps_mask(m, _mm512_set1_ps(kSqrt2), _CMP_GT_OQ);
  m = _mm512_mask_mul_ps(m, big, m, _mm512_set1_ps(0.5f));
  e = _mm512_mask_add_epi32(e, big, e, _mm512_set1_epi32(1));
  const __m512 f = _mm512_sub_ps(m, _mm512_set1_ps(1.0f));
  __m512 p = _mm512_set1_ps(kLog2[6]);
  for (int i = 5; i >= 0; --i) p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kLog2[i]));
  return _mm512_fmadd_ps(p, f, _mm512_cvtepi32_ps(e));
}

SCANPP_AVX512_FN __m512 exp2_v(__m512 t) {
  t = _mm512_max_ps(t, _mm512_set1_ps(-126.0f));
  t = _mm512_min_ps(t, _mm512_set1_ps(126.0f));
  const __m512 r = _mm512_sub_ps(_mm512_add_ps(t, _mm512_set1_ps(kRound)), _mm512_set1_ps(kRound));
  const __m512 f = _mm512_sub_ps(t, r);
  __m512 p = _mm512_set1_ps(kExp2[5]);
  for (int i = 4; i >= 0; --i) p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2[i]));
  const __m512i i = _mm512_cvttps_epi32(r);
  const __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(i, _mm512_set1_epi32(127)), 23));
  return _mm512_mul_ps(p, scale);
}

SCANPP_AVX512_FN __m512 clip4_v(__m512 v) {
  return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-4.0f)), _mm512_set1_ps(4.0f));
}

// 16 vertices in flight, one per lane: position, next update, end of its updates.
struct Lanes {
  __m512 x, y;
  __m512i pos, end, vert;
  __mmask16 alive;
};

// Lanes in `done` finished their vertex: write it and take the next vertex
// that has updates (vertices without any are copied on the way).
SCANPP_AVX512_FN void refill(Lanes& L, __mmask16 done, int64_t& next, int64_t nv, int64_t v0, const int32_t* start,
                             const float* old, float* out) {
  alignas(64) float xs[16], ys[16];
  alignas(64) int32_t ps[16], es[16], vs[16];
  _mm512_store_ps(xs, L.x);
  _mm512_store_ps(ys, L.y);
  _mm512_store_si512(ps, L.pos);
  _mm512_store_si512(es, L.end);
  _mm512_store_si512(vs, L.vert);
  for (uint32_t m = done; m != 0; m &= m - 1) {
    const int l = std::countr_zero(m);
    if (vs[l] >= 0) {
      out[2 * static_cast<int64_t>(vs[l])] = xs[l];
      out[2 * static_cast<int64_t>(vs[l]) + 1] = ys[l];
    }
    while (next < nv && start[next] == start[next + 1]) {
      out[2 * (v0 + next)] = old[2 * (v0 + next)];
      out[2 * (v0 + next) + 1] = old[2 * (v0 + next) + 1];
      ++next;
    }
    if (next < nv) {
      const int64_t v = v0 + next;
      vs[l] = static_cast<int32_t>(v);
      ps[l] = start[next];
      es[l] = start[next + 1];
      xs[l] = old[2 * v];
      ys[l] = old[2 * v + 1];
      ++next;
    } else {
      vs[l] = -1;
      ps[l] = es[l] = 0;
      L.alive = static_cast<__mmask16>(L.alive & ~(1u << l));
    }
  }
  L.x = _mm512_load_ps(xs);
  L.y = _mm512_load_ps(ys);
  L.pos = _mm512_load_si512(ps);
  L.end = _mm512_load_si512(es);
  L.vert = _mm512_load_si512(vs);
}

SCANPP_AVX512_FN void step(Lanes& L, const uint32_t* ops, const float* old, __m512 va, __m512 vb, __m512 vn2ab,
                           __m512 vtgb, __m512 valpha) {
  const __mmask16 act = L.alive;
  const __m512i zi = _mm512_setzero_si512();
  const __m512 zf = _mm512_setzero_ps();
  const __m512i op = _mm512_mask_i32gather_epi32(zi, act, L.pos, ops, 4);
  const __mmask16 att = _mm512_mask_cmplt_epi32_mask(act, op, zi);  // the top bit
  const __m512i k = _mm512_and_si512(op, _mm512_set1_epi32(static_cast<int32_t>(kIndexMask)));
  const __m512i k2 = _mm512_add_epi32(k, k);
  const __m512 ox = _mm512_mask_i32gather_ps(zf, act, k2, old, 4);
  const __m512 oy = _mm512_mask_i32gather_ps(zf, act, k2, old + 1, 4);
  const __m512 dx = _mm512_sub_ps(L.x, ox), dy = _mm512_sub_ps(L.y, oy);
  const __m512 d2 = _mm512_fmadd_ps(dy, dy, _mm512_mul_ps(dx, dx));
  const __mmask16 valid = _mm512_mask_cmp_ps_mask(act, d2, zf, _CMP_GT_OQ);
  const __m512 pb = exp2_v(_mm512_mul_ps(vb, log2_v(d2)));
  const __m512 q = _mm512_fmadd_ps(va, pb, _mm512_set1_ps(1.0f));
  const __m512 num = _mm512_mask_blend_ps(att, vtgb, _mm512_mul_ps(vn2ab, pb));
  const __m512 den =
      _mm512_mul_ps(_mm512_mask_blend_ps(att, _mm512_add_ps(_mm512_set1_ps(0.001f), d2), d2), q);
  const __m512 coeff = _mm512_maskz_div_ps(valid, num, den);
  L.x = _mm512_fmadd_ps(clip4_v(_mm512_mul_ps(coeff, dx)), valpha, L.x);
  L.y = _mm512_fmadd_ps(clip4_v(_mm512_mul_ps(coeff, dy)), valpha, L.y);
  L.pos = _mm512_mask_add_epi32(L.pos, act, L.pos, _mm512_set1_epi32(1));
}

__attribute__((target("avx512f"))) void run_block_avx512(const uint32_t* ops, const int32_t* start, int64_t v0,
                                                          int64_t nv, const float* old, float* out, const Consts& c) {
  const __m512 va = _mm512_set1_ps(c.a), vb = _mm512_set1_ps(c.b), vn2ab = _mm512_set1_ps(c.neg_two_ab),
               vtgb = _mm512_set1_ps(c.two_gamma_b), valpha = _mm512_set1_ps(c.alpha);
  int64_t next = 0;
  Lanes A{_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_si512(), _mm512_setzero_si512(),
          _mm512_set1_epi32(-1), 0xFFFF};
  Lanes B = A;
  refill(A, 0xFFFF, next, nv, v0, start, old, out);
  refill(B, 0xFFFF, next, nv, v0, start, old, out);
  // Two independent groups: their dependency chains overlap in the core.
  while ((A.alive | B.alive) != 0) {
    step(A, ops, old, va, vb, vn2ab, vtgb, valpha);
    step(B, ops, old, va, vb, vn2ab, vtgb, valpha);
    const __mmask16 da = _mm512_mask_cmpge_epi32_mask(A.alive, A.pos, A.end);
    if (da != 0) refill(A, da, next, nv, v0, start, old, out);
    const __mmask16 db = _mm512_mask_cmpge_epi32_mask(B.alive, B.pos, B.end);
    if (db != 0) refill(B, db, next, nv, v0, start, old, out);
  }
}
#pragma GCC diagnostic pop
#endif

// umap-learn's sampling schedule, per directed edge, and the static
// positions in each vertex's in-edge list (before its own edges; after them).
struct Schedule {
  std::vector<double> next_sample, eps_neg, next_neg;
  std::vector<uint8_t> due[2];  // due in this epoch / the next (by epoch parity)
  std::vector<int64_t> in_split, in_after;
  int64_t max_out_degree = 0;
};

// Lists the updates of vertices [v0, v1) in this epoch, in umap-learn's edge
// order: in-edges from earlier heads, then each due edge the vertex heads
// followed by its negative samples, then in-edges from later heads. Also
// decides which of the block's edges are due in the next epoch.
void list_updates(const Graph& g, const Params& p, Schedule& s, int epoch, int64_t v0, int64_t v1,
                  std::vector<uint32_t>& ops, std::vector<int32_t>& start) {
  const uint64_t edge_base = static_cast<uint64_t>(epoch) * static_cast<uint64_t>(g.tail.size());
  const uint64_t n = static_cast<uint64_t>(g.n);
  const int64_t* __restrict indptr = g.indptr.data();
  const int32_t* __restrict tail = g.tail.data();
  const int64_t* __restrict in_ptr = g.in_ptr.data();
  const int64_t* __restrict in_edge = g.in_edge.data();
  const int32_t* __restrict in_head = g.in_head.data();
  const int64_t* __restrict in_split = s.in_split.data();
  const int64_t* __restrict in_after = s.in_after.data();
  const double* __restrict eps = g.epochs_per_sample.data();
  const double* __restrict eps_neg = s.eps_neg.data();
  double* __restrict next_sample = s.next_sample.data();
  double* __restrict next_neg = s.next_neg.data();
  const uint8_t* __restrict due = s.due[epoch & 1].data();
  uint8_t* __restrict due_next = s.due[(epoch + 1) & 1].data();
  const double next_epoch = epoch + 1;
  const bool negatives = p.negative_sample_rate > 0;
  const uint64_t seed_key = random::hash3(p.seed, 0, kNegativeStream);
  // Per-thread scratch, kept across the epochs' calls.
  thread_local std::vector<int32_t> due_edges;
  thread_local std::vector<int64_t> n_neg;
  due_edges.resize(static_cast<size_t>(s.max_out_degree));
  n_neg.resize(static_cast<size_t>(s.max_out_degree));

  start.resize(static_cast<size_t>(v1 - v0 + 1));
  size_t w = 0, cap = ops.size();
  uint32_t* o = ops.data();
  auto ensure = [&](size_t need) {
    if (w + need > cap) {
      ops.resize(std::max(2 * cap, w + need));
      o = ops.data();
      cap = ops.size();
    }
  };
  for (int64_t j = v0; j < v1; ++j) {
    start[static_cast<size_t>(j - v0)] = static_cast<int32_t>(w);
    const int64_t row0 = indptr[j], row1 = indptr[j + 1];
    const size_t degree = static_cast<size_t>(row1 - row0 + in_ptr[j + 1] - in_ptr[j]);
    ensure(degree);
    // Branch-free: an update is written always and kept when due.
    for (int64_t q = in_ptr[j]; q < in_split[j]; ++q) {
      o[w] = kAttractBit | static_cast<uint32_t>(in_head[q]);
      w += due[in_edge[q]];
    }
    // The next epoch's decisions, and this epoch's due edges gathered
    // without branching (which edges are due is close to random).
    int32_t n_due = 0;
    for (int64_t e = row0; e < row1; ++e) {
      const double ns = next_sample[e];
      const bool due_then = ns <= next_epoch;
      due_next[e] = due_then;
      next_sample[e] = ns + eps[e] * static_cast<double>(due_then);  // exact: + eps or + 0, no branch
      due_edges[n_due] = static_cast<int32_t>(e - row0);
      n_due += due[e];
    }
    // umap-learn's negative-sample counts, in a loop of their own: the
    // divisions are independent there and overlap, where inside the loop
    // below each one stalled the branches that depend on it.
    if (negatives)
      for (int32_t c = 0; c < n_due; ++c) {
        const int64_t e = row0 + due_edges[c];
        n_neg[c] = static_cast<int64_t>((epoch - next_neg[e]) / eps_neg[e]);
      }
    for (int32_t c = 0; c < n_due; ++c) {
      const int64_t e = row0 + due_edges[c];
      const uint32_t k = static_cast<uint32_t>(tail[e]);
      o[w] = kAttractBit | k;
      w += k != static_cast<uint32_t>(j);  // a self-loop attracts nothing
      if (!negatives) continue;
      const int64_t m = n_neg[c];
      if (m <= 0) continue;
      ensure(degree + static_cast<size_t>(m));
      // One stream per (epoch, edge): a bijective mix of a unique counter.
      const uint64_t key = random::mix64(seed_key ^ (edge_base + static_cast<uint64_t>(e)));
      for (int64_t t = 0; t < m; ++t) {
        const uint64_t h = random::mix64(key + static_cast<uint64_t>(t + 1) * random::kGolden);
        // A uniform vertex (Lemire's multiply-shift; the bias is below n / 2^64).
        const uint32_t kk = static_cast<uint32_t>((static_cast<random::uint128>(h) * n) >> 64);
        o[w] = kk;
        w += kk != static_cast<uint32_t>(j);  // a vertex is never its own negative sample
      }
      next_neg[e] += static_cast<double>(m) * eps_neg[e];
    }
    for (int64_t q = in_after[j]; q < in_ptr[j + 1]; ++q) {
      o[w] = kAttractBit | static_cast<uint32_t>(in_head[q]);
      w += due[in_edge[q]];
    }
  }
  start[static_cast<size_t>(v1 - v0)] = static_cast<int32_t>(w);
}

void run_block(bool simd, const uint32_t* ops, const int32_t* start, int64_t v0, int64_t nv, const float* old,
               float* out, const Consts& c, int dim) {
#ifdef SCANPP_UMAP_AVX512
  if (simd) return run_block_avx512(ops, start, v0, nv, old, out, c);
#else
  (void)simd;
#endif
  if (dim == 2) run_block_scalar_2d(ops, start, v0, nv, old, out, c, dim);
  else if (dim == 3) run_block_scalar_3d(ops, start, v0, nv, old, out, c, dim);
  else run_block_scalar_nd(ops, start, v0, nv, old, out, c, dim);
}

}  // namespace

bool simd_kernel_available(int dim) {
#ifdef SCANPP_UMAP_AVX512
  static const bool has = __builtin_cpu_supports("avx512f");
  return dim == 2 && has;
#else
  (void)dim;
  return false;
#endif
}

void optimize(const Graph& g, const Params& p, std::vector<float>& y, Kernel kernel) {
  const int64_t n = g.n;
  const int64_t n_edges = static_cast<int64_t>(g.tail.size());
  if (n == 0 || n_edges == 0 || p.n_epochs <= 0) return;
  // The SIMD kernel gathers coordinates by 32-bit offsets (2 * vertex).
  const bool simd = kernel == Kernel::Auto && simd_kernel_available(p.dim) && n < (int64_t{1} << 30);
  Schedule s;
  s.next_sample = g.epochs_per_sample;
  s.eps_neg.resize(static_cast<size_t>(n_edges));
  for (int64_t e = 0; e < n_edges; ++e) s.eps_neg[e] = g.epochs_per_sample[e] / p.negative_sample_rate;
  s.next_neg = s.eps_neg;
  // An edge is sampled in an epoch once its next sample epoch has come, then
  // the next one is eps later. Both ends read the decision, so the head makes
  // it one epoch ahead (double-buffered by epoch parity).
  s.due[0].assign(static_cast<size_t>(n_edges), 0);
  s.due[1].assign(static_cast<size_t>(n_edges), 0);
  auto decide = [&](int64_t e, int epoch, std::vector<uint8_t>& flags) {
    flags[e] = s.next_sample[e] <= epoch;
    if (flags[e]) s.next_sample[e] += g.epochs_per_sample[e];
  };
  for (int64_t e = 0; e < n_edges; ++e) decide(e, 0, s.due[0]);
  s.in_split.resize(static_cast<size_t>(n));
  s.in_after.resize(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    int64_t q = g.in_ptr[j];
    while (q < g.in_ptr[j + 1] && g.in_edge[q] < g.indptr[j]) ++q;
    s.in_split[j] = q;
    while (q < g.in_ptr[j + 1] && g.in_edge[q] < g.indptr[j + 1]) ++q;  // self-loops: handled as head
    s.in_after[j] = q;
    s.max_out_degree = std::max(s.max_out_degree, g.indptr[j + 1] - g.indptr[j]);
  }

  const int64_t n_blocks = (n + kBlock - 1) / kBlock;
  std::vector<std::vector<uint32_t>> ops(static_cast<size_t>(n_blocks));
  std::vector<std::vector<int32_t>> starts(static_cast<size_t>(n_blocks));
  std::vector<float> y_next(y.size());
  for (int epoch = 0; epoch < p.n_epochs; ++epoch) {
    // umap-learn updates alpha after each epoch from the epoch just run.
    const double alpha = p.alpha0 * (1.0 - (epoch == 0 ? 0.0 : static_cast<double>(epoch - 1) / p.n_epochs));
    const Consts c{static_cast<float>(p.a), static_cast<float>(p.b), static_cast<float>(-2.0 * p.a * p.b),
                   static_cast<float>(2.0 * p.gamma * p.b), static_cast<float>(alpha)};
    const float* old = y.data();
    float* out = y_next.data();
    parallel_blocks(n, kBlock, [&](int64_t v0, int64_t v1) {
      const size_t b = static_cast<size_t>(v0 / kBlock);
      list_updates(g, p, s, epoch, v0, v1, ops[b], starts[b]);
      run_block(simd, ops[b].data(), starts[b].data(), v0, v1 - v0, old, out, c, p.dim);
    });
    y.swap(y_next);
  }
}

}  // namespace scanpp::tl::umap_sgd
