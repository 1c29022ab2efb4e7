// pp.pca on a row-block source. Gather mode collects the used genes and runs
// the in-memory kernel; streaming mode keeps X on disk and runs the Lanczos
// iteration on an operator whose every product is one pass over the blocks.
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/backed.hpp"
#include "scanpp/pp/backed_column_sums.hpp"
#include "scanpp/pp/detail/rows.hpp"
#include "scanpp/pp/pca_operator.hpp"

namespace scanpp::pp::backed {

using backed_detail::OrderedColumnSums;
using pca_detail::CenteredOperator;
using pca_detail::RowMatrix;

namespace {

// Xc = X[:, genes] − 1·μᵀ, never formed: each product streams the blocks once.
// Reductions over cells go through OrderedColumnSums, so results do not
// depend on the block size or the thread count.
class StreamingOperator : public CenteredOperator {
 public:
  StreamingOperator(const RowBlockSource& src, const std::vector<int64_t>& genes, const RowBlockOptions& blocks)
      : src_(src), blocks_(blocks), col_(static_cast<size_t>(src.n_vars()), -1), genes_(genes) {
    n_ = src.n_obs();
    p_ = static_cast<int64_t>(genes.size());
    for (size_t j = 0; j < genes.size(); ++j) {
      if (genes[j] < 0 || genes[j] >= src.n_vars() || (j > 0 && genes[j] <= genes[j - 1]))
        throw ValueError("pca: gene indices must be increasing and within [0, n_vars)");
      col_[static_cast<size_t>(genes[j])] = static_cast<int32_t>(j);
    }
    // One pass for the means and the per-gene sums of squares.
    const size_t p = static_cast<size_t>(p_);
    std::vector<double> s = reduce(2 * p, [&](const RowView& row, double* slots) {
      for (int64_t k = 0; k < row.cnt; ++k) {
        const size_t j = static_cast<size_t>(row.col(k));
        slots[2 * j] += row.val[k];
        slots[2 * j + 1] += row.val[k] * row.val[k];
      }
    });
    mean_.resize(p_);
    col_ss_.resize(p_);
    const double n = static_cast<double>(n_);
    for (size_t j = 0; j < p; ++j) {
      mean_[static_cast<Eigen::Index>(j)] = s[2 * j] / n;
      col_ss_[static_cast<Eigen::Index>(j)] = std::max(0.0, s[2 * j + 1] - s[2 * j] * s[2 * j] / n);
    }
  }

  void gram_p(const double* v, double* out) const override {
    const size_t p = static_cast<size_t>(p_);
    const double mv = Eigen::Map<const Eigen::VectorXd>(v, p_).dot(mean_);
    std::vector<double> s = reduce(p + 1, [&](const RowView& row, double* slots) {
      // x·v with four interleaved partial sums (a fixed order per row, so
      // still independent of blocks and threads; breaks the add latency chain).
      double d[4] = {0, 0, 0, 0};
      int64_t k = 0;
      if (row.idx) {
        for (; k + 4 <= row.cnt; k += 4)
          for (int q = 0; q < 4; ++q) d[q] += row.val[k + q] * v[row.idx[k + q]];
        for (; k < row.cnt; ++k) d[0] += row.val[k] * v[row.idx[k]];
      } else {
        for (; k + 4 <= row.cnt; k += 4)
          for (int q = 0; q < 4; ++q) d[q] += row.val[k + q] * v[k + q];
        for (; k < row.cnt; ++k) d[0] += row.val[k] * v[k];
      }
      const double u = ((d[0] + d[1]) + (d[2] + d[3])) - mv;
      if (row.idx) {
        for (k = 0; k < row.cnt; ++k) slots[row.idx[k]] += row.val[k] * u;
      } else {  // all used genes, in order: vectorisable
        for (k = 0; k < row.cnt; ++k) slots[k] += row.val[k] * u;
      }
      slots[p] += u;
    });
    for (size_t j = 0; j < p; ++j) out[j] = s[j] - mean_[static_cast<Eigen::Index>(j)] * s[p];
  }

  Eigen::MatrixXd mul(const Eigen::MatrixXd& V) const override {
    const int64_t b = V.cols();
    const Eigen::RowVectorXd mv = mean_.transpose() * V;
    Eigen::MatrixXd out(n_, b);
    for_each_row_block(src_, blocks_, [&](Element& blk, int64_t start, int64_t) {
      detail::with_rows(blk, [&](const auto& rows) {
        parallel_for(rows.n_rows, [&](int64_t r) {
          Eigen::RowVectorXd acc = -mv;
          rows.row(r, [&](int64_t c, auto x) {
            const int32_t j = col_[static_cast<size_t>(c)];
            if (j >= 0) acc += to_double(x) * V.row(j);
          });
          out.row(start + r) = acc;
        });
      });
    });
    return out;
  }

  Eigen::MatrixXd tmul(const Eigen::MatrixXd& U) const override {
    const int64_t b = U.cols();
    const size_t p = static_cast<size_t>(p_), bs = static_cast<size_t>(b);
    const RowMatrix Ur = U;  // rows contiguous
    std::vector<double> s = reduce((p + 1) * bs, [&](const RowView& row, double* slots) {
      const double* u = Ur.data() + row.global * b;
      for (int64_t k = 0; k < row.cnt; ++k) {
        double* sl = slots + static_cast<size_t>(row.col(k)) * bs;
        const double x = row.val[k];
        for (size_t c = 0; c < bs; ++c) sl[c] += x * u[c];
      }
      for (size_t c = 0; c < bs; ++c) slots[p * bs + c] += u[c];
    });
    Eigen::MatrixXd out(p_, b);
    for (size_t j = 0; j < p; ++j)
      for (size_t c = 0; c < bs; ++c)
        out(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(c)) =
            s[j * bs + c] - mean_[static_cast<Eigen::Index>(j)] * s[p * bs + c];
    return out;
  }

