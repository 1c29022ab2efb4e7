#pragma once
// Scanpy's pp.normalize_total: divide each cell by its total count and
// multiply by a common target (CPM with target_sum=1e6). Integer data become
// float32 first and CSC becomes CSR, as in Scanpy; otherwise the float dtype
// is kept and, for sparse data, only stored values change.
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"

namespace scanpp::pp {

struct NormalizeTotalOptions {
  // nullopt: the median of the non-zero cell totals (after exclusion).
  std::optional<double> target_sum = std::nullopt;
  // Leave out genes that exceed max_fraction of some cell's total from every cell's total.
  bool exclude_highly_expressed = false;
  double max_fraction = 0.05;
  // obs column receiving each cell's size factor (total / target), as Scanpy 1.11.5 writes it.
  std::optional<std::string> key_added = std::nullopt;
  std::optional<std::string> layer = std::nullopt;
  // false: adata is left alone and the normalised copy is returned in the result.
  bool inplace = true;
};

struct NormalizeTotalResult {
  Array counts_per_cell;          // per-cell totals used (after exclusion), in X's float dtype
  Array norm_factor;              // counts_per_cell / target, X's float dtype (obs[key_added])
  double target_sum = 0;          // the target actually used
  std::vector<bool> gene_subset;  // genes counted in the totals (all true without exclusion)
  std::optional<Element> X;       // the normalised matrix when the AnnData call has inplace=false
};

// Kernels: normalise the matrix in place (converting integer data to float32
// and CSC to CSR first). Throws ValueError for max_fraction outside [0, 1].
NormalizeTotalResult normalize_total(SparseMatrix& x, const NormalizeTotalOptions& opts = {});
NormalizeTotalResult normalize_total(Array& x, const NormalizeTotalOptions& opts = {});

// AnnData level: normalises X (or the layer) in place and writes
// obs[key_added]; with inplace=false works on a copy returned in result.X.
NormalizeTotalResult normalize_total(AnnData& adata, const NormalizeTotalOptions& opts = {});

}  // namespace scanpp::pp
