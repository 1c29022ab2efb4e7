#pragma once
// Scanpy's pp.log1p: x <- ln(1 + x), divided by ln(base) when a base is
// given. Sparse matrices change only their stored values. Integer data
// become float64 (as numpy/sklearn convert them); float32 stays float32.
#include <optional>
#include <string>

#include "scanpp/core/anndata.hpp"

namespace scanpp::pp {

struct Log1pOptions {
  // nullopt: natural logarithm.
  std::optional<double> base = std::nullopt;
  std::optional<std::string> layer = std::nullopt;
};

// Kernels, in place. A warning goes to stderr when values below 0 are found
// (values below -1 become NaN, as numpy gives).
void log1p(SparseMatrix& x, std::optional<double> base = std::nullopt);
void log1p(Array& x, std::optional<double> base = std::nullopt);

// AnnData level: transforms X (or the layer) in place and sets
// uns['log1p'] = {'base': base} ({} when base is nullopt, as anndata < 0.12
// stores None). Warns, but still transforms, when uns['log1p'] exists.
void log1p(AnnData& adata, const Log1pOptions& opts = {});

// uns['log1p']['base'] when set: what downstream functions must undo with
// expm1(x * ln(base)); nullopt means the natural logarithm (also after a
// round trip through anndata < 0.12, which drops a None base).
std::optional<double> log1p_base(const AnnData& adata);

}  // namespace scanpp::pp
