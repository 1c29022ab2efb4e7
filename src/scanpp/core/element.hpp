#pragma once
// The values AnnData's mappings hold (obsm, varm, obsp, varp, layers, uns):
// a recursive tree whose leaves are the h5ad element kinds.
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "scanpp/core/array.hpp"
#include "scanpp/core/dataframe.hpp"
#include "scanpp/core/sparse.hpp"

namespace scanpp {

// Python's None (anndata >= 0.12 'null'); never written, as anndata 0.8 cannot read it.
struct Null {
  bool operator==(const Null&) const = default;
};

// numpy structured array (h5ad rec-array), e.g. rank_genes_groups' names/scores.
struct RecArray {
  struct Field {
    std::string name;
    std::variant<Array, std::vector<std::string>> values;
    bool operator==(const Field&) const = default;
  };
  int64_t n_records = 0;
  std::vector<Field> fields;
  const Field& field(std::string_view name) const;
  bool operator==(const RecArray&) const = default;
};

// An element of a kind scanpp does not model (e.g. an awkward array): kept by
// reference to the file it came from and copied verbatim when written.
struct Opaque {
  std::string file, path, encoding;
  bool operator==(const Opaque&) const = default;
};

struct Element;
using Dict = std::map<std::string, Element, std::less<>>;

struct Element {
  using Variant = std::variant<Null, Array, StringArray, std::string, SparseMatrix, DataFrame, RecArray,
                               Categorical, Nullable, Dict, Opaque>;
  Variant value;

  Element() = default;
  template <class T, class = std::enable_if_t<std::is_constructible_v<Variant, T&&> &&
                                              !std::is_same_v<std::decay_t<T>, Element>>>
  Element(T&& v) : value(std::forward<T>(v)) {}  // NOLINT: implicit by design
  Element(const char* s) : value(std::string(s)) {}  // NOLINT

  template <class T> bool is() const { return std::holds_alternative<T>(value); }
  template <class T> T& get() { return std::get<T>(value); }
  template <class T> const T& get() const { return std::get<T>(value); }
  const char* kind() const;
  // Size of the first axis for matrix-like values (Array, sparse, DataFrame).
  int64_t first_dim() const;
  bool operator==(const Element&) const = default;
};

// A dense or sparse 2-D matrix, the types X, layers and obsp hold.
bool is_matrix(const Element& e);
int64_t matrix_rows(const Element& e);
int64_t matrix_cols(const Element& e);
// Rows of a matrix-like element (Array, SparseMatrix, DataFrame) selected.
Element take_rows(const Element& e, std::span<const int64_t> rows);
// Rows and columns of a 2-D matrix (Array or SparseMatrix) selected.
Element take_2d(const Element& e, std::span<const int64_t> rows, std::span<const int64_t> cols);

}  // namespace scanpp
