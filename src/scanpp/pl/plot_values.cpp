// Resolving a plot key to per-cell values, as Scanpy's plotting does.
#include "scanpp/pl/plot_values.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "scanpp/core/error.hpp"
#include "scanpp/pl/palettes.hpp"

namespace scanpp::pl {

std::vector<double> matrix_column(const Element& X, int64_t j) {
  if (X.is<SparseMatrix>()) {
    const SparseMatrix& m = X.get<SparseMatrix>();
    if (j < 0 || j >= m.n_cols) throw KeyError("column " + std::to_string(j) + " is outside the matrix");
    std::vector<double> out(static_cast<size_t>(m.n_rows), 0.0);
    if (m.format == SparseFormat::CSC) {
      for (int64_t k = m.indptr[static_cast<size_t>(j)]; k < m.indptr[static_cast<size_t>(j) + 1]; ++k)
        out[static_cast<size_t>(m.indices[static_cast<size_t>(k)])] += m.data.get_double(k);
    } else {
      for (int64_t r = 0; r < m.n_rows; ++r)
        for (int64_t k = m.indptr[static_cast<size_t>(r)]; k < m.indptr[static_cast<size_t>(r) + 1]; ++k)
          if (m.indices[static_cast<size_t>(k)] == j) out[static_cast<size_t>(r)] += m.data.get_double(k);
    }
    return out;
  }
  if (!X.is<Array>()) throw ValueError(std::string("cannot read expression from a matrix of kind ") + X.kind());
  const Array& a = X.get<Array>();
  if (a.ndim() != 2) throw ValueError("expression matrix is not 2-D");
  const int64_t nr = a.shape()[0], nc = a.shape()[1];
  if (j < 0 || j >= nc) throw KeyError("column " + std::to_string(j) + " is outside the matrix");
  std::vector<double> out(static_cast<size_t>(nr));
  for (int64_t r = 0; r < nr; ++r) out[static_cast<size_t>(r)] = a.get_double(r * nc + j);
  return out;
}

bool default_use_raw(const AnnData& ad, const std::string& layer) { return layer.empty() && ad.raw.has_value(); }

std::vector<double> gene_values(const AnnData& ad, const std::string& gene, bool use_raw, const std::string& layer) {
  if (use_raw && !layer.empty()) throw ValueError("cannot use both a layer and the raw representation");
  if (use_raw && !ad.raw) throw ValueError("use_raw is true but the AnnData has no raw");
  const DataFrame& var = use_raw ? ad.raw->var : ad.var;
  const auto& names = var.index();
  const auto it = std::find(names.begin(), names.end(), gene);
  if (it == names.end())
    throw KeyError("'" + gene + "' is neither an obs column nor a gene in " + (use_raw ? "raw.var_names" : "var_names"));
  const int64_t j = it - names.begin();
  if (use_raw) {
    if (!ad.raw->X) throw ValueError("raw has no X");
    return matrix_column(*ad.raw->X, j);
  }
  if (!layer.empty()) {
    auto l = ad.layers.find(layer);
    if (l == ad.layers.end()) throw KeyError("no layer '" + layer + "'");
    return matrix_column(l->second, j);
  }
  if (!ad.X) throw ValueError("the AnnData has no X");
  return matrix_column(*ad.X, j);
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
