// Pipeline steps: tl.score_genes, tl.score_genes_cell_cycle, tl.dendrogram, tl.embedding_density, tl.marker_gene_overlap.
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/tl/dendrogram.hpp"
#include "scanpp/tl/embedding_density.hpp"
#include "scanpp/tl/marker_gene_overlap.hpp"
#include "scanpp/tl/score_genes.hpp"

namespace scanpp::pipeline {

namespace {

// A parameter given as one string or a list of strings.
std::optional<std::vector<std::string>> string_list(Params& p, const std::string& key) {
  auto n = p.take(key);
  if (!n || n->IsNull()) return std::nullopt;
  try {
    if (n->IsScalar()) return std::vector<std::string>{n->as<std::string>()};
    if (n->IsSequence()) return n->as<std::vector<std::string>>();
  } catch (const YAML::Exception&) {
  }
  p.fail("parameter '" + key + "' must be a string or a list of strings", &*n);
}

// score_genes' keyword arguments shared with score_genes_cell_cycle.
void read_score_options(Params& p, tl::ScoreGenesOptions& o) {
  o.ctrl_as_ref = p.get<bool>("ctrl_as_ref", o.ctrl_as_ref);
  o.gene_pool = string_list(p, "gene_pool");
  o.n_bins = p.get<int>("n_bins", o.n_bins);
  o.random_state = p.get<int64_t>("random_state", o.random_state);
  if (o.random_state < 0 || o.random_state > 0xffffffffLL) p.fail("random_state must be in [0, 2**32)");
  o.use_raw = p.opt<bool>("use_raw");
  o.layer = p.opt<std::string>("layer");
}

// reference_markers: a mapping from cell type to a gene or a list of genes, in file order.
tl::MarkerSets marker_sets(Params& p, const std::string& key) {
  auto n = p.take(key);
  if (!n) p.fail("missing required parameter '" + key + "'");
  if (!n->IsMap()) p.fail("parameter '" + key + "' must map each cell type to a list of marker genes", &*n);
  tl::MarkerSets out;
  for (const auto& kv : *n) {
    std::vector<std::string> genes;
    try {
      if (kv.second.IsScalar()) genes.push_back(kv.second.as<std::string>());
      else if (kv.second.IsSequence()) genes = kv.second.as<std::vector<std::string>>();
      else throw YAML::Exception(kv.second.Mark(), "not a list");
      out.emplace_back(kv.first.as<std::string>(), std::move(genes));
    } catch (const YAML::Exception&) {
      p.fail("parameter '" + key + "': each cell type needs a list of gene names", &kv.second);
    }
  }
  return out;
}

}  // namespace

void add_scoring_steps(StepTable& t) {
  t["tl.score_genes"] = [](Params& p) -> StepFn {
    auto genes = string_list(p, "gene_list");
    if (!genes) p.fail("missing required parameter 'gene_list'");
    tl::ScoreGenesOptions o;
    read_score_options(p, o);
    o.ctrl_size = p.get<int>("ctrl_size", o.ctrl_size);
    if (o.ctrl_size < 0) p.fail("ctrl_size must not be negative");
    o.score_name = p.get<std::string>("score_name", o.score_name);
    return [o, g = *genes](AnnData& ad) { tl::score_genes(ad, g, o); };
  };
  t["tl.score_genes_cell_cycle"] = [](Params& p) -> StepFn {
    auto s = string_list(p, "s_genes");
    auto g2m = string_list(p, "g2m_genes");
    if (!s) p.fail("missing required parameter 's_genes'");
    if (!g2m) p.fail("missing required parameter 'g2m_genes'");
    if (p.has("ctrl_size")) p.fail("ctrl_size is not possible: it is set to min(len(s_genes), len(g2m_genes))");
    tl::ScoreGenesOptions o;
    read_score_options(p, o);
    return [o, s = *s, g2m = *g2m](AnnData& ad) { tl::score_genes_cell_cycle(ad, s, g2m, o); };
  };
  t["tl.dendrogram"] = [](Params& p) -> StepFn {
    tl::DendrogramOptions o;
    auto groupby = string_list(p, "groupby");
    if (!groupby || groupby->empty()) p.fail("missing required parameter 'groupby'");
    o.groupby = *groupby;
    o.n_pcs = p.opt<int>("n_pcs");
    o.use_rep = p.opt<std::string>("use_rep");
    o.var_names = string_list(p, "var_names").value_or(std::vector<std::string>{});
    o.use_raw = p.opt<bool>("use_raw");
    o.cor_method = p.get<std::string>("cor_method", o.cor_method);
    if (o.cor_method != "pearson" && o.cor_method != "spearman" && o.cor_method != "kendall")
      p.fail("cor_method must be 'pearson', 'spearman' or 'kendall'");
    o.linkage_method = p.get<std::string>("linkage_method", o.linkage_method);
    try {
      tl::parse_linkage_method(o.linkage_method);
    } catch (const ValueError& e) {
      p.fail(e.what());
    }
    o.optimal_ordering = p.get<bool>("optimal_ordering", false);
    o.key_added = p.get<std::string>("key_added", "");
    return [o](AnnData& ad) { tl::dendrogram(ad, o); };
  };
  t["tl.embedding_density"] = [](Params& p) -> StepFn {
    tl::EmbeddingDensityOptions o;
    o.basis = p.get<std::string>("basis", o.basis);
    o.groupby = p.opt<std::string>("groupby");
    o.key_added = p.opt<std::string>("key_added");
    if (auto n = p.take("components"); n && !n->IsNull()) {
      // "1,2" as Scanpy takes it, or a list of two integers.
      try {
        if (n->IsScalar()) {
          const std::string s = n->as<std::string>();
          size_t start = 0;
          while (start <= s.size()) {
            const size_t comma = s.find(',', start);
            o.components.push_back(std::stoi(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
            if (comma == std::string::npos) break;
            start = comma + 1;
          }
        } else {
          o.components = n->as<std::vector<int>>();
        }
      } catch (const std::exception&) {
        p.fail("components must be like \"1,2\" or a list of two integers", &*n);
      }
      if (o.components.size() != 2) p.fail("Please specify exactly 2 components, or `None`.", &*n);
    }
    return [o](AnnData& ad) { tl::embedding_density(ad, o); };
  };
  t["tl.marker_gene_overlap"] = [](Params& p) -> StepFn {
    const tl::MarkerSets ref = marker_sets(p, "reference_markers");
    tl::MarkerGeneOverlapOptions o;
    o.key = p.get<std::string>("key", o.key);
    o.method = p.get<std::string>("method", o.method);
    o.normalize = p.opt<std::string>("normalize");
    if (o.normalize && *o.normalize == "None") o.normalize.reset();
    o.top_n_markers = p.opt<int>("top_n_markers");
    o.adj_pval_threshold = p.opt<double>("adj_pval_threshold");
    o.key_added = p.get<std::string>("key_added", o.key_added);
    const auto save = p.opt<std::string>("save");
    // A step must leave its result somewhere: without `save` the table goes to uns.
    o.inplace = p.get<bool>("inplace", !save.has_value());
    try {
      tl::marker_overlap_table({}, {}, o.method, o.normalize);
    } catch (const ValueError& e) {
      p.fail(e.what());
    }
    return [o, ref, save](AnnData& ad) {
      const DataFrame df = tl::marker_gene_overlap(ad, ref, o);
      if (save) tl::write_table_csv(df, *save);
    };
  };
}

}  // namespace scanpp::pipeline
