#pragma once
// A barrier for the threads of one parallel region that run many short
// phases (UMAP's epochs: about 0.1 ms of work each on 2,600 cells; t-SNE's
// and ForceAtlas2's iterations). OpenMP's barrier under OMP_WAIT_POLICY=passive puts a waiting
// thread to sleep at once, and waking it costs more than the imbalance it
// waits for; here a waiting thread first spins briefly (at most 50
// microseconds, about what one block of work takes), then sleeps on the
// atomic's futex.
// Only timing depends on this: which thread does which work item never
// changes a result.
#include <atomic>
#include <chrono>
#include <cstdint>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace scanpp {

class SpinBarrier {
 public:
  // The team's size, set by one thread of the region before any arrives
  // (the region may get fewer threads than asked for, e.g. when nested).
  void set_threads(int n_threads) { n_ = n_threads; }

  // Everything written before arriving is visible to every thread after.
  void arrive_and_wait() {
    const uint32_t gen = generation_.load();
    if (arrived_.fetch_add(1) + 1 == n_) {
      arrived_.store(0, std::memory_order_relaxed);
      // Sequentially consistent with the sleepers' count: a thread that
      // found the old generation has already counted itself, so it is woken.
      generation_.store(gen + 1);
      if (sleepers_.load() > 0) generation_.notify_all();
      return;
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicroseconds);
    for (int spin = 1;; ++spin) {
      if (generation_.load(std::memory_order_acquire) != gen) return;
      pause();
      if (spin % 64 == 0 && std::chrono::steady_clock::now() > until) break;
    }
    sleepers_.fetch_add(1);
    while (generation_.load() == gen) generation_.wait(gen);
    sleepers_.fetch_sub(1);
  }

 private:
  // About the work of one block: a thread that waits longer sleeps.
  static constexpr int kSpinMicroseconds = 50;
  static void pause() {
#if defined(__x86_64__)
    _mm_pause();
#endif
  }
  int n_ = 1;
  alignas(64) std::atomic<int> arrived_{0};
  alignas(64) std::atomic<uint32_t> generation_{0};
  alignas(64) std::atomic<int> sleepers_{0};
};

}  // namespace scanpp
