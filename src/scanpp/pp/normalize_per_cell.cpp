#include "scanpp/pp/normalize_per_cell.hpp"

#include <algorithm>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pp/detail/rows.hpp"
#include "scanpp/pp/filter.hpp"

namespace scanpp::pp {

namespace {

// np.median of a T array: the mean of the two middle values, in T.
template <class T>
T median_in(std::vector<T> v) {
  if (v.empty()) throw ValueError("normalize_per_cell: no cells left to take the median total of");
  const size_t h = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(h), v.end());
  const T hi = v[h];
  if (v.size() % 2) return hi;
  const T lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(h));
  return static_cast<T>(static_cast<T>(lo + hi) / T(2));
}

// Scanpy: counts += counts == 0; counts /= after; then X /= counts (dense)
// or X.data *= 1 / counts (sparse, sklearn's inplace_row_scale), all in T.
template <class T>
void scale_rows(Element& x, const std::vector<double>& counts, std::optional<double> after) {
  std::vector<T> c(counts.size());
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<T>(counts[i]);
  const T target = after ? static_cast<T>(*after) : median_in(c);
  for (auto& v : c) {
    if (v == 0) v = T(1);
    v = static_cast<T>(v / target);
  }
  if (x.is<SparseMatrix>()) {
    SparseMatrix& m = x.get<SparseMatrix>();
    auto data = m.data.as<T>();
    const int64_t* ip = m.indptr.data();
    parallel_for(m.n_rows, [&](int64_t r) {
      const T s = static_cast<T>(T(1) / c[static_cast<size_t>(r)]);
      for (int64_t k = ip[r]; k < ip[r + 1]; ++k) data[static_cast<size_t>(k)] = static_cast<T>(data[static_cast<size_t>(k)] * s);
    });
  } else {
    Array& a = x.get<Array>();
    auto data = a.as<T>();
    const int64_t p = a.shape()[1];
    parallel_for(a.shape()[0], [&](int64_t r) {
      const T d = c[static_cast<size_t>(r)];
      for (int64_t j = 0; j < p; ++j) data[static_cast<size_t>(r * p + j)] = data[static_cast<size_t>(r * p + j)] / d;
    });
  }
}

// Per-cell totals as filter_cells(min_counts) computes them (X's sum dtype).
FilterResult totals(const Element& x, double min_counts) {
  const FilterCellsOptions f{.min_counts = min_counts, .inplace = false};
  if (x.is<SparseMatrix>()) return filter_cells(x.get<SparseMatrix>(), f);
  if (x.is<Array>()) return filter_cells(x.get<Array>(), f);
  throw ValueError(std::string("normalize_per_cell: the matrix to normalise is a ") + x.kind());
}

void to_float_csr(Element& x) {
  if (x.is<SparseMatrix>()) {
    SparseMatrix& m = x.get<SparseMatrix>();
    if (m.format == SparseFormat::CSC) m = convert_format(m, SparseFormat::CSR);
    if (!dtype_is_float(m.dtype())) m.data = m.data.astype(DType::Float32);
  } else if (x.is<Array>()) {
    Array& a = x.get<Array>();
    if (a.ndim() != 2) throw ValueError("normalize_per_cell: expected a 2-D matrix");
    if (!dtype_is_float(a.dtype())) a = a.astype(DType::Float32);
  } else {
    throw ValueError(std::string("normalize_per_cell: the matrix to normalise is a ") + x.kind());
  }
}

DType float_dtype(const Element& x) {
  return x.is<SparseMatrix>() ? x.get<SparseMatrix>().dtype() : x.get<Array>().dtype();
}

}  // namespace

void normalize_per_cell(Element& x, const std::vector<double>& counts, std::optional<double> after) {
  to_float_csr(x);
  const int64_t n = x.is<SparseMatrix>() ? x.get<SparseMatrix>().n_rows : x.get<Array>().shape()[0];
  if (static_cast<int64_t>(counts.size()) != n)
    throw ValueError("normalize_per_cell: " + std::to_string(counts.size()) + " totals for " + std::to_string(n) + " cells");
  if (float_dtype(x) == DType::Float32) scale_rows<float>(x, counts, after);
  else scale_rows<double>(x, counts, after);
}

void normalize_per_cell(AnnData& adata, const NormalizePerCellOptions& opts) {
  if (!adata.X) throw ValueError("normalize_per_cell: adata has no X");
  if (opts.use_rep && *opts.use_rep != "after" && *opts.use_rep != "X")
    throw ValueError("normalize_per_cell: use_rep should be \"after\", \"X\" or None");
  std::vector<std::string> layers = opts.layers;
  if (opts.all_layers) {
    layers.clear();
    for (const auto& kv : adata.layers) layers.push_back(kv.first);
  }
  for (const auto& l : layers)
    if (!adata.layers.count(l)) throw KeyError("normalize_per_cell: no layer '" + l + "'");
  to_float_csr(*adata.X);
  FilterResult t = totals(*adata.X, opts.min_counts);
  adata.obs.set(opts.key_n_counts, t.number);
  adata.subset_inplace(indices_from_mask(t.keep), std::nullopt);
  std::vector<double> kept;
  const std::vector<double> all = column_as_double(Column(t.number), "n_counts");
  for (size_t i = 0; i < all.size(); ++i)
    if (t.keep[i]) kept.push_back(all[i]);
  normalize_per_cell(*adata.X, kept, opts.counts_per_cell_after);

  std::optional<double> layer_after;
  if (opts.use_rep == "after") layer_after = opts.counts_per_cell_after;
  if (opts.use_rep == "X") {
    // Scanpy indexes the already-subset totals with the mask again; the
    // median of the kept cells' totals is what that intends.
    std::vector<double> k = kept;
    std::sort(k.begin(), k.end());
    const size_t h = k.size() / 2;
    layer_after = k.empty() ? 0.0 : (k.size() % 2 ? k[h] : (k[h - 1] + k[h]) / 2);
  }
  for (const auto& l : layers) {
    Element& m = adata.layers.at(l);
    to_float_csr(m);
    const FilterResult lt = totals(m, opts.min_counts);
    normalize_per_cell(m, column_as_double(Column(lt.number), "counts"), layer_after);
  }
}

}  // namespace scanpp::pp
