#pragma once
// A thread count that may grow while a job runs. `scanpp run` starts some
// steps ahead of their turn on part of the threads (pipeline/ahead_runner);
// when the pipeline reaches such a step and has to wait for it, it hands the
// job all its threads, and when the step's work is done, the pipeline's
// steps get them back. Long iterative kernels (t-SNE's descent,
// ForceAtlas2) look at the budget of their thread between stretches of
// iterations and take what it allows; their results never depend on the
// thread count.
#include <atomic>

#include "scanpp/core/parallel.hpp"

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

// Iterations between two looks at the budget: a parallel region each.
inline constexpr int kBudgetStretch = 25;

// Takes the threads `budget` allows now (nothing without a budget).
inline void follow_thread_budget(const ThreadBudget* budget) {
  if (budget && budget->threads() != num_threads()) set_num_threads(budget->threads());
}

}  // namespace scanpp
