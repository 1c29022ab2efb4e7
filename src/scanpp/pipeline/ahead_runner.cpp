#include "scanpp/pipeline/ahead_runner.hpp"

#include <chrono>
#include <utility>

#include "scanpp/core/parallel.hpp"

namespace scanpp::pipeline {

AheadRunner::~AheadRunner() {
  join();
  if (shared_) share_end();
}

void AheadRunner::share_end() {
  set_num_threads(threads_);
  current_thread_budget() = nullptr;
  shared_ = false;
}

void AheadRunner::join() {
  if (thread_.joinable()) thread_.join();
}

bool AheadRunner::start(const AheadStep& step, int index, const AnnData& ad) {
  if (threads_ < 2 || index_ >= 0) return false;
  AheadStep::Work work;
  const auto s0 = std::chrono::steady_clock::now();
  try {
    work = step.start(ad);
  } catch (...) {
    return false;
  }
  if (!work) return false;  // the step declined: it runs in its turn
  start_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
  const int own = threads_ / 2;
  index_ = index;
  done_.store(false);
  commit_ = nullptr;
  error_ = nullptr;
  set_num_threads(threads_ - own);
  pipeline_budget_.set(threads_ - own);
  current_thread_budget() = &pipeline_budget_;
  shared_ = true;
  budget_.set(own);
  thread_ = std::thread([this, own, work = std::move(work)] {
    set_num_threads(own);  // this thread's own OpenMP setting
    current_thread_budget() = &budget_;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      commit_ = work();
    } catch (...) {
      error_ = std::current_exception();
    }
    work_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    pipeline_budget_.set(threads_);
    done_.store(true, std::memory_order_release);
  });
  return true;
}

void AheadRunner::poll() {
  if (shared_ && done_.load(std::memory_order_acquire)) share_end();
}

void AheadRunner::finish(AnnData& ad) {
  budget_.set(threads_);  // the pipeline waits: the step may use every thread
  join();
  index_ = -1;
  if (shared_) share_end();
  AheadStep::Commit commit = std::move(commit_);
  commit_ = nullptr;
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  if (commit) commit(ad);
}

}  // namespace scanpp::pipeline
