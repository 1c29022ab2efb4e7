#include "scanpp/tl/diffmap.hpp"

#include <Eigen/Dense>
#include <Spectra/SymEigsSolver.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "scanpp/core/connected_components.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/numpy_random.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/diffmap_lanczos.hpp"

namespace scanpp::tl {

namespace {

// scipy's eigsh tolerance in Scanpy's diffmap (ARPACK's relative residual).
constexpr double kTol = 1e-12;
// Up to this size the whole matrix is decomposed densely.
constexpr int64_t kDenseMaxRows = 300;
// Up to this size the unrestarted Lanczos solver (diffmap_lanczos), whose
// basis of up to 400 vectors then takes at most 64 MB.
constexpr int64_t kLanczosMaxRows = 20000;

// Rows per block of the sparse product: PBMC-sized matrices (a few thousand
// rows, ~16 non-zeros each) take one block, i.e. no thread start-up per
// product, which would cost more than the product itself.
constexpr int64_t kProductBlockRows = 4096;

// Rows [r0, r1) of y = A x for a float64 CSR matrix. Each row's sum has a
// fixed order, so the product does not depend on the thread count (the
// AVX-512 and generic kernels order it differently; a machine always runs the
// same one).
[[gnu::target("avx512f,avx512vl")]] void csr_rows_avx512(const int64_t* indptr, const int32_t* indices,
                                                         const double* v, const double* x, double* y, int64_t r0,
                                                         int64_t r1) {
  const __m512d zero = _mm512_setzero_pd();
  for (int64_t i = r0; i < r1; ++i) {
    // Eight non-zeros at a time: one gather of x, one fused multiply-add.
    __m512d acc = zero;
    int64_t k = indptr[i];
    const int64_t end = indptr[i + 1];
    for (; k + 8 <= end; k += 8) {
      const __m256i idx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(indices + k));
      acc = _mm512_fmadd_pd(_mm512_loadu_pd(v + k), _mm512_mask_i32gather_pd(zero, 0xff, idx, x, 8), acc);
    }
    if (k < end) {
      const __mmask8 m = static_cast<__mmask8>((1u << (end - k)) - 1);
      const __m256i idx = _mm256_maskz_loadu_epi32(m, indices + k);
      acc = _mm512_fmadd_pd(_mm512_maskz_loadu_pd(m, v + k), _mm512_mask_i32gather_pd(zero, m, idx, x, 8), acc);
    }
    alignas(64) double t[8];
    _mm512_store_pd(t, acc);
    y[i] = ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
  }
}

void csr_rows_generic(const int64_t* indptr, const int32_t* indices, const double* v, const double* x, double* y,
                      int64_t r0, int64_t r1) {
  for (int64_t i = r0; i < r1; ++i) {
    // Two accumulators halve the chain of dependent additions per row.
    double s0 = 0.0, s1 = 0.0;
    int64_t k = indptr[i];
    const int64_t end = indptr[i + 1];
    for (; k + 2 <= end; k += 2) {
      s0 += v[k] * x[indices[k]];
      s1 += v[k + 1] * x[indices[k + 1]];
    }
    if (k < end) s0 += v[k] * x[indices[k]];
    y[i] = s0 + s1;
  }
}

// y = A x, rows in fixed blocks.
void csr_product(const SparseMatrix& a, std::span<const double> v, const double* x, double* y) {
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
  auto rows = [&](int64_t r0, int64_t r1) {
    if (avx512)
      csr_rows_avx512(a.indptr.data(), a.indices.data(), v.data(), x, y, r0, r1);
    else
      csr_rows_generic(a.indptr.data(), a.indices.data(), v.data(), x, y, r0, r1);
  };
  if (a.n_rows <= kProductBlockRows)
    rows(0, a.n_rows);  // one block: no OpenMP region at all
  else
    parallel_blocks(a.n_rows, kProductBlockRows, rows);
}

// The same product for Spectra (the fallback solver).
class CsrProduct {
 public:
  using Scalar = double;
  explicit CsrProduct(const SparseMatrix& a) : a_(a), v_(a.data.as<double>()) {}
  Eigen::Index rows() const { return a_.n_rows; }
  Eigen::Index cols() const { return a_.n_cols; }
  void perform_op(const double* x, double* y) const { csr_product(a_, v_, x, y); }

