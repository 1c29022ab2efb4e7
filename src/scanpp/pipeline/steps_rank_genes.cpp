// Pipeline steps: tl.rank_genes_groups, tl.filter_rank_genes_groups, get.rank_genes_groups_df.
#include "scanpp/get/rank_genes_groups_df.hpp"
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/tl/filter_rank_genes_groups.hpp"
#include "scanpp/tl/rank_genes_groups.hpp"

namespace scanpp::pipeline {

namespace {

// 'all' (or absent) gives the empty list; otherwise a name or a list of names.
std::vector<std::string> group_list(Params& p, const std::string& key) {
  auto n = p.take(key);
  if (!n || n->IsNull()) return {};
  if (n->IsScalar()) {
    auto s = n->as<std::string>();
    if (s == "all") return {};
    return {s};
  }
  if (!n->IsSequence()) p.fail("parameter '" + key + "' must be 'all', a name or a list of names", &*n);
  return n->as<std::vector<std::string>>();
}

}  // namespace

void add_rank_genes_steps(StepTable& t) {
  t["tl.rank_genes_groups"] = [](Params& p) -> StepFn {
    tl::RankGenesGroupsOptions o;
    o.groupby = p.required<std::string>("groupby");
    o.use_raw = p.opt<bool>("use_raw");
    o.groups = group_list(p, "groups");
    o.reference = p.get<std::string>("reference", o.reference);
    o.n_genes = p.opt<int64_t>("n_genes");
    o.rankby_abs = p.get<bool>("rankby_abs", o.rankby_abs);
    o.pts = p.get<bool>("pts", o.pts);
    o.key_added = p.get<std::string>("key_added", "");
    try {
      o.method = tl::parse_rank_genes_method(p.get<std::string>("method", "t-test"));
      o.corr_method = tl::parse_corr_method(p.get<std::string>("corr_method", "benjamini-hochberg"));
    } catch (const ValueError& e) {
      p.fail(e.what());
    }
    o.tie_correct = p.get<bool>("tie_correct", o.tie_correct);
    o.layer = p.get<std::string>("layer", "");
    o.mask_var = p.opt<std::string>("mask_var");
    // sklearn LogisticRegression keywords (method: logreg).
    o.logreg.C = p.get<double>("C", o.logreg.C);
    o.logreg.max_iter = p.get<int>("max_iter", o.logreg.max_iter);
    o.logreg.tol = p.get<double>("tol", o.logreg.tol);
    o.logreg.fit_intercept = p.get<bool>("fit_intercept", o.logreg.fit_intercept);
    if (auto pen = p.opt<std::string>("penalty"); pen && *pen != "l2")
      p.fail("only penalty 'l2' (sklearn's default) is implemented for logreg");
    if (auto sol = p.opt<std::string>("solver"); sol && *sol != "lbfgs")
      p.fail("only solver 'lbfgs' (sklearn's default) is implemented for logreg");
    return [o](AnnData& ad) { tl::rank_genes_groups(ad, o); };
  };
  t["tl.filter_rank_genes_groups"] = [](Params& p) -> StepFn {
    tl::FilterRankGenesGroupsOptions o;
    o.key = p.get<std::string>("key", "");
    o.groupby = p.opt<std::string>("groupby");
    o.use_raw = p.opt<bool>("use_raw");
    o.key_added = p.get<std::string>("key_added", o.key_added);
    o.min_in_group_fraction = p.get<double>("min_in_group_fraction", o.min_in_group_fraction);
    o.min_fold_change = p.get<double>("min_fold_change", o.min_fold_change);
    o.max_out_group_fraction = p.get<double>("max_out_group_fraction", o.max_out_group_fraction);
    o.compare_abs = p.get<bool>("compare_abs", o.compare_abs);
    return [o](AnnData& ad) { tl::filter_rank_genes_groups(ad, o); };
  };
  t["get.rank_genes_groups_df"] = [](Params& p) -> StepFn {
    get::RankGenesGroupsDfOptions o;
    o.groups = group_list(p, "group");
    o.key = p.get<std::string>("key", o.key);
    o.pval_cutoff = p.opt<double>("pval_cutoff");
    o.log2fc_min = p.opt<double>("log2fc_min");
    o.log2fc_max = p.opt<double>("log2fc_max");
    o.gene_symbols = p.opt<std::string>("gene_symbols");
    const auto save = p.required<std::string>("save");
    return [o, save](AnnData& ad) { get::write_csv(get::rank_genes_groups_df(ad, o), save); };
  };
}

}  // namespace scanpp::pipeline
