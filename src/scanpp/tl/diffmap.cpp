#include "scanpp/tl/diffmap.hpp"

#include <Eigen/Dense>
#include <Spectra/SymEigsSolver.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "scanpp/core/error.hpp"
#include "scanpp/core/numpy_random.hpp"
#include "scanpp/core/parallel.hpp"

namespace scanpp::tl {

namespace {

// y = A x for a float64 CSR matrix; each row is summed sequentially by one
// thread, so the product does not depend on the thread count.
class CsrProduct {
 public:
  using Scalar = double;
  explicit CsrProduct(const SparseMatrix& a) : a_(a), v_(a.data.as<double>()) {}
  Eigen::Index rows() const { return a_.n_rows; }
  Eigen::Index cols() const { return a_.n_cols; }
  void perform_op(const double* x, double* y) const {
    parallel_for(
        a_.n_rows,
        [&](int64_t i) {
          double s = 0.0;
          for (int64_t k = a_.indptr[i]; k < a_.indptr[i + 1]; ++k) s += v_[k] * x[a_.indices[k]];
          y[i] = s;
        },
        1024);
  }

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

// Small problems: a dense symmetric eigendecomposition, then the same
// selection (largest magnitude) and order (decreasing value) as the sparse path.
void dense_eigen(const SparseMatrix& t, int nev, std::vector<double>& evals, Eigen::MatrixXd& evecs) {
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
  evals.resize(static_cast<size_t>(nev));
  evecs.resize(n, nev);
  for (int j = 0; j < nev; ++j) {
    evals[static_cast<size_t>(j)] = ev(order[static_cast<size_t>(j)]);
    evecs.col(j) = es.eigenvectors().col(order[static_cast<size_t>(j)]);
  }
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

  std::vector<double> evals;
  Eigen::MatrixXd evecs;
  if (n <= 300) {
    dense_eigen(t, nev, evals, evecs);
  } else {
    CsrProduct op(t);
    // scipy's eigsh default Krylov dimension.
    const int ncv = static_cast<int>(std::min<int64_t>(n, std::max(2 * nev + 1, 20)));
    Spectra::SymEigsSolver<CsrProduct> solver(op, nev, ncv);
    random::NumpyRandomState rng(static_cast<uint32_t>(random_state));
    Eigen::VectorXd v0(n);
    for (int64_t i = 0; i < n; ++i) v0(i) = static_cast<double>(rng.next_uint64() >> 11) * 0x1.0p-53 - 0.5;
    solver.init(v0.data());
    const int64_t maxit = std::max<int64_t>(1000, 10 * n);  // ARPACK's default maxiter is 10 n
    const Eigen::Index nconv =
        solver.compute(Spectra::SortRule::LargestMagn, maxit, 1e-12, Spectra::SortRule::LargestAlge);
    if (solver.info() != Spectra::CompInfo::Successful || nconv < nev)
      throw Error("diffmap: the eigensolver did not converge (" + std::to_string(nconv) + " of " +
                  std::to_string(nev) + " eigenpairs)");
    const Eigen::VectorXd ev = solver.eigenvalues();
    evals.assign(ev.data(), ev.data() + ev.size());
    evecs = solver.eigenvectors();
  }

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
