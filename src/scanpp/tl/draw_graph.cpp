#include "scanpp/tl/draw_graph.hpp"

#include <igraph/igraph.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "scanpp/core/error.hpp"
#include "scanpp/core/numpy_random.hpp"
#include "scanpp/tl/cluster_labels.hpp"
#include "scanpp/tl/forceatlas2.hpp"
#include "scanpp/tl/igraph_session.hpp"

namespace scanpp::tl {

const std::vector<std::string>& draw_graph_layouts() {
  static const std::vector<std::string> v = {"fr", "drl", "kk", "grid_fr", "lgl", "rt", "rt_circular", "fa"};
  return v;
}

std::vector<double> draw_graph_random_init(int64_t n, int64_t random_state) {
  if (random_state < 0 || random_state > std::numeric_limits<uint32_t>::max())
    throw ValueError("draw_graph: random_state must be between 0 and 2**32 - 1");
  random::NumpyRandomState rs(static_cast<uint32_t>(random_state));
  std::vector<double> out(static_cast<size_t>(2 * n));
  for (double& v : out) v = rs.random_double();
  return out;
}

std::vector<double> draw_graph_paga_init(const AnnData& adata, int64_t n, int64_t random_state) {
  if (random_state < 0 || random_state > std::numeric_limits<uint32_t>::max())
    throw ValueError("draw_graph: random_state must be between 0 and 2**32 - 1");
  auto pit = adata.uns.find("paga");
  if (pit == adata.uns.end() || !pit->second.is<Dict>() || !pit->second.get<Dict>().count("pos"))
    throw ValueError("draw_graph: init_pos='paga' needs uns['paga']['pos']: plot PAGA first (pl.paga)");
  const Dict& paga = pit->second.get<Dict>();
  const Element& pos_e = paga.at("pos");
  if (!pos_e.is<Array>() || pos_e.get<Array>().ndim() != 2 || pos_e.get<Array>().cols() != 2)
    throw ValueError("draw_graph: uns['paga']['pos'] must be an n_groups x 2 array");
  const Array& pos = pos_e.get<Array>();
  if (!paga.count("groups") || !paga.at("groups").is<std::string>())
    throw ValueError("draw_graph: uns['paga']['groups'] is missing");
  const std::string key = paga.at("groups").get<std::string>();
  if (!adata.obs.has(key) || !std::holds_alternative<Categorical>(adata.obs.at(key)))
    throw ValueError("draw_graph: obs['" + key + "'] (uns['paga']['groups']) must be categorical");
  const Categorical& groups = std::get<Categorical>(adata.obs.at(key));
  if (!paga.count("connectivities") || !paga.at("connectivities").is<SparseMatrix>())
    throw ValueError("draw_graph: uns['paga']['connectivities'] is missing: run tl.paga");
  const SparseMatrix coarse = convert_format(paga.at("connectivities").get<SparseMatrix>(), SparseFormat::CSR);
  const int64_t n_groups = pos.rows();
  if (coarse.n_rows != n_groups || groups.n_categories() != n_groups || static_cast<int64_t>(groups.codes.size()) != n)
    throw ValueError("draw_graph: uns['paga']['pos'] does not match the groups in obs['" + key + "']");
  random::NumpyRandomState rs(static_cast<uint32_t>(random_state));
  std::vector<double> out(static_cast<size_t>(2 * n), 1.0);
  for (int64_t c = 0; c < n_groups; ++c) {
    // np.argmax over the row's nonzero entries in column order: first maximum
    int64_t nearest = -1;
    double best = 0;
    for (int64_t k = coarse.indptr[c]; k < coarse.indptr[c + 1]; ++k) {
      const double w = coarse.data.get_double(k);
      if (w == 0.0) continue;
      if (nearest < 0 || w > best) {
        best = w;
        nearest = coarse.indices[k];
      }
    }
    const double px = pos.get_double(2 * c), py = pos.get_double(2 * c + 1);
    const double ddx = nearest < 0 ? 0.0 : px - pos.get_double(2 * nearest);
    const double ddy = nearest < 0 ? 0.0 : py - pos.get_double(2 * nearest + 1);
    for (int64_t i = 0; i < n; ++i) {
      if (groups.codes[i] != c) continue;
      if (nearest < 0) {
        out[2 * i] = px;
        out[2 * i + 1] = py;
      } else {
        const double u = rs.random_double(), v = rs.random_double();
        out[2 * i] = px - 0.5 * ddx + u * ddx;
        out[2 * i + 1] = py - 0.5 * ddy + v * ddy;
      }
    }
  }
  return out;
}

namespace {

// Scanpy's get_igraph_from_adjacency: one undirected edge per stored nonzero
// entry (a symmetric pair gives two parallel edges), no weights used.
class ScanpyGraph {
 public:
  explicit ScanpyGraph(const SparseMatrix& adjacency) {
    const SparseMatrix a =
        adjacency.format == SparseFormat::CSR ? adjacency : convert_format(adjacency, SparseFormat::CSR);
    std::vector<igraph_integer_t> ends;
    ends.reserve(static_cast<size_t>(2 * a.nnz()));
    for (int64_t i = 0; i < a.n_rows; ++i)
      for (int64_t k = a.indptr[i]; k < a.indptr[i + 1]; ++k) {
        if (a.data.get_double(k) == 0.0) continue;
        ends.push_back(i);
        ends.push_back(a.indices[k]);
      }
    igraph_vector_int_t v;
    igraph_vector_int_view(&v, ends.data(), static_cast<igraph_integer_t>(ends.size()));
    IgraphSession::check(igraph_create(&graph_, &v, a.n_rows, IGRAPH_UNDIRECTED), "building the graph");
  }
  ~ScanpyGraph() { igraph_destroy(&graph_); }
  ScanpyGraph(const ScanpyGraph&) = delete;
  ScanpyGraph& operator=(const ScanpyGraph&) = delete;
  const igraph_t* get() const { return &graph_; }

