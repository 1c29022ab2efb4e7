#pragma once
// Scanpy's pp.scale (1.11): per-gene z-scores with unbiased (ddof=1) standard
// deviations, optional clipping, optionally on a subset of cells.
//
// Numbers as Scanpy computes them: mean and E[x²] accumulated in float64 over
// cells in order (squares formed in X's dtype), var = (E[x²] − mean²)·n/(n−1),
// std = sqrt(var) with 0 replaced by 1. Float32 data stays float32: each
// update is done in float64 and rounded once on store. Integer data becomes float64.
//  * zero_center: x ← (x − mean)/std, then clipped to [−max_value, max_value];
//    a sparse matrix becomes dense (the AnnData-level call says so on stderr).
//  * !zero_center: x ← x/std, only the upper side clipped; sparse stays sparse.
//  * mask_obs: statistics from, and scaling applied to, the masked cells only.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/array.hpp"
#include "scanpp/core/element.hpp"
#include "scanpp/core/sparse.hpp"

namespace scanpp::pp {

struct ScaleOptions {
  bool zero_center = true;
  std::optional<double> max_value = std::nullopt;  // clip values above (and, with zero_center, below minus) this
  std::optional<std::string> layer = std::nullopt;  // scale adata.layers[layer] instead of X
  // Scale adata.obsm[obsm] instead of X. Scanpy still writes the statistics into
  // var, so the entry must have n_vars columns (Scanpy fails on the write otherwise).
  std::optional<std::string> obsm = std::nullopt;
  // Cells to compute the statistics on and to scale; the others are left as they are.
  // Either a boolean mask of length n_obs or the name of a boolean obs column.
  std::optional<std::vector<bool>> mask_obs = std::nullopt;
  std::optional<std::string> mask_obs_key = std::nullopt;
};

struct ScaleResult {
  std::vector<double> mean;  // per gene, float64
  std::vector<double> std;   // per gene, float64, after std == 0 -> 1
};

// Dense kernel, in place. Integer or bool X is replaced by a float64 copy first.
ScaleResult scale(Array& X, const ScaleOptions& opt = {});
// Sparse kernel, in place; needs opt.zero_center == false (a zero-centred
// matrix is dense: call to_dense first or use the Element overload).
ScaleResult scale(SparseMatrix& X, const ScaleOptions& opt);
// Dense or sparse matrix; a sparse matrix is densified when zero-centring
// (and `announce` prints one line about it on stderr).
ScaleResult scale(Element& X, const ScaleOptions& opt = {}, bool announce = true);

// sc.pp.scale(adata, ...): scales X (or the layer / obsm entry) in place and
// writes var['mean'] and var['std'] (with mask_obs: 'mean of {key}'/'std of {key}'
// for a named column, 'mean with mask'/'std with mask' for an array).
void scale(AnnData& adata, const ScaleOptions& opt = {});

}  // namespace scanpp::pp
