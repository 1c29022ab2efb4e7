// UMAP's SGD with AVX-512: the listing of each epoch's updates and the
// kernel that applies them, 32 vertices in flight. Both compute exactly what
// the scalar code in umap_sgd.cpp computes (the same IEEE operations in the
// same order), which the tests check bit for bit.
#include "scanpp/tl/umap_sgd_internal.hpp"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cfloat>
#include <vector>

#include "scanpp/core/random.hpp"

namespace scanpp::tl::umap_sgd::detail {

bool avx512_available() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
  return has;
}

// GCC 12's AVX-512 headers start unmasked intrinsics from _mm512_undefined_*(),
// which -W(maybe-)uninitialized reports once inlined; the values are never read.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#define SCANPP_AVX512_TARGET __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,popcnt")))
#define SCANPP_AVX512_FN SCANPP_AVX512_TARGET __attribute__((always_inline)) inline

namespace {

// ---------------------------------------------------------------- listing

// random::mix64 on 8 lanes.
SCANPP_AVX512_FN __m512i mix64_v(__m512i z) {
  z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 30));
  z = _mm512_mullo_epi64(z, _mm512_set1_epi64(static_cast<long long>(0xbf58476d1ce4e5b9ULL)));
  z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 27));
  z = _mm512_mullo_epi64(z, _mm512_set1_epi64(static_cast<long long>(0x94d049bb133111ebULL)));
  return _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
}

// The high 64 bits of h * n for n < 2^32 (the scalar code's 128-bit
// product), exactly, from the 32-bit halves of h: h * n = hi * n * 2^32 +
// lo * n, and hi * n + (lo * n >> 32) < 2^64.
SCANPP_AVX512_FN __m512i mulhi_u32(__m512i h, __m512i n) {
  const __m512i lo = _mm512_mul_epu32(h, n);
  const __m512i hi = _mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64(h, 32), n), _mm512_srli_epi64(lo, 32));
  return _mm512_srli_epi64(hi, 32);
}

SCANPP_AVX512_FN __mmask16 first16(int64_t count) {
  return count >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << count) - 1u);
}
SCANPP_AVX512_FN __mmask8 first8(int64_t count) {
  return count >= 8 ? static_cast<__mmask8>(0xFF) : static_cast<__mmask8>((1u << count) - 1u);
}

// Attractions from the heads of in-edges [q0, q1) that are due, appended at
// o + w (writes up to 16 entries past the result); returns the new w.
SCANPP_AVX512_FN size_t list_in_edges(const int32_t* in_edge, const int32_t* in_head, const uint8_t* due, int64_t q0,
                                      int64_t q1, uint32_t* o, size_t w) {
  for (int64_t q = q0; q < q1; q += 16) {
    const __mmask16 lm = first16(q1 - q);
    const __m512i e = _mm512_maskz_loadu_epi32(lm, in_edge + q);
    // 4-byte gathers of the due flags (the flag is the low byte; the array is padded).
    const __m512i d = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), lm, e, due, 1);
    const __mmask16 keep = _mm512_mask_test_epi32_mask(lm, d, _mm512_set1_epi32(0xff));
    const __m512i h =
        _mm512_or_si512(_mm512_maskz_loadu_epi32(lm, in_head + q), _mm512_set1_epi32(static_cast<int>(kAttractBit)));
    _mm512_storeu_si512(o + w, _mm512_maskz_compress_epi32(keep, h));
    w += static_cast<size_t>(std::popcount(static_cast<unsigned>(keep)));
  }
  return w;
}

}  // namespace

