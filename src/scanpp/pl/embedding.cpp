// sc.pl.embedding: scatter panels of an obsm basis with Scanpy's colouring,
// ordering, legends, colour bars and panel grid.
#include "scanpp/pl/embedding.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "scanpp/core/error.hpp"
#include "scanpp/pl/palettes.hpp"
#include "scanpp/pl/plot_values.hpp"

namespace scanpp::pl {

VBound VBound::parse(const std::string& s) {
  VBound b;
  try {
    size_t used = 0;
    if (!s.empty() && s[0] == 'p') {
      b.percentile = std::stod(s.substr(1), &used);
      if (used + 1 != s.size()) throw std::invalid_argument(s);
    } else {
      b.value = std::stod(s, &used);
      if (used != s.size()) throw std::invalid_argument(s);
    }
  } catch (const std::exception&) {
    throw ValueError("'" + s + "' is not a valid vmin/vmax: give a number or a percentile like 'p99'");
  }
  return b;
}

double VBound::resolve(const std::vector<double>& values) const {
  if (value) return *value;
  if (percentile) return nan_percentile(values, *percentile);
  return NAN;
}

std::string basis_axis_name(const std::string& basis) {
  std::string b = basis.rfind("X_", 0) == 0 ? basis.substr(2) : basis;
  if (b == "diffmap") return "DC";
  if (b == "tsne") return "tSNE";
  if (b == "umap") return "UMAP";
  if (b == "pca") return "PC";
  if (b.rfind("draw_graph_", 0) == 0) {
    std::string s = b.substr(11);
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
  }
  return b;
}

const Array& basis_matrix(const AnnData& ad, const std::string& basis) {
  for (const std::string& k : {basis, "X_" + basis}) {
    auto it = ad.obsm.find(k);
    if (it == ad.obsm.end()) continue;
    if (!it->second.is<Array>() || it->second.get<Array>().ndim() != 2)
      throw ValueError("obsm['" + k + "'] is not a dense 2-D array");
    return it->second.get<Array>();
  }
  std::string keys;
  for (const auto& [k, v] : ad.obsm) keys += (keys.empty() ? "" : ", ") + k;
  throw KeyError("no basis '" + basis + "' in obsm (keys: " + (keys.empty() ? "none" : keys) + ")");
}

namespace {

std::vector<double> column_of(const Array& a, int c) {
  const int64_t n = a.shape()[0], m = a.shape()[1];
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = a.get_double(i * m + c);
  return out;
}

double nan_median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

ScatterPanel make_scatter_panel(AnnData& ad, const std::vector<double>& x, const std::vector<double>& y,
                                const std::string& key, const EmbeddingOptions& o, size_t k,
                                const std::vector<double>* gene_column) {
  const size_t n = x.size();
  ScatterPanel p;
  p.s = o.size ? *o.size : 120000.0 / static_cast<double>(std::max<size_t>(1, n));
  p.title = k < o.title.size() ? o.title[k] : key;
  p.frameon = o.frameon;
  p.legend_loc = o.legend_loc;
  p.legend_bold = o.legend_fontweight == "bold";
  p.legend_outline = o.legend_fontoutline.value_or(0);
  p.cmap = o.cmap;
  const RGBA na = parse_color(o.na_color);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::vector<RGBA> col(n, na);
  if (!key.empty()) {
    const bool use_raw = o.use_raw.value_or(default_use_raw(ad, o.layer));
    PlotValues v;
    if (gene_column) v.values = *gene_column;
    else v = plot_values(ad, key, use_raw, o.layer);
    if (v.categorical) {
      if (v.codes.size() != n) throw ValueError("obs['" + key + "'] does not have one value per cell");
      const auto pal = categorical_colors(ad, key, o.palette);
      std::vector<bool> shown(v.categories.size(), true);
      if (!o.groups.empty()) {
        for (size_t c = 0; c < v.categories.size(); ++c)
          shown[c] = std::find(o.groups.begin(), o.groups.end(), v.categories[c]) != o.groups.end();
        for (const auto& g : o.groups)
          if (std::find(v.categories.begin(), v.categories.end(), g) == v.categories.end())
            throw ValueError("group '" + g + "' is not a category of '" + key + "'");
      }
      std::vector<int32_t> code(n);
      bool any_na = false;
      for (size_t i = 0; i < n; ++i) {
        const int32_t c = v.codes[i];
        code[i] = c >= 0 && shown[static_cast<size_t>(c)] ? c : -1;
        any_na = any_na || code[i] < 0;
        if (code[i] >= 0) col[i] = pal[static_cast<size_t>(code[i])];
      }
      if (o.sort_order)  // missing values at the bottom, the rest in data order
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return code[a] < 0 && code[b] >= 0; });
      const double fs = o.legend_fontsize.value_or(o.legend_loc == "on data" ? style::kFontSize : style::kLegendFontSize);
      p.legend_fontsize = fs;
      for (size_t c = 0; c < v.categories.size(); ++c) {
        if (!shown[c]) continue;
        if (o.legend_loc == "on data") {
          std::vector<double> cx, cy;
          for (size_t i = 0; i < n; ++i)
            if (code[i] == static_cast<int32_t>(c)) {
              cx.push_back(x[i]);
              cy.push_back(y[i]);
            }
          if (cx.empty()) continue;
          p.on_data_at.emplace_back(nan_median(cx), nan_median(cy));
        }
        p.legend.push_back({v.categories[c], pal[c]});
      }
      if (o.na_in_legend && any_na && o.legend_loc == "right margin") p.legend.push_back({"NA", na});
    } else {
      if (v.values.size() != n) throw ValueError("'" + key + "' does not have one value per cell");
      const auto& vals = v.values;
      const VBound none;
      const VBound& bmin = o.vmin.empty() ? none : o.vmin.size() == 1 ? o.vmin[0] : k < o.vmin.size() ? o.vmin[k] : none;
      const VBound& bmax = o.vmax.empty() ? none : o.vmax.size() == 1 ? o.vmax[0] : k < o.vmax.size() ? o.vmax[k] : none;
      double lo = bmin.resolve(vals), hi = bmax.resolve(vals);
      double dmin = INFINITY, dmax = -INFINITY;
      for (double a : vals)
        if (!std::isnan(a)) {
          dmin = std::min(dmin, a);
          dmax = std::max(dmax, a);
        }
      if (std::isnan(lo)) lo = std::isfinite(dmin) ? dmin : 0;
      if (std::isnan(hi)) hi = std::isfinite(dmax) ? dmax : 1;
      const Colormap& cm = colormap(o.cmap);
      const Normalize norm{lo, hi};
      for (size_t i = 0; i < n; ++i)
        if (!std::isnan(vals[i])) col[i] = cm(norm(vals[i]));
      if (o.sort_order) {
        // numpy: argsort(-v, stable)[::-1]: ascending values, ties in reverse
        // data order, NaN (sorted last by numpy) ending up first.
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
          const double va = -vals[a], vb = -vals[b];
          if (std::isnan(va)) return false;
          if (std::isnan(vb)) return true;
          return va < vb;
        });
        std::reverse(order.begin(), order.end());
      }
      p.colorbar = true;
      p.vmin = lo;
      p.vmax = hi;
    }
  }
  p.x.resize(n);
  p.y.resize(n);
  p.colors.resize(n);
  for (size_t i = 0; i < n; ++i) {
    p.x[i] = x[order[i]];
    p.y[i] = y[order[i]];
    p.colors[i] = col[order[i]];
  }
  return p;
}

