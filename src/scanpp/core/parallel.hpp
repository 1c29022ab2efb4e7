#pragma once
// The one parallel-loop wrapper every algorithm uses. Work is cut into fixed
// blocks whose boundaries do not depend on the thread count, so reductions
// that combine per-block results in block order give bit-identical results
// for 1 or N threads.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace scanpp {

// Sets the number of threads scanpp uses (0 = all cores).
inline void set_num_threads(int n) { omp_set_num_threads(n > 0 ? n : omp_get_num_procs()); }
inline int num_threads() { return omp_get_max_threads(); }

// Calls f(begin, end) for consecutive blocks of [0, n) of size `block`, in parallel.
template <class F>
void parallel_blocks(int64_t n, int64_t block, F&& f) {
  if (n <= 0) return;
  block = std::max<int64_t>(block, 1);
  const int64_t nblocks = (n + block - 1) / block;
#pragma omp parallel for schedule(dynamic, 1) if (nblocks > 1)
  for (int64_t b = 0; b < nblocks; ++b) f(b * block, std::min(n, (b + 1) * block));
}

// Calls f(i) for every i in [0, n), in parallel.
template <class F>
void parallel_for(int64_t n, F&& f, int64_t block = 256) {
  parallel_blocks(n, block, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) f(i);
  });
}

// Deterministic sum-reduction: per-block partials combined in block order.
template <class T, class F>
T parallel_reduce_blocks(int64_t n, int64_t block, T init, F&& partial) {
  const int64_t nblocks = n <= 0 ? 0 : (n + block - 1) / block;
  std::vector<T> parts(static_cast<size_t>(nblocks), T{});
  parallel_blocks(n, block, [&](int64_t a, int64_t b) { parts[a / block] = partial(a, b); });
  for (auto& p : parts) init += p;
  return init;
}

}  // namespace scanpp
