// The AVX-512 UMAP update kernel alone, on synthetic lists: 256 vertices of
// a 2,638-vertex layout, each with `len` updates (random other vertices, one
// in three an attraction), the cost per update for a few list lengths
// (PBMC 3k's epochs average 43 updates per vertex). Single thread; the
// fastest of several repetitions.
//   umap_kernel_bench [repetitions (default 200)]
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench_timing.hpp"
#include "scanpp/tl/umap_sgd_internal.hpp"

using namespace scanpp;
using namespace scanpp::tl::umap_sgd::detail;

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 200;
  if (!avx512_available()) {
    std::printf("no AVX-512 on this CPU\n");
    return 0;
  }
  const int64_t n = 2638, nv = 256;
  std::vector<float> old(static_cast<size_t>(2 * n)), out(old.size());
  uint64_t s = 12345;
  auto next = [&] {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(s >> 33);
  };
  for (float& v : old) v = static_cast<float>(next() % 10000) * 1e-3f;
  const Consts c{1.577f, 0.895f, -2.0f * 1.577f * 0.895f, 2.0f * 0.895f, 0.5f};
  for (int len : {8, 43, 200, 2000}) {
    std::vector<uint32_t> ops;
    std::vector<int32_t> start(1, 0);
    for (int64_t t = 0; t < nv; ++t) {
      // Lengths vary around len, as real lists do.
      const int l = std::max(1, len / 2 + static_cast<int>(next() % static_cast<uint32_t>(len + 1)));
      for (int k = 0; k < l; ++k) ops.push_back((next() % 3 == 0 ? kAttractBit : 0u) | (next() % n));
      start.push_back(static_cast<int32_t>(ops.size()));
    }
    ops.resize(ops.size() + 16);
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
      const double t0 = bench::wall_now();
      run_block_avx512(ops.data(), start.data(), 1000, nv, old.data(), out.data(), c);
      best = std::min(best, bench::wall_now() - t0);
    }
    const double updates = static_cast<double>(start.back());
    std::printf("about %4d updates per vertex: %.2f ns per update (%.0f updates, fastest of %d)\n", len,
                best / updates * 1e9, updates, reps);
  }
  return 0;
}
