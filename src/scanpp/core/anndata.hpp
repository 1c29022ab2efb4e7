#pragma once
// The annotated data matrix: X (cells x genes) with obs/var annotations and
// the mappings Scanpy writes its results into, as anndata models it.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "scanpp/core/element.hpp"

namespace scanpp {

// adata.raw: a frozen X/var/varm sharing the obs axis with the parent.
struct Raw {
  std::optional<Element> X;
  DataFrame var;
  Dict varm;
  int64_t n_vars() const { return var.n_rows(); }
  bool operator==(const Raw&) const = default;
};

// One axis selection: row positions in the order they will appear.
using Indices = std::vector<int64_t>;
Indices indices_from_mask(const std::vector<bool>& mask);

class AnnData {
 public:
  std::optional<Element> X;  // Array (2-D) or SparseMatrix, n_obs x n_vars
  DataFrame obs, var;
  Dict obsm, varm, obsp, varp, layers, uns;
  std::optional<Raw> raw;

  AnnData() = default;
  // An AnnData around X with default names '0', '1', ... as anndata gives them.
  explicit AnnData(Element x);

  int64_t n_obs() const { return obs.n_rows(); }
  int64_t n_vars() const { return var.n_rows(); }
  const std::vector<std::string>& obs_names() const { return obs.index(); }
  const std::vector<std::string>& var_names() const { return var.index(); }

  // Throws ValueError describing the first inconsistency between shapes.
  void validate() const;

  // New object with the selected cells and genes (nullopt keeps an axis whole).
  AnnData subset(const std::optional<Indices>& obs_idx, const std::optional<Indices>& var_idx) const;
  void subset_inplace(const std::optional<Indices>& obs_idx, const std::optional<Indices>& var_idx);

  // adata.raw = adata
  void freeze_raw();

  void obs_names_make_unique(const std::string& join = "-");
  void var_names_make_unique(const std::string& join = "-");

  // anndata's repr: shape and the keys of every slot.
  std::string summary() const;

  // Typed access to X for algorithms.
  bool x_is_sparse() const { return X && X->is<SparseMatrix>(); }
  SparseMatrix& X_sparse();
  const SparseMatrix& X_sparse() const;
  Array& X_dense();
  const Array& X_dense() const;

  bool operator==(const AnnData&) const = default;
};

}  // namespace scanpp
