// UMAP's SGD on graphs built to reach the corners of the AVX-512 listing and
// kernel: self-loops, a hub with more in-edges than a vector holds, rows
// whose length is no multiple of 8, weights spanning two orders of
// magnitude (edges due rarely or every epoch), more negative samples per
// edge than one 8-lane vector holds, and none at all. The AVX-512 path must
// give the scalar path's bits, and both the same bits for 1, 2 and 3 threads.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>
#include <vector>

#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/umap_ab.hpp"
#include "scanpp/tl/umap_sgd.hpp"
#include "scanpp/tl/umap_sgd_internal.hpp"

using namespace scanpp;

namespace {

// n vertices; vertex 0 is a hub every other vertex points to; each vertex has
// 3 + (i % 11) further out-edges to pseudo-random vertices, and every
// seventh vertex a self-loop. Weights in (0.01, 1].
SparseMatrix awkward_graph(int64_t n) {
  SparseMatrix g;
  g.n_rows = g.n_cols = n;
  g.indptr.assign(1, 0);
  std::vector<double> w;
  uint64_t s = 88172645463325252ULL;
  auto next = [&] {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  };
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int32_t> cols;
    if (i != 0) cols.push_back(0);
    if (i % 7 == 0) cols.push_back(static_cast<int32_t>(i));
    for (int64_t k = 0; k < 3 + i % 11; ++k) cols.push_back(static_cast<int32_t>(next() % static_cast<uint64_t>(n)));
    std::sort(cols.begin(), cols.end());
    cols.erase(std::unique(cols.begin(), cols.end()), cols.end());
    for (int32_t c : cols) {
      g.indices.push_back(c);
      w.push_back(0.01 + 0.99 * static_cast<double>(next() % 1000) / 999.0);
    }
    g.indptr.push_back(static_cast<int64_t>(g.indices.size()));
  }
  g.data = Array::from_vector(w);
  return g;
}

// The awkward graph with every edge also reversed, each pair's weight the
// larger of the two (as umap-learn's symmetric graphs: both directions equal).
SparseMatrix symmetrized(const SparseMatrix& a) {
  std::map<std::pair<int32_t, int32_t>, double> w;
  const auto v = a.data.as<double>();
  for (int64_t i = 0; i < a.n_rows; ++i)
    for (int64_t e = a.indptr[i]; e < a.indptr[i + 1]; ++e) {
      const int32_t k = a.indices[e], r = static_cast<int32_t>(i);
      for (const auto& key : {std::make_pair(r, k), std::make_pair(k, r)})
        w[key] = std::max(w[key], v[static_cast<size_t>(e)]);
    }
  SparseMatrix g;
  g.n_rows = g.n_cols = a.n_rows;
  g.indptr.assign(static_cast<size_t>(a.n_rows) + 1, 0);
  std::vector<double> vals;
  for (const auto& [key, x] : w) {  // row-major, columns ascending
    ++g.indptr[static_cast<size_t>(key.first) + 1];
    g.indices.push_back(key.second);
    vals.push_back(x);
  }
  for (int64_t i = 0; i < a.n_rows; ++i) g.indptr[i + 1] += g.indptr[i];
  g.data = Array::from_vector(vals);
  return g;
}

std::vector<float> start_positions(int64_t n) {
  std::vector<float> y(static_cast<size_t>(2 * n));
  for (size_t k = 0; k < y.size(); ++k) y[k] = static_cast<float>((k * 2654435761u) % 10007) * 1e-3f;
  return y;
}

std::vector<float> run(const tl::umap_sgd::Graph& g, const tl::umap_sgd::Params& p, tl::umap_sgd::Kernel kernel,
                       int threads) {
  const int before = num_threads();
  set_num_threads(threads);
  std::vector<float> y = start_positions(g.n);
  tl::umap_sgd::optimize(g, p, y, kernel);
  set_num_threads(before);
  return y;
}

int64_t count_differences(const std::vector<float>& a, const std::vector<float>& b) {
  int64_t d = 0;
  for (size_t k = 0; k < a.size(); ++k) d += a[k] != b[k];
  return d;
}

}  // namespace

