#include "scanpp/tl/score_genes.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <numeric>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "scanpp/core/error.hpp"

namespace scanpp::tl {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <class T>
bool is_nan_value(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  else return false;
}

template <class T>
double as_double(T v) {
  if constexpr (std::is_same_v<T, Bool8>) return v.v ? 1.0 : 0.0;
  else return static_cast<double>(v);
}

// np.nanmean over cells of every gene (axis 0). Sparse: float64 sums in
// storage order with implicit zeros counted (Scanpy's sparse nanmean); dense
// float32: float32 running sums divided in float64 and stored as float32, as
// numpy's nanmean does without a dtype; other dense types in float64.
std::vector<double> gene_means(const Element& X) {
  if (X.is<SparseMatrix>()) {
    const SparseMatrix& m = X.get<SparseMatrix>();
    std::vector<double> sum(static_cast<size_t>(m.n_cols), 0.0);
    std::vector<double> count(static_cast<size_t>(m.n_cols), static_cast<double>(m.n_rows));
    dispatch_dtype(m.dtype(), [&](auto t) {
      using T = decltype(t);
      const T* d = reinterpret_cast<const T*>(m.data.raw());
      for (int64_t major = 0; major < m.n_major(); ++major)
        for (int64_t p = m.indptr[static_cast<size_t>(major)]; p < m.indptr[static_cast<size_t>(major) + 1]; ++p) {
          const size_t col = m.format == SparseFormat::CSR ? static_cast<size_t>(m.indices[static_cast<size_t>(p)])
                                                           : static_cast<size_t>(major);
          if (is_nan_value(d[p])) count[col] -= 1.0;
          else sum[col] += as_double(d[p]);
        }
    });
    std::vector<double> out(sum.size());
    for (size_t j = 0; j < out.size(); ++j) out[j] = count[j] == 0 ? kNaN : sum[j] / count[j];
    return out;
  }
  const Array& a = X.get<Array>();
  const int64_t n = a.shape()[0], g = a.shape()[1];
  std::vector<double> out(static_cast<size_t>(g));
  dispatch_dtype(a.dtype(), [&](auto t) {
    using T = decltype(t);
    using Acc = std::conditional_t<std::is_same_v<T, float>, float, double>;
    const T* d = reinterpret_cast<const T*>(a.raw());
    std::vector<Acc> sum(static_cast<size_t>(g), Acc(0));
    std::vector<int64_t> count(static_cast<size_t>(g), 0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < g; ++j) {
        const T v = d[i * g + j];
        if (is_nan_value(v)) continue;
        sum[static_cast<size_t>(j)] += static_cast<Acc>(as_double(v));
        ++count[static_cast<size_t>(j)];
      }
    for (size_t j = 0; j < out.size(); ++j) {
      const double m = count[j] ? static_cast<double>(sum[j]) / static_cast<double>(count[j]) : kNaN;
      out[j] = std::is_same_v<Acc, float> ? static_cast<double>(static_cast<float>(m)) : m;
    }
  });
  return out;
}

// np.nanmean over the selected genes of every cell (axis 1), in float64.
std::vector<double> cell_means(const Element& X, const std::vector<char>& selected, int64_t n_selected) {
  const int64_t n_obs = matrix_rows(X);
  std::vector<double> sum(static_cast<size_t>(n_obs), 0.0);
  std::vector<double> count(static_cast<size_t>(n_obs), static_cast<double>(n_selected));
  if (X.is<SparseMatrix>()) {
    const SparseMatrix& m = X.get<SparseMatrix>();
    dispatch_dtype(m.dtype(), [&](auto t) {
      using T = decltype(t);
      const T* d = reinterpret_cast<const T*>(m.data.raw());
      for (int64_t major = 0; major < m.n_major(); ++major)
        for (int64_t p = m.indptr[static_cast<size_t>(major)]; p < m.indptr[static_cast<size_t>(major) + 1]; ++p) {
          const int64_t minor = m.indices[static_cast<size_t>(p)];
          const int64_t row = m.format == SparseFormat::CSR ? major : minor;
          const int64_t col = m.format == SparseFormat::CSR ? minor : major;
          if (!selected[static_cast<size_t>(col)]) continue;
          if (is_nan_value(d[p])) count[static_cast<size_t>(row)] -= 1.0;
          else sum[static_cast<size_t>(row)] += as_double(d[p]);
        }
    });
  } else {
    const Array& a = X.get<Array>();
    const int64_t g = a.shape()[1];
    dispatch_dtype(a.dtype(), [&](auto t) {
      using T = decltype(t);
      const T* d = reinterpret_cast<const T*>(a.raw());
      for (int64_t i = 0; i < n_obs; ++i)
        for (int64_t j = 0; j < g; ++j) {
          if (!selected[static_cast<size_t>(j)]) continue;
          const T v = d[i * g + j];
          if (is_nan_value(v)) count[static_cast<size_t>(i)] -= 1.0;
          else sum[static_cast<size_t>(i)] += as_double(v);
        }
    });
  }
  std::vector<double> out(static_cast<size_t>(n_obs));
  for (size_t i = 0; i < out.size(); ++i) out[i] = count[i] == 0 ? kNaN : sum[i] / count[i];
  return out;
}

std::vector<std::string> unique_in_order(const std::vector<std::string>& v) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const auto& s : v)
    if (seen.insert(s).second) out.push_back(s);
  return out;
}

}  // namespace

