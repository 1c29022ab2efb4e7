#include "scanpp/tl/dendrogram.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/neighbors.hpp"

namespace scanpp::tl {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Cells grouped by one categorical column, or by several joined with '_' as
// Scanpy does (string concatenation made categorical: categories sorted).
struct CellGroups {
  std::vector<std::string> categories;
  std::vector<int32_t> codes;  // -1: missing, dropped like pandas' NaN keys
};

const Categorical& categorical_column(const AnnData& adata, const std::string& key) {
  if (!adata.obs.has(key))
    throw ValueError("groupby has to be a valid observation. Given value: " + key);
  const Column& c = adata.obs.at(key);
  if (!std::holds_alternative<Categorical>(c))
    throw ValueError("groupby has to be a categorical observation. Given value: " + key + ", column kind: " +
                     column_kind(c));
  return std::get<Categorical>(c);
}

CellGroups cell_groups(const AnnData& adata, const std::vector<std::string>& groupby) {
  if (groupby.empty()) throw ValueError("dendrogram: groupby must name at least one obs column");
  std::vector<const Categorical*> cols;
  for (const auto& g : groupby) cols.push_back(&categorical_column(adata, g));
  CellGroups out;
  if (cols.size() == 1) {
    const Categorical& c = *cols[0];
    out.codes = c.codes;
    if (c.has_string_categories()) {
      out.categories = c.string_categories();
    } else {
      // Numeric categories: their text, as pandas prints them in the labels.
      std::vector<int64_t> first(static_cast<size_t>(c.n_categories()), -1);
      for (size_t i = 0; i < c.codes.size(); ++i)
        if (c.codes[i] >= 0 && first[static_cast<size_t>(c.codes[i])] < 0) first[static_cast<size_t>(c.codes[i])] = static_cast<int64_t>(i);
      for (int64_t k = 0; k < c.n_categories(); ++k)
        out.categories.push_back(first[static_cast<size_t>(k)] >= 0 ? c.label(first[static_cast<size_t>(k)])
                                                                     : std::to_string(k));
    }
    return out;
  }
  const int64_t n = adata.n_obs();
  std::vector<std::string> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    std::string s;
    for (size_t g = 0; g < cols.size(); ++g) {
      if (g) s += '_';
      const int32_t code = cols[g]->codes[static_cast<size_t>(i)];
      s += code < 0 ? std::string("nan") : cols[g]->label(i);
    }
    labels[static_cast<size_t>(i)] = std::move(s);
  }
  out.categories = labels;
  std::sort(out.categories.begin(), out.categories.end());
  out.categories.erase(std::unique(out.categories.begin(), out.categories.end()), out.categories.end());
  std::map<std::string, int32_t> pos;
  for (size_t k = 0; k < out.categories.size(); ++k) pos.emplace(out.categories[k], static_cast<int32_t>(k));
  out.codes.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.codes[static_cast<size_t>(i)] = pos.at(labels[static_cast<size_t>(i)]);
  return out;
}

// pandas' group_mean: per group and column, a Kahan-compensated sum in the
// data's own float type (NaN skipped), divided by the count.
template <class T>
std::vector<double> kahan_group_means(const T* x, int64_t n, int64_t d, const std::vector<int32_t>& codes,
                                      int64_t n_groups) {
  std::vector<T> sum(static_cast<size_t>(n_groups * d), T(0)), comp(sum.size(), T(0));
  std::vector<int64_t> count(sum.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t g = codes[static_cast<size_t>(i)];
    if (g < 0) continue;
    for (int64_t j = 0; j < d; ++j) {
      const T v = x[i * d + j];
      if (std::isnan(v)) continue;
      const size_t k = static_cast<size_t>(g * d + j);
      ++count[k];
      const T y = v - comp[k];
      const T t = sum[k] + y;
      comp[k] = (t - sum[k]) - y;
      sum[k] = t;
    }
  }
  std::vector<double> out(sum.size());
  for (size_t k = 0; k < sum.size(); ++k)
    out[k] = count[k] ? static_cast<double>(sum[k] / static_cast<T>(count[k])) : kNaN;
  return out;
}

