#include "scanpp/pp/combat.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <variant>

// Eigen must not start its own OpenMP teams: results may not depend on the thread count.
#define EIGEN_DONT_PARALLELIZE
#include <eigen3/Eigen/Dense>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"

namespace scanpp::pp {
namespace {

constexpr int64_t kGeneBlock = 16;

// numpy's max: NaN wins.
double nan_max(const std::vector<double>& v) {
  double m = -INFINITY;
  for (double x : v) {
    if (std::isnan(x)) return x;
    if (x > m) m = x;
  }
  return m;
}

double mean_of(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// Two-pass variance as numpy/pandas compute it.
double var_of(const std::vector<double>& v, int ddof) {
  const double m = mean_of(v);
  double s = 0.0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(static_cast<int64_t>(v.size()) - ddof);
}

struct Batches {
  std::vector<std::vector<int64_t>> cells;  // cells of each non-empty batch, in order
  std::vector<int32_t> compact;             // cell -> position in `cells`
};

Batches group_cells(std::span<const int32_t> batch, int64_t n_batches) {
  std::vector<std::vector<int64_t>> by_code(static_cast<size_t>(n_batches));
  for (size_t i = 0; i < batch.size(); ++i) {
    const int32_t b = batch[i];
    if (b < 0 || b >= n_batches)
      throw ValueError("combat: batch code " + std::to_string(b) + " of cell " + std::to_string(i) +
                       " is out of range [0, " + std::to_string(n_batches) + ")");
    by_code[static_cast<size_t>(b)].push_back(static_cast<int64_t>(i));
  }
  Batches out;
  out.compact.assign(batch.size(), -1);
  std::vector<int32_t> small;
  for (int64_t b = 0; b < n_batches; ++b) {
    auto& c = by_code[static_cast<size_t>(b)];
    if (c.empty()) continue;  // groupby(observed=True) drops empty batches
    if (c.size() < 2) small.push_back(static_cast<int32_t>(b));
    for (int64_t i : c) out.compact[static_cast<size_t>(i)] = static_cast<int32_t>(out.cells.size());
    out.cells.push_back(std::move(c));
  }
  if (!small.empty()) {
    std::string list;
    for (int32_t b : small) list += (list.empty() ? "" : ", ") + std::to_string(b);
    throw ValueError("combat: batches [" + list +
                     "] have fewer than 2 cells; ComBat requires at least 2 cells per batch to estimate "
                     "within-batch variance. Filter these batches before running combat.");
  }
  return out;
}

template <class T>
void gene_major(const Array& X, std::vector<double>& D) {
  const int64_t n = X.rows(), p = X.cols();
  const T* x = X.as<T>().data();
  parallel_blocks(p, 64, [&](int64_t a, int64_t b) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t g = a; g < b; ++g) D[static_cast<size_t>(g * n + i)] = to_double(x[i * p + g]);
  });
}

}  // namespace

// The covariate part of the design: inv(DᵀD) Dᵀ as a (nb + ncov) x n matrix
// (numpy's np.dot(la.inv(design.T @ design), design.T)), after checking that
// D = [batch one-hot | covariates] has full column rank.
std::vector<double> projection(const Batches& B, const std::vector<CombatCovariate>& cov, int64_t n) {
  const int64_t nb = static_cast<int64_t>(B.cells.size());
  const int64_t nc = static_cast<int64_t>(cov.size());
  const int64_t c = nb + nc;
  Eigen::MatrixXd D = Eigen::MatrixXd::Zero(n, c);
  for (int64_t i = 0; i < n; ++i) {
    D(i, B.compact[static_cast<size_t>(i)]) = 1.0;
    for (int64_t j = 0; j < nc; ++j) D(i, nb + j) = cov[static_cast<size_t>(j)].values[static_cast<size_t>(i)];
  }
  Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(D);
  // Eigen's default cut (eps x 3 columns) misses an exact collinearity among
  // thousands of rows; anything this close to singular makes inv(DᵀD) meaningless.
  qr.setThreshold(1e-10);
  if (qr.rank() < c) {
    std::string names;
    for (const auto& v : cov) names += (names.empty() ? "" : ", ") + v.name;
    throw ValueError("combat: the design matrix (" + std::to_string(nb) + " batch columns + covariates " + names +
                     ") has rank " + std::to_string(qr.rank()) + " < " + std::to_string(c) +
                     " columns: a covariate is confounded with the batch or with another covariate (Scanpy: "
                     "LinAlgError 'Singular matrix')");
  }
  const Eigen::MatrixXd gram = D.transpose() * D;
  const Eigen::MatrixXd P = gram.partialPivLu().inverse() * D.transpose();
  std::vector<double> out(static_cast<size_t>(c * n));
  for (int64_t j = 0; j < c; ++j)
    for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(j * n + i)] = P(j, i);
  return out;
}

