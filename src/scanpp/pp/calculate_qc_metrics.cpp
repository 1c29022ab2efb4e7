#include "scanpp/pp/calculate_qc_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/detail/rows.hpp"

namespace scanpp::pp {

using namespace detail;

namespace detail {
// log1p with the precision of the column it is applied to (numpy computes a
// float32 column's log1p in float32).
Array log1p_column(const Array& a) {
  // Element by element in parallel (a gene column has tens of thousands).
  const auto apply = [](auto s) {
    parallel_blocks(static_cast<int64_t>(s.size()), 4096, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) s[static_cast<size_t>(i)] = std::log1p(s[static_cast<size_t>(i)]);
    });
  };
  if (a.dtype() == DType::Float32) {
    Array out = a;
    apply(out.as<float>());
    return out;
  }
  Array out = a.astype(DType::Float64);
  apply(out.as<double>());
  return out;
}
}  // namespace detail

namespace {

std::vector<std::string> range_index(int64_t n) {
  std::vector<std::string> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = std::to_string(i);
  return v;
}


// numpy's a / b * 100 for two columns of the sum dtype.
Array percent_column(const Array& part, const Array& total) {
  if (part.dtype() == DType::Float32) {
    Array out(DType::Float32, part.shape());
    auto p = part.as<float>();
    auto t = total.as<float>();
    auto o = out.as<float>();
    for (size_t i = 0; i < o.size(); ++i) o[i] = (p[i] / t[i]) * 100.0f;
    return out;
  }
  Array out(DType::Float64, part.shape());
  auto o = out.as<double>();
  for (size_t i = 0; i < o.size(); ++i) o[i] = part.get_double(static_cast<int64_t>(i)) / total.get_double(static_cast<int64_t>(i)) * 100.0;
  return out;
}

void check_percent_top(const std::vector<int64_t>& ns, int64_t n_vars) {
  for (auto n : ns)
    if (n <= 0 || n > n_vars)
      throw ValueError("calculate_qc_metrics: percent_top value " + std::to_string(n) +
                       " is outside the range of features [1, " + std::to_string(n_vars) +
                       "] (Scanpy: IndexError 'Positions outside range of features.')");
}

// Sums of the largest values of one row for each n in `ns` (ascending),
// without sorting the row: count data are mostly small integers, so values
// that are integers in [0, kBins) go to a histogram and only the rest (large
// or fractional values, a few per cell) are sorted. The sums run in
// descending value order in double; for integer data they are exact. Four
// interleaved histograms keep runs of equal values (mostly 1s) from
// serialising on one counter.
class TopSums {
 public:
  static constexpr int kBins = 128;
  static constexpr int kWays = 4;
  void clear() {
    std::fill(hist_.begin(), hist_.end(), 0);
    other_.clear();
    m_ = 0;
  }
  [[gnu::always_inline]] void add(double d, int64_t way) {
    if (d >= 0 && d < kBins) {
      const int i = static_cast<int>(d);
      if (static_cast<double>(i) == d) {
        ++hist_[static_cast<size_t>((way & (kWays - 1)) * kBins + i)];
        return;
      }
    }
    other_.push_back(d);
  }
  void set_count(int64_t m) { m_ = m; }
  void add_zeros(int64_t k) { hist_[0] += static_cast<uint32_t>(k); }
  // out[j] = sum of the min(m, ns[j]) largest values.
  void sums(const std::vector<int64_t>& ns, double* out) {
    uint32_t* h = hist_.data();
    for (int w = 1; w < kWays; ++w)
      for (int i = 0; i < kBins; ++i) h[i] += h[w * kBins + i];
    std::sort(other_.begin(), other_.end(), std::greater<>());
    size_t oi = 0;
    int bin = kBins - 1;
    int64_t taken = 0;
    double acc = 0;
    for (size_t j = 0; j < ns.size(); ++j) {
      const int64_t target = std::min<int64_t>(m_, ns[j]);
      while (taken < target) {
        while (bin >= 0 && h[bin] == 0) --bin;
        if (oi < other_.size() && (bin < 0 || other_[oi] >= static_cast<double>(bin))) {
          acc += other_[oi++];
          ++taken;
          continue;
        }
        const int64_t t = std::min<int64_t>(h[bin], target - taken);
        acc += static_cast<double>(bin) * static_cast<double>(t);
        h[bin] -= static_cast<uint32_t>(t);
        taken += t;
      }
      out[j] = acc;
    }
  }