std::vector<double> group_means(const Array& rep, const std::vector<int32_t>& codes, int64_t n_groups) {
  if (rep.ndim() != 2) throw ValueError("dendrogram: the representation must be a 2-D matrix");
  const int64_t n = rep.shape()[0], d = rep.shape()[1];
  if (static_cast<int64_t>(codes.size()) != n)
    throw ValueError("dendrogram: the representation has " + std::to_string(n) + " rows for " +
                     std::to_string(codes.size()) + " cells");
  if (rep.dtype() == DType::Float32) return kahan_group_means(rep.as<float>().data(), n, d, codes, n_groups);
  const Array r64 = rep.dtype() == DType::Float64 ? rep : rep.astype(DType::Float64);
  return kahan_group_means(r64.as<double>().data(), n, d, codes, n_groups);
}

// The genes' values in every cell (dense, X's dtype), from raw or X.
Array gene_profiles(const AnnData& adata, const std::vector<std::string>& var_names, bool use_raw) {
  if (use_raw && !adata.raw) throw ValueError("dendrogram: use_raw=True but adata.raw is missing");
  const DataFrame& var = use_raw ? adata.raw->var : adata.var;
  const std::optional<Element>& X = use_raw ? adata.raw->X : adata.X;
  if (!X) throw ValueError(std::string("dendrogram: ") + (use_raw ? "adata.raw.X" : "adata.X") + " is empty");
  const std::vector<int64_t> cols = var.positions(var_names, use_raw ? "raw.var_names" : "var_names");
  std::vector<int64_t> rows(static_cast<size_t>(adata.n_obs()));
  std::iota(rows.begin(), rows.end(), int64_t{0});
  Element sub = take_2d(*X, rows, cols);
  if (sub.is<SparseMatrix>()) return to_dense(sub.get<SparseMatrix>());
  return sub.get<Array>();
}

// pandas' rank_1d with ties averaged (1-based).
std::vector<double> average_ranks(const std::vector<double>& v) {
  const size_t n = v.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(n);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && v[order[j + 1]] == v[order[i]]) ++j;
    const double avg = (static_cast<double>(i + 1) + static_cast<double>(j + 1)) / 2.0;
    for (size_t k = i; k <= j; ++k) r[order[k]] = avg;
    i = j + 1;
  }
  return r;
}

// scipy.stats.kendalltau (tau-b) of two complete vectors.
double kendall_tau_b(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  double con = 0, dis = 0, xtie = 0, ytie = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) {
      const double dx = x[i] - x[j], dy = y[i] - y[j];
      if (dx == 0) ++xtie;
      if (dy == 0) ++ytie;
      if (dx * dy > 0) ++con;
      else if (dx * dy < 0) ++dis;
    }
  const double tot = static_cast<double>(n) * static_cast<double>(n - 1) / 2.0;
  if (xtie == tot || ytie == tot) return kNaN;
  const double tau = (con - dis) / std::sqrt(tot - xtie) / std::sqrt(tot - ytie);
  return std::min(1.0, std::max(-1.0, tau));
}

}  // namespace