  void dense_rows(int64_t r0, int64_t r1, RowMatrix& out) const override {
    out.setZero(r1 - r0, p_);
    Element blk = src_.read_rows(r0, r1);
    detail::with_rows(blk, [&](const auto& rows) {
      for (int64_t r = 0; r < rows.n_rows; ++r)
        rows.row(r, [&](int64_t c, auto x) {
          const int32_t j = col_[static_cast<size_t>(c)];
          if (j >= 0) out(r, j) = to_double(x);
        });
    });
  }

 private:
  // One row's used genes as double values: positions idx[k] among the used
  // genes, or (idx null) exactly the used genes in order.
  struct RowView {
    const double* val;
    const int32_t* idx;
    int64_t cnt, global;
    int64_t col(int64_t k) const { return idx ? idx[k] : k; }
  };

  // f(row, slots) adds one row; chunk partials are combined in row order
  // (OrderedColumnSums), so the bits do not depend on blocks or threads.
  template <class F>
  std::vector<double> reduce(size_t width, F&& f) const {
    OrderedColumnSums sums(n_, width);
    for_each_row_block(src_, blocks_, [&](Element& blk, int64_t start, int64_t) {
      detail::with_rows(blk, [&](const auto& rows) {
        using Rows = std::decay_t<decltype(rows)>;
        sums.add_rows(rows.n_rows, start, [&](int64_t r, double* slots) {
          thread_local std::vector<double> val;
          thread_local std::vector<int32_t> idx;
          bool in_order = false;
          if constexpr (Rows::sparse) {
            val.clear();
            idx.clear();
            for (int64_t k = rows.indptr[r]; k < rows.indptr[r + 1]; ++k) {
              const int32_t j = col_[static_cast<size_t>(rows.indices[k])];
              if (j < 0) continue;
              val.push_back(to_double(rows.data[k]));
              idx.push_back(j);
            }
          } else {
            // Dense: the used genes' values in order, converted in one tight loop.
            const auto* x = rows.data + r * rows.n_cols;
            val.resize(static_cast<size_t>(p_));
            if (p_ == rows.n_cols)
              for (int64_t k = 0; k < p_; ++k) val[static_cast<size_t>(k)] = to_double(x[k]);
            else
              for (int64_t k = 0; k < p_; ++k) val[static_cast<size_t>(k)] = to_double(x[genes_[static_cast<size_t>(k)]]);
            in_order = true;
          }
          f(RowView{val.data(), in_order ? nullptr : idx.data(), static_cast<int64_t>(val.size()), start + r}, slots);
        });
      });
    });
    return sums.result();
  }

  const RowBlockSource& src_;
  RowBlockOptions blocks_;
  std::vector<int32_t> col_;  // gene -> position among the used genes, -1 if unused
  std::vector<int64_t> genes_;  // the used genes, increasing
};

PcaResult streaming_pca(const RowBlockSource& x, const std::vector<int64_t>& genes, const PcaOptions& opt,
                        const RowBlockOptions& blocks) {
  if (!opt.zero_center) throw ValueError("pca: streaming PCA needs zero_center=true");
  if (opt.svd_solver && *opt.svd_solver != PcaSolver::Arpack && *opt.svd_solver != PcaSolver::Lobpcg)
    throw ValueError(std::string("pca: streaming PCA runs the Lanczos (arpack) solver, not '") +
                     pca_solver_name(*opt.svd_solver) + "'");
  const StreamingOperator A(x, genes, blocks);
  // Not in memory: the in-memory kernel's sparse-matrix route (Lanczos,
  // or the dense eigensolver below 257 cells or genes).
  return pca_detail::pca_on_operator(A, true, x.dtype() == DType::Float32 ? DType::Float32 : DType::Float64, opt);
}

}  // namespace

PcaResult pca(const RowBlockSource& x, const std::vector<int64_t>& genes, const PcaOptions& opts,
              const BackedPcaOptions& bopts) {
  std::vector<int64_t> used = genes;
  if (used.empty()) {
    used.resize(static_cast<size_t>(x.n_vars()));
    std::iota(used.begin(), used.end(), int64_t{0});
  }
  if (bopts.streaming) return streaming_pca(x, used, opts, bopts.blocks);
  const bool all = static_cast<int64_t>(used.size()) == x.n_vars();
  const Element m = gather_rows(x, bopts.blocks, all ? std::nullopt : std::optional<std::vector<int64_t>>(used));
  return pp::pca(m, opts);
}

void pca(AnnData& meta, const RowBlockSource& x, const PcaOptions& opts, const BackedPcaOptions& bopts) {
  if (opts.layer) throw ValueError("pca: layers are not available on a backed X");
  if (x.n_obs() != meta.n_obs() || x.n_vars() != meta.n_vars())
    throw ValueError("pca: the backed X does not match obs x var");
  // The in-memory function's gene selection and key writer, on the metadata.
  const PcaGenes sel = pca_genes(meta, opts);
  store_pca(meta, pca(x, sel.genes, opts, bopts), opts, sel);
}

}  // namespace scanpp::pp::backed
