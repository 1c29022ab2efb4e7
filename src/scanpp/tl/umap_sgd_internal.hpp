#pragma once
// Internals of UMAP's SGD shared by the driver and scalar code
// (umap_sgd.cpp) and the AVX-512 listing and kernel (umap_sgd_avx512.cpp).
// Both paths must produce the same bits: the constants and the sampling
// state live here, once.
#include <cstdint>
#include <vector>

#include "scanpp/tl/umap_sgd.hpp"

namespace scanpp::tl::umap_sgd::detail {

inline constexpr uint64_t kNegativeStream = 0x554d415033ULL;
// An update is the other vertex's index, with this bit set for an attraction.
inline constexpr uint32_t kAttractBit = 0x80000000u;
inline constexpr uint32_t kIndexMask = 0x7fffffffu;

// Least-squares fits on Chebyshev nodes. log2(1 + f) = f * P(f) on
// [sqrt(1/2) - 1, sqrt(2) - 1], absolute error below 7e-7:
inline constexpr float kLog2[7] = {1.442696433e+00f,  -7.213640448e-01f, 4.806291043e-01f, -3.593503793e-01f,
                                   2.956341052e-01f, -2.695093451e-01f, 1.721307475e-01f};
// 2^f on [-1/2, 1/2], relative error below 2e-7:
inline constexpr float kExp2[6] = {1.000000076e+00f, 6.931472067e-01f, 2.402210727e-01f,
                                   5.550327202e-02f, 9.676041930e-03f, 1.340043695e-03f};
inline constexpr int32_t kSqrtHalfBits = 0x3f3504f3;  // √½ in float32 (√2's 1.41421356f halved)
inline constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: (t + kRound) - kRound rounds t to an integer

struct Consts {
  float a, b, neg_two_ab, two_gamma_b, alpha;
};

// umap-learn's sampling schedule, per directed edge, and the static
// positions in each vertex's in-edge list (before its own edges; after them).
struct Schedule {
  std::vector<double> next_sample, eps_neg, next_neg;
  // Due in this epoch / the next (by epoch parity), one byte per edge; padded
  // so that 4-byte gathers at any edge stay inside.
  std::vector<uint8_t> due[2];
  std::vector<int64_t> in_split, in_after;
  std::vector<int32_t> in_edge32;  // Graph::in_edge as 32 bits (for the AVX-512 listing; empty when symmetric)
  // Every edge's reverse exists with the same epochs per sample, so that
  // each vertex's in-edges are its out-edges' reverses in the same order and
  // due together with them (umap-learn's symmetric graphs).
  bool symmetric = false;
  int64_t max_out_degree = 0;
};

// One block's updates of an epoch: ops[start[t] .. start[t + 1]) are the
// updates of vertex v0 + t in order.
struct BlockOps {
  std::vector<uint32_t> ops;
  std::vector<int32_t> start;
};

// Whether every edge's reverse exists with the same epochs per sample (what
// Schedule::symmetric records).
bool in_lists_mirror_rows(const Graph& g);

// Lists the updates of vertices [v0, v1) in this epoch, in umap-learn's edge
// order: in-edges from earlier heads, then each due edge the vertex heads
// followed by its negative samples, then in-edges from later heads. Also
// decides which of the block's edges are due in the next epoch.
void list_updates(const Graph& g, const Params& p, Schedule& s, int epoch, int64_t v0, int64_t v1, BlockOps& out);

// The same lists, computed with AVX-512 (bit for bit the same); needs
// avx512_available(), and s.in_edge32 unless s.symmetric.
void list_updates_avx512(const Graph& g, const Params& p, Schedule& s, int epoch, int64_t v0, int64_t v1,
                         BlockOps& out);

// Applies the listed updates of vertices [v0, v0 + nv) of a 2-D layout to
// their positions in `old`, writing `out`, 32 vertices in flight.
void run_block_avx512(const uint32_t* ops, const int32_t* start, int64_t v0, int64_t nv, const float* old, float* out,
                      const Consts& c);

// Whether this CPU has the AVX-512 subsets both of the above use.
bool avx512_available();

}  // namespace scanpp::tl::umap_sgd::detail