double panel_right_extent(const ScatterPanel& p, const Rect& axes_box) {
  double r = axes_box.right();
  if (p.colorbar) r = std::max(r, colorbar_extent(colorbar_box(axes_box), p.vmin, p.vmax).right());
  if (!p.legend.empty() && p.legend_loc == "right margin")
    r = std::max(r, legend_right_box(axes_box, p.legend, p.legend_fontsize).right());
  return r;
}

void draw_scatter_panel(Figure& fig, const Rect& axes_box, const ScatterPanel& p, const Rect* fit) {
  Rect ab = p.colorbar ? shrink_for_colorbar(axes_box) : axes_box;
  Axes ax(fig, ab);
  ax.autoscale_x(p.x);
  ax.autoscale_y(p.y);
  if (p.hide_ticks) {
    ax.hide_xticks();
    ax.hide_yticks();
  }
  ax.set_frameon(p.frameon);
  if (p.frameon) {
    ax.set_xlabel(p.xlabel);
    ax.set_ylabel(p.ylabel);
  }
  ax.set_title(p.title);
  if (fit) {
    ax.fit_within(*fit);
    ab = ax.box();
  }
  if (p.frameon) ax.draw_background();
  // Scanpy's marker '.' is a circle of diameter sqrt(s) / 2.
  std::vector<double> X(p.x.size()), Y(p.y.size());
  for (size_t i = 0; i < p.x.size(); ++i) {
    X[i] = ax.px(p.x[i]);
    Y[i] = ax.py(p.y[i]);
  }
  fig.discs(X, Y, p.colors, std::sqrt(std::max(0.0, p.s)) / 4, ab);
  if (!p.frameon) ax.hide_xticks(), ax.hide_yticks();
  ax.draw_decorations();
  if (p.colorbar) {
    // The bar follows the axes if fitting moved them: undo the colour bar's share.
    const Rect full{ab.x, ab.y, ab.w / (1 - 0.08 - 0.01), ab.h};
    draw_colorbar(fig, colorbar_box(full), colormap(p.cmap), p.vmin, p.vmax);
  }
  if (p.legend_loc == "right margin") draw_legend_right(fig, ab, p.legend, p.legend_fontsize);
  if (p.legend_loc == "on data") {
    std::vector<std::string> labels;
    std::vector<std::pair<double, double>> at;
    for (size_t i = 0; i < p.on_data_at.size() && i < p.legend.size(); ++i) {
      labels.push_back(p.legend[i].label);
      at.emplace_back(ax.px(p.on_data_at[i].first), ax.py(p.on_data_at[i].second));
    }
    for (size_t i = 0; i < labels.size(); ++i)
      fig.text(at[i].first, at[i].second, labels[i],
               {.size = p.legend_fontsize, .bold = p.legend_bold, .ha = HAlign::Center, .va = VAlign::Center,
                .outline = p.legend_outline});
  }
}

