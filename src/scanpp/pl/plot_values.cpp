// Resolving a plot key to per-cell values, as Scanpy's plotting does.
#include "scanpp/pl/plot_values.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "scanpp/core/error.hpp"
#include "scanpp/pl/palettes.hpp"

namespace scanpp::pl {

namespace {

// Branch-free, so it vectorises: 16 indices per couple of instructions.
bool strictly_increasing(const int32_t* v, int64_t n) {
  int bad = 0;
#pragma omp simd reduction(| : bad)
  for (int64_t i = 1; i < n; ++i) bad |= v[i] <= v[i - 1];
  return bad == 0;
}

}  // namespace

std::vector<std::vector<double>> matrix_columns(const Element& X, std::span<const int64_t> cols) {
  int64_t nr = 0, nc = 0;
  if (X.is<SparseMatrix>()) {
    nr = X.get<SparseMatrix>().n_rows;
    nc = X.get<SparseMatrix>().n_cols;
  } else if (X.is<Array>()) {
    const Array& a = X.get<Array>();
    if (a.ndim() != 2) throw ValueError("expression matrix is not 2-D");
    nr = a.shape()[0];
    nc = a.shape()[1];
  } else {
    throw ValueError(std::string("cannot read expression from a matrix of kind ") + X.kind());
  }
  for (int64_t j : cols)
    if (j < 0 || j >= nc) throw KeyError("column " + std::to_string(j) + " is outside the matrix");
  std::vector<std::vector<double>> out(cols.size(), std::vector<double>(static_cast<size_t>(nr), 0.0));
  if (cols.empty()) return out;
  if (X.is<Array>()) {
    const Array& a = X.get<Array>();
    dispatch_dtype(a.dtype(), [&](auto t) {
      using T = decltype(t);
      const T* d = a.as<T>().data();
      for (size_t k = 0; k < cols.size(); ++k)
        for (int64_t r = 0; r < nr; ++r) out[k][static_cast<size_t>(r)] = to_double(d[r * nc + cols[k]]);
    });
    return out;
  }
  const SparseMatrix& m = X.get<SparseMatrix>();
  const int64_t* ptr = m.indptr.data();
  const int32_t* idx = m.indices.data();
  dispatch_dtype(m.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* d = m.data.as<T>().data();
    // Repeated indices add up, as scipy's toarray().
    if (m.format == SparseFormat::CSC) {
      for (size_t k = 0; k < cols.size(); ++k)
        for (int64_t p = ptr[cols[k]]; p < ptr[cols[k] + 1]; ++p) out[k][static_cast<size_t>(idx[p])] += to_double(d[p]);
      return;
    }
    // The requested columns in increasing order, each with its output slots.
    std::vector<std::pair<int64_t, int32_t>> want;
    for (size_t k = 0; k < cols.size(); ++k) want.emplace_back(cols[k], static_cast<int32_t>(k));
    std::sort(want.begin(), want.end());
    // Rows with strictly increasing indices (what scanpp and scipy write)
    // are binary-searched for each column; checking that is a branch-free
    // pass over the row's indices, far cheaper than looking up every stored
    // value. Other rows (unsorted, repeated indices) are scanned: a table
    // gives each column's first slot, further requests of it are chained.
    std::vector<int32_t> first, next;
    const auto scan_row = [&](int64_t r) {
      if (first.empty()) {
        first.assign(static_cast<size_t>(nc), -1);
        next.assign(cols.size(), -1);
        for (size_t k = cols.size(); k-- > 0;) {
          next[k] = first[static_cast<size_t>(cols[k])];
          first[static_cast<size_t>(cols[k])] = static_cast<int32_t>(k);
        }
      }
      for (int64_t p = ptr[r]; p < ptr[r + 1]; ++p)
        for (int32_t k = first[static_cast<size_t>(idx[p])]; k >= 0; k = next[static_cast<size_t>(k)])
          out[static_cast<size_t>(k)][static_cast<size_t>(r)] += to_double(d[p]);
    };
    for (int64_t r = 0; r < nr; ++r) {
      const int64_t b = ptr[r], e = ptr[r + 1];
      if (!strictly_increasing(idx + b, e - b)) {
        scan_row(r);
        continue;
      }
      const int32_t* lo = idx + b;
      const int32_t* const end = idx + e;
      for (const auto& [c, k] : want) {
        lo = std::lower_bound(lo, end, c);
        if (lo == end) break;
        if (*lo == c) out[static_cast<size_t>(k)][static_cast<size_t>(r)] += to_double(d[lo - idx]);
      }
    }
  });
  return out;
}