GeneScores score_genes_matrix(const Element& X, const std::vector<std::string>& var_names,
                              const std::vector<std::string>& gene_list_in, const ScoreGenesOptions& opt,
                              random::NumpyRandomState& rng) {
  if (!is_matrix(X)) throw ValueError("score_genes: the expression matrix must be a 2-D dense or sparse matrix");
  const int64_t n_vars = matrix_cols(X);
  if (static_cast<int64_t>(var_names.size()) != n_vars)
    throw ValueError("score_genes: " + std::to_string(var_names.size()) + " gene names for a matrix with " +
                     std::to_string(n_vars) + " columns");
  if (opt.n_bins < 2) throw ValueError("score_genes: n_bins must be at least 2 (got " + std::to_string(opt.n_bins) + ")");
  if (opt.ctrl_size < 0) throw ValueError("score_genes: ctrl_size must not be negative");
  std::unordered_map<std::string, int64_t> pos;
  for (int64_t j = 0; j < n_vars; ++j) pos.emplace(var_names[static_cast<size_t>(j)], j);

  GeneScores out;
  std::vector<std::string> missing;
  for (const auto& g : unique_in_order(gene_list_in)) (pos.count(g) ? out.gene_list : missing).push_back(g);
  if (!missing.empty()) {
    std::string m;
    for (const auto& g : missing) m += (m.empty() ? "" : ", ") + g;
    std::cerr << "WARNING: genes are not in var_names and ignored: " << m << "\n";
  }
  if (out.gene_list.empty()) throw ValueError("No valid genes were passed for scoring.");

  std::vector<int64_t> pool;  // gene positions, in the pool's order
  if (!opt.gene_pool) {
    pool.resize(static_cast<size_t>(n_vars));
    std::iota(pool.begin(), pool.end(), int64_t{0});
  } else {
    for (const auto& g : unique_in_order(*opt.gene_pool)) {
      auto it = pos.find(g);
      if (it != pos.end()) pool.push_back(it->second);
    }
  }
  if (pool.empty()) throw ValueError("No valid genes were passed for reference set.");

  // Average expression of the pool's genes; non-finite ones leave the pool.
  const std::vector<double> all_means = gene_means(X);
  std::vector<int64_t> genes;
  std::vector<double> avg;
  for (int64_t j : pool)
    if (std::isfinite(all_means[static_cast<size_t>(j)])) {
      genes.push_back(j);
      avg.push_back(all_means[static_cast<size_t>(j)]);
    }
  const int64_t n_pool = static_cast<int64_t>(genes.size());
  const int64_t n_items = static_cast<int64_t>(std::nearbyint(static_cast<double>(n_pool) / (opt.n_bins - 1)));
  if (n_items < 1)
    throw ValueError("score_genes: the gene pool (" + std::to_string(n_pool) + " genes with finite means) is too small for " +
                     std::to_string(opt.n_bins) + " bins");

  // Bin of each pool gene: pandas' rank(method='min') // n_items.
  std::vector<int64_t> order(static_cast<size_t>(n_pool));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return avg[static_cast<size_t>(a)] < avg[static_cast<size_t>(b)]; });
  std::vector<int64_t> cut(static_cast<size_t>(n_pool));
  for (int64_t r = 0; r < n_pool;) {
    int64_t e = r;
    while (e + 1 < n_pool && avg[static_cast<size_t>(order[static_cast<size_t>(e + 1)])] == avg[static_cast<size_t>(order[static_cast<size_t>(r)])]) ++e;
    for (int64_t k = r; k <= e; ++k) cut[static_cast<size_t>(order[static_cast<size_t>(k)])] = (r + 1) / n_items;
    r = e + 1;
  }

  std::unordered_map<int64_t, int64_t> pool_pos;  // gene position -> index in `genes`
  for (int64_t k = 0; k < n_pool; ++k) pool_pos.emplace(genes[static_cast<size_t>(k)], k);
  std::vector<char> in_list(static_cast<size_t>(n_vars), 0);
  std::set<int64_t> cuts;
  for (const auto& g : out.gene_list) {
    const int64_t j = pos.at(g);
    in_list[static_cast<size_t>(j)] = 1;
    auto it = pool_pos.find(j);
    if (it == pool_pos.end())
      throw KeyError("score_genes: gene '" + g + "' of gene_list is not in the gene pool (or its mean is not finite)");
    cuts.insert(cut[static_cast<size_t>(it->second)]);
  }

  std::set<std::string> control;
  for (int64_t c : cuts) {
    std::vector<int64_t> r_genes;
    for (int64_t k = 0; k < n_pool; ++k)
      if (cut[static_cast<size_t>(k)] == c && (opt.ctrl_as_ref || !in_list[static_cast<size_t>(genes[static_cast<size_t>(k)])]))
        r_genes.push_back(genes[static_cast<size_t>(k)]);
    if (r_genes.empty())
      std::cerr << "WARNING: No control genes for cut=" << c << ". You might want to increase gene_pool size (current size: "
                << pool.size() << ")\n";
    if (opt.ctrl_size < static_cast<int64_t>(r_genes.size())) {
      const std::vector<int64_t> pick = rng.choice(static_cast<int64_t>(r_genes.size()), opt.ctrl_size, false);
      std::vector<int64_t> sampled;
      for (int64_t p : pick) sampled.push_back(r_genes[static_cast<size_t>(p)]);
      r_genes = std::move(sampled);
    }
    for (int64_t j : r_genes)
      if (!opt.ctrl_as_ref || !in_list[static_cast<size_t>(j)]) control.insert(var_names[static_cast<size_t>(j)]);
  }
  if (control.empty())
    throw ValueError(std::string("No control genes found in any cut.") +
                     (opt.ctrl_as_ref ? " Try setting `ctrl_as_ref=False`." : ""));
  out.control_genes.assign(control.begin(), control.end());

  std::vector<char> sel_list(static_cast<size_t>(n_vars), 0), sel_ctrl(static_cast<size_t>(n_vars), 0);
  for (const auto& g : out.gene_list) sel_list[static_cast<size_t>(pos.at(g))] = 1;
  for (const auto& g : out.control_genes) sel_ctrl[static_cast<size_t>(pos.at(g))] = 1;
  const std::vector<double> m_list = cell_means(X, sel_list, static_cast<int64_t>(out.gene_list.size()));
  const std::vector<double> m_ctrl = cell_means(X, sel_ctrl, static_cast<int64_t>(out.control_genes.size()));
  out.scores.resize(m_list.size());
  for (size_t i = 0; i < m_list.size(); ++i) out.scores[i] = m_list[i] - m_ctrl[i];
  return out;
}

