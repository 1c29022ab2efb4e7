#include "scanpp/pp/regress_out.hpp"

// Eigen must not start its own OpenMP teams: results may not depend on the thread count.
#define EIGEN_DONT_PARALLELIZE
#include <eigen3/Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <variant>

#include "scanpp/core/error.hpp"
#include "scanpp/core/huge_pages.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pp/detail/regress_rows.hpp"

namespace scanpp::pp {
namespace {

constexpr int64_t kGeneBlock = 64;
// RᵀX: genes per task (a block's sums stay in L1 while every cell passes).
constexpr int64_t kCrossBlock = 256;
constexpr int64_t kCellBlock = 64;

void check_matrix(const Array& X, const char* who) {
  if (X.ndim() != 2) throw ValueError(std::string(who) + ": X must be a 2-D matrix");
}

// Scanpy makes integer X floating before updating it in place.
Array to_float(Array X) {
  if (dtype_is_float(X.dtype())) return X;
  return X.astype(dtype_size(X.dtype()) <= 4 ? DType::Float32 : DType::Float64);
}

template <class T>
bool column_is_constant(const T* x, int64_t n, int64_t p, int64_t g) {
  const T first = x[g];
  for (int64_t i = 1; i < n; ++i)
    if (x[i * p + g] != first) return false;  // NaN != NaN counts as varying, as in numpy
  return true;
}

// Rows of the design as plain row-major values, for the row kernels.
std::vector<double> design_rows(const Eigen::MatrixXd& R) {
  const int64_t n = R.rows(), k = R.cols();
  std::vector<double> r(static_cast<size_t>(n * k));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < k; ++c) r[static_cast<size_t>(i * k + c)] = R(i, c);
  return r;
}

// β = inv(RᵀR)·(RᵀX), k x p, each entry summed over the covariates in order.
std::vector<double> coefficients(const Eigen::MatrixXd& inv, const std::vector<double>& rtx, int64_t k, int64_t p) {
  std::vector<double> coeff(static_cast<size_t>(k * p), 0.0);
  for (int64_t c = 0; c < k; ++c)
    for (int64_t g = 0; g < p; ++g) {
      double s = 0.0;
      for (int64_t l = 0; l < k; ++l) s += inv(c, l) * rtx[static_cast<size_t>(l * p + g)];
      coeff[static_cast<size_t>(c * p + g)] = s;
    }
  return coeff;
}

// RᵀX in float64 from dense rows: each entry accumulated over the cells in
// order, so the gene blocks (and the thread count) do not change it.
template <class T>
std::vector<double> crossprod_dense(const T* x, int64_t n, int64_t p, const std::vector<double>& rows, int64_t k) {
  std::vector<double> rtx(static_cast<size_t>(k * p), 0.0);
  parallel_blocks(p, kCrossBlock, [&](int64_t a, int64_t b) {
    const int64_t m = b - a;
    std::vector<double> acc(static_cast<size_t>(k * m), 0.0);
    for (int64_t i = 0; i < n; ++i)
      detail::regress_crossprod_row(x + i * p + a, rows.data() + i * k, k, acc.data(), m);
    for (int64_t c = 0; c < k; ++c)
      std::copy_n(acc.data() + c * m, m, rtx.data() + c * p + a);
  });
  return rtx;
}

// One gene block [a, b) of RᵀX from CSR rows with sorted indices, into acc
// laid out gene by gene (acc[(g − a)·k + c]) so a value's k updates share a
// cache line. K > 0 fixes k at compile time (the loop over it unrolls).
template <class T, int K>
void csr_block_crossprod(const SparseMatrix& X, const std::vector<double>& rows, int64_t k, int64_t a, int64_t b,
                         double* acc) {
  const int64_t kk = K > 0 ? K : k;
  const T* val = X.data.as<T>().data();
  const int32_t* idx = X.indices.data();
  for (int64_t i = 0; i < X.n_rows; ++i) {
    const int32_t* lo = idx + X.indptr[static_cast<size_t>(i)];
    const int32_t* hi = idx + X.indptr[static_cast<size_t>(i) + 1];
    const double* r = rows.data() + i * kk;
    if (a > 0) lo = std::lower_bound(lo, hi, static_cast<int32_t>(a));
    for (const int32_t* q = lo; q != hi && *q < b; ++q) {
      const double v = static_cast<double>(val[q - idx]);
      double* out = acc + (*q - a) * kk;
      if constexpr (K > 0) {
#pragma GCC unroll 4
        for (int c = 0; c < K; ++c) out[c] += r[c] * v;
      } else {
        for (int64_t c = 0; c < kk; ++c) out[c] += r[c] * v;
      }
    }
  }
}

// The same sums from a CSR matrix with sorted, unique indices: a zero adds
// nothing to a sum, so skipping the zeros gives the dense path's numbers.
template <class T>
std::vector<double> crossprod_csr(const SparseMatrix& X, const std::vector<double>& rows, int64_t k) {
  const int64_t p = X.n_cols;
  std::vector<double> rtx(static_cast<size_t>(k * p), 0.0);
  // Each gene's sums add the cells in order whatever the blocks, so the
  // blocks may follow the thread count (one binary search per row and block).
  const int64_t threads = std::max<int64_t>(num_threads(), 1);
  const int64_t block = std::max<int64_t>(kCrossBlock, (p + threads - 1) / threads);
  parallel_blocks(p, block, [&](int64_t a, int64_t b) {
    const int64_t m = b - a;
    std::vector<double> acc(static_cast<size_t>(k * m), 0.0);
    switch (k) {
      case 2: csr_block_crossprod<T, 2>(X, rows, k, a, b, acc.data()); break;
      case 3: csr_block_crossprod<T, 3>(X, rows, k, a, b, acc.data()); break;
      case 4: csr_block_crossprod<T, 4>(X, rows, k, a, b, acc.data()); break;
      default: csr_block_crossprod<T, 0>(X, rows, k, a, b, acc.data()); break;
    }
    for (int64_t g = 0; g < m; ++g)
      for (int64_t c = 0; c < k; ++c) rtx[static_cast<size_t>(c * p + a + g)] = acc[static_cast<size_t>(g * k + c)];
  });
  return rtx;
}

// residual = X − R·β, row by row, written back in X's own dtype.
template <class T>
void residual_dense(T* x, int64_t n, int64_t p, const std::vector<double>& rows, int64_t k,
                    const std::vector<double>& coeff) {
  parallel_blocks(n, kCellBlock, [&](int64_t a, int64_t b) {
    std::vector<double> scratch(k > 4 ? static_cast<size_t>(p) : 0);
    for (int64_t i = a; i < b; ++i)
      detail::regress_residual_row(x + i * p, rows.data() + i * k, k, coeff.data(), p, scratch.data());
  });
}

// The dense residuals of a CSR matrix into `out` (n x p, contents ignored):
// each row is zeroed, expanded and regressed in place while it is in cache
// (one pass instead of densify, RᵀX, residuals).
template <class T>
void residual_csr(const SparseMatrix& X, const std::vector<double>& rows, int64_t k, const std::vector<double>& coeff,
                  Array& out) {
  const int64_t n = X.n_rows, p = X.n_cols;
  T* y = out.as<T>().data();
  const T* val = X.data.as<T>().data();
  parallel_blocks(n, kCellBlock, [&](int64_t a, int64_t b) {
    std::vector<double> scratch(k > 4 ? static_cast<size_t>(p) : 0);
    for (int64_t i = a; i < b; ++i) {
      T* row = y + i * p;
      std::fill(row, row + p, T(0));
      for (int64_t j = X.indptr[static_cast<size_t>(i)]; j < X.indptr[static_cast<size_t>(i) + 1]; ++j)
        row[X.indices[static_cast<size_t>(j)]] = val[j];
      detail::regress_residual_row(row, rows.data() + i * k, k, coeff.data(), p, scratch.data());
    }
  });
}

// CSR whose rows have strictly increasing column indices in range: the
// matrices the one-pass path handles exactly as to_dense would.
bool csr_sorted_unique(const SparseMatrix& X) {
  if (X.format != SparseFormat::CSR) return false;
  const int64_t bad = parallel_reduce_blocks<int64_t>(X.n_rows, kCellBlock, 0, [&](int64_t a, int64_t b) {
    int64_t count = 0;
    for (int64_t i = a; i < b; ++i) {
      int64_t prev = -1;
      for (int64_t j = X.indptr[static_cast<size_t>(i)]; j < X.indptr[static_cast<size_t>(i) + 1]; ++j) {
        const int64_t c = X.indices[static_cast<size_t>(j)];
        count += c <= prev || c >= X.n_cols;
        prev = c;
      }
    }
    return count;
  });
  return bad == 0;
}

// Minimum-norm least squares per gene: the residual is y minus its projection
// onto the column space of R, whatever the rank (statsmodels' pinv fallback).
template <class T>
Array least_squares(const Array& X, const Eigen::MatrixXd& R) {
  const int64_t n = X.rows(), p = X.cols();
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(R, Eigen::ComputeThinU);
  const auto& sv = svd.singularValues();
  const double cutoff = (sv.size() ? sv(0) : 0.0) * std::numeric_limits<double>::epsilon() *
                        static_cast<double>(std::max<int64_t>(n, R.cols()));
  int64_t rank = 0;
  for (int64_t j = 0; j < sv.size(); ++j)
    if (sv(j) > cutoff) ++rank;
  const Eigen::MatrixXd Q = svd.matrixU().leftCols(rank);

  const T* x = X.as<T>().data();
  Array out(DType::Float64, {n, p});
  double* y = out.as<double>().data();
  parallel_blocks(p, kGeneBlock, [&](int64_t a, int64_t b) {
    Eigen::VectorXd col(n);
    for (int64_t g = a; g < b; ++g) {
      for (int64_t i = 0; i < n; ++i) col(i) = static_cast<double>(x[i * p + g]);
      if (!column_is_constant(x, n, p, g) && rank > 0) {
        const Eigen::VectorXd proj = Q.transpose() * col;
        col -= Q * proj;
      }
      for (int64_t i = 0; i < n; ++i) y[i * p + g] = col(i);
    }
  });
  return out;
}

template <class T>
Array categorical(const Array& X, std::span<const int32_t> codes, int64_t n_categories) {
  const int64_t n = X.rows(), p = X.cols();
  const T* x = X.as<T>().data();
  std::vector<int64_t> count(static_cast<size_t>(n_categories), 0);
  for (int32_t c : codes)
    if (c >= 0) ++count[static_cast<size_t>(c)];
  Array out(DType::Float64, {n, p});
  double* y = out.as<double>().data();
  parallel_blocks(p, kGeneBlock, [&](int64_t a, int64_t b) {
    std::vector<T> acc(static_cast<size_t>(n_categories));
    std::vector<double> r(static_cast<size_t>(n));
    for (int64_t g = a; g < b; ++g) {
      if (column_is_constant(x, n, p, g)) {
        for (int64_t i = 0; i < n; ++i) y[i * p + g] = static_cast<double>(x[i * p + g]);
        continue;
      }
      // Scanpy's numba mean: sums in X's dtype, divides in float64, rounds to X's dtype.
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t i = 0; i < n; ++i)
        if (codes[static_cast<size_t>(i)] >= 0) acc[static_cast<size_t>(codes[static_cast<size_t>(i)])] += x[i * p + g];
      std::vector<T> mean(static_cast<size_t>(n_categories));
      for (int64_t c = 0; c < n_categories; ++c)
        mean[static_cast<size_t>(c)] = static_cast<T>(static_cast<double>(acc[static_cast<size_t>(c)]) /
                                                      static_cast<double>(count[static_cast<size_t>(c)]));
      double ysum = 0.0, rsum = 0.0;
      bool r_constant = true;
      for (int64_t i = 0; i < n; ++i) {
        const int32_t c = codes[static_cast<size_t>(i)];
        r[static_cast<size_t>(i)] = c >= 0 ? static_cast<double>(mean[static_cast<size_t>(c)]) : 0.0;
        if (r[static_cast<size_t>(i)] != r[0]) r_constant = false;
        ysum += static_cast<double>(x[i * p + g]);
        rsum += r[static_cast<size_t>(i)];
      }
      const double ybar = ysum / static_cast<double>(n), rbar = rsum / static_cast<double>(n);
      double beta = 0.0;
      if (!r_constant) {
        double srr = 0.0, sry = 0.0;
        for (int64_t i = 0; i < n; ++i) {
          const double dr = r[static_cast<size_t>(i)] - rbar;
          srr += dr * dr;
          sry += dr * (static_cast<double>(x[i * p + g]) - ybar);
        }
        beta = sry / srr;
      }
      for (int64_t i = 0; i < n; ++i)
        y[i * p + g] = (static_cast<double>(x[i * p + g]) - ybar) -
                       (r_constant ? 0.0 : beta * (r[static_cast<size_t>(i)] - rbar));
    }
  });
  return out;
}