SCANPP_AVX512_TARGET void list_updates_avx512(const Graph& g, const Params& p, Schedule& s, int epoch, int64_t v0,
                                              int64_t v1, BlockOps& out) {
  const uint64_t edge_base = static_cast<uint64_t>(epoch) * static_cast<uint64_t>(g.tail.size());
  const int64_t* __restrict indptr = g.indptr.data();
  const int32_t* __restrict tail = g.tail.data();
  const int64_t* __restrict in_ptr = g.in_ptr.data();
  const int32_t* __restrict in_edge = s.in_edge32.data();
  const int32_t* __restrict in_head = g.in_head.data();
  const int64_t* __restrict in_split = s.in_split.data();
  const int64_t* __restrict in_after = s.in_after.data();
  const double* __restrict eps = g.epochs_per_sample.data();
  const double* __restrict eps_neg = s.eps_neg.data();
  double* __restrict next_sample = s.next_sample.data();
  double* __restrict next_neg = s.next_neg.data();
  const uint8_t* __restrict due = s.due[epoch & 1].data();
  uint8_t* __restrict due_next = s.due[(epoch + 1) & 1].data();
  const bool negatives = p.negative_sample_rate > 0;
  const uint64_t seed_key = random::hash3(p.seed, 0, kNegativeStream);
  // This vertex's due out-edges: tail, negative-sample count, stream key
  // (with room for one full vector store past the end).
  thread_local std::vector<int32_t> due_tail;
  thread_local std::vector<int64_t> due_neg;
  thread_local std::vector<uint64_t> due_key;
  const size_t scratch = static_cast<size_t>(s.max_out_degree) + 16;
  if (due_tail.size() < scratch) {
    due_tail.resize(scratch);
    due_neg.resize(scratch);
    due_key.resize(scratch);
  }
  int32_t* __restrict dtail = due_tail.data();
  int64_t* __restrict dneg = due_neg.data();
  uint64_t* __restrict dkey = due_key.data();

  const __m512d v_next_epoch = _mm512_set1_pd(static_cast<double>(epoch + 1));
  const __m512d v_epoch = _mm512_set1_pd(static_cast<double>(epoch));
  const __m512i lane64 = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  // (t + 1) * golden for lanes t = 0..7, and the step to the next 8.
  const __m512i golden_lanes = _mm512_mullo_epi64(_mm512_add_epi64(lane64, _mm512_set1_epi64(1)),
                                                  _mm512_set1_epi64(static_cast<long long>(random::kGolden)));
  const __m512i golden8 = _mm512_set1_epi64(static_cast<long long>(8 * random::kGolden));
  const __m512i v_n = _mm512_set1_epi64(g.n);
  const __m512i v_seed_key = _mm512_set1_epi64(static_cast<long long>(seed_key));
  const __m512i v_attract = _mm512_set1_epi32(static_cast<int>(kAttractBit));
  const bool symmetric = s.symmetric;

  std::vector<uint32_t>& ops = out.ops;
  out.start.resize(static_cast<size_t>(v1 - v0 + 1));
  int32_t* start = out.start.data();
  size_t w = 0;
  for (int64_t j = v0; j < v1; ++j) {
    start[j - v0] = static_cast<int32_t>(w);
    const int64_t row0 = indptr[j], row1 = indptr[j + 1];
    const __m512i v_j16 = _mm512_set1_epi32(static_cast<int>(j));
    // The schedule of the vertex's out-edges: next epoch's decisions, and
    // this epoch's due edges with their negative-sample counts and streams.
    int32_t n_due = 0;
    int64_t n_neg_total = 0;
    for (int64_t e0 = row0; e0 < row1; e0 += 8) {
      const __mmask8 lm = first8(row1 - e0);
      const __m512d ns = _mm512_maskz_loadu_pd(lm, next_sample + e0);
      const __mmask8 due_then = _mm512_mask_cmp_pd_mask(lm, ns, v_next_epoch, _CMP_LE_OQ);
      _mm512_mask_storeu_pd(next_sample + e0, due_then, _mm512_add_pd(ns, _mm512_maskz_loadu_pd(due_then, eps + e0)));
      _mm_mask_storeu_epi8(due_next + e0, lm, _mm_maskz_set1_epi8(due_then, 1));
      const __m128i d = _mm_maskz_loadu_epi8(lm, due + e0);
      const __mmask8 dm = static_cast<__mmask8>(_mm_test_epi8_mask(d, d));
      if (dm == 0) continue;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dtail + n_due),
                          _mm256_maskz_compress_epi32(dm, _mm256_maskz_loadu_epi32(lm, tail + e0)));
      if (negatives) {
        // umap-learn's counts: int((epoch - next_neg) / eps_neg), kept when positive.
        const __m512d nn = _mm512_maskz_loadu_pd(dm, next_neg + e0);
        const __m512d en = _mm512_maskz_loadu_pd(dm, eps_neg + e0);
        const __m512i m = _mm512_maskz_cvttpd_epi64(dm, _mm512_maskz_div_pd(dm, _mm512_sub_pd(v_epoch, nn), en));
        const __mmask8 pos = _mm512_mask_cmpgt_epi64_mask(dm, m, _mm512_setzero_si512());
        // next_neg += m * eps_neg, rounded twice as in the scalar code: the
        // product's explicit rounding keeps GCC from fusing it into an FMA.
        const __m512d step = _mm512_mul_round_pd(_mm512_cvtepi64_pd(m), en, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm512_mask_storeu_pd(next_neg + e0, pos, _mm512_add_pd(nn, step));
        const __m512i mk = _mm512_maskz_mov_epi64(pos, m);
        n_neg_total += _mm512_reduce_add_epi64(mk);
        _mm512_storeu_si512(dneg + n_due, _mm512_maskz_compress_epi64(dm, mk));
        // One stream per (epoch, edge): a bijective mix of a unique counter.
        const __m512i edge = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(edge_base + e0)), lane64);
        _mm512_storeu_si512(dkey + n_due, _mm512_maskz_compress_epi64(dm, mix64_v(_mm512_xor_si512(v_seed_key, edge))));
      } else {
        _mm512_storeu_si512(dneg + n_due, _mm512_setzero_si512());
      }
      n_due += std::popcount(static_cast<unsigned>(dm));
    }
    const size_t need = w + static_cast<size_t>(in_ptr[j + 1] - in_ptr[j] + n_due + n_neg_total) + 32;
    if (need > ops.size()) ops.resize(std::max(2 * ops.size(), need));
    uint32_t* o = ops.data();

    // On a symmetric graph, the due in-edges are the reverses of the due
    // out-edges: the due tails before j, then (after the vertex's own
    // updates) those after it.
    int32_t before = 0, after = 0;  // due tails below j; up to j (then the rest are above)
    if (symmetric) {
      for (int32_t c = 0; c < n_due; c += 16) {
        const __m512i t = _mm512_maskz_loadu_epi32(first16(n_due - c), dtail + c);
        before += std::popcount(static_cast<unsigned>(_mm512_mask_cmplt_epi32_mask(first16(n_due - c), t, v_j16)));
        after += std::popcount(static_cast<unsigned>(_mm512_mask_cmple_epi32_mask(first16(n_due - c), t, v_j16)));
        _mm512_storeu_si512(o + w + c, _mm512_or_si512(t, v_attract));
      }
      w += static_cast<size_t>(before);
    } else {
      w = list_in_edges(in_edge, in_head, due, in_ptr[j], in_split[j], o, w);
    }
    const __m256i v_j = _mm256_set1_epi32(static_cast<int>(j));
    for (int32_t c = 0; c < n_due; ++c) {
      const uint32_t k = static_cast<uint32_t>(dtail[c]);
      o[w] = kAttractBit | k;
      w += k != static_cast<uint32_t>(j);  // a self-loop attracts nothing
      const int64_t m = dneg[c];
      __m512i counter = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(dkey[c])), golden_lanes);
      for (int64_t t0 = 0; t0 < m; t0 += 8) {
        // Uniform vertices (Lemire's multiply-shift), never the vertex itself.
        const __m256i kk = _mm512_cvtepi64_epi32(mulhi_u32(mix64_v(counter), v_n));
        const __mmask8 keep = _mm256_mask_cmpneq_epi32_mask(first8(m - t0), kk, v_j);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + w), _mm256_maskz_compress_epi32(keep, kk));
        w += static_cast<size_t>(std::popcount(static_cast<unsigned>(keep)));
        counter = _mm512_add_epi64(counter, golden8);
      }
    }
    if (symmetric) {
      for (int32_t c = after; c < n_due; c += 16)
        _mm512_storeu_si512(o + w + (c - after),
                            _mm512_or_si512(_mm512_maskz_loadu_epi32(first16(n_due - c), dtail + c), v_attract));
      w += static_cast<size_t>(n_due - after);
    } else {
      w = list_in_edges(in_edge, in_head, due, in_after[j], in_ptr[j + 1], o, w);
    }
  }
  start[v1 - v0] = static_cast<int32_t>(w);
}

