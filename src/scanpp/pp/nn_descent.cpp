#include "scanpp/pp/nn_descent.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>
#include <utility>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/core/random.hpp"

namespace scanpp::pp {

namespace {

// g.keys/g.indices (n x k_out) row by row: fill(i, row) writes row i's
// `width` candidates, which are ordered by (key, index) and cut to k_out.
template <class Fill>
void fill_sorted_rows(NNGraph& g, int64_t n, int width, int k_out, Fill&& fill) {
  g.indices.resize(static_cast<size_t>(n) * static_cast<size_t>(k_out));
  g.keys.resize(g.indices.size());
  parallel_blocks(n, 1024, [&](int64_t a, int64_t b) {
    std::vector<std::pair<float, int32_t>> row(static_cast<size_t>(width));
    for (int64_t i = a; i < b; ++i) {
      fill(i, row.data());
      std::sort(row.begin(), row.end());
      const size_t o = static_cast<size_t>(i) * static_cast<size_t>(k_out);
      for (int s = 0; s < k_out; ++s) {
        g.keys[o + static_cast<size_t>(s)] = row[static_cast<size_t>(s)].first;
        g.indices[o + static_cast<size_t>(s)] = row[static_cast<size_t>(s)].second;
      }
    }
  });
}

// An empty heap slot sorts after every real entry: (infinity, INT32_MAX).
constexpr int32_t kEmpty = std::numeric_limits<int32_t>::max();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Substreams of the counter-based generator, one per use.
constexpr uint64_t kTreeStream = 11;
constexpr uint64_t kFillStream = 12;
constexpr uint64_t kSampleSalt = 0x5bd1e9955bd1e995ULL;
constexpr uint64_t kOrderTree = uint64_t{1} << 40;  // tree id of the locality order

// Work split. Fixed sizes: they decide which proposals meet the thresholds
// of which snapshot, so they are part of the algorithm's definition and must
// not follow the thread count.
constexpr int64_t kJoinChunk = 16384;  // points whose proposals are applied together
constexpr int64_t kJoinBlock = 64;     // points per generation task
constexpr int kRanges = 16;            // target index ranges applied in parallel
constexpr int kTreesPerGroup = 8;      // trees held in memory at once

// Default length of the lists kept while building. With 10 or 15 (Scanpy's
// usual n_neighbors) NN-descent stalls in local optima on hard data: on the
// 50-d projection of neurons10k, recall at 14 others is 0.86 when building
// with 14 and 0.964 when building with 24 (bench/bench_nn_descent.cpp).
constexpr int kMinBuildK = 24;

using v8f = float __attribute__((vector_size(32)));
using v8i = int32_t __attribute__((vector_size(32)));

// Rows copied with zero padding to a multiple of 8 floats; the zeros change
// none of the three distances and let every row be read as whole vectors.
struct Points {
  int64_t n = 0;
  int stride = 0;
  std::vector<float> x;
  const float* row(int64_t i) const { return x.data() + i * stride; }
};

Points pad_points(const float* x, int64_t n, int d) {
  Points p;
  p.n = n;
  p.stride = (d + 7) / 8 * 8;
  p.x.assign(static_cast<size_t>(n) * static_cast<size_t>(p.stride), 0.0f);
  for (int64_t i = 0; i < n; ++i) std::copy_n(x + i * d, d, p.x.data() + i * p.stride);
  return p;
}

// Macros rather than functions: passing a 256-bit vector by value changes
// the ABI between AVX and non-AVX code (-Wpsabi).
#define SCANPP_NND_LOAD8(v, p) std::memcpy(&(v), (p), sizeof(v8f))
// Lanes summed in one fixed order, so every code path gives the same float.
#define SCANPP_NND_LANE_SUM(a) ((((a)[0] + (a)[1]) + ((a)[2] + (a)[3])) + (((a)[4] + (a)[5]) + ((a)[6] + (a)[7])))

template <NNDescentMetric M>
inline __attribute__((always_inline)) float distance(const float* a, const float* b, int stride) {
  v8f acc = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int t = 0; t < stride; t += 8) {
    v8f va, vb;
    SCANPP_NND_LOAD8(va, a + t);
    SCANPP_NND_LOAD8(vb, b + t);
    const v8f diff = va - vb;
    if constexpr (M == NNDescentMetric::SqEuclidean) {
      acc += diff * diff;
    } else {
      v8i bits;
      std::memcpy(&bits, &diff, sizeof bits);
      bits &= 0x7fffffff;
      v8f ad;
      std::memcpy(&ad, &bits, sizeof ad);
      if constexpr (M == NNDescentMetric::Manhattan) acc += ad;
      else acc = acc > ad ? acc : ad;
    }
  }
  if constexpr (M == NNDescentMetric::Chebyshev) {
    float m = acc[0];
    for (int l = 1; l < 8; ++l) m = std::max(m, acc[l]);
    return m;
  }
  return SCANPP_NND_LANE_SUM(acc);
}

inline __attribute__((always_inline)) float dot(const float* a, const float* b, int stride) {
  v8f acc = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int t = 0; t < stride; t += 8) {
    v8f va, vb;
    SCANPP_NND_LOAD8(va, a + t);
    SCANPP_NND_LOAD8(vb, b + t);
    acc += va * vb;
  }
  return SCANPP_NND_LANE_SUM(acc);
}

