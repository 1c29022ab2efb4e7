// sc.pl.paga and sc.pl.paga_compare: the abstracted graph with node area by
// group size, edge width by connectivity, node colours from the groups'
// palette, laid out by igraph's Fruchterman-Reingold as Scanpy does.
#include <igraph/igraph.h>

#include <algorithm>
#include <cmath>

#include "scanpp/core/error.hpp"
#include "scanpp/core/numpy_random.hpp"
#include "scanpp/pl/palettes.hpp"
#include "scanpp/pl/plots.hpp"
#include "scanpp/tl/igraph_session.hpp"

namespace scanpp::pl {

namespace {

const Dict& paga_dict(const AnnData& ad) {
  auto it = ad.uns.find("paga");
  if (it == ad.uns.end() || !it->second.is<Dict>()) throw KeyError("uns['paga'] is missing: run tl.paga first");
  return it->second.get<Dict>();
}

SparseMatrix paga_adjacency(const AnnData& ad, bool tree) {
  const Dict& d = paga_dict(ad);
  const std::string key = tree ? "connectivities_tree" : "connectivities";
  auto it = d.find(key);
  if (it == d.end()) throw KeyError("uns['paga']['" + key + "'] is missing");
  if (it->second.is<SparseMatrix>()) return convert_format(it->second.get<SparseMatrix>(), SparseFormat::CSR);
  if (it->second.is<Array>()) return dense_to_csr(it->second.get<Array>());
  throw ValueError("uns['paga']['" + key + "'] is not a matrix");
}

std::string paga_groups(const AnnData& ad) {
  const Dict& d = paga_dict(ad);
  auto it = d.find("groups");
  if (it == d.end() || !it->second.is<std::string>()) throw KeyError("uns['paga']['groups'] is missing");
  return it->second.get<std::string>();
}

struct Edge {
  int64_t i, j;
  double w;
};

// Entries >= threshold of the upper triangle (the graph is symmetric).
std::vector<Edge> solid_edges(const SparseMatrix& a, double threshold) {
  std::vector<Edge> out;
  for (int64_t r = 0; r < a.n_rows; ++r)
    for (int64_t k = a.indptr[static_cast<size_t>(r)]; k < a.indptr[static_cast<size_t>(r) + 1]; ++k) {
      const int64_t c = a.indices[static_cast<size_t>(k)];
      const double w = a.data.get_double(k);
      if (c > r && w >= threshold && w > 0) out.push_back({r, c, w});
    }
  return out;
}

class IgraphLayoutGraph {
 public:
  // Scanpy's get_igraph_from_adjacency adds one edge per stored entry, so a
  // symmetric matrix gives every pair twice; kept for the same forces.
  IgraphLayoutGraph(const SparseMatrix& a, double threshold) {
    igraph_vector_int_t e;
    igraph_vector_int_init(&e, 0);
    igraph_vector_init(&w_, 0);
    for (int64_t r = 0; r < a.n_rows; ++r)
      for (int64_t k = a.indptr[static_cast<size_t>(r)]; k < a.indptr[static_cast<size_t>(r) + 1]; ++k) {
        const double w = a.data.get_double(k);
        if (!(w >= threshold) || w == 0) continue;
        igraph_vector_int_push_back(&e, r);
        igraph_vector_int_push_back(&e, a.indices[static_cast<size_t>(k)]);
        igraph_vector_push_back(&w_, w);
      }
    const igraph_error_t rc = igraph_create(&g_, &e, a.n_rows, IGRAPH_UNDIRECTED);
    igraph_vector_int_destroy(&e);
    if (rc != IGRAPH_SUCCESS) {
      igraph_vector_destroy(&w_);
      throw Error("igraph could not build the PAGA graph");
    }
  }
  ~IgraphLayoutGraph() {
    igraph_destroy(&g_);
    igraph_vector_destroy(&w_);
  }
  IgraphLayoutGraph(const IgraphLayoutGraph&) = delete;
  IgraphLayoutGraph& operator=(const IgraphLayoutGraph&) = delete;
  const igraph_t* graph() const { return &g_; }
  const igraph_vector_t* weights() const { return &w_; }