namespace {

// ---------------------------------------------------------------- kernel

SCANPP_AVX512_FN __m512 log2_v(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(FLT_MIN));
  const __m512i bits = _mm512_castps_si512(x);
  // x = m·2^e with m in [√½, √2): subtracting √½'s bits carries into the
  // exponent field exactly when the mantissa is at least √2's, and removing
  // e from the exponent leaves m. Four one-cycle integer steps, where a
  // compare and masked multiply sat on the chain.
  const __m512i e = _mm512_srai_epi32(_mm512_sub_epi32(bits, _mm512_set1_epi32(kSqrtHalfBits)), 23);
  const __m512 f = _mm512_sub_ps(_mm512_castsi512_ps(_mm512_sub_epi32(bits, _mm512_slli_epi32(e, 23))),
                                 _mm512_set1_ps(1.0f));
  // Estrin's scheme: four FMAs deep instead of Horner's seven. Each update
  // of a vertex waits for the previous one's log2, exp2 and division, so
  // that chain's length, not the instruction count, bounds the kernel.
  const __m512 f2 = _mm512_mul_ps(f, f), f4 = _mm512_mul_ps(f2, f2);
  const __m512 a0 = _mm512_fmadd_ps(_mm512_set1_ps(kLog2[1]), f, _mm512_set1_ps(kLog2[0]));
  const __m512 a1 = _mm512_fmadd_ps(_mm512_set1_ps(kLog2[3]), f, _mm512_set1_ps(kLog2[2]));
  const __m512 a2 = _mm512_fmadd_ps(_mm512_set1_ps(kLog2[5]), f, _mm512_set1_ps(kLog2[4]));
  const __m512 p = _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(kLog2[6]), f2, a2), f4, _mm512_fmadd_ps(a1, f2, a0));
  return _mm512_fmadd_ps(p, f, _mm512_cvtepi32_ps(e));
}

