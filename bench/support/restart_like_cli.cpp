// Benchmarks run under the runtime settings the `scanpp` command line
// restarts itself with (OpenBLAS kernels for this CPU, passive OpenMP
// waiting: apps/runtime_env.hpp), so that their figures
// are the ones users of the command line get. glibc passes (argc, argv,
// envp) to the program's constructors, which run after the shared libraries
// have loaded and before main.
#include "runtime_env.hpp"

namespace {

__attribute__((constructor)) void restart_like_cli(int, char** argv, char**) {
  scanpp::app::ensure_runtime_env(argv);
}

}  // namespace