// Distances among rows gathered into a small contiguous buffer (a few KiB,
// cache resident): out[x * ld + y] for x < a and x < y < m. The pairs are
// taken four at a time to reuse row x; each pair's own arithmetic is the
// same as distance()'s, so the blocking changes no value.
template <NNDescentMetric M>
inline __attribute__((always_inline)) void pair_dists_body(const float* rows, int a, int m, int stride, float* out,
                                                           int ld) {
  for (int x = 0; x < a; ++x) {
    const float* rx = rows + static_cast<int64_t>(x) * stride;
    int y = x + 1;
    for (; y + 4 <= m; y += 4) {
      const float* r0 = rows + static_cast<int64_t>(y) * stride;
      out[x * ld + y] = distance<M>(rx, r0, stride);
      out[x * ld + y + 1] = distance<M>(rx, r0 + stride, stride);
      out[x * ld + y + 2] = distance<M>(rx, r0 + 2 * stride, stride);
      out[x * ld + y + 3] = distance<M>(rx, r0 + 3 * stride, stride);
    }
    for (; y < m; ++y) out[x * ld + y] = distance<M>(rx, rows + static_cast<int64_t>(y) * stride, stride);
  }
}

[[gnu::target_clones("avx2", "default")]] void pair_dists_l2(const float* rows, int a, int m, int stride, float* out,
                                                             int ld) {
  pair_dists_body<NNDescentMetric::SqEuclidean>(rows, a, m, stride, out, ld);
}
[[gnu::target_clones("avx2", "default")]] void pair_dists_l1(const float* rows, int a, int m, int stride, float* out,
                                                             int ld) {
  pair_dists_body<NNDescentMetric::Manhattan>(rows, a, m, stride, out, ld);
}
[[gnu::target_clones("avx2", "default")]] void pair_dists_linf(const float* rows, int a, int m, int stride, float* out,
                                                               int ld) {
  pair_dists_body<NNDescentMetric::Chebyshev>(rows, a, m, stride, out, ld);
}

template <NNDescentMetric M>
void pair_dists(const float* rows, int a, int m, int stride, float* out, int ld) {
  if constexpr (M == NNDescentMetric::SqEuclidean) pair_dists_l2(rows, a, m, stride, out, ld);
  else if constexpr (M == NNDescentMetric::Manhattan) pair_dists_l1(rows, a, m, stride, out, ld);
  else pair_dists_linf(rows, a, m, stride, out, ld);
}

// margin[q] = offset + normal . x[ids[q]] for a tree split.
[[gnu::target_clones("avx2", "default")]] void margins(const float* x, int stride, const int32_t* ids, int64_t m,
                                                       const float* normal, float offset, float* out) {
  for (int64_t q = 0; q < m; ++q) out[q] = offset + dot(normal, x + static_cast<int64_t>(ids[q]) * stride, stride);
}

inline bool before(float ka, int32_t ia, float kb, int32_t ib) { return ka < kb || (ka == kb && ia < ib); }
inline bool before(uint64_t ka, int32_t ia, uint64_t kb, int32_t ib) { return ka < kb || (ka == kb && ia < ib); }

