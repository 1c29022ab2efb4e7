#pragma once
// tl.draw_graph as Scanpy 1.11: a force-directed layout of the neighbourhood
// graph. 'fa' is ForceAtlas2 (tl/forceatlas2.hpp, Scanpy's fa2 settings);
// 'fr', 'grid_fr', 'kk', 'drl', 'lgl', 'rt', 'rt_circular' are igraph's
// layouts on Scanpy's graph (one undirected edge per stored entry, no
// weights, seeded with the start positions where igraph takes a seed).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/array.hpp"
#include "scanpp/core/sparse.hpp"

namespace scanpp::tl {

// The layouts Scanpy 1.11 accepts, in its order.
const std::vector<std::string>& draw_graph_layouts();

struct DrawGraphOptions {
  std::string layout = "fa";
  // "" (Scanpy's None): uniform [0, 1)^2 from np.random.seed(random_state);
  // "paga": spread around uns['paga']['pos'] as Scanpy; else an obsm key.
  std::string init_pos;
  std::optional<int64_t> root;  // for 'rt' / 'rt_circular'
  int64_t random_state = 0;
  std::optional<std::string> key_added_ext;  // obsm key is 'X_draw_graph_' + (key_added_ext or layout)
  std::string neighbors_key = "neighbors";
  std::optional<std::string> obsp;  // adjacency = obsp[obsp] instead of the neighbors graph
  std::optional<int> maxiter;       // Scanpy's maxiter / iterations kwarg (fa: 500; igraph: its default)
};

// np.random.seed(random_state); np.random.random((n, 2)): row-major n x 2.
std::vector<double> draw_graph_random_init(int64_t n, int64_t random_state);

// Scanpy's get_init_pos_from_paga: cells of PAGA group c start at
// pos[c] - dist/2 + U[0,1)^2 * dist, dist = pos[c] - pos[c's most connected
// group] (numpy's global stream seeded with random_state, groups in order),
// or at pos[c] for a group without PAGA edges. Throws ValueError without
// uns['paga']['pos'].
std::vector<double> draw_graph_paga_init(const AnnData& adata, int64_t n, int64_t random_state);

// The kernel: positions (row-major n x 2) of `layout` on `adjacency` from
// `init` (row-major n x 2; ignored by 'lgl', 'rt', 'rt_circular').
std::vector<double> draw_graph_layout(const SparseMatrix& adjacency, const std::string& layout,
                                      const std::vector<double>& init, const DrawGraphOptions& opt);

// Writes obsm['X_draw_graph_<layout>'] (float64, n_obs x 2) and
// uns['draw_graph'] = {'params': {'layout', 'random_state'}}. The graph is
// `adjacency` if given, else obsp[obsp] or the neighbors connectivities.
// ValueError for an unknown layout (naming the supported ones) or a bad
// init_pos; KeyError without the graph.
void draw_graph(AnnData& adata, const DrawGraphOptions& opt = {}, const SparseMatrix* adjacency = nullptr);

}  // namespace scanpp::tl