 private:
  std::vector<uint32_t> hist_ = std::vector<uint32_t>(static_cast<size_t>(kBins) * kWays, 0);
  std::vector<double> other_;
  int64_t m_ = 0;
};

// The frames' row labels: obs_names / var_names where given (AnnData level),
// else '0', '1', ...
struct FrameIndex {
  const std::vector<std::string>* obs = nullptr;
  const std::vector<std::string>* var = nullptr;
};

template <class Rows>
QcMetrics qc_kernel(const Rows& v, const std::vector<std::pair<std::string, std::vector<bool>>>& qc_masks,
                    const CalculateQcMetricsOptions& o, DType n_genes_dtype, DType mean_dtype, FrameIndex ix) {
  using T = typename Rows::value_type;
  const int64_t n = v.n_rows, p = v.n_cols;
  const DType sdt = sum_dtype_of<T>();
  for (const auto& [name, mask] : qc_masks)
    if (static_cast<int64_t>(mask.size()) != p)
      throw ValueError("calculate_qc_metrics: qc_var '" + name + "' has " + std::to_string(mask.size()) +
                       " entries, expected " + std::to_string(p));
  std::vector<int64_t> ns;
  if (o.percent_top && !o.percent_top->empty()) {
    ns = *o.percent_top;
    std::sort(ns.begin(), ns.end());
    check_percent_top(ns, p);
  }
  const size_t nq = qc_masks.size();
  // Byte masks: std::vector<bool> costs a shift and a mask per lookup in the hot loop.
  std::vector<uint8_t> in_any(static_cast<size_t>(p), 0);
  std::vector<std::vector<uint8_t>> in_q(nq, std::vector<uint8_t>(static_cast<size_t>(p), 0));
  for (size_t q = 0; q < nq; ++q)
    for (size_t c = 0; c < static_cast<size_t>(p); ++c)
      if (qc_masks[q].second[c]) in_q[q][c] = in_any[c] = 1;
  std::vector<double> n_genes(static_cast<size_t>(n)), total(static_cast<size_t>(n));
  std::vector<std::vector<double>> qtot(nq, std::vector<double>(static_cast<size_t>(n)));
  std::vector<std::vector<double>> top(ns.size(), std::vector<double>(static_cast<size_t>(n)));

  // One pass over the rows for the per-cell and the per-gene numbers. Per-gene
  // counts and sums go to private arrays per fixed row block, added in block
  // order afterwards: the same additions in the same order as a row-ordered
  // sweep, for any thread count.
  const int64_t block = row_block_size(n);
  const int64_t nblocks = n == 0 ? 0 : (n + block - 1) / block;
  std::vector<std::vector<uint32_t>> cnt_parts(static_cast<size_t>(nblocks));
  std::vector<std::vector<double>> sum_parts(static_cast<size_t>(nblocks));
  parallel_blocks(n, block, [&](int64_t a, int64_t b) {
    std::vector<uint32_t> colcnt(static_cast<size_t>(p), 0);
    std::vector<double> colsum(static_cast<size_t>(p), 0.0);
    TopSums topsums;
    std::vector<double> qs(nq), tops(ns.size());
    for (int64_t r = a; r < b; ++r) {
      const RowRef<T> row = row_ref(v, r);
      const bool want_top = !ns.empty();
      if (want_top) topsums.clear();
      std::fill(qs.begin(), qs.end(), 0.0);
      int64_t cnt = 0;
      // Four partial sums break the add-latency chain; for count data (integers)
      // the total is exact in any order.
      double s4[4] = {0, 0, 0, 0};
      for (int64_t k = 0; k < row.len; ++k) {
        const double d = to_double(row.x[k]);
        if (d == 0.0) continue;
        const size_t ci = static_cast<size_t>(row.col(k));
        ++cnt;
        s4[k & 3] += d;
        ++colcnt[ci];
        colsum[ci] += d;
        if (in_any[ci])
          for (size_t q = 0; q < nq; ++q)
            if (in_q[q][ci]) qs[q] += d;
        if (want_top) topsums.add(d, k);
      }
      const double s = (s4[0] + s4[1]) + (s4[2] + s4[3]);
      const int64_t zeros = row.len - cnt;
      const size_t ri = static_cast<size_t>(r);
      n_genes[ri] = static_cast<double>(cnt);
      // Totals carry the sum dtype (float32 for float32 data), as numpy's do.
      const double tot = round_to<T>(s);
      total[ri] = tot;
      for (size_t q = 0; q < nq; ++q) qtot[q][ri] = qs[q];
      if (!ns.empty()) {
        // A sparse row ranks its stored values only; a dense row all of them.
        topsums.set_count(Rows::sparse ? cnt : row.len);
        if (!Rows::sparse) topsums.add_zeros(zeros);
        topsums.sums(ns, tops.data());
        for (size_t j = 0; j < ns.size(); ++j) top[j][ri] = round_to<T>(tops[j]) / tot;
      }
    }
    cnt_parts[static_cast<size_t>(a / block)] = std::move(colcnt);
    sum_parts[static_cast<size_t>(a / block)] = std::move(colsum);
  });
  std::vector<double> colstats(2 * static_cast<size_t>(p), 0.0);
  for (int64_t k = 0; k < nblocks; ++k)
    for (size_t c = 0; c < static_cast<size_t>(p); ++c) {
      colstats[2 * c] += static_cast<double>(cnt_parts[static_cast<size_t>(k)][c]);
      colstats[2 * c + 1] += sum_parts[static_cast<size_t>(k)][c];
    }

  QcMetrics out{DataFrame(ix.obs ? *ix.obs : range_index(n)), DataFrame(ix.var ? *ix.var : range_index(p))};
  const std::string& et = o.expr_type;
  const std::string& vt = o.var_type;
  {
    Array ng = array_of(n_genes, n_genes_dtype);
    out.obs.set("n_" + vt + "_by_" + et, ng);
    if (o.log1p) out.obs.set("log1p_n_" + vt + "_by_" + et, log1p_column(ng.astype(DType::Float64)));
    Array tot = array_of(total, sdt);
    out.obs.set("total_" + et, tot);
    if (o.log1p) out.obs.set("log1p_total_" + et, log1p_column(tot));
    for (size_t j = 0; j < ns.size(); ++j) {
      std::vector<double> pct = top[j];
      for (auto& x : pct) x *= 100.0;
      out.obs.set("pct_" + et + "_in_top_" + std::to_string(ns[j]) + "_" + vt, Array::from_vector(pct));
    }
    for (size_t q = 0; q < nq; ++q) {
      const std::string& name = qc_masks[q].first;
      Array qt = array_of(qtot[q], sdt);
      out.obs.set("total_" + et + "_" + name, qt);
      if (o.log1p) out.obs.set("log1p_total_" + et + "_" + name, log1p_column(qt));
      out.obs.set("pct_" + et + "_" + name, percent_column(qt, tot));
    }
  }
  {
    std::vector<double> ncells(static_cast<size_t>(p)), sums(static_cast<size_t>(p)), means(static_cast<size_t>(p)),
        dropout(static_cast<size_t>(p));
    for (int64_t c = 0; c < p; ++c) {
      const size_t i = static_cast<size_t>(c);
      ncells[i] = colstats[2 * i];
      sums[i] = colstats[2 * i + 1];
      means[i] = sums[i] / static_cast<double>(n);
      dropout[i] = (1.0 - ncells[i] / static_cast<double>(n)) * 100.0;
    }
    out.var.set("n_cells_by_" + et, array_of(ncells, DType::Int64));
    Array mean = array_of(means, mean_dtype);
    out.var.set("mean_" + et, mean);
    if (o.log1p) out.var.set("log1p_mean_" + et, log1p_column(mean));
    out.var.set("pct_dropout_by_" + et, Array::from_vector(dropout));
    Array tot = array_of(sums, sdt);
    out.var.set("total_" + et, tot);
    if (o.log1p) out.var.set("log1p_total_" + et, log1p_column(tot));
  }
  return out;
}

QcMetrics qc_sparse(const SparseMatrix& x, const std::vector<std::pair<std::string, std::vector<bool>>>& qc_masks,
                    const CalculateQcMetricsOptions& opts, FrameIndex ix) {
  // scipy: getnnz(axis=1) of a CSR is diff(indptr) (int32 below 2^31 entries);
  // of a CSC a bincount (int64). Gene means come from float64 accumulators.
  const DType ng = x.format == SparseFormat::CSR && x.nnz() < std::numeric_limits<int32_t>::max() ? DType::Int32
                                                                                                   : DType::Int64;
  return with_rows(x, [&](const auto& v) { return qc_kernel(v, qc_masks, opts, ng, DType::Float64, ix); });
}

QcMetrics qc_dense(const Array& x, const std::vector<std::pair<std::string, std::vector<bool>>>& qc_masks,
                   const CalculateQcMetricsOptions& opts, FrameIndex ix) {
  // numpy: count_nonzero gives int64; X.mean(axis=0) keeps a float dtype.
  const DType mean_dt = dtype_is_float(x.dtype()) ? x.dtype() : DType::Float64;
  return with_rows(x, [&](const auto& v) { return qc_kernel(v, qc_masks, opts, DType::Int64, mean_dt, ix); });
}

}  // namespace

