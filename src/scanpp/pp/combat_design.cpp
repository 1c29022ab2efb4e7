// The covariate columns of ComBat's design matrix from obs columns, in the
// order and with the names Scanpy's _design_matrix (patsy) gives them; see
// combat.hpp for the one place where the coding differs from Scanpy's.
#include <cmath>
#include <set>
#include <sstream>
#include <variant>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/combat.hpp"

namespace scanpp::pp {

namespace {

// A non-numeric covariate as categories: codes per cell and level labels.
struct Levels {
  std::vector<int32_t> codes;
  std::vector<std::string> labels;
};

std::string quoted_list(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", '" : "'") + v[i] + "'";
  return s + "]";
}

std::string number_label(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// pandas' select_dtypes("number"): integer and float columns (bool is not a number).
bool is_numeric(const Column& c) {
  if (const auto* a = std::get_if<Array>(&c)) return a->dtype() != DType::Bool;
  if (const auto* n = std::get_if<Nullable>(&c)) return n->values.dtype() != DType::Bool;
  return false;
}

Levels levels_of(const Column& c, const std::string& name) {
  Levels l;
  if (const auto* cat = std::get_if<Categorical>(&c)) {
    // patsy uses every category of a pandas Categorical, in category order.
    l.codes = cat->codes;
    if (cat->has_string_categories()) {
      l.labels = cat->string_categories();
    } else {
      const Array& a = std::get<Array>(cat->categories);
      for (int64_t i = 0; i < a.size(); ++i) l.labels.push_back(number_label(a.get_double(i)));
    }
  } else if (const auto* str = std::get_if<std::vector<std::string>>(&c)) {
    // anndata's sanitize_anndata turns strings into categories first.
    const Categorical sc = Categorical::from_strings(*str);
    l.codes = sc.codes;
    l.labels = sc.string_categories();
  } else {
    // bool: patsy's levels are [False, True].
    std::vector<uint8_t> missing;
    Array values;
    if (const auto* n = std::get_if<Nullable>(&c)) {
      values = n->values;
      missing = n->mask;
    } else {
      values = std::get<Array>(c);
    }
    l.labels = {"False", "True"};
    l.codes.resize(static_cast<size_t>(values.size()));
    for (int64_t i = 0; i < values.size(); ++i)
      l.codes[static_cast<size_t>(i)] =
          !missing.empty() && missing[static_cast<size_t>(i)] ? -1 : (values.get_double(i) != 0 ? 1 : 0);
  }
  for (int32_t code : l.codes)
    if (code < 0)
      throw ValueError("combat: covariate '" + name +
                       "' has missing values (patsy would drop those cells and Scanpy then fails); fill or "
                       "remove them first");
  return l;
}

}  // namespace

std::vector<CombatCovariate> combat_covariates(const DataFrame& obs, const std::string& key,
                                               const std::vector<std::string>& covariates) {
  std::vector<std::string> missing;
  for (const auto& c : covariates)
    if (!obs.has(c)) missing.push_back(c);
  if (!missing.empty())
    throw ValueError("combat: could not find the covariate(s) " + quoted_list(missing) + " in adata.obs");
  for (const auto& c : covariates)
    if (c == key) throw ValueError("combat: batch key and covariates cannot overlap ('" + key + "')");
  if (std::set<std::string>(covariates.begin(), covariates.end()).size() != covariates.size())
    throw ValueError("combat: covariates must be unique");

  std::vector<CombatCovariate> out;
  // Scanpy: the patsy dummies of the non-numeric covariates first, then the numeric ones.
  for (const auto& name : covariates) {
    const Column& col = obs.at(name);
    if (is_numeric(col)) continue;
    const Levels l = levels_of(col, name);
    // Treatment coding: one column per level after the first (the reference).
    for (size_t k = 1; k < l.labels.size(); ++k) {
      CombatCovariate cov{"Q('" + name + "')[T." + l.labels[k] + "]", std::vector<double>(l.codes.size(), 0.0)};
      for (size_t i = 0; i < l.codes.size(); ++i) cov.values[i] = l.codes[i] == static_cast<int32_t>(k) ? 1.0 : 0.0;
      out.push_back(std::move(cov));
    }
  }
  for (const auto& name : covariates) {
    const Column& col = obs.at(name);
    if (!is_numeric(col)) continue;
    CombatCovariate cov{name, column_as_double(col, name)};
    for (double v : cov.values)
      if (!std::isfinite(v))
        throw ValueError("combat: covariate '" + name + "' has missing or infinite values");
    out.push_back(std::move(cov));
  }
  return out;
}

}  // namespace scanpp::pp