 private:
  const SparseMatrix& a_;
  std::span<const double> v_;
};

// Column sums of a CSR matrix, accumulated in one sequential pass (scatter).
std::vector<double> column_sums(const SparseMatrix& csr, std::span<const double> v) {
  std::vector<double> s(static_cast<size_t>(csr.n_cols), 0.0);
  for (int64_t k = 0; k < csr.nnz(); ++k) s[csr.indices[k]] += v[k];
  return s;
}

// nev eigenpairs by decreasing eigenvalue; vectors n x nev.
struct Eigenpairs {
  std::vector<double> values;
  Eigen::MatrixXd vectors;
};

// Small problems: a dense symmetric eigendecomposition, then the same
// selection (largest magnitude) and order (decreasing value) as the sparse path.
Eigenpairs dense_eigen(const SparseMatrix& t, int nev) {
  const int64_t n = t.n_rows;
  Eigen::MatrixXd m = Eigen::MatrixXd::Zero(n, n);
  auto v = t.data.as<double>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = t.indptr[i]; k < t.indptr[i + 1]; ++k) m(i, t.indices[k]) += v[k];
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(m);
  if (es.info() != Eigen::Success) throw Error("diffmap: dense eigendecomposition failed");
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  const Eigen::VectorXd& ev = es.eigenvalues();
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return std::abs(ev(a)) > std::abs(ev(b)); });
  order.resize(static_cast<size_t>(nev));
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return ev(a) > ev(b); });
  Eigenpairs r{std::vector<double>(static_cast<size_t>(nev)), Eigen::MatrixXd(n, nev)};
  for (int j = 0; j < nev; ++j) {
    r.values[static_cast<size_t>(j)] = ev(order[static_cast<size_t>(j)]);
    r.vectors.col(j) = es.eigenvectors().col(order[static_cast<size_t>(j)]);
  }
  return r;
}

// Implicitly restarted Lanczos with scipy eigsh's Krylov dimension: the
// fallback when the unrestarted basis of diffmap_lanczos runs out.
Eigenpairs restarted_eigen(const SparseMatrix& t, int nev, int64_t random_state) {
  const int64_t n = t.n_rows;
  CsrProduct op(t);
  const int ncv = static_cast<int>(std::min<int64_t>(n, std::max(2 * nev + 1, 20)));
  Spectra::SymEigsSolver<CsrProduct> solver(op, nev, ncv);
  random::NumpyRandomState rng(static_cast<uint32_t>(random_state));
  Eigen::VectorXd v0(n);
  for (int64_t i = 0; i < n; ++i) v0(i) = static_cast<double>(rng.next_uint64() >> 11) * 0x1.0p-53 - 0.5;
  solver.init(v0.data());
  const int64_t maxit = std::max<int64_t>(1000, 10 * n);  // ARPACK's default maxiter is 10 n
  const Eigen::Index nconv =
      solver.compute(Spectra::SortRule::LargestMagn, maxit, kTol, Spectra::SortRule::LargestAlge);
  if (solver.info() != Spectra::CompInfo::Successful || nconv < nev)
    throw Error("diffmap: the eigensolver did not converge (" + std::to_string(nconv) + " of " +
                std::to_string(nev) + " eigenpairs)");
  const Eigen::VectorXd ev = solver.eigenvalues();
  return {std::vector<double>(ev.data(), ev.data() + ev.size()), solver.eigenvectors()};
}

// A connected graph's transition matrix (1 is then a simple eigenvalue):
// unrestarted Lanczos with partial reorthogonalisation up to kLanczosMaxRows
// cells (PBMC 3k: 192 products), or scipy's restarted method when the basis
// would grow too long or for larger data, where the restarted solver's
// bounded memory matters more (its speed there was measured; the
// unrestarted one's was not).
// All but one or all eigenpairs (a component of a disconnected graph may be
// asked for that many) are beyond the Krylov solvers, which need nev < n - 1:
// dense then too.
Eigenpairs connected_eigen(const SparseMatrix& t, int nev, int64_t random_state) {
  const int64_t n = t.n_rows;
  if (n <= kDenseMaxRows || nev >= n - 1) return dense_eigen(t, nev);
  if (n > kLanczosMaxRows) return restarted_eigen(t, nev, random_state);
  auto v = t.data.as<double>();
  const SymmetricLanczosResult r = symmetric_lanczos_largest_magnitude(
      n, [&](const double* x, double* y) { csr_product(t, v, x, y); },
      {.nev = nev, .tol = kTol, .seed = static_cast<uint32_t>(random_state)});
  if (!r.converged) return restarted_eigen(t, nev, random_state);
  Eigenpairs e{r.values, Eigen::MatrixXd(n, nev)};
  std::copy(r.vectors.begin(), r.vectors.end(), e.vectors.data());
  return e;
}

