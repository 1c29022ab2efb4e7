// Per-group statistics, Welch's t-test, p-value corrections and ordering for
// tl.rank_genes_groups.
#include "scanpp/tl/rank_genes_groups_stats.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/rank_genes_groups_columns.hpp"

namespace scanpp::tl {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Continued fraction of the incomplete beta function (modified Lentz).
double beta_continued_fraction(double a, double b, double x) {
  constexpr double tiny = 1e-300, eps = 1e-16;
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::abs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 100000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::abs(del - 1) < eps) break;
  }
  return h;
}

// Regularised incomplete beta I_x(a, b), with y = 1 - x given separately so
// that tails keep their relative precision (p-values of 1e-300 are common).
double incomplete_beta(double a, double b, double x, double y) {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log(y);
  if (x < (a + 1) / (a + b + 2)) return std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
  return 1 - std::exp(log_front) * beta_continued_fraction(b, a, y) / b;
}

}  // namespace

double student_t_sf(double t, double df) {
  if (std::isnan(t) || std::isnan(df) || df <= 0) return kNaN;
  if (std::isinf(t)) return t > 0 ? 0.0 : 1.0;
  const double t2 = t * t;
  // P(|T| > |t|) = I_{df/(df+t^2)}(df/2, 1/2).
  const double tail = 0.5 * incomplete_beta(0.5 * df, 0.5, df / (df + t2), t2 / (df + t2));
  return t > 0 ? tail : 1 - tail;
}

double normal_two_sided_p(double z) {
  if (std::isnan(z)) return kNaN;
  return 2 * (0.5 * std::erfc(std::abs(z) / std::sqrt(2.0)));
}

TTestResult welch_t_test(double mean1, double var1, double n1, double mean2, double var2, double n2) {
  // scipy receives standard deviations and squares them again.
  const double s1 = std::sqrt(var1), s2 = std::sqrt(var2);
  const double vn1 = s1 * s1 / n1, vn2 = s2 * s2 / n2;
  double df = (vn1 + vn2) * (vn1 + vn2) / (vn1 * vn1 / (n1 - 1) + vn2 * vn2 / (n2 - 1));
  if (std::isnan(df)) df = 1;  // both variances 0: df is irrelevant but must not be NaN
  const double denom = std::sqrt(vn1 + vn2);
  double t = (mean1 - mean2) / denom;
  double p = 2 * student_t_sf(std::abs(t), df);
  if (std::isnan(t)) t = 0;
  if (std::isnan(p)) p = 1;
  return {t, p};
}

namespace {

// A double's bits as an unsigned key with the same order (no NaN).
uint64_t order_key(double v) {
  const uint64_t b = std::bit_cast<uint64_t>(v == 0 ? 0.0 : v);  // -0 sorts with +0
  return (b >> 63) ? ~b : (b | (uint64_t{1} << 63));
}

// 0..n-1 ordered by key, equal keys in index order: LSD radix sort in 8-bit
// digits (digits shared by all keys skipped); n log n comparisons of a
// std::sort cost more at the 10^4 genes of a ranking.
std::vector<uint32_t> stable_argsort(const std::vector<uint64_t>& keys) {
  const size_t n = keys.size();
  std::vector<uint32_t> idx(n), tmp(n);
  for (size_t i = 0; i < n; ++i) idx[i] = static_cast<uint32_t>(i);
  if (n < 2) return idx;
  std::vector<std::array<uint32_t, 256>> count(8);
  for (auto& c : count) c.fill(0);
  for (uint64_t k : keys)
    for (int d = 0; d < 8; ++d) ++count[d][(k >> (8 * d)) & 0xFF];
  for (int d = 0; d < 8; ++d) {
    auto& c = count[d];
    if (c[(keys[0] >> (8 * d)) & 0xFF] == n) continue;
    uint32_t sum = 0;
    for (auto& v : c) {
      const uint32_t t = v;
      v = sum;
      sum += t;
    }
    for (size_t i = 0; i < n; ++i) {
      const uint32_t q = idx[i];
      tmp[c[(keys[q] >> (8 * d)) & 0xFF]++] = q;
    }
    idx.swap(tmp);
  }
  return idx;
}

}  // namespace

std::vector<double> benjamini_hochberg(std::vector<double> p) {
  const size_t n = p.size();
  // Ascending p (ties in any order: tied p-values get the same adjusted
  // value whichever comes first, as the running minimum shows).
  std::vector<uint64_t> keys(n);
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(p[i])) p[i] = 1;
    keys[i] = order_key(p[i]);
  }
  const std::vector<uint32_t> order = stable_argsort(keys);
  std::vector<double> q(n);
  double running = std::numeric_limits<double>::infinity();
  for (size_t k = n; k-- > 0;) {
    const double ecdf = static_cast<double>(k + 1) / static_cast<double>(n);
    running = std::min(running, p[order[k]] / ecdf);
    q[order[k]] = std::min(running, 1.0);
  }
  return q;
}

