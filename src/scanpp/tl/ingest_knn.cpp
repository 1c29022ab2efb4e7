#include "scanpp/tl/ingest_knn.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"

namespace scanpp::tl {

namespace {

std::vector<double> rows_as_double(const Array& a, const char* what) {
  if (a.ndim() != 2) throw ValueError(std::string("knn_query: the ") + what + " must be a 2-D matrix");
  std::vector<double> v(static_cast<size_t>(a.size()));
  for (int64_t i = 0; i < a.size(); ++i) {
    v[i] = a.get_double(i);
    if (!std::isfinite(v[i]))
      throw InputError("", what, "non-finite value at row " + std::to_string(i / std::max<int64_t>(a.cols(), 1)));
  }
  return v;
}

// Per-row preparation for cosine/correlation: centred (correlation) copy and norm.
void prepare(std::vector<double>& x, int64_t n, int64_t d, pp::KnnMetric metric, std::vector<double>& norms) {
  norms.assign(static_cast<size_t>(n), 0.0);
  if (metric != pp::KnnMetric::Cosine && metric != pp::KnnMetric::Correlation) return;
  for (int64_t i = 0; i < n; ++i) {
    double* r = x.data() + i * d;
    if (metric == pp::KnnMetric::Correlation && d > 0) {
      double m = 0.0;
      for (int64_t j = 0; j < d; ++j) m += r[j];
      m /= static_cast<double>(d);
      for (int64_t j = 0; j < d; ++j) r[j] -= m;
    }
    double s = 0.0;
    for (int64_t j = 0; j < d; ++j) s += r[j] * r[j];
    norms[i] = std::sqrt(s);
  }
}

double distance(const double* x, const double* y, int64_t d, pp::KnnMetric metric, double nx, double ny) {
  switch (metric) {
    case pp::KnnMetric::Euclidean: {
      double s = 0.0;
      for (int64_t j = 0; j < d; ++j) s += (x[j] - y[j]) * (x[j] - y[j]);
      return std::sqrt(s);
    }
    case pp::KnnMetric::Manhattan: {
      double s = 0.0;
      for (int64_t j = 0; j < d; ++j) s += std::fabs(x[j] - y[j]);
      return s;
    }
    case pp::KnnMetric::Chebyshev: {
      double s = 0.0;
      for (int64_t j = 0; j < d; ++j) s = std::max(s, std::fabs(x[j] - y[j]));
      return s;
    }
    case pp::KnnMetric::Cosine:
    case pp::KnnMetric::Correlation: {
      // scikit-learn: zero vectors count as distance 1 from everything.
      if (nx == 0.0 || ny == 0.0) return 1.0;
      double s = 0.0;
      for (int64_t j = 0; j < d; ++j) s += x[j] * y[j];
      return std::max(0.0, 1.0 - s / (nx * ny));
    }
  }
  return 0.0;
}

}  // namespace

QueryKnn knn_query(const Array& reference, const Array& query, int k, pp::KnnMetric metric) {
  std::vector<double> ref = rows_as_double(reference, "reference");
  std::vector<double> qry = rows_as_double(query, "query");
  const int64_t n_ref = reference.rows(), n = query.rows(), d = reference.cols();
  if (query.cols() != d)
    throw ValueError("knn_query: the query has " + std::to_string(query.cols()) + " columns, the reference " +
                     std::to_string(d));
  if (k < 1 || k > n_ref)
    throw ValueError("knn_query: k=" + std::to_string(k) + " must be between 1 and the reference size " +
                     std::to_string(n_ref));
  std::vector<double> ref_norm, qry_norm;
  prepare(ref, n_ref, d, metric, ref_norm);
  prepare(qry, n, d, metric, qry_norm);
  QueryKnn r;
  r.n = n;
  r.k = k;
  r.indices.resize(static_cast<size_t>(n) * k);
  r.distances.resize(static_cast<size_t>(n) * k);
  parallel_blocks(n, 16, [&](int64_t q0, int64_t q1) {
    std::vector<std::pair<double, int32_t>> all(static_cast<size_t>(n_ref));
    for (int64_t i = q0; i < q1; ++i) {
      const double* x = qry.data() + i * d;
      for (int64_t j = 0; j < n_ref; ++j)
        all[j] = {distance(x, ref.data() + j * d, d, metric, qry_norm[i], ref_norm[j]), static_cast<int32_t>(j)};
      std::partial_sort(all.begin(), all.begin() + k, all.end());
      for (int j = 0; j < k; ++j) {
        r.indices[i * k + j] = all[j].second;
        r.distances[i * k + j] = all[j].first;
      }
    }
  });
  return r;
}

}  // namespace scanpp::tl
