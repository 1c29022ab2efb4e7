#pragma once
// A thread budget (core/thread_budget.hpp) for the calling thread that a
// helper flips between 1 and 2 threads every 300 µs while the object
// lives: the jobs that follow a budget must give the bits of a fixed
// thread count whatever it allows when.
#include <atomic>
#include <chrono>
#include <thread>

#include "scanpp/core/thread_budget.hpp"

namespace scanpp::testing {

class BudgetFlipper {
 public:
  BudgetFlipper() : flipper_([this] {
    for (int k = 0; !stop_.load(); ++k) {
      budget_.set(1 + k % 2);
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
  }) {
    current_thread_budget() = &budget_;
  }
  ~BudgetFlipper() {
    stop_.store(true);
    flipper_.join();
    current_thread_budget() = nullptr;
  }
  BudgetFlipper(const BudgetFlipper&) = delete;
  BudgetFlipper& operator=(const BudgetFlipper&) = delete;

 private:
  ThreadBudget budget_{1};
  std::atomic<bool> stop_{false};
  std::thread flipper_;
};

}  // namespace scanpp::testing