 private:
  igraph_t g_;
  igraph_vector_t w_;
};

}  // namespace

std::vector<double> paga_positions(const AnnData& ad, const PagaOptions& o) {
  const SparseMatrix a = paga_adjacency(ad, o.solid_edges_tree);
  const int64_t n = a.n_rows;
  if (o.layout != "fr") throw ValueError("pl.paga: only layout 'fr' (Scanpy's default) is implemented");
  // np.random.seed(random_state); np.random.random((n, 2))
  random::NumpyRandomState rs(static_cast<uint32_t>(o.random_state));
  std::vector<double> pos(static_cast<size_t>(2 * n));
  for (auto& v : pos) v = rs.random_double();
  if (n < 2) return pos;
  tl::IgraphSession session(static_cast<uint64_t>(o.random_state));
  IgraphLayoutGraph g(a, o.threshold);
  igraph_matrix_t m;
  igraph_matrix_init(&m, n, 2);
  for (int64_t i = 0; i < n; ++i) {
    MATRIX(m, i, 0) = pos[static_cast<size_t>(2 * i)];
    MATRIX(m, i, 1) = pos[static_cast<size_t>(2 * i + 1)];
  }
  // python-igraph's defaults: 500 iterations, start temperature sqrt(n) / 10.
  const igraph_error_t rc = igraph_layout_fruchterman_reingold(
      g.graph(), &m, true, 500, std::sqrt(static_cast<double>(n)) / 10.0, IGRAPH_LAYOUT_AUTOGRID, g.weights(), nullptr,
      nullptr, nullptr, nullptr);
  if (rc == IGRAPH_SUCCESS)
    for (int64_t i = 0; i < n; ++i) {
      pos[static_cast<size_t>(2 * i)] = MATRIX(m, i, 0);
      pos[static_cast<size_t>(2 * i + 1)] = MATRIX(m, i, 1);
    }
  igraph_matrix_destroy(&m);
  tl::IgraphSession::check(rc, "computing the PAGA layout");
  return pos;
}

namespace {

// Draws the graph into `box` (points); returns nothing, stores nothing.
void draw_paga(Figure& fig, const Rect& box, AnnData& ad, const PagaOptions& o, const std::vector<double>& pos) {
  const SparseMatrix a = paga_adjacency(ad, o.solid_edges_tree);
  const int64_t n = a.n_rows;
  const std::string groups = paga_groups(ad);
  std::vector<RGBA> colors;
  std::vector<std::string> labels;
  std::vector<double> sizes(static_cast<size_t>(n), 1.0);
  if (ad.obs.has(groups) && std::holds_alternative<Categorical>(ad.obs.at(groups))) {
    const Categorical& c = std::get<Categorical>(ad.obs.at(groups));
    if (c.n_categories() != n) throw ValueError("uns['paga'] has " + std::to_string(n) + " groups but obs['" + groups + "'] has " + std::to_string(c.n_categories()));
    labels = category_labels(c);
    std::fill(sizes.begin(), sizes.end(), 0.0);
    for (int32_t code : c.codes)
      if (code >= 0) sizes[static_cast<size_t>(code)] += 1;
    colors = o.color.empty() || o.color == groups ? categorical_colors(ad, groups)
                                                 : std::vector<RGBA>(static_cast<size_t>(n), parse_color(o.color));
  } else {
    for (int64_t i = 0; i < n; ++i) labels.push_back(std::to_string(i));
    colors.assign(static_cast<size_t>(n), parse_color("grey"));
  }
  // Node area: 2000 * (size / median size) ^ power points^2, as Scanpy.
  std::vector<double> sorted = sizes;
  std::sort(sorted.begin(), sorted.end());
  const double med = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                       : (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]) / 2;
  std::vector<double> radius(static_cast<size_t>(n));
  for (size_t i = 0; i < radius.size(); ++i)
    radius[i] = std::sqrt(2000 * std::pow(sizes[i] / std::max(med, 1e-12), o.node_size_power) * o.node_size_scale) / 2;
  Axes ax(fig, box);
  std::vector<double> xs, ys;
  for (int64_t i = 0; i < n; ++i) {
    xs.push_back(pos[static_cast<size_t>(2 * i)]);
    ys.push_back(pos[static_cast<size_t>(2 * i + 1)]);
  }
  // Room for the discs: widen the limits by the largest radius in data units.
  ax.autoscale_x(xs);
  ax.autoscale_y(ys);
  const double rmax = *std::max_element(radius.begin(), radius.end());
  const auto [x0, x1] = ax.xlim();
  const auto [y0, y1] = ax.ylim();
  const double dx = (x1 - x0) * rmax / std::max(1.0, box.w - 2 * rmax), dy = (y1 - y0) * rmax / std::max(1.0, box.h - 2 * rmax);
  ax.set_xlim(x0 - dx, x1 + dx);
  ax.set_ylim(y0 - dy, y1 + dy);
  ax.hide_xticks();
  ax.hide_yticks();
  ax.set_frameon(o.frameon);
  ax.set_title(o.title);
  ax.draw_background();
  ax.clip_begin();
  const double base_edge_width = o.edge_width_scale * 5 * 1.5;  // 5 * lines.linewidth
  for (const Edge& e : solid_edges(a, o.threshold)) {
    double w = base_edge_width * e.w;
    if (o.min_edge_width) w = std::max(w, *o.min_edge_width);
    if (o.max_edge_width) w = std::min(w, *o.max_edge_width);
    fig.line(ax.px(xs[static_cast<size_t>(e.i)]), ax.py(ys[static_cast<size_t>(e.i)]), ax.px(xs[static_cast<size_t>(e.j)]),
             ax.py(ys[static_cast<size_t>(e.j)]), {kBlack, w});
  }
  for (int64_t i = 0; i < n; ++i)
    fig.circle(ax.px(xs[static_cast<size_t>(i)]), ax.py(ys[static_cast<size_t>(i)]), radius[static_cast<size_t>(i)],
               colors[static_cast<size_t>(i)]);
  const double fs = o.fontsize.value_or(style::kLegendFontSize);
  for (int64_t i = 0; i < n; ++i)
    fig.text(ax.px(xs[static_cast<size_t>(i)]), ax.py(ys[static_cast<size_t>(i)]), labels[static_cast<size_t>(i)],
             {.size = fs, .bold = o.fontweight == "bold", .ha = HAlign::Center, .va = VAlign::Center,
              .outline = o.fontoutline});
  ax.clip_end();
  ax.draw_decorations();
}

std::vector<double> positions_for(AnnData& ad, const PagaOptions& o) {
  const SparseMatrix a = paga_adjacency(ad, o.solid_edges_tree);
  Dict& d = ad.uns.at("paga").get<Dict>();
  auto it = d.find("pos");
  if (o.use_stored_pos && it != d.end() && it->second.is<Array>() && it->second.get<Array>().size() == 2 * a.n_rows)
    return it->second.get<Array>().to_vector<double>();
  std::vector<double> pos = paga_positions(ad, o);
  d["pos"] = Array::from_vector(pos, {a.n_rows, 2});
  return pos;
}

}  // namespace

