#pragma once
// Internal helpers shared by the pp kernels: uniform row access to CSR and
// dense matrices of any dtype, warnings, and per-column accumulation in
// fixed row blocks so that results never depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/element.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/core/sparse.hpp"

namespace scanpp::pp::detail {

// Scanpy's UserWarnings go to stderr, one line each.
inline void warn(const std::string& msg) { std::cerr << "scanpp warning: " << msg << "\n"; }

template <class T>
struct CsrRows {
  using value_type = T;
  static constexpr bool sparse = true;
  const int64_t* indptr;
  const int32_t* indices;
  const T* data;
  int64_t n_rows, n_cols;
  template <class F>
  void row(int64_t r, F&& f) const {
    for (int64_t k = indptr[r]; k < indptr[r + 1]; ++k) f(static_cast<int64_t>(indices[k]), data[k]);
  }
};

template <class T>
struct DenseRows {
  using value_type = T;
  static constexpr bool sparse = false;
  const T* data;
  int64_t n_rows, n_cols;
  template <class F>
  void row(int64_t r, F&& f) const {
    const T* p = data + r * n_cols;
    for (int64_t c = 0; c < n_cols; ++c) f(c, p[c]);
  }
};

// One row as plain arrays, for loops that want the values without a callback:
// x[k] is the k-th stored value (all n_cols values of a dense row) and
// col(k) its column.
template <class T>
struct RowRef {
  const T* x;
  const int32_t* idx;  // nullptr for a dense row: the column is k
  int64_t len;
  int64_t col(int64_t k) const { return idx ? static_cast<int64_t>(idx[k]) : k; }
};
template <class T>
RowRef<T> row_ref(const CsrRows<T>& v, int64_t r) {
  const int64_t a = v.indptr[r];
  return {v.data + a, v.indices + a, v.indptr[r + 1] - a};
}
template <class T>
RowRef<T> row_ref(const DenseRows<T>& v, int64_t r) {
  return {v.data + r * v.n_cols, nullptr, v.n_cols};
}

template <class F>
decltype(auto) with_csr_rows(const SparseMatrix& m, F&& f) {
  return dispatch_dtype(m.dtype(), [&](auto t) -> decltype(auto) {
    using T = decltype(t);
    CsrRows<T> v{m.indptr.data(), m.indices.data(), m.data.template as<T>().data(), m.n_rows, m.n_cols};
    return f(v);
  });
}

// Calls f(rows) with a CsrRows<T> view of a CSR matrix. A CSC matrix is first
// converted to CSR (a temporary copy of the same size; never densified).
template <class F>
decltype(auto) with_rows(const SparseMatrix& m, F&& f) {
  if (m.format == SparseFormat::CSC) {
    const SparseMatrix csr = convert_format(m, SparseFormat::CSR);
    return with_csr_rows(csr, std::forward<F>(f));
  }
  return with_csr_rows(m, std::forward<F>(f));
}

template <class F>
decltype(auto) with_rows(const Array& a, F&& f) {
  if (a.ndim() != 2) throw ValueError("expected a 2-D matrix, got an array with " + std::to_string(a.ndim()) + " dimensions");
  return dispatch_dtype(a.dtype(), [&](auto t) -> decltype(auto) {
    using T = decltype(t);
    DenseRows<T> v{a.template as<T>().data(), a.shape()[0], a.shape()[1]};
    return f(v);
  });
}

template <class F>
decltype(auto) with_rows(const Element& e, F&& f) {
  if (e.is<SparseMatrix>()) return with_rows(e.get<SparseMatrix>(), std::forward<F>(f));
  if (e.is<Array>()) return with_rows(e.get<Array>(), std::forward<F>(f));
  throw ValueError(std::string("expected a dense or sparse matrix, got ") + e.kind());
}

// Rows per block: a function of the row count only (at most 64 blocks).
inline int64_t row_block_size(int64_t n) { return std::max<int64_t>(1024, (n + 63) / 64); }

// Rows per block for per-column sums that are exact in any order (integer
// counts): as row_block_size, but at least four blocks down to 256 rows, so
// that a few thousand cells do not make three blocks for two threads (one
// thread then does two thirds of the work). Any grouping gives these sums'
// bits, so this still does not depend on the thread count.
inline int64_t exact_sum_block_size(int64_t n) {
  return std::min(row_block_size(n), std::max<int64_t>(256, (n + 3) / 4));
}

// Per-column accumulation: acc(col, value, Slot* slots) adds into
// slots[col * k + j]. Blocks of rows fill private partials which are summed
// (as Total) in block order, so 1 or N threads give identical bits. `rows`
// selects a subset of rows (all when empty). Integer slots suit counts.
// `block` overrides row_block_size(n) where the sums are exact in any order
// (exact_sum_block_size).
template <class Slot = double, class Total = Slot, class Rows, class Acc>
std::vector<Total> column_accumulate(const Rows& v, int k, std::span<const int64_t> rows, Acc&& acc,
                                     int64_t block = 0) {
  const bool all = rows.empty();
  const int64_t n = all ? v.n_rows : static_cast<int64_t>(rows.size());
  const size_t width = static_cast<size_t>(v.n_cols) * static_cast<size_t>(k);
  if (block <= 0) block = row_block_size(n);
  const int64_t nblocks = n == 0 ? 0 : (n + block - 1) / block;
  std::vector<std::vector<Slot>> parts(static_cast<size_t>(nblocks));
  parallel_blocks(n, block, [&](int64_t a, int64_t b) {
    std::vector<Slot> slots(width, Slot{0});
    for (int64_t i = a; i < b; ++i) {
      const int64_t r = all ? i : rows[static_cast<size_t>(i)];
      v.row(r, [&](int64_t c, auto x) { acc(c, x, slots.data()); });
    }
    parts[static_cast<size_t>(a / block)] = std::move(slots);
  });
  std::vector<Total> out(width, Total{0});
  for (const auto& p : parts)
    for (size_t j = 0; j < width; ++j) out[j] += p[j];
  return out;
}

// numpy's value of a sum: float32 for float32 data, float64 for float64,
// int64 for signed integers and bools, uint64 for unsigned integers.
inline DType sum_dtype(DType t) {
  switch (t) {
    case DType::Float32: return DType::Float32;
    case DType::Float64: return DType::Float64;
    case DType::UInt8: case DType::UInt16: case DType::UInt32: case DType::UInt64: return DType::UInt64;
    default: return DType::Int64;
  }
}

template <class T>
constexpr DType sum_dtype_of() {
  return sum_dtype(dtype_of<T>());
}

// A double accumulator rounded to what a sum in T's sum dtype would hold
// (float32 totals for float32 data).
template <class T>
inline double round_to(double s) {
  if constexpr (std::is_same_v<T, float>) return static_cast<double>(static_cast<float>(s));
  else return s;
}

// A 1-D array of dtype `t` holding `v` (converted as numpy's astype would).
inline Array array_of(const std::vector<double>& v, DType t) { return Array::from_vector(v).astype(t); }

// The matrix (X or a layer) that Scanpy's `layer=` selects.
inline Element& obs_rep(AnnData& a, const std::optional<std::string>& layer, const char* fn) {
  if (layer) {
    auto it = a.layers.find(*layer);
    if (it == a.layers.end()) throw KeyError(std::string(fn) + ": layer '" + *layer + "' not found in adata.layers");
    return it->second;
  }
  if (!a.X) throw ValueError(std::string(fn) + ": adata.X is empty");
  return *a.X;
}

}  // namespace scanpp::pp::detail
