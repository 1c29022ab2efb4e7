#pragma once
// The two sparse passes of each logistic-regression evaluation
// (rank_genes_groups_logreg.cpp): the margins X·W (rows of X against the
// coefficient rows of W) and the gradient Xᵀ·R (columns of X against the
// residual rows of R). Both are the same gather: every output row is a sum
// over one compressed row of the matrix of value × a row of M, all the
// classes of one row of M in one vector of float lanes.
#include <cstdint>
#include <vector>

#include "scanpp/core/sparse.hpp"

namespace scanpp::tl::detail {

// One orientation of the design matrix (compressed rows), values as float,
// each entry's column as the offset of its row in M (column x lanes).
//
// Tiled (logreg_tile), the entries are ordered by block of tile_rows rows,
// then band of columns, then row: the gather takes a block's rows one band
// at a time, so that the M rows it fetches at random stay in L1.
struct LogregRows {
  int64_t n_rows = 0, n_cols = 0;
  std::vector<int64_t> ptr;  // n_rows + 1; row r's entries when untiled
  std::vector<int32_t> off;
  std::vector<float> val;
  int64_t tile_rows = 0, n_bands = 1;
  // Tiled: the entries of row r (in the block starting at rb0, of nr rows)
  // and band b are [seg[i], seg[i + 1]), i = rb0·n_bands + b·nr + (r - rb0).
  std::vector<int64_t> seg;
};

// X's rows and the rows of Xᵀ (a CSR or CSC matrix of any numeric dtype,
// values rounded to float), untiled, with offsets for rows of `lanes`.
// ValueError when the offsets would not fit in 32 bits.
struct LogregDesign {
  LogregRows rows, cols;  // cols: the rows of Xᵀ
};
LogregDesign logreg_design(const SparseMatrix& m, int lanes);

// The row stride M and the output are padded to for k classes: 4, 8, or a
// multiple of 16 (one AVX-512 register of floats per 16 classes).
int logreg_lanes(int k);

// Tiles x (when its columns need more than one band) for M rows of `lanes`
// floats.
void logreg_tile(LogregRows& x, int64_t tile_rows, int lanes);

// out[(r - r0)·lanes + l] = Σ_e val[e] · m[off[e] + l] for the rows r in
// [r0, r1) of x and every lane l < lanes (= logreg_lanes of some k), the
// padding lanes of m zero. Products and the sums of runs of at most 64
// entries (of one band) are float; the runs' sums are added in double.
// The order is fixed, so any split of the rows (threads) gives the same bits.
// Tiled, r0 and r1 must be multiples of tile_rows (or r1 = n_rows).
void logreg_gather(const LogregRows& x, int64_t r0, int64_t r1, const float* m, int lanes, double* out);

}  // namespace scanpp::tl::detail