// Several connected components: the transition matrix is block diagonal
// (after a permutation) and 1 is an eigenvalue of every block. Each block is
// solved on its own, its eigenvectors are zero outside it, and the nev pairs
// of largest magnitude over all blocks are kept: the same spectrum as the whole
// matrix, with each eigenspace of a repeated eigenvalue spanned by vectors of
// single components.
Eigenpairs componentwise_eigen(const SparseMatrix& t, const std::vector<int32_t>& labels, int ncomp, int nev,
                               int64_t random_state) {
  const int64_t n = t.n_rows;
  std::vector<std::vector<int64_t>> members(static_cast<size_t>(ncomp));
  for (int64_t i = 0; i < n; ++i) members[static_cast<size_t>(labels[static_cast<size_t>(i)])].push_back(i);
  struct Candidate {
    double value;
    int comp;
    int col;
  };
  std::vector<Eigenpairs> parts(static_cast<size_t>(ncomp));
  std::vector<Candidate> cand;
  for (int c = 0; c < ncomp; ++c) {
    const auto& idx = members[static_cast<size_t>(c)];
    const int64_t s = static_cast<int64_t>(idx.size());
    const SparseMatrix sub = take(t, idx, idx);
    // Up to all of a component's pairs, so that the components together
    // always have nev (nev < n).
    const int k = static_cast<int>(std::min<int64_t>(nev, s));
    parts[static_cast<size_t>(c)] = connected_eigen(sub, k, random_state);
    for (int j = 0; j < k; ++j) cand.push_back({parts[static_cast<size_t>(c)].values[static_cast<size_t>(j)], c, j});
  }
  std::stable_sort(cand.begin(), cand.end(),
                   [](const Candidate& a, const Candidate& b) { return std::abs(a.value) > std::abs(b.value); });
  cand.resize(static_cast<size_t>(nev));
  std::stable_sort(cand.begin(), cand.end(), [](const Candidate& a, const Candidate& b) { return a.value > b.value; });
  Eigenpairs e{std::vector<double>(static_cast<size_t>(nev)), Eigen::MatrixXd::Zero(n, nev)};
  for (int j = 0; j < nev; ++j) {
    const Candidate& cd = cand[static_cast<size_t>(j)];
    e.values[static_cast<size_t>(j)] = cd.value;
    const auto& idx = members[static_cast<size_t>(cd.comp)];
    const Eigen::MatrixXd& vec = parts[static_cast<size_t>(cd.comp)].vectors;
    for (size_t p = 0; p < idx.size(); ++p) e.vectors(idx[p], j) = vec(static_cast<Eigen::Index>(p), cd.col);
  }
  return e;
}

}  // namespace

SparseMatrix diffusion_transitions_sym(const SparseMatrix& connectivities) {
  if (connectivities.n_rows != connectivities.n_cols)
    throw ValueError("diffmap: the connectivities matrix must be square, got " +
                     std::to_string(connectivities.n_rows) + " x " + std::to_string(connectivities.n_cols));
  SparseMatrix t = connectivities.format == SparseFormat::CSR
                       ? connectivities
                       : convert_format(connectivities, SparseFormat::CSR);
  t.data = t.data.astype(DType::Float64);
  auto v = t.data.as<double>();
  const std::vector<double> q = column_sums(t, v);
  for (size_t i = 0; i < q.size(); ++i)
    if (!(q[i] > 0.0))
      throw ValueError("diffmap: cell " + std::to_string(i) +
                       " has no edge weight in the connectivities graph (isolated cell): the transition matrix "
                       "is undefined");
  // K = Q^-1 W Q^-1
  parallel_for(t.n_rows, [&](int64_t i) {
    for (int64_t k = t.indptr[i]; k < t.indptr[i + 1]; ++k) v[k] = v[k] / q[i] / q[t.indices[k]];
  });
  std::vector<double> z = column_sums(t, v);
  for (double& x : z) x = std::sqrt(x);
  parallel_for(t.n_rows, [&](int64_t i) {
    for (int64_t k = t.indptr[i]; k < t.indptr[i + 1]; ++k) v[k] = v[k] / z[i] / z[t.indices[k]];
  });
  return t;
}