std::vector<double> bonferroni(const std::vector<double>& p) {
  std::vector<double> q(p.size());
  const double n = static_cast<double>(p.size());
  for (size_t i = 0; i < p.size(); ++i) q[i] = std::min(p[i] * n, 1.0);
  return q;
}

double log_fold_change(double mean1, double mean2, std::optional<double> log1p_base) {
  const double f = log1p_base ? std::log(*log1p_base) : 1.0;
  const double e1 = log1p_base ? std::expm1(mean1 * f) : std::expm1(mean1);
  const double e2 = log1p_base ? std::expm1(mean2 * f) : std::expm1(mean2);
  return std::log2((e1 + 1e-9) / (e2 + 1e-9));
}

std::vector<int64_t> top_n_indices(std::span<const double> scores, int64_t n, bool by_abs) {
  const int64_t total = static_cast<int64_t>(scores.size());
  n = std::clamp<int64_t>(n, 0, total);
  // Ascending -key: largest key first, ties by the lower index (the sort is
  // stable); NaN ranks last.
  std::vector<uint64_t> keys(static_cast<size_t>(total));
  for (int64_t i = 0; i < total; ++i) {
    const double v = by_abs ? std::abs(scores[i]) : scores[i];
    keys[i] = order_key(std::isnan(v) ? std::numeric_limits<double>::infinity() : -v);
  }
  const std::vector<uint32_t> order = stable_argsort(keys);
  return std::vector<int64_t>(order.begin(), order.begin() + n);
}

namespace {

// Per-group sums, sums of squares and non-zero counts of every gene of a CSR
// matrix in one pass over its rows (no gene-wise copy of the matrix): fixed
// blocks of rows (independent of the thread count) accumulate their own
// partials, which are then added in block order. One block (up to 16,384
// cells) sums in cell order, as the gene-wise path does. Calls
// emit(j, sums[g], squares[g], counts[g], total sum, total squares, total count)
// for each gene j, in parallel over genes.
template <class Emit>
void csr_group_sums(const SparseMatrix& m, std::span<const int32_t> codes, int n_groups, bool f32, Emit&& emit) {
  const int64_t n_rows = m.n_rows, n_genes = m.n_cols;
  const int slots = n_groups + 1;  // slot n_groups: all cells
  const int64_t row_block = 16384;
  const int64_t n_blocks = std::max<int64_t>(1, (n_rows + row_block - 1) / row_block);
  const size_t per = static_cast<size_t>(slots) * static_cast<size_t>(n_genes);
  std::vector<double> sum(per * n_blocks, 0.0), sq(per * n_blocks, 0.0);
  std::vector<int64_t> cnt(per * n_blocks, 0);
  dispatch_dtype(m.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (!std::is_same_v<T, Bool8>) {
      const T* data = m.data.as<T>().data();
      const int32_t* idx = m.indices.data();
      parallel_for(
          n_blocks,
          [&](int64_t blk) {
            double* bs = sum.data() + per * blk;
            double* bq = sq.data() + per * blk;
            int64_t* bc = cnt.data() + per * blk;
            const int64_t r1 = std::min(n_rows, (blk + 1) * row_block);
            for (int64_t i = blk * row_block; i < r1; ++i) {
              const int32_t g = codes[i];
              for (int64_t k = m.indptr[i]; k < m.indptr[i + 1]; ++k) {
                if (data[k] == T(0)) continue;
                const double v = static_cast<double>(data[k]);
                // Scanpy squares float32 data in float32 (see the gene-wise path).
                const double v2 =
                    f32 ? static_cast<double>(static_cast<float>(v) * static_cast<float>(v)) : v * v;
                const size_t tj = static_cast<size_t>(n_groups) * n_genes + idx[k];
                bs[tj] += v;
                bq[tj] += v2;
                ++bc[tj];
                if (g >= 0) {
                  const size_t gj = static_cast<size_t>(g) * n_genes + idx[k];
                  bs[gj] += v;
                  bq[gj] += v2;
                  ++bc[gj];
                }
              }
            }
          },
          1);
    }
  });
  parallel_blocks(n_genes, 1024, [&](int64_t a, int64_t b) {
    std::vector<double> sg(static_cast<size_t>(slots)), qg(sg.size());
    std::vector<int64_t> ng(sg.size());
    for (int64_t j = a; j < b; ++j) {
      for (int c = 0; c < slots; ++c) {
        double s0 = 0, q0 = 0;
        int64_t n0 = 0;
        for (int64_t blk = 0; blk < n_blocks; ++blk) {
          const size_t o = per * blk + static_cast<size_t>(c) * n_genes + j;
          s0 += sum[o];
          q0 += sq[o];
          n0 += cnt[o];
        }
        sg[c] = s0;
        qg[c] = q0;
        ng[c] = n0;
      }
      emit(j, sg.data(), qg.data(), ng.data(), sg[n_groups], qg[n_groups], ng[n_groups]);
    }
  });
}

}  // namespace