 private:
  igraph_t graph_;
};

class IgraphMatrix {
 public:
  IgraphMatrix(int64_t rows, int64_t cols) {
    IgraphSession::check(igraph_matrix_init(&m_, rows, cols), "allocating the layout");
  }
  ~IgraphMatrix() { igraph_matrix_destroy(&m_); }
  IgraphMatrix(const IgraphMatrix&) = delete;
  IgraphMatrix& operator=(const IgraphMatrix&) = delete;
  igraph_matrix_t* get() { return &m_; }

 private:
  igraph_matrix_t m_;
};

std::vector<double> igraph_layout(const SparseMatrix& adjacency, const std::string& layout,
                                  const std::vector<double>& init, const DrawGraphOptions& opt) {
  const int64_t n = adjacency.n_rows;
  IgraphSession session(static_cast<uint64_t>(opt.random_state));
  ScanpyGraph g(adjacency);
  IgraphMatrix res(n, 2);
  igraph_matrix_t* m = res.get();
  // igraph's matrices are column-major
  for (int64_t i = 0; i < n; ++i) {
    MATRIX(*m, i, 0) = init[2 * i];
    MATRIX(*m, i, 1) = init[2 * i + 1];
  }
  const double nv = static_cast<double>(n);
  if (layout == "fr" || layout == "grid_fr") {
    // python-igraph's defaults: 500 iterations, start temperature sqrt(n) / 10
    const igraph_integer_t niter = opt.maxiter.value_or(500);
    IgraphSession::check(igraph_layout_fruchterman_reingold(g.get(), m, true, niter, std::sqrt(nv) / 10.0,
                                                            layout == "fr" ? IGRAPH_LAYOUT_AUTOGRID : IGRAPH_LAYOUT_GRID,
                                                            nullptr, nullptr, nullptr, nullptr, nullptr),
                         "computing the Fruchterman-Reingold layout");
  } else if (layout == "kk") {
    const igraph_integer_t maxiter = opt.maxiter.value_or(static_cast<int>(50 * n));
    IgraphSession::check(igraph_layout_kamada_kawai(g.get(), m, true, maxiter, 0.0, nv, nullptr, nullptr, nullptr,
                                                    nullptr, nullptr),
                         "computing the Kamada-Kawai layout");
  } else if (layout == "drl") {
    igraph_layout_drl_options_t o;
    IgraphSession::check(igraph_layout_drl_options_init(&o, IGRAPH_LAYOUT_DRL_DEFAULT), "setting DrL options");
    IgraphSession::check(igraph_layout_drl(g.get(), m, true, &o, nullptr), "computing the DrL layout");
  } else if (layout == "lgl") {
    const double area = nv * nv;
    IgraphSession::check(igraph_layout_lgl(g.get(), m, opt.maxiter.value_or(150), nv, area, 1.5, area * nv,
                                           std::sqrt(std::sqrt(area)), -1),
                         "computing the LGL layout");
  } else if (layout == "rt" || layout == "rt_circular") {
    igraph_vector_int_t roots;
    igraph_integer_t root_value = opt.root.value_or(0);
    if (opt.root && (*opt.root < 0 || *opt.root >= n))
      throw ValueError("draw_graph: root " + std::to_string(*opt.root) + " is not a cell index");
    igraph_vector_int_view(&roots, &root_value, 1);
    const igraph_vector_int_t* r = opt.root ? &roots : nullptr;
    IgraphSession::check(layout == "rt" ? igraph_layout_reingold_tilford(g.get(), m, IGRAPH_OUT, r, nullptr)
                                        : igraph_layout_reingold_tilford_circular(g.get(), m, IGRAPH_OUT, r, nullptr),
                         "computing the Reingold-Tilford layout");
  }
  if (igraph_matrix_nrow(m) != n || igraph_matrix_ncol(m) != 2)
    throw Error("draw_graph: igraph returned a layout of the wrong shape");
  std::vector<double> out(static_cast<size_t>(2 * n));
  for (int64_t i = 0; i < n; ++i) {
    out[2 * i] = MATRIX(*m, i, 0);
    out[2 * i + 1] = MATRIX(*m, i, 1);
  }
  return out;
}

void check_layout(const std::string& layout) {
  const auto& all = draw_graph_layouts();
  if (std::find(all.begin(), all.end(), layout) != all.end()) return;
  std::string names;
  for (const auto& l : all) names += (names.empty() ? "'" : ", '") + l + "'";
  throw ValueError("draw_graph: unknown layout '" + layout + "'; provide one of " + names);
}

}  // namespace

std::vector<double> draw_graph_layout(const SparseMatrix& adjacency, const std::string& layout,
                                      const std::vector<double>& init, const DrawGraphOptions& opt) {
  check_layout(layout);
  if (adjacency.n_rows != adjacency.n_cols) throw ValueError("draw_graph: the adjacency matrix must be square");
  if (static_cast<int64_t>(init.size()) != 2 * adjacency.n_rows)
    throw ValueError("draw_graph: the start positions must be n_obs x 2");
  if (opt.maxiter && *opt.maxiter < 0) throw ValueError("draw_graph: maxiter must be >= 0");
  if (layout == "fa") {
    ForceAtlas2Options fo;
    fo.iterations = opt.maxiter.value_or(500);
    return forceatlas2(adjacency, init, fo);
  }
  return igraph_layout(adjacency, layout, init, opt);
}

void draw_graph(AnnData& adata, const DrawGraphOptions& opt, const SparseMatrix* adjacency) {
  check_layout(opt.layout);
  const SparseMatrix& graph = adjacency ? *adjacency : choose_graph(adata, opt.neighbors_key, opt.obsp);
  const int64_t n = graph.n_rows;
  if (graph.n_cols != n) throw ValueError("draw_graph: the adjacency matrix must be square");
  std::vector<double> init;
  if (!opt.init_pos.empty() && adata.obsm.count(opt.init_pos)) {
    const Element& e = adata.obsm.at(opt.init_pos);
    if (!e.is<Array>() || e.get<Array>().ndim() != 2 || e.get<Array>().cols() < 2 || e.get<Array>().rows() != n)
      throw ValueError("draw_graph: obsm['" + opt.init_pos + "'] must be an n_obs x 2 array to start from");
    const Array& a = e.get<Array>();
    if (a.cols() != 2)
      throw ValueError("draw_graph: obsm['" + opt.init_pos + "'] has " + std::to_string(a.cols()) +
                       " columns; the start positions must be 2-D");
    init.resize(static_cast<size_t>(2 * n));
    for (int64_t k = 0; k < 2 * n; ++k) init[k] = a.get_double(k);
  } else if (opt.init_pos == "paga" || opt.init_pos == "True" || opt.init_pos == "true") {
    init = draw_graph_paga_init(adata, n, opt.random_state);
  } else if (opt.init_pos.empty() || opt.init_pos == "None" || opt.init_pos == "False" || opt.init_pos == "false") {
    init = draw_graph_random_init(n, opt.random_state);
  } else {
    throw ValueError("draw_graph: init_pos '" + opt.init_pos + "' is neither 'paga' nor an obsm key");
  }
  std::vector<double> positions = draw_graph_layout(graph, opt.layout, init, opt);
  Dict params;
  params["layout"] = Element(opt.layout);
  params["random_state"] = Element(Array::scalar<int64_t>(opt.random_state));
  Dict dg;
  dg["params"] = Element(std::move(params));
  adata.uns["draw_graph"] = Element(std::move(dg));
  adata.obsm["X_draw_graph_" + opt.key_added_ext.value_or(opt.layout)] =
      Element(Array::from_vector(positions, {n, 2}));
}

}  // namespace scanpp::tl
