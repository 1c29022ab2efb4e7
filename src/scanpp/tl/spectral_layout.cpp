#include "scanpp/tl/spectral_layout.hpp"

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <Spectra/SymEigsSolver.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/core/random.hpp"

namespace scanpp::tl {

namespace {

// Substreams of the random draws made here, so they never coincide with other uses of the seed.
constexpr uint64_t kSmallComponentStream = 0x5350454331ULL;
constexpr uint64_t kFallbackStream = 0x5350454332ULL;
constexpr uint64_t kCentroidStream = 0x5350454333ULL;

// A (sub)graph in CSR with double weights and local vertex numbers.
struct LocalGraph {
  int64_t n = 0;
  std::vector<int64_t> indptr{0};
  std::vector<int32_t> indices;
  std::vector<double> values;
};

// y = D^-1/2 W D^-1/2 x: the largest eigenvalues of this operator are the
// smallest of L = I - D^-1/2 W D^-1/2, which ARPACK's 'SM' mode finds slowly.
class NormalizedAdjacency {
 public:
  using Scalar = double;
  explicit NormalizedAdjacency(const LocalGraph& g) : g_(g), s_(static_cast<size_t>(g.n), 0.0) {
    // Degrees are column sums, as umap-learn takes graph.sum(axis=0).
    std::vector<double> deg(static_cast<size_t>(g.n), 0.0);
    for (int64_t k = 0; k < static_cast<int64_t>(g.values.size()); ++k) deg[g.indices[k]] += g.values[k];
    for (int64_t i = 0; i < g.n; ++i) s_[i] = deg[i] > 0.0 ? 1.0 / std::sqrt(deg[i]) : 0.0;
  }
  Eigen::Index rows() const { return g_.n; }
  Eigen::Index cols() const { return g_.n; }
  // Each row is summed by one thread in index order: the same bits for any thread count.
  void perform_op(const double* x, double* y) const {
    parallel_blocks(g_.n, 4096, [&](int64_t a, int64_t b) {
      for (int64_t i = a; i < b; ++i) {
        double acc = 0.0;
        for (int64_t k = g_.indptr[i]; k < g_.indptr[i + 1]; ++k) acc += g_.values[k] * s_[g_.indices[k]] * x[g_.indices[k]];
        y[i] = s_[i] * acc;
      }
    });
  }
  double scale(int64_t i) const { return s_[i]; }

 private:
  const LocalGraph& g_;
  std::vector<double> s_;
};

// Eigen's GEMM picks its blocking from the thread count, which would make the
// Lanczos restarts' rounding depend on it; run Eigen single-threaded here
// (the operator above is what is parallel).
class EigenSingleThread {
 public:
  EigenSingleThread() : old_(Eigen::nbThreads()) { Eigen::setNbThreads(1); }
  ~EigenSingleThread() { Eigen::setNbThreads(old_); }
  EigenSingleThread(const EigenSingleThread&) = delete;
  EigenSingleThread& operator=(const EigenSingleThread&) = delete;