SCANPP_AVX512_FN __m512 exp2_v(__m512 t) {
  t = _mm512_max_ps(t, _mm512_set1_ps(-126.0f));
  t = _mm512_min_ps(t, _mm512_set1_ps(126.0f));
  const __m512 r = _mm512_sub_ps(_mm512_add_ps(t, _mm512_set1_ps(kRound)), _mm512_set1_ps(kRound));
  const __m512 f = _mm512_sub_ps(t, r);
  // Estrin's scheme, as in log2_v.
  const __m512 f2 = _mm512_mul_ps(f, f), f4 = _mm512_mul_ps(f2, f2);
  const __m512 a0 = _mm512_fmadd_ps(_mm512_set1_ps(kExp2[1]), f, _mm512_set1_ps(kExp2[0]));
  const __m512 a1 = _mm512_fmadd_ps(_mm512_set1_ps(kExp2[3]), f, _mm512_set1_ps(kExp2[2]));
  const __m512 a2 = _mm512_fmadd_ps(_mm512_set1_ps(kExp2[5]), f, _mm512_set1_ps(kExp2[4]));
  const __m512 p = _mm512_fmadd_ps(a2, f4, _mm512_fmadd_ps(a1, f2, a0));
  const __m512i i = _mm512_cvttps_epi32(r);
  const __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(i, _mm512_set1_epi32(127)), 23));
  return _mm512_mul_ps(p, scale);
}

SCANPP_AVX512_FN __m512 clip4_v(__m512 v) {
  return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-4.0f)), _mm512_set1_ps(4.0f));
}

// Steps between refills. A lane whose vertex is done idles (masked) until
// the next refill: on PBMC 3k (43 updates a vertex on average) a refill
// after every step (a data-dependent branch taken about every third step,
// often mispredicted, which discards the other group's work in flight) took
// the SGD 0.263-0.29 s on one thread, every 4 steps 0.237-0.253 s, every
// 8-16 steps 0.228-0.24 s (5 alternate rounds each).
constexpr int kStepsPerRefill = 8;

// 16 vertices in flight, one per lane: position, next update, end of its
// updates, the vertex (its offset in the block, -1 for none).
struct Lanes {
  __m512 x, y;
  __m512i pos, end, vert;
  __mmask16 alive;
};

// The block's vertices that have updates, in order (with 16 entries of room
// past the end for full-vector reads).
struct Active {
  const int32_t* ids;
  int32_t count, next;
};