std::vector<double> matrix_column(const Element& X, int64_t j) {
  const int64_t one[1] = {j};
  return std::move(matrix_columns(X, one)[0]);
}

bool default_use_raw(const AnnData& ad, const std::string& layer) { return layer.empty() && ad.raw.has_value(); }

namespace {

// The matrix gene values come from: raw.X, a layer, or X.
const Element& expression_matrix(const AnnData& ad, bool use_raw, const std::string& layer) {
  if (use_raw) {
    if (!ad.raw->X) throw ValueError("raw has no X");
    return *ad.raw->X;
  }
  if (!layer.empty()) {
    auto l = ad.layers.find(layer);
    if (l == ad.layers.end()) throw KeyError("no layer '" + layer + "'");
    return l->second;
  }
  if (!ad.X) throw ValueError("the AnnData has no X");
  return *ad.X;
}

}  // namespace

std::vector<double> gene_values(const AnnData& ad, const std::string& gene, bool use_raw, const std::string& layer) {
  if (use_raw && !layer.empty()) throw ValueError("cannot use both a layer and the raw representation");
  if (use_raw && !ad.raw) throw ValueError("use_raw is true but the AnnData has no raw");
  const DataFrame& var = use_raw ? ad.raw->var : ad.var;
  const auto& names = var.index();
  const auto it = std::find(names.begin(), names.end(), gene);
  if (it == names.end())
    throw KeyError("'" + gene + "' is neither an obs column nor a gene in " + (use_raw ? "raw.var_names" : "var_names"));
  return matrix_column(expression_matrix(ad, use_raw, layer), it - names.begin());
}

std::vector<std::optional<std::vector<double>>> gene_values_prefetch(const AnnData& ad,
                                                                     const std::vector<std::string>& keys,
                                                                     bool use_raw, const std::string& layer) {
  std::vector<std::optional<std::vector<double>>> out(keys.size());
  // What gene_values would refuse is left to it, key by key, with its errors.
  if ((use_raw && !layer.empty()) || (use_raw && !ad.raw)) return out;
  const Element* m = nullptr;
  try {
    m = &expression_matrix(ad, use_raw, layer);
  } catch (const Error&) {
    return out;
  }
  const auto& names = use_raw ? ad.raw->var.index() : ad.var.index();
  std::vector<int64_t> cols;
  std::vector<size_t> which;
  for (size_t k = 0; k < keys.size(); ++k) {
    if (keys[k].empty() || ad.obs.has(keys[k])) continue;
    const auto it = std::find(names.begin(), names.end(), keys[k]);
    if (it == names.end()) continue;
    cols.push_back(it - names.begin());
    which.push_back(k);
  }
  if (cols.size() < 2) return out;
  auto values = matrix_columns(*m, cols);
  for (size_t i = 0; i < which.size(); ++i) out[which[i]] = std::move(values[i]);
  return out;
}

PlotValues plot_values(AnnData& ad, const std::string& key, bool use_raw, const std::string& layer) {
  PlotValues pv;
  if (ad.obs.has(key)) {
    Column& col = ad.obs.at(key);
    if (std::holds_alternative<std::vector<std::string>>(col)) {
      col = Categorical::from_strings(std::get<std::vector<std::string>>(col));
    } else if (std::holds_alternative<Array>(col) && std::get<Array>(col).dtype() == DType::Bool) {
      std::vector<std::string> lab;
      const Array& a = std::get<Array>(col);
      for (int64_t i = 0; i < a.size(); ++i) lab.push_back(a.get_double(i) != 0 ? "True" : "False");
      col = Categorical::from_strings(lab);
    }
    if (std::holds_alternative<Categorical>(col)) {
      const Categorical& c = std::get<Categorical>(col);
      pv.categorical = true;
      pv.codes = c.codes;
      pv.categories = category_labels(c);
      return pv;
    }
    if (std::holds_alternative<Nullable>(col)) {
      const Nullable& n = std::get<Nullable>(col);
      for (int64_t i = 0; i < n.values.size(); ++i)
        pv.values.push_back(n.mask[static_cast<size_t>(i)] ? NAN : n.values.get_double(i));
      return pv;
    }
    pv.values = column_as_double(col, key);
    return pv;
  }
  pv.values = gene_values(ad, key, use_raw, layer);
  return pv;
}

double nan_percentile(std::vector<double> v, double q) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return NAN;
  if (q < 0 || q > 100) throw ValueError("percentile must be in [0, 100]");
  std::sort(v.begin(), v.end());
  const double pos = q / 100 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace scanpp::pl
