#include "openblas_core.hpp"

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

}  // namespace

void ensure_openblas_core(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  const char* detected = openblas_get_corename();
  // Only the generic fallbacks are overridden: a correct detection is kept.
  if (detected == nullptr || (std::strcmp(detected, "Prescott") != 0 && std::strcmp(detected, "Core2") != 0 &&
                              std::strcmp(detected, "Nehalem") != 0))
    return;
  const char* core = supported_core();
  if (core == nullptr) return;
  if (::setenv("OPENBLAS_CORETYPE", core, 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  // exec failed (no /proc): carry on with the slow kernels.
}

}  // namespace scanpp::app
