// tl.rank_genes_groups at the AnnData level: choosing the matrix and the
// groups as Scanpy does, running the chosen test, ordering and storing.
#include "scanpp/tl/rank_genes_groups.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pp/log1p.hpp"
#include "scanpp/tl/rank_genes_groups_stats.hpp"

namespace scanpp::tl {

RankGenesMethod parse_rank_genes_method(const std::string& s) {
  if (s == "t-test") return RankGenesMethod::TTest;
  if (s == "t-test_overestim_var") return RankGenesMethod::TTestOverestimVar;
  if (s == "wilcoxon") return RankGenesMethod::Wilcoxon;
  if (s == "logreg") return RankGenesMethod::Logreg;
  throw ValueError("rank_genes_groups: method must be one of 't-test', 't-test_overestim_var', 'wilcoxon', "
                   "'logreg', not '" + s + "'");
}

std::string to_string(RankGenesMethod m) {
  switch (m) {
    case RankGenesMethod::TTest: return "t-test";
    case RankGenesMethod::TTestOverestimVar: return "t-test_overestim_var";
    case RankGenesMethod::Wilcoxon: return "wilcoxon";
    case RankGenesMethod::Logreg: return "logreg";
  }
  return "";
}

CorrMethod parse_corr_method(const std::string& s) {
  if (s == "benjamini-hochberg") return CorrMethod::BenjaminiHochberg;
  if (s == "bonferroni") return CorrMethod::Bonferroni;
  throw ValueError("rank_genes_groups: corr_method must be 'benjamini-hochberg' or 'bonferroni', not '" + s + "'");
}

std::string to_string(CorrMethod m) {
  return m == CorrMethod::Bonferroni ? "bonferroni" : "benjamini-hochberg";
}

namespace {

// The obs column as a categorical (Scanpy's sanitize_anndata turns string
// columns into categoricals with sorted categories).
Categorical groupby_categorical(const AnnData& adata, const std::string& key) {
  if (key.empty()) throw ValueError("rank_genes_groups: groupby is required");
  if (!adata.obs.has(key)) throw KeyError("rank_genes_groups: groupby '" + key + "' is not a column of obs");
  const Column& c = adata.obs.at(key);
  if (auto* cat = std::get_if<Categorical>(&c)) return *cat;
  if (auto* s = std::get_if<std::vector<std::string>>(&c)) return Categorical::from_strings(*s);
  throw ValueError("rank_genes_groups: obs['" + key + "'] must be categorical or strings");
}

std::vector<std::string> category_names(const Categorical& cat) {
  std::vector<std::string> out;
  for (int64_t k = 0; k < cat.n_categories(); ++k) {
    if (cat.has_string_categories()) {
      out.push_back(cat.string_categories()[static_cast<size_t>(k)]);
    } else {
      Categorical one = cat;
      one.codes = {static_cast<int32_t>(k)};
      out.push_back(one.label(0));
    }
  }
  return out;
}

bool resolve_use_raw(const AnnData& adata, const RankGenesGroupsOptions& opt) {
  bool use_raw = opt.use_raw.value_or(adata.raw.has_value());
  if (opt.use_raw.value_or(false) && !adata.raw)
    throw ValueError("rank_genes_groups: received use_raw=True, but adata.raw is empty");
  if (!opt.layer.empty() && use_raw)
    throw ValueError("rank_genes_groups: cannot specify layer and have use_raw=True");
  return use_raw;
}

}  // namespace

RankGenesGroupsResult rank_genes_groups_compute(const AnnData& adata, const RankGenesGroupsOptions& opt) {
  const bool use_raw = resolve_use_raw(adata, opt);
  if (opt.n_genes && *opt.n_genes < 1) throw ValueError("rank_genes_groups: n_genes must be positive");

  // The matrix and its gene names.
  const Element* x = nullptr;
  const DataFrame* var = &adata.var;
  if (!opt.layer.empty()) {
    auto it = adata.layers.find(opt.layer);
    if (it == adata.layers.end()) throw KeyError("rank_genes_groups: layer '" + opt.layer + "' not found");
    x = &it->second;
  } else if (use_raw) {
    if (!adata.raw->X) throw ValueError("rank_genes_groups: adata.raw has no X");
    x = &*adata.raw->X;
    var = &adata.raw->var;
  } else {
    if (!adata.X) throw ValueError("rank_genes_groups: adata has no X");
    x = &*adata.X;
  }
  if (!is_matrix(*x) || matrix_rows(*x) != adata.n_obs() || matrix_cols(*x) != var->n_rows())
    throw ValueError("rank_genes_groups: the matrix is not n_obs x n_vars");

  Element masked;
  RankGenesGroupsResult res;
  res.var_names = var->index();
  if (opt.mask_var) {
    if (!var->has(*opt.mask_var)) throw KeyError("rank_genes_groups: mask_var '" + *opt.mask_var + "' is not a var column");
    const auto keep = var->boolean(*opt.mask_var);
    Indices cols = indices_from_mask(keep);
    Indices rows(static_cast<size_t>(adata.n_obs()));
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
    masked = take_2d(*x, rows, cols);
    x = &masked;
    std::vector<std::string> names;
    for (int64_t c : cols) names.push_back(res.var_names[static_cast<size_t>(c)]);
    res.var_names = std::move(names);
  }
  const int64_t n_genes = static_cast<int64_t>(res.var_names.size());

  // Groups: all categories, or the user's list in the user's order with the
  // reference appended.
  const Categorical cat = groupby_categorical(adata, opt.groupby);
  const std::vector<std::string> cats = category_names(cat);
  if (opt.groups.empty()) {
    res.groups_order = cats;
  } else {
    res.groups_order = opt.groups;
    if (opt.reference != "rest" &&
        std::find(res.groups_order.begin(), res.groups_order.end(), opt.reference) == res.groups_order.end())
      res.groups_order.push_back(opt.reference);
  }
  if (opt.reference != "rest" && std::find(cats.begin(), cats.end(), opt.reference) == cats.end())
    throw ValueError("rank_genes_groups: reference '" + opt.reference + "' must be one of the categories of obs['" +
                     opt.groupby + "']");
  std::vector<int> cat_of_group;  // category index of each selected group
  std::set<std::string> seen;
  for (auto& g : res.groups_order) {
    auto it = std::find(cats.begin(), cats.end(), g);
    if (it == cats.end())
      throw ValueError("rank_genes_groups: group '" + g + "' is not a category of obs['" + opt.groupby + "']");
    if (!seen.insert(g).second) throw ValueError("rank_genes_groups: group '" + g + "' is listed twice");
    cat_of_group.push_back(static_cast<int>(it - cats.begin()));
  }
  const int n_groups = static_cast<int>(res.groups_order.size());
  std::vector<int32_t> group_of_cat(cats.size(), -1);
  for (int g = 0; g < n_groups; ++g) group_of_cat[static_cast<size_t>(cat_of_group[g])] = g;
  std::vector<int32_t> codes(cat.codes.size(), -1);
  std::vector<int64_t> sizes(static_cast<size_t>(n_groups), 0);
  for (size_t i = 0; i < codes.size(); ++i)
    if (cat.codes[i] >= 0 && (codes[i] = group_of_cat[static_cast<size_t>(cat.codes[i])]) >= 0) ++sizes[codes[i]];
  std::string small;
  for (int g = 0; g < n_groups; ++g)
    if (sizes[g] < 2) small += (small.empty() ? "" : ", ") + res.groups_order[g];
  if (!small.empty())
    throw ValueError("rank_genes_groups: could not calculate statistics for groups " + small +
                     " since they only contain one sample");
  const int ireference = opt.reference == "rest"
                             ? -1
                             : static_cast<int>(std::find(res.groups_order.begin(), res.groups_order.end(),
                                                          opt.reference) - res.groups_order.begin());
  const int64_t n_user = std::min(opt.n_genes.value_or(n_genes), n_genes);

  // One compared group's ranking from its scores (and p-values, and the
  // statistics behind its fold changes).
  const auto base = pp::log1p_base(adata);
  auto finish = [&](int g, const std::vector<double>& scores, const std::vector<double>* pvals,
                    const GroupStats* st) {
    RankedGroup rg;
    rg.name = res.groups_order[g];
    rg.genes = top_n_indices(scores, n_user, opt.rankby_abs);
    for (int64_t j : rg.genes) rg.scores.push_back(static_cast<float>(scores[j]));
    if (pvals) {
      const auto adj = opt.corr_method == CorrMethod::BenjaminiHochberg ? benjamini_hochberg(*pvals)
                                                                        : bonferroni(*pvals);
      for (int64_t j : rg.genes) {
        rg.pvals.push_back((*pvals)[j]);
        rg.pvals_adj.push_back(adj[j]);
      }
    }
    if (st) {
      for (int64_t j : rg.genes) {
        const double m1 = st->at(st->means, g, j);
        const double m2 = ireference < 0 ? st->at(st->means_rest, g, j) : st->at(st->means, ireference, j);
        rg.logfoldchanges.push_back(static_cast<float>(log_fold_change(m1, m2, base)));
      }
    }
    return rg;
  };

  if (opt.method == RankGenesMethod::Logreg) {
    if (n_groups == 1) throw ValueError("rank_genes_groups: cannot perform logistic regression on a single cluster");
    // sklearn's classes are the sorted category codes of the selected cells.
    std::vector<int> sorted_cats = cat_of_group;
    std::sort(sorted_cats.begin(), sorted_cats.end());
    Indices rows;
    std::vector<int32_t> labels;
    for (size_t i = 0; i < codes.size(); ++i)
      if (codes[i] >= 0) {
        rows.push_back(static_cast<int64_t>(i));
        labels.push_back(static_cast<int32_t>(
            std::lower_bound(sorted_cats.begin(), sorted_cats.end(), cat_of_group[codes[i]]) - sorted_cats.begin()));
      }
    Indices all_cols(static_cast<size_t>(n_genes));
    for (int64_t j = 0; j < n_genes; ++j) all_cols[j] = j;
    Element taken;
    if (rows.size() != codes.size()) taken = take_2d(*x, rows, all_cols);
    const LogregResult lr = logistic_regression(rows.size() != codes.size() ? taken : *x, labels, n_groups, opt.logreg);
    for (int g = 0; g < n_groups; ++g) {
      const int64_t row =
          n_groups <= 2 ? 0
                        : std::lower_bound(sorted_cats.begin(), sorted_cats.end(), cat_of_group[g]) - sorted_cats.begin();
      std::vector<double> scores(lr.coef.begin() + row * n_genes, lr.coef.begin() + (row + 1) * n_genes);
      res.groups.push_back(finish(g, scores, nullptr, nullptr));
      if (n_groups <= 2) break;
    }
    return res;
  }

  // The statistics behind fold changes and pts; wilcoxon gathers them in its own pass.
  GroupStats st;
  std::vector<double> z;
  if (opt.method == RankGenesMethod::Wilcoxon) z = wilcoxon_scores(*x, codes, n_groups, ireference, opt.tie_correct, &st);
  else st = group_statistics(*x, codes, n_groups);
  if (opt.pts) {
    res.pts.assign(static_cast<size_t>(n_groups), std::vector<double>(static_cast<size_t>(n_genes)));
    if (ireference < 0) res.pts_rest = res.pts;
    for (int g = 0; g < n_groups; ++g)
      for (int64_t j = 0; j < n_genes; ++j) {
        const size_t o = static_cast<size_t>(g * n_genes + j);
        res.pts[g][j] = static_cast<double>(st.nnz[o]) / static_cast<double>(st.sizes[g]);
        if (ireference < 0)
          res.pts_rest[g][j] = static_cast<double>(st.nnz_rest[o]) / static_cast<double>(st.n_cells - st.sizes[g]);
      }
  }

  // Each compared group's scores, p-values and ranking, groups in parallel.
  std::vector<int> compared;
  for (int g = 0; g < n_groups; ++g)
    if (g != ireference) compared.push_back(g);
  std::vector<RankedGroup> ranked(compared.size());
  const bool overestim = opt.method == RankGenesMethod::TTestOverestimVar;
  parallel_for(
      static_cast<int64_t>(compared.size()),
      [&](int64_t c) {
        const int g = compared[static_cast<size_t>(c)];
        std::vector<double> scores(static_cast<size_t>(n_genes)), pvals(static_cast<size_t>(n_genes));
        if (opt.method == RankGenesMethod::Wilcoxon) {
          for (int64_t j = 0; j < n_genes; ++j) {
            scores[j] = z[static_cast<size_t>(g * n_genes + j)];
            pvals[j] = normal_two_sided_p(scores[j]);
          }
        } else {
          const double n1 = static_cast<double>(st.sizes[g]);
          const double n_other =
              ireference < 0 ? static_cast<double>(st.n_cells) - n1 : static_cast<double>(st.sizes[ireference]);
          const double n2 = overestim ? n1 : n_other;
          for (int64_t j = 0; j < n_genes; ++j) {
            const double m2 = ireference < 0 ? st.at(st.means_rest, g, j) : st.at(st.means, ireference, j);
            const double v2 = ireference < 0 ? st.at(st.vars_rest, g, j) : st.at(st.vars, ireference, j);
            const TTestResult t = welch_t_test(st.at(st.means, g, j), st.at(st.vars, g, j), n1, m2, v2, n2);
            scores[j] = t.t;
            pvals[j] = t.p;
          }
        }
        ranked[static_cast<size_t>(c)] = finish(g, scores, &pvals, &st);
      },
      1);
  for (auto& rg : ranked) res.groups.push_back(std::move(rg));
  return res;
}

Dict rank_genes_groups_uns(const RankGenesGroupsResult& r, const RankGenesGroupsOptions& opt, bool use_raw) {
  Dict out;
  Dict params;
  params["groupby"] = opt.groupby;
  params["reference"] = opt.reference;
  params["method"] = to_string(opt.method);
  params["use_raw"] = Array::scalar(Bool8(use_raw));
  if (!opt.layer.empty()) params["layer"] = opt.layer;  // None is not stored by anndata 0.8
  params["corr_method"] = to_string(opt.corr_method);
  out["params"] = std::move(params);

  const int64_t n = r.groups.empty() ? 0 : static_cast<int64_t>(r.groups.front().genes.size());
  RecArray names, scores, lfc, pvals, pvals_adj;
  for (RecArray* ra : {&names, &scores, &lfc, &pvals, &pvals_adj}) ra->n_records = n;
  for (const auto& g : r.groups) {
    std::vector<std::string> nm;
    for (int64_t j : g.genes) nm.push_back(r.var_names[static_cast<size_t>(j)]);
    names.fields.push_back({g.name, std::move(nm)});
    scores.fields.push_back({g.name, Array::from_vector(g.scores)});
    if (!g.logfoldchanges.empty()) lfc.fields.push_back({g.name, Array::from_vector(g.logfoldchanges)});
    if (!g.pvals.empty()) {
      pvals.fields.push_back({g.name, Array::from_vector(g.pvals)});
      pvals_adj.fields.push_back({g.name, Array::from_vector(g.pvals_adj)});
    }
  }
  out["names"] = std::move(names);
  out["scores"] = std::move(scores);
  if (!lfc.fields.empty()) out["logfoldchanges"] = std::move(lfc);
  if (!pvals.fields.empty()) {
    out["pvals"] = std::move(pvals);
    out["pvals_adj"] = std::move(pvals_adj);
  }
  auto frame = [&](const std::vector<std::vector<double>>& cols) {
    DataFrame df(r.var_names);
    for (size_t g = 0; g < cols.size(); ++g) df.set(r.groups_order[g], Array::from_vector(cols[g]));
    return df;
  };
  if (!r.pts.empty()) out["pts"] = frame(r.pts);
  if (!r.pts_rest.empty()) out["pts_rest"] = frame(r.pts_rest);
  return out;
}

void rank_genes_groups(AnnData& adata, const RankGenesGroupsOptions& opt) {
  const bool use_raw = resolve_use_raw(adata, opt);
  RankGenesGroupsResult r = rank_genes_groups_compute(adata, opt);
  adata.uns[opt.key_added.empty() ? "rank_genes_groups" : opt.key_added] = rank_genes_groups_uns(r, opt, use_raw);
}

}  // namespace scanpp::tl