// Lanes in `done` finished their vertex: write it out and take the next
// vertices that have updates, in lane order, all in registers (a round trip
// through memory would stall the lanes' next step on store forwarding).
SCANPP_AVX512_FN void refill(Lanes& L, __mmask16 done, Active& act, const int32_t* start, const float* old,
                             float* out) {
  const __mmask16 finished = _mm512_mask_cmpge_epi32_mask(done, L.vert, _mm512_setzero_si512());
  if (finished != 0) {
    alignas(64) int32_t vs[16];
    alignas(64) float xs[16], ys[16];
    _mm512_store_si512(vs, _mm512_maskz_compress_epi32(finished, L.vert));
    _mm512_store_ps(xs, _mm512_maskz_compress_ps(finished, L.x));
    _mm512_store_ps(ys, _mm512_maskz_compress_ps(finished, L.y));
    const int k_end = std::popcount(static_cast<unsigned>(finished));
    for (int k = 0; k < k_end; ++k) {
      out[2 * static_cast<int64_t>(vs[k])] = xs[k];
      out[2 * static_cast<int64_t>(vs[k]) + 1] = ys[k];
    }
  }
  // The k-th lane of `done` takes the k-th next active vertex, while there are any.
  const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i rank = _mm512_maskz_expand_epi32(done, iota);
  const int32_t take = std::min(act.count - act.next, static_cast<int32_t>(std::popcount(static_cast<unsigned>(done))));
  const __mmask16 fresh = _mm512_mask_cmplt_epi32_mask(done, rank, _mm512_set1_epi32(take));
  const __m512i ids = _mm512_maskz_expand_epi32(done, _mm512_loadu_si512(act.ids + act.next));
  act.next += take;
  L.vert = _mm512_mask_mov_epi32(_mm512_mask_mov_epi32(L.vert, done, _mm512_set1_epi32(-1)), fresh, ids);
  L.pos = _mm512_mask_i32gather_epi32(L.pos, fresh, ids, start, 4);
  L.end = _mm512_mask_i32gather_epi32(L.end, fresh, ids, start + 1, 4);
  const __m512i ids2 = _mm512_add_epi32(ids, ids);
  // Gathered into zeros, then blended: a gather merging into L.x would wait
  // for the finished vertex's last update before it could start.
  L.x = _mm512_mask_mov_ps(L.x, fresh, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), fresh, ids2, old, 4));
  L.y = _mm512_mask_mov_ps(L.y, fresh, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), fresh, ids2, old + 1, 4));
  L.alive = static_cast<__mmask16>((L.alive & ~done) | fresh);
}

SCANPP_AVX512_FN void step(Lanes& L, const uint32_t* ops, const float* old, __m512 va, __m512 vb, __m512 vn2ab,
                           __m512 vtgb, __m512 valpha) {
  const __mmask16 act = _mm512_mask_cmplt_epi32_mask(L.alive, L.pos, L.end);  // lanes whose vertex has updates left
  const __m512i zi = _mm512_setzero_si512();
  const __m512 zf = _mm512_setzero_ps();
  const __m512i op = _mm512_mask_i32gather_epi32(zi, act, L.pos, ops, 4);
  const __mmask16 att = _mm512_mask_cmplt_epi32_mask(act, op, zi);  // the top bit
  const __m512i k = _mm512_and_si512(op, _mm512_set1_epi32(static_cast<int32_t>(kIndexMask)));
  // Each vertex's (x, y) as one 64-bit element: 8-lane gathers of pairs
  // load half as many elements as 16-lane gathers of x and of y.
  const __m512d lo = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), static_cast<__mmask8>(act),
                                              _mm512_castsi512_si256(k), old, 8);
  const __m512d hi = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), static_cast<__mmask8>(act >> 8),
                                              _mm512_extracti64x4_epi64(k, 1), old, 8);
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512 ox = _mm512_permutex2var_ps(_mm512_castpd_ps(lo), even, _mm512_castpd_ps(hi));
  const __m512 oy = _mm512_permutex2var_ps(_mm512_castpd_ps(lo), _mm512_add_epi32(even, _mm512_set1_epi32(1)),
                                           _mm512_castpd_ps(hi));
  const __m512 dx = _mm512_sub_ps(L.x, ox), dy = _mm512_sub_ps(L.y, oy);
  const __m512 d2 = _mm512_fmadd_ps(dy, dy, _mm512_mul_ps(dx, dx));
  const __mmask16 valid = _mm512_mask_cmp_ps_mask(act, d2, zf, _CMP_GT_OQ);
  const __m512 pb = exp2_v(_mm512_mul_ps(vb, log2_v(d2)));
  const __m512 q = _mm512_fmadd_ps(va, pb, _mm512_set1_ps(1.0f));
  const __m512 num = _mm512_mask_blend_ps(att, vtgb, _mm512_mul_ps(vn2ab, pb));
  const __m512 den =
      _mm512_mul_ps(_mm512_mask_blend_ps(att, _mm512_add_ps(_mm512_set1_ps(0.001f), d2), d2), q);
  const __m512 coeff = _mm512_maskz_div_ps(valid, num, den);
  // Masked: an idle lane keeps its vertex's final position to the bit (an
  // unmasked x + 0·alpha would turn -0 into +0).
  L.x = _mm512_mask3_fmadd_ps(clip4_v(_mm512_mul_ps(coeff, dx)), valpha, L.x, act);
  L.y = _mm512_mask3_fmadd_ps(clip4_v(_mm512_mul_ps(coeff, dy)), valpha, L.y, act);
  L.pos = _mm512_mask_add_epi32(L.pos, act, L.pos, _mm512_set1_epi32(1));
}

}  // namespace