std::vector<double> row_correlation(const std::vector<double>& m, int64_t k, int64_t n,
                                    const std::string& method) {
  if (static_cast<int64_t>(m.size()) != k * n) throw ValueError("row_correlation: matrix size mismatch");
  std::vector<double> out(static_cast<size_t>(k * k), kNaN);
  auto at = [&](int64_t row, int64_t i) { return m[static_cast<size_t>(row * n + i)]; };
  auto put = [&](int64_t a, int64_t b, double v) {
    if (!std::isnan(v)) v = std::clamp(v, -1.0, 1.0);
    out[static_cast<size_t>(a * k + b)] = out[static_cast<size_t>(b * k + a)] = v;
  };
  if (method == "pearson") {
    // pandas' nancorr: Welford's running means and co-moments over the
    // positions where both rows are finite.
    for (int64_t xi = 0; xi < k; ++xi)
      for (int64_t yi = 0; yi <= xi; ++yi) {
        int64_t nobs = 0;
        double meanx = 0, meany = 0, ssqdmx = 0, ssqdmy = 0, covxy = 0;
        for (int64_t i = 0; i < n; ++i) {
          const double vx = at(xi, i), vy = at(yi, i);
          if (!std::isfinite(vx) || !std::isfinite(vy)) continue;
          ++nobs;
          const double dx = vx - meanx, dy = vy - meany;
          meanx += 1. / static_cast<double>(nobs) * dx;
          meany += 1. / static_cast<double>(nobs) * dy;
          ssqdmx += (vx - meanx) * dx;
          ssqdmy += (vy - meany) * dy;
          covxy += (vx - meanx) * dy;
        }
        const double divisor = std::sqrt(ssqdmx * ssqdmy);
        put(xi, yi, nobs >= 1 && divisor != 0 ? covxy / divisor : kNaN);
      }
    return out;
  }
  if (method == "spearman") {
    // Rows as complete vectors (the representation has no NaN): pandas'
    // fast path, centred ranks with mean (N + 1) / 2.
    std::vector<std::vector<double>> ranks(static_cast<size_t>(k));
    for (int64_t r = 0; r < k; ++r) {
      std::vector<double> v(m.begin() + r * n, m.begin() + (r + 1) * n);
      for (double x : v)
        if (!std::isfinite(x)) throw ValueError("dendrogram: spearman correlation of non-finite mean profiles");
      ranks[static_cast<size_t>(r)] = average_ranks(v);
    }
    const double mean = (static_cast<double>(n) + 1) / 2.;
    for (int64_t xi = 0; xi < k; ++xi)
      for (int64_t yi = 0; yi <= xi; ++yi) {
        double sumx = 0, sumxx = 0, sumyy = 0;
        for (int64_t i = 0; i < n; ++i) {
          const double vx = ranks[static_cast<size_t>(xi)][static_cast<size_t>(i)] - mean;
          const double vy = ranks[static_cast<size_t>(yi)][static_cast<size_t>(i)] - mean;
          sumx += vx * vy;
          sumxx += vx * vx;
          sumyy += vy * vy;
        }
        const double divisor = std::sqrt(sumxx * sumyy);
        put(xi, yi, divisor != 0 ? sumx / divisor : kNaN);
      }
    return out;
  }
  if (method == "kendall") {
    for (int64_t xi = 0; xi < k; ++xi)
      for (int64_t yi = 0; yi <= xi; ++yi) {
        if (xi == yi) {
          put(xi, yi, 1.0);
          continue;
        }
        std::vector<double> a, b;
        for (int64_t i = 0; i < n; ++i)
          if (std::isfinite(at(xi, i)) && std::isfinite(at(yi, i))) {
            a.push_back(at(xi, i));
            b.push_back(at(yi, i));
          }
        put(xi, yi, a.size() < 2 ? kNaN : kendall_tau_b(a, b));
      }
    return out;
  }
  throw ValueError("method must be either 'pearson', 'spearman', 'kendall' (got '" + method + "')");
}

DendrogramResult dendrogram_from_means(const std::vector<double>& means, int64_t dim,
                                       const std::vector<std::string>& categories, const std::string& cor_method,
                                       LinkageMethod method, bool optimal_ordering) {
  const int64_t k = static_cast<int64_t>(categories.size());
  if (k < 2) throw ValueError("dendrogram needs at least 2 categories (got " + std::to_string(k) + ")");
  DendrogramResult r;
  r.categories = categories;
  r.correlation = row_correlation(means, k, dim, cor_method);
  std::vector<double> dist(r.correlation.size());
  for (size_t i = 0; i < dist.size(); ++i) dist[i] = 1 - r.correlation[i];
  // NaN distances (a constant profile) pass squareform and fail in linkage,
  // as in scipy; compare NaN-safely so the symmetry check does not trip first.
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      if (std::isnan(dist[static_cast<size_t>(i * k + j)]))
        throw ValueError("dendrogram: the correlation between categories '" + categories[static_cast<size_t>(i)] +
                         "' and '" + categories[static_cast<size_t>(j)] +
                         "' is undefined (constant mean profile); the condensed distance matrix must contain only "
                         "finite values");
  r.linkage = linkage(squareform(dist, k), k, method, optimal_ordering);
  r.layout = dendrogram_layout(r.linkage, categories);
  return r;
}

