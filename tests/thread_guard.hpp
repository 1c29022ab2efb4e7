#pragma once
// Restores the thread count a test found when it ends, whatever it set.
#include "scanpp/core/parallel.hpp"

namespace scanpp::testing {

class ThreadGuard {
 public:
  ThreadGuard() : saved_(num_threads()) {}
  ~ThreadGuard() { set_num_threads(saved_); }
  ThreadGuard(const ThreadGuard&) = delete;
  ThreadGuard& operator=(const ThreadGuard&) = delete;

 private:
  int saved_;
};

}  // namespace scanpp::testing