// Whether j is among idx[0..padded): padded is a multiple of 8 and the
// slots past the heap hold kEmpty. Four lanes at a time (SSE2 width, as this
// runs in code built for the baseline ISA), no early exit.
inline bool contains(const int32_t* idx, int padded, int32_t j) {
  using v4i = int32_t __attribute__((vector_size(16)));
  const v4i jj = {j, j, j, j};
  v4i hit = {0, 0, 0, 0};
  for (int s = 0; s < padded; s += 4) {
    v4i v;
    std::memcpy(&v, idx + s, sizeof v);
    hit |= v == jj;
  }
  return (hit[0] | hit[1] | hit[2] | hit[3]) != 0;
}

inline int pad8(int k) { return (k + 7) / 8 * 8; }

// Bounded max-heap of `size` entries ordered by (key, index), root = worst,
// in rows of `padded` slots. Offers j unless it is no better than the root
// or already present. The total order makes the kept set the `size` best
// distinct offers, whatever order they come in.
template <class K>
inline bool heap_push(K* key, int32_t* idx, uint8_t* flag, int size, int padded, K k, int32_t j, uint8_t f) {
  if (!before(k, j, key[0], idx[0])) return false;
  if (contains(idx, padded, j)) return false;
  int pos = 0;
  for (;;) {
    const int c1 = 2 * pos + 1;
    if (c1 >= size) break;
    int c = c1;
    if (c1 + 1 < size && before(key[c1], idx[c1], key[c1 + 1], idx[c1 + 1])) c = c1 + 1;
    if (before(key[c], idx[c], k, j)) break;
    key[pos] = key[c];
    idx[pos] = idx[c];
    if (flag) flag[pos] = flag[c];
    pos = c;
  }
  key[pos] = k;
  idx[pos] = j;
  if (flag) flag[pos] = f;
  return true;
}

// One random-projection tree: a permutation of the points whose leaves are
// consecutive ranges [leaf_start[l], leaf_start[l + 1]).
struct Tree {
  std::vector<int32_t> perm;
  std::vector<int64_t> leaf_start;
};

// pynndescent's euclidean split: the hyperplane halfway between two random
// points of the node, orthogonal to their difference; points on the plane
// go to a random side, and a split that leaves one side empty (duplicate
// points) halves the node as it stands.
Tree build_tree(const Points& P, int leaf_size, uint64_t seed, uint64_t tree_id) {
  random::Stream rng(seed, tree_id, kTreeStream);
  const int64_t n = P.n;
  Tree tr;
  tr.perm.resize(static_cast<size_t>(n));
  std::iota(tr.perm.begin(), tr.perm.end(), 0);
  std::vector<int32_t> tmp(static_cast<size_t>(n));
  std::vector<float> normal(static_cast<size_t>(P.stride)), margin(static_cast<size_t>(n));
  // Left child popped first, so leaves come out in permutation order.
  std::vector<std::pair<int64_t, int64_t>> stack{{0, n}};
  while (!stack.empty()) {
    const auto [lo, hi] = stack.back();
    stack.pop_back();
    const int64_t m = hi - lo;
    if (m <= leaf_size) {
      tr.leaf_start.push_back(lo);
      continue;
    }
    const int64_t ia = static_cast<int64_t>(rng.integer(static_cast<uint64_t>(m)));
    int64_t ib = static_cast<int64_t>(rng.integer(static_cast<uint64_t>(m - 1)));
    if (ib >= ia) ++ib;
    const float* a = P.row(tr.perm[static_cast<size_t>(lo + ia)]);
    const float* b = P.row(tr.perm[static_cast<size_t>(lo + ib)]);
    float offset = 0;
    for (int c = 0; c < P.stride; ++c) {
      normal[static_cast<size_t>(c)] = a[c] - b[c];
      offset -= normal[static_cast<size_t>(c)] * (a[c] + b[c]) * 0.5f;
    }
    margins(P.x.data(), P.stride, tr.perm.data() + lo, m, normal.data(), offset, margin.data());
    int64_t nl = 0, nr = 0;
    for (int64_t q = lo; q < hi; ++q) {
      const int32_t i = tr.perm[static_cast<size_t>(q)];
      const float mg = margin[static_cast<size_t>(q - lo)];
      const bool left = mg > 0 || (mg == 0 && (rng.next_u64() & 1));
      if (left) tmp[static_cast<size_t>(lo + nl++)] = i;
      else tmp[static_cast<size_t>(hi - 1 - nr++)] = i;
    }
    if (nl == 0 || nr == 0) nl = m / 2;
    else std::copy(tmp.begin() + lo, tmp.begin() + hi, tr.perm.begin() + lo);
    stack.emplace_back(lo + nl, hi);
    stack.emplace_back(lo, lo + nl);
  }
  tr.leaf_start.push_back(n);
  return tr;
}

