#pragma once
// A thread count that may grow while a job runs. `scanpp run` starts some
// steps ahead of their turn on part of the threads (pipeline/ahead_runner);
// when the pipeline reaches such a step and has to wait for it, it hands the
// job all its threads. Long iterative kernels (t-SNE's descent) look at the
// budget of their thread between stretches of iterations and take what it
// allows; their results never depend on the thread count.
#include <atomic>

namespace scanpp {

class ThreadBudget {
 public:
  explicit ThreadBudget(int threads) : threads_(threads) {}
  int threads() const { return threads_.load(std::memory_order_relaxed); }
  void set(int threads) { threads_.store(threads, std::memory_order_relaxed); }

 private:
  std::atomic<int> threads_;
};

// The budget of the job on the calling thread, or nullptr (no budget: the
// thread's own OpenMP setting stands).
inline ThreadBudget*& current_thread_budget() {
  thread_local ThreadBudget* budget = nullptr;
  return budget;
}

}  // namespace scanpp
