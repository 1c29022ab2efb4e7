// Gathering gene blocks from CSR, CSC or dense storage.
#include "scanpp/tl/rank_genes_groups_columns.hpp"

#include <algorithm>

#include "scanpp/core/error.hpp"

namespace scanpp::tl::detail {

namespace {

bool is_numeric(DType t) { return t != DType::Bool; }

template <class T>
double as_double(T v) {
  return static_cast<double>(v);
}

}  // namespace

ColumnSource::ColumnSource(const Element& x) {
  if (x.is<SparseMatrix>()) {
    sparse_ = &x.get<SparseMatrix>();
    n_cells_ = sparse_->n_rows;
    n_genes_ = sparse_->n_cols;
    if (!is_numeric(sparse_->dtype())) throw ValueError("rank_genes_groups: the matrix must be numeric");
    float32_ = sparse_->dtype() == DType::Float32;
    if (sparse_->format == SparseFormat::CSR) {
      // Rows with unsorted indices cannot be cut by binary search; scan them whole.
      for (int64_t i = 0; i < sparse_->n_rows && sorted_; ++i)
        for (int64_t k = sparse_->indptr[i] + 1; k < sparse_->indptr[i + 1]; ++k)
          if (sparse_->indices[k - 1] > sparse_->indices[k]) {
            sorted_ = false;
            break;
          }
    }
    if (sparse_->format == SparseFormat::CSR && sorted_) index_blocks();
  } else if (x.is<Array>() && x.get<Array>().ndim() == 2) {
    dense_ = &x.get<Array>();
    n_cells_ = dense_->shape()[0];
    n_genes_ = dense_->shape()[1];
    if (!is_numeric(dense_->dtype())) throw ValueError("rank_genes_groups: the matrix must be numeric");
    float32_ = dense_->dtype() == DType::Float32;
  } else {
    throw ValueError("rank_genes_groups: the matrix must be a 2-D array or a sparse matrix");
  }
}

void ColumnSource::index_blocks() {
  const SparseMatrix& m = *sparse_;
  const int64_t bs = block_size();
  n_blocks_ = (n_genes_ + bs - 1) / bs;
  col_start_.assign(static_cast<size_t>(n_genes_ + 1), 0);
  cuts_.assign(static_cast<size_t>(m.n_rows * (n_blocks_ + 1)), 0);
  dispatch_dtype(m.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (!std::is_same_v<T, Bool8>) {
      const T* data = m.data.as<T>().data();
      for (int64_t i = 0; i < m.n_rows; ++i) {
        int64_t* cut = cuts_.data() + i * (n_blocks_ + 1);
        int64_t blk = 0;
        for (int64_t k = m.indptr[i]; k < m.indptr[i + 1]; ++k) {
          const int64_t j = m.indices[k];
          while (blk < n_blocks_ && j >= blk * bs) cut[blk++] = k;
          if (data[k] != T(0)) ++col_start_[static_cast<size_t>(j + 1)];
        }
        while (blk <= n_blocks_) cut[blk++] = m.indptr[i + 1];
      }
    }
  });
  for (int64_t j = 0; j < n_genes_; ++j) col_start_[j + 1] += col_start_[j];
}