// A proposal: `other` at key `key` for the heap of `target`.
struct Proposal {
  int32_t target;
  int32_t other;
  float key;
};

template <NNDescentMetric M>
class Builder {
 public:
  Builder(const Points& P, int k, const NNDescentOptions& opt, int leaf_size, int max_cand)
      : P_(P), n_(P.n), K_(k), Kp_(pad8(k)), C_(max_cand), Cp_(pad8(max_cand)), leaf_size_(leaf_size), opt_(opt) {
    const size_t nk = static_cast<size_t>(n_) * static_cast<size_t>(Kp_);
    key_.assign(nk, kInf);
    idx_.assign(nk, kEmpty);
    flag_.assign(nk, 0);
  }

  float dist(int64_t a, int64_t b) const { return distance<M>(P_.row(a), P_.row(b), P_.stride); }

  // Every pair sharing a leaf of a tree offered to both heaps. Within one
  // tree leaves are disjoint, so a task owns the heaps of its leaves.
  void init_from_forest(int n_trees) {
    for (int g0 = 0; g0 < n_trees; g0 += kTreesPerGroup) {
      const int ng = std::min(kTreesPerGroup, n_trees - g0);
      std::vector<Tree> trees(static_cast<size_t>(ng));
      parallel_blocks(ng, 1, [&](int64_t a, int64_t) {
        trees[static_cast<size_t>(a)] = build_tree(P_, leaf_size_, opt_.seed, static_cast<uint64_t>(g0 + a));
      });
      for (const Tree& tr : trees) {
        const int64_t nleaves = static_cast<int64_t>(tr.leaf_start.size()) - 1;
        parallel_blocks(nleaves, 64, [&](int64_t la, int64_t lb) {
          std::vector<float> rows, d;
          for (int64_t l = la; l < lb; ++l) {
            const int64_t lo = tr.leaf_start[static_cast<size_t>(l)], hi = tr.leaf_start[static_cast<size_t>(l + 1)];
            const int m = static_cast<int>(hi - lo);
            const int32_t* ids = tr.perm.data() + lo;
            gather(ids, m, rows);
            d.resize(static_cast<size_t>(m) * static_cast<size_t>(m));
            pair_dists<M>(rows.data(), m, m, P_.stride, d.data(), m);
            for (int x = 0; x < m; ++x)
              for (int y = x + 1; y < m; ++y) {
                const float dxy = d[static_cast<size_t>(x * m + y)];
                push(ids[x], dxy, ids[y]);
                push(ids[y], dxy, ids[x]);
              }
          }
        });
      }
    }
  }

  // Rows ids[0..m) copied one after the other.
  void gather(const int32_t* ids, int m, std::vector<float>& rows) const {
    rows.resize(static_cast<size_t>(m) * static_cast<size_t>(P_.stride));
    for (int x = 0; x < m; ++x)
      std::copy_n(P_.row(ids[x]), P_.stride, rows.data() + static_cast<size_t>(x) * static_cast<size_t>(P_.stride));
  }

  // Points whose heaps the forest left incomplete (a leaf smaller than k + 1)
  // get random others, as pynndescent's init_random does.
  void fill_random() {
    parallel_for(n_, [&](int64_t i) {
      if (idx_[slot(i, 0)] != kEmpty) return;
      random::Stream rng(opt_.seed, static_cast<uint64_t>(i), kFillStream);
      while (idx_[slot(i, 0)] == kEmpty) {
        const auto j = static_cast<int32_t>(rng.integer(static_cast<uint64_t>(n_)));
        if (j != i) push(i, dist(i, j), j);
      }
    });
  }

  // One round; returns the number of heap entries it replaced.
  int64_t round(int r) {
    sample_candidates(r);
    return local_join();
  }