namespace {

struct GridLayout {
  double W = 0, H = 0;     // figure size in points
  std::vector<Rect> boxes; // axes box per panel
};

// Scanpy's _panel_grid (one panel: the figure's subplot box).
GridLayout panel_grid(size_t n, double w, double h, int ncols, double wspace, double hspace) {
  GridLayout g;
  if (n <= 1) {
    g.W = w;
    g.H = h;
    g.boxes.push_back({style::kSubplotLeft * w, (1 - style::kSubplotTop) * h,
                       (style::kSubplotRight - style::kSubplotLeft) * w, (style::kSubplotTop - style::kSubplotBottom) * h});
    return g;
  }
  const size_t nx = std::min(static_cast<size_t>(std::max(1, ncols)), n);
  const size_t ny = (n + nx - 1) / nx;
  const double fx = static_cast<double>(nx), fy = static_cast<double>(ny);
  g.W = fx * w * (1 + wspace);
  g.H = fy * h;
  const double left = 0.2 / fx, right = 1 - (fx - 1) * left - 0.01 / fx;
  const double bottom = 0.13 / fy, top = 1 - (fy - 1) * bottom - 0.1 / fy;
  const double cw = (right - left) * g.W / (fx + wspace * (fx - 1));
  const double ch = (top - bottom) * g.H / (fy + hspace * (fy - 1));
  for (size_t i = 0; i < n; ++i) {
    const double col = static_cast<double>(i % nx), row = static_cast<double>(i / nx);
    g.boxes.push_back({left * g.W + col * cw * (1 + wspace), (1 - top) * g.H + row * ch * (1 + hspace), cw, ch});
  }
  return g;
}

}  // namespace