void paga(AnnData& ad, const PagaOptions& o) {
  if (o.fig.save.empty()) throw ValueError("pl.paga: give the output file with save=path");
  format_from_path(o.fig.save);
  const std::vector<double> pos = positions_for(ad, o);
  const auto fs = o.fig.figsize.value_or(std::array<double, 2>{style::kFigWidth, style::kFigHeight});
  Figure fig(o.fig.save, fs[0], fs[1], o.fig.dpi);
  draw_paga(fig, fig.subplot_box(), ad, o, pos);
  fig.save();
}

void paga_compare(AnnData& ad, const PagaCompareOptions& o) {
  if (o.fig.save.empty()) throw ValueError("pl.paga_compare: give the output file with save=path");
  format_from_path(o.fig.save);
  const std::string groups = paga_groups(ad);
  std::string basis = o.basis;
  if (basis.empty())
    for (const char* b : {"umap", "draw_graph_fa", "draw_graph_fr", "tsne", "pca"})
      if (ad.obsm.count(std::string("X_") + b)) {
        basis = b;
        break;
      }
  if (basis.empty()) throw KeyError("pl.paga_compare: no embedding in obsm (umap, draw_graph, tsne, pca)");
  const std::vector<double> pos = positions_for(ad, o.paga);
  const auto fs = o.fig.figsize.value_or(std::array<double, 2>{2 * style::kFigWidth, style::kFigHeight});
  Figure fig(o.fig.save, fs[0], fs[1], o.fig.dpi);
  const double half = fig.width() / 2, H = fig.height();
  const Rect left{half * 0.08, H * 0.09, half * 0.84, H * 0.76}, right{half + half * 0.08, H * 0.09, half * 0.84, H * 0.76};
  EmbeddingOptions eo;
  eo.basis = basis;
  eo.legend_loc = "on data";
  const Array& X = basis_matrix(ad, basis);
  std::vector<double> x(static_cast<size_t>(X.shape()[0])), y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = X.get_double(static_cast<int64_t>(i) * X.shape()[1]);
    y[i] = X.get_double(static_cast<int64_t>(i) * X.shape()[1] + 1);
  }
  ScatterPanel p = make_scatter_panel(ad, x, y, groups, eo, 0);
  p.xlabel = basis_axis_name(basis) + "1";
  p.ylabel = basis_axis_name(basis) + "2";
  draw_scatter_panel(fig, left, p);
  PagaOptions po = o.paga;
  if (po.title.empty()) po.title = "PAGA";
  draw_paga(fig, right, ad, po, pos);
  fig.save();
}

}  // namespace scanpp::pl
