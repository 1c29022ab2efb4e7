// calculate_qc_metrics, filter_cells and filter_genes over row blocks.
#include <cmath>
#include <cstring>
#include <limits>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/backed.hpp"
#include "scanpp/pp/backed_column_sums.hpp"
#include "scanpp/pp/calculate_qc_metrics.hpp"
#include "scanpp/pp/detail/rows.hpp"

namespace scanpp::pp::backed {

using backed_detail::OrderedColumnSums;
using detail::with_rows;
using detail::log1p_column;

namespace {

std::vector<std::string> range_index(int64_t n) {
  std::vector<std::string> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = std::to_string(i);
  return v;
}

// Numeric columns of per-block frames, concatenated in block order.
class FrameConcat {
 public:
  void add(const DataFrame& df) {
    if (names_.empty() && rows_ == 0)
      for (const auto& [name, col] : df.columns()) {
        names_.push_back(name);
        dtypes_.push_back(std::get<Array>(col).dtype());
        bytes_.emplace_back();
      }
    for (size_t c = 0; c < names_.size(); ++c) {
      const Array& a = std::get<Array>(df.at(names_[c]));
      if (a.dtype() != dtypes_[c]) throw Error("qc_metrics: a column's dtype differs between blocks");
      const auto* p = static_cast<const std::byte*>(a.raw());
      bytes_[c].insert(bytes_[c].end(), p, p + a.nbytes());
    }
    rows_ += df.n_rows();
  }
  DataFrame frame() const {
    DataFrame df(range_index(rows_));
    for (size_t c = 0; c < names_.size(); ++c) {
      Array a(dtypes_[c], {rows_});
      if (!bytes_[c].empty()) std::memcpy(a.raw(), bytes_[c].data(), bytes_[c].size());
      df.set(names_[c], std::move(a));
    }
    return df;
  }

