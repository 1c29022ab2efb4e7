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
#include "scanpp/core/parallel.hpp"

namespace scanpp::pp {
namespace {

constexpr int64_t kGeneBlock = 64;

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

// residual = X - R inv(RᵀR) RᵀX, written back into X's own dtype.
template <class T>
void closed_form(Array& X, const Eigen::MatrixXd& R, const Eigen::MatrixXd& inv) {
  const int64_t n = X.rows(), p = X.cols(), k = R.cols();
  T* x = X.as<T>().data();
  std::vector<double> rtx(static_cast<size_t>(k * p), 0.0);
  // RᵀX in float64, each gene accumulated over cells in order (thread-count independent).
  parallel_blocks(p, kGeneBlock, [&](int64_t a, int64_t b) {
    const int64_t m = b - a;
    std::vector<double> acc(static_cast<size_t>(k * m), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const T* row = x + i * p + a;
      for (int64_t c = 0; c < k; ++c) {
        const double r = R(i, c);
        double* out = acc.data() + c * m;
#pragma omp simd
        for (int64_t g = 0; g < m; ++g) out[g] += r * static_cast<double>(row[g]);
      }
    }
    for (int64_t c = 0; c < k; ++c)
      for (int64_t g = 0; g < m; ++g) rtx[static_cast<size_t>(c * p + a + g)] = acc[static_cast<size_t>(c * m + g)];
  });
  std::vector<double> coeff(static_cast<size_t>(k * p), 0.0);
  for (int64_t c = 0; c < k; ++c)
    for (int64_t g = 0; g < p; ++g) {
      double s = 0.0;
      for (int64_t l = 0; l < k; ++l) s += inv(c, l) * rtx[static_cast<size_t>(l * p + g)];
      coeff[static_cast<size_t>(c * p + g)] = s;
    }
  parallel_blocks(n, 64, [&](int64_t a, int64_t b) {
    std::vector<double> pred(static_cast<size_t>(p));
    for (int64_t i = a; i < b; ++i) {
      T* row = x + i * p;
      double* pr = pred.data();
      // The prediction of every gene, covariate by covariate (the same sums in
      // the same order as gene by gene, but vectorisable).
      std::fill(pred.begin(), pred.end(), 0.0);
      for (int64_t c = 0; c < k; ++c) {
        const double r = R(i, c);
        const double* co = coeff.data() + c * p;
#pragma omp simd
        for (int64_t g = 0; g < p; ++g) pr[g] += r * co[g];
      }
      // numpy computes float32 - float64 in float64 and rounds once on store.
#pragma omp simd
      for (int64_t g = 0; g < p; ++g) row[g] = static_cast<T>(static_cast<double>(row[g]) - pr[g]);
    }
  });
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

}  // namespace

RegressOutResult regress_out_continuous(Array X, const std::vector<std::vector<double>>& covariates) {
  check_matrix(X, "regress_out");
  X = to_float(std::move(X));
  const int64_t n = X.rows();
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
  RegressOutResult res;
  if (n == 0 || X.cols() == 0) {  // nothing to fit
    res.X = std::move(X);
    return res;
  }
  const Eigen::MatrixXd gram = R.transpose() * R;
  // numpy's det is the product of LU pivots; Scanpy takes the closed form whenever it is not exactly 0.
  Eigen::PartialPivLU<Eigen::MatrixXd> lu(gram);
  if (lu.determinant() != 0.0) {
    const Eigen::MatrixXd inv = lu.inverse();
    dispatch_dtype(X.dtype(), [&](auto t) {
      using T = decltype(t);
      if constexpr (std::is_floating_point_v<T>) closed_form<T>(X, R, inv);
    });
    res.X = std::move(X);
    res.path = RegressOutPath::ClosedForm;
  } else {
    res.X = dispatch_dtype(X.dtype(), [&](auto t) -> Array {
      using T = decltype(t);
      if constexpr (std::is_floating_point_v<T>) return least_squares<T>(X, R);
      else throw Error("regress_out: unexpected dtype");
    });
    res.path = RegressOutPath::LeastSquares;
  }
  return res;
}

RegressOutResult regress_out_continuous(const SparseMatrix& X, const std::vector<std::vector<double>>& covariates) {
  return regress_out_continuous(to_dense(X), covariates);
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

  Array dense;
  if (target->is<SparseMatrix>()) {
    std::cerr << "regress_out: sparse input is densified and may lead to high memory use\n";
    dense = to_dense(target->get<SparseMatrix>());
  } else {
    dense = std::move(target->get<Array>());
  }
  RegressOutResult res;
  if (is_categorical) {
    const auto& cat = std::get<Categorical>(first);
    res = regress_out_categorical(std::move(dense), cat.codes, cat.n_categories());
  } else {
    res = regress_out_continuous(std::move(dense), cov);
  }
  *target = std::move(res.X);
}

}  // namespace scanpp::pp
