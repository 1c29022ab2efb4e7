#pragma once
// Scanpy's flavor='seurat_v3' / 'seurat_v3_paper' highly-variable-gene
// selection (regularised variance of clipped, standardised counts).
#include "scanpp/pp/highly_variable_genes.hpp"

namespace scanpp::pp::detail {

HvgResult seurat_v3(const SparseMatrix& x, const HighlyVariableGenesOptions& opts, const HvgContext& ctx);
HvgResult seurat_v3(const Array& x, const HighlyVariableGenesOptions& opts, const HvgContext& ctx);

}  // namespace scanpp::pp::detail
