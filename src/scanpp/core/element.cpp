#include "scanpp/core/element.hpp"

#include <numeric>

#include "scanpp/core/error.hpp"

namespace scanpp {

const RecArray::Field& RecArray::field(std::string_view name) const {
  for (auto& f : fields)
    if (f.name == name) return f;
  throw KeyError("record array has no field '" + std::string(name) + "'");
}

const char* Element::kind() const {
  switch (value.index()) {
    case 0: return "None";
    case 1: return get<Array>().is_scalar() ? "scalar" : "array";
    case 2: return "string-array";
    case 3: return "string";
    case 4: return get<SparseMatrix>().format == SparseFormat::CSR ? "csr_matrix" : "csc_matrix";
    case 5: return "dataframe";
    case 6: return "rec-array";
    case 7: return "categorical";
    case 8: return "nullable";
    case 9: return "dict";
    default: return "opaque";
  }
}

int64_t Element::first_dim() const {
  if (auto* a = std::get_if<Array>(&value)) return a->rows();
  if (auto* s = std::get_if<SparseMatrix>(&value)) return s->n_rows;
  if (auto* d = std::get_if<DataFrame>(&value)) return d->n_rows();
  if (auto* s = std::get_if<StringArray>(&value)) return static_cast<int64_t>(s->values.size());
  return -1;
}

bool is_matrix(const Element& e) {
  if (auto* a = std::get_if<Array>(&e.value)) return a->ndim() == 2;
  return e.is<SparseMatrix>();
}
int64_t matrix_rows(const Element& e) { return e.first_dim(); }
int64_t matrix_cols(const Element& e) {
  if (auto* a = std::get_if<Array>(&e.value)) return a->ndim() >= 2 ? a->shape()[1] : 1;
  if (auto* s = std::get_if<SparseMatrix>(&e.value)) return s->n_cols;
  if (auto* d = std::get_if<DataFrame>(&e.value)) return static_cast<int64_t>(d->columns().size());
  return -1;
}

Element take_rows(const Element& e, std::span<const int64_t> rows) {
  if (auto* a = std::get_if<Array>(&e.value)) return a->take_rows(rows);
  if (auto* s = std::get_if<SparseMatrix>(&e.value)) {
    std::vector<int64_t> cols(static_cast<size_t>(s->n_cols));
    std::iota(cols.begin(), cols.end(), 0);
    return take(*s, rows, cols);
  }
  if (auto* d = std::get_if<DataFrame>(&e.value)) return d->take(rows);
  throw ValueError(std::string("cannot subset an element of kind ") + e.kind() + " by rows");
}

Element take_2d(const Element& e, std::span<const int64_t> rows, std::span<const int64_t> cols) {
  if (auto* a = std::get_if<Array>(&e.value)) {
    if (a->ndim() != 2) throw ValueError("take_2d needs a 2-D array");
    return a->take_rows(rows).take_cols(cols);
  }
  if (auto* s = std::get_if<SparseMatrix>(&e.value)) return take(*s, rows, cols);
  throw ValueError(std::string("cannot subset an element of kind ") + e.kind() + " on both axes");
}

}  // namespace scanpp
