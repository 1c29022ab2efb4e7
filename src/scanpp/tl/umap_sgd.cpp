#include "scanpp/tl/umap_sgd.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cfloat>
#include <cmath>

#include "scanpp/core/parallel.hpp"
#include "scanpp/core/random.hpp"
#include "scanpp/core/spin_barrier.hpp"
#include "scanpp/tl/umap_sgd_internal.hpp"

namespace scanpp::tl::umap_sgd {

using namespace detail;

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

// Most vertices a block (one work item) has: long enough that few of the
// kernel's 32 lanes idle at a block's end (blocks of 256 and 128 were slower
// with 1 and 2 threads).
constexpr int64_t kBlock = 512;

// Each thread's share of the vertices, by the work they are expected to
// cost (their expected updates an epoch, and their edges for the listing),
// cut into blocks of at most kBlock vertices: `first[b]` is block b's first
// vertex (first.back() == n), `owned[t]` thread t's first block.
struct Shares {
  std::vector<int64_t> first;
  std::vector<int64_t> owned;
};

Shares share_vertices(const Graph& g, const Params& p, int team) {
  const int64_t n = g.n;
  std::vector<double> cost(static_cast<size_t>(n) + 1, 0.0);  // prefix sums
  const double per_sample = 1.0 + std::max(0, p.negative_sample_rate);
  for (int64_t j = 0; j < n; ++j) {
    double c = 0.0;
    for (int64_t e = g.indptr[j]; e < g.indptr[j + 1]; ++e) c += 1.0 + per_sample / g.epochs_per_sample[e];
    for (int64_t q = g.in_ptr[j]; q < g.in_ptr[j + 1]; ++q) c += 1.0 + 1.0 / g.epochs_per_sample[g.in_edge[q]];
    cost[j + 1] = cost[j] + c;
  }
  Shares s;
  s.first.push_back(0);
  int64_t lo = 0;
  for (int t = 0; t < team; ++t) {
    s.owned.push_back(static_cast<int64_t>(s.first.size()) - 1);
    const double goal = cost[n] * (t + 1) / team;
    const int64_t hi = t + 1 == team ? n : std::lower_bound(cost.begin() + lo, cost.end(), goal) - cost.begin();
    const int64_t len = hi - lo, nb = (len + kBlock - 1) / kBlock;
    for (int64_t b = 1; b <= nb; ++b) s.first.push_back(lo + len * b / nb);
    lo = hi;
  }
  s.owned.push_back(static_cast<int64_t>(s.first.size()) - 1);
  return s;
}

// The scalar kernel's arithmetic (builtins rather than std::fma and
// std::bit_cast so that they inline into the FMA clone). Every step has an exact counterpart in the
// AVX-512 kernel (x > y ? x : y is what vmaxps computes, fma is fused on
// both paths), which is what makes the two kernels agree bit for bit.
__attribute__((always_inline)) inline float log2_scalar(float x) {
  x = x > FLT_MIN ? x : FLT_MIN;
  const int32_t bits = __builtin_bit_cast(int32_t, x);
  // x = m·2^e with m in [√½, √2): integer steps only (see log2_v).
  const int32_t e = (bits - kSqrtHalfBits) >> 23;  // arithmetic shift, as vpsrad
  const float f = __builtin_bit_cast(float, bits - static_cast<int32_t>(static_cast<uint32_t>(e) << 23)) - 1.0f;
  // Estrin's scheme, as log2_v's.
  const float f2 = f * f, f4 = f2 * f2;
  const float a0 = __builtin_fmaf(kLog2[1], f, kLog2[0]), a1 = __builtin_fmaf(kLog2[3], f, kLog2[2]);
  const float a2 = __builtin_fmaf(kLog2[5], f, kLog2[4]);
  const float p = __builtin_fmaf(__builtin_fmaf(kLog2[6], f2, a2), f4, __builtin_fmaf(a1, f2, a0));
  return __builtin_fmaf(p, f, static_cast<float>(e));
}

__attribute__((always_inline)) inline float exp2_scalar(float t) {
  t = t > -126.0f ? t : -126.0f;
  t = t < 126.0f ? t : 126.0f;
  const float r = (t + kRound) - kRound;
  const float f = t - r;
  // Estrin's scheme, as exp2_v's.
  const float f2 = f * f, f4 = f2 * f2;
  const float a0 = __builtin_fmaf(kExp2[1], f, kExp2[0]), a1 = __builtin_fmaf(kExp2[3], f, kExp2[2]);
  const float a2 = __builtin_fmaf(kExp2[5], f, kExp2[4]);
  const float p = __builtin_fmaf(a2, f4, __builtin_fmaf(a1, f2, a0));
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

}  // namespace

namespace detail {

// In-lists are sorted by head, rows by tail: on a symmetric graph the two
// coincide position by position.
bool in_lists_mirror_rows(const Graph& g) {
  for (int64_t j = 0; j < g.n; ++j) {
    const int64_t row0 = g.indptr[j], q0 = g.in_ptr[j];
    if (g.in_ptr[j + 1] - q0 != g.indptr[j + 1] - row0) return false;
    for (int64_t q = q0; q < g.in_ptr[j + 1]; ++q) {
      const int64_t e = row0 + (q - q0);
      if (g.in_head[q] != g.tail[e] || g.epochs_per_sample[g.in_edge[q]] != g.epochs_per_sample[e]) return false;
    }
  }
  return true;
}

void list_updates(const Graph& g, const Params& p, Schedule& s, int epoch, int64_t v0, int64_t v1, BlockOps& out) {
  std::vector<uint32_t>& ops = out.ops;
  std::vector<int32_t>& start = out.start;
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

}  // namespace detail

bool simd_kernel_available(int dim) { return dim == 2 && avx512_available(); }

void optimize(const Graph& g, const Params& p, std::vector<float>& y, Kernel kernel) {
  const int64_t n = g.n;
  const int64_t n_edges = static_cast<int64_t>(g.tail.size());
  if (n == 0 || n_edges == 0 || p.n_epochs <= 0) return;
  // The SIMD code gathers coordinates by 32-bit offsets (2 * vertex) and due
  // flags by 32-bit edge numbers.
  // The listing does not depend on the layout's dimension; the kernel is 2-D.
  const bool simd_list = kernel == Kernel::Auto && avx512_available() && n < (int64_t{1} << 30) &&
                         n_edges < (int64_t{1} << 31) - 64;
  const bool simd = simd_list && p.dim == 2;
  Schedule s;
  s.next_sample = g.epochs_per_sample;
  s.eps_neg.resize(static_cast<size_t>(n_edges));
  for (int64_t e = 0; e < n_edges; ++e) s.eps_neg[e] = g.epochs_per_sample[e] / p.negative_sample_rate;
  s.next_neg = s.eps_neg;
  // An edge is sampled in an epoch once its next sample epoch has come, then
  // the next one is eps later. Both ends read the decision, so the head makes
  // it one epoch ahead (double-buffered by epoch parity).
  s.due[0].assign(static_cast<size_t>(n_edges) + 4, 0);
  s.due[1].assign(static_cast<size_t>(n_edges) + 4, 0);
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
  if (simd_list) {
    s.symmetric = in_lists_mirror_rows(g);
    // Read only to gather due flags by edge, which a symmetric graph's
    // listing does not do (on 1M cells the copy would be ~120 MB).
    if (!s.symmetric) s.in_edge32.assign(g.in_edge.begin(), g.in_edge.end());
  }

  // Lists of the epoch being run and of the next (by epoch parity); positions
  // of the previous epoch and of this one, likewise.
  std::vector<BlockOps> ops[2];
  Shares shares;
  std::vector<float> y_other(y.size());
  float* positions[2] = {y.data(), y_other.data()};
  auto list = [&](int epoch, int64_t b) {
    const int64_t v0 = shares.first[static_cast<size_t>(b)], v1 = shares.first[static_cast<size_t>(b) + 1];
    BlockOps& o = ops[epoch & 1][static_cast<size_t>(b)];
    if (simd_list) list_updates_avx512(g, p, s, epoch, v0, v1, o);
    else list_updates(g, p, s, epoch, v0, v1, o);
  };
  auto run = [&](int epoch, int64_t b) {
    const int64_t v0 = shares.first[static_cast<size_t>(b)], nv = shares.first[static_cast<size_t>(b) + 1] - v0;
    const BlockOps& o = ops[epoch & 1][static_cast<size_t>(b)];
    // umap-learn updates alpha after each epoch from the epoch just run.
    const double alpha = p.alpha0 * (1.0 - (epoch == 0 ? 0.0 : static_cast<double>(epoch - 1) / p.n_epochs));
    const Consts c{static_cast<float>(p.a), static_cast<float>(p.b), static_cast<float>(-2.0 * p.a * p.b),
                   static_cast<float>(2.0 * p.gamma * p.b), static_cast<float>(alpha)};
    const float* old = positions[epoch & 1];
    float* out = positions[(epoch + 1) & 1];
    if (simd) run_block_avx512(o.ops.data(), o.start.data(), v0, nv, old, out, c);
    else if (p.dim == 2) run_block_scalar_2d(o.ops.data(), o.start.data(), v0, nv, old, out, c, p.dim);
    else if (p.dim == 3) run_block_scalar_3d(o.ops.data(), o.start.data(), v0, nv, old, out, c, p.dim);
    else run_block_scalar_nd(o.ops.data(), o.start.data(), v0, nv, old, out, c, p.dim);
  };
  // One parallel region for all epochs (not parallel_blocks per epoch): an
  // epoch then costs one barrier (a brief spin, see SpinBarrier), and the
  // listing of the next epoch, which does not depend on positions, is done
  // beside this epoch's updates. Each block's lists and updates are computed
  // by one thread from data fixed at the barrier, so the result does not
  // depend on the thread count. The next listing may run beside this
  // epoch's updates: it writes the other parity's lists and due flags, and
  // reads the flags the previous listing finished before the barrier.
  //
  // Each thread runs and lists its own blocks, every epoch the same ones, so
  // that their schedule, lists and positions stay in its core's caches
  // (handed out to whichever thread was free, the blocks' data moved between
  // cores: on PBMC 3k, 2 threads took 0.41 CPU seconds for what 1 thread did
  // in 0.28). A thread done with its own items takes the others' last ones
  // (lists first), so that a slow or preempted thread does not hold up the
  // epoch. Item 2b runs block b, item 2b + 1 lists it; an item's claim holds
  // the last epoch (+ 2) it was taken in.
  const int team = n > kBlock ? std::max(1, num_threads()) : 1;
  SpinBarrier barrier;
  std::vector<std::atomic<int>> claims;
  int n_team = 1;
  auto claim = [&](int64_t item, int stamp) {
    return claims[static_cast<size_t>(item)].exchange(stamp, std::memory_order_relaxed) != stamp;
  };
  // Thread t's items of one phase, in order: its runs, then its lists.
  auto own_items = [&](int t, int epoch, std::vector<int64_t>& items) {
    items.clear();
    const int64_t b0 = shares.owned[static_cast<size_t>(t)], b1 = shares.owned[static_cast<size_t>(t) + 1];
    if (epoch >= 0)
      for (int64_t b = b0; b < b1; ++b) items.push_back(2 * b);
    if (epoch + 1 < p.n_epochs)
      for (int64_t b = b0; b < b1; ++b) items.push_back(2 * b + 1);
  };
  auto work_item = [&](int epoch, int64_t item) {
    if (item % 2 == 0) run(epoch, item / 2);
    else list(epoch + 1, item / 2);
  };
#pragma omp parallel num_threads(team)
  {
#pragma omp single
    {
      n_team = omp_get_num_threads();
      barrier.set_threads(n_team);
      shares = share_vertices(g, p, n_team);
      const size_t n_blocks = shares.first.size() - 1;
      ops[0].resize(n_blocks);
      ops[1].resize(n_blocks);
      claims = std::vector<std::atomic<int>>(2 * n_blocks);
    }  // the single's own barrier publishes all of it
    const int t = omp_get_thread_num();
    std::vector<int64_t> mine, theirs;
    for (int epoch = -1; epoch < p.n_epochs; ++epoch) {
      // Listing epoch 0 (epoch -1's work) or running `epoch` and listing the next.
      const int stamp = epoch + 2;
      own_items(t, epoch, mine);
      for (int64_t item : mine)
        if (claim(item, stamp)) work_item(epoch, item);
      for (int k = 1; k < n_team; ++k) {
        own_items((t + k) % n_team, epoch, theirs);
        for (auto it = theirs.rbegin(); it != theirs.rend(); ++it)
          if (claim(*it, stamp)) work_item(epoch, *it);
      }
      barrier.arrive_and_wait();
    }
  }
  if (p.n_epochs % 2 != 0) y.swap(y_other);
}

}  // namespace scanpp::tl::umap_sgd
