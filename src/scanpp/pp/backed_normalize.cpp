// normalize_total and log1p over row blocks, and writing a transformed
// source into a new .h5ad block by block.
#include <algorithm>
#include <cmath>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/detail/median_positive.hpp"
#include "scanpp/io/h5ad_stream_writer.hpp"
#include "scanpp/pp/backed.hpp"
#include "scanpp/pp/detail/rows.hpp"
#include "scanpp/pp/log1p.hpp"

namespace scanpp::pp::backed {

namespace {

// The float dtype normalize_total works in: integer data become float32.
DType work_dtype(DType t) { return dtype_is_float(t) ? t : DType::Float32; }

void to_work_dtype(Element& b) {
  if (b.is<SparseMatrix>()) {
    SparseMatrix& m = b.get<SparseMatrix>();
    if (!dtype_is_float(m.dtype())) m.data = m.data.astype(DType::Float32);
  } else {
    Array& a = b.get<Array>();
    if (!dtype_is_float(a.dtype())) a = a.astype(DType::Float32);
  }
}

// Calls f(local_row, values, cols, count) for each row of a block in its
// float work dtype T (cols is null for a dense block: columns 0..count-1).
template <class T, class F>
void rows_of(const Element& b, F&& f) {
  if (b.is<SparseMatrix>()) {
    const SparseMatrix& m = b.get<SparseMatrix>();
    auto d = m.data.as<T>();
    for (int64_t r = 0; r < m.n_rows; ++r) {
      const int64_t a = m.indptr[static_cast<size_t>(r)], e = m.indptr[static_cast<size_t>(r) + 1];
      f(r, d.data() + a, m.indices.data() + a, e - a);
    }
  } else {
    const Array& a = b.get<Array>();
    const int64_t p = a.shape()[1];
    auto d = a.as<T>();
    for (int64_t r = 0; r < a.shape()[0]; ++r) f(r, d.data() + r * p, static_cast<const int32_t*>(nullptr), p);
  }
}

using detail::median_positive;

template <class T>
NormalizeTotalResult factors(const RowBlockSource& x, const NormalizeTotalOptions& o, const RowBlockOptions& blocks) {
  const int64_t n = x.n_obs(), p = x.n_vars();
  const bool sparse = x.is_sparse();
  std::vector<T> cpc(static_cast<size_t>(n));
  std::vector<uint8_t> high(static_cast<size_t>(p), 0);
  // Pass 1: totals (as the kernel: double accumulation stored in T) and,
  // with exclusion, the genes above max_fraction of some cell's total.
  for_each_row_block(x, blocks, [&](Element& b, int64_t start, int64_t) {
    to_work_dtype(b);
    rows_of<T>(b, [&](int64_t r, const T* v, const int32_t* cols, int64_t cnt) {
      double s = 0;
      for (int64_t k = 0; k < cnt; ++k) s += static_cast<double>(v[k]);
      const T tot = static_cast<T>(s);
      cpc[static_cast<size_t>(start + r)] = tot;
      if (!o.exclude_highly_expressed) return;
      if (sparse) {
        // The threshold is max_fraction * total in double, compared with the stored value.
        const double thr = o.max_fraction * static_cast<double>(tot);
        for (int64_t k = 0; k < cnt; ++k)
          if (static_cast<double>(v[k]) > thr) high[static_cast<size_t>(cols[k])] = 1;
      } else {
        // numpy: x > totals[:, None] * max_fraction, the product formed in T.
        const T thr = static_cast<T>(tot * static_cast<T>(o.max_fraction));
        for (int64_t k = 0; k < cnt; ++k)
          if (v[k] > thr) high[static_cast<size_t>(k)] = 1;
      }
    });
  });
  std::vector<bool> subset(static_cast<size_t>(p), true);
  if (o.exclude_highly_expressed) {
    for (size_t j = 0; j < high.size(); ++j) subset[j] = !high[j];
    // Pass 2: totals over the genes kept.
    for_each_row_block(x, blocks, [&](Element& b, int64_t start, int64_t) {
      to_work_dtype(b);
      rows_of<T>(b, [&](int64_t r, const T* v, const int32_t* cols, int64_t cnt) {
        double s = 0;
        for (int64_t k = 0; k < cnt; ++k)
          if (!high[static_cast<size_t>(cols ? cols[k] : k)]) s += static_cast<double>(v[k]);
        cpc[static_cast<size_t>(start + r)] = static_cast<T>(s);
      });
    });
  }
  NormalizeTotalResult res;
  res.target_sum = o.target_sum ? *o.target_sum : median_positive(cpc);
  const T target = static_cast<T>(res.target_sum);
  std::vector<T> factor(cpc.size());
  bool any_zero = false;
  for (size_t i = 0; i < cpc.size(); ++i) {
    factor[i] = static_cast<T>(cpc[i] / target);
    if (!(factor[i] > 0)) any_zero = true;
  }
  if (any_zero) detail::warn("normalize_total: Some cells have zero counts");
  res.counts_per_cell = Array::from_vector(cpc);
  res.norm_factor = Array::from_vector(factor);
  res.gene_subset = std::move(subset);
  return res;
}

template <class T>
void divide_rows(Element& b, int64_t start, const std::vector<T>& divisor) {
  const auto div = [&](int64_t r, T* v, int64_t cnt) {
    const T d = divisor[static_cast<size_t>(start + r)];
    for (int64_t k = 0; k < cnt; ++k) v[k] = v[k] / d;
  };
  if (b.is<SparseMatrix>()) {
    SparseMatrix& m = b.get<SparseMatrix>();
    auto d = m.data.as<T>();
    parallel_for(m.n_rows, [&](int64_t r) {
      const int64_t a = m.indptr[static_cast<size_t>(r)], e = m.indptr[static_cast<size_t>(r) + 1];
      div(r, d.data() + a, e - a);
    });
  } else {
    Array& a = b.get<Array>();
    const int64_t p = a.shape()[1];
    auto d = a.as<T>();
    parallel_for(a.shape()[0], [&](int64_t r) { div(r, d.data() + r * p, p); });
  }
}

}  // namespace

NormalizeTotalResult normalize_total_factors(const RowBlockSource& x, const NormalizeTotalOptions& opts,
                                             const RowBlockOptions& blocks) {
  if (!(opts.max_fraction >= 0 && opts.max_fraction <= 1))
    throw ValueError("normalize_total: choose max_fraction between 0 and 1 (got " + std::to_string(opts.max_fraction) +
                     ")");
  if (work_dtype(x.dtype()) == DType::Float32) return factors<float>(x, opts, blocks);
  return factors<double>(x, opts, blocks);
}

SourcePtr normalized(SourcePtr x, const NormalizeTotalResult& r) {
  const DType t = work_dtype(x->dtype());
  if (r.norm_factor.dtype() != t || r.norm_factor.size() != x->n_obs())
    throw ValueError("normalize_total: the size factors do not match the matrix");
  return dispatch_dtype(t, [&](auto tag) -> SourcePtr {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      // Scanpy divides zero-count cells by 1, leaving them unchanged.
      std::vector<T> divisor(r.norm_factor.as<T>().begin(), r.norm_factor.as<T>().end());
      for (auto& d : divisor)
        if (d == 0) d = T(1);
      auto shared = std::make_shared<const std::vector<T>>(std::move(divisor));
      return std::make_shared<TransformedRowSource>(std::move(x), t, [shared](Element& b, int64_t start) {
        to_work_dtype(b);
        divide_rows<T>(b, start, *shared);
      });
    } else {
      throw Error("normalize_total: unexpected work dtype");
    }
  });
}