GeneScores score_genes(AnnData& adata, const std::vector<std::string>& gene_list, const ScoreGenesOptions& opt) {
  if (opt.layer && opt.use_raw.value_or(false))
    throw ValueError("Cannot use expression from both layer and raw. You provided: use_raw=True and layer='" +
                     *opt.layer + "'");
  const bool use_raw = opt.use_raw ? *opt.use_raw : (!opt.layer && adata.raw.has_value());
  if (use_raw && !adata.raw) throw ValueError("score_genes: use_raw=True but adata.raw is missing");
  if (opt.random_state < 0 || opt.random_state > 0xffffffffLL)
    throw ValueError("score_genes: random_state must be between 0 and 2**32 - 1 (got " +
                     std::to_string(opt.random_state) + ")");
  const Element* X = nullptr;
  const std::vector<std::string>* names = nullptr;
  if (use_raw) {
    if (!adata.raw->X) throw ValueError("score_genes: adata.raw.X is empty");
    X = &*adata.raw->X;
    names = &adata.raw->var.index();
  } else if (opt.layer) {
    auto it = adata.layers.find(*opt.layer);
    if (it == adata.layers.end()) throw KeyError("score_genes: layer '" + *opt.layer + "' is not in adata.layers");
    X = &it->second;
    names = &adata.var_names();
  } else {
    if (!adata.X) throw ValueError("score_genes: adata.X is empty");
    X = &*adata.X;
    names = &adata.var_names();
  }
  if (matrix_rows(*X) != adata.n_obs())
    throw ValueError("score_genes: the expression matrix has " + std::to_string(matrix_rows(*X)) + " rows for " +
                     std::to_string(adata.n_obs()) + " cells");
  random::NumpyRandomState rng(static_cast<uint32_t>(opt.random_state));
  GeneScores s = score_genes_matrix(*X, *names, gene_list, opt, rng);
  adata.obs.set(opt.score_name, Array::from_vector(s.scores));
  return s;
}

std::vector<std::string> cell_cycle_phase(const std::vector<double>& s_score, const std::vector<double>& g2m_score) {
  if (s_score.size() != g2m_score.size()) throw ValueError("cell_cycle_phase: score vectors differ in length");
  std::vector<std::string> phase(s_score.size(), "S");
  for (size_t i = 0; i < phase.size(); ++i) {
    if (g2m_score[i] > s_score[i]) phase[i] = "G2M";
    if (s_score[i] < 0 && g2m_score[i] < 0) phase[i] = "G1";
  }
  return phase;
}

void score_genes_cell_cycle(AnnData& adata, const std::vector<std::string>& s_genes,
                            const std::vector<std::string>& g2m_genes, const ScoreGenesOptions& opt) {
  ScoreGenesOptions o = opt;
  o.ctrl_size = static_cast<int>(std::min(s_genes.size(), g2m_genes.size()));
  o.score_name = "S_score";
  const GeneScores s = score_genes(adata, s_genes, o);
  o.score_name = "G2M_score";
  const GeneScores g2m = score_genes(adata, g2m_genes, o);
  adata.obs.set("phase", Categorical::from_strings(cell_cycle_phase(s.scores, g2m.scores)));
}

}  // namespace scanpp::tl
