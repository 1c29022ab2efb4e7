#include "scanpp/pp/scale.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <type_traits>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pp/detail/scale_rows.hpp"

namespace scanpp::pp {
namespace {

// Rows the statistics and the scaling apply to: all, or the masked ones.
std::vector<int64_t> selected_rows(int64_t n, const std::optional<std::vector<bool>>& mask) {
  std::vector<int64_t> rows;
  if (!mask) {
    rows.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) rows[static_cast<size_t>(i)] = i;
    return rows;
  }
  if (static_cast<int64_t>(mask->size()) != n)
    throw ValueError("scale: mask_obs has " + std::to_string(mask->size()) + " entries for " + std::to_string(n) +
                     " observations");
  for (int64_t i = 0; i < n; ++i)
    if ((*mask)[static_cast<size_t>(i)]) rows.push_back(i);
  return rows;
}

void check_options(const ScaleOptions& opt) {
  if (opt.mask_obs && opt.mask_obs_key) throw ValueError("scale: give mask_obs or mask_obs_key, not both");
  if (opt.max_value && std::isnan(*opt.max_value)) throw ValueError("scale: max_value is NaN");
}

// From sums over n cells to Scanpy's mean and std: E[x²] − mean², times n/(n−1), std 0 → 1.
void finish_stats(const std::vector<double>& sum, const std::vector<double>& sumsq, int64_t n, ScaleResult& r) {
  const size_t p = sum.size();
  r.mean.assign(p, 0.0);
  r.std.assign(p, 0.0);
  const double dn = static_cast<double>(n);
  for (size_t g = 0; g < p; ++g) {
    const double mean = sum[g] / dn;
    double var = sumsq[g] / dn - mean * mean;
    if (n != 1) var *= dn / static_cast<double>(n - 1);
    double sd = std::sqrt(var);
    if (sd == 0.0) sd = 1.0;
    r.mean[g] = mean;
    r.std[g] = sd;
  }
}

// Genes per task of the moments pass: each task's sums (2 doubles a gene)
// stay in L1/L2 while every selected row passes over them. The sums of a gene
// do not depend on the blocks, so the block count may follow the thread count.
int64_t moments_block(int64_t p) {
  const int64_t threads = std::max<int64_t>(num_threads(), 1);
  int64_t b = (p + threads - 1) / threads;
  b = (b + 15) / 16 * 16;
  return std::clamp<int64_t>(b, 256, 2048);
}

template <class T>
ScaleResult scale_dense(Array& X, const std::vector<int64_t>& rows, const ScaleOptions& opt) {
  const int64_t p = X.cols();
  const int64_t n = static_cast<int64_t>(rows.size());
  T* x = X.as<T>().data();
  std::vector<double> sum(static_cast<size_t>(p), 0.0), sumsq(static_cast<size_t>(p), 0.0);
  // Per gene, cells in order: numpy's axis-0 reduction order.
  parallel_blocks(p, moments_block(p), [&](int64_t a, int64_t b) {
    std::vector<const T*> ptr(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) ptr[static_cast<size_t>(k)] = x + rows[static_cast<size_t>(k)] * p + a;
    detail::scale_moments(ptr.data(), n, b - a, sum.data() + a, sumsq.data() + a);
  });
  ScaleResult res;
  finish_stats(sum, sumsq, n, res);

  const bool zc = opt.zero_center;
  const bool clip = opt.max_value.has_value();
  const double hi = clip ? *opt.max_value : 0.0;
  // Clipping compares in T: v > hi (in double) <=> v > the largest T <= hi,
  // and v < -hi <=> v < the smallest T >= -hi, so no mixed-width masks stop
  // the vectoriser. Without clipping the bounds are +-inf (never true).
  const double inf = std::numeric_limits<double>::infinity();
  const double lo_d = clip && zc ? -hi : -inf;
  const double hi_d = clip ? hi : inf;
  detail::ScaleClip<T> cl{static_cast<T>(hi_d), static_cast<T>(lo_d), static_cast<T>(hi),
                          zc ? static_cast<T>(-hi) : T(0)};
  if (static_cast<double>(cl.hi_cut) > hi_d) cl.hi_cut = std::nextafter(cl.hi_cut, -std::numeric_limits<T>::infinity());
  if (static_cast<double>(cl.lo_cut) < lo_d) cl.lo_cut = std::nextafter(cl.lo_cut, std::numeric_limits<T>::infinity());
  const double* mean = res.mean.data();
  const double* sd = res.std.data();
  parallel_for(n, [&](int64_t k) {
    T* row = x + rows[static_cast<size_t>(k)] * p;
    if (zc) detail::scale_center_row(row, mean, sd, p, cl);
    else detail::scale_divide_row(row, sd, p, cl);
  }, 64);
  return res;
}

template <class T>
ScaleResult scale_sparse(SparseMatrix& X, const std::optional<std::vector<bool>>& mask, const ScaleOptions& opt) {
  T* data = X.data.as<T>().data();
  const bool csr = X.format == SparseFormat::CSR;
  const int64_t p = X.n_cols;
  auto selected = [&](int64_t row) { return !mask || (*mask)[static_cast<size_t>(row)]; };
  int64_t n = 0;
  for (int64_t i = 0; i < X.n_rows; ++i) n += selected(i) ? 1 : 0;

  std::vector<double> sum(static_cast<size_t>(p), 0.0), sumsq(static_cast<size_t>(p), 0.0);
  if (csr) {
    for (int64_t i = 0; i < X.n_rows; ++i) {
      if (!selected(i)) continue;
      for (int64_t j = X.indptr[static_cast<size_t>(i)]; j < X.indptr[static_cast<size_t>(i) + 1]; ++j) {
        const int32_t g = X.indices[static_cast<size_t>(j)];
        const T v = data[j];
        const T sq = v * v;
        sum[static_cast<size_t>(g)] += static_cast<double>(v);
        sumsq[static_cast<size_t>(g)] += static_cast<double>(sq);
      }
    }
  } else {
    parallel_for(p, [&](int64_t g) {
      for (int64_t j = X.indptr[static_cast<size_t>(g)]; j < X.indptr[static_cast<size_t>(g) + 1]; ++j) {
        if (!selected(X.indices[static_cast<size_t>(j)])) continue;
        const T v = data[j];
        const T sq = v * v;
        sum[static_cast<size_t>(g)] += static_cast<double>(v);
        sumsq[static_cast<size_t>(g)] += static_cast<double>(sq);
      }
    });
  }
  ScaleResult res;
  finish_stats(sum, sumsq, n, res);

  const bool clip = opt.max_value.has_value();
  const double hi = clip ? *opt.max_value : 0.0;
  const T hi_t = static_cast<T>(hi);
  parallel_for(X.n_major(), [&](int64_t m) {
    for (int64_t j = X.indptr[static_cast<size_t>(m)]; j < X.indptr[static_cast<size_t>(m) + 1]; ++j) {
      const int64_t row = csr ? m : X.indices[static_cast<size_t>(j)];
      if (!selected(row)) continue;
      const int64_t g = csr ? X.indices[static_cast<size_t>(j)] : m;
      T v = static_cast<T>(static_cast<double>(data[j]) / res.std[static_cast<size_t>(g)]);
      if (clip && static_cast<double>(v) > hi) v = hi_t;  // without centring only the upper side
      data[j] = v;
    }
  }, 64);
  return res;
}

}  // namespace

