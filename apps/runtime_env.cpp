#include "runtime_env.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

extern "C" char* openblas_get_corename(void);

namespace scanpp::app {

namespace {

// The best kernel family the CPU can run, or nullptr for "leave OpenBLAS be".
const char* supported_core() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  if (__builtin_cpu_supports("avx")) return "Sandybridge";
  return nullptr;
}

// Sets OPENBLAS_CORETYPE when OpenBLAS fell back to a generic core; true if it did.
bool set_openblas_core() {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return false;
  const char* detected = openblas_get_corename();
  // Only the generic fallbacks are overridden: a correct detection is kept.
  if (detected == nullptr || (std::strcmp(detected, "Prescott") != 0 && std::strcmp(detected, "Core2") != 0 &&
                              std::strcmp(detected, "Nehalem") != 0))
    return false;
  const char* core = supported_core();
  return core != nullptr && ::setenv("OPENBLAS_CORETYPE", core, 1) == 0;
}

bool set_omp_wait_policy() {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return false;
  return ::setenv("OMP_WAIT_POLICY", "passive", 1) == 0;
}

// 2^4 cycles: OpenBLAS's idle workers sleep at once instead of spinning.
bool set_openblas_thread_timeout() {
  if (std::getenv("OPENBLAS_THREAD_TIMEOUT") != nullptr) return false;
  return ::setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1) == 0;
}

}  // namespace

void ensure_runtime_env(char** argv) {
  const bool blas = set_openblas_core();
  const bool omp = set_omp_wait_policy();
  const bool timeout = set_openblas_thread_timeout();
  if (!blas && !omp && !timeout) return;
  ::execv("/proc/self/exe", argv);
  // exec failed (no /proc): carry on as the runtimes already are.
}

}  // namespace scanpp::app
