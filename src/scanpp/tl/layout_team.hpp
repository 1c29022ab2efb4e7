#pragma once
// The threads of one parallel region running many short iterations of a
// force layout (t-SNE's Barnes–Hut descent, ForceAtlas2: a fraction of a
// millisecond each on a few thousand points). Opening an OpenMP region per
// loop put the idle threads to sleep and woke them twice an iteration,
// which cost more than the work it shared out; here the region spans many
// iterations and the threads meet at spin-then-sleep barriers.
//
// Per iteration the threads take work items from one counter. Thread 0 may
// first do a serial job (building the tree) and publish it; items that need
// it wait until it is published. Which thread takes which item never changes
// a result: users write each item's output to its own place and sum in a
// fixed order.
#include <omp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "scanpp/core/spin_barrier.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace scanpp::tl {

class LayoutTeam {
 public:
  // Before the region (one thread).
  void reset() {
    next_.store(0);
    finished_.store(0);
    published_.store(-1);
  }
  // Every thread, first thing in the region.
  void enter() {
    if (leader()) barrier_.set_threads(omp_get_num_threads());
#pragma omp barrier
  }
  static bool leader() { return omp_get_thread_num() == 0; }
  // The next work item of this iteration (0, 1, 2, ... across the team).
  int64_t next_item() { return next_.fetch_add(1, std::memory_order_relaxed); }
  // By one thread while the others wait at a barrier: the next iteration's
  // items start again from 0, none finished (the barrier publishes it).
  void reset_items() {
    next_.store(0, std::memory_order_relaxed);
    finished_.store(0, std::memory_order_relaxed);
  }
  // For items that read what earlier items wrote: each of those calls
  // finish_item() when done, and a reader waits until `count` have (what
  // they wrote is then visible). Waits are short: the items were taken
  // before the reader's (one counter), at most one per thread still runs.
  void finish_item() { finished_.fetch_add(1, std::memory_order_release); }
  void wait_finished(int64_t count) {
    while (finished_.load(std::memory_order_acquire) < count) {
#if defined(__x86_64__)
      _mm_pause();
#endif
      std::this_thread::yield();
    }
  }
  // Thread 0: the serial job of iteration `stamp` is done (what it wrote is
  // visible to the threads that wait for it).
  void publish(int stamp) {
    published_.store(stamp, std::memory_order_release);
    published_.notify_all();
  }
  // Until thread 0 has published iteration `stamp`: spins briefly (about
  // the serial job's length), then sleeps.
  void wait_published(int stamp) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicroseconds);
    for (int spin = 1;; ++spin) {
      if (published_.load(std::memory_order_acquire) == stamp) return;
#if defined(__x86_64__)
      _mm_pause();
#endif
      if (spin % 64 == 0 && std::chrono::steady_clock::now() > until) break;
    }
    for (int seen = published_.load(); seen != stamp; seen = published_.load()) published_.wait(seen);
  }
  // Everything written before is visible to every thread after.
  void barrier() { barrier_.arrive_and_wait(); }

 private:
  static constexpr int kSpinMicroseconds = 100;
  SpinBarrier barrier_;
  alignas(64) std::atomic<int64_t> next_{0};
  alignas(64) std::atomic<int64_t> finished_{0};
  alignas(64) std::atomic<int> published_{-1};
};

}  // namespace scanpp::tl
