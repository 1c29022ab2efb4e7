#include "scanpp/pp/filter.hpp"

#include <sstream>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/detail/rows.hpp"

namespace scanpp::pp {

using namespace detail;

namespace {

// One threshold, as Scanpy resolves min_/max_ x counts/genes.
struct Threshold {
  bool by_count_of_positive = false;  // *_genes / *_cells
  bool is_min = true;
  double value = 0;
};

Threshold pick(std::optional<double> min_counts, std::optional<int64_t> min_n, std::optional<double> max_counts,
               std::optional<int64_t> max_n, const char* fn, const char* n_name) {
  const int given = int(min_counts.has_value()) + int(min_n.has_value()) + int(max_counts.has_value()) + int(max_n.has_value());
  if (given != 1) {
    std::ostringstream s;
    s << fn << ": only provide one of the optional parameters `min_counts`, `min_" << n_name << "`, `max_counts`, `max_"
      << n_name << "` per call (" << given << " given)";
    throw ValueError(s.str());
  }
  if (min_counts) return {false, true, *min_counts};
  if (min_n) return {true, true, static_cast<double>(*min_n)};
  if (max_counts) return {false, false, *max_counts};
  return {true, false, static_cast<double>(*max_n)};
}

// numpy compares a float32 array with a Python number in float32.
template <class T>
bool passes(double number, const Threshold& t) {
  if (!t.by_count_of_positive && std::is_same_v<T, float>) {
    const float a = static_cast<float>(number), b = static_cast<float>(t.value);
    return t.is_min ? a >= b : a <= b;
  }
  return t.is_min ? number >= t.value : number <= t.value;
}

template <class Rows>
FilterResult filter_axis(const Rows& v, const Threshold& t, bool by_rows) {
  using T = typename Rows::value_type;
  std::vector<double> number;
  if (by_rows) {
    number.assign(static_cast<size_t>(v.n_rows), 0.0);
    parallel_for(v.n_rows, [&](int64_t r) {
      const RowRef<T> row = row_ref(v, r);
      if (t.by_count_of_positive) {
        // An integer count: vectorisable, and exact in any order.
        int64_t k = 0;
#pragma omp simd reduction(+ : k)
        for (int64_t j = 0; j < row.len; ++j) k += static_cast<int64_t>(to_double(row.x[j]) > 0);
        number[static_cast<size_t>(r)] = static_cast<double>(k);
      } else {
        double s = 0;
        for (int64_t j = 0; j < row.len; ++j) s += to_double(row.x[j]);
        number[static_cast<size_t>(r)] = round_to<T>(s);
      }
    });
  } else if (t.by_count_of_positive) {
    // Per-gene counts in integer per-block partials (cheaper than double
    // slots); integer counts are exact in any grouping, so the blocks are
    // the balanced ones.
    const std::vector<int64_t> total = column_accumulate<uint32_t, int64_t>(
        v, 1, {}, [](int64_t c, T x, uint32_t* slots) { slots[c] += to_double(x) > 0 ? 1u : 0u; },
        exact_sum_block_size(v.n_rows));
    number.assign(total.begin(), total.end());
  } else {
    number = column_accumulate(v, 1, {}, [&](int64_t c, T x, double* slots) { slots[c] += to_double(x); });
    for (auto& s : number) s = round_to<T>(s);
  }
  FilterResult out;
  out.keep.resize(number.size());
  for (size_t i = 0; i < number.size(); ++i) out.keep[i] = passes<T>(number[i], t);
  out.number = array_of(number, t.by_count_of_positive ? DType::Int64 : sum_dtype_of<T>());
  return out;
}

template <class M>
FilterResult run(const M& x, const Threshold& t, bool by_rows) {
  return with_rows(x, [&](const auto& v) { return filter_axis(v, t, by_rows); });
}

FilterResult run_element(const Element& x, const Threshold& t, bool by_rows, const char* fn) {
  if (x.is<SparseMatrix>()) return run(x.get<SparseMatrix>(), t, by_rows);
  if (x.is<Array>()) return run(x.get<Array>(), t, by_rows);
  throw ValueError(std::string(fn) + ": X is a " + x.kind() + ", not a matrix");
}

Threshold cells_threshold(const FilterCellsOptions& o) {
  return pick(o.min_counts, o.min_genes, o.max_counts, o.max_genes, "filter_cells", "genes");
}
Threshold genes_threshold(const FilterGenesOptions& o) {
  return pick(o.min_counts, o.min_cells, o.max_counts, o.max_cells, "filter_genes", "cells");
}

}  // namespace

FilterResult filter_cells(const SparseMatrix& x, const FilterCellsOptions& opts) { return run(x, cells_threshold(opts), true); }
FilterResult filter_cells(const Array& x, const FilterCellsOptions& opts) { return run(x, cells_threshold(opts), true); }
FilterResult filter_genes(const SparseMatrix& x, const FilterGenesOptions& opts) { return run(x, genes_threshold(opts), false); }
FilterResult filter_genes(const Array& x, const FilterGenesOptions& opts) { return run(x, genes_threshold(opts), false); }

FilterResult filter_cells(AnnData& adata, const FilterCellsOptions& opts) {
  const Threshold t = cells_threshold(opts);
  if (!adata.X) throw ValueError("filter_cells: adata.X is empty");
  FilterResult r = run_element(*adata.X, t, true, "filter_cells");
  if (!opts.inplace) return r;
  adata.obs.set(t.by_count_of_positive ? "n_genes" : "n_counts", r.number);
  adata.subset_inplace(indices_from_mask(r.keep), std::nullopt);
  return r;
}

FilterResult filter_genes(AnnData& adata, const FilterGenesOptions& opts) {
  const Threshold t = genes_threshold(opts);
  if (!adata.X) throw ValueError("filter_genes: adata.X is empty");
  FilterResult r = run_element(*adata.X, t, false, "filter_genes");
  if (!opts.inplace) return r;
  adata.var.set(t.by_count_of_positive ? "n_cells" : "n_counts", r.number);
  adata.subset_inplace(std::nullopt, indices_from_mask(r.keep));
  return r;
}

}  // namespace scanpp::pp
