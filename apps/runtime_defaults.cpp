// The runtime settings decided without loading OpenBLAS or libgomp
// (runtime_env.hpp); shared by the launcher, which must not load them, and
// the program.
#include <cstdlib>

#include "runtime_env.hpp"

namespace scanpp::app {

namespace {

bool set_default(const char* name, const char* value) {
  if (std::getenv(name) != nullptr) return false;
  return ::setenv(name, value, 1) == 0;
}

// The subsets OpenBLAS's SkylakeX kernels use (libgcc's check includes the
// operating system's support for the AVX-512 registers).
bool has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

}  // namespace

bool set_runtime_defaults() {
  bool set = set_default("OMP_WAIT_POLICY", "passive");
  // 2^4 cycles: OpenBLAS's idle workers sleep at once instead of spinning.
  set |= set_default("OPENBLAS_THREAD_TIMEOUT", "4");
  if (has_avx512()) set |= set_default("OPENBLAS_CORETYPE", "SkylakeX");
  return set;
}

}  // namespace scanpp::app