// [1, covariates] as Scanpy builds it, after checking every value.
Eigen::MatrixXd design(int64_t n, const std::vector<std::vector<double>>& covariates) {
  const int64_t k = static_cast<int64_t>(covariates.size()) + 1;
  Eigen::MatrixXd R(n, k);
  for (int64_t i = 0; i < n; ++i) R(i, 0) = 1.0;
  for (int64_t c = 1; c < k; ++c) {
    const auto& col = covariates[static_cast<size_t>(c - 1)];
    if (static_cast<int64_t>(col.size()) != n)
      throw ValueError("regress_out: covariate " + std::to_string(c - 1) + " has " + std::to_string(col.size()) +
                       " values for " + std::to_string(n) + " cells");
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(col[static_cast<size_t>(i)]))
        throw ValueError("regress_out: covariate " + std::to_string(c - 1) + " is not finite at cell " +
                         std::to_string(i));
      R(i, c) = col[static_cast<size_t>(i)];
    }
  }
  return R;
}

// inv(RᵀR) when Scanpy takes the closed form: numpy's det is the product of
// LU pivots, and Scanpy uses the closed form whenever it is not exactly 0.
std::optional<Eigen::MatrixXd> closed_form_inverse(const Eigen::MatrixXd& R) {
  const Eigen::MatrixXd gram = R.transpose() * R;
  Eigen::PartialPivLU<Eigen::MatrixXd> lu(gram);
  if (lu.determinant() == 0.0) return std::nullopt;
  return lu.inverse();
}