CombatResult combat_impl(const Array& X, std::span<const int32_t> batch, int64_t n_batches,
                         const std::vector<CombatCovariate>& cov, double conv) {
  if (X.ndim() != 2) throw ValueError("combat: X must be a 2-D matrix");
  const int64_t n = X.rows(), p = X.cols();
  if (static_cast<int64_t>(batch.size()) != n)
    throw ValueError("combat: " + std::to_string(batch.size()) + " batch labels for " + std::to_string(n) + " cells");
  for (const auto& c : cov)
    if (static_cast<int64_t>(c.values.size()) != n)
      throw ValueError("combat: covariate '" + c.name + "' has " + std::to_string(c.values.size()) +
                       " values for " + std::to_string(n) + " cells");
  const Batches B = group_cells(batch, n_batches);
  const size_t nb = B.cells.size();
  const double n_array = static_cast<double>(n);
  const size_t nc = cov.size();
  const std::vector<double> P = nc ? projection(B, cov, n) : std::vector<double>{};
  const size_t ncoef = nb + nc;
  // Per gene, the covariates' coefficients (their part of each cell's standard mean).
  std::vector<double> cov_coef(static_cast<size_t>(p) * nc);
  auto cov_part = [&](int64_t g, int64_t i) {
    double s = 0.0;
    for (size_t j = 0; j < nc; ++j)
      s += cov[j].values[static_cast<size_t>(i)] * cov_coef[static_cast<size_t>(g) * nc + j];
    return s;
  };

  // Gene-major copy (genes x cells, Scanpy's `data`); later overwritten by the standardised data.
  std::vector<double> S(static_cast<size_t>(n * p));
  dispatch_dtype(X.dtype(), [&](auto t) { gene_major<decltype(t)>(X, S); });

  std::vector<double> grand(static_cast<size_t>(p)), var_pooled(static_cast<size_t>(p));
  std::vector<std::vector<double>> gamma_hat(nb, std::vector<double>(static_cast<size_t>(p)));
  std::vector<std::vector<double>> delta_hat(nb, std::vector<double>(static_cast<size_t>(p)));
  std::vector<double> inv_nb(nb), frac_nb(nb);
  for (size_t b = 0; b < nb; ++b) {
    const double size = static_cast<double>(B.cells[b].size());
    inv_nb[b] = 1.0 / size;   // inv(designᵀdesign) is diag(1/n_b)
    frac_nb[b] = size / n_array;
  }
  const double inv_n = 1.0 / n_array;

  parallel_blocks(p, kGeneBlock, [&](int64_t ga, int64_t gb) {
    std::vector<double> bhat(ncoef);
    for (int64_t g = ga; g < gb; ++g) {
      double* d = S.data() + g * n;
      if (nc == 0) {
        // b_hat = inv(DᵀD) Dᵀ dataᵀ: per batch, the sum of x/n_b.
        for (size_t b = 0; b < nb; ++b) {
          double s = 0.0;
          for (int64_t i : B.cells[b]) s += inv_nb[b] * d[i];
          bhat[b] = s;
        }
      } else {
        for (size_t j = 0; j < ncoef; ++j) {
          const double* pj = P.data() + j * static_cast<size_t>(n);
          double s = 0.0;
          for (int64_t i = 0; i < n; ++i) s += pj[i] * d[i];
          bhat[j] = s;
        }
        for (size_t j = 0; j < nc; ++j) cov_coef[static_cast<size_t>(g) * nc + j] = bhat[nb + j];
      }
      double gm = 0.0;
      for (size_t b = 0; b < nb; ++b) gm += frac_nb[b] * bhat[b];
      double vp = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        // The fit: the cell's batch coefficient plus its covariates' part.
        const double fit = bhat[static_cast<size_t>(B.compact[static_cast<size_t>(i)])] + (nc ? cov_part(g, i) : 0.0);
        const double r = d[i] - fit;
        vp += (r * r) * inv_n;
      }
      grand[static_cast<size_t>(g)] = gm;
      var_pooled[static_cast<size_t>(g)] = vp;
      const double sd = std::sqrt(vp);
      for (int64_t i = 0; i < n; ++i) {
        const double stand = nc ? gm + cov_part(g, i) : gm;
        d[i] = vp == 0.0 ? 0.0 : (d[i] - stand) / sd;
      }
      for (size_t b = 0; b < nb; ++b) {
        const auto& cells = B.cells[b];
        double s = 0.0, plain = 0.0;
        for (int64_t i : cells) {
          s += inv_nb[b] * d[i];
          plain += d[i];
        }
        gamma_hat[b][static_cast<size_t>(g)] = s;
        // pandas' var(axis=1): two passes, ddof=1.
        const double avg = plain / static_cast<double>(cells.size());
        double sq = 0.0;
        for (int64_t i : cells) sq += (d[i] - avg) * (d[i] - avg);
        delta_hat[b][static_cast<size_t>(g)] = sq / static_cast<double>(cells.size() - 1);
      }
    }
  });

  CombatResult res;
  res.gamma_star.resize(nb);
  res.delta_star.resize(nb);
  res.iterations.assign(nb, 0);
  for (size_t b = 0; b < nb; ++b) {
    const auto& cells = B.cells[b];
    const double g_bar = mean_of(gamma_hat[b]);
    const double t2 = var_of(gamma_hat[b], 0);
    const double m = mean_of(delta_hat[b]);
    const double s2 = var_of(delta_hat[b], 1);
    const double a_prior = (2 * s2 + m * m) / s2;
    const double b_prior = (m * s2 + m * m * m) / s2;

    // _it_sol: n counts the non-NaN values of each gene in this batch.
    std::vector<double> cnt(static_cast<size_t>(p));
    for (int64_t g = 0; g < p; ++g) {
      int64_t c = 0;
      for (int64_t i : cells) c += std::isnan(S[static_cast<size_t>(g * n + i)]) ? 0 : 1;
      cnt[static_cast<size_t>(g)] = static_cast<double>(c);
    }
    const std::vector<double>& g_hat = gamma_hat[b];
    std::vector<double> g_old = g_hat, d_old = delta_hat[b];
    std::vector<double> g_new(static_cast<size_t>(p)), d_new(static_cast<size_t>(p));
    std::vector<double> rel_g(static_cast<size_t>(p)), rel_d(static_cast<size_t>(p));
    double change = 1.0;
    int count = 0;
    while (change > conv) {
      parallel_blocks(p, 64, [&](int64_t ga, int64_t gb) {
        for (int64_t g = ga; g < gb; ++g) {
          const size_t k = static_cast<size_t>(g);
          const double tn = t2 * cnt[k];
          g_new[k] = (tn * g_hat[k] + d_old[k] * g_bar) / (tn + d_old[k]);
          const double* d = S.data() + g * n;
          double sum2 = 0.0;
          for (int64_t i : cells) {
            const double r = d[i] - g_new[k];
            sum2 += r * r;
          }
          d_new[k] = (0.5 * sum2 + b_prior) / (cnt[k] / 2.0 + a_prior - 1.0);
          // Scanpy divides by the signed old value, so negative ratios are possible.
          rel_g[k] = std::abs(g_new[k] - g_old[k]) / g_old[k];
          rel_d[k] = std::abs(d_new[k] - d_old[k]) / d_old[k];
        }
      });
      const double cg = nan_max(rel_g), cd = nan_max(rel_d);
      change = cd > cg ? cd : cg;  // Python's max(cg, cd): a NaN first argument wins, a NaN second loses
      std::swap(g_old, g_new);
      std::swap(d_old, d_new);
      ++count;
    }
    res.gamma_star[b] = g_old;
    res.delta_star[b] = d_old;
    res.iterations[b] = count;
  }

  Array out(DType::Float64, {n, p});
  double* y = out.as<double>().data();
  parallel_blocks(p, 64, [&](int64_t ga, int64_t gb) {
    for (int64_t i = 0; i < n; ++i) {
      const size_t b = static_cast<size_t>(B.compact[static_cast<size_t>(i)]);
      for (int64_t g = ga; g < gb; ++g) {
        const size_t k = static_cast<size_t>(g);
        const double adj = (S[static_cast<size_t>(g * n + i)] - res.gamma_star[b][k]) / std::sqrt(res.delta_star[b][k]);
        y[i * p + g] = adj * std::sqrt(var_pooled[k]) + (nc ? grand[k] + cov_part(g, i) : grand[k]);
      }
    }
  });
  res.X = std::move(out);
  return res;
}

