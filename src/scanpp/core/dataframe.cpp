#include "scanpp/core/dataframe.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>

namespace scanpp {

int64_t Categorical::n_categories() const {
  if (has_string_categories()) return static_cast<int64_t>(std::get<0>(categories).size());
  return std::get<1>(categories).size();
}

const std::vector<std::string>& Categorical::string_categories() const {
  if (!has_string_categories()) throw ValueError("categorical has numeric categories, not strings");
  return std::get<0>(categories);
}

namespace {
std::string number_text(double v) {
  if (std::isnan(v)) return "nan";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}
}  // namespace

std::string Categorical::label(int64_t i) const {
  const int32_t c = codes[static_cast<size_t>(i)];
  if (c < 0) return "";
  if (has_string_categories()) return std::get<0>(categories)[static_cast<size_t>(c)];
  return number_text(std::get<1>(categories).get_double(c));
}

Categorical Categorical::from_strings(const std::vector<std::string>& labels,
                                      std::optional<std::vector<std::string>> categories) {
  Categorical c;
  std::vector<std::string> cats;
  if (categories) {
    cats = *categories;
  } else {
    std::set<std::string> uniq(labels.begin(), labels.end());
    cats.assign(uniq.begin(), uniq.end());
    std::stable_sort(cats.begin(), cats.end(), natural_less);
  }
  std::unordered_map<std::string, int32_t> pos;
  for (size_t k = 0; k < cats.size(); ++k) pos.emplace(cats[k], static_cast<int32_t>(k));
  c.codes.resize(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    auto it = pos.find(labels[i]);
    c.codes[i] = it == pos.end() ? -1 : it->second;
  }
  c.categories = std::move(cats);
  return c;
}

std::vector<int64_t> Categorical::remove_unused() {
  const int64_t n = n_categories();
  std::vector<char> used(static_cast<size_t>(n), 0);
  for (int32_t c : codes)
    if (c >= 0) used[c] = 1;
  std::vector<int64_t> kept;
  std::vector<int32_t> remap(static_cast<size_t>(n), -1);
  for (int64_t k = 0; k < n; ++k)
    if (used[k]) {
      remap[k] = static_cast<int32_t>(kept.size());
      kept.push_back(k);
    }
  if (static_cast<int64_t>(kept.size()) == n) return kept;
  for (auto& c : codes)
    if (c >= 0) c = remap[c];
  if (has_string_categories()) {
    auto& s = std::get<0>(categories);
    std::vector<std::string> ns;
    for (auto k : kept) ns.push_back(s[k]);
    s = std::move(ns);
  } else {
    categories = std::get<1>(categories).take_rows(kept);
  }
  return kept;
}

int64_t column_length(const Column& c) {
  return std::visit(
      [](const auto& v) -> int64_t {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, Array>) return v.rows();
        else if constexpr (std::is_same_v<V, std::vector<std::string>>) return static_cast<int64_t>(v.size());
        else if constexpr (std::is_same_v<V, Categorical>) return static_cast<int64_t>(v.codes.size());
        else return v.values.rows();
      },
      c);
}

Column column_take(const Column& c, std::span<const int64_t> rows) {
  return std::visit(
      [&](const auto& v) -> Column {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, Array>) {
          return v.take_rows(rows);
        } else if constexpr (std::is_same_v<V, std::vector<std::string>>) {
          std::vector<std::string> out;
          out.reserve(rows.size());
          for (auto r : rows) out.push_back(v[static_cast<size_t>(r)]);
          return out;
        } else if constexpr (std::is_same_v<V, Categorical>) {
          Categorical out;
          out.categories = v.categories;
          out.ordered = v.ordered;
          out.codes.reserve(rows.size());
          for (auto r : rows) out.codes.push_back(v.codes[static_cast<size_t>(r)]);
          return out;
        } else {
          Nullable out;
          out.values = v.values.take_rows(rows);
          for (auto r : rows) out.mask.push_back(v.mask[static_cast<size_t>(r)]);
          return out;
        }
      },
      c);
}

std::vector<double> column_as_double(const Column& c, const std::string& name) {
  const int64_t n = column_length(c);
  std::vector<double> out(static_cast<size_t>(n));
  if (auto* a = std::get_if<Array>(&c)) {
    for (int64_t i = 0; i < n; ++i) out[i] = a->get_double(i);
  } else if (auto* nl = std::get_if<Nullable>(&c)) {
    for (int64_t i = 0; i < n; ++i)
      out[i] = nl->mask[i] ? std::numeric_limits<double>::quiet_NaN() : nl->values.get_double(i);
  } else if (auto* cat = std::get_if<Categorical>(&c); cat && !cat->has_string_categories()) {
    const Array& cats = std::get<1>(cat->categories);
    for (int64_t i = 0; i < n; ++i)
      out[i] = cat->codes[i] < 0 ? std::numeric_limits<double>::quiet_NaN() : cats.get_double(cat->codes[i]);
  } else {
    throw ValueError("column '" + name + "' is not numeric (" + column_kind(c) + ")");
  }
  return out;
}

std::string column_cell_text(const Column& c, int64_t i) {
  if (auto* a = std::get_if<Array>(&c)) {
    if (a->dtype() == DType::Bool) return a->get_double(i) != 0 ? "True" : "False";
    return number_text(a->get_double(i));
  }
  if (auto* s = std::get_if<std::vector<std::string>>(&c)) return (*s)[static_cast<size_t>(i)];
  if (auto* cat = std::get_if<Categorical>(&c)) return cat->codes[i] < 0 ? "nan" : cat->label(i);
  const auto& nl = std::get<Nullable>(c);
  if (nl.mask[i]) return "<NA>";
  if (nl.values.dtype() == DType::Bool) return nl.values.get_double(i) != 0 ? "True" : "False";
  return number_text(nl.values.get_double(i));
}