  // The k_out best of each heap, sorted.
  NNGraph result(int rounds, int k_out) const {
    NNGraph g;
    g.n = n_;
    g.k = k_out;
    g.rounds = rounds;
    fill_sorted_rows(g, n_, K_, k_out, [&](int64_t i, std::pair<float, int32_t>* row) {
      for (int s = 0; s < K_; ++s) row[s] = {key_[slot(i, s)], idx_[slot(i, s)]};
    });
    return g;
  }

 private:
  size_t slot(int64_t i, int s) const { return static_cast<size_t>(i) * static_cast<size_t>(Kp_) + static_cast<size_t>(s); }
  size_t cslot(int64_t i, int s) const { return static_cast<size_t>(i) * static_cast<size_t>(Cp_) + static_cast<size_t>(s); }

  bool push(int64_t i, float d, int32_t j) {
    const size_t o = slot(i, 0);
    return heap_push(key_.data() + o, idx_.data() + o, flag_.data() + o, K_, Kp_, d, j, uint8_t{1});
  }

  // pynndescent's candidate sampling: each point's new and old candidates
  // are up to C_ of its neighbours and reverse neighbours, chosen by random
  // priority; the priority of edge i -> j is a hash of (round, i, j), so
  // both endpoints see the same one. Then the sampled new neighbours are
  // marked old.
  void sample_candidates(int r) {
    // Reverse neighbour lists (who lists p), in increasing source order.
    rev_ptr_.assign(static_cast<size_t>(n_) + 1, 0);
    for (size_t e = 0; e < idx_.size(); ++e)
      if (idx_[e] != kEmpty) ++rev_ptr_[static_cast<size_t>(idx_[e]) + 1];  // padding slots are kEmpty
    for (int64_t i = 0; i < n_; ++i) rev_ptr_[static_cast<size_t>(i) + 1] += rev_ptr_[static_cast<size_t>(i)];
    rev_src_.resize(static_cast<size_t>(rev_ptr_.back()));
    rev_new_.resize(rev_src_.size());
    {
      std::vector<int64_t> fill(rev_ptr_.begin(), rev_ptr_.end() - 1);
      for (int64_t i = 0; i < n_; ++i)
        for (int s = 0; s < K_; ++s) {
          const int32_t j = idx_[slot(i, s)];
          if (j == kEmpty) continue;
          const auto at = static_cast<size_t>(fill[static_cast<size_t>(j)]++);
          rev_src_[at] = static_cast<int32_t>(i);
          rev_new_[at] = flag_[slot(i, s)];
        }
    }
    const size_t nc = static_cast<size_t>(n_) * static_cast<size_t>(Cp_);
    new_cand_.assign(nc, kEmpty);
    old_cand_.assign(nc, kEmpty);
    const uint64_t salt = opt_.seed ^ kSampleSalt;
    auto priority = [&](int64_t i, int64_t j) {
      return random::hash3(salt, (static_cast<uint64_t>(i) << 32) | static_cast<uint64_t>(j), static_cast<uint64_t>(r));
    };
    parallel_blocks(n_, 1024, [&](int64_t a, int64_t b) {
      std::vector<uint64_t> np(static_cast<size_t>(C_)), op(static_cast<size_t>(C_));
      for (int64_t p = a; p < b; ++p) {
        int32_t* nh = new_cand_.data() + cslot(p, 0);
        int32_t* oh = old_cand_.data() + cslot(p, 0);
        std::fill(np.begin(), np.end(), std::numeric_limits<uint64_t>::max());
        std::fill(op.begin(), op.end(), std::numeric_limits<uint64_t>::max());
        for (int s = 0; s < K_; ++s) {
          const int32_t j = idx_[slot(p, s)];
          if (j == kEmpty) continue;
          if (flag_[slot(p, s)]) heap_push(np.data(), nh, nullptr, C_, Cp_, priority(p, j), j, 0);
          else heap_push(op.data(), oh, nullptr, C_, Cp_, priority(p, j), j, 0);
        }
        for (int64_t e = rev_ptr_[static_cast<size_t>(p)]; e < rev_ptr_[static_cast<size_t>(p) + 1]; ++e) {
          const int32_t i = rev_src_[static_cast<size_t>(e)];
          if (rev_new_[static_cast<size_t>(e)]) heap_push(np.data(), nh, nullptr, C_, Cp_, priority(i, p), i, 0);
          else heap_push(op.data(), oh, nullptr, C_, Cp_, priority(i, p), i, 0);
        }
        for (int s = 0; s < K_; ++s) {
          if (!flag_[slot(p, s)]) continue;
          const int32_t j = idx_[slot(p, s)];
          if (contains(nh, Cp_, j)) flag_[slot(p, s)] = 0;
        }
      }
    });
  }