 private:
  std::vector<std::string> names_;
  std::vector<DType> dtypes_;
  std::vector<std::vector<std::byte>> bytes_;
  int64_t rows_ = 0;
};


Element empty_like(const RowBlockSource& x) {
  if (x.is_sparse()) {
    SparseMatrix m;
    m.n_cols = x.n_vars();
    m.data = Array(x.dtype(), {0});
    return m;
  }
  return Array(x.dtype(), {0, x.n_vars()});
}

constexpr int64_t kBatchRows = 256;

}  // namespace

QcMetrics qc_metrics(const RowBlockSource& x, const std::vector<std::pair<std::string, std::vector<bool>>>& qc_masks,
                     const CalculateQcMetricsOptions& opts, const RowBlockOptions& blocks) {
  const int64_t n = x.n_obs(), p = x.n_vars();
  const bool sparse = x.is_sparse();
  OrderedColumnSums sums(n, static_cast<size_t>(2 * p));
  FrameConcat obs;
  int64_t nnz = 0;
  // Validates options and fixes the column set even for zero cells.
  {
    Element e = empty_like(x);
    QcMetrics m = e.is<SparseMatrix>() ? pp::qc_metrics(e.get<SparseMatrix>(), qc_masks, opts)
                                       : pp::qc_metrics(e.get<Array>(), qc_masks, opts);
    obs.add(m.obs);
  }
  // The per-cell kernel runs on batches of at least kBatchRows rows: each
  // call also builds per-gene frames, which would dominate for tiny blocks.
  std::vector<Element> batch;
  int64_t batch_rows = 0;
  const auto flush = [&] {
    if (batch.empty()) return;
    Element e = concat_rows(batch);
    batch.clear();
    batch_rows = 0;
    QcMetrics m = e.is<SparseMatrix>() ? pp::qc_metrics(e.get<SparseMatrix>(), qc_masks, opts)
                                       : pp::qc_metrics(e.get<Array>(), qc_masks, opts);
    obs.add(m.obs);
  };
  for_each_row_block(x, blocks, [&](Element& b, int64_t start, int64_t end) {
    if (b.is<SparseMatrix>()) {
      SparseMatrix& s = b.get<SparseMatrix>();
      eliminate_zeros(s);
      nnz += s.nnz();
    }
    with_rows(b, [&](const auto& v) {
      sums.add(v, start, [](int64_t c, auto val, double* slots) {
        const double d = to_double(val);
        if (d == 0.0) return;
        slots[2 * c] += 1.0;
        slots[2 * c + 1] += d;
      });
    });
    batch_rows += end - start;
    batch.push_back(std::move(b));
    if (batch_rows >= kBatchRows) flush();
  });
  flush();

  QcMetrics out{obs.frame(), DataFrame(range_index(p))};
  // scipy's getnnz(axis=1) is int32 below 2^31 stored values of the whole matrix.
  const std::string ng = "n_" + opts.var_type + "_by_" + opts.expr_type;
  if (sparse && nnz >= std::numeric_limits<int32_t>::max())
    out.obs.set(ng, std::get<Array>(out.obs.at(ng)).astype(DType::Int64));

  const std::vector<double>& cs = sums.result();
  const DType sdt = detail::sum_dtype(x.dtype());
  const DType mean_dt = sparse ? DType::Float64 : (dtype_is_float(x.dtype()) ? x.dtype() : DType::Float64);
  std::vector<double> ncells(static_cast<size_t>(p)), total(static_cast<size_t>(p)), means(static_cast<size_t>(p)),
      dropout(static_cast<size_t>(p));
  for (size_t i = 0; i < static_cast<size_t>(p); ++i) {
    ncells[i] = cs[2 * i];
    total[i] = cs[2 * i + 1];
    means[i] = total[i] / static_cast<double>(n);
    dropout[i] = (1.0 - ncells[i] / static_cast<double>(n)) * 100.0;
  }
  const std::string& et = opts.expr_type;
  out.var.set("n_cells_by_" + et, detail::array_of(ncells, DType::Int64));
  Array mean = detail::array_of(means, mean_dt);
  out.var.set("mean_" + et, mean);
  if (opts.log1p) out.var.set("log1p_mean_" + et, log1p_column(mean));
  out.var.set("pct_dropout_by_" + et, Array::from_vector(dropout));
  Array tot = detail::array_of(total, sdt);
  out.var.set("total_" + et, tot);
  if (opts.log1p) out.var.set("log1p_total_" + et, log1p_column(tot));
  return out;
}

FilterResult filter_cells(const RowBlockSource& x, const FilterCellsOptions& opts, const RowBlockOptions& blocks) {
  FilterResult out;
  std::vector<std::byte> number;
  DType ndt = DType::Int64;
  bool first = true;
  const auto add = [&](const FilterResult& r) {
    out.keep.insert(out.keep.end(), r.keep.begin(), r.keep.end());
    if (first) ndt = r.number.dtype();
    first = false;
    const auto* p = static_cast<const std::byte*>(r.number.raw());
    number.insert(number.end(), p, p + r.number.nbytes());
  };
  {
    Element e = empty_like(x);  // checks the thresholds, fixes the number's dtype
    add(e.is<SparseMatrix>() ? pp::filter_cells(e.get<SparseMatrix>(), opts) : pp::filter_cells(e.get<Array>(), opts));
  }
  for_each_row_block(x, blocks, [&](Element& b, int64_t, int64_t) {
    add(b.is<SparseMatrix>() ? pp::filter_cells(b.get<SparseMatrix>(), opts) : pp::filter_cells(b.get<Array>(), opts));
  });
  out.number = Array(ndt, {static_cast<int64_t>(out.keep.size())});
  if (!number.empty()) std::memcpy(out.number.raw(), number.data(), number.size());
  return out;
}

FilterResult filter_genes(const RowBlockSource& x, const FilterGenesOptions& opts, const RowBlockOptions& blocks) {
  {
    Element e = empty_like(x);  // Scanpy's errors for zero or several thresholds
    if (e.is<SparseMatrix>()) pp::filter_genes(e.get<SparseMatrix>(), opts);
    else pp::filter_genes(e.get<Array>(), opts);
  }
  const bool by_count = opts.min_cells || opts.max_cells;
  const bool is_min = opts.min_cells || opts.min_counts;
  const double value = opts.min_cells   ? static_cast<double>(*opts.min_cells)
                       : opts.max_cells ? static_cast<double>(*opts.max_cells)
                       : opts.min_counts ? *opts.min_counts
                                         : *opts.max_counts;
  const int64_t p = x.n_vars();
  OrderedColumnSums sums(x.n_obs(), static_cast<size_t>(p));
  for_each_row_block(x, blocks, [&](Element& b, int64_t start, int64_t) {
    with_rows(b, [&](const auto& v) {
      sums.add(v, start, [&](int64_t c, auto val, double* slots) {
        const double d = to_double(val);
        slots[c] += by_count ? (d > 0 ? 1.0 : 0.0) : d;
      });
    });
  });
  std::vector<double> number = sums.result();
  const bool f32 = x.dtype() == DType::Float32;
  if (!by_count && f32)
    for (auto& s : number) s = static_cast<double>(static_cast<float>(s));
  FilterResult out;
  out.keep.resize(number.size());
  for (size_t i = 0; i < number.size(); ++i) {
    // numpy compares a float32 array with a Python number in float32.
    if (!by_count && f32) {
      const float a = static_cast<float>(number[i]), t = static_cast<float>(value);
      out.keep[i] = is_min ? a >= t : a <= t;
    } else {
      out.keep[i] = is_min ? number[i] >= value : number[i] <= value;
    }
  }
  out.number = detail::array_of(number, by_count ? DType::Int64 : detail::sum_dtype(x.dtype()));
  return out;
}

QcMetrics calculate_qc_metrics(AnnData& meta, const RowBlockSource& x, const CalculateQcMetricsOptions& opts,
                               const RowBlockOptions& blocks) {
  if (opts.layer || opts.use_raw)
    throw ValueError("calculate_qc_metrics: on a backed X only X itself can be used (no layer, no use_raw)");
  std::vector<std::pair<std::string, std::vector<bool>>> masks;
  for (const auto& q : opts.qc_vars) {
    if (!meta.var.has(q)) throw KeyError("calculate_qc_metrics: qc_var '" + q + "' is not a column of var");
    masks.emplace_back(q, meta.var.boolean(q));
  }
  QcMetrics m = qc_metrics(x, masks, opts, blocks);
  m.obs.set_index(meta.obs_names());
  m.var.set_index(meta.var_names());
  if (opts.inplace) {
    for (const auto& [name, col] : m.obs.columns()) meta.obs.set(name, col);
    for (const auto& [name, col] : m.var.columns()) meta.var.set(name, col);
  }
  return m;
}

FilterResult filter_cells(AnnData& meta, const RowBlockSource& x, const FilterCellsOptions& opts,
                          const RowBlockOptions& blocks) {
  FilterResult r = filter_cells(x, opts, blocks);
  if (opts.inplace) meta.obs.set(opts.min_genes || opts.max_genes ? "n_genes" : "n_counts", r.number);
  return r;
}

FilterResult filter_genes(AnnData& meta, const RowBlockSource& x, const FilterGenesOptions& opts,
                          const RowBlockOptions& blocks) {
  FilterResult r = filter_genes(x, opts, blocks);
  if (opts.inplace) meta.var.set(opts.min_cells || opts.max_cells ? "n_cells" : "n_counts", r.number);
  return r;
}

SourcePtr subset(AnnData& meta, SourcePtr x, const std::optional<std::vector<int64_t>>& obs,
                 const std::optional<std::vector<int64_t>>& var) {
  if (x->n_obs() != meta.n_obs() || x->n_vars() != meta.n_vars())
    throw ValueError("subset: the backed X does not match obs x var");
  meta.subset_inplace(obs, var);
  return std::make_shared<SubsetRowSource>(std::move(x), obs, var);
}

}  // namespace scanpp::pp::backed