const char* column_kind(const Column& c) {
  switch (c.index()) {
    case 0: return dtype_name(std::get<Array>(c).dtype());
    case 1: return "str";
    case 2: return "category";
    default: return std::get<Nullable>(c).values.dtype() == DType::Bool ? "boolean" : "Int";
  }
}

void DataFrame::set_index(std::vector<std::string> idx) {
  if (!cols_.empty() && idx.size() != index_.size())
    throw ValueError("new index has " + std::to_string(idx.size()) + " labels, frame has " +
                     std::to_string(index_.size()) + " rows");
  index_ = std::move(idx);
}

bool DataFrame::has(std::string_view name) const {
  return std::any_of(cols_.begin(), cols_.end(), [&](auto& p) { return p.first == name; });
}

const Column& DataFrame::at(std::string_view name) const {
  for (auto& p : cols_)
    if (p.first == name) return p.second;
  throw KeyError("no column '" + std::string(name) + "'");
}
Column& DataFrame::at(std::string_view name) {
  for (auto& p : cols_)
    if (p.first == name) return p.second;
  throw KeyError("no column '" + std::string(name) + "'");
}

void DataFrame::set(const std::string& name, Column col) {
  if (column_length(col) != n_rows())
    throw ValueError("column '" + name + "' has " + std::to_string(column_length(col)) + " values, frame has " +
                     std::to_string(n_rows()) + " rows");
  for (auto& p : cols_)
    if (p.first == name) {
      p.second = std::move(col);
      return;
    }
  cols_.emplace_back(name, std::move(col));
}

void DataFrame::remove(std::string_view name) {
  std::erase_if(cols_, [&](auto& p) { return p.first == name; });
}

std::vector<std::string> DataFrame::column_names() const {
  std::vector<std::string> out;
  for (auto& p : cols_) out.push_back(p.first);
  return out;
}

std::vector<bool> DataFrame::boolean(std::string_view name) const {
  const Column& c = at(name);
  std::vector<bool> out(static_cast<size_t>(n_rows()));
  if (auto* a = std::get_if<Array>(&c); a && a->dtype() == DType::Bool) {
    auto v = a->as<Bool8>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = v[i];
    return out;
  }
  if (auto* nl = std::get_if<Nullable>(&c); nl && nl->values.dtype() == DType::Bool) {
    auto v = nl->values.as<Bool8>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = !nl->mask[i] && v[i];
    return out;
  }
  throw ValueError("column '" + std::string(name) + "' is not boolean (" + column_kind(c) + ")");
}

DataFrame DataFrame::take(std::span<const int64_t> rows) const {
  DataFrame out;
  out.index_.reserve(rows.size());
  for (auto r : rows) out.index_.push_back(index_[static_cast<size_t>(r)]);
  out.index_name_ = index_name_;
  for (auto& [n, c] : cols_) out.cols_.emplace_back(n, column_take(c, rows));
  return out;
}

std::vector<int64_t> DataFrame::positions(const std::vector<std::string>& labels, const char* axis) const {
  std::unordered_map<std::string_view, int64_t> pos;
  pos.reserve(index_.size());
  for (size_t i = 0; i < index_.size(); ++i) pos.emplace(index_[i], static_cast<int64_t>(i));
  std::vector<int64_t> out;
  out.reserve(labels.size());
  for (auto& l : labels) {
    auto it = pos.find(l);
    if (it == pos.end()) throw KeyError(std::string("'") + l + "' is not in " + axis + "_names");
    out.push_back(it->second);
  }
  return out;
}

bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = std::isdigit(static_cast<unsigned char>(a[i])), db = std::isdigit(static_cast<unsigned char>(b[j]));
    if (da && db) {
      size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      // Compare numerically: strip leading zeros, then by length, then lexically.
      size_t is = i, js = j;
      while (is + 1 < ie && a[is] == '0') ++is;
      while (js + 1 < je && b[js] == '0') ++js;
      if (ie - is != je - js) return ie - is < je - js;
      int c = a.compare(is, ie - is, b, js, je - js);
      if (c != 0) return c < 0;
      i = ie;
      j = je;
    } else if (da != db) {
      return da;  // numbers sort before text, as natsort does
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  if ((a.size() - i) != (b.size() - j)) return a.size() - i < b.size() - j;
  return a < b;
}

std::vector<std::string> make_index_unique(const std::vector<std::string>& names, const std::string& join) {
  // One table, keyed by views (of `names`, then of the new names in `out`,
  // which stay in place): it is the occurrence count, anndata's Counter of
  // suffixes tried, and the set of names taken. A Cell Ranger gene list
  // (33k names) took 10-30 ms with three tables of string copies.
  struct Entry {
    int32_t occurrences = 0;
    bool first_seen = false;
    int64_t tried = 0;  // suffixes tried for this name
  };
  std::unordered_map<std::string_view, Entry> table;
  table.reserve(names.size() + names.size() / 8);
  bool any = false;
  for (const std::string& n : names) any |= ++table[n].occurrences > 1;
  if (!any) return names;
  std::vector<std::string> out = names;
  std::string candidate;
  for (std::string& name : out) {
    Entry& e = table.find(name)->second;
    if (e.occurrences < 2) continue;
    if (!e.first_seen) {
      e.first_seen = true;  // the first occurrence keeps its name
      continue;
    }
    do {
      candidate = name;
      candidate += join;
      candidate += std::to_string(++e.tried);
    } while (table.contains(candidate));
    name = candidate;
    // A new name is never an original one (those are all in the table), so
    // its entry only marks it taken.
    table.emplace(name, Entry{1, true, 0});
  }
  return out;
}

}  // namespace scanpp
