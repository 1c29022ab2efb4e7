#include "scanpp/pp/connectivities.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_set>

#include "scanpp/core/connected_components.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"

namespace scanpp::pp {

namespace {

constexpr double kSmoothKTolerance = 1e-5;  // umap-learn SMOOTH_K_TOLERANCE
constexpr double kMinKDistScale = 1e-3;     // umap-learn MIN_K_DIST_SCALE

// A row-sorted CSR assembled from per-row (column, value) lists.
template <class T>
SparseMatrix csr_from_rows(int64_t n, std::vector<std::vector<std::pair<int32_t, T>>>& rows) {
  SparseMatrix m;
  m.format = SparseFormat::CSR;
  m.n_rows = m.n_cols = n;
  m.indptr.assign(static_cast<size_t>(n) + 1, 0);
  for (int64_t i = 0; i < n; ++i) m.indptr[static_cast<size_t>(i) + 1] = m.indptr[static_cast<size_t>(i)] + static_cast<int64_t>(rows[static_cast<size_t>(i)].size());
  const int64_t nnz = m.indptr.back();
  m.indices.resize(static_cast<size_t>(nnz));
  m.data = Array(dtype_of<T>(), {nnz});
  auto data = m.data.as<T>();
  for (int64_t i = 0; i < n; ++i) {
    int64_t p = m.indptr[static_cast<size_t>(i)];
    for (auto& [c, v] : rows[static_cast<size_t>(i)]) {
      m.indices[static_cast<size_t>(p)] = c;
      data[static_cast<size_t>(p)] = v;
      ++p;
    }
  }
  return m;
}

// Per-row lists sorted by column with duplicates summed (scipy's COO -> CSR).
template <class T>
void canonicalise(std::vector<std::pair<int32_t, T>>& row) {
  std::stable_sort(row.begin(), row.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t w = 0;
  for (size_t r = 0; r < row.size(); ++r) {
    if (w > 0 && row[w - 1].first == row[r].first) row[w - 1].second += row[r].second;
    else row[w++] = row[r];
  }
  row.resize(w);
}

// Transposed per-row lists (column lists), columns sorted.
template <class T>
std::vector<std::vector<std::pair<int32_t, T>>> transpose_rows(const std::vector<std::vector<std::pair<int32_t, T>>>& rows) {
  std::vector<std::vector<std::pair<int32_t, T>>> t(rows.size());
  for (size_t i = 0; i < rows.size(); ++i)
    for (auto& [c, v] : rows[i]) t[static_cast<size_t>(c)].push_back({static_cast<int32_t>(i), v});
  return t;  // rows visited in increasing i, so each list is sorted
}

void check_knn(const KnnResult& knn) {
  if (knn.k < 1 || knn.n < 0 || knn.indices.size() != static_cast<size_t>(knn.n) * knn.k ||
      knn.distances.size() != knn.indices.size())
    throw ValueError("connectivities: malformed kNN result");
  for (int32_t j : knn.indices)
    if (j < 0 || j >= knn.n) throw ValueError("connectivities: kNN index out of range");
}

}  // namespace

SmoothKnnDist smooth_knn_dist(std::span<const float> distances, int64_t n, int k, double n_neighbors, int n_iter,
                              double local_connectivity, double bandwidth) {
  if (static_cast<int64_t>(distances.size()) != n * k) throw ValueError("smooth_knn_dist: distances must be n x k");
  SmoothKnnDist r;
  r.sigmas.assign(static_cast<size_t>(n), 0.f);
  r.rhos.assign(static_cast<size_t>(n), 0.f);
  const double target = std::log2(n_neighbors) * bandwidth;
  // umap-learn takes np.mean of the whole float32 matrix; accumulated in
  // double here (numba's order is not reproducible anyway). It only matters
  // for cells without any positive distance.
  double total = 0;
  for (float v : distances) total += v;
  const double mean_distances = n * k > 0 ? total / static_cast<double>(n * k) : 0.0;
  const int64_t L_index = static_cast<int64_t>(std::floor(local_connectivity));
  const double interpolation = local_connectivity - static_cast<double>(L_index);

  parallel_for(n, [&](int64_t i) {
    const float* row = distances.data() + i * k;
    std::vector<float> nz;
    nz.reserve(static_cast<size_t>(k));
    for (int j = 0; j < k; ++j)
      if (row[j] > 0.f) nz.push_back(row[j]);
    float rho = 0.f;
    if (static_cast<double>(nz.size()) >= local_connectivity) {
      if (L_index > 0) {
        rho = nz[static_cast<size_t>(L_index - 1)];
        if (interpolation > kSmoothKTolerance)
          rho = static_cast<float>(rho + interpolation * (nz[static_cast<size_t>(L_index)] - nz[static_cast<size_t>(L_index - 1)]));
      } else if (interpolation > kSmoothKTolerance) {
        // umap-learn's guard: with local_connectivity 0 a row may have no positive distance.
        rho = static_cast<float>(interpolation * nz[0]);
      }
    } else if (!nz.empty()) {
      rho = *std::max_element(nz.begin(), nz.end());
    }

    // Bisection in float32, as umap-learn declares psum/lo/mid/hi float32.
    float lo = 0.f, hi = std::numeric_limits<float>::infinity(), mid = 1.f;
    for (int it = 0; it < n_iter; ++it) {
      float psum = 0.f;
      for (int j = 1; j < k; ++j) {
        const float d = row[j] - rho;
        if (d > 0.f) psum += std::exp(-(d / mid));
        else psum += 1.f;
      }
      if (std::fabs(static_cast<double>(psum) - target) < kSmoothKTolerance) break;
      if (psum > target) {
        hi = mid;
        mid = (lo + hi) / 2.f;
      } else {
        lo = mid;
        if (hi == std::numeric_limits<float>::infinity()) mid *= 2.f;
        else mid = (lo + hi) / 2.f;
      }
    }
    float sigma = mid;
    if (rho > 0.f) {
      float acc = 0.f;  // numba's float32 accumulator for a float32 row
      for (int j = 0; j < k; ++j) acc += row[j];
      const double mean_i = static_cast<double>(acc) / k;
      if (sigma < kMinKDistScale * mean_i) sigma = static_cast<float>(kMinKDistScale * mean_i);
    } else if (sigma < kMinKDistScale * mean_distances) {
      sigma = static_cast<float>(kMinKDistScale * mean_distances);
    }
    r.sigmas[static_cast<size_t>(i)] = sigma;
    r.rhos[static_cast<size_t>(i)] = rho;
  });
  return r;
}

SparseMatrix umap_connectivities(const KnnResult& knn, const UmapConnectivityOptions& opt) {
  check_knn(knn);
  const int64_t n = knn.n;
  const int k = knn.k;
  std::vector<float> d32(knn.distances.size());
  for (size_t t = 0; t < d32.size(); ++t) d32[t] = static_cast<float>(knn.distances[t]);
  const SmoothKnnDist s = smooth_knn_dist(d32, n, k, static_cast<double>(k), 64, opt.local_connectivity, 1.0);

  // Directed membership strengths; self and zero weights are dropped
  // (umap-learn sets the self weight to 0, then eliminate_zeros()).
  using Row = std::vector<std::pair<int32_t, float>>;
  std::vector<Row> a(static_cast<size_t>(n));
  parallel_for(n, [&](int64_t i) {
    Row& row = a[static_cast<size_t>(i)];
    const float rho = s.rhos[static_cast<size_t>(i)], sigma = s.sigmas[static_cast<size_t>(i)];
    for (int j = 0; j < k; ++j) {
      const int32_t col = knn.index(i, j);
      if (col == i) continue;
      const float d = d32[static_cast<size_t>(i) * k + j];
      float val;
      if (d - rho <= 0.f || sigma == 0.f) val = 1.f;
      else val = std::exp(-((d - rho) / sigma));
      row.push_back({col, val});
    }
    canonicalise(row);
    std::erase_if(row, [](const auto& e) { return e.second == 0.f; });
  });
  const std::vector<Row> at = transpose_rows(a);

  // Fuzzy union W = r (A + Aᵀ − A∘Aᵀ) + (1 − r) A∘Aᵀ in float32, as scipy
  // evaluates it on float32 matrices.
  const float ratio = static_cast<float>(opt.set_op_mix_ratio);
  const float rest = static_cast<float>(1.0 - opt.set_op_mix_ratio);
  std::vector<Row> w(static_cast<size_t>(n));
  parallel_for(n, [&](int64_t i) {
    const Row& ra = a[static_cast<size_t>(i)];
    const Row& rb = at[static_cast<size_t>(i)];
    Row& out = w[static_cast<size_t>(i)];
    out.reserve(ra.size() + rb.size());
    size_t p = 0, q = 0;
    while (p < ra.size() || q < rb.size()) {
      int32_t col;
      float x = 0.f, y = 0.f;
      if (q == rb.size() || (p < ra.size() && ra[p].first < rb[q].first)) {
        col = ra[p].first;
        x = ra[p++].second;
      } else if (p == ra.size() || rb[q].first < ra[p].first) {
        col = rb[q].first;
        y = rb[q++].second;
      } else {
        col = ra[p].first;
        x = ra[p++].second;
        y = rb[q++].second;
      }
      const float prod = x * y;
      const float uni = (x + y) - prod;
      const float v = ratio * uni + rest * prod;
      if (v != 0.f) out.push_back({col, v});
    }
  });
  return csr_from_rows(n, w);
}

SparseMatrix gauss_connectivities(const SparseMatrix& distances, int n_neighbors) {
  if (distances.format != SparseFormat::CSR || distances.n_rows != distances.n_cols)
    throw ValueError("gauss connectivities: distances must be a square CSR matrix");
  if (n_neighbors < 2) throw ValueError("gauss connectivities: n_neighbors must be at least 2");
  const int64_t n = distances.n_rows;
  const std::vector<double> dist = distances.data.to_vector<double>();
  std::vector<double> dsq(dist.size());
  for (size_t t = 0; t < dist.size(); ++t) dsq[t] = dist[t] * dist[t];
  const auto& ip = distances.indptr;
  const auto& ind = distances.indices;

  // Scanpy's _get_indices_distances_from_sparse_matrix, then self dropped:
  // the k-1 neighbour columns and squared distances of each row.
  const int m = n_neighbors - 1;
  std::vector<int32_t> nbr(static_cast<size_t>(n) * m);
  std::vector<double> nbr_sq(static_cast<size_t>(n) * m);
  bool constant = true;
  for (int64_t i = 0; i < n && constant; ++i)
    constant = ip[static_cast<size_t>(i) + 1] - ip[static_cast<size_t>(i)] == ip[1] - ip[0];
  if (constant) {
    const int64_t per_row = n > 0 ? ip[1] - ip[0] : 0;
    bool has_self = false;
    for (int64_t i = 0; i < n && per_row > 0; ++i) has_self |= ind[static_cast<size_t>(ip[static_cast<size_t>(i)])] == i;
    // Columns after the (possibly prepended) self column, capped at k - 1.
    const int64_t skip = has_self ? 1 : 0;
    if (per_row - skip < m)
      throw ValueError("gauss connectivities: the distance matrix has fewer than n_neighbors - 1 neighbours per row");
    for (int64_t i = 0; i < n; ++i)
      for (int j = 0; j < m; ++j) {
        const size_t src = static_cast<size_t>(ip[static_cast<size_t>(i)] + skip + j);
        nbr[static_cast<size_t>(i) * m + j] = ind[src];
        nbr_sq[static_cast<size_t>(i) * m + j] = dsq[src];
      }
  } else {
    // Scanpy's slow path: the k-1 smallest stored non-zero entries per row.
    for (int64_t i = 0; i < n; ++i) {
      std::vector<std::pair<double, int32_t>> row;
      for (int64_t p = ip[static_cast<size_t>(i)]; p < ip[static_cast<size_t>(i) + 1]; ++p)
        if (dsq[static_cast<size_t>(p)] != 0.0) row.push_back({dsq[static_cast<size_t>(p)], ind[static_cast<size_t>(p)]});
      if (static_cast<int>(row.size()) < m)
        throw ValueError("gauss connectivities: row " + std::to_string(i) + " has fewer than n_neighbors - 1 neighbours");
      std::stable_sort(row.begin(), row.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
      for (int j = 0; j < m; ++j) {
        nbr[static_cast<size_t>(i) * m + j] = row[static_cast<size_t>(j)].second;
        nbr_sq[static_cast<size_t>(i) * m + j] = row[static_cast<size_t>(j)].first;
      }
    }
  }

  // σ_i² = median of the k-1 squared neighbour distances (np.median).
  std::vector<double> sig_sq(static_cast<size_t>(n)), sig(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> v(nbr_sq.begin() + i * m, nbr_sq.begin() + (i + 1) * m);
    std::sort(v.begin(), v.end());
    const size_t h = v.size() / 2;
    sig_sq[static_cast<size_t>(i)] = v.size() % 2 ? v[h] : (v[h - 1] + v[h]) / 2.0;
    sig[static_cast<size_t>(i)] = std::sqrt(sig_sq[static_cast<size_t>(i)]);
  }

  // Weights on every stored entry of the distance matrix.
  using Row = std::vector<std::pair<int32_t, double>>;
  std::vector<Row> w(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    Row& row = w[static_cast<size_t>(i)];
    for (int64_t p = ip[static_cast<size_t>(i)]; p < ip[static_cast<size_t>(i) + 1]; ++p) {
      const int32_t j = ind[static_cast<size_t>(p)];
      const double num = 2.0 * sig[static_cast<size_t>(i)] * sig[static_cast<size_t>(j)];
      const double den = sig_sq[static_cast<size_t>(i)] + sig_sq[static_cast<size_t>(j)];
      row.push_back({j, std::sqrt(num / den) * std::exp(-dsq[static_cast<size_t>(p)] / den)});
    }
    canonicalise(row);
  }
  // Symmetrise: w[j,i] = w[i,j] where j is a neighbour of i but not i of j
  // (scipy's LIL: assigning 0 removes the entry).
  std::vector<std::unordered_set<int32_t>> nset(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) nset[static_cast<size_t>(i)].insert(nbr.begin() + i * m, nbr.begin() + (i + 1) * m);
  auto find = [](auto& row, int32_t c) {
    return std::lower_bound(row.begin(), row.end(), c, [](const auto& e, int32_t x) { return e.first < x; });
  };
  std::vector<std::tuple<int32_t, int32_t, double>> assign;
  for (int64_t i = 0; i < n; ++i)
    for (int jj = 0; jj < m; ++jj) {
      const int32_t j = nbr[static_cast<size_t>(i) * m + jj];
      if (nset[static_cast<size_t>(j)].count(static_cast<int32_t>(i))) continue;
      const Row& ri = w[static_cast<size_t>(i)];
      auto it = find(ri, j);
      const double v = (it != ri.end() && it->first == j) ? it->second : 0.0;
      assign.emplace_back(j, static_cast<int32_t>(i), v);
    }
  for (auto& [r, c, v] : assign) {
    Row& row = w[static_cast<size_t>(r)];
    auto it = find(row, c);
    const bool present = it != row.end() && it->first == c;
    if (v == 0.0) {
      if (present) row.erase(it);
    } else if (present) {
      it->second = v;
    } else {
      row.insert(it, {c, v});
    }
  }
  SparseMatrix out = csr_from_rows(n, w);
  if (distances.dtype() != DType::Float64) out.data = out.data.astype(distances.dtype());
  return out;
}

Array gauss_connectivities_dense(const Array& distances, int n_neighbors) {
  if (distances.ndim() != 2 || distances.shape()[0] != distances.shape()[1])
    throw ValueError("gauss connectivities: dense distances must be n x n");
  const int64_t n = distances.shape()[0];
  if (n_neighbors < 2 || n_neighbors > n) throw ValueError("gauss connectivities: n_neighbors out of range");
  const std::vector<double> d = distances.to_vector<double>();
  std::vector<double> sig_sq(static_cast<size_t>(n)), sig(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> row(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j) row[static_cast<size_t>(j)] = d[static_cast<size_t>(i * n + j)] * d[static_cast<size_t>(i * n + j)];
    // The k-th smallest squared distance (self included) is the last column
    // Scanpy keeps; σ² is a quarter of it.
    std::nth_element(row.begin(), row.begin() + (n_neighbors - 1), row.end());
    sig_sq[static_cast<size_t>(i)] = row[static_cast<size_t>(n_neighbors - 1)] / 4.0;
    sig[static_cast<size_t>(i)] = std::sqrt(sig_sq[static_cast<size_t>(i)]);
  }
  Array w(DType::Float64, {n, n});
  auto out = w.as<double>();
  parallel_for(n, [&](int64_t i) {
    for (int64_t j = 0; j < n; ++j) {
      const double num = 2.0 * sig[static_cast<size_t>(i)] * sig[static_cast<size_t>(j)];
      const double den = sig_sq[static_cast<size_t>(i)] + sig_sq[static_cast<size_t>(j)];
      const double dd = d[static_cast<size_t>(i * n + j)];
      const double v = std::sqrt(num / den) * std::exp(-(dd * dd) / den);
      out[static_cast<size_t>(i * n + j)] = v > 1e-14 ? v : 0.0;
    }
  });
  return w;
}

SparseMatrix jaccard_connectivities(const KnnResult& knn) {
  check_knn(knn);
  const int64_t n = knn.n;
  const int m = knn.k - 1;
  if (m < 1) throw ValueError("jaccard connectivities: n_neighbors must be at least 2");
  std::vector<std::vector<int32_t>> nb(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    auto& v = nb[static_cast<size_t>(i)];
    for (int j = 1; j <= m; ++j) v.push_back(knn.index(i, j));
    std::sort(v.begin(), v.end());
  }
  using Row = std::vector<std::pair<int32_t, double>>;
  std::vector<Row> c(static_cast<size_t>(n));
  parallel_for(n, [&](int64_t i) {
    const auto& ni = nb[static_cast<size_t>(i)];
    Row& row = c[static_cast<size_t>(i)];
    for (int jj = 1; jj <= m; ++jj) {
      const int32_t j = knn.index(i, jj);
      const auto& nj = nb[static_cast<size_t>(j)];
      // |N(i) ∩ N(j)| as the dot product of the 0/1 adjacency rows.
      double shared = 0;
      size_t p = 0, q = 0;
      while (p < ni.size() && q < nj.size()) {
        if (ni[p] < nj[q]) ++p;
        else if (nj[q] < ni[p]) ++q;
        else {
          ++shared;
          ++p;
          ++q;
        }
      }
      row.push_back({j, shared / (2.0 * m - shared)});
    }
    canonicalise(row);
  });
  const std::vector<Row> ct = transpose_rows(c);
  std::vector<Row> w(static_cast<size_t>(n));
  parallel_for(n, [&](int64_t i) {
    const Row& ra = c[static_cast<size_t>(i)];
    const Row& rb = ct[static_cast<size_t>(i)];
    Row& out = w[static_cast<size_t>(i)];
    size_t p = 0, q = 0;
    while (p < ra.size() || q < rb.size()) {
      int32_t col;
      double s;
      if (q == rb.size() || (p < ra.size() && ra[p].first < rb[q].first)) {
        col = ra[p].first;
        s = ra[p++].second;
      } else if (p == ra.size() || rb[q].first < ra[p].first) {
        col = rb[q].first;
        s = rb[q++].second;
      } else {
        col = ra[p].first;
        s = ra[p++].second + rb[q++].second;
      }
      if (s != 0.0) out.push_back({col, s / 2.0});  // scipy drops zero sums
    }
  });
  return csr_from_rows(n, w);
}

int64_t connected_components(const SparseMatrix& graph) {
  if (graph.format != SparseFormat::CSR || graph.n_rows != graph.n_cols)
    throw ValueError("connected_components: need a square CSR matrix");
  const auto labels = connected_component_labels(graph);
  return labels.empty() ? 0 : static_cast<int64_t>(*std::max_element(labels.begin(), labels.end())) + 1;
}

}  // namespace scanpp::pp