SourcePtr log1p(SourcePtr x, std::optional<double> base) {
  if (base && (!(*base > 0) || *base == 1.0))
    throw ValueError("log1p: base must be positive and different from 1 (got " + std::to_string(*base) + ")");
  // Integer data become float64, float data keep their dtype (pp.log1p).
  const DType t = dtype_is_float(x->dtype()) ? x->dtype() : DType::Float64;
  return std::make_shared<TransformedRowSource>(std::move(x), t, [base](Element& b, int64_t) {
    if (b.is<SparseMatrix>()) pp::log1p(b.get<SparseMatrix>(), base);
    else pp::log1p(b.get<Array>(), base);
  });
}

SourcePtr normalize_total(AnnData& meta, SourcePtr x, const NormalizeTotalOptions& opts, const RowBlockOptions& blocks) {
  if (opts.layer) throw ValueError("normalize_total: layers are not available on a backed X");
  NormalizeTotalResult r = normalize_total_factors(*x, opts, blocks);
  if (opts.key_added) meta.obs.set(*opts.key_added, r.norm_factor);
  return normalized(std::move(x), r);
}

SourcePtr log1p(AnnData& meta, SourcePtr x, std::optional<double> base) {
  if (meta.uns.count("log1p")) detail::warn("log1p: adata.X seems to be already log-transformed.");
  SourcePtr out = log1p(std::move(x), base);
  Dict d;
  if (base) d["base"] = Array::scalar(*base);
  meta.uns["log1p"] = Element(std::move(d));
  return out;
}

void write_h5ad_from_blocks(const AnnData& meta, const RowBlockSource& x, const std::string& path,
                            const io::WriteH5adOptions& wopts, const RowBlockOptions& blocks) {
  if (x.n_obs() != meta.n_obs() || x.n_vars() != meta.n_vars())
    throw ValueError("write: the backed X (" + std::to_string(x.n_obs()) + " x " + std::to_string(x.n_vars()) +
                     ") does not match obs x var (" + std::to_string(meta.n_obs()) + " x " +
                     std::to_string(meta.n_vars()) + ")");
  io::H5adCsrWriter w(path, x.n_vars(), x.dtype(), wopts);
  for_each_row_block(x, blocks, [&](Element& b, int64_t, int64_t) {
    if (b.is<SparseMatrix>()) w.append(b.get<SparseMatrix>());
    else w.append(dense_to_csr(b.get<Array>()));
  });
  w.finish(meta);
}

}  // namespace scanpp::pp::backed