TEST(UmapSgdTest, AvxPathEqualsScalarPathOnAwkwardGraphs) {
  ASSERT_TRUE(tl::umap_sgd::simd_kernel_available(2)) << "this machine has AVX-512; the SIMD path must be used";
  const int64_t n = 700;  // 2 blocks of 512 vertices, the second partial
  const tl::umap_sgd::Graph g = tl::umap_sgd::make_graph(awkward_graph(n), 40);
  const int64_t hub_in = g.in_ptr[1] - g.in_ptr[0];
  EXPECT_GT(hub_in, 600);  // the hub's in-edges span many 16-lane vectors
  const tl::UmapCurve c = tl::find_ab_params(1.0, 0.1);
  // 13 negative samples per sampled edge: two 8-lane vectors each; 0: none.
  for (int rate : {13, 5, 0}) {
    const tl::umap_sgd::Params p{.a = c.a, .b = c.b, .n_epochs = 40, .dim = 2, .negative_sample_rate = rate,
                                 .seed = 5};
    const std::vector<float> start = start_positions(n);
    const std::vector<float> scalar = run(g, p, tl::umap_sgd::Kernel::Scalar, 1);
    const std::vector<float> simd1 = run(g, p, tl::umap_sgd::Kernel::Auto, 1);
    const std::vector<float> simd2 = run(g, p, tl::umap_sgd::Kernel::Auto, 2);
    const std::vector<float> simd3 = run(g, p, tl::umap_sgd::Kernel::Auto, 3);
    const std::vector<float> scalar2 = run(g, p, tl::umap_sgd::Kernel::Scalar, 2);
    const int64_t moved = count_differences(simd1, start);
    std::printf("[umap_sgd] %d negatives per sample, 40 epochs: %lld of %zu coordinates moved; differ from the "
                "scalar path: %lld (1 thread), %lld (2), %lld (3); scalar 2 vs 1 thread: %lld\n",
                rate, static_cast<long long>(moved), start.size(), static_cast<long long>(count_differences(simd1, scalar)),
                static_cast<long long>(count_differences(simd2, scalar)),
                static_cast<long long>(count_differences(simd3, scalar)),
                static_cast<long long>(count_differences(scalar2, scalar)));
    EXPECT_GT(moved, static_cast<int64_t>(start.size()) * 9 / 10);
    EXPECT_EQ(count_differences(simd1, scalar), 0);
    EXPECT_EQ(count_differences(simd2, scalar), 0);
    EXPECT_EQ(count_differences(simd3, scalar), 0);
    EXPECT_EQ(count_differences(scalar2, scalar), 0);
  }
}

TEST(UmapSgdTest, ThreeDimensionsUseTheAvxListingWithTheScalarKernel) {
  const tl::umap_sgd::Graph g = tl::umap_sgd::make_graph(awkward_graph(600), 20);
  const tl::UmapCurve c = tl::find_ab_params(1.0, 0.5);
  const tl::umap_sgd::Params p{.a = c.a, .b = c.b, .n_epochs = 20, .dim = 3, .seed = 4};
  std::vector<float> start(static_cast<size_t>(3 * g.n));
  for (size_t k = 0; k < start.size(); ++k) start[k] = static_cast<float>((k * 2654435761u) % 10007) * 1e-3f;
  std::vector<float> simd = start, scalar = start;
  tl::umap_sgd::optimize(g, p, simd, tl::umap_sgd::Kernel::Auto);
  tl::umap_sgd::optimize(g, p, scalar, tl::umap_sgd::Kernel::Scalar);
  EXPECT_GT(count_differences(simd, start), static_cast<int64_t>(start.size()) * 9 / 10);
  EXPECT_EQ(count_differences(simd, scalar), 0);
}

TEST(UmapSgdTest, NegativeSamplesChangeTheLayout) {
  // The repulsion is really applied: without negative samples the layout
  // differs, and a different seed gives different negative samples.
  const tl::umap_sgd::Graph g = tl::umap_sgd::make_graph(awkward_graph(300), 30);
  const tl::UmapCurve c = tl::find_ab_params(1.0, 0.5);
  const tl::umap_sgd::Params with{.a = c.a, .b = c.b, .n_epochs = 30, .dim = 2, .seed = 1};
  tl::umap_sgd::Params without = with, other_seed = with;
  without.negative_sample_rate = 0;
  other_seed.seed = 2;
  const std::vector<float> a = run(g, with, tl::umap_sgd::Kernel::Auto, 2);
  EXPECT_GT(count_differences(a, run(g, without, tl::umap_sgd::Kernel::Auto, 2)), 500);
  EXPECT_GT(count_differences(a, run(g, other_seed, tl::umap_sgd::Kernel::Auto, 2)), 500);
}

