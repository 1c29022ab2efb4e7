#include "scanpp/pp/pca.hpp"

#include <Spectra/SymEigsSolver.h>

#include <Eigen/Dense>
#include <cmath>
#include <iostream>
#include <numeric>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/pca_lanczos.hpp"
#include "scanpp/pp/pca_operator.hpp"
#include "scanpp/pp/pca_packed_scatter.hpp"

namespace scanpp::pp {

PcaSolver pca_solver_from_string(const std::string& name) {
  if (name == "arpack") return PcaSolver::Arpack;
  if (name == "randomized") return PcaSolver::Randomized;
  if (name == "full") return PcaSolver::Full;
  if (name == "auto") return PcaSolver::Auto;
  if (name == "covariance_eigh") return PcaSolver::CovarianceEigh;
  if (name == "lobpcg") return PcaSolver::Lobpcg;
  throw ValueError("pca: unknown svd_solver '" + name +
                   "' (expected arpack, randomized, full, auto, covariance_eigh or lobpcg)");
}

const char* pca_solver_name(PcaSolver s) {
  switch (s) {
    case PcaSolver::Arpack: return "arpack";
    case PcaSolver::Randomized: return "randomized";
    case PcaSolver::Full: return "full";
    case PcaSolver::Auto: return "auto";
    case PcaSolver::CovarianceEigh: return "covariance_eigh";
    case PcaSolver::Lobpcg: return "lobpcg";
  }
  return "?";
}

namespace {

using pca_detail::CenteredOperator;

void warn(const std::string& msg) { std::cerr << "scanpp warning: " << msg << "\n"; }

// Counter-based random numbers: value i of stream `seed` is a hash of (seed, i),
// so any block of a random matrix can be generated independently.
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
inline double uniform01(uint64_t seed, uint64_t i) {  // in (0, 1)
  const uint64_t h = splitmix64(splitmix64(seed ^ 0x5CA9970000000000ULL) ^ splitmix64(i));
  return (static_cast<double>(h >> 11) + 0.5) * 0x1.0p-53;
}
inline double normal(uint64_t seed, uint64_t i) {  // Box-Muller on two uniforms
  const double u1 = uniform01(seed, 2 * i), u2 = uniform01(seed, 2 * i + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

// Spectra's view of the scatter matrix on the gene side (p) or the cell side (n).
struct ScatterOp {
  using Scalar = double;
  const CenteredOperator* A;
  bool cell_side;
  mutable int64_t calls = 0;
  Eigen::Index rows() const { return cell_side ? A->n() : A->p(); }
  Eigen::Index cols() const { return rows(); }
  void perform_op(const double* x, double* y) const {
    ++calls;
    if (cell_side) A->gram_n(x, y);
    else A->gram_p(x, y);
  }
};

// A truncated SVD of Xc: scores = U·S (n × k), V (p × k), s2 = S².
struct Decomp {
  Eigen::MatrixXd scores, V;
  Eigen::VectorXd s2;
  int64_t n_ops = 0;
};

// From the leading eigenpairs (descending) of the scatter matrix on one side.
Decomp from_eigenpairs(const CenteredOperator& A, bool cell_side, const Eigen::VectorXd& evals,
                       const Eigen::MatrixXd& evecs) {
  Decomp d;
  d.s2 = evals.cwiseMax(0.0);
  if (!cell_side) {
    d.V = evecs;
    d.scores = A.mul(d.V);
  } else {
    const int64_t k = evals.size();
    d.scores = evecs;
    for (int64_t c = 0; c < k; ++c) d.scores.col(c) *= std::sqrt(d.s2[c]);
    d.V = A.tmul(evecs);
    for (int64_t c = 0; c < k; ++c) {
      const double s = std::sqrt(d.s2[c]);
      if (s > 0) d.V.col(c) /= s;
      else d.V.col(c).setZero();
    }
  }
  return d;
}

Decomp dense_eigh(const CenteredOperator& A, int64_t k, bool cell_side) {
  const Eigen::MatrixXd M = cell_side ? A.scatter_n() : A.scatter_p();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(M);
  if (es.info() != Eigen::Success) throw Error("pca: dense eigendecomposition failed");
  const int64_t d = M.rows();
  Eigen::VectorXd evals(k);
  Eigen::MatrixXd evecs(d, k);
  for (int64_t c = 0; c < k; ++c) {  // Eigen sorts ascending
    evals[c] = es.eigenvalues()[d - 1 - c];
    evecs.col(c) = es.eigenvectors().col(d - 1 - c);
  }
  return from_eigenpairs(A, cell_side, evals, evecs);
}

// ARPACK's (and scipy's svds') default subspace size.
int64_t lanczos_ncv(int64_t d, int64_t k) { return std::min<int64_t>(d, std::max<int64_t>(2 * k + 1, 20)); }

// The Lanczos start vector: uniform in (-1, 1), from the seed.
Eigen::VectorXd start_vector(int64_t d, uint64_t seed) {
  Eigen::VectorXd v0(d);
  for (int64_t i = 0; i < d; ++i) v0[i] = 2.0 * uniform01(seed, static_cast<uint64_t>(i)) - 1.0;
  return v0;
}

// Spectra's implicitly restarted Lanczos on the scatter matrix on the side
// given (products through X), with ARPACK's (and scipy's svds') default
// subspace size, then the decomposition.
Decomp lanczos(const CenteredOperator& A, int64_t k, bool cell_side, uint64_t seed) {
  ScatterOp op{&A, cell_side};
  const int64_t d = op.rows();
  Spectra::SymEigsSolver<ScatterOp> solver(op, k, lanczos_ncv(d, k));
  const Eigen::VectorXd v0 = start_vector(d, seed);
  solver.init(v0.data());
  solver.compute(Spectra::SortRule::LargestAlge, 1000, 1e-10);
  if (solver.info() != Spectra::CompInfo::Successful)
    throw Error("pca: the Lanczos eigensolver did not converge");
  Decomp dec = from_eigenpairs(A, cell_side, solver.eigenvalues(), solver.eigenvectors());
  dec.n_ops = op.calls;
  return dec;
}

// The same eigenproblem with S = Xcᵀ·Xc formed first: one compute-bound
// BLAS-3 pass over X replaces the ~150-350 memory-bound passes of the
// Lanczos products, which then read half of S in float32 instead of X.
// float32 data (Scanpy's ARPACK runs in float32 too) forms S with float32
// products (packed_scatter_f32), float64 data in double. The Lanczos run is
// pca_lanczos's (Spectra's iteration, on all threads), same start vector.
Decomp lanczos_on_scatter(const CenteredOperator& A, int64_t k, uint64_t seed, bool f32_products) {
  const pca_detail::PackedScatter S = f32_products ? A.packed_scatter_f32() : pca_detail::PackedScatter(A.scatter_p());
  const Eigen::VectorXd v0 = start_vector(S.size(), seed);
  const pca_detail::ScatterEigs eig = pca_detail::packed_scatter_eigs(S, k, lanczos_ncv(S.size(), k), v0.data(), 1e-10);
  Decomp dec = from_eigenpairs(A, false, eig.values, eig.vectors);
  dec.n_ops = eig.products;
  return dec;
}

// Forming S (n·p² flops at BLAS-3 speed, ~0.07 s for PBMC 3k's 2,638 x
// 1,838) pays when X is taller than wide and too big for the L2 caches
// (over 8 MiB): each of the ~150-350 memory-bound Lanczos products then
// reads p²/2 floats instead of n·p values of X (6.8 MB instead of 19 MB on
// PBMC 3k, 0.27 ms instead of ~1 ms a product). Smaller X stays in cache
// between products, and keeps the products on X in full precision. S is
// formed in double (8p² bytes: at most twice X's own size when n >= p; for
// float32 data a float32 p × p block and up to 4096 rows of X in float32,
// and the double matrix only when the rows make more than one block) and
// capped at p <= 8192.
bool scatter_pays(int64_t n, int64_t p, bool is_sparse, DType dtype) {
  const double bytes = static_cast<double>(n) * static_cast<double>(p) * (dtype == DType::Float32 ? 4.0 : 8.0);
  return !is_sparse && n >= p && p <= 8192 && bytes > 8.0 * (1 << 20);
}

Eigen::MatrixXd orthonormal_basis(const Eigen::MatrixXd& M) {
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(M);
  return qr.householderQ() * Eigen::MatrixXd::Identity(M.rows(), M.cols());
}

// Halko, Martinsson & Tropp (2011), Algorithm 4.4 with QR normalisation, as
// scikit-learn's randomized_svd (which normalises with LU; same subspace).
Decomp randomized(const CenteredOperator& A, int64_t k, int64_t n_iter, uint64_t seed) {
  const int64_t n = A.n(), p = A.p();
  const int64_t l = std::min<int64_t>(k + 10, std::min(n, p));
  Eigen::MatrixXd omega(p, l);
  for (int64_t c = 0; c < l; ++c)
    for (int64_t r = 0; r < p; ++r) omega(r, c) = normal(seed, static_cast<uint64_t>(c * p + r));
  Eigen::MatrixXd Q = orthonormal_basis(A.mul(omega));
  for (int64_t it = 0; it < n_iter; ++it) {
    Q = orthonormal_basis(A.tmul(Q));
    Q = orthonormal_basis(A.mul(Q));
  }
  const Eigen::MatrixXd Bt = A.tmul(Q);  // (Qᵀ·Xc)ᵀ, p × l
  Eigen::BDCSVD<Eigen::MatrixXd> svd(Bt, Eigen::ComputeThinU | Eigen::ComputeThinV);
  Decomp d;
  const Eigen::VectorXd s = svd.singularValues().head(k);
  d.s2 = s.cwiseProduct(s);
  d.V = svd.matrixU().leftCols(k);
  d.scores = Q * svd.matrixV().leftCols(k);
  for (int64_t c = 0; c < k; ++c) d.scores.col(c) *= s[c];
  return d;
}

// scikit-learn 1.2 svd_flip(u_based_decision=True).
void flip_signs(Decomp& d) {
  for (int64_t c = 0; c < d.scores.cols(); ++c) {
    Eigen::Index imax = 0;
    double best = -1;
    for (Eigen::Index i = 0; i < d.scores.rows(); ++i) {
      const double a = std::abs(d.scores(i, c));
      if (a > best) {
        best = a;
        imax = i;
      }
    }
    if (d.scores(imax, c) < 0) {
      d.scores.col(c) *= -1.0;
      d.V.col(c) *= -1.0;
    }
  }
}

template <class Fill>
Array make_array(DType dtype, std::vector<int64_t> shape, Fill&& fill) {
  Array a(dtype, std::move(shape));
  dispatch_dtype(dtype, [&](auto t) {
    using T = decltype(t);
    if constexpr (std::is_floating_point_v<T>) {
      auto s = a.as<T>();
      for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<T>(fill(static_cast<int64_t>(i)));
    } else {
      throw ValueError("pca: output dtype must be float32 or float64");
    }
  });
  return a;
}

DType compute_dtype_of(DType t) { return t == DType::Float32 ? DType::Float32 : DType::Float64; }

}  // namespace

namespace pca_detail {

PcaResult pca_on_operator(const CenteredOperator& A, bool is_sparse, DType compute_dtype, const PcaOptions& opt) {
  if (opt.chunked) throw ValueError("pca: chunked=True (IncrementalPCA) is not implemented in scanpp");
  if (opt.dtype != DType::Float32 && opt.dtype != DType::Float64)
    throw ValueError("pca: dtype must be float32 or float64");
  const int64_t n = A.n(), p = A.p();
  const int64_t min_dim = std::min(n, p);
  if (min_dim < 2) throw ValueError("pca: needs at least 2 cells and 2 genes, got " + std::to_string(n) + " x " +
                                    std::to_string(p));
  const int64_t k = opt.n_comps ? *opt.n_comps : (min_dim <= 50 ? min_dim - 1 : 50);
  if (k < 1) throw ValueError("pca: n_comps must be at least 1, got " + std::to_string(k));

  PcaSolver solver;
  if (opt.zero_center) {
    solver = opt.svd_solver.value_or(PcaSolver::Arpack);
    if (solver == PcaSolver::Auto) {
      if (is_sparse) solver = PcaSolver::Arpack;
      else if (std::max(n, p) <= 500 || static_cast<double>(k) >= 0.8 * static_cast<double>(min_dim))
        solver = PcaSolver::Full;
      else solver = PcaSolver::Randomized;
    }
    if (solver == PcaSolver::Lobpcg) solver = PcaSolver::Arpack;
  } else {
    solver = opt.svd_solver.value_or(PcaSolver::Randomized);
    if (solver != PcaSolver::Arpack && solver != PcaSolver::Randomized) {
      warn(std::string("pca: svd_solver '") + pca_solver_name(solver) +
           "' is not available without zero-centring (TruncatedSVD); using 'randomized'");
      solver = PcaSolver::Randomized;
    }
  }
  const bool strict = solver == PcaSolver::Arpack;
  if (strict ? k >= min_dim : k > min_dim)
    throw ValueError("pca: n_comps=" + std::to_string(k) + " must be " + (strict ? "below" : "at most") +
                     " min(n_obs, n_vars)=" + std::to_string(min_dim) + " for svd_solver '" +
                     pca_solver_name(solver) + "'");

  const bool cell_side = n < p;
  Decomp d;
  switch (solver) {
    case PcaSolver::Arpack:
      if (min_dim <= 256) d = dense_eigh(A, k, cell_side);
      else if (scatter_pays(n, p, is_sparse, compute_dtype))
        d = lanczos_on_scatter(A, k, opt.random_state, compute_dtype == DType::Float32);
      else d = lanczos(A, k, cell_side, opt.random_state);
      break;
    case PcaSolver::Full:
    case PcaSolver::CovarianceEigh:
      d = dense_eigh(A, k, cell_side);
      break;
    case PcaSolver::Randomized: {
      // TruncatedSVD runs 5 power iterations; PCA's 'auto' picks 7 or 4.
      const int64_t n_iter =
          !opt.zero_center ? 5 : (static_cast<double>(k) < 0.1 * static_cast<double>(min_dim) ? 7 : 4);
      d = randomized(A, k, n_iter, opt.random_state);
      break;
    }
    default:
      throw Error("pca: unresolved solver");
  }
  flip_signs(d);

  PcaResult res;
  res.solver = solver;
  res.n_operations = d.n_ops;
  res.scores = make_array(opt.dtype, {n, k}, [&](int64_t i) { return d.scores(i / k, i % k); });
  res.components = make_array(compute_dtype, {k, p}, [&](int64_t i) { return d.V(i % p, i / p); });
  Eigen::VectorXd var(k);
  double total;
  if (opt.zero_center) {
    const double dof = static_cast<double>(n - 1);
    for (int64_t c = 0; c < k; ++c) var[c] = d.s2[c] / dof;
    total = A.column_ss().sum() / dof;
    res.mean.assign(A.mean().data(), A.mean().data() + p);
  } else {
    // TruncatedSVD: population variance of each score column and of each gene.
    for (int64_t c = 0; c < k; ++c) {
      const double mu = d.scores.col(c).mean();
      var[c] = (d.scores.col(c).array() - mu).square().sum() / static_cast<double>(n);
    }
    total = A.column_ss().sum() / static_cast<double>(n);
  }
  res.variance = make_array(compute_dtype, {k}, [&](int64_t c) { return var[c]; });
  res.variance_ratio = make_array(compute_dtype, {k}, [&](int64_t c) { return total > 0 ? var[c] / total : 0.0; });
  return res;
}

}  // namespace pca_detail

PcaResult pca(const Array& X, const PcaOptions& opt) {
  if (X.ndim() != 2) throw ValueError("pca: X must be a 2-D matrix");
  if (!dtype_is_float(X.dtype())) {
    const Array Xf = X.astype(DType::Float64);
    return pca(Xf, opt);
  }
  auto A = pca_detail::make_dense_operator(X, opt.zero_center);
  return pca_detail::pca_on_operator(*A, false, compute_dtype_of(X.dtype()), opt);
}

PcaResult pca(const SparseMatrix& X, const PcaOptions& opt) {
  if (!dtype_is_float(X.dtype())) {
    SparseMatrix Xf = X;
    Xf.data = X.data.astype(DType::Float64);
    return pca(Xf, opt);
  }
  auto A = pca_detail::make_sparse_operator(X, opt.zero_center);
  return pca_detail::pca_on_operator(*A, true, compute_dtype_of(X.dtype()), opt);
}

PcaResult pca(const Element& X, const PcaOptions& opt) {
  if (X.is<Array>()) return pca(X.get<Array>(), opt);
  if (X.is<SparseMatrix>()) return pca(X.get<SparseMatrix>(), opt);
  throw ValueError(std::string("pca: X must be a dense or sparse matrix, got ") + X.kind());
}

void pca(AnnData& adata, const PcaOptions& opt) {
  const Element* src = nullptr;
  if (opt.layer) {
    auto it = adata.layers.find(*opt.layer);
    if (it == adata.layers.end()) throw KeyError("pca: no layer '" + *opt.layer + "'");
    src = &it->second;
  } else {
    if (!adata.X) throw ValueError("pca: the AnnData has no X");
    src = &*adata.X;
  }
  if (!is_matrix(*src) || matrix_rows(*src) != adata.n_obs() || matrix_cols(*src) != adata.n_vars())
    throw ValueError("pca: the data matrix must be n_obs x n_vars");

  const PcaGenes sel = pca_genes(adata, opt);
  const std::vector<int64_t>& genes = sel.genes;
  const bool subset = sel.mask && std::find(sel.mask->begin(), sel.mask->end(), false) != sel.mask->end();
  PcaResult res;
  if (subset) {
    std::vector<int64_t> cells(static_cast<size_t>(adata.n_obs()));
    std::iota(cells.begin(), cells.end(), int64_t{0});
    res = pca(take_2d(*src, cells, genes), opt);
  } else {
    res = pca(*src, opt);
  }
  store_pca(adata, std::move(res), opt, sel);
}

PcaGenes pca_genes(const AnnData& adata, const PcaOptions& opt) {
  PcaGenes sel;
  std::optional<std::vector<bool>>& mask = sel.mask;
  std::optional<Element>& mask_param = sel.param;
  if (opt.mask_var_array) {
    if (static_cast<int64_t>(opt.mask_var_array->size()) != adata.n_vars())
      throw ValueError("pca: mask_var has " + std::to_string(opt.mask_var_array->size()) + " entries for " +
                       std::to_string(adata.n_vars()) + " genes");
    mask = *opt.mask_var_array;
    std::vector<Bool8> b(mask->begin(), mask->end());
    mask_param = Element(Array::from_vector(b));
  } else {
    std::optional<std::string> name;
    if (opt.use_highly_variable) {
      if (opt.mask_var) throw ValueError("pca: give mask_var or use_highly_variable, not both");
      warn("pca: use_highly_variable is deprecated, use mask_var='highly_variable'");
      if (*opt.use_highly_variable) name = "highly_variable";
    } else if (opt.mask_var) {
      if (!opt.mask_var->empty()) name = *opt.mask_var;
    } else if (adata.var.has("highly_variable")) {
      name = "highly_variable";
    }
    if (name) {
      if (!adata.var.has(*name)) throw KeyError("pca: no var column '" + *name + "' for mask_var");
      mask = adata.var.boolean(*name);
      mask_param = Element(*name);
    }
  }

  if (mask) {
    for (int64_t g = 0; g < adata.n_vars(); ++g)
      if ((*mask)[static_cast<size_t>(g)]) sel.genes.push_back(g);
    if (sel.genes.empty()) throw ValueError("pca: mask_var selects no genes");
  }
  return sel;
}

void store_pca(AnnData& adata, PcaResult res, const PcaOptions& opt, const PcaGenes& sel) {
  const std::optional<std::vector<bool>>& mask = sel.mask;
  const std::optional<Element>& mask_param = sel.param;
  const std::vector<int64_t>& genes = sel.genes;
  const int64_t k = res.scores.cols();
  const std::string key_obsm = opt.key_added.value_or("X_pca");
  const std::string key_varm = opt.key_added.value_or("PCs");
  const std::string key_uns = opt.key_added.value_or("pca");

  Dict params;
  params["zero_center"] = Element(Array::scalar(Bool8(opt.zero_center)));
  params["use_highly_variable"] =
      Element(Array::scalar(Bool8(mask_param && mask_param->is<std::string>() &&
                                  mask_param->get<std::string>() == "highly_variable")));
  if (mask_param) params["mask_var"] = *mask_param;
  if (opt.layer) params["layer"] = Element(*opt.layer);

  Array loadings;
  const int64_t p_used = res.components.cols();
  if (mask) {
    // Scanpy fills np.zeros((n_vars, n_comps)), a float64 matrix.
    loadings = Array(DType::Float64, {adata.n_vars(), k});
    auto out = loadings.as<double>();
    for (int64_t j = 0; j < p_used; ++j)
      for (int64_t c = 0; c < k; ++c)
        out[static_cast<size_t>(genes[static_cast<size_t>(j)] * k + c)] = res.components.get_double(c * p_used + j);
  } else {
    loadings = Array(res.components.dtype(), {p_used, k});
    dispatch_dtype(res.components.dtype(), [&](auto t) {
      using T = decltype(t);
      if constexpr (std::is_floating_point_v<T>) {
        auto in = res.components.as<T>();
        auto out = loadings.as<T>();
        for (int64_t j = 0; j < p_used; ++j)
          for (int64_t c = 0; c < k; ++c)
            out[static_cast<size_t>(j * k + c)] = in[static_cast<size_t>(c * p_used + j)];
      }
    });
  }

  Dict uns;
  uns["params"] = Element(std::move(params));
  uns["variance"] = Element(std::move(res.variance));
  uns["variance_ratio"] = Element(std::move(res.variance_ratio));
  adata.obsm[key_obsm] = Element(std::move(res.scores));
  adata.varm[key_varm] = Element(std::move(loadings));
  adata.uns[key_uns] = Element(std::move(uns));
}

}  // namespace scanpp::pp
