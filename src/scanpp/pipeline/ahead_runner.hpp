#pragma once
// Runs one AheadStep (pipeline.hpp) on a thread of its own while the
// pipeline goes on with the steps before it (ahead_plan.hpp decides which).
// The cores are shared: the step gets half of scanpp's threads, the pipeline
// the rest; the pipeline takes them all back as soon as the step's work is
// done (its steps from their next step on, and a long step that follows its
// budget, core/thread_budget.hpp, from its next stretch of iterations), and
// when the pipeline reaches the step first, the step's budget grows to all
// of them while the pipeline waits. Every step's result is independent of
// its thread count, so the outputs are those of running in turn.
#include <atomic>
#include <exception>
#include <thread>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/thread_budget.hpp"
#include "scanpp/pipeline/pipeline.hpp"

namespace scanpp::pipeline {

class AheadRunner {
 public:
  // threads: scanpp's thread count for the pipeline.
  explicit AheadRunner(int threads) : threads_(threads) {}
  ~AheadRunner();  // waits for a step still running
  AheadRunner(const AheadRunner&) = delete;
  AheadRunner& operator=(const AheadRunner&) = delete;

  // Starts step `index` now, reading its inputs from ad. False, with nothing
  // started, when there is one thread only, a step already runs, or its
  // start declined or threw (the step then runs in its turn, where an error
  // shows).
  bool start(const AheadStep& step, int index, const AnnData& ad);
  // The index of the step running ahead, or -1.
  int running() const { return index_; }
  // In the step's turn: waits for its work, gives the pipeline all threads
  // and applies the step's writes to ad; rethrows what the work threw.
  void finish(AnnData& ad);
  // Between steps: all threads back to the pipeline once the work is done.
  void poll();
  // Wall seconds the last finished step's work took, and its start (on the
  // pipeline's thread and all threads, before the work went to its own).
  double work_seconds() const { return work_seconds_; }
  double start_seconds() const { return start_seconds_; }

 private:
  void join();
  int threads_;
  int index_ = -1;
  bool shared_ = false;  // the pipeline runs on fewer threads
  std::thread thread_;
  std::atomic<bool> done_{false};
  AheadStep::Commit commit_;
  std::exception_ptr error_;
  double work_seconds_ = 0.0, start_seconds_ = 0.0;
  ThreadBudget budget_{1};
  ThreadBudget pipeline_budget_{1};  // the pipeline thread's, while shared_
  void share_end();                  // shared_ no more: all threads to the pipeline
};

}  // namespace scanpp::pipeline
