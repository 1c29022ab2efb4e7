#pragma once
// Helpers for the backed (row-block) tests: PBMC 3k written to a temporary
// .h5ad, frame comparison bit for bit, and a thread-count guard.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "golden_support.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/core/row_blocks.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/io/npy.hpp"
#include "scanpp/io/read_10x_mtx.hpp"
#include "scanpp/pp/pca.hpp"
#include "test_paths.hpp"

namespace backed_test {

using namespace scanpp;

inline void add_mt(AnnData& a) {
  std::vector<Bool8> mt;
  for (const auto& g : a.var_names()) mt.push_back(Bool8(g.rfind("MT-", 0) == 0));
  a.var.set("mt", Array::from_vector(mt));
}

// The raw 10x PBMC 3k (2,700 x 32,738 float32 CSR) with var['mt'].
inline AnnData pbmc3k_raw() {
  AnnData a = io::read_10x_mtx(golden::shared("data/pbmc3k/filtered_gene_bc_matrices/hg19"));
  add_mt(a);
  return a;
}

// Every column of `got` equals the same-named column of `want` bit for bit
// (same dtype, same bytes), and the column sets agree.
inline void expect_same_frame(const DataFrame& got, const DataFrame& want, const std::string& what) {
  EXPECT_EQ(got.column_names(), want.column_names()) << what;
  EXPECT_EQ(got.index(), want.index()) << what;
  for (const auto& [name, col] : want.columns()) {
    if (!got.has(name)) continue;
    EXPECT_TRUE(got.at(name) == col) << what << ": column " << name << " differs";
  }
}

using scanpp::testing::file_bytes;

// Restores the thread count when the test ends.
struct Threads {
  int saved = num_threads();
  explicit Threads(int n) { set_num_threads(n); }
  ~Threads() { set_num_threads(saved); }
};

// Streaming vs reference: the first 10 score columns (sign included) and
// the variance ratios of all components.
inline void expect_close_pca(const pp::PcaResult& got, const pp::PcaResult& want, const std::string& what) {
  ASSERT_EQ(got.scores.cols(), want.scores.cols());
  double min_r = 1;
  for (int64_t c = 0; c < 10; ++c)
    min_r = std::min(min_r, golden::column_correlation(got.scores, c, want.scores, c));
  EXPECT_GE(min_r, 0.9999) << what;
  const double dv = golden::max_rel_dev(golden::as_doubles(got.variance_ratio), golden::as_doubles(want.variance_ratio));
  EXPECT_LT(dv, 1e-4) << what;
  std::printf("  %s: PCs 1-10 min r %.10f, variance_ratio max rel dev %.2e\n", what.c_str(), min_r, dv);
}

inline const Array& x_scaled() {
  static const Array X = io::read_npy(golden::shared("golden/pbmc3k/X_scaled.npy"));
  return X;
}

}  // namespace backed_test
