#include "runtime_env.hpp"

#include <strings.h>
#include <unistd.h>

#include <cstdlib>

extern "C" char* openblas_get_corename(void);

namespace scanpp::app {

namespace {

// Vector width of OpenBLAS's kernel families: 3 AVX-512, 2 AVX2, 1 AVX, 0
// SSE; -1 for a name not known here (left alone).
int core_level(const char* name) {
  struct Core {
    const char* name;
    int level;
  };
  static constexpr Core kCores[] = {
      {"SkylakeX", 3},   {"Cooperlake", 3}, {"SapphireRapids", 3}, {"Haswell", 2},      {"Zen", 2},
      {"Excavator", 2},  {"Sandybridge", 1}, {"Bulldozer", 1},     {"Piledriver", 1},   {"Steamroller", 1},
      {"Prescott", 0},   {"Core2", 0},       {"Penryn", 0},        {"Dunnington", 0},   {"Nehalem", 0},
      {"Atom", 0},       {"Katmai", 0},      {"Coppermine", 0},    {"Northwood", 0},    {"Banias", 0},
      {"Athlon", 0},     {"Opteron", 0},     {"Opteron_SSE3", 0},  {"Barcelona", 0},    {"Nano", 0},
      {"Bobcat", 0}};
  for (const Core& c : kCores)
    if (::strcasecmp(name, c.name) == 0) return c.level;
  return -1;
}

// The widest kernel family the CPU runs below AVX-512 (which
// set_runtime_defaults settles), or nullptr.
const char* cpu_core(int& level) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return level = 2, "Haswell";
  if (__builtin_cpu_supports("avx")) return level = 1, "Sandybridge";
  return nullptr;
}

// OPENBLAS_CORETYPE over a detection below the CPU's features; true if set.
bool correct_openblas_core() {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return false;
  const char* detected = openblas_get_corename();
  if (detected == nullptr) return false;
  const int have = core_level(detected);
  int level = -1;
  const char* core = cpu_core(level);
  if (core == nullptr || have < 0 || have >= level) return false;
  return ::setenv("OPENBLAS_CORETYPE", core, 1) == 0;
}

// Set across the program's own restart: it restarts once at most, and
// --version tells that it did (the `scanpp` launcher makes it needless).
constexpr char kRestarted[] = "SCANPP_RUNTIME_RESTARTED";
bool restarted = false;

}  // namespace

void ensure_runtime_env(char** argv) {
  restarted = std::getenv(kRestarted) != nullptr;
  if (restarted) {
    ::unsetenv(kRestarted);  // not for the programs this one starts
    return;
  }
  const bool defaults = set_runtime_defaults();
  const bool core = correct_openblas_core();
  if (!defaults && !core) return;
  ::setenv(kRestarted, "1", 1);
  ::execv("/proc/self/exe", argv);
  // exec failed (no /proc): carry on as the runtimes already are.
  ::unsetenv(kRestarted);
}

std::string runtime_summary() {
  auto value = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v != nullptr ? v : "(unset)");
  };
  const char* core = openblas_get_corename();
  return std::string("OpenBLAS kernels: ") + (core != nullptr ? core : "(unknown)") +
         "; OMP_WAIT_POLICY: " + value("OMP_WAIT_POLICY") + "; OPENBLAS_THREAD_TIMEOUT: " +
         value("OPENBLAS_THREAD_TIMEOUT") + (restarted ? " (the program restarted itself to apply them)" : "");
}

}  // namespace scanpp::app
