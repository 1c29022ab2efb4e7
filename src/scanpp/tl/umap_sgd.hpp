#pragma once
// UMAP's layout optimisation: umap-learn 0.5's SGD schedule (edges sampled
// in proportion to their weight, negative_sample_rate repulsive samples per
// positive sample, learning rate decaying linearly) on the pruned graph.
//
// Reproducible in parallel: umap-learn's parallel mode lets threads overwrite
// each other's positions ("Hogwild"), so its result depends on timing. Here
// an epoch reads the positions of the previous epoch and every vertex
// computes its own new position sequentially from that snapshot: the
// attraction along each due edge it heads or is the tail of (umap-learn
// moves both ends of a sample), and after each edge it heads, that edge's
// negative samples, drawn from counter-based streams keyed by (seed, epoch,
// edge). A vertex's update depends only on the snapshot, so the result is
// bit-identical for any thread count.
//
// Each epoch first lists every vertex's updates (target vertex, attraction or
// repulsion), then runs them. The lists do not depend on positions, so the
// next epoch's are made in the same phase as this epoch's updates (one
// parallel region for all epochs, one barrier per epoch); each thread lists
// and runs its own share of the vertices, and takes the others' remaining
// blocks when it is done. With
// AVX-512 the listing hashes 8 negative samples at once and the kernel
// advances 32 vertices at once, one per SIMD lane in two interleaved groups
// (the chain of dependent operations of one vertex is long; many chains in
// flight hide its latency). Both compute exactly what the scalar code
// computes (same operations in the same order, fused multiply-adds on both
// paths), so the two paths give identical bits.
// pow(d², b) is computed by polynomial log2 / exp2 in single precision
// (relative error below 1e-6): the embedding is float32, as in umap-learn.
#include <cstdint>
#include <vector>

#include "scanpp/core/sparse.hpp"

namespace scanpp::tl::umap_sgd {

// The graph as the SGD reads it: CSR rows are heads, with both directed
// copies of every undirected edge; each vertex's in-edges in edge order.
struct Graph {
  int64_t n = 0;
  std::vector<int64_t> indptr;
  std::vector<int32_t> tail;
  std::vector<double> epochs_per_sample;
  std::vector<int64_t> in_ptr;
  std::vector<int64_t> in_edge;  // edge ids (head rows ascending) whose tail is the vertex
  std::vector<int32_t> in_head;  // the head of each in_edge entry
};

// pruned: square CSR with sorted columns and positive weights (umap-learn's
// pruned graph). Epochs per sample as umap-learn's make_epochs_per_sample.
Graph make_graph(const SparseMatrix& pruned, int n_epochs);

struct Params {
  double a = 0, b = 0, gamma = 1, alpha0 = 1;
  int n_epochs = 0, dim = 2, negative_sample_rate = 5;
  uint64_t seed = 0;
};

enum class Kernel {
  Auto,    // where the CPU has AVX-512: the AVX-512 listing, and the AVX-512 kernel for 2-D layouts
  Scalar,  // always the scalar listing and kernel (the reference the tests compare with)
};

// Whether Kernel::Auto runs the AVX-512 kernel for a layout of `dim` dimensions.
bool simd_kernel_available(int dim);

// Runs all epochs on y (n x dim, row-major), in place.
void optimize(const Graph& g, const Params& p, std::vector<float>& y, Kernel kernel = Kernel::Auto);

}  // namespace scanpp::tl::umap_sgd
