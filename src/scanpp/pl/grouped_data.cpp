#include "scanpp/pl/grouped_data.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

#include "scanpp/core/error.hpp"
#include "scanpp/core/numpy_sort.hpp"
#include "scanpp/pl/plot_values.hpp"

namespace scanpp::pl {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The matrix a gene's values come from, with its var table.
struct Source {
  const Element* matrix = nullptr;
  const DataFrame* var = nullptr;
  std::string what;
};

Source value_source(const AnnData& adata, const ObsValuesOptions& opt) {
  if (opt.use_raw && opt.layer) throw ValueError("Cannot use a layer and use_raw at the same time");
  if (opt.layer) {
    auto it = adata.layers.find(*opt.layer);
    if (it == adata.layers.end()) throw KeyError("layer '" + *opt.layer + "' is not in adata.layers");
    return {&it->second, &adata.var, "layers['" + *opt.layer + "']"};
  }
  if (opt.use_raw) {
    if (!adata.raw) throw ValueError("use_raw=True but adata has no .raw");
    if (!adata.raw->X) throw KeyError("adata.raw has no X");
    return {&*adata.raw->X, &adata.raw->var, "raw.X"};
  }
  if (!adata.X) throw KeyError("adata has no X");
  return {&*adata.X, &adata.var, "X"};
}

// Python's repr of a float, as pandas' interval labels print their ends.
std::string py_float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const double a = std::fabs(v);
  if (a != 0 && (a >= 1e16 || a < 1e-4)) {
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string s(buf, r.ptr);
    // C++ writes e-05 / e+16 as Python does; nothing to change but a bare mantissa.
    return s;
  }
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  std::string s(buf, r.ptr);
  if (s.find('.') == std::string::npos) s += ".0";
  return s;
}

// Python's round(x, digits) for the label precision (round half to even on the
// decimal value, close enough for labels).
double round_digits(double x, int digits) {
  const double f = std::pow(10.0, digits);
  return std::nearbyint(x * f) / f;
}

// pandas' _round_frac: precision counts significant digits after leading zeros.
double round_frac(double x, int precision) {
  if (!std::isfinite(x) || x == 0) return x;
  double whole;
  const double frac = std::modf(x, &whole);
  int digits;
  if (whole == 0) digits = -static_cast<int>(std::floor(std::log10(std::fabs(frac)))) - 1 + precision;
  else digits = precision;
  return round_digits(x, digits);
}

}  // namespace

VarNames VarNames::list(std::vector<std::string> names) {
  VarNames v;
  v.names = std::move(names);
  return v;
}

VarNames VarNames::mapping(const std::vector<std::pair<std::string, std::vector<std::string>>>& groups) {
  VarNames v;
  int64_t start = 0;
  for (auto& [label, genes] : groups) {
    v.names.insert(v.names.end(), genes.begin(), genes.end());
    v.groups.labels.push_back(label);
    v.groups.positions.emplace_back(start, start + static_cast<int64_t>(genes.size()) - 1);
    start += static_cast<int64_t>(genes.size());
  }
  return v;
}

void VarNames::set_groups(std::vector<std::string> labels, std::vector<std::pair<int64_t, int64_t>> positions) {
  if (labels.size() != positions.size())
    throw ValueError("var_group_labels and var_group_positions must have the same length. Got " +
                     std::to_string(labels.size()) + " and " + std::to_string(positions.size()));
  for (auto& [a, b] : positions)
    if (a < 0 || b < a || b >= static_cast<int64_t>(names.size()))
      throw ValueError("var_group_positions (" + std::to_string(a) + ", " + std::to_string(b) +
                       ") is outside the " + std::to_string(names.size()) + " var_names");
  groups.labels = std::move(labels);
  groups.positions = std::move(positions);
}

bool resolve_use_raw(const AnnData& adata, std::optional<bool> use_raw, const std::optional<std::string>& layer) {
  if (use_raw) return *use_raw;
  if (layer) return false;
  return adata.raw.has_value();
}