namespace detail {

GroupStats start_group_stats(std::span<const int32_t> codes, int n_groups, int64_t n_cells, int64_t n_genes) {
  GroupStats s;
  s.n_groups = n_groups;
  s.n_genes = n_genes;
  s.n_cells = n_cells;
  if (static_cast<int64_t>(codes.size()) != s.n_cells)
    throw ValueError("rank_genes_groups: one group code per cell is needed");
  s.sizes.assign(static_cast<size_t>(n_groups), 0);
  for (int32_t c : codes)
    if (c >= 0) {
      if (c >= n_groups) throw ValueError("rank_genes_groups: group code out of range");
      ++s.sizes[c];
    }
  const size_t total = static_cast<size_t>(n_groups * s.n_genes);
  s.means.assign(total, 0);
  s.vars.assign(total, 0);
  s.nnz.assign(total, 0);
  s.means_rest.assign(total, 0);
  s.vars_rest.assign(total, 0);
  s.nnz_rest.assign(total, 0);
  return s;
}

void store_gene_moments(GroupStats& s, int64_t j, const double* sg, const double* qg, const int64_t* ng, double st,
                        double qt, int64_t nt) {
  // mean = S/n; var = (Q/n - mean^2) * n/(n-1), as Scanpy 1.11's _get_mean_var.
  auto moments = [](double sum, double sq, double size, double& mean, double& var) {
    mean = sum / size;
    var = (sq / size - mean * mean) * (size / (size - 1));
  };
  const double n = static_cast<double>(s.n_cells);
  for (int64_t g = 0; g < s.n_groups; ++g) {
    const size_t o = static_cast<size_t>(g * s.n_genes + j);
    const double size = static_cast<double>(s.sizes[g]);
    moments(sg[g], qg[g], size, s.means[o], s.vars[o]);
    s.nnz[o] = ng[g];
    moments(st - sg[g], qt - qg[g], n - size, s.means_rest[o], s.vars_rest[o]);
    s.nnz_rest[o] = nt - ng[g];
  }
}

}  // namespace detail

GroupStats group_statistics(const Element& x, std::span<const int32_t> codes, int n_groups) {
  // CSR input is summed row by row; anything else gene by gene.
  const bool csr = x.is<SparseMatrix>() && x.get<SparseMatrix>().format == SparseFormat::CSR &&
                   x.get<SparseMatrix>().dtype() != DType::Bool;
  std::optional<detail::ColumnSource> src;
  if (!csr) src.emplace(x);
  GroupStats s = detail::start_group_stats(codes, n_groups, csr ? x.get<SparseMatrix>().n_rows : src->n_cells(),
                                           csr ? x.get<SparseMatrix>().n_cols : src->n_genes());
  const bool f32 = csr ? x.get<SparseMatrix>().dtype() == DType::Float32 : src->is_float32();
  const auto store = [&](int64_t j, const double* sg, const double* qg, const int64_t* ng, double st, double qt,
                         int64_t nt) { detail::store_gene_moments(s, j, sg, qg, ng, st, qt, nt); };
  if (csr) {
    csr_group_sums(x.get<SparseMatrix>(), codes, n_groups, f32, store);
    return s;
  }
  parallel_blocks(s.n_genes, src->block_size(), [&](int64_t a, int64_t b) {
    detail::ColumnBlock blk;
    src->extract(a, b, blk);
    std::vector<double> sg(static_cast<size_t>(n_groups)), qg(sg.size());
    std::vector<int64_t> ng(sg.size());
    for (int64_t j = a; j < b; ++j) {
      const int64_t lo = blk.ptr[j - a], hi = blk.ptr[j - a + 1];
      std::fill(sg.begin(), sg.end(), 0.0);
      std::fill(qg.begin(), qg.end(), 0.0);
      std::fill(ng.begin(), ng.end(), 0);
      double st = 0, qt = 0;
      for (int64_t e = lo; e < hi; ++e) {
        const double v = blk.values[e];
        // Scanpy's kernel squares float32 data in float32 before summing in
        // float64; for genes with mean^2 >> variance that rounding shows in
        // the variance (1e-6) and, through large t, in the p-values (1e-4).
        const double v2 = f32 ? static_cast<double>(static_cast<float>(v) * static_cast<float>(v)) : v * v;
        st += v;
        qt += v2;
        const int32_t g = codes[blk.cells[e]];
        if (g >= 0) {
          sg[g] += v;
          qg[g] += v2;
          ++ng[g];
        }
      }
      store(j, sg.data(), qg.data(), ng.data(), st, qt, hi - lo);
    }
  });
  return s;
}

}  // namespace scanpp::tl