SCANPP_AVX512_TARGET void run_block_avx512(const uint32_t* ops, const int32_t* start, int64_t v0, int64_t nv,
                                          const float* old, float* out, const Consts& c) {
  const __m512 va = _mm512_set1_ps(c.a), vb = _mm512_set1_ps(c.b), vn2ab = _mm512_set1_ps(c.neg_two_ab),
               vtgb = _mm512_set1_ps(c.two_gamma_b), valpha = _mm512_set1_ps(c.alpha);
  // Vertices without updates keep their position; the others go to lanes.
  thread_local std::vector<int32_t> active_ids;
  if (active_ids.size() < static_cast<size_t>(nv) + 16) active_ids.resize(static_cast<size_t>(nv) + 16);
  Active act{active_ids.data(), 0, 0};
  for (int64_t t = 0; t < nv; ++t) {
    if (start[t] != start[t + 1]) {
      active_ids[static_cast<size_t>(act.count++)] = static_cast<int32_t>(t);
    } else {
      out[2 * (v0 + t)] = old[2 * (v0 + t)];
      out[2 * (v0 + t) + 1] = old[2 * (v0 + t) + 1];
    }
  }
  const float* old_b = old + 2 * v0;
  float* out_b = out + 2 * v0;
  Lanes A{_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_si512(), _mm512_setzero_si512(),
          _mm512_set1_epi32(-1), 0};
  Lanes B = A;
  refill(A, 0xFFFF, act, start, old_b, out_b);
  refill(B, 0xFFFF, act, start, old_b, out_b);
  // Two independent groups: their dependency chains overlap in the core.
  while ((A.alive | B.alive) != 0) {
    for (int s = 0; s < kStepsPerRefill; ++s) {
      step(A, ops, old, va, vb, vn2ab, vtgb, valpha);
      step(B, ops, old, va, vb, vn2ab, vtgb, valpha);
    }
    const __mmask16 da = _mm512_mask_cmpge_epi32_mask(A.alive, A.pos, A.end);
    if (da != 0) refill(A, da, act, start, old_b, out_b);
    const __mmask16 db = _mm512_mask_cmpge_epi32_mask(B.alive, B.pos, B.end);
    if (db != 0) refill(B, db, act, start, old_b, out_b);
  }
}

#undef SCANPP_AVX512_FN
#undef SCANPP_AVX512_TARGET
#pragma GCC diagnostic pop

}  // namespace scanpp::tl::umap_sgd::detail

#else  // not x86-64: the scalar code runs, and the two functions below are never called

namespace scanpp::tl::umap_sgd::detail {
bool avx512_available() { return false; }
void list_updates_avx512(const Graph&, const Params&, Schedule&, int, int64_t, int64_t, BlockOps&) {}
void run_block_avx512(const uint32_t*, const int32_t*, int64_t, int64_t, const float*, float*, const Consts&) {}
}  // namespace scanpp::tl::umap_sgd::detail

#endif
