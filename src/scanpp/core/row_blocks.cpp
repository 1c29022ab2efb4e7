#include "scanpp/core/row_blocks.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "scanpp/core/error.hpp"

namespace scanpp {

int64_t block_rows_for(const RowBlockSource& src, const RowBlockOptions& o) {
  if (o.block_rows > 0) return o.block_rows;
  if (o.budget_bytes <= 0) throw ValueError("row blocks: budget_bytes must be positive");
  const int64_t n = std::max<int64_t>(src.n_obs(), 1);
  // A stored value costs its dtype plus, when sparse, a 4-byte column index.
  const double per_value = static_cast<double>(dtype_size(src.dtype())) + (src.is_sparse() ? 4.0 : 0.0);
  const double bytes_per_row =
      std::max(1.0, per_value * static_cast<double>(src.n_stored()) / static_cast<double>(n) + 8.0);
  const double rows = static_cast<double>(o.budget_bytes) / bytes_per_row;
  return std::clamp<int64_t>(static_cast<int64_t>(rows), 1, n);
}

SparseMatrix csr_row_range(const SparseMatrix& m, int64_t start, int64_t end) {
  if (m.format != SparseFormat::CSR) throw ValueError("csr_row_range: the matrix is not CSR");
  if (start < 0 || end > m.n_rows || start > end)
    throw ValueError("row range [" + std::to_string(start) + ", " + std::to_string(end) + ") out of bounds");
  const int64_t a = m.indptr[static_cast<size_t>(start)], b = m.indptr[static_cast<size_t>(end)];
  SparseMatrix out;
  out.n_rows = end - start;
  out.n_cols = m.n_cols;
  out.indices.assign(m.indices.begin() + a, m.indices.begin() + b);
  out.indptr.resize(static_cast<size_t>(out.n_rows) + 1);
  for (int64_t i = 0; i <= out.n_rows; ++i) out.indptr[static_cast<size_t>(i)] = m.indptr[static_cast<size_t>(start + i)] - a;
  out.data = Array(m.dtype(), {b - a});
  const size_t es = dtype_size(m.dtype());
  if (b > a)
    std::memcpy(out.data.raw(), static_cast<const std::byte*>(m.data.raw()) + static_cast<size_t>(a) * es,
                static_cast<size_t>(b - a) * es);
  return out;
}

// ---- MatrixRowSource ----

MatrixRowSource::MatrixRowSource(const SparseMatrix& x) {
  if (x.format == SparseFormat::CSC) {
    converted_ = convert_format(x, SparseFormat::CSR);
    csr_ = &*converted_;
  } else {
    csr_ = &x;
  }
  n_obs_ = x.n_rows;
  n_vars_ = x.n_cols;
}

MatrixRowSource::MatrixRowSource(const Array& x) : dense_(&x) {
  if (x.ndim() != 2) throw ValueError("row blocks: expected a 2-D matrix, got " + std::to_string(x.ndim()) + " dimensions");
  n_obs_ = x.shape()[0];
  n_vars_ = x.shape()[1];
}

MatrixRowSource::MatrixRowSource(const Element& x) {
  if (x.is<SparseMatrix>()) *this = MatrixRowSource(x.get<SparseMatrix>());
  else if (x.is<Array>()) *this = MatrixRowSource(x.get<Array>());
  else throw ValueError(std::string("row blocks: expected a dense or sparse matrix, got ") + x.kind());
  // A converted CSC copy moved along with *this: point at our own member.
  if (converted_) csr_ = &*converted_;
}

DType MatrixRowSource::dtype() const { return csr_ ? csr_->dtype() : dense_->dtype(); }

int64_t MatrixRowSource::n_stored() const { return csr_ ? csr_->nnz() : n_obs_ * n_vars_; }

Element MatrixRowSource::read_rows(int64_t start, int64_t end) const {
  if (start < 0 || end > n_obs_ || start > end)
    throw ValueError("row range [" + std::to_string(start) + ", " + std::to_string(end) + ") out of bounds");
  if (csr_) return csr_row_range(*csr_, start, end);
  Array out(dense_->dtype(), {end - start, n_vars_});
  const size_t row_bytes = static_cast<size_t>(n_vars_) * dtype_size(dense_->dtype());
  if (end > start)
    std::memcpy(out.raw(), static_cast<const std::byte*>(dense_->raw()) + static_cast<size_t>(start) * row_bytes,
                static_cast<size_t>(end - start) * row_bytes);
  return out;
}

// ---- SubsetRowSource ----

namespace {
void check_increasing(const std::vector<int64_t>& v, int64_t n, const char* what) {
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] < 0 || v[i] >= n || (i > 0 && v[i] <= v[i - 1]))
      throw ValueError(std::string("row blocks: ") + what + " indices must be increasing and within [0, " +
                       std::to_string(n) + ")");
}
}  // namespace

