#pragma once
// Settings that the OpenBLAS and OpenMP runtimes read from the environment
// when they load, before main runs:
//
// - OMP_WAIT_POLICY=passive: libgomp's default lets idle threads spin at each
//   barrier; when anything else runs on the machine a spinning thread takes
//   the core its partner needs, and steps with many short parallel regions
//   (UMAP epochs, t-SNE and ForceAtlas2 iterations) ran several times slower
//   (t-SNE 7 s instead of 1 s under load). Sleeping threads cost a few
//   microseconds per region instead.
// - OPENBLAS_THREAD_TIMEOUT=4: after each call OpenBLAS's worker threads
//   poll for the next one with sched_yield for 2^28 cycles (~0.1 s) before
//   they sleep. Between BLAS calls the cores belong to scanpp's own
//   threads, and on 2 cores a polling worker took about a third of one
//   (pp.pca spent a fifth of its CPU time in sched_yield). With 2^4 cycles
//   the workers sleep at once; waking them costs a few microseconds a call.
// - OPENBLAS_CORETYPE: OpenBLAS 0.3.21 (Debian 12) picks its kernels from
//   the CPU model, and on a model it does not know it falls back to old
//   ones: SSE3 "Prescott" kernels on virtualised Xeons that report a generic
//   model, where dgemm/dsyrk ran about 4x slower than the AVX-512 ones the
//   CPU supports. On a CPU with AVX-512 it is SkylakeX: deciding it needs no
//   library loaded, and for float and double those are the kernels of every
//   later AVX-512 core too (Cooperlake and SapphireRapids add bfloat16 ones).
//   Elsewhere it is set from the CPU's features over a detection below them.
//
// The `scanpp` command is a small launcher (apps/scanpp_launcher.cpp) that
// sets these and starts the program proper, which then loads its libraries
// once. The program, and the benchmarks, check them again at start and
// restart themselves once where one is missing (run directly, or where
// OpenBLAS's detection had to be seen to be corrected).
// A user's own value of any of them is always respected.
#include <string>

namespace scanpp::app {

// Sets the variables above that need no library loaded to decide (all but
// a correction of OpenBLAS's detection on CPUs without AVX-512), where the
// user has not; true if it set any.
bool set_runtime_defaults();

// The program's check: set_runtime_defaults, and OPENBLAS_CORETYPE over a
// detection below the CPU's features. Returns only if nothing was set (or
// the restart failed, which costs only speed).
void ensure_runtime_env(char** argv);

// The settings the program runs with, for `scanpp --version`: OpenBLAS's
// kernels, and the two variables' values.
std::string runtime_summary();

}  // namespace scanpp::app