TEST(UmapSgdTest, RunsInsideAnotherParallelRegion) {
  // Called from the threads of an outer region (where the inner region gets
  // fewer threads than asked for), each call finishes with the usual bits.
  const tl::umap_sgd::Graph g = tl::umap_sgd::make_graph(awkward_graph(700), 20);
  const tl::UmapCurve c = tl::find_ab_params(1.0, 0.5);
  const tl::umap_sgd::Params p{.a = c.a, .b = c.b, .n_epochs = 20, .dim = 2, .seed = 9};
  const std::vector<float> expected = run(g, p, tl::umap_sgd::Kernel::Auto, 2);
  std::vector<float> inner[2];
#pragma omp parallel num_threads(2)
  {
    std::vector<float> y = start_positions(g.n);
    tl::umap_sgd::optimize(g, p, y);
    inner[omp_get_thread_num()] = std::move(y);
  }
  EXPECT_EQ(count_differences(inner[0], expected), 0);
  EXPECT_EQ(count_differences(inner[1], expected), 0);
}

TEST(UmapSgdTest, MoreThreadsThanCoresTakeEachOthersBlocksWithTheSameBits) {
  // Each thread runs and lists its own share of the vertices and takes the
  // others' remaining blocks when done; with more threads than cores, threads
  // are preempted mid-epoch and their blocks taken by others. Every block
  // must still be run and listed exactly once an epoch.
  const int64_t n = 3000;  // 6 threads' shares of 500 vertices, 2 threads' of 3 blocks each
  const tl::umap_sgd::Graph g = tl::umap_sgd::make_graph(awkward_graph(n), 30);
  const tl::UmapCurve c = tl::find_ab_params(1.0, 0.5);
  const tl::umap_sgd::Params p{.a = c.a, .b = c.b, .n_epochs = 30, .dim = 2, .seed = 3};
  const std::vector<float> one = run(g, p, tl::umap_sgd::Kernel::Auto, 1);
  EXPECT_GT(count_differences(one, start_positions(n)), n * 2 * 9 / 10);
  for (int threads : {2, 6, 2, 6}) EXPECT_EQ(count_differences(run(g, p, tl::umap_sgd::Kernel::Auto, threads), one), 0);
  EXPECT_EQ(count_differences(run(g, p, tl::umap_sgd::Kernel::Scalar, 6), one), 0);
}

TEST(UmapSgdTest, SymmetricGraphsListInEdgesFromTheirRowsWithTheSameBits) {
  // On a symmetric graph (umap-learn's), the AVX-512 listing takes a vertex's
  // due in-edges from its own row's due flags instead of gathering them.
  const int64_t n = 700;
  const SparseMatrix sym = symmetrized(awkward_graph(n));
  const tl::umap_sgd::Graph g = tl::umap_sgd::make_graph(sym, 40);
  EXPECT_TRUE(tl::umap_sgd::detail::in_lists_mirror_rows(g));
  EXPECT_FALSE(tl::umap_sgd::detail::in_lists_mirror_rows(tl::umap_sgd::make_graph(awkward_graph(n), 40)));
  SparseMatrix skewed = sym;  // the same pattern, one direction's weight changed
  skewed.data.as<double>()[3] *= 0.5;
  EXPECT_FALSE(tl::umap_sgd::detail::in_lists_mirror_rows(tl::umap_sgd::make_graph(skewed, 40)));
  const tl::UmapCurve c = tl::find_ab_params(1.0, 0.1);
  for (int rate : {5, 13}) {
    const tl::umap_sgd::Params p{.a = c.a, .b = c.b, .n_epochs = 40, .dim = 2, .negative_sample_rate = rate,
                                 .seed = 8};
    const std::vector<float> scalar = run(g, p, tl::umap_sgd::Kernel::Scalar, 1);
    EXPECT_GT(count_differences(scalar, start_positions(n)), n * 2 * 9 / 10);
    for (int threads : {1, 2, 3}) EXPECT_EQ(count_differences(run(g, p, tl::umap_sgd::Kernel::Auto, threads), scalar), 0);
  }
}