std::string dendrogram_key(const std::vector<std::string>& groupby) {
  std::string key = "dendrogram_";
  for (size_t i = 0; i < groupby.size(); ++i) key += (i ? "_" : "") + groupby[i];
  return key;
}

Dict dendrogram_uns(const DendrogramResult& r, const DendrogramOptions& opt) {
  const int64_t k = static_cast<int64_t>(r.categories.size());
  auto coords = [](const std::vector<std::array<double, 4>>& c) {
    std::vector<double> flat;
    for (const auto& a : c) flat.insert(flat.end(), a.begin(), a.end());
    return Array::from_vector(flat, {static_cast<int64_t>(c.size()), 4});
  };
  Dict info;
  info["icoord"] = coords(r.layout.icoord);
  info["dcoord"] = coords(r.layout.dcoord);
  info["ivl"] = StringArray{r.layout.ivl, {}};
  info["leaves"] = Array::from_vector(r.layout.leaves);
  info["color_list"] = StringArray{r.layout.color_list, {}};
  info["leaves_color_list"] = StringArray{r.layout.leaves_color_list, {}};
  Dict d;
  d["linkage"] = Array::from_vector(r.linkage.z, {k - 1, 4});
  d["groupby"] = StringArray{opt.groupby, {}};
  if (opt.use_rep) d["use_rep"] = *opt.use_rep;  // None is not stored, as anndata 0.8 drops it
  d["cor_method"] = opt.cor_method;
  d["linkage_method"] = opt.linkage_method;
  d["categories_ordered"] = StringArray{r.layout.ivl, {}};
  d["categories_idx_ordered"] = Array::from_vector(r.layout.leaves);
  d["dendrogram_info"] = std::move(info);
  d["correlation_matrix"] = Array::from_vector(r.correlation, {k, k});
  return d;
}

Dict dendrogram(AnnData& adata, const DendrogramOptions& opt) {
  const LinkageMethod method = parse_linkage_method(opt.linkage_method);
  if (opt.cor_method != "pearson" && opt.cor_method != "spearman" && opt.cor_method != "kendall")
    throw ValueError("dendrogram: cor_method must be 'pearson', 'spearman' or 'kendall' (got '" + opt.cor_method +
                     "')");
  const CellGroups groups = cell_groups(adata, opt.groupby);
  const int64_t k = static_cast<int64_t>(groups.categories.size());
  Array rep;
  if (opt.var_names.empty()) {
    rep = pp::choose_representation(adata, opt.use_rep, opt.n_pcs);
  } else {
    // Scanpy 1.11 only checks that var_names is given: the profiles are then
    // all genes of var_names (raw.var_names when use_raw is True), with values
    // from raw whenever raw exists and use_raw is not False.
    if (opt.use_raw.value_or(false) && !adata.raw) throw ValueError("dendrogram: use_raw=True but adata.raw is missing");
    const std::vector<std::string>& genes = opt.use_raw.value_or(false) ? adata.raw->var.index() : adata.var_names();
    rep = gene_profiles(adata, genes, opt.use_raw.value_or(adata.raw.has_value()));
  }
  const std::vector<double> means = group_means(rep, groups.codes, k);
  const int64_t dim = rep.shape()[1];
  for (int64_t g = 0; g < k; ++g)
    if (dim > 0 && std::isnan(means[static_cast<size_t>(g * dim)]) &&
        std::none_of(groups.codes.begin(), groups.codes.end(), [&](int32_t c) { return c == g; }))
      throw ValueError("dendrogram: category '" + groups.categories[static_cast<size_t>(g)] + "' of '" +
                       opt.groupby[0] + "' has no cells (remove unused categories first)");
  const DendrogramResult r =
      dendrogram_from_means(means, dim, groups.categories, opt.cor_method, method, opt.optimal_ordering);
  Dict d = dendrogram_uns(r, opt);
  adata.uns[opt.key_added.empty() ? dendrogram_key(opt.groupby) : opt.key_added] = d;
  return d;
}

}  // namespace scanpp::tl