QcMetrics qc_metrics(const SparseMatrix& x, const std::vector<std::pair<std::string, std::vector<bool>>>& qc_masks,
                     const CalculateQcMetricsOptions& opts) {
  return qc_sparse(x, qc_masks, opts, {});
}

QcMetrics qc_metrics(const Array& x, const std::vector<std::pair<std::string, std::vector<bool>>>& qc_masks,
                     const CalculateQcMetricsOptions& opts) {
  return qc_dense(x, qc_masks, opts, {});
}

void eliminate_zeros(SparseMatrix& m) {
  dispatch_dtype(m.dtype(), [&](auto t) {
    using T = decltype(t);
    auto d = m.data.as<T>();
    // Usually there is nothing to remove: find out in parallel before the serial compaction.
    const int64_t zeros = parallel_reduce_blocks(m.nnz(), int64_t{1} << 16, int64_t{0}, [&](int64_t a, int64_t b) {
      int64_t z = 0;
      const T* dp = d.data();
#pragma omp simd reduction(+ : z)
      for (int64_t k = a; k < b; ++k) z += static_cast<int64_t>(to_double(dp[k]) == 0.0);
      return z;
    });
    if (zeros == 0) return;
    int64_t w = 0;
    const int64_t nmaj = m.n_major();
    int64_t start = 0;
    for (int64_t r = 0; r < nmaj; ++r) {
      const int64_t end = m.indptr[static_cast<size_t>(r + 1)];
      for (int64_t k = start; k < end; ++k) {
        if (to_double(d[static_cast<size_t>(k)]) == 0.0) continue;
        d[static_cast<size_t>(w)] = d[static_cast<size_t>(k)];
        m.indices[static_cast<size_t>(w)] = m.indices[static_cast<size_t>(k)];
        ++w;
      }
      start = end;
      m.indptr[static_cast<size_t>(r + 1)] = w;
    }
    if (w == m.nnz()) return;
    m.indices.resize(static_cast<size_t>(w));
    Array nd(m.dtype(), {w});
    std::copy(d.begin(), d.begin() + w, nd.as<T>().begin());
    m.data = std::move(nd);
  });
}

