#pragma once
// pandas-like DataFrame for obs and var: a string index and ordered, typed
// columns (numeric/bool arrays, strings, categoricals, nullable int/bool).
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "scanpp/core/array.hpp"

namespace scanpp {

struct Categorical {
  std::vector<int32_t> codes;  // -1 = missing
  // String labels (the usual case) or numeric labels.
  std::variant<std::vector<std::string>, Array> categories = std::vector<std::string>{};
  bool ordered = false;

  int64_t n_categories() const;
  bool has_string_categories() const { return categories.index() == 0; }
  const std::vector<std::string>& string_categories() const;
  // Label of row i as text ("" for missing).
  std::string label(int64_t i) const;
  // Builds a categorical from labels; categories in natural sort order (as anndata
  // does when converting strings) unless `categories` is given.
  static Categorical from_strings(const std::vector<std::string>& labels,
                                  std::optional<std::vector<std::string>> categories = std::nullopt);
  // Drops categories no code refers to; returns the kept old category positions.
  std::vector<int64_t> remove_unused();
  bool operator==(const Categorical&) const = default;
};

// pandas' nullable Int*/boolean arrays.
struct Nullable {
  Array values;               // 1-D integer or Bool
  std::vector<uint8_t> mask;  // 1 = missing
  bool operator==(const Nullable&) const = default;
};

using Column = std::variant<Array, std::vector<std::string>, Categorical, Nullable>;

int64_t column_length(const Column& c);
Column column_take(const Column& c, std::span<const int64_t> rows);
// Numeric values of a column as double (NaN for missing); throws for strings.
std::vector<double> column_as_double(const Column& c, const std::string& name);
// Text of one cell (for printing and expressions).
std::string column_cell_text(const Column& c, int64_t i);
const char* column_kind(const Column& c);

class DataFrame {
 public:
  DataFrame() = default;
  explicit DataFrame(std::vector<std::string> index) : index_(std::move(index)) {}

  int64_t n_rows() const { return static_cast<int64_t>(index_.size()); }
  const std::vector<std::string>& index() const { return index_; }
  std::vector<std::string>& index() { return index_; }
  void set_index(std::vector<std::string> idx);
  // The pandas index name; empty when unnamed.
  const std::string& index_name() const { return index_name_; }
  void set_index_name(std::string n) { index_name_ = std::move(n); }

  bool has(std::string_view name) const;
  const Column& at(std::string_view name) const;
  Column& at(std::string_view name);
  // Adds or replaces a column, keeping its position when replacing.
  void set(const std::string& name, Column col);
  void remove(std::string_view name);
  const std::vector<std::pair<std::string, Column>>& columns() const { return cols_; }
  std::vector<std::string> column_names() const;

  template <class T>
  void set_array(const std::string& name, const std::vector<T>& v) {
    set(name, Array::from_vector(v));
  }
  std::vector<double> numeric(std::string_view name) const { return column_as_double(at(name), std::string(name)); }
  std::vector<bool> boolean(std::string_view name) const;

  DataFrame take(std::span<const int64_t> rows) const;
  // Position of each label; throws KeyError naming the first missing one.
  std::vector<int64_t> positions(const std::vector<std::string>& labels, const char* axis) const;

  bool operator==(const DataFrame&) const = default;

 private:
  std::vector<std::string> index_;
  std::string index_name_;
  std::vector<std::pair<std::string, Column>> cols_;
};

// Natural ("human") ordering as natsort's default: digit runs compare as numbers.
bool natural_less(const std::string& a, const std::string& b);

// anndata's make_index_unique: later duplicates get join + counter, skipping taken names.
std::vector<std::string> make_index_unique(const std::vector<std::string>& names, const std::string& join = "-");

}  // namespace scanpp
