#include "scanpp/tl/embedding_density.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numbers>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"

namespace scanpp::tl {

std::vector<double> gaussian_kde_2d(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  if (y.size() != n) throw ValueError("gaussian_kde: x and y differ in length");
  if (n < 2) throw ValueError("gaussian_kde needs at least 2 points (got " + std::to_string(n) + ")");
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) throw ValueError("gaussian_kde: the points must be finite");
  // Equal weights 1/n: numpy's weighted covariance reduces to the ddof=1 one.
  const double w = 1.0 / static_cast<double>(n);
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) {
    mx += x[i] * w;
    my += y[i] * w;
  }
  double cxx = 0, cxy = 0, cyy = 0;
  for (size_t i = 0; i < n; ++i) {
    const double dx = x[i] - mx, dy = y[i] - my;
    cxx += dx * w * dx;
    cxy += dx * w * dy;
    cyy += dy * w * dy;
  }
  const double fact = 1.0 - w;  // v1 - ddof * sum(w^2) / v1 with v1 = 1
  cxx /= fact;
  cxy /= fact;
  cyy /= fact;
  // Cholesky factor of the data covariance, scaled by Scott's factor n^(-1/(d+4)).
  const double factor = std::pow(static_cast<double>(n), -1.0 / 6.0);
  const double l00 = std::sqrt(cxx);
  const double l10 = cxy / l00;
  const double r = cyy - l10 * l10;
  if (!(cxx > 0) || !(r > 0) || !std::isfinite(r))
    throw ValueError("gaussian_kde: the covariance of the " + std::to_string(n) +
                     " points is singular (all points on a line?); scipy raises LinAlgError here");
  const double L00 = l00 * factor, L10 = l10 * factor, L11 = std::sqrt(r) * factor;
  // Whitened coordinates: solve L z = p.
  std::vector<double> zx(n), zy(n);
  for (size_t i = 0; i < n; ++i) {
    zx[i] = x[i] / L00;
    zy[i] = (y[i] - L10 * zx[i]) / L11;
  }
  const double log_norm = -0.5 * 2 * std::log(2 * std::numbers::pi) - (std::log(L00) + std::log(L11));
  std::vector<double> est(n, 0.0);
  parallel_for(
      static_cast<int64_t>(n),
      [&](int64_t j) {
        double s = 0;
        for (size_t i = 0; i < n; ++i) {
          const double rx = zx[i] - zx[static_cast<size_t>(j)], ry = zy[i] - zy[static_cast<size_t>(j)];
          s += w * std::exp(-(rx * rx + ry * ry) / 2 + log_norm);
        }
        est[static_cast<size_t>(j)] = s;
      },
      64);
  return est;
}

std::vector<double> scaled_density_2d(const std::vector<double>& x, const std::vector<double>& y) {
  std::vector<double> z = gaussian_kde_2d(x, y);
  const auto [lo, hi] = std::minmax_element(z.begin(), z.end());
  const double min_z = *lo, max_z = *hi;
  for (double& v : z) v = (v - min_z) / (max_z - min_z);
  return z;
}

void embedding_density(AnnData& adata, const EmbeddingDensityOptions& opt) {
  std::string basis = opt.basis;
  std::transform(basis.begin(), basis.end(), basis.begin(), [](unsigned char c) { return std::tolower(c); });
  if (basis == "fa") basis = "draw_graph_fa";
  auto it = adata.obsm.find("X_" + basis);
  if (it == adata.obsm.end())
    throw ValueError("Cannot find the embedded representation `adata.obsm['X_" + basis +
                     "']`. Compute the embedding first.");
  if (!it->second.is<Array>() || it->second.get<Array>().ndim() != 2)
    throw ValueError("embedding_density: obsm['X_" + basis + "'] must be a dense 2-D matrix");
  const Array& emb = it->second.get<Array>();
  const std::vector<int> given = opt.components.empty() ? std::vector<int>{1, 2} : opt.components;
  if (given.size() != 2) throw ValueError("Please specify exactly 2 components, or `None`.");
  const int64_t n = emb.shape()[0], dims = emb.shape()[1];
  if (n != adata.n_obs())
    throw ValueError("embedding_density: obsm['X_" + basis + "'] has " + std::to_string(n) + " rows for " +
                     std::to_string(adata.n_obs()) + " cells");
  int64_t comp[2];
  for (int k = 0; k < 2; ++k) {
    // Diffmap's first component is the stationary state, so Scanpy shifts by one.
    comp[k] = given[static_cast<size_t>(k)] - 1 + (basis == "diffmap" ? 1 : 0);
    if (comp[k] < 0 || comp[k] >= dims)
      throw ValueError("embedding_density: component " + std::to_string(given[static_cast<size_t>(k)]) +
                       " is out of range for obsm['X_" + basis + "'] with " + std::to_string(dims) + " columns");
  }
  auto value = [&](int64_t i, int64_t c) { return emb.get_double(i * dims + c); };

  const Categorical* cat = nullptr;
  if (opt.groupby) {
    if (!adata.obs.has(*opt.groupby)) throw ValueError("Could not find '" + *opt.groupby + "' `.obs` column.");
    Column& col = adata.obs.at(*opt.groupby);
    // sanitize_anndata: string columns become categoricals first.
    if (std::holds_alternative<std::vector<std::string>>(col))
      col = Categorical::from_strings(std::get<std::vector<std::string>>(col));
    if (!std::holds_alternative<Categorical>(col))
      throw ValueError("'" + *opt.groupby + "' column does not contain categorical data");
    cat = &std::get<Categorical>(col);
  }
  const std::string key =
      opt.key_added ? *opt.key_added : basis + "_density" + (opt.groupby ? "_" + *opt.groupby : std::string());

  std::vector<double> density(static_cast<size_t>(n), 0.0);
  if (cat) {
    for (int64_t c = 0; c < cat->n_categories(); ++c) {
      std::vector<int64_t> cells;
      for (int64_t i = 0; i < n; ++i)
        if (cat->codes[static_cast<size_t>(i)] == c) cells.push_back(i);
      std::vector<double> x, y;
      for (int64_t i : cells) {
        x.push_back(value(i, comp[0]));
        y.push_back(value(i, comp[1]));
      }
      std::vector<double> d;
      try {
        d = scaled_density_2d(x, y);
      } catch (const ValueError& e) {
        const std::string name = cat->has_string_categories()
                                     ? cat->string_categories()[static_cast<size_t>(c)]
                                     : std::to_string(c);
        throw ValueError("embedding_density: category '" + name + "' of '" +
                         *opt.groupby + "' (" + std::to_string(cells.size()) + " cells): " + e.what());
      }
      for (size_t k = 0; k < cells.size(); ++k) density[static_cast<size_t>(cells[k])] = d[k];
    }
  } else {
    std::vector<double> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      x[static_cast<size_t>(i)] = value(i, comp[0]);
      y[static_cast<size_t>(i)] = value(i, comp[1]);
    }
    density = scaled_density_2d(x, y);
  }
  adata.obs.set(key, Array::from_vector(density));
  Dict params;
  if (opt.groupby) params["covariate"] = *opt.groupby;  // None is not stored by anndata 0.8
  params["components"] = Array::from_vector(std::vector<int64_t>{given[0], given[1]});
  adata.uns[key + "_params"] = std::move(params);
}

}  // namespace scanpp::tl