Array least_squares_any(const Array& X, const Eigen::MatrixXd& R) {
  return dispatch_dtype(X.dtype(), [&](auto t) -> Array {
    using T = decltype(t);
    if constexpr (std::is_floating_point_v<T>) return least_squares<T>(X, R);
    else throw Error("regress_out: unexpected dtype");
  });
}

}  // namespace

RegressOutResult regress_out_continuous(Array X, const std::vector<std::vector<double>>& covariates) {
  check_matrix(X, "regress_out");
  X = to_float(std::move(X));
  const int64_t n = X.rows(), p = X.cols();
  const Eigen::MatrixXd R = design(n, covariates);
  RegressOutResult res;
  if (n == 0 || p == 0) {  // nothing to fit
    res.X = std::move(X);
    return res;
  }
  const std::optional<Eigen::MatrixXd> inv = closed_form_inverse(R);
  if (!inv) {
    res.X = least_squares_any(X, R);
    res.path = RegressOutPath::LeastSquares;
    return res;
  }
  const int64_t k = R.cols();
  const std::vector<double> rows = design_rows(R);
  dispatch_dtype(X.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (std::is_floating_point_v<T>) {
      T* x = X.as<T>().data();
      const std::vector<double> coeff = coefficients(*inv, crossprod_dense(x, n, p, rows, k), k, p);
      residual_dense(x, n, p, rows, k, coeff);
    }
  });
  res.X = std::move(X);
  res.path = RegressOutPath::ClosedForm;
  return res;
}