ScaleResult scale(Array& X, const ScaleOptions& opt) {
  check_options(opt);
  if (X.ndim() != 2) throw ValueError("scale: X must be a 2-D matrix");
  if (opt.mask_obs_key) throw ValueError("scale: a mask given by obs column name needs the AnnData-level call");
  if (!dtype_is_float(X.dtype())) X = X.astype(DType::Float64);
  const std::vector<int64_t> rows = selected_rows(X.rows(), opt.mask_obs);
  if (X.dtype() == DType::Float32) return scale_dense<float>(X, rows, opt);
  return scale_dense<double>(X, rows, opt);
}

ScaleResult scale(SparseMatrix& X, const ScaleOptions& opt) {
  check_options(opt);
  if (opt.zero_center)
    throw ValueError("scale: zero-centring makes a sparse matrix dense; densify it first or use zero_center=false");
  if (opt.mask_obs_key) throw ValueError("scale: a mask given by obs column name needs the AnnData-level call");
  if (opt.mask_obs && static_cast<int64_t>(opt.mask_obs->size()) != X.n_rows)
    throw ValueError("scale: mask_obs has " + std::to_string(opt.mask_obs->size()) + " entries for " +
                     std::to_string(X.n_rows) + " observations");
  if (!dtype_is_float(X.dtype())) X.data = X.data.astype(DType::Float64);
  // Scanpy turns CSC into CSR when a mask is given.
  if (opt.mask_obs && X.format == SparseFormat::CSC) X = convert_format(X, SparseFormat::CSR);
  if (X.dtype() == DType::Float32) return scale_sparse<float>(X, opt.mask_obs, opt);
  return scale_sparse<double>(X, opt.mask_obs, opt);
}

