#pragma once
// Timing helpers shared by the benchmark programs: wall and process CPU
// clocks, and medians over repetitions. The CPU time (all threads) is the
// steadier figure while other jobs load the machine.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <utility>
#include <vector>

namespace scanpp::bench {

inline double wall_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Process CPU seconds, all threads together.
inline double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

struct Timing {
  double wall = 0, cpu = 0;  // medians, seconds
};

// Runs f() `reps` times; the median wall and CPU seconds.
template <class F>
Timing median_time(int reps, F&& f) {
  std::vector<double> wall, cpu;
  for (int r = 0; r < reps; ++r) {
    const double w0 = wall_now(), c0 = cpu_now();
    f();
    cpu.push_back(cpu_now() - c0);
    wall.push_back(wall_now() - w0);
  }
  return {median(wall), median(cpu)};
}

}  // namespace scanpp::bench
