#include "scanpp/core/sparse.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <type_traits>

#include "scanpp/core/error.hpp"
#include "scanpp/core/huge_pages.hpp"
#include "scanpp/core/parallel.hpp"

namespace scanpp {

void SparseMatrix::validate(const std::string& file, const std::string& where) const {
  const int64_t nmaj = n_major(), nmin = n_minor();
  if (n_rows < 0 || n_cols < 0) throw InputError(file, where, "negative shape");
  if (static_cast<int64_t>(indptr.size()) != nmaj + 1)
    throw InputError(file, where + "/indptr",
                     "has " + std::to_string(indptr.size()) + " entries, expected " + std::to_string(nmaj + 1));
  if (data.size() != nnz())
    throw InputError(file, where, "data has " + std::to_string(data.size()) + " values but indices has " +
                                      std::to_string(nnz()));
  if (indptr[0] != 0) throw InputError(file, where + "/indptr", "does not start at 0");
  for (int64_t i = 0; i < nmaj; ++i)
    if (indptr[i + 1] < indptr[i])
      throw InputError(file, where + "/indptr", "is not monotonic at position " + std::to_string(i + 1));
  if (indptr[nmaj] != nnz())
    throw InputError(file, where + "/indptr",
                     "ends at " + std::to_string(indptr[nmaj]) + " but there are " + std::to_string(nnz()) + " values");
  for (int64_t k = 0; k < nnz(); ++k)
    if (indices[k] < 0 || indices[k] >= nmin)
      throw InputError(file, where + "/indices",
                       "index " + std::to_string(indices[k]) + " at position " + std::to_string(k) +
                           " is out of range [0, " + std::to_string(nmin) + ")");
}

namespace {
// Transposes the compressed structure: the output's major axis is the input's minor axis.
SparseMatrix swap_major(const SparseMatrix& m) {
  SparseMatrix out;
  out.n_rows = m.n_rows;
  out.n_cols = m.n_cols;
  out.format = m.format == SparseFormat::CSR ? SparseFormat::CSC : SparseFormat::CSR;
  const int64_t nmaj = m.n_major(), nmin = m.n_minor(), nnz = m.nnz();
  out.indptr.assign(static_cast<size_t>(nmin) + 1, 0);
  for (int64_t k = 0; k < nnz; ++k) ++out.indptr[static_cast<size_t>(m.indices[k]) + 1];
  for (int64_t j = 0; j < nmin; ++j) out.indptr[j + 1] += out.indptr[j];
  out.indices.resize(static_cast<size_t>(nnz));
  out.data = Array(m.data.dtype(), {nnz});
  std::vector<int64_t> next(out.indptr.begin(), out.indptr.end() - 1);
  const size_t es = dtype_size(m.data.dtype());
  auto* src = static_cast<const std::byte*>(m.data.raw());
  auto* dst = static_cast<std::byte*>(out.data.raw());
  for (int64_t i = 0; i < nmaj; ++i)
    for (int64_t k = m.indptr[i]; k < m.indptr[i + 1]; ++k) {
      const int64_t pos = next[m.indices[k]]++;
      out.indices[pos] = static_cast<int32_t>(i);
      std::memcpy(dst + pos * es, src + k * es, es);
    }
  return out;
}
}  // namespace

SparseMatrix convert_format(const SparseMatrix& m, SparseFormat to) {
  if (m.format == to) return m;
  return swap_major(m);
}

SparseMatrix transpose(const SparseMatrix& m) {
  SparseMatrix t = m;
  std::swap(t.n_rows, t.n_cols);
  t.format = m.format == SparseFormat::CSR ? SparseFormat::CSC : SparseFormat::CSR;
  // t now is the same storage read as the transpose; convert back to the input's format.
  return convert_format(t, m.format);
}

namespace {

bool increasing_in_range(std::span<const int64_t> v, int64_t n) {
  for (size_t k = 0; k < v.size(); ++k)
    if (v[k] < 0 || v[k] >= n || (k > 0 && v[k] <= v[k - 1])) return false;
  return true;
}

}  // namespace

namespace {

// Values moved as unsigned integers of their width (a plain load and store
// instead of a memcpy call per value); E = void copies es bytes with memcpy.
template <class E>
struct Mover {
  size_t es;
  void operator()(std::byte* dst, int64_t to, const std::byte* src, int64_t from) const {
    if constexpr (std::is_void_v<E>) {
      std::memcpy(dst + to * static_cast<int64_t>(es), src + from * static_cast<int64_t>(es), es);
    } else {
      E v;
      std::memcpy(&v, src + from * static_cast<int64_t>(sizeof(E)), sizeof(E));
      std::memcpy(dst + to * static_cast<int64_t>(sizeof(E)), &v, sizeof(E));
    }
  }
};

template <class F>
void with_mover(size_t es, F&& f) {
  switch (es) {
    case 1: f(Mover<uint8_t>{es}); return;
    case 2: f(Mover<uint16_t>{es}); return;
    case 4: f(Mover<uint32_t>{es}); return;
    case 8: f(Mover<uint64_t>{es}); return;
    default: f(Mover<void>{es}); return;
  }
}

}  // namespace

void take_inplace(SparseMatrix& m, std::span<const int64_t> rows, std::span<const int64_t> cols) {
  if (m.format != SparseFormat::CSR || !increasing_in_range(rows, m.n_rows) || !increasing_in_range(cols, m.n_cols)) {
    m = take(m, rows, cols);
    return;
  }
  const bool all_cols = static_cast<int64_t>(cols.size()) == m.n_cols;
  std::vector<int32_t> map;
  if (!all_cols) {
    map.assign(static_cast<size_t>(m.n_cols), -1);
    for (size_t k = 0; k < cols.size(); ++k) map[static_cast<size_t>(cols[k])] = static_cast<int32_t>(k);
  }
  const size_t es = dtype_size(m.data.dtype());
  auto* val = static_cast<std::byte*>(m.data.raw());
  const auto nr = static_cast<int64_t>(rows.size());
  const auto start = [&](int64_t i) { return m.indptr[static_cast<size_t>(rows[static_cast<size_t>(i)])]; };
  // Pass 1 (parallel, rows independent): compact each kept row to the front
  // of its own slot and count what it keeps.
  std::vector<int64_t> indptr(static_cast<size_t>(nr) + 1, 0);
  with_mover(es, [&](auto move) {
    parallel_for(nr, [&](int64_t i) {
      const int64_t a = start(i), b = m.indptr[static_cast<size_t>(rows[static_cast<size_t>(i)]) + 1];
      if (all_cols) {
        indptr[static_cast<size_t>(i) + 1] = b - a;
        return;
      }
      // Without branches: every value is written at w (<= k, so never over an
      // unread one) and w advances only for a kept one.
      int64_t w = a;
      for (int64_t k = a; k < b; ++k) {
        const int32_t j = map[static_cast<size_t>(m.indices[static_cast<size_t>(k)])];
        m.indices[static_cast<size_t>(w)] = j;
        move(val, w, val, k);
        w += j >= 0;
      }
      indptr[static_cast<size_t>(i) + 1] = w - a;
    });
  });
  for (int64_t i = 0; i < nr; ++i) indptr[static_cast<size_t>(i) + 1] += indptr[static_cast<size_t>(i)];
  const int64_t nnz = indptr.back();

  if (2 * static_cast<size_t>(nnz) < m.indices.capacity()) {
    // Keeping under half (the tutorial's subset to highly variable genes
    // keeps ~30 %): the kept prefixes are copied, in parallel, into buffers
    // of their size, so the memory of the dropped values goes back at a
    // transient cost below the freed amount (indices first, so the old
    // indices are gone before the values are copied).
    const auto copy_rows = [&](std::byte* to, const std::byte* from, size_t width) {
      parallel_for(nr, [&](int64_t i) {
        const int64_t src = start(i), dst = indptr[static_cast<size_t>(i)];
        const auto n = static_cast<size_t>(indptr[static_cast<size_t>(i) + 1] - dst);
        if (n > 0) std::memcpy(to + dst * static_cast<int64_t>(width), from + src * static_cast<int64_t>(width), n * width);
      });
    };
    // Both new buffers are advised to huge pages before they are first
    // written (core/huge_pages.hpp).
    std::vector<int32_t> indices;
    resize_on_huge_pages(indices, static_cast<size_t>(nnz));
    copy_rows(reinterpret_cast<std::byte*>(indices.data()), reinterpret_cast<const std::byte*>(m.indices.data()),
              sizeof(int32_t));
    m.indices = std::move(indices);
    Array data = Array::uninitialized(m.data.dtype(), {nnz});
    advise_huge_pages(data.raw(), data.nbytes());
    copy_rows(static_cast<std::byte*>(data.raw()), val, es);
    m.data = std::move(data);
  } else {
    // Keeping most (the filters): pass 2 (in order) slides each row's prefix
    // down to its final place within the same buffers, no second copy; a
    // destination never passes an unread source because rows are increasing.
    for (int64_t i = 0; i < nr; ++i) {
      const int64_t src = start(i);
      const int64_t dst = indptr[static_cast<size_t>(i)];
      const int64_t n = indptr[static_cast<size_t>(i) + 1] - dst;
      if (src != dst && n > 0) {
        std::memmove(m.indices.data() + dst, m.indices.data() + src, static_cast<size_t>(n) * sizeof(int32_t));
        std::memmove(val + dst * static_cast<int64_t>(es), val + src * static_cast<int64_t>(es),
                     static_cast<size_t>(n) * es);
      }
    }
    m.indices.resize(static_cast<size_t>(nnz));
    m.data.truncate(nnz);
  }
  m.indptr = std::move(indptr);
  m.n_rows = nr;
  m.n_cols = static_cast<int64_t>(cols.size());
}

SparseMatrix take(const SparseMatrix& m, std::span<const int64_t> rows, std::span<const int64_t> cols) {
  const bool csr = m.format == SparseFormat::CSR;
  std::span<const int64_t> maj = csr ? rows : cols, mino = csr ? cols : rows;
  // Map old minor index -> new minor index (or -1); a minor index listed twice
  // is rare (duplicated names) and handled by a slower path.
  std::vector<int64_t> map(static_cast<size_t>(m.n_minor()), -1);
  bool dup = false, identity_minor = static_cast<int64_t>(mino.size()) == m.n_minor();
  for (size_t k = 0; k < mino.size(); ++k) {
    if (mino[k] < 0 || mino[k] >= m.n_minor()) throw ValueError("sparse take: index out of range");
    if (map[mino[k]] != -1) dup = true;
    map[mino[k]] = static_cast<int64_t>(k);
    if (mino[k] != static_cast<int64_t>(k)) identity_minor = false;
  }
  std::vector<std::vector<int64_t>> multi;
  if (dup) {
    multi.resize(map.size());
    for (size_t k = 0; k < mino.size(); ++k) multi[mino[k]].push_back(static_cast<int64_t>(k));
  }
  SparseMatrix out;
  out.format = m.format;
  out.n_rows = static_cast<int64_t>(rows.size());
  out.n_cols = static_cast<int64_t>(cols.size());
  out.indptr.assign(maj.size() + 1, 0);
  const size_t es = dtype_size(m.data.dtype());
  auto* src = static_cast<const std::byte*>(m.data.raw());
  std::vector<std::byte> vals;
  std::vector<int32_t> idx;
  for (size_t i = 0; i < maj.size(); ++i) {
    if (maj[i] < 0 || maj[i] >= m.n_major()) throw ValueError("sparse take: index out of range");
    const int64_t a = m.indptr[maj[i]], b = m.indptr[maj[i] + 1];
    if (identity_minor) {
      idx.insert(idx.end(), m.indices.begin() + a, m.indices.begin() + b);
      vals.insert(vals.end(), src + a * es, src + b * es);
    } else {
      for (int64_t k = a; k < b; ++k) {
        const int32_t j = m.indices[k];
        if (!dup) {
          if (map[j] < 0) continue;
          idx.push_back(static_cast<int32_t>(map[j]));
          vals.insert(vals.end(), src + k * es, src + (k + 1) * es);
        } else {
          for (int64_t nj : multi[j]) {
            idx.push_back(static_cast<int32_t>(nj));
            vals.insert(vals.end(), src + k * es, src + (k + 1) * es);
          }
        }
      }
    }
    out.indptr[i + 1] = static_cast<int64_t>(idx.size());
  }
  out.indices = std::move(idx);
  out.data = Array(m.data.dtype(), {out.nnz()});
  if (!vals.empty()) std::memcpy(out.data.raw(), vals.data(), vals.size());
  if (!identity_minor) sort_indices(out);
  return out;
}

Array to_dense(const SparseMatrix& m) {
  Array out(m.data.dtype(), {m.n_rows, m.n_cols});
  const size_t es = dtype_size(m.data.dtype());
  auto* src = static_cast<const std::byte*>(m.data.raw());
  auto* dst = static_cast<std::byte*>(out.raw());
  const bool csr = m.format == SparseFormat::CSR;
  for (int64_t i = 0; i < m.n_major(); ++i)
    for (int64_t k = m.indptr[i]; k < m.indptr[i + 1]; ++k) {
      const int64_t r = csr ? i : m.indices[k], c = csr ? m.indices[k] : i;
      std::memcpy(dst + (r * m.n_cols + c) * static_cast<int64_t>(es), src + k * static_cast<int64_t>(es), es);
    }
  return out;
}

SparseMatrix dense_to_csr(const Array& dense) {
  if (dense.ndim() != 2) throw ValueError("dense_to_csr needs a 2-D array");
  SparseMatrix out;
  out.n_rows = dense.shape()[0];
  out.n_cols = dense.shape()[1];
  out.indptr.assign(static_cast<size_t>(out.n_rows) + 1, 0);
  dispatch_dtype(dense.dtype(), [&](auto t) {
    using T = decltype(t);
    auto v = dense.as<T>();
    std::vector<T> vals;
    for (int64_t r = 0; r < out.n_rows; ++r) {
      for (int64_t c = 0; c < out.n_cols; ++c) {
        T x = v[r * out.n_cols + c];
        if (to_double(x) != 0.0) {
          out.indices.push_back(static_cast<int32_t>(c));
          vals.push_back(x);
        }
      }
      out.indptr[r + 1] = static_cast<int64_t>(out.indices.size());
    }
    out.data = Array::from_vector(vals);
  });
  return out;
}

void sort_indices(SparseMatrix& m) {
  const size_t es = dtype_size(m.data.dtype());
  auto* d = static_cast<std::byte*>(m.data.raw());
  std::vector<int64_t> perm;
  std::vector<std::byte> tmp;
  std::vector<int32_t> itmp;
  for (int64_t i = 0; i < m.n_major(); ++i) {
    const int64_t a = m.indptr[i], b = m.indptr[i + 1];
    if (std::is_sorted(m.indices.begin() + a, m.indices.begin() + b)) continue;
    perm.resize(static_cast<size_t>(b - a));
    std::iota(perm.begin(), perm.end(), a);
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t x, int64_t y) { return m.indices[x] < m.indices[y]; });
    tmp.resize(static_cast<size_t>(b - a) * es);
    itmp.resize(static_cast<size_t>(b - a));
    for (size_t k = 0; k < perm.size(); ++k) {
      itmp[k] = m.indices[perm[k]];
      std::memcpy(tmp.data() + k * es, d + perm[k] * static_cast<int64_t>(es), es);
    }
    std::copy(itmp.begin(), itmp.end(), m.indices.begin() + a);
    std::memcpy(d + a * static_cast<int64_t>(es), tmp.data(), tmp.size());
  }
}

}  // namespace scanpp