QcMetrics calculate_qc_metrics(AnnData& adata, const CalculateQcMetricsOptions& opts) {
  if (opts.use_raw && opts.layer)
    throw ValueError("calculate_qc_metrics: cannot use expression from both layer and raw (use_raw=True, layer='" +
                     *opts.layer + "')");
  Element* xp = nullptr;
  const DataFrame* genes = &adata.var;
  if (opts.use_raw) {
    if (!adata.raw || !adata.raw->X) throw ValueError("calculate_qc_metrics: use_raw=True but adata.raw is not set");
    xp = &*adata.raw->X;
    genes = &adata.raw->var;
  } else {
    xp = &obs_rep(adata, opts.layer, "calculate_qc_metrics");
  }
  std::vector<std::pair<std::string, std::vector<bool>>> masks;
  for (const auto& q : opts.qc_vars) {
    if (!genes->has(q)) throw KeyError("calculate_qc_metrics: qc_var '" + q + "' is not a column of var");
    masks.emplace_back(q, genes->boolean(q));
  }
  // The frames are built with obs_names / var_names as their index (no
  // '0', '1', ... labels made and replaced) where the lengths fit; otherwise
  // set_index below reports the mismatch as it always did.
  FrameIndex ix;
  if (is_matrix(*xp)) {
    if (static_cast<int64_t>(adata.obs_names().size()) == matrix_rows(*xp)) ix.obs = &adata.obs_names();
    if (static_cast<int64_t>(genes->index().size()) == matrix_cols(*xp)) ix.var = &genes->index();
  }
  QcMetrics m;
  if (xp->is<SparseMatrix>()) {
    eliminate_zeros(xp->get<SparseMatrix>());
    m = qc_sparse(xp->get<SparseMatrix>(), masks, opts, ix);
  } else if (xp->is<Array>()) {
    m = qc_dense(xp->get<Array>(), masks, opts, ix);
  } else {
    throw ValueError(std::string("calculate_qc_metrics: the expression matrix is a ") + xp->kind());
  }
  if (!ix.obs) m.obs.set_index(adata.obs_names());
  if (!ix.var) m.var.set_index(genes->index());
  if (opts.inplace) {
    if (m.var.n_rows() != adata.n_vars())
      throw ValueError("calculate_qc_metrics: raw has " + std::to_string(m.var.n_rows()) + " genes but adata has " +
                       std::to_string(adata.n_vars()) + "; per-gene metrics cannot be written into adata.var");
    for (const auto& [name, col] : m.obs.columns()) adata.obs.set(name, col);
    for (const auto& [name, col] : m.var.columns()) adata.var.set(name, col);
  }
  return m;
}

}  // namespace scanpp::pp