DiffmapResult diffmap_eigen(const SparseMatrix& transitions_sym, int n_comps, int64_t random_state) {
  if (transitions_sym.n_rows != transitions_sym.n_cols)
    throw ValueError("diffmap: the transition matrix must be square");
  const int64_t n = transitions_sym.n_rows;
  if (n < 2) throw ValueError("diffmap: needs at least 2 cells, got " + std::to_string(n));
  if (n_comps < 1) throw ValueError("diffmap: n_comps must be positive, got " + std::to_string(n_comps));
  const int nev = static_cast<int>(std::min<int64_t>(n - 1, n_comps));
  SparseMatrix t = transitions_sym.format == SparseFormat::CSR
                       ? transitions_sym
                       : convert_format(transitions_sym, SparseFormat::CSR);
  t.data = t.data.astype(DType::Float64);

  Eigenpairs e;
  if (n <= kDenseMaxRows) {
    e = dense_eigen(t, nev);
  } else {
    const std::vector<int32_t> labels = connected_component_labels(t);
    const int ncomp = 1 + *std::max_element(labels.begin(), labels.end());
    e = ncomp == 1 ? connected_eigen(t, nev, random_state) : componentwise_eigen(t, labels, ncomp, nev, random_state);
  }
  const std::vector<double>& evals = e.values;
  const Eigen::MatrixXd& evecs = e.vectors;

  DiffmapResult res{Array(DType::Float32, {nev}), Array(DType::Float32, {n, nev})};
  auto ev = res.eigenvalues.as<float>();
  auto ec = res.eigenvectors.as<float>();
  for (int j = 0; j < nev; ++j) ev[static_cast<size_t>(j)] = static_cast<float>(evals[static_cast<size_t>(j)]);
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < nev; ++j) ec[static_cast<size_t>(i * nev + j)] = static_cast<float>(evecs(i, j));
  return res;
}

namespace detail {

const SparseMatrix& neighbors_connectivities(const AnnData& adata, const std::string& neighbors_key,
                                             const std::string& who) {
  auto nb = adata.uns.find(neighbors_key);
  if (nb == adata.uns.end() || !nb->second.is<Dict>())
    throw KeyError(who + ": did not find uns['" + neighbors_key + "']: run pp.neighbors first");
  const Dict& neighbors = nb->second.get<Dict>();
  std::string conn_key = "connectivities";
  if (auto it = neighbors.find("connectivities_key"); it != neighbors.end() && it->second.is<std::string>())
    conn_key = it->second.get<std::string>();
  auto g = adata.obsp.find(conn_key);
  if (g == adata.obsp.end() || !g->second.is<SparseMatrix>())
    throw KeyError(who + ": obsp['" + conn_key + "'] (uns['" + neighbors_key +
                   "']['connectivities_key']) is missing or not sparse");
  const SparseMatrix& w = g->second.get<SparseMatrix>();
  if (w.n_rows != adata.n_obs() || w.n_cols != adata.n_obs())
    throw ValueError(who + ": obsp['" + conn_key + "'] is not n_obs x n_obs");
  return w;
}

}  // namespace detail

void diffmap(AnnData& adata, const DiffmapOptions& opt) {
  if (opt.n_comps <= 2)
    throw ValueError("diffmap: provide a value greater than 2 for n_comps, got " + std::to_string(opt.n_comps));
  const SparseMatrix& w = detail::neighbors_connectivities(adata, opt.neighbors_key, "diffmap");
  DiffmapResult r = diffmap_eigen(diffusion_transitions_sym(w), opt.n_comps, opt.random_state);
  adata.obsm["X_diffmap"] = std::move(r.eigenvectors);
  adata.uns["diffmap_evals"] = std::move(r.eigenvalues);
}

}  // namespace scanpp::tl