  // Every pair (new, new) and (new, old) among a point's candidates is
  // scored and proposed to each side whose current worst it beats. Heaps
  // change only between chunks, from the proposals in block order.
  int64_t local_join() {
    const int64_t nblocks_max = (kJoinChunk + kJoinBlock - 1) / kJoinBlock;
    buckets_.resize(static_cast<size_t>(nblocks_max * kRanges));
    int64_t changes = 0;
    for (int64_t c0 = 0; c0 < n_; c0 += kJoinChunk) {
      const int64_t c1 = std::min(n_, c0 + kJoinChunk);
      const int64_t nblocks = (c1 - c0 + kJoinBlock - 1) / kJoinBlock;
      parallel_blocks(c1 - c0, kJoinBlock, [&](int64_t a, int64_t b) { propose(c0 + a, c0 + b, a / kJoinBlock); });
      std::vector<int64_t> applied(kRanges, 0);
      parallel_blocks(kRanges, 1, [&](int64_t r, int64_t) {
        int64_t c = 0;
        for (int64_t blk = 0; blk < nblocks; ++blk)
          for (const Proposal& u : buckets_[static_cast<size_t>(blk * kRanges + r)]) c += push(u.target, u.key, u.other);
        applied[static_cast<size_t>(r)] = c;
      });
      for (int64_t c : applied) changes += c;
    }
    return changes;
  }

  int range_of(int32_t p) const { return static_cast<int>(static_cast<int64_t>(p) * kRanges / n_); }

  void propose(int64_t a, int64_t b, int64_t blk) {
    std::vector<Proposal>* out = buckets_.data() + blk * kRanges;
    for (int r = 0; r < kRanges; ++r) out[r].clear();
    // Candidates of one point: the new ones first, then the old ones.
    std::vector<int32_t> ids;
    std::vector<float> th, rows, d;
    ids.reserve(static_cast<size_t>(2 * C_));
    for (int64_t i = a; i < b; ++i) {
      ids.clear();
      for (int s = 0; s < C_; ++s)
        if (new_cand_[cslot(i, s)] != kEmpty) ids.push_back(new_cand_[cslot(i, s)]);
      const int na = static_cast<int>(ids.size());
      if (na == 0) continue;
      for (int s = 0; s < C_; ++s)
        if (old_cand_[cslot(i, s)] != kEmpty) ids.push_back(old_cand_[cslot(i, s)]);
      const int m = static_cast<int>(ids.size());
      th.resize(static_cast<size_t>(m));
      for (int x = 0; x < m; ++x) th[static_cast<size_t>(x)] = key_[slot(ids[static_cast<size_t>(x)], 0)];
      gather(ids.data(), m, rows);
      d.resize(static_cast<size_t>(na) * static_cast<size_t>(m));
      pair_dists<M>(rows.data(), na, m, P_.stride, d.data(), m);
      for (int x = 0; x < na; ++x) {
        const int32_t p = ids[static_cast<size_t>(x)];
        for (int y = x + 1; y < m; ++y) {
          const int32_t q = ids[static_cast<size_t>(y)];
          if (q == p) continue;
          const float dxy = d[static_cast<size_t>(x * m + y)];
          if (dxy <= th[static_cast<size_t>(x)]) out[range_of(p)].push_back({p, q, dxy});
          if (dxy <= th[static_cast<size_t>(y)]) out[range_of(q)].push_back({q, p, dxy});
        }
      }
    }
  }

  const Points& P_;
  int64_t n_;
  int K_, Kp_, C_, Cp_, leaf_size_;
  NNDescentOptions opt_;
  std::vector<float> key_;
  std::vector<int32_t> idx_;
  std::vector<uint8_t> flag_;  // 1 = new since the last sampling
  std::vector<int64_t> rev_ptr_;
  std::vector<int32_t> rev_src_;
  std::vector<uint8_t> rev_new_;
  std::vector<int32_t> new_cand_, old_cand_;
  std::vector<std::vector<Proposal>> buckets_;
};