void ColumnSource::extract(int64_t a, int64_t b, ColumnBlock& out) const {
  const int64_t ng = b - a;
  out.first = a;
  out.ptr.assign(static_cast<size_t>(ng + 1), 0);
  out.cells.clear();
  out.values.clear();
  if (dense_) {
    dispatch_dtype(dense_->dtype(), [&](auto t) {
      using T = decltype(t);
      if constexpr (!std::is_same_v<T, Bool8>) {
        const T* v = dense_->as<T>().data();
        // Count first so that each gene's entries land contiguously in cell order.
        for (int64_t i = 0; i < n_cells_; ++i) {
          const T* row = v + i * n_genes_;
          for (int64_t j = a; j < b; ++j)
            if (row[j] != T(0)) ++out.ptr[static_cast<size_t>(j - a + 1)];
        }
        for (int64_t j = 0; j < ng; ++j) out.ptr[j + 1] += out.ptr[j];
        out.cells.resize(static_cast<size_t>(out.ptr[ng]));
        out.values.resize(static_cast<size_t>(out.ptr[ng]));
        std::vector<int64_t> pos(out.ptr.begin(), out.ptr.end() - 1);
        for (int64_t i = 0; i < n_cells_; ++i) {
          const T* row = v + i * n_genes_;
          for (int64_t j = a; j < b; ++j)
            if (row[j] != T(0)) {
              const int64_t p = pos[j - a]++;
              out.cells[p] = static_cast<int32_t>(i);
              out.values[p] = as_double(row[j]);
            }
        }
      }
    });
    return;
  }
  const SparseMatrix& m = *sparse_;
  dispatch_dtype(m.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (!std::is_same_v<T, Bool8>) {
      const T* data = m.data.as<T>().data();
      const int32_t* idx = m.indices.data();
      if (m.format == SparseFormat::CSC) {
        // Entries of a column may be unsorted by row; sort each gene's pairs.
        for (int64_t j = a; j < b; ++j) {
          const int64_t s = m.indptr[j], e = m.indptr[j + 1];
          std::vector<std::pair<int32_t, double>> col;
          col.reserve(static_cast<size_t>(e - s));
          for (int64_t k = s; k < e; ++k)
            if (data[k] != T(0)) col.emplace_back(idx[k], as_double(data[k]));
          std::sort(col.begin(), col.end(), [](auto& l, auto& r) { return l.first < r.first; });
          for (auto& [c, v] : col) {
            out.cells.push_back(c);
            out.values.push_back(v);
          }
          out.ptr[j - a + 1] = static_cast<int64_t>(out.cells.size());
        }
        return;
      }
      const int64_t bs = block_size();
      if (!cuts_.empty() && a % bs == 0 && b == std::min(a + bs, n_genes_)) {
        // A whole block: sizes are known, one pass over the rows' block segments.
        const int64_t blk = a / bs;
        for (int64_t j = 0; j <= ng; ++j) out.ptr[j] = col_start_[a + j] - col_start_[a];
        out.cells.resize(static_cast<size_t>(out.ptr[ng]));
        out.values.resize(static_cast<size_t>(out.ptr[ng]));
        std::vector<int64_t> pos(out.ptr.begin(), out.ptr.end() - 1);
        for (int64_t i = 0; i < m.n_rows; ++i) {
          const int64_t* cut = cuts_.data() + i * (n_blocks_ + 1);
          for (int64_t k = cut[blk]; k < cut[blk + 1]; ++k)
            if (data[k] != T(0)) {
              const int64_t p = pos[idx[k] - a]++;
              out.cells[p] = static_cast<int32_t>(i);
              out.values[p] = as_double(data[k]);
            }
        }
        return;
      }
      // CSR: the part of each row inside [a, b), located by binary search.
      auto row_range = [&](int64_t i) {
        const int32_t* s = idx + m.indptr[i];
        const int32_t* e = idx + m.indptr[i + 1];
        if (!sorted_) return std::pair<int64_t, int64_t>(s - idx, e - idx);
        const int32_t* lo = std::lower_bound(s, e, static_cast<int32_t>(a));
        const int32_t* hi = std::lower_bound(lo, e, static_cast<int32_t>(b));
        return std::pair<int64_t, int64_t>(lo - idx, hi - idx);
      };
      for (int64_t i = 0; i < m.n_rows; ++i) {
        auto [s, e] = row_range(i);
        for (int64_t k = s; k < e; ++k)
          if (idx[k] >= a && idx[k] < b && data[k] != T(0)) ++out.ptr[static_cast<size_t>(idx[k] - a + 1)];
      }
      for (int64_t j = 0; j < ng; ++j) out.ptr[j + 1] += out.ptr[j];
      out.cells.resize(static_cast<size_t>(out.ptr[ng]));
      out.values.resize(static_cast<size_t>(out.ptr[ng]));
      std::vector<int64_t> pos(out.ptr.begin(), out.ptr.end() - 1);
      for (int64_t i = 0; i < m.n_rows; ++i) {
        auto [s, e] = row_range(i);
        for (int64_t k = s; k < e; ++k)
          if (idx[k] >= a && idx[k] < b && data[k] != T(0)) {
            const int64_t p = pos[idx[k] - a]++;
            out.cells[p] = static_cast<int32_t>(i);
            out.values[p] = as_double(data[k]);
          }
      }
    }
  });
}

void ColumnSource::extract_keys(int64_t a, int64_t b, std::span<const int32_t> group, KeyBlock& out,
                                ColumnBlock& scratch) const {
  if (!float32_) throw ValueError("rank_genes_groups: packed keys need float32 data");
  const int64_t ng = b - a;
  const int64_t bs = block_size();
  if (sparse_ && sparse_->format == SparseFormat::CSR && !cuts_.empty() && a % bs == 0 &&
      b == std::min(a + bs, n_genes_)) {
    // A whole block of a CSR matrix: sizes known, one pass over the rows' block segments.
    const SparseMatrix& m = *sparse_;
    const float* data = m.data.as<float>().data();
    const int32_t* idx = m.indices.data();
    const int64_t blk = a / bs;
    out.ptr.resize(static_cast<size_t>(ng + 1));
    for (int64_t j = 0; j <= ng; ++j) out.ptr[j] = col_start_[a + j] - col_start_[a];
    out.keys.resize(static_cast<size_t>(out.ptr[ng]));
    std::vector<int64_t> pos(out.ptr.begin(), out.ptr.end() - 1);
    for (int64_t i = 0; i < m.n_rows; ++i) {
      const int64_t* cut = cuts_.data() + i * (n_blocks_ + 1);
      const int32_t g = group[static_cast<size_t>(i)];
      for (int64_t k = cut[blk]; k < cut[blk + 1]; ++k)
        if (data[k] != 0.0f) out.keys[pos[idx[k] - a]++] = pack_key(data[k], g);
    }
    return;
  }
  extract(a, b, scratch);
  out.ptr = scratch.ptr;
  out.keys.resize(scratch.values.size());
  for (size_t e = 0; e < scratch.values.size(); ++e)
    out.keys[e] = pack_key(static_cast<float>(scratch.values[e]), group[static_cast<size_t>(scratch.cells[e])]);
}

}  // namespace scanpp::tl::detail
