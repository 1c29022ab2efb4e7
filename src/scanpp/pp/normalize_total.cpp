#include "scanpp/pp/normalize_total.hpp"

#include <algorithm>
#include <cmath>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/detail/median_positive.hpp"
#include "scanpp/pp/detail/rows.hpp"

namespace scanpp::pp {

using namespace detail;

namespace {

void check(const NormalizeTotalOptions& o) {
  if (!(o.max_fraction >= 0 && o.max_fraction <= 1))
    throw ValueError("normalize_total: choose max_fraction between 0 and 1 (got " + std::to_string(o.max_fraction) + ")");
}

using detail::median_positive;

// Shared tail: target, size factors (counts / target in T, as numpy divides a
// T array by a Python float), zero-count warning.
template <class T>
NormalizeTotalResult finish(std::vector<T>& cpc, std::vector<bool> gene_subset, const NormalizeTotalOptions& o,
                            std::vector<T>& divisor) {
  NormalizeTotalResult r;
  r.target_sum = o.target_sum ? *o.target_sum : median_positive(cpc);
  const T target = static_cast<T>(r.target_sum);
  std::vector<T> factor(cpc.size());
  divisor.resize(cpc.size());
  bool any_zero = false;
  for (size_t i = 0; i < cpc.size(); ++i) {
    factor[i] = static_cast<T>(cpc[i] / target);
    if (!(factor[i] > 0)) any_zero = true;
    // Scanpy divides zero-count cells by 1, leaving them unchanged.
    divisor[i] = factor[i] == 0 ? T(1) : factor[i];
  }
  if (any_zero) warn("normalize_total: Some cells have zero counts");
  r.counts_per_cell = Array::from_vector(cpc);
  r.norm_factor = Array::from_vector(factor);
  r.gene_subset = std::move(gene_subset);
  return r;
}

// With a given target and no exclusion each row is summed and divided while
// it is in cache: one pass over the data instead of two.
template <class T>
NormalizeTotalResult normalize_csr_fused(SparseMatrix& m, const NormalizeTotalOptions& o) {
  const int64_t n = m.n_rows, p = m.n_cols;
  T* data = m.data.as<T>().data();
  const int64_t* ip = m.indptr.data();
  NormalizeTotalResult r;
  r.target_sum = *o.target_sum;
  const T target = static_cast<T>(r.target_sum);
  std::vector<T> cpc(static_cast<size_t>(n)), factor(static_cast<size_t>(n));
  parallel_for(n, [&](int64_t i) {
    const int64_t a = ip[i], b = ip[i + 1];
    // Totals accumulate in double and are stored in T. Four partial sums break
    // the add-latency chain; counts (integers) sum exactly in any order.
    double s4[4] = {0, 0, 0, 0};
    for (int64_t k = a; k < b; ++k) s4[(k - a) & 3] += static_cast<double>(data[k]);
    const double s = (s4[0] + s4[1]) + (s4[2] + s4[3]);
    const T c = static_cast<T>(s);
    const T f = static_cast<T>(c / target);
    cpc[static_cast<size_t>(i)] = c;
    factor[static_cast<size_t>(i)] = f;
    // Scanpy divides zero-count cells by 1, leaving them unchanged.
    const T d = f == 0 ? T(1) : f;
    T* row = data + a;
    const int64_t len = b - a;
#pragma omp simd
    for (int64_t k = 0; k < len; ++k) row[k] = row[k] / d;
  });
  for (T f : factor)
    if (!(f > 0)) {
      warn("normalize_total: Some cells have zero counts");
      break;
    }
  r.counts_per_cell = Array::from_vector(cpc);
  r.norm_factor = Array::from_vector(factor);
  r.gene_subset.assign(static_cast<size_t>(p), true);
  return r;
}

template <class T>
NormalizeTotalResult normalize_csr(SparseMatrix& m, const NormalizeTotalOptions& o) {
  if (o.target_sum && !o.exclude_highly_expressed) return normalize_csr_fused<T>(m, o);
  const int64_t n = m.n_rows, p = m.n_cols;
  auto data = m.data.as<T>();
  const int64_t* ip = m.indptr.data();
  const int32_t* idx = m.indices.data();
  std::vector<T> cpc(static_cast<size_t>(n));
  // Totals accumulate in double and are stored in T (Scanpy's numba kernel).
  parallel_for(n, [&](int64_t r) {
    double s = 0;
    for (int64_t k = ip[r]; k < ip[r + 1]; ++k) s += static_cast<double>(data[static_cast<size_t>(k)]);
    cpc[static_cast<size_t>(r)] = static_cast<T>(s);
  });
  std::vector<bool> subset(static_cast<size_t>(p), true);
  if (o.exclude_highly_expressed) {
    // The threshold is max_fraction * total in double, compared with the stored value.
    std::vector<uint8_t> high(static_cast<size_t>(p), 0);
    {
      const int64_t block = row_block_size(n);
      const int64_t nb = n == 0 ? 0 : (n + block - 1) / block;
      std::vector<std::vector<uint8_t>> parts(static_cast<size_t>(nb));
      parallel_blocks(n, block, [&](int64_t a, int64_t b) {
        std::vector<uint8_t> h(static_cast<size_t>(p), 0);
        for (int64_t r = a; r < b; ++r) {
          const double thr = o.max_fraction * static_cast<double>(cpc[static_cast<size_t>(r)]);
          for (int64_t k = ip[r]; k < ip[r + 1]; ++k)
            if (static_cast<double>(data[static_cast<size_t>(k)]) > thr) h[static_cast<size_t>(idx[k])] = 1;
        }
        parts[static_cast<size_t>(a / block)] = std::move(h);
      });
      for (const auto& h : parts)
        for (size_t j = 0; j < h.size(); ++j) high[j] |= h[j];
    }
    for (size_t j = 0; j < high.size(); ++j) subset[j] = !high[j];
    parallel_for(n, [&](int64_t r) {
      double s = 0;
      for (int64_t k = ip[r]; k < ip[r + 1]; ++k)
        if (!high[static_cast<size_t>(idx[k])]) s += static_cast<double>(data[static_cast<size_t>(k)]);
      cpc[static_cast<size_t>(r)] = static_cast<T>(s);
    });
  }
  std::vector<T> div;
  NormalizeTotalResult res = finish(cpc, std::move(subset), o, div);
  parallel_for(n, [&](int64_t r) {
    const T d = div[static_cast<size_t>(r)];
    for (int64_t k = ip[r]; k < ip[r + 1]; ++k) data[static_cast<size_t>(k)] = data[static_cast<size_t>(k)] / d;
  });
  return res;
}

template <class T>
NormalizeTotalResult normalize_dense(Array& a, const NormalizeTotalOptions& o) {
  const int64_t n = a.shape()[0], p = a.shape()[1];
  auto data = a.as<T>();
  std::vector<T> cpc(static_cast<size_t>(n));
  parallel_for(n, [&](int64_t r) {
    double s = 0;
    for (int64_t c = 0; c < p; ++c) s += static_cast<double>(data[static_cast<size_t>(r * p + c)]);
    cpc[static_cast<size_t>(r)] = static_cast<T>(s);
  });
  std::vector<bool> subset(static_cast<size_t>(p), true);
  if (o.exclude_highly_expressed) {
    // numpy: x > totals[:, None] * max_fraction, the product formed in T.
    const T frac = static_cast<T>(o.max_fraction);
    std::vector<uint8_t> high(static_cast<size_t>(p), 0);
    for (int64_t r = 0; r < n; ++r) {
      const T thr = static_cast<T>(cpc[static_cast<size_t>(r)] * frac);
      for (int64_t c = 0; c < p; ++c)
        if (data[static_cast<size_t>(r * p + c)] > thr) high[static_cast<size_t>(c)] = 1;
    }
    for (size_t j = 0; j < high.size(); ++j) subset[j] = !high[j];
    parallel_for(n, [&](int64_t r) {
      double s = 0;
      for (int64_t c = 0; c < p; ++c)
        if (!high[static_cast<size_t>(c)]) s += static_cast<double>(data[static_cast<size_t>(r * p + c)]);
      cpc[static_cast<size_t>(r)] = static_cast<T>(s);
    });
  }
  std::vector<T> div;
  NormalizeTotalResult res = finish(cpc, std::move(subset), o, div);
  parallel_for(n, [&](int64_t r) {
    const T d = div[static_cast<size_t>(r)];
    for (int64_t c = 0; c < p; ++c) data[static_cast<size_t>(r * p + c)] = data[static_cast<size_t>(r * p + c)] / d;
  });
  return res;
}

}  // namespace

NormalizeTotalResult normalize_total(SparseMatrix& x, const NormalizeTotalOptions& opts) {
  check(opts);
  if (x.format == SparseFormat::CSC) x = convert_format(x, SparseFormat::CSR);
  if (!dtype_is_float(x.dtype())) x.data = x.data.astype(DType::Float32);
  if (x.dtype() == DType::Float32) return normalize_csr<float>(x, opts);
  return normalize_csr<double>(x, opts);
}

NormalizeTotalResult normalize_total(Array& x, const NormalizeTotalOptions& opts) {
  check(opts);
  if (x.ndim() != 2) throw ValueError("normalize_total: expected a 2-D matrix");
  if (!dtype_is_float(x.dtype())) x = x.astype(DType::Float32);
  if (x.dtype() == DType::Float32) return normalize_dense<float>(x, opts);
  return normalize_dense<double>(x, opts);
}

NormalizeTotalResult normalize_total(AnnData& adata, const NormalizeTotalOptions& opts) {
  check(opts);
  Element& target = obs_rep(adata, opts.layer, "normalize_total");
  std::optional<Element> copy;
  Element& x = opts.inplace ? target : copy.emplace(target);
  NormalizeTotalResult r;
  if (x.is<SparseMatrix>()) r = normalize_total(x.get<SparseMatrix>(), opts);
  else if (x.is<Array>()) r = normalize_total(x.get<Array>(), opts);
  else throw ValueError(std::string("normalize_total: the matrix to normalise is a ") + x.kind());
  if (opts.inplace) {
    if (opts.key_added) adata.obs.set(*opts.key_added, r.norm_factor);
  } else {
    r.X = std::move(copy);
  }
  return r;
}

}  // namespace scanpp::pp