RegressOutResult regress_out_continuous(const SparseMatrix& X, const std::vector<std::vector<double>>& covariates) {
  // Float CSR with sorted unique indices on the closed-form path is never
  // densified before the fit: RᵀX comes from the stored values and each row is
  // expanded only when its residuals are written. The numbers are the dense path's.
  const bool one_pass = (X.dtype() == DType::Float32 || X.dtype() == DType::Float64) && X.n_rows > 0 &&
                        X.n_cols > 0 && csr_sorted_unique(X);
  if (!one_pass) return regress_out_continuous(to_dense(X), covariates);
  const Eigen::MatrixXd R = design(X.n_rows, covariates);
  const std::optional<Eigen::MatrixXd> inv = closed_form_inverse(R);
  RegressOutResult res;
  if (!inv) {
    res.X = least_squares_any(to_dense(X), R);
    res.path = RegressOutPath::LeastSquares;
    return res;
  }
  const int64_t k = R.cols(), p = X.n_cols;
  const std::vector<double> rows = design_rows(R);
  dispatch_dtype(X.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (std::is_floating_point_v<T>) {
      // Every value of the output is written by residual_csr's parallel row
      // blocks, which then also fault its pages in (2 MiB at a time).
      res.X = Array::uninitialized(X.dtype(), {X.n_rows, p});
      advise_huge_pages(res.X.raw(), res.X.nbytes());
      const std::vector<double> rtx = crossprod_csr<T>(X, rows, k);
      residual_csr<T>(X, rows, k, coefficients(*inv, rtx, k, p), res.X);
    }
  });
  res.path = RegressOutPath::ClosedForm;
  return res;
}