 private:
  int old_;
};

// Eigenvectors 1..dim (by ascending Laplacian eigenvalue) as n x dim
// row-major; false when the iterative solver does not converge.
bool laplacian_eigenvectors(const LocalGraph& g, int dim, const SpectralLayoutOptions& opt, std::vector<double>& out) {
  const int64_t n = g.n;
  const int nev = dim + 1;
  out.assign(static_cast<size_t>(n * dim), 0.0);
  NormalizedAdjacency op(g);
  if (n <= 256) {
    // Small: a dense symmetric eigendecomposition is exact and cheap.
    Eigen::MatrixXd m = Eigen::MatrixXd::Zero(n, n);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = g.indptr[i]; k < g.indptr[i + 1]; ++k)
        m(i, g.indices[k]) += op.scale(i) * g.values[k] * op.scale(g.indices[k]);
    m = 0.5 * (m + m.transpose());
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(m);
    if (es.info() != Eigen::Success) return false;
    for (int d = 0; d < dim; ++d)  // ascending eigenvalues: the largest is n-1, skipped
      for (int64_t i = 0; i < n; ++i) out[i * dim + d] = es.eigenvectors()(i, n - 2 - d);
    return true;
  }
  const int64_t ncv = std::min<int64_t>(
      n, std::max<int64_t>(2 * nev + 1, std::min<int64_t>(static_cast<int64_t>(std::sqrt(double(n))),
                                                          opt.max_lanczos_vectors)));
  EigenSingleThread single;
  Spectra::SymEigsSolver<NormalizedAdjacency> eigs(op, nev, static_cast<Eigen::Index>(ncv));
  const Eigen::VectorXd v0 = Eigen::VectorXd::Ones(n);  // umap-learn's v0
  eigs.init(v0.data());
  eigs.compute(Spectra::SortRule::LargestAlge, std::max<int64_t>(1000, 5 * n), opt.tol, Spectra::SortRule::LargestAlge);
  if (eigs.info() != Spectra::CompInfo::Successful) return false;
  const Eigen::MatrixXd vec = eigs.eigenvectors();  // columns by descending eigenvalue of D^-1/2 W D^-1/2
  for (int d = 0; d < dim; ++d)
    for (int64_t i = 0; i < n; ++i) out[i * dim + d] = vec(i, d + 1);
  return true;
}

// Connected components labelled in order of their smallest vertex (scipy's numbering).
// Explicit zeros are ignored.
std::vector<int32_t> components(const LocalGraph& g, int32_t& count) {
  std::vector<int32_t> label(static_cast<size_t>(g.n), -1);
  // Union-find over both directions of every entry.
  std::vector<int64_t> parent(static_cast<size_t>(g.n));
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](int64_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  for (int64_t i = 0; i < g.n; ++i)
    for (int64_t k = g.indptr[i]; k < g.indptr[i + 1]; ++k) {
      if (g.values[k] == 0.0) continue;  // an explicitly stored zero is no edge
      const int64_t a = find(i), b = find(g.indices[k]);
      if (a != b) parent[std::max(a, b)] = std::min(a, b);
    }
  count = 0;
  std::vector<int32_t> root_label(static_cast<size_t>(g.n), -1);
  for (int64_t i = 0; i < g.n; ++i) {
    const int64_t r = find(i);
    if (root_label[r] < 0) root_label[r] = count++;
    label[i] = root_label[r];
  }
  return label;
}

LocalGraph local_graph(const SparseMatrix& m) {
  SparseMatrix csr = convert_format(m, SparseFormat::CSR);
  LocalGraph g;
  g.n = csr.n_rows;
  g.indptr = csr.indptr;
  g.indices = csr.indices;
  g.values.resize(static_cast<size_t>(csr.nnz()));
  for (int64_t k = 0; k < csr.nnz(); ++k) g.values[k] = csr.data.get_double(k);
  return g;
}

LocalGraph subgraph(const LocalGraph& g, const std::vector<int64_t>& cells, const std::vector<int64_t>& local_of) {
  LocalGraph s;
  s.n = static_cast<int64_t>(cells.size());
  s.indptr.assign(1, 0);
  for (int64_t c : cells) {
    for (int64_t k = g.indptr[c]; k < g.indptr[c + 1]; ++k) {
      const int64_t j = local_of[g.indices[k]];
      if (j < 0) continue;
      s.indices.push_back(static_cast<int32_t>(j));
      s.values.push_back(g.values[k]);
    }
    s.indptr.push_back(static_cast<int64_t>(s.indices.size()));
  }
  return s;
}

// umap-learn's component_layout: a spectral embedding (scikit-learn's
// SpectralEmbedding on a precomputed affinity) of the components'
// centroids with affinity exp(-d^2 / mean d^2), divided by its largest entry.
std::vector<double> centroid_layout(const Array& data, const std::vector<int32_t>& label, int32_t n_comp, int dim) {
  const int64_t n = data.rows(), p = data.cols();
  std::vector<double> centroid(static_cast<size_t>(n_comp * p), 0.0);
  std::vector<int64_t> size(static_cast<size_t>(n_comp), 0);
  for (int64_t i = 0; i < n; ++i) {
    ++size[label[i]];
    for (int64_t j = 0; j < p; ++j) centroid[label[i] * p + j] += data.get_double(i * p + j);
  }
  for (int32_t c = 0; c < n_comp; ++c)
    for (int64_t j = 0; j < p; ++j) centroid[c * p + j] /= static_cast<double>(size[c]);
  Eigen::MatrixXd dist2(n_comp, n_comp);
  double mean_d2 = 0.0;
  for (int32_t a = 0; a < n_comp; ++a)
    for (int32_t b = 0; b < n_comp; ++b) {
      double d2 = 0.0;
      for (int64_t j = 0; j < p; ++j) {
        const double t = centroid[a * p + j] - centroid[b * p + j];
        d2 += t * t;
      }
      dist2(a, b) = d2;
      mean_d2 += d2;
    }
  mean_d2 /= static_cast<double>(n_comp) * (n_comp - 1);
  // umap-learn takes exp(-d^2) of raw distances; between centroids in PCA
  // space (distances of 10 and more) every affinity underflows to 0 and the
  // embedding degenerates (components pile up on a few points). Distances
  // are measured in units of their root mean square here instead.
  const double scale2 = mean_d2 > 0.0 ? mean_d2 : 1.0;
  Eigen::MatrixXd aff(n_comp, n_comp);
  for (int32_t a = 0; a < n_comp; ++a)
    for (int32_t b = 0; b < n_comp; ++b)
      aff(a, b) = a == b ? 0.0 : std::exp(-dist2(a, b) / scale2);  // scipy's normed Laplacian ignores the diagonal
  Eigen::VectorXd dd(n_comp);
  for (int32_t a = 0; a < n_comp; ++a) {
    const double deg = aff.row(a).sum();
    dd(a) = deg > 0.0 ? std::sqrt(deg) : 1.0;
  }
  Eigen::MatrixXd m(n_comp, n_comp);
  for (int32_t a = 0; a < n_comp; ++a)
    for (int32_t b = 0; b < n_comp; ++b) m(a, b) = aff(a, b) / (dd(a) * dd(b));
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(m);
  std::vector<double> out(static_cast<size_t>(n_comp * dim), 0.0);
  double mx = -std::numeric_limits<double>::infinity();
  for (int d = 0; d < dim; ++d) {
    const int col = n_comp - 2 - d;  // skip the trivial top eigenvector
    if (col < 0) break;
    Eigen::VectorXd u = es.eigenvectors().col(col).array() / dd.array();
    // scikit-learn's deterministic sign: the largest |entry| is positive.
    Eigen::Index arg = 0;
    u.cwiseAbs().maxCoeff(&arg);
    if (u(arg) < 0) u = -u;
    for (int32_t a = 0; a < n_comp; ++a) {
      out[a * dim + d] = u(a);
      mx = std::max(mx, u(a));
    }
  }
  if (mx > 0.0)
    for (double& v : out) v /= mx;
  return out;
}

}  // namespace