std::vector<std::vector<double>> obs_values(const AnnData& adata, const std::vector<std::string>& keys,
                                            const ObsValuesOptions& opt) {
  std::vector<std::vector<double>> out(keys.size());
  std::vector<int64_t> gene_cols;
  std::vector<size_t> gene_slots;
  std::optional<Source> src;
  std::unordered_map<std::string, int64_t> gene_pos;
  auto genes = [&]() -> std::unordered_map<std::string, int64_t>& {
    if (!src) {
      src = value_source(adata, opt);
      const DataFrame& var = *src->var;
      if (opt.gene_symbols) {
        if (!var.has(*opt.gene_symbols))
          throw KeyError("gene_symbols column '" + *opt.gene_symbols + "' is not in " +
                         (opt.use_raw ? "raw.var" : "var"));
        const Column& c = var.at(*opt.gene_symbols);
        for (int64_t i = 0; i < var.n_rows(); ++i) gene_pos.emplace(column_cell_text(c, i), i);
      } else {
        for (int64_t i = 0; i < var.n_rows(); ++i) gene_pos.emplace(var.index()[static_cast<size_t>(i)], i);
      }
    }
    return gene_pos;
  };
  for (size_t k = 0; k < keys.size(); ++k) {
    const std::string& key = keys[k];
    const bool in_obs = adata.obs.has(key);
    auto& g = genes();
    auto it = g.find(key);
    if (in_obs && it != g.end())
      throw KeyError("key '" + key + "' is both an obs column and a gene name; it is ambiguous");
    if (in_obs) {
      const Column& c = adata.obs.at(key);
      if (std::holds_alternative<std::vector<std::string>>(c) ||
          (std::holds_alternative<Categorical>(c) && std::get<Categorical>(c).has_string_categories()))
        throw ValueError("obs column '" + key + "' is not numeric and cannot be plotted as values");
      if (auto* cat = std::get_if<Categorical>(&c)) {
        std::vector<double> v(cat->codes.size(), kNaN);
        const Array& cats = std::get<Array>(cat->categories);
        for (size_t i = 0; i < v.size(); ++i)
          if (cat->codes[i] >= 0) v[i] = cats.get_double(cat->codes[i]);
        out[k] = std::move(v);
      } else {
        out[k] = column_as_double(c, key);
      }
    } else if (it != g.end()) {
      gene_cols.push_back(it->second);
      gene_slots.push_back(k);
    } else {
      throw KeyError("Could not find key '" + key + "' in obs columns or in " +
                     (opt.layer ? std::string("var_names") : (opt.use_raw ? "raw.var_names" : "var_names")) +
                     (opt.gene_symbols ? " (var['" + *opt.gene_symbols + "'])" : ""));
    }
  }
  if (!gene_cols.empty()) {
    auto cols = matrix_columns(*src->matrix, gene_cols);
    if (matrix_rows(*src->matrix) != adata.n_obs())
      throw ValueError(src->what + " has " + std::to_string(matrix_rows(*src->matrix)) + " rows, adata has " +
                       std::to_string(adata.n_obs()) + " cells");
    for (size_t j = 0; j < gene_cols.size(); ++j) out[gene_slots[j]] = std::move(cols[j]);
  }
  return out;
}

std::vector<int64_t> Grouping::counts() const {
  std::vector<int64_t> c(categories.size(), 0);
  for (int32_t x : codes)
    if (x >= 0) ++c[static_cast<size_t>(x)];
  return c;
}

Grouping cut_into_bins(const std::vector<double>& values, int bins, const std::string& name) {
  if (bins < 1) throw ValueError("num_categories must be at least 1");
  double mn = std::numeric_limits<double>::infinity(), mx = -mn;
  for (double v : values)
    if (!std::isnan(v)) {
      mn = std::min(mn, v);
      mx = std::max(mx, v);
    }
  if (!std::isfinite(mn) || !std::isfinite(mx))
    throw ValueError("cannot cut '" + name + "' into categories: it has no finite values");
  // pandas.cut with an integer: equal-width edges, widened by 0.1% of the range
  // (or of |value| when all values are equal) so the extremes fall inside.
  std::vector<double> edges(static_cast<size_t>(bins) + 1);
  if (mn == mx) {
    const double adj = mn != 0 ? 0.001 * std::fabs(mn) : 0.001;
    mn -= adj;
    mx += adj;
    for (int i = 0; i <= bins; ++i) edges[static_cast<size_t>(i)] = mn + (mx - mn) * i / bins;
  } else {
    // np.linspace's arithmetic: i * step + start.
    const double step = (mx - mn) / bins;
    for (int i = 0; i <= bins; ++i) edges[static_cast<size_t>(i)] = i * step + mn;
    edges[0] -= (mx - mn) * 0.001;
  }
  // np.linspace puts the last edge exactly at the end.
  edges.back() = mx;
  Grouping g;
  g.name = name;
  g.codes.assign(values.size(), -1);
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (std::isnan(v)) continue;
    // Right-closed intervals (a, b]: the first edge >= v closes v's bin.
    auto it = std::lower_bound(edges.begin(), edges.end(), v);
    int64_t b = (it - edges.begin()) - 1;
    if (b < 0) b = 0;
    g.codes[i] = static_cast<int32_t>(std::min<int64_t>(b, bins - 1));
  }
  // Label precision: the smallest >= 3 that keeps all rounded edges distinct.
  int precision = 3;
  for (; precision < 20; ++precision) {
    std::set<double> u;
    for (double e : edges) u.insert(round_frac(e, precision));
    if (u.size() == edges.size()) break;
  }
  for (int i = 0; i < bins; ++i)
    g.categories.push_back("(" + py_float_repr(round_frac(edges[static_cast<size_t>(i)], precision)) + ", " +
                           py_float_repr(round_frac(edges[static_cast<size_t>(i) + 1], precision)) + "]");
  return g;
}

