// Pipeline steps: pl.* embeddings and single-panel plots. Each draws a figure
// to `save` (format from the extension) and leaves the data unchanged except
// for what Scanpy itself stores (uns['<key>_colors'], uns['paga']['pos']).
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/pipeline/steps_pl_params.hpp"
#include "scanpp/pl/embedding.hpp"

namespace scanpp::pipeline {

std::vector<std::string> pl_str_list(Params& p, const std::string& key) {
  auto n = p.take(key);
  std::vector<std::string> out;
  if (!n || n->IsNull()) return out;
  try {
    if (n->IsSequence()) {
      for (const auto& e : *n) out.push_back(e.as<std::string>());
    } else {
      out.push_back(n->as<std::string>());
    }
  } catch (const YAML::Exception&) {
    p.fail("parameter '" + key + "' must be a string or a list of strings", &*n);
  }
  return out;
}

pl::FigureOptions pl_figure_options(Params& p) {
  pl::FigureOptions f;
  f.save = p.required<std::string>("save");
  f.dpi = p.get<double>("dpi", f.dpi);
  if (auto fs = p.opt<std::vector<double>>("figsize")) {
    if (fs->size() != 2) p.fail("figsize must be [width, height] in inches");
    f.figsize = std::array<double, 2>{(*fs)[0], (*fs)[1]};
  }
  return f;
}

namespace {

std::vector<pl::VBound> vbounds(Params& p, const std::string& key) {
  std::vector<pl::VBound> out;
  for (const auto& s : pl_str_list(p, key)) out.push_back(pl::VBound::parse(s));
  return out;
}

std::array<int, 2> components(Params& p) {
  auto n = p.take("components");
  if (!n || n->IsNull()) return {1, 2};
  std::vector<int> c;
  try {
    if (n->IsSequence()) {
      for (const auto& e : *n) c.push_back(e.as<int>());
    } else {  // "1,2" as Scanpy writes it
      std::string s = n->as<std::string>();
      size_t pos = 0;
      while (pos <= s.size()) {
        size_t comma = s.find(',', pos);
        c.push_back(std::stoi(s.substr(pos, comma - pos)));
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
    }
  } catch (const std::exception&) {
    p.fail("components must be like '1,2' or [1, 2]", &*n);
  }
  if (c.size() != 2) p.fail("components must name exactly two components (e.g. '2,3')", &*n);
  return {c[0], c[1]};
}

pl::EmbeddingOptions embedding_options(Params& p, const std::string& basis) {
  pl::EmbeddingOptions o;
  o.basis = basis.empty() ? p.required<std::string>("basis") : basis;
  o.color = pl_str_list(p, "color");
  o.use_raw = p.opt<bool>("use_raw");
  o.layer = p.get<std::string>("layer", "");
  o.groups = pl_str_list(p, "groups");
  o.components = components(p);
  o.sort_order = p.get<bool>("sort_order", o.sort_order);
  o.legend_loc = p.get<std::string>("legend_loc", o.legend_loc);
  o.legend_fontsize = p.opt<double>("legend_fontsize");
  o.legend_fontweight = p.get<std::string>("legend_fontweight", o.legend_fontweight);
  o.legend_fontoutline = p.opt<double>("legend_fontoutline");
  o.size = p.opt<double>("size");
  const auto cmap = p.opt<std::string>("cmap"), color_map = p.opt<std::string>("color_map");
  if (cmap && color_map) p.fail("give either cmap or color_map, not both");
  o.cmap = cmap ? *cmap : color_map ? *color_map : o.cmap;
  if (p.has("palette")) o.palette = pl_str_list(p, "palette");
  o.na_color = p.get<std::string>("na_color", o.na_color);
  o.na_in_legend = p.get<bool>("na_in_legend", o.na_in_legend);
  o.frameon = p.get<bool>("frameon", o.frameon);
  o.title = pl_str_list(p, "title");
  o.vmin = vbounds(p, "vmin");
  o.vmax = vbounds(p, "vmax");
  o.ncols = p.get<int>("ncols", o.ncols);
  o.hspace = p.get<double>("hspace", o.hspace);
  o.wspace = p.opt<double>("wspace");
  o.fig = pl_figure_options(p);
  if (o.legend_loc != "right margin" && o.legend_loc != "on data" && o.legend_loc != "none")
    p.fail("legend_loc must be 'right margin', 'on data' or 'none'");
  return o;
}

}  // namespace

void add_pl_steps(StepTable& t) {
  t["pl.embedding"] = [](Params& p) -> StepFn {
    auto o = embedding_options(p, "");
    return [o](AnnData& ad) { pl::embedding(ad, o); };
  };
  for (const char* b : {"umap", "tsne", "diffmap"}) {
    const std::string basis = b;
    t["pl." + basis] = [basis](Params& p) -> StepFn {
      auto o = embedding_options(p, basis);
      return [o](AnnData& ad) { pl::embedding(ad, o); };
    };
  }
  t["pl.pca"] = [](Params& p) -> StepFn {
    auto o = embedding_options(p, "pca");
    o.annotate_var_explained = p.get<bool>("annotate_var_explained", false);
    return [o](AnnData& ad) { pl::embedding(ad, o); };
  };
  t["pl.draw_graph"] = [](Params& p) -> StepFn {
    const auto layout = p.opt<std::string>("layout");
    auto o = embedding_options(p, "draw_graph");
    return [o, layout](AnnData& ad) mutable {
      std::string l;
      if (layout) {
        l = *layout;
      } else {  // the last computed layout, as Scanpy
        auto dg = ad.uns.find("draw_graph");
        if (dg != ad.uns.end() && dg->second.is<Dict>()) {
          auto& d = dg->second.get<Dict>();
          auto params = d.find("params");
          if (params != d.end() && params->second.is<Dict>()) {
            auto lay = params->second.get<Dict>().find("layout");
            if (lay != params->second.get<Dict>().end() && lay->second.is<std::string>())
              l = lay->second.get<std::string>();
          }
        }
        if (l.empty()) l = "fa";
      }
      o.basis = "draw_graph_" + l;
      pl::embedding(ad, o);
    };
  };
  add_pl_plot_steps(t);
}

}  // namespace scanpp::pipeline