RegressOutResult regress_out_categorical(Array X, std::span<const int32_t> codes, int64_t n_categories) {
  check_matrix(X, "regress_out");
  X = to_float(std::move(X));
  if (static_cast<int64_t>(codes.size()) != X.rows())
    throw ValueError("regress_out: " + std::to_string(codes.size()) + " category codes for " +
                     std::to_string(X.rows()) + " cells");
  for (int32_t c : codes)
    if (c < -1 || c >= n_categories)
      throw ValueError("regress_out: category code " + std::to_string(c) + " out of range [0, " +
                       std::to_string(n_categories) + ")");
  RegressOutResult res;
  res.path = RegressOutPath::Categorical;
  if (X.rows() == 0 || X.cols() == 0) {  // nothing to fit
    res.X = X.astype(DType::Float64);
    return res;
  }
  res.X = dispatch_dtype(X.dtype(), [&](auto t) -> Array {
    using T = decltype(t);
    if constexpr (std::is_floating_point_v<T>) return categorical<T>(X, codes, n_categories);
    else throw Error("regress_out: unexpected dtype");
  });
  return res;
}

RegressOutResult regress_out_categorical(const SparseMatrix& X, std::span<const int32_t> codes,
                                         int64_t n_categories) {
  return regress_out_categorical(to_dense(X), codes, n_categories);
}

void regress_out(AnnData& adata, const std::vector<std::string>& keys, const RegressOutOptions& opt) {
  if (keys.empty()) throw ValueError("regress_out: keys must name at least one obs column");
  for (const auto& k : keys)
    if (!adata.obs.has(k)) throw KeyError("regress_out: obs has no column '" + k + "'");

  Element* target = nullptr;
  if (opt.layer) {
    auto it = adata.layers.find(*opt.layer);
    if (it == adata.layers.end()) throw KeyError("regress_out: no layer '" + *opt.layer + "'");
    target = &it->second;
  } else {
    if (!adata.X) throw ValueError("regress_out: adata has no X");
    target = &*adata.X;
  }
  if (!is_matrix(*target)) throw ValueError("regress_out: the data to regress is not a matrix");

  // Validate every key before X is touched, so a bad call leaves adata as it was.
  const Column& first = adata.obs.at(keys[0]);
  const bool is_categorical = std::holds_alternative<Categorical>(first);
  std::vector<std::vector<double>> cov;
  if (is_categorical) {
    if (keys.size() > 1)
      throw ValueError(
          "regress_out: if providing a categorical variable, only a single one is allowed; "
          "for this one we regress on the mean for each category");
  } else {
    for (const auto& k : keys) {
      const Column& c = adata.obs.at(k);
      const bool numeric = (std::holds_alternative<Array>(c) && std::get<Array>(c).dtype() != DType::Bool) ||
                           std::holds_alternative<Nullable>(c);
      if (!numeric)
        throw ValueError("regress_out: obs column '" + k + "' is " + column_kind(c) +
                         "; only the first key may be categorical, the others must be numeric");
      cov.push_back(adata.obs.numeric(k));
      for (double v : cov.back())
        if (!std::isfinite(v)) throw ValueError("regress_out: obs column '" + k + "' has missing or infinite values");
    }
  }
  if (matrix_rows(*target) != adata.n_obs())
    throw ValueError("regress_out: the matrix has " + std::to_string(matrix_rows(*target)) + " rows for " +
                     std::to_string(adata.n_obs()) + " cells");

  RegressOutResult res;
  if (target->is<SparseMatrix>()) {
    std::cerr << "regress_out: sparse input is densified and may lead to high memory use\n";
    const SparseMatrix& sp = target->get<SparseMatrix>();
    if (is_categorical) {
      const auto& cat = std::get<Categorical>(first);
      res = regress_out_categorical(sp, cat.codes, cat.n_categories());
    } else {
      res = regress_out_continuous(sp, cov);
    }
  } else {
    Array dense = std::move(target->get<Array>());
    if (is_categorical) {
      const auto& cat = std::get<Categorical>(first);
      res = regress_out_categorical(std::move(dense), cat.codes, cat.n_categories());
    } else {
      res = regress_out_continuous(std::move(dense), cov);
    }
  }
  *target = std::move(res.X);
}

}  // namespace scanpp::pp
