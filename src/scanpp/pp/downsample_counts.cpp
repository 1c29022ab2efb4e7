#include "scanpp/pp/downsample_counts.hpp"

#include <algorithm>
#include <string>
#include <type_traits>

#include "scanpp/core/error.hpp"
#include "scanpp/core/numpy_random.hpp"
#include "scanpp/core/parallel.hpp"

namespace scanpp::pp {
namespace {

template <class T>
void thin(T* col, int64_t len, int64_t target, uint32_t seed, bool replace) {
  if (target < 0) throw ValueError("downsample_counts: negative target " + std::to_string(target));
  if (len == 0) return;
  std::vector<double> cum(static_cast<size_t>(len));
  double run = 0.0;
  for (int64_t g = 0; g < len; ++g) {
    run += static_cast<double>(col[g]);
    cum[static_cast<size_t>(g)] = run;
  }
  const auto total = static_cast<int64_t>(cum.back());  // numpy's np.int_ truncates
  if (!replace && target > total)
    throw ValueError("downsample_counts: cannot take " + std::to_string(target) + " counts from a total of " +
                     std::to_string(total) + " without replacement");
  random::NumpyRandomState rs(seed);  // Scanpy reseeds for every vector
  std::vector<int64_t> sample = rs.choice(total, target, replace);
  std::sort(sample.begin(), sample.end());
  std::fill(col, col + len, T(0));
  int64_t gene = 0;
  for (int64_t c : sample) {
    while (gene < len - 1 && static_cast<double>(c) >= cum[static_cast<size_t>(gene)]) ++gene;
    col[gene] += T(1);
  }
}

// Counts are nonnegative; checked before any parallel loop, where nothing may throw.
template <class T>
void check_nonnegative(const T* v, int64_t len) {
  for (int64_t k = 0; k < len; ++k)
    if (!(v[k] >= T(0)))
      throw ValueError("downsample_counts: X holds a negative or NaN value at position " + std::to_string(k) +
                       "; counts must be nonnegative");
}

void check_choice(const DownsampleCountsOptions& opt) {
  const int given = (opt.counts_per_cell ? 1 : 0) + (opt.counts_per_cell_each ? 1 : 0) + (opt.total_counts ? 1 : 0);
  if (given != 1)
    throw ValueError("downsample_counts: must specify exactly one of total_counts or counts_per_cell");
}

// Checked here, before the parallel loop: nothing may throw inside it.
std::vector<int64_t> per_cell_targets(int64_t n_obs, const DownsampleCountsOptions& opt) {
  std::vector<int64_t> v = opt.counts_per_cell ? std::vector<int64_t>(static_cast<size_t>(n_obs), *opt.counts_per_cell)
                                               : *opt.counts_per_cell_each;
  if (static_cast<int64_t>(v.size()) != n_obs)
    throw ValueError("downsample_counts: counts_per_cell has " + std::to_string(v.size()) + " entries for " +
                     std::to_string(n_obs) + " observations");
  for (int64_t t : v)
    if (t < 0) throw ValueError("downsample_counts: negative target " + std::to_string(t));
  return v;
}

template <class F>
void dispatch_counts(DType t, F&& f) {
  switch (t) {
    case DType::Float32: f(float{}); break;
    case DType::Float64: f(double{}); break;
    case DType::Int32: f(int32_t{}); break;
    case DType::Int64: f(int64_t{}); break;
    default:
      throw ValueError(std::string("downsample_counts: counts of dtype ") + dtype_name(t) +
                       " are not supported (float32, float64, int32, int64)");
  }
}

// scipy's eliminate_zeros on a compressed matrix.
void drop_zeros(SparseMatrix& m) {
  dispatch_counts(m.dtype(), [&](auto t) {
    using T = decltype(t);
    auto d = m.data.as<T>();
    std::vector<T> data;
    std::vector<int32_t> idx;
    std::vector<int64_t> ptr{0};
    data.reserve(d.size());
    idx.reserve(d.size());
    for (int64_t r = 0; r < m.n_major(); ++r) {
      for (int64_t j = m.indptr[static_cast<size_t>(r)]; j < m.indptr[static_cast<size_t>(r) + 1]; ++j)
        if (d[static_cast<size_t>(j)] != T(0)) {
          data.push_back(d[static_cast<size_t>(j)]);
          idx.push_back(m.indices[static_cast<size_t>(j)]);
        }
      ptr.push_back(static_cast<int64_t>(idx.size()));
    }
    m.data = Array::from_vector(data);
    m.indices = std::move(idx);
    m.indptr = std::move(ptr);
  });
}

}  // namespace

void downsample_vector(std::span<float> c, int64_t target, uint32_t s, bool r) {
  thin(c.data(), static_cast<int64_t>(c.size()), target, s, r);
}
void downsample_vector(std::span<double> c, int64_t target, uint32_t s, bool r) {
  thin(c.data(), static_cast<int64_t>(c.size()), target, s, r);
}
void downsample_vector(std::span<int32_t> c, int64_t target, uint32_t s, bool r) {
  thin(c.data(), static_cast<int64_t>(c.size()), target, s, r);
}
void downsample_vector(std::span<int64_t> c, int64_t target, uint32_t s, bool r) {
  thin(c.data(), static_cast<int64_t>(c.size()), target, s, r);
}

void downsample_counts(Array& X, const DownsampleCountsOptions& opt) {
  check_choice(opt);
  if (X.ndim() != 2) throw ValueError("downsample_counts: X must be a 2-D matrix");
  const int64_t n = X.rows(), p = X.cols();
  if (opt.total_counts && *opt.total_counts < 0) throw ValueError("downsample_counts: negative total_counts");
  const std::vector<int64_t> target = opt.total_counts ? std::vector<int64_t>{} : per_cell_targets(n, opt);
  dispatch_counts(X.dtype(), [&](auto t) {
    using T = decltype(t);
    T* x = X.as<T>().data();
    check_nonnegative(x, n * p);
    if (opt.total_counts) {
      double total = 0.0;
      for (int64_t k = 0; k < n * p; ++k) total += static_cast<double>(x[k]);
      if (total < static_cast<double>(*opt.total_counts)) return;
      thin(x, n * p, *opt.total_counts, opt.random_state, opt.replace);  // the flattened matrix, row-major
      return;
    }
    // Every cell restarts the same stream, so cells are independent and can run in parallel.
    parallel_for(n, [&](int64_t i) {
      T* row = x + i * p;
      double total = 0.0;
      for (int64_t g = 0; g < p; ++g) total += static_cast<double>(row[g]);
      if (total > static_cast<double>(target[static_cast<size_t>(i)]))
        thin(row, p, target[static_cast<size_t>(i)], opt.random_state, opt.replace);
    }, 16);
  });
}

void downsample_counts(SparseMatrix& X, const DownsampleCountsOptions& opt) {
  check_choice(opt);
  dispatch_counts(X.dtype(), [&](auto t) {
    using T = decltype(t);
    check_nonnegative(X.data.as<T>().data(), X.nnz());
  });
  if (opt.total_counts && *opt.total_counts < 0) throw ValueError("downsample_counts: negative total_counts");
  const std::vector<int64_t> target = opt.total_counts ? std::vector<int64_t>{} : per_cell_targets(X.n_rows, opt);
  const SparseFormat original = X.format;
  if (original == SparseFormat::CSC) X = convert_format(X, SparseFormat::CSR);
  dispatch_counts(X.dtype(), [&](auto t) {
    using T = decltype(t);
    T* d = X.data.as<T>().data();
    if (opt.total_counts) {
      double total = 0.0;
      for (int64_t k = 0; k < X.nnz(); ++k) total += static_cast<double>(d[k]);
      if (total < static_cast<double>(*opt.total_counts)) return;
      thin(d, X.nnz(), *opt.total_counts, opt.random_state, opt.replace);  // the stored values in order
      return;
    }
    parallel_for(X.n_rows, [&](int64_t i) {
      const int64_t a = X.indptr[static_cast<size_t>(i)], b = X.indptr[static_cast<size_t>(i) + 1];
      double total = 0.0;
      for (int64_t j = a; j < b; ++j) total += static_cast<double>(d[j]);
      if (total > static_cast<double>(target[static_cast<size_t>(i)]))
        thin(d + a, b - a, target[static_cast<size_t>(i)], opt.random_state, opt.replace);
    }, 16);
  });
  drop_zeros(X);
  if (original == SparseFormat::CSC) X = convert_format(X, SparseFormat::CSC);
}

void downsample_counts(Element& X, const DownsampleCountsOptions& opt) {
  if (X.is<Array>()) return downsample_counts(X.get<Array>(), opt);
  if (X.is<SparseMatrix>()) return downsample_counts(X.get<SparseMatrix>(), opt);
  throw ValueError(std::string("downsample_counts: cannot thin a ") + X.kind());
}

void downsample_counts(AnnData& adata, const DownsampleCountsOptions& opt) {
  if (!adata.X) throw ValueError("downsample_counts: adata has no X");
  downsample_counts(*adata.X, opt);
}

}  // namespace scanpp::pp
