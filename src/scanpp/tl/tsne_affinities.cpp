// t-SNE's input affinities as scikit-learn 1.2 computes them for
// method='barnes_hut' (_joint_probabilities_nn): kNN, perplexity calibration
// per point, symmetrisation.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/tsne.hpp"
#include "scanpp/tl/tsne_knn.hpp"

namespace scanpp::tl {

std::vector<double> tsne_conditional_p(std::span<const float> sq_distances, int64_t n, int k, double perplexity) {
  if (static_cast<int64_t>(sq_distances.size()) != n * k)
    throw ValueError("tsne: conditional_p needs n x k squared distances");
  // scikit-learn's constants are C floats: the tolerance is 1e-5 rounded to float32.
  const double tolerance = static_cast<double>(1e-5f);
  const double floor_sum = static_cast<double>(1e-8f);
  const double desired_entropy = std::log(perplexity);
  std::vector<double> P(static_cast<size_t>(n) * static_cast<size_t>(k));
  // libm's exp, summed in order, as scikit-learn's loop: the same bits.
  parallel_blocks(n, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      const float* d = sq_distances.data() + i * k;
      double* p = P.data() + i * k;
      double beta = 1.0, beta_min = -std::numeric_limits<double>::infinity(),
             beta_max = std::numeric_limits<double>::infinity();
      for (int step = 0; step < 100; ++step) {
        double sum_p = 0.0;
        for (int j = 0; j < k; ++j) {
          p[j] = std::exp(-static_cast<double>(d[j]) * beta);
          sum_p += p[j];
        }
        if (sum_p == 0.0) sum_p = floor_sum;
        double sum_dp = 0.0;
        for (int j = 0; j < k; ++j) {
          p[j] /= sum_p;
          sum_dp += static_cast<double>(d[j]) * p[j];
        }
        const double entropy_diff = std::log(sum_p) + beta * sum_dp - desired_entropy;
        if (std::fabs(entropy_diff) <= tolerance) break;
        if (entropy_diff > 0.0) {
          beta_min = beta;
          beta = std::isinf(beta_max) ? beta * 2.0 : (beta + beta_max) / 2.0;
        } else {
          beta_max = beta;
          beta = std::isinf(beta_min) ? beta / 2.0 : (beta + beta_min) / 2.0;
        }
      }
    }
  });
  return P;
}

SparseMatrix tsne_affinities(const Array& X, double perplexity) {
  if (X.ndim() != 2) throw ValueError("tsne: the representation must be a 2-D matrix");
  const int64_t n = X.rows();
  if (!(perplexity > 0.0) || !std::isfinite(perplexity))
    throw ValueError("tsne: perplexity must be a positive number, got " + std::to_string(perplexity));
  if (perplexity >= static_cast<double>(n))
    throw ValueError("tsne: perplexity (" + std::to_string(perplexity) + ") must be less than the number of cells (" +
                     std::to_string(n) + ")");
  const int k = static_cast<int>(std::min<double>(static_cast<double>(n - 1), std::floor(3.0 * perplexity + 1.0)));
  if (k < 1) throw ValueError("tsne: needs at least 2 cells");

  const TsneNeighbours nn = tsne_neighbours(X, k);
  const std::vector<int32_t>& nbr = nn.index;
  const std::vector<double> cond = tsne_conditional_p(nn.sq, n, k, perplexity);

  // C + Cᵀ: row i holds its own neighbours and every cell that lists i.
  // Cᵀ's rows come out sorted by column (cells are visited in order).
  std::vector<int64_t> tptr(static_cast<size_t>(n) + 1, 0);
  for (int32_t j : nbr) ++tptr[static_cast<size_t>(j) + 1];
  for (int64_t i = 0; i < n; ++i) tptr[i + 1] += tptr[i];
  std::vector<int32_t> tidx(nbr.size());
  std::vector<double> tval(nbr.size());
  {
    std::vector<int64_t> next(tptr.begin(), tptr.end() - 1);
    for (int64_t i = 0; i < n; ++i)
      for (int j = 0; j < k; ++j) {
        const int64_t pos = next[nbr[i * k + j]]++;
        tidx[pos] = static_cast<int32_t>(i);
        tval[pos] = cond[i * k + j];
      }
  }
  std::vector<std::vector<std::pair<int32_t, double>>> rows(static_cast<size_t>(n));
  parallel_blocks(n, 64, [&](int64_t r0, int64_t r1) {
    std::vector<std::pair<int32_t, double>> own;
    for (int64_t i = r0; i < r1; ++i) {
      own.clear();
      for (int j = 0; j < k; ++j) own.emplace_back(nbr[i * k + j], cond[i * k + j]);
      std::sort(own.begin(), own.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      // Merge by column; a pair in both C and Cᵀ is summed C first.
      auto& out = rows[i];
      out.reserve(own.size() + static_cast<size_t>(tptr[i + 1] - tptr[i]));
      size_t a = 0;
      int64_t b = tptr[i];
      while (a < own.size() || b < tptr[i + 1]) {
        if (b == tptr[i + 1] || (a < own.size() && own[a].first < tidx[b])) {
          out.push_back(own[a++]);
        } else if (a == own.size() || tidx[b] < own[a].first) {
          out.emplace_back(tidx[b], tval[b]);
          ++b;
        } else {
          out.emplace_back(own[a].first, own[a].second + tval[b]);
          ++a;
          ++b;
        }
      }
    }
  });
  SparseMatrix P;
  P.format = SparseFormat::CSR;
  P.n_rows = P.n_cols = n;
  P.indptr.assign(static_cast<size_t>(n) + 1, 0);
  for (int64_t i = 0; i < n; ++i) P.indptr[i + 1] = P.indptr[i] + static_cast<int64_t>(rows[i].size());
  P.indices.resize(static_cast<size_t>(P.indptr[n]));
  Array data(DType::Float64, {P.indptr[n]});
  auto dv = data.as<double>();
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t pos = P.indptr[i];
    for (const auto& [j, v] : rows[i]) {
      P.indices[pos] = j;
      dv[pos++] = v;
      total += v;
    }
  }
  total = std::max(total, std::numeric_limits<double>::epsilon());
  for (double& v : dv) v /= total;
  P.data = std::move(data);
  return P;
}

}  // namespace scanpp::tl
