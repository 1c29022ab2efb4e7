// Pipeline steps that are not Scanpy functions: reading, writing, annotating,
// freezing raw, setting uns entries and subsetting by expressions.
#include "scanpp/io/read.hpp"
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/pipeline/step_options.hpp"

namespace scanpp::pipeline {

namespace {

Element yaml_scalar_to_element(const YAML::Node& n, Params& p) {
  if (!n.IsScalar()) p.fail("set_uns values must be scalars", &n);
  const std::string s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted: a string
  if (s == "true" || s == "True") return Array::scalar(Bool8(true));
  if (s == "false" || s == "False") return Array::scalar(Bool8(false));
  try {
    size_t used = 0;
    long long v = std::stoll(s, &used);
    if (used == s.size()) return Array::scalar<int64_t>(v);
  } catch (const std::exception&) {
  }
  try {
    size_t used = 0;
    double v = std::stod(s, &used);
    if (used == s.size()) return Array::scalar(v);
  } catch (const std::exception&) {
  }
  return s;
}

}  // namespace

void add_builtin_steps(StepTable& t) {
  t["read"] = [](Params& p) -> StepFn {
    io::ReadOptions ro;
    const auto path = p.required<std::string>("path");
    ro.format = io::parse_format(p.get<std::string>("format", "auto"));
    ro.var_names = p.get<std::string>("var_names", "gene_symbols");
    ro.genome = p.get<std::string>("genome", "");
    if (ro.var_names != "gene_symbols" && ro.var_names != "gene_ids")
      p.fail("var_names must be 'gene_symbols' or 'gene_ids'");
    return [=](AnnData& ad) { ad = io::read(path, ro); };
  };
  t["write"] = [](Params& p) -> StepFn {
    const auto path = p.required<std::string>("path");
    const int level = write_compression_level(p);
    return [=](AnnData& ad) { io::write(ad, path, {.compression = level}); };
  };
  t["annotate"] = [](Params& p) -> StepFn {
    auto var = p.opt<std::string>("var");
    auto obs = p.opt<std::string>("obs");
    const auto prefix = p.required<std::string>("startswith");
    if (var.has_value() == obs.has_value()) p.fail("give exactly one of 'var' or 'obs' (the new column's name)");
    return [=](AnnData& ad) {
      DataFrame& df = var ? ad.var : ad.obs;
      std::vector<Bool8> col(static_cast<size_t>(df.n_rows()));
      for (size_t i = 0; i < col.size(); ++i) col[i] = df.index()[i].rfind(prefix, 0) == 0;
      df.set(var ? *var : *obs, Array::from_vector(col));
    };
  };
  t["raw"] = [](Params&) -> StepFn { return [](AnnData& ad) { ad.freeze_raw(); }; };
  t["set_uns"] = [](Params& p) -> StepFn {
    std::vector<std::pair<std::string, Element>> values;
    for (const auto& k : p.keys()) values.emplace_back(k, yaml_scalar_to_element(*p.take(k), p));
    if (values.empty()) p.fail("give at least one entry, e.g. {iroot: 0}");
    return [=](AnnData& ad) {
      for (auto& [k, v] : values) ad.uns[k] = v;
    };
  };
  t["subset"] = [](Params& p) -> StepFn {
    auto obs = p.opt<std::string>("obs");
    auto var = p.opt<std::string>("var");
    if (!obs && !var) p.fail("give 'obs' and/or 'var': a boolean column or an expression like \"a < 5 and b > 1\"");
    return [=](AnnData& ad) {
      std::optional<Indices> oi, vi;
      if (obs) oi = indices_from_mask(eval_mask(ad.obs, *obs));
      if (var) vi = indices_from_mask(eval_mask(ad.var, *var));
      ad.subset_inplace(oi, vi);
    };
  };
}

int write_compression_level(Params& p) {
  const auto comp = p.get<std::string>("compression", "none");
  if (comp != "none" && comp != "gzip") p.fail("compression must be 'none' or 'gzip'");
  return comp == "gzip" ? 4 : -1;
}

}  // namespace scanpp::pipeline