SubsetRowSource::SubsetRowSource(std::shared_ptr<const RowBlockSource> base, std::optional<std::vector<int64_t>> rows,
                                 std::optional<std::vector<int64_t>> cols)
    : base_(std::move(base)), rows_(std::move(rows)), cols_(std::move(cols)) {
  if (rows_) check_increasing(*rows_, base_->n_obs(), "row");
  if (cols_) check_increasing(*cols_, base_->n_vars(), "column");
}

int64_t SubsetRowSource::n_obs() const { return rows_ ? static_cast<int64_t>(rows_->size()) : base_->n_obs(); }
int64_t SubsetRowSource::n_vars() const { return cols_ ? static_cast<int64_t>(cols_->size()) : base_->n_vars(); }

int64_t SubsetRowSource::n_stored() const {
  // Proportional estimate: only used to size blocks.
  const double fr = base_->n_obs() ? static_cast<double>(n_obs()) / static_cast<double>(base_->n_obs()) : 0.0;
  const double fc = base_->n_vars() ? static_cast<double>(n_vars()) / static_cast<double>(base_->n_vars()) : 0.0;
  return static_cast<int64_t>(static_cast<double>(base_->n_stored()) * fr * fc);
}

Element SubsetRowSource::read_rows(int64_t start, int64_t end) const {
  if (start < 0 || end > n_obs() || start > end)
    throw ValueError("row range [" + std::to_string(start) + ", " + std::to_string(end) + ") out of bounds");
  int64_t a = start, b = end;
  std::vector<int64_t> local;
  if (rows_) {
    if (start == end) {
      a = b = 0;
    } else {
      a = (*rows_)[static_cast<size_t>(start)];
      b = (*rows_)[static_cast<size_t>(end - 1)] + 1;
      local.reserve(static_cast<size_t>(end - start));
      for (int64_t i = start; i < end; ++i) local.push_back((*rows_)[static_cast<size_t>(i)] - a);
    }
  }
  Element blk = base_->read_rows(a, b);
  if (!rows_ && !cols_) return blk;
  const int64_t nr = b - a;
  if (!rows_) {
    local.resize(static_cast<size_t>(nr));
    std::iota(local.begin(), local.end(), int64_t{0});
  }
  std::vector<int64_t> all_cols;
  if (!cols_) {
    all_cols.resize(static_cast<size_t>(base_->n_vars()));
    std::iota(all_cols.begin(), all_cols.end(), int64_t{0});
  }
  const std::vector<int64_t>& cols = cols_ ? *cols_ : all_cols;
  if (blk.is<SparseMatrix>()) {
    take_inplace(blk.get<SparseMatrix>(), local, cols);
    return blk;
  }
  const Array& d = blk.get<Array>();
  Array r = rows_ ? d.take_rows(local) : d;
  return cols_ ? r.take_cols(cols) : r;
}

// ---- TransformedRowSource ----

TransformedRowSource::TransformedRowSource(std::shared_ptr<const RowBlockSource> base, DType dtype, Transform transform)
    : base_(std::move(base)), dtype_(dtype), transform_(std::move(transform)) {}

Element TransformedRowSource::read_rows(int64_t start, int64_t end) const {
  Element b = base_->read_rows(start, end);
  transform_(b, start);
  return b;
}

// ---- gather ----