namespace {

// One obs column as categories + codes (strings, numbers, booleans as pandas prints them).
Grouping categorical_column(const AnnData& adata, const std::string& key) {
  const Column& c = adata.obs.at(key);
  Grouping g;
  g.name = key;
  if (auto* cat = std::get_if<Categorical>(&c)) {
    g.codes = cat->codes;
    if (cat->has_string_categories()) {
      g.categories = cat->string_categories();
    } else {
      const Array& a = std::get<Array>(cat->categories);
      for (int64_t k = 0; k < a.size(); ++k) {
        Categorical one;
        one.categories = a;
        one.codes = {static_cast<int32_t>(k)};
        g.categories.push_back(one.label(0));
      }
    }
    return g;
  }
  // Strings (and booleans) become a categorical with sorted categories, as astype("category").
  std::vector<std::string> labels(static_cast<size_t>(adata.n_obs()));
  for (int64_t i = 0; i < adata.n_obs(); ++i) labels[static_cast<size_t>(i)] = column_cell_text(c, i);
  std::set<std::string> uniq(labels.begin(), labels.end());
  g.categories.assign(uniq.begin(), uniq.end());
  std::unordered_map<std::string, int32_t> pos;
  for (size_t k = 0; k < g.categories.size(); ++k) pos.emplace(g.categories[k], static_cast<int32_t>(k));
  g.codes.resize(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) g.codes[i] = pos.at(labels[i]);
  return g;
}

bool is_numeric_column(const Column& c) {
  if (auto* a = std::get_if<Array>(&c)) return a->dtype() != DType::Bool;
  if (auto* n = std::get_if<Nullable>(&c)) return n->values.dtype() != DType::Bool;
  return false;
}

}  // namespace

Grouping make_grouping(const AnnData& adata, const std::vector<std::string>& groupby, int num_categories) {
  const int64_t n = adata.n_obs();
  if (groupby.empty()) {
    Grouping g;
    g.categories = {""};
    g.codes.assign(static_cast<size_t>(n), 0);
    return g;
  }
  for (auto& key : groupby)
    if (!adata.obs.has(key))
      throw ValueError("groupby has to be a valid observation. Given " + key + ", is not in observations: " +
                       [&] {
                         std::string s = "[";
                         for (auto& c : adata.obs.column_names()) s += (s.size() > 1 ? ", '" : "'") + c + "'";
                         return s + "]";
                       }());
  if (groupby.size() == 1) {
    const Column& c = adata.obs.at(groupby[0]);
    if (is_numeric_column(c)) return cut_into_bins(column_as_double(c, groupby[0]), num_categories, groupby[0]);
    return categorical_column(adata, groupby[0]);
  }
  // Several columns: "a_b" labels, categories in the order of the product of
  // the columns' categories, keeping only combinations that occur.
  std::vector<Grouping> parts;
  for (auto& key : groupby) parts.push_back(categorical_column(adata, key));
  Grouping g;
  for (size_t k = 0; k < groupby.size(); ++k) g.name += (k ? "_" : "") + groupby[k];
  std::vector<int64_t> combo(static_cast<size_t>(n), -1);
  std::vector<int64_t> stride(parts.size(), 1);
  for (size_t k = parts.size(); k-- > 1;) stride[k - 1] = stride[k] * parts[k].n_categories();
  std::set<int64_t> used;
  for (int64_t i = 0; i < n; ++i) {
    int64_t code = 0;
    bool ok = true;
    for (size_t k = 0; k < parts.size(); ++k) {
      const int32_t c = parts[k].codes[static_cast<size_t>(i)];
      if (c < 0) ok = false;
      code += c * stride[k];
    }
    if (ok) {
      combo[static_cast<size_t>(i)] = code;
      used.insert(code);
    }
  }
  std::map<int64_t, int32_t> new_code;
  for (int64_t code : used) {
    std::string label;
    int64_t rest = code;
    for (size_t k = 0; k < parts.size(); ++k) {
      const int64_t ck = rest / stride[k];
      rest %= stride[k];
      label += (k ? "_" : "") + parts[k].categories[static_cast<size_t>(ck)];
    }
    new_code.emplace(code, static_cast<int32_t>(g.categories.size()));
    g.categories.push_back(label);
  }
  g.codes.assign(static_cast<size_t>(n), -1);
  for (int64_t i = 0; i < n; ++i)
    if (combo[static_cast<size_t>(i)] >= 0) g.codes[static_cast<size_t>(i)] = new_code.at(combo[static_cast<size_t>(i)]);
  return g;
}

