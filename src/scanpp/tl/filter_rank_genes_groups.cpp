// tl.filter_rank_genes_groups.
#include "scanpp/tl/filter_rank_genes_groups.hpp"

#include <cmath>
#include <unordered_map>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/log1p.hpp"
#include "scanpp/tl/rank_genes_groups_stats.hpp"

namespace scanpp::tl {

namespace {

const Dict& result_dict(const AnnData& adata, const std::string& key) {
  auto it = adata.uns.find(key);
  if (it == adata.uns.end() || !it->second.is<Dict>())
    throw KeyError("filter_rank_genes_groups: uns['" + key + "'] not found; run tl.rank_genes_groups first");
  return it->second.get<Dict>();
}

std::string param_string(const Dict& params, const std::string& name) {
  auto it = params.find(name);
  return it != params.end() && it->second.is<std::string>() ? it->second.get<std::string>() : std::string();
}

std::optional<bool> param_bool(const Dict& params, const std::string& name) {
  auto it = params.find(name);
  if (it == params.end() || !it->second.is<Array>() || it->second.get<Array>().size() != 1) return std::nullopt;
  return it->second.get<Array>().get_double(0) != 0;
}

const RecArray& recarray(const Dict& d, const std::string& name, const std::string& key) {
  auto it = d.find(name);
  if (it == d.end() || !it->second.is<RecArray>())
    throw KeyError("filter_rank_genes_groups: uns['" + key + "'] has no record array '" + name + "'");
  return it->second.get<RecArray>();
}

std::vector<double> field_values(const RecArray& r, const std::string& field) {
  const auto& f = r.field(field);
  if (!std::holds_alternative<Array>(f.values)) throw ValueError("filter_rank_genes_groups: field '" + field + "' is not numeric");
  return std::get<Array>(f.values).to_vector<double>();
}

// A pts / pts_rest frame's column for the listed genes (looked up by name:
// Scanpy 1.11 stores them genes x groups indexed by gene).
std::vector<double> fractions_by_name(const DataFrame& df, const std::string& group,
                                      const std::vector<std::string>& genes) {
  if (!df.has(group)) throw KeyError("filter_rank_genes_groups: pts has no column '" + group + "'");
  const auto col = df.numeric(group);
  std::unordered_map<std::string, size_t> pos;
  for (size_t i = 0; i < df.index().size(); ++i) pos.emplace(df.index()[i], i);
  std::vector<double> out;
  for (auto& g : genes) {
    auto it = pos.find(g);
    out.push_back(it == pos.end() ? std::nan("") : col[it->second]);
  }
  return out;
}

}  // namespace

void filter_rank_genes_groups(AnnData& adata, const FilterRankGenesGroupsOptions& opt) {
  const std::string key = opt.key.empty() ? "rank_genes_groups" : opt.key;
  const Dict& res = result_dict(adata, key);
  auto pit = res.find("params");
  if (pit == res.end() || !pit->second.is<Dict>()) throw KeyError("filter_rank_genes_groups: uns['" + key + "'] has no params");
  const Dict& params = pit->second.get<Dict>();
  const std::string groupby = opt.groupby.value_or(param_string(params, "groupby"));
  const std::optional<bool> stored_raw = param_bool(params, "use_raw");
  const bool use_raw = opt.use_raw.value_or(stored_raw.value_or(false));
  const bool same_params = param_string(params, "groupby") == groupby && param_string(params, "reference") == "rest" &&
                           stored_raw && *stored_raw == use_raw;
  const bool use_logfolds = same_params && res.count("logfoldchanges");
  const bool use_fraction = same_params && res.count("pts_rest") && res.count("pts");

  const RecArray& names = recarray(res, "names", key);
  RecArray filtered = names;
  const Element* x = nullptr;
  const DataFrame* var = nullptr;
  Categorical cat;
  std::vector<std::string> cats;
  std::unordered_map<std::string, int64_t> gene_pos;
  if (!use_logfolds || !use_fraction) {
    if (use_raw) {
      if (!adata.raw || !adata.raw->X) throw ValueError("filter_rank_genes_groups: use_raw but adata.raw is empty");
      x = &*adata.raw->X;
      var = &adata.raw->var;
    } else {
      if (!adata.X) throw ValueError("filter_rank_genes_groups: adata has no X");
      x = &*adata.X;
      var = &adata.var;
    }
    if (!adata.obs.has(groupby)) throw KeyError("filter_rank_genes_groups: groupby '" + groupby + "' is not a column of obs");
    const Column& c = adata.obs.at(groupby);
    if (auto* cc = std::get_if<Categorical>(&c)) cat = *cc;
    else if (auto* sc = std::get_if<std::vector<std::string>>(&c)) cat = Categorical::from_strings(*sc);
    else throw ValueError("filter_rank_genes_groups: obs['" + groupby + "'] must be categorical or strings");
    for (size_t i = 0; i < var->index().size(); ++i) gene_pos.emplace(var->index()[i], static_cast<int64_t>(i));
  }
  const auto base = pp::log1p_base(adata);

  for (auto& field : filtered.fields) {
    auto* gene_list = std::get_if<std::vector<std::string>>(&field.values);
    if (!gene_list) throw ValueError("filter_rank_genes_groups: names field '" + field.name + "' is not text");
    const std::vector<std::string>& genes = *gene_list;
    const size_t n = genes.size();
    std::vector<double> frac_in(n), frac_out(n), lfc(n);
    if (!use_logfolds || !use_fraction) {
      Indices cols, rows(static_cast<size_t>(adata.n_obs()));
      for (auto& g : genes) {
        auto it = gene_pos.find(g);
        // A name blanked by an earlier filter stays blank (its column is a placeholder).
        if (it == gene_pos.end() && g != kFilteredName)
          throw KeyError("filter_rank_genes_groups: gene '" + g + "' is not in var_names");
        cols.push_back(it == gene_pos.end() ? 0 : it->second);
      }
      for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
      const Element sub = take_2d(*x, rows, cols);
      std::vector<int32_t> in_group(cat.codes.size(), -1);
      for (size_t i = 0; i < in_group.size(); ++i)
        if (cat.codes[i] >= 0 && cat.label(static_cast<int64_t>(i)) == field.name) in_group[i] = 0;
      const GroupStats st = group_statistics(sub, in_group, 1);
      const double n_in = static_cast<double>(st.sizes[0]), n_out = static_cast<double>(st.n_cells) - n_in;
      for (size_t k = 0; k < n; ++k) {
        frac_in[k] = static_cast<double>(st.nnz[k]) / n_in;
        frac_out[k] = static_cast<double>(st.nnz_rest[k]) / n_out;
        lfc[k] = log_fold_change(st.means[k], st.means_rest[k], base);
      }
    }
    if (use_fraction) {
      if (!res.at("pts").is<DataFrame>() || !res.at("pts_rest").is<DataFrame>())
        throw ValueError("filter_rank_genes_groups: uns['" + key + "'] pts/pts_rest are not data frames");
      frac_in = fractions_by_name(res.at("pts").get<DataFrame>(), field.name, genes);
      frac_out = fractions_by_name(res.at("pts_rest").get<DataFrame>(), field.name, genes);
    }
    if (use_logfolds) lfc = field_values(recarray(res, "logfoldchanges", key), field.name);
    std::vector<std::string> kept = genes;
    for (size_t k = 0; k < n; ++k) {
      const double fc = opt.compare_abs ? std::abs(lfc[k]) : lfc[k];
      if (genes[k] == kFilteredName || !(frac_in[k] > opt.min_in_group_fraction && frac_out[k] < opt.max_out_group_fraction &&
            fc > opt.min_fold_change))
        kept[k] = kFilteredName;
    }
    field.values = std::move(kept);
  }
  Dict copy = res;
  copy["names"] = std::move(filtered);
  adata.uns[opt.key_added] = std::move(copy);
}

}  // namespace scanpp::tl