CombatResult combat(const Array& X, std::span<const int32_t> batch, int64_t n_batches, double conv) {
  return combat_impl(X, batch, n_batches, {}, conv);
}

CombatResult combat(const SparseMatrix& X, std::span<const int32_t> batch, int64_t n_batches, double conv) {
  return combat_impl(to_dense(X), batch, n_batches, {}, conv);
}

CombatResult combat(const Array& X, std::span<const int32_t> batch, int64_t n_batches,
                    const std::vector<CombatCovariate>& covariates, double conv) {
  return combat_impl(X, batch, n_batches, covariates, conv);
}

CombatResult combat(const SparseMatrix& X, std::span<const int32_t> batch, int64_t n_batches,
                    const std::vector<CombatCovariate>& covariates, double conv) {
  return combat_impl(to_dense(X), batch, n_batches, covariates, conv);
}

std::optional<Array> combat(AnnData& adata, const CombatOptions& opt) {
  if (!adata.obs.has(opt.key)) throw ValueError("combat: could not find the key '" + opt.key + "' in adata.obs");
  // Checked (and built) before anything else, as Scanpy checks the covariates first.
  const std::vector<CombatCovariate> cov = combat_covariates(adata.obs, opt.key, opt.covariates);
  if (!adata.X || !is_matrix(*adata.X)) throw ValueError("combat: adata has no X matrix");

  const Column& col = adata.obs.at(opt.key);
  std::vector<int32_t> codes;
  int64_t n_codes = 0;
  if (const auto* cat = std::get_if<Categorical>(&col)) {
    codes = cat->codes;
    n_codes = cat->n_categories();
  } else if (const auto* str = std::get_if<std::vector<std::string>>(&col)) {
    // anndata turns string columns into categoricals first (sanitize_anndata).
    Categorical c = Categorical::from_strings(*str);
    codes = c.codes;
    n_codes = c.n_categories();
  } else {
    const std::vector<double> v = column_as_double(col, opt.key);
    std::map<double, int32_t> level;
    for (double x : v)
      if (!std::isnan(x)) level.emplace(x, 0);
    int32_t k = 0;
    for (auto& [val, code] : level) code = k++;
    codes.reserve(v.size());
    for (double x : v) codes.push_back(std::isnan(x) ? -1 : level.at(x));
    n_codes = k;
  }
  for (int32_t c : codes)
    if (c < 0) throw ValueError("combat: obs column '" + opt.key + "' has missing values");

  CombatResult r = adata.X->is<SparseMatrix>() ? combat(adata.X->get<SparseMatrix>(), codes, n_codes, cov)
                                              : combat(adata.X->get<Array>(), codes, n_codes, cov);
  if (opt.inplace) {
    adata.X = std::move(r.X);
    return std::nullopt;
  }
  return std::move(r.X);
}

}  // namespace scanpp::pp
