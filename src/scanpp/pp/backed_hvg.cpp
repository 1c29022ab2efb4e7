// highly_variable_genes over row blocks, every flavor, with or without
// batch_key: the passes over the cells stream the blocks (one for the
// dispersion flavors, two for seurat_v3), each cell set's sums added in the
// in-memory kernel's order, and the in-memory selection runs on the sums.
#include <cmath>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/backed.hpp"
#include "scanpp/pp/backed_column_sums.hpp"
#include "scanpp/pp/detail/hvg_stats.hpp"
#include "scanpp/pp/detail/rows.hpp"
#include "scanpp/pp/log1p.hpp"

namespace scanpp::pp::backed {

using backed_detail::OrderedColumnSums;

namespace {

// Per-gene sums (slots_per_gene each) over several sets of cells in one pass:
// set k is every cell when sets[k] is empty, else its rows (increasing; the
// non-empty sets must be disjoint, as batches are). Each set is summed over
// its own rows in column_accumulate's order, so the results carry the
// in-memory kernel's bits. acc(k, col, value, slots) adds one stored value;
// on_block(rows) sees each block first, in order, on this thread.
template <class Acc, class OnBlock>
std::vector<std::vector<double>> set_sums(const RowBlockSource& x, const RowBlockOptions& blocks,
                                          const std::vector<std::vector<int64_t>>& sets, size_t slots_per_gene,
                                          Acc&& acc, OnBlock&& on_block) {
  const int64_t n = x.n_obs();
  const size_t width = slots_per_gene * static_cast<size_t>(x.n_vars());
  std::vector<OrderedColumnSums> sums;
  std::vector<size_t> everyone;
  std::vector<int32_t> member;
  for (size_t k = 0; k < sets.size(); ++k) {
    if (sets[k].empty()) {
      everyone.push_back(k);
      sums.emplace_back(n, width);
      continue;
    }
    if (member.empty()) member.assign(static_cast<size_t>(n), -1);
    sums.emplace_back(static_cast<int64_t>(sets[k].size()), width);
    for (int64_t r : sets[k]) {
      if (r < 0 || r >= n || member[static_cast<size_t>(r)] >= 0)
        throw Error("highly_variable_genes: cell sets must be disjoint rows of X");
      member[static_cast<size_t>(r)] = static_cast<int32_t>(k);
    }
  }
  std::vector<int64_t> fed(sets.size(), 0);
  std::vector<std::vector<int64_t>> local(sets.size());
  for_each_row_block(x, blocks, [&](Element& b, int64_t start, int64_t) {
    detail::with_rows(b, [&](const auto& v) {
      on_block(v);
      for (size_t k : everyone) sums[k].add(v, start, [&](int64_t c, auto val, double* s) { acc(k, c, val, s); });
      if (member.empty()) return;
      for (auto& l : local) l.clear();
      for (int64_t r = 0; r < v.n_rows; ++r) {
        const int32_t k = member[static_cast<size_t>(start + r)];
        if (k >= 0) local[static_cast<size_t>(k)].push_back(r);
      }
      for (size_t k = 0; k < sets.size(); ++k) {
        const std::vector<int64_t>& rows = local[k];
        if (rows.empty()) continue;
        const int64_t m = static_cast<int64_t>(rows.size());
        sums[k].add_rows(m, fed[k], [&](int64_t i, double* s) {
          v.row(rows[static_cast<size_t>(i)], [&](int64_t c, auto val) { acc(k, c, val, s); });
        });
        fed[k] += m;
      }
    });
  });
  std::vector<std::vector<double>> out;
  for (const auto& s : sums) out.push_back(s.result());
  return out;
}

// Tracks, block by block, whether every value is a non-negative integer and
// whether any is positive (the checks of both flavor families).
struct IntegerCheck {
  bool all_int = true, any_positive = false;
  template <class Rows>
  void operator()(const Rows& v) {
    using T = typename Rows::value_type;
    for (int64_t r = 0; r < v.n_rows && all_int; ++r)
      v.row(r, [&](int64_t, T val) {
        const double d = to_double(val);
        if (d < 0 || d != std::floor(d)) all_int = false;
        if (d > 0) any_positive = true;
      });
  }
};

HvgResult dispersion_flavors(const RowBlockSource& x, const HighlyVariableGenesOptions& o, const HvgContext& ctx,
                             const RowBlockOptions& blocks) {
  {
    const HighlyVariableGenesOptions d;
    if (o.n_top_genes &&
        (o.min_disp != d.min_disp || o.max_disp != d.max_disp || o.min_mean != d.min_mean || o.max_mean != d.max_mean))
      detail::warn("highly_variable_genes: If you pass `n_top_genes`, all cutoffs are ignored.");
  }
  const int64_t n = x.n_obs();
  const size_t p = static_cast<size_t>(x.n_vars());
  const bool expm1 = o.flavor == HvgFlavor::Seurat;
  const double scale = ctx.log1p_base ? std::log(*ctx.log1p_base) : 1.0;
  // Sets: every cell, or each non-empty batch (an empty one gets n = 0 sums).
  std::vector<std::vector<int64_t>> sets, batches;
  if (ctx.batch_codes.empty()) {
    sets.emplace_back();
  } else {
    batches = detail::batch_rows(ctx, n, p);
    for (const auto& rows : batches)
      if (!rows.empty()) sets.push_back(rows);
  }
  IntegerCheck check;
  const std::vector<std::vector<double>> slots = set_sums(
      x, blocks, sets, 3, [&](size_t, int64_t c, auto val, double* s) { detail::dispersion_slots(c, val, expm1, scale, s); },
      check);
  if (check.all_int && check.any_positive) detail::warn_counts_for_dispersion(o);
  std::vector<detail::GeneSums> sums;
  if (ctx.batch_codes.empty()) {
    sums.push_back(detail::gene_sums_from_slots(slots[0], n));
  } else {
    size_t k = 0;
    for (const auto& rows : batches)
      sums.push_back(rows.empty() ? detail::GeneSums{}
                                  : detail::gene_sums_from_slots(slots[k++], static_cast<int64_t>(rows.size())));
  }
  return detail::dispersion_hvg(sums, p, o, ctx);
}

HvgResult seurat_v3_flavors(const RowBlockSource& x, const HighlyVariableGenesOptions& o, const HvgContext& ctx,
                            const RowBlockOptions& blocks) {
  IntegerCheck check;
  detail::V3Passes passes;
  passes.moments = [&](const std::vector<std::vector<int64_t>>& sets) {
    return set_sums(
        x, blocks, sets, 2, [](size_t, int64_t c, auto val, double* s) { detail::v3_moment_slots(c, val, s); }, check);
  };
  passes.clipped = [&](const std::vector<std::vector<int64_t>>& sets, const std::vector<std::vector<double>>& clips) {
    return set_sums(
        x, blocks, sets, 2,
        [&](size_t k, int64_t c, auto val, double* s) { detail::v3_clipped_slots(c, to_double(val), clips[k].data(), s); },
        [](const auto&) {});
  };
  passes.all_integers = [&] { return check.all_int; };
  return detail::seurat_v3_from_passes(x.n_obs(), x.n_vars(), passes, o, ctx);
}

}  // namespace

HvgResult highly_variable_genes(const RowBlockSource& x, const HighlyVariableGenesOptions& o, const HvgContext& ctx,
                                const RowBlockOptions& blocks) {
  if (o.n_top_genes && *o.n_top_genes < 1)
    throw ValueError("highly_variable_genes: n_top_genes must be positive (got " + std::to_string(*o.n_top_genes) + ")");
  if (o.flavor == HvgFlavor::SeuratV3 || o.flavor == HvgFlavor::SeuratV3Paper)
    return seurat_v3_flavors(x, o, ctx, blocks);
  return dispersion_flavors(x, o, ctx, blocks);
}

HvgResult highly_variable_genes(AnnData& meta, const RowBlockSource& x, const HighlyVariableGenesOptions& opts,
                                const RowBlockOptions& blocks) {
  if (opts.layer) throw ValueError("highly_variable_genes: layers are not available on a backed X");
  if (opts.subset && opts.inplace)
    throw ValueError("highly_variable_genes: subset the backed X with pp::backed::subset (the pipeline step does)");
  const HvgContext ctx = detail::hvg_context(meta, opts);
  HvgResult r = highly_variable_genes(x, opts, ctx, blocks);
  if (opts.inplace) detail::store_hvg(meta, r, opts);
  return r;
}

}  // namespace scanpp::pp::backed