SpectralLayout spectral_layout(const SparseMatrix& graph, const SpectralLayoutOptions& opt, const Array* data) {
  if (graph.n_rows != graph.n_cols) throw ValueError("spectral_layout: graph must be square");
  if (opt.n_components < 1) throw ValueError("spectral_layout: n_components must be >= 1");
  const int dim = opt.n_components;
  const uint64_t seed = static_cast<uint64_t>(opt.random_state);
  const LocalGraph g = local_graph(graph);
  const int64_t n = g.n;
  SpectralLayout out;
  out.coords.assign(static_cast<size_t>(n * dim), 0.0);
  if (n == 0) return out;
  int32_t n_comp = 0;
  const std::vector<int32_t> label = components(g, n_comp);
  out.n_connected_components = n_comp;

  auto uniform_fill = [&](int64_t i, double lo, double hi, const double* center, uint64_t stream) {
    random::Stream rs(seed, static_cast<uint64_t>(i), stream);
    for (int d = 0; d < dim; ++d) out.coords[i * dim + d] = rs.uniform(lo, hi) + (center ? center[d] : 0.0);
  };

  if (n_comp == 1) {
    std::vector<double> vec;
    if (n > static_cast<int64_t>(dim) + 1 && laplacian_eigenvectors(g, dim, opt, vec)) {
      out.coords = std::move(vec);
    } else {
      out.used_random_fallback = true;
      for (int64_t i = 0; i < n; ++i) uniform_fill(i, -10.0, 10.0, nullptr, kFallbackStream);
    }
    return out;
  }

  // Where each component goes.
  std::vector<double> meta(static_cast<size_t>(n_comp * dim), 0.0);
  if (n_comp > 2 * dim) {
    if (data) {
      if (data->ndim() != 2 || data->rows() != n)
        throw ValueError("spectral_layout: data must be a 2-D array with one row per vertex");
      meta = centroid_layout(*data, label, n_comp, dim);
    } else {
      for (int32_t c = 0; c < n_comp; ++c) {
        random::Stream rs(seed, static_cast<uint64_t>(c), kCentroidStream);
        for (int d = 0; d < dim; ++d) meta[c * dim + d] = rs.uniform() * 10.0;
      }
    }
  } else {
    // +/- unit vectors: components 0..k-1 on +e_c, k..2k-1 on -e_c.
    const int k = (n_comp + 1) / 2;
    for (int32_t c = 0; c < n_comp; ++c) {
      const int axis = c % k;
      if (axis < dim) meta[c * dim + axis] = c < k ? 1.0 : -1.0;
    }
  }

  std::vector<std::vector<int64_t>> members(static_cast<size_t>(n_comp));
  for (int64_t i = 0; i < n; ++i) members[label[i]].push_back(i);
  std::vector<int64_t> local_of(static_cast<size_t>(n), -1);
  for (int32_t c = 0; c < n_comp; ++c) {
    const double* center = &meta[c * dim];
    double min_dist = std::numeric_limits<double>::infinity();
    for (int32_t o = 0; o < n_comp; ++o) {
      double d2 = 0.0;
      for (int d = 0; d < dim; ++d) d2 += (meta[o * dim + d] - center[d]) * (meta[o * dim + d] - center[d]);
      if (d2 > 0.0) min_dist = std::min(min_dist, std::sqrt(d2));
    }
    const double data_range = std::isfinite(min_dist) ? min_dist / 2.0 : 1.0;
    const auto& cells = members[c];
    const int64_t size = static_cast<int64_t>(cells.size());
    std::vector<double> vec;
    bool ok = false;
    if (size >= 2 * dim && size > dim + 1) {
      for (int64_t r = 0; r < size; ++r) local_of[cells[r]] = r;
      const LocalGraph s = subgraph(g, cells, local_of);
      for (int64_t cell : cells) local_of[cell] = -1;
      ok = laplacian_eigenvectors(s, dim, opt, vec);
      if (!ok) out.used_random_fallback = true;
    }
    if (ok) {
      double mx = 0.0;
      for (double v : vec) mx = std::max(mx, std::fabs(v));
      const double expansion = mx > 0.0 ? data_range / mx : 0.0;
      for (int64_t r = 0; r < size; ++r)
        for (int d = 0; d < dim; ++d) out.coords[cells[r] * dim + d] = vec[r * dim + d] * expansion + center[d];
    } else {
      for (int64_t cell : cells) uniform_fill(cell, -data_range, data_range, center, kSmallComponentStream);
    }
  }
  return out;
}

}  // namespace scanpp::tl