TidyData prepare_dataframe(const AnnData& adata, const std::vector<std::string>& var_names,
                           const std::vector<std::string>& groupby, const PrepareOptions& opt) {
  if (var_names.empty()) throw ValueError("var_names is empty: give at least one gene or obs column");
  TidyData d;
  d.grouping = make_grouping(adata, groupby, opt.num_categories);
  d.var_names = var_names;
  d.n_obs = adata.n_obs();
  ObsValuesOptions o;
  o.use_raw = resolve_use_raw(adata, opt.use_raw, opt.layer);
  o.layer = opt.layer;
  o.gene_symbols = opt.gene_symbols;
  // Each distinct key read once, then laid out in var_names order (repeats allowed).
  std::vector<std::string> uniq = var_names;
  std::sort(uniq.begin(), uniq.end());
  uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
  auto cols = obs_values(adata, uniq, o);
  d.values.resize(static_cast<size_t>(d.n_obs) * var_names.size());
  for (size_t v = 0; v < var_names.size(); ++v) {
    const auto k = static_cast<size_t>(std::lower_bound(uniq.begin(), uniq.end(), var_names[v]) - uniq.begin());
    std::copy(cols[k].begin(), cols[k].end(), d.values.begin() + static_cast<int64_t>(v) * d.n_obs);
  }
  if (opt.log)
    for (double& x : d.values) x = std::log1p(x);
  return d;
}

double GroupMatrix::lookup(const std::string& row, const std::string& col) const {
  const auto r = std::find(rows.begin(), rows.end(), row);
  const auto c = std::find(cols.begin(), cols.end(), col);
  if (r == rows.end() || c == cols.end()) return kNaN;
  return at(r - rows.begin(), c - cols.begin());
}

GroupMatrix GroupMatrix::reordered(const std::vector<int64_t>& row_order, const std::vector<int64_t>& col_order) const {
  GroupMatrix m;
  for (int64_t r : row_order) m.rows.push_back(rows[static_cast<size_t>(r)]);
  for (int64_t c : col_order) m.cols.push_back(cols[static_cast<size_t>(c)]);
  m.v.resize(m.rows.size() * m.cols.size());
  for (size_t i = 0; i < row_order.size(); ++i)
    for (size_t j = 0; j < col_order.size(); ++j) m.v[i * col_order.size() + j] = at(row_order[i], col_order[j]);
  return m;
}

namespace {

GroupMatrix empty_summary(const TidyData& d) {
  GroupMatrix m;
  m.rows = d.grouping.categories;
  m.cols = d.var_names;
  m.v.assign(m.rows.size() * m.cols.size(), 0.0);
  return m;
}

// Sum and count of the selected values per group, NaN skipped.
template <class Pick>
GroupMatrix group_ratio(const TidyData& d, Pick pick, bool count_all_non_nan, double empty_value) {
  GroupMatrix m = empty_summary(d);
  const auto nc = static_cast<size_t>(d.grouping.n_categories());
  for (int64_t v = 0; v < d.n_vars(); ++v) {
    std::vector<double> num(nc, 0.0), den(nc, 0.0);
    auto col = d.column(v);
    for (int64_t i = 0; i < d.n_obs; ++i) {
      const int32_t g = d.grouping.codes[static_cast<size_t>(i)];
      const double x = col[static_cast<size_t>(i)];
      if (g < 0 || std::isnan(x)) continue;
      const auto [take, add] = pick(x);
      if (take || count_all_non_nan) den[static_cast<size_t>(g)] += 1;
      num[static_cast<size_t>(g)] += add;
    }
    for (size_t g = 0; g < nc; ++g) m.at(static_cast<int64_t>(g), v) = den[g] > 0 ? num[g] / den[g] : empty_value;
  }
  return m;
}

}  // namespace

GroupMatrix group_mean(const TidyData& d) {
  return group_ratio(d, [](double x) { return std::pair{true, x}; }, true, kNaN);
}