template <NNDescentMetric M>
NNGraph run(const Points& P, int k_out, const NNDescentOptions& opt) {
  const int64_t n = P.n;
  const int k = static_cast<int>(std::min<int64_t>(std::max(k_out, opt.build_k > 0 ? opt.build_k : kMinBuildK), n - 1));
  const int n_trees = opt.n_trees > 0
                          ? opt.n_trees
                          : static_cast<int>(std::min<int64_t>(64, 5 + std::llround(std::sqrt(static_cast<double>(n)) / 20.0)));
  const int leaf_size = opt.leaf_size > 0 ? opt.leaf_size : std::max(10, k);
  const int n_iters = opt.n_iters > 0 ? opt.n_iters
                                      : static_cast<int>(std::max<int64_t>(5, std::llround(std::log2(static_cast<double>(n)))));
  const int max_cand = std::min(opt.max_candidates > 0 ? opt.max_candidates : 60, k);
  Builder<M> b(P, k, opt, leaf_size, max_cand);
  b.init_from_forest(n_trees);
  b.fill_random();
  const double stop = opt.delta * static_cast<double>(n) * static_cast<double>(k);
  int rounds = 0;
  for (int r = 0; r < n_iters; ++r) {
    ++rounds;
    if (static_cast<double>(b.round(r)) <= stop) break;
  }
  return b.result(rounds, k_out);
}

}  // namespace

NNGraph nn_descent(const float* x, int64_t n, int d, int k, NNDescentMetric metric, const NNDescentOptions& opt) {
  if (n < 1) throw ValueError("nn_descent: no points");
  if (n > std::numeric_limits<int32_t>::max() - 1) throw ValueError("nn_descent: too many points for 32-bit indices");
  if (d < 1) throw ValueError("nn_descent: points have no coordinates");
  if (k < 0 || k >= n)
    throw ValueError("nn_descent: k = " + std::to_string(k) + " must be below the number of points (" +
                     std::to_string(n) + ")");
  if (opt.n_trees < 0 || opt.leaf_size < 0 || opt.n_iters < 0 || opt.max_candidates < 0 || opt.build_k < 0 ||
      !(opt.delta >= 0))
    throw ValueError("nn_descent: n_trees, leaf_size, n_iters, max_candidates, build_k and delta must not be negative");
  if (k == 0) {
    NNGraph g;
    g.n = n;
    return g;
  }
  // The points are renumbered in the leaf order of one more random
  // projection tree, so that neighbours sit near each other in memory: the
  // rows, heaps and thresholds a point's candidates touch then share cache
  // lines. The result is mapped back to the caller's numbering.
  std::vector<int32_t> order;
  Points P;
  {
    const Points P0 = pad_points(x, n, d);
    order = build_tree(P0, 256, opt.seed, kOrderTree).perm;
    P.n = n;
    P.stride = P0.stride;
    P.x.resize(P0.x.size());
    parallel_for(n, [&](int64_t q) {
      std::copy_n(P0.row(order[static_cast<size_t>(q)]), P.stride, P.x.data() + q * P.stride);
    });
  }
  NNGraph g;
  switch (metric) {
    case NNDescentMetric::SqEuclidean: g = run<NNDescentMetric::SqEuclidean>(P, k, opt); break;
    case NNDescentMetric::Manhattan: g = run<NNDescentMetric::Manhattan>(P, k, opt); break;
    case NNDescentMetric::Chebyshev: g = run<NNDescentMetric::Chebyshev>(P, k, opt); break;
  }
  P = {};
  std::vector<int32_t> inv(static_cast<size_t>(n));
  for (int64_t q = 0; q < n; ++q) inv[static_cast<size_t>(order[static_cast<size_t>(q)])] = static_cast<int32_t>(q);
  NNGraph out;
  out.n = n;
  out.k = k;
  out.rounds = g.rounds;
  fill_sorted_rows(out, n, k, k, [&](int64_t i, std::pair<float, int32_t>* row) {
    const size_t src = static_cast<size_t>(inv[static_cast<size_t>(i)]) * static_cast<size_t>(k);
    for (int s = 0; s < k; ++s)
      row[s] = {g.keys[src + static_cast<size_t>(s)], order[static_cast<size_t>(g.indices[src + static_cast<size_t>(s)])]};
  });
  return out;
}

}  // namespace scanpp::pp