void embedding(AnnData& ad, const EmbeddingOptions& o) {
  if (o.fig.save.empty()) throw ValueError("pl.embedding: give the output file with save=path.png|svg|pdf");
  format_from_path(o.fig.save);
  if (o.legend_loc != "right margin" && o.legend_loc != "on data" && o.legend_loc != "none")
    throw ValueError("legend_loc must be 'right margin', 'on data' or 'none', got '" + o.legend_loc + "'");
  colormap(o.cmap);  // fail early on an unknown name
  const Array& basis = basis_matrix(ad, o.basis);
  const int dims = static_cast<int>(basis.shape()[1]);
  for (int c : o.components)
    if (c < 1 || c > dims)
      throw ValueError("component " + std::to_string(c) + " is outside 1.." + std::to_string(dims) + " of basis '" +
                       o.basis + "'");
  if (basis.shape()[0] != ad.n_obs()) throw ValueError("basis '" + o.basis + "' does not have one row per cell");
  const auto x = column_of(basis, o.components[0] - 1), y = column_of(basis, o.components[1] - 1);
  const std::string name = basis_axis_name(o.basis);
  std::string xl = name + std::to_string(o.components[0]), yl = name + std::to_string(o.components[1]);
  if (o.annotate_var_explained) {
    auto pca = ad.uns.find("pca");
    if (pca == ad.uns.end() || !pca->second.is<Dict>() || !pca->second.get<Dict>().count("variance_ratio"))
      throw KeyError("annotate_var_explained needs uns['pca']['variance_ratio']");
    const Array& vr = pca->second.get<Dict>().at("variance_ratio").get<Array>();
    auto pct = [&](int c) {
      char buf[32];
      // Python's round(v * 100, 2) printed with repr: trailing zeros dropped.
      std::snprintf(buf, sizeof buf, "%.2f", std::round(vr.get_double(c - 1) * 10000) / 100);
      std::string s = buf;
      while (s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
      return " (" + s + "%)";
    };
    xl += pct(o.components[0]);
    yl += pct(o.components[1]);
  }
  std::vector<std::string> keys = o.color.empty() ? std::vector<std::string>{""} : o.color;
  // Default size from the cells with finite coordinates, as Scanpy.
  EmbeddingOptions eo = o;
  if (!eo.size) {
    size_t finite = 0;
    for (size_t i = 0; i < x.size(); ++i) finite += std::isfinite(x[i]) && std::isfinite(y[i]);
    eo.size = 120000.0 / static_cast<double>(std::max<size_t>(1, finite));
  }
  // Genes coloured in several panels come out of the matrix in one pass.
  const auto genes = gene_values_prefetch(ad, keys, o.use_raw.value_or(default_use_raw(ad, o.layer)), o.layer);
  std::vector<ScatterPanel> panels;
  for (size_t k = 0; k < keys.size(); ++k) {
    panels.push_back(make_scatter_panel(ad, x, y, keys[k], eo, k, genes[k] ? &*genes[k] : nullptr));
    panels.back().xlabel = xl;
    panels.back().ylabel = yl;
  }
  const auto fs = o.fig.figsize.value_or(std::array<double, 2>{style::kFigWidth, style::kFigHeight});
  const double wspace = o.wspace.value_or(0.75 / fs[0] + 0.02);
  GridLayout g = panel_grid(panels.size(), fs[0] * 72, fs[1] * 72, o.ncols, wspace, o.hspace);
  // Widen the figure for a legend or colour-bar labels that stick out on the
  // right (what savefig(bbox_inches='tight') does for Scanpy).
  double right = g.W;
  for (size_t k = 0; k < panels.size(); ++k) right = std::max(right, panel_right_extent(panels[k], g.boxes[k]) + 7.2);
  Figure fig(o.fig.save, right / 72, g.H / 72, o.fig.dpi);
  for (size_t k = 0; k < panels.size(); ++k) draw_scatter_panel(fig, g.boxes[k], panels[k]);
  fig.save();
}

}  // namespace scanpp::pl
