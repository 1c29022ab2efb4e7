#pragma once
// numpy's np.argsort for float64 (the default kind='quicksort'), permutation for
// permutation. Where Scanpy's result depends on how numpy orders tied values
// (seurat_v3's gene ranks, scipy's minimum spanning tree in PAGA), a stable
// sort would give a different answer, so the algorithm is reproduced.
#include <cstdint>
#include <vector>

namespace scanpp {

std::vector<int64_t> numpy_argsort(const std::vector<double>& values);

}  // namespace scanpp