GroupMatrix group_mean_expressed(const TidyData& d, double cutoff) {
  return group_ratio(d, [cutoff](double x) { return std::pair{x > cutoff, x > cutoff ? x : 0.0}; }, false, 0.0);
}

GroupMatrix group_fraction(const TidyData& d, double cutoff) {
  return group_ratio(d, [cutoff](double x) { return std::pair{true, x > cutoff ? 1.0 : 0.0}; }, true, kNaN);
}

GroupMatrix group_median(const TidyData& d) {
  GroupMatrix m = empty_summary(d);
  const auto nc = static_cast<size_t>(d.grouping.n_categories());
  for (int64_t v = 0; v < d.n_vars(); ++v) {
    std::vector<std::vector<double>> per(nc);
    auto col = d.column(v);
    for (int64_t i = 0; i < d.n_obs; ++i) {
      const int32_t g = d.grouping.codes[static_cast<size_t>(i)];
      if (g >= 0 && !std::isnan(col[static_cast<size_t>(i)])) per[static_cast<size_t>(g)].push_back(col[static_cast<size_t>(i)]);
    }
    for (size_t g = 0; g < nc; ++g) {
      auto& x = per[g];
      double med = kNaN;
      if (!x.empty()) {
        const size_t h = x.size() / 2;
        std::nth_element(x.begin(), x.begin() + static_cast<int64_t>(h), x.end());
        med = x[h];
        if (x.size() % 2 == 0) med = (med + *std::max_element(x.begin(), x.begin() + static_cast<int64_t>(h))) / 2;
      }
      m.at(static_cast<int64_t>(g), v) = med;
    }
  }
  return m;
}

namespace {

// Subtract the min, divide by the max of a strided run; NaN results (0/0) become 0.
void scale_run(double* p, int64_t n, int64_t stride) {
  double mn = std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < n; ++i)
    if (!std::isnan(p[i * stride])) mn = std::min(mn, p[i * stride]);
  double mx = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    p[i * stride] -= mn;
    if (!std::isnan(p[i * stride])) mx = std::max(mx, p[i * stride]);
  }
  for (int64_t i = 0; i < n; ++i) {
    double& x = p[i * stride];
    x /= mx;
    if (std::isnan(x)) x = 0;
  }
}

}  // namespace

void standard_scale(GroupMatrix& m, const std::string& axis) {
  if (axis == "var") {
    for (int64_t c = 0; c < m.n_cols(); ++c) scale_run(m.v.data() + c, m.n_rows(), m.n_cols());
  } else if (axis == "group" || axis == "obs") {
    for (int64_t r = 0; r < m.n_rows(); ++r) scale_run(m.v.data() + r * m.n_cols(), m.n_cols(), 1);
  } else {
    throw ValueError("standard_scale must be 'var' or 'group', got '" + axis + "'");
  }
}

void standard_scale_cells(TidyData& d, const std::string& axis) {
  if (axis == "var") {
    for (int64_t v = 0; v < d.n_vars(); ++v) scale_run(d.values.data() + v * d.n_obs, d.n_obs, 1);
  } else if (axis == "obs") {
    for (int64_t i = 0; i < d.n_obs; ++i) scale_run(d.values.data() + i, d.n_vars(), d.n_obs);
  } else {
    throw ValueError("standard_scale must be 'var' or 'obs', got '" + axis + "'");
  }
}

std::vector<int64_t> cells_sorted_by_group(const Grouping& g, const std::vector<int64_t>& category_order) {
  std::vector<int64_t> rank(static_cast<size_t>(g.n_categories()));
  for (size_t p = 0; p < category_order.size(); ++p) rank[static_cast<size_t>(category_order[p])] = static_cast<int64_t>(p);
  std::vector<int64_t> valid, missing;
  std::vector<double> keys;
  for (size_t i = 0; i < g.codes.size(); ++i) {
    if (g.codes[i] < 0) {
      missing.push_back(static_cast<int64_t>(i));
    } else {
      valid.push_back(static_cast<int64_t>(i));
      keys.push_back(static_cast<double>(rank[static_cast<size_t>(g.codes[i])]));
    }
  }
  std::vector<int64_t> out;
  if (missing.empty() && std::is_sorted(keys.begin(), keys.end())) {
    out = valid;
  } else {
    for (int64_t k : numpy_argsort(keys)) out.push_back(valid[static_cast<size_t>(k)]);
  }
  out.insert(out.end(), missing.begin(), missing.end());
  return out;
}

}  // namespace scanpp::pl
