#include "scanpp/core/connected_components.hpp"

#include "scanpp/core/error.hpp"

namespace scanpp {

std::vector<int32_t> connected_component_labels(const SparseMatrix& graph) {
  if (graph.n_rows != graph.n_cols) throw ValueError("connected components: the graph must be square");
  const int64_t n = graph.n_rows;
  DisjointSets sets(n);
  for (int64_t m = 0; m < graph.n_major(); ++m)
    for (int64_t p = graph.indptr[m]; p < graph.indptr[m + 1]; ++p) sets.unite(m, graph.indices[p]);
  std::vector<int32_t> label(static_cast<size_t>(n), -1);
  int32_t next = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = sets.find(i);
    if (label[r] < 0) label[r] = next++;
    label[i] = label[r];
  }
  return label;
}

}  // namespace scanpp
