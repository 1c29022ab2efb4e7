#pragma once
// Settings that the OpenBLAS and OpenMP runtimes read from the environment
// when they load, before main runs, so the command line restarts itself once
// with them set:
//
// - OPENBLAS_CORETYPE: OpenBLAS 0.3.21 (Debian 12) does not recognise some
//   virtualised Xeons (the CPU reports a generic "Intel(R) Xeon(R) Processor"
//   model) and falls back to its SSE3 "Prescott" kernels, which run
//   dgemm/dsyrk about 4x slower than the AVX-512 ones the same CPU supports.
//   It is set from the CPU's own feature flags, only over such a fallback.
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
//
// A user's own value of any of them is always respected.
namespace scanpp::app {

// Returns only if no restart is needed (or it failed, which costs only speed).
void ensure_runtime_env(char** argv);

}  // namespace scanpp::app