ScaleResult scale(Element& X, const ScaleOptions& opt, bool announce) {
  if (X.is<Array>()) return scale(X.get<Array>(), opt);
  if (!X.is<SparseMatrix>()) throw ValueError(std::string("scale: cannot scale a ") + X.kind());
  if (!opt.zero_center) return scale(X.get<SparseMatrix>(), opt);
  check_options(opt);
  if (announce)
    std::cerr << "scale: as zero_center=true, sparse input is densified and may lead to large memory consumption\n";
  Array dense = to_dense(X.get<SparseMatrix>());
  ScaleResult r = scale(dense, opt);
  X = std::move(dense);
  return r;
}

void scale(AnnData& adata, const ScaleOptions& opt) {
  check_options(opt);
  if (opt.layer && opt.obsm) throw ValueError("scale: give layer or obsm, not both");
  std::string mean_key = "mean", std_key = "std";
  ScaleOptions kopt = opt;
  if (opt.mask_obs_key) {
    if (!adata.obs.has(*opt.mask_obs_key)) throw KeyError("scale: obs has no column '" + *opt.mask_obs_key + "'");
    const Column& c = adata.obs.at(*opt.mask_obs_key);
    if (!std::holds_alternative<Array>(c) || std::get<Array>(c).dtype() != DType::Bool)
      throw ValueError("scale: mask_obs column '" + *opt.mask_obs_key + "' is not boolean");
    kopt.mask_obs = adata.obs.boolean(*opt.mask_obs_key);
    kopt.mask_obs_key.reset();
    mean_key = "mean of " + *opt.mask_obs_key;
    std_key = "std of " + *opt.mask_obs_key;
  } else if (opt.mask_obs) {
    mean_key = "mean with mask";
    std_key = "std with mask";
  }

  Element* target = nullptr;
  if (opt.layer) {
    auto it = adata.layers.find(*opt.layer);
    if (it == adata.layers.end()) throw KeyError("scale: no layer '" + *opt.layer + "'");
    target = &it->second;
  } else if (opt.obsm) {
    auto it = adata.obsm.find(*opt.obsm);
    if (it == adata.obsm.end()) throw KeyError("scale: no obsm entry '" + *opt.obsm + "'");
    target = &it->second;
  } else {
    if (!adata.X) throw ValueError("scale: adata has no X");
    target = &*adata.X;
  }
  if (!is_matrix(*target)) throw ValueError("scale: the data to scale is not a matrix");
  if (matrix_rows(*target) != adata.n_obs())
    throw ValueError("scale: the matrix has " + std::to_string(matrix_rows(*target)) + " rows for " +
                     std::to_string(adata.n_obs()) + " observations");
  if (matrix_cols(*target) != adata.n_vars())
    throw ValueError("scale: the statistics go to var, but the matrix has " + std::to_string(matrix_cols(*target)) +
                     " columns for " + std::to_string(adata.n_vars()) + " variables");
  if (kopt.mask_obs && static_cast<int64_t>(kopt.mask_obs->size()) != adata.n_obs())
    throw ValueError("scale: mask_obs has " + std::to_string(kopt.mask_obs->size()) + " entries for " +
                     std::to_string(adata.n_obs()) + " observations");

  ScaleResult r = scale(*target, kopt, true);
  adata.var.set_array(mean_key, r.mean);
  adata.var.set_array(std_key, r.std);
}

}  // namespace scanpp::pp
