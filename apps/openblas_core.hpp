#pragma once
// OpenBLAS 0.3.21 (Debian 12) does not recognise some virtualised Xeons (the
// CPU reports a generic "Intel(R) Xeon(R) Processor" model) and falls back to
// its SSE3 "Prescott" kernels, which run dgemm/dsyrk about 4x slower than the
// AVX-512 ones the same CPU supports. The core type can only be chosen through
// the environment before the library initialises, so the command line restarts
// itself once with OPENBLAS_CORETYPE set from the CPU's own feature flags.
namespace scanpp::app {

// Returns only if no restart is needed (or it failed, which costs only speed).
// A user's own OPENBLAS_CORETYPE is always respected.
void ensure_openblas_core(char** argv);

}  // namespace scanpp::app