Element concat_rows(const std::vector<Element>& blocks) {
  if (blocks.empty()) throw ValueError("concat_rows: no blocks");
  if (blocks.size() == 1) return blocks[0];
  const DType t = blocks[0].is<SparseMatrix>() ? blocks[0].get<SparseMatrix>().dtype() : blocks[0].get<Array>().dtype();
  const size_t es = dtype_size(t);
  if (blocks[0].is<SparseMatrix>()) {
    SparseMatrix out;
    out.n_cols = blocks[0].get<SparseMatrix>().n_cols;
    int64_t nnz = 0;
    for (const auto& b : blocks) nnz += b.get<SparseMatrix>().nnz();
    out.data = Array(t, {nnz});
    out.indices.reserve(static_cast<size_t>(nnz));
    for (const auto& e : blocks) {
      const SparseMatrix& m = e.get<SparseMatrix>();
      if (m.dtype() != t || m.n_cols != out.n_cols || m.format != SparseFormat::CSR)
        throw ValueError("concat_rows: blocks differ in format, dtype or width");
      const int64_t base = out.indptr.back();
      for (int64_t i = 1; i <= m.n_rows; ++i) out.indptr.push_back(base + m.indptr[static_cast<size_t>(i)]);
      if (m.nnz())
        std::memcpy(static_cast<std::byte*>(out.data.raw()) + static_cast<size_t>(base) * es, m.data.raw(),
                    static_cast<size_t>(m.nnz()) * es);
      out.indices.insert(out.indices.end(), m.indices.begin(), m.indices.end());
      out.n_rows += m.n_rows;
    }
    return out;
  }
  const int64_t p = blocks[0].get<Array>().shape()[1];
  int64_t n = 0;
  for (const auto& b : blocks) {
    const Array& a = b.get<Array>();
    if (a.dtype() != t || a.ndim() != 2 || a.shape()[1] != p) throw ValueError("concat_rows: blocks differ in dtype or width");
    n += a.shape()[0];
  }
  Array out(t, {n, p});
  size_t off = 0;
  for (const auto& b : blocks) {
    const Array& a = b.get<Array>();
    if (a.nbytes()) std::memcpy(static_cast<std::byte*>(out.raw()) + off, a.raw(), a.nbytes());
    off += a.nbytes();
  }
  return out;
}

Element gather_rows(const RowBlockSource& src, const RowBlockOptions& o, const std::optional<std::vector<int64_t>>& cols) {
  if (cols) check_increasing(*cols, src.n_vars(), "column");
  const int64_t p = cols ? static_cast<int64_t>(cols->size()) : src.n_vars();
  std::vector<int64_t> all_rows;
  const auto select = [&](Element& b) {
    if (!cols) return;
    const int64_t nr = matrix_rows(b);
    if (b.is<SparseMatrix>()) {
      all_rows.resize(static_cast<size_t>(nr));
      std::iota(all_rows.begin(), all_rows.end(), int64_t{0});
      take_inplace(b.get<SparseMatrix>(), all_rows, *cols);
    } else {
      b = b.get<Array>().take_cols(*cols);
    }
  };
  if (src.is_sparse()) {
    SparseMatrix out;
    out.n_rows = src.n_obs();
    out.n_cols = p;
    out.indptr.assign(1, 0);
    out.indptr.reserve(static_cast<size_t>(src.n_obs()) + 1);
    std::vector<std::byte> data;
    const size_t es = dtype_size(src.dtype());
    for_each_row_block(src, o, [&](Element& b, int64_t, int64_t) {
      select(b);
      const SparseMatrix& m = b.get<SparseMatrix>();
      if (m.dtype() != src.dtype()) throw Error("row blocks: a block's dtype differs from its source's");
      const int64_t base = out.indptr.back();
      for (int64_t i = 1; i <= m.n_rows; ++i) out.indptr.push_back(base + m.indptr[static_cast<size_t>(i)]);
      out.indices.insert(out.indices.end(), m.indices.begin(), m.indices.end());
      const auto* raw = static_cast<const std::byte*>(m.data.raw());
      data.insert(data.end(), raw, raw + static_cast<size_t>(m.nnz()) * es);
    });
    out.data = Array(src.dtype(), {out.nnz()});
    if (!data.empty()) std::memcpy(out.data.raw(), data.data(), data.size());
    return out;
  }
  Array out(src.dtype(), {src.n_obs(), p});
  const size_t row_bytes = static_cast<size_t>(p) * dtype_size(src.dtype());
  for_each_row_block(src, o, [&](Element& b, int64_t s, int64_t) {
    select(b);
    const Array& a = b.get<Array>();
    if (a.dtype() != src.dtype()) throw Error("row blocks: a block's dtype differs from its source's");
    std::memcpy(static_cast<std::byte*>(out.raw()) + static_cast<size_t>(s) * row_bytes, a.raw(), a.nbytes());
  });
  return out;
}

}  // namespace scanpp
