// Reading .h5ad elements by their encoding attributes, with the fallbacks
// anndata uses for files written before the 0.8 element model.
#include <cstring>
#include <iostream>
#include <limits>
#include <optional>

#include "scanpp/io/deflate_chunks.hpp"
#include "scanpp/io/h5ad.hpp"

namespace scanpp::io {

using h5::Handle;
using h5::Loc;

namespace {

std::string encoding_of(hid_t obj) { return h5::read_string_attr(obj, "encoding-type").value_or(""); }

bool read_bool_attr(hid_t obj, const std::string& name, const Loc& where) {
  if (!h5::has_attr(obj, name)) return false;
  Array a = h5::read_array_attr(obj, name, where);
  return a.size() > 0 && a.get_double(0) != 0.0;
}

std::vector<int32_t> to_int32_indices(const Array& a, const Loc& where) {
  std::vector<int32_t> out(static_cast<size_t>(a.size()));
  dispatch_dtype(a.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, Bool8>) {
      where.fail("indices must be integers");
    } else {
      auto v = a.as<T>();
      for (size_t i = 0; i < v.size(); ++i) {
        if constexpr (std::is_signed_v<T>) {
          if (v[i] < 0) where.fail("negative index " + std::to_string(v[i]) + " at position " + std::to_string(i));
        }
        if (static_cast<uint64_t>(v[i]) > static_cast<uint64_t>(std::numeric_limits<int32_t>::max()))
          where.fail("index " + std::to_string(v[i]) + " does not fit 32 bits");
        out[i] = static_cast<int32_t>(v[i]);
      }
    }
  });
  return out;
}

std::vector<int64_t> shape_attr(hid_t g, const Loc& where) {
  const char* name = h5::has_attr(g, "shape") ? "shape" : "h5sparse_shape";
  if (!h5::has_attr(g, name)) where.fail("sparse matrix has no 'shape' attribute");
  auto v = h5::read_array_attr(g, name, where).to_vector<int64_t>();
  if (v.size() != 2) where.fail("sparse matrix 'shape' must have 2 entries");
  return v;
}

SparseMatrix read_sparse(hid_t g, const std::string& enc, const Loc& where) {
  SparseMatrix m;
  std::string fmt = enc;
  if (fmt.empty()) fmt = h5::read_string_attr(g, "h5sparse_format").value_or("csr") + "_matrix";
  if (fmt != "csr_matrix" && fmt != "csc_matrix") where.fail("unknown sparse format '" + fmt + "'");
  m.format = fmt == "csr_matrix" ? SparseFormat::CSR : SparseFormat::CSC;
  auto shape = shape_attr(g, where);
  m.n_rows = shape[0];
  m.n_cols = shape[1];
  {
    Handle d = h5::open_dataset(g, "data", where.child("data"));
    m.data = h5::read_array(d, where.child("data"));
  }
  {
    Handle d = h5::open_dataset(g, "indices", where.child("indices"));
    Handle t(H5Dget_type(d));
    // 32-bit indices (what anndata writes) go straight into place; wider ones
    // are checked to fit first.
    if (H5Tget_class(t) == H5T_INTEGER && H5Tget_size(t) <= 4 && H5Tget_sign(t) == H5T_SGN_2)
      m.indices = h5::read_int32(d, where.child("indices"));
    else
      m.indices = to_int32_indices(h5::read_array(d, where.child("indices")), where.child("indices"));
  }
  {
    Handle d = h5::open_dataset(g, "indptr", where.child("indptr"));
    m.indptr = h5::read_int64(d, where.child("indptr"));
  }
  if (m.data.ndim() != 1) where.child("data").fail("must be 1-D");
  m.validate(where.file, where.path);
  return m;
}

std::variant<std::vector<std::string>, Array> read_categories(hid_t obj, const Loc& where) {
  if (h5::dataset_is_string(obj)) return h5::read_strings(obj, where);
  return h5::read_array(obj, where);
}

Categorical make_categorical(const Array& codes_arr, std::variant<std::vector<std::string>, Array> cats, bool ordered,
                             const Loc& where) {
  Categorical c;
  c.codes = codes_arr.to_vector<int32_t>();
  c.categories = std::move(cats);
  c.ordered = ordered;
  const int64_t n = c.n_categories();
  for (size_t i = 0; i < c.codes.size(); ++i)
    if (c.codes[i] < -1 || c.codes[i] >= n)
      where.fail("code " + std::to_string(c.codes[i]) + " at row " + std::to_string(i) + " is not a valid category (" +
                 std::to_string(n) + " categories)");
  return c;
}

Categorical read_categorical_group(hid_t g, const Loc& where) {
  Handle codes = h5::open_dataset(g, "codes", where.child("codes"));
  Handle cats(H5Oopen(g, "categories", H5P_DEFAULT));
  if (!cats.valid()) where.child("categories").fail("missing");
  return make_categorical(h5::read_array(codes, where.child("codes")), read_categories(cats, where.child("categories")),
                          read_bool_attr(g, "ordered", where), where);
}

Nullable read_nullable(hid_t g, const Loc& where) {
  Nullable n;
  Handle v = h5::open_dataset(g, "values", where.child("values"));
  n.values = h5::read_array(v, where.child("values"));
  if (h5::exists(g, "mask")) {
    Handle m = h5::open_dataset(g, "mask", where.child("mask"));
    auto mask = h5::read_array(m, where.child("mask")).astype(DType::UInt8);
    auto s = mask.as<uint8_t>();
    n.mask.assign(s.begin(), s.end());
  } else {
    n.mask.assign(static_cast<size_t>(n.values.size()), 0);  // anndata 0.8 treats the mask as optional
  }
  if (static_cast<int64_t>(n.mask.size()) != n.values.size()) where.fail("mask and values differ in length");
  return n;
}

// nullable-string-array: missing entries become a categorical's -1 codes, the
// only way anndata 0.8 can represent them; without missing values, plain strings.
Column read_nullable_strings(hid_t g, const Loc& where) {
  Handle v = h5::open_dataset(g, "values", where.child("values"));
  auto values = h5::read_strings(v, where.child("values"));
  std::vector<uint8_t> mask(values.size(), 0);
  if (h5::exists(g, "mask")) {
    Handle m = h5::open_dataset(g, "mask", where.child("mask"));
    auto a = h5::read_array(m, where.child("mask")).astype(DType::UInt8);
    if (a.size() != static_cast<int64_t>(values.size())) where.fail("mask and values differ in length");
    auto s = a.as<uint8_t>();
    mask.assign(s.begin(), s.end());
  }
  bool any_missing = false;
  for (auto b : mask) any_missing |= b != 0;
  if (!any_missing) return values;
  std::vector<std::string> present;
  for (size_t i = 0; i < values.size(); ++i)
    if (!mask[i]) present.push_back(values[i]);
  Categorical c = Categorical::from_strings(values, Categorical::from_strings(present).string_categories());
  for (size_t i = 0; i < values.size(); ++i)
    if (mask[i]) c.codes[i] = -1;
  return c;
}

// anndata 0.7: a categorical column is its codes dataset with an object
// reference attribute 'categories' pointing at __categories/<col>.
std::optional<Categorical> read_legacy_categorical(hid_t dset, const Loc& where) {
  if (!h5::has_attr(dset, "categories")) return std::nullopt;
  Handle a(H5Aopen(dset, "categories", H5P_DEFAULT));
  Handle t(H5Aget_type(a));
  if (H5Tget_class(t) != H5T_REFERENCE) return std::nullopt;
  hobj_ref_t ref;
  if (H5Aread(a, H5T_STD_REF_OBJ, &ref) < 0) where.fail("cannot read the categories reference");
  Handle cats(H5Rdereference2(dset, H5P_DEFAULT, H5R_OBJECT, &ref));
  if (!cats.valid()) where.fail("dangling categories reference");
  bool ordered = read_bool_attr(cats, "ordered", where);
  return make_categorical(h5::read_array(dset, where), read_categories(cats, where), ordered, where);
}

Column read_column(hid_t parent, const std::string& name, int64_t n_rows, const Loc& where) {
  if (!h5::exists(parent, name)) where.fail("listed in column-order but missing");
  Column col;
  if (h5::is_group(parent, name)) {
    Handle g = h5::open_group(parent, name, where);
    const std::string enc = encoding_of(g);
    if (enc == "categorical") col = read_categorical_group(g, where);
    else if (enc == "nullable-integer" || enc == "nullable-boolean") col = read_nullable(g, where);
    else if (enc == "nullable-string-array") col = read_nullable_strings(g, where);
    else where.fail("unsupported column encoding '" + enc + "'");
  } else {
    Handle d = h5::open_dataset(parent, name, where);
    if (auto cat = read_legacy_categorical(d, where)) col = std::move(*cat);
    else if (h5::dataset_is_string(d)) col = h5::read_strings(d, where);
    else {
      Array a = h5::read_array(d, where);
      if (a.ndim() != 1) where.fail("column is not 1-D");
      col = std::move(a);
    }
  }
  if (column_length(col) != n_rows)
    where.fail("has " + std::to_string(column_length(col)) + " values, the index has " + std::to_string(n_rows));
  return col;
}

std::vector<std::string> read_index(hid_t g, const std::string& name, const Loc& where) {
  if (!h5::exists(g, name)) where.fail("missing");
  if (h5::is_group(g, name)) {  // nullable-string-array index (anndata 0.13 + pandas 3)
    Handle ig = h5::open_group(g, name, where);
    Handle v = h5::open_dataset(ig, "values", where.child("values"));
    return h5::read_strings(v, where.child("values"));
  }
  Handle d = h5::open_dataset(g, name, where);
  if (h5::dataset_is_string(d)) return h5::read_strings(d, where);
  // A numeric index (written by other tools) becomes strings, as anndata does.
  Array a = h5::read_array(d, where);
  std::vector<std::string> out(static_cast<size_t>(a.size()));
  for (int64_t i = 0; i < a.size(); ++i) out[i] = column_cell_text(Column(a), i);
  return out;
}

// Pre-0.7 obs/var: a compound dataset whose 'index' field holds the labels.
DataFrame read_legacy_compound_frame(hid_t d, const Loc& where);

RecArray read_recarray(hid_t d, const Loc& where) {
  Handle ft(H5Dget_type(d));
  if (H5Tget_class(ft) != H5T_COMPOUND) where.fail("is not a compound dataset");
  RecArray r;
  auto shape = h5::dataset_shape(d);
  if (shape.size() != 1) where.fail("record array must be 1-D");
  r.n_records = shape[0];
  const int nm = H5Tget_nmembers(ft);
  // One packed memory record holding every field, so the dataset is read
  // (and decompressed) once rather than once per field.
  struct Member {
    std::string name;
    size_t offset = 0, size = 0;
    bool is_string = false, vlen = false;
    std::optional<DType> dtype;
  };
  std::vector<Member> members(static_cast<size_t>(std::max(nm, 0)));
  std::vector<Handle> mtypes;
  size_t rec = 0;
  for (int k = 0; k < nm; ++k) {
    Member& m = members[static_cast<size_t>(k)];
    char* cname = H5Tget_member_name(ft, static_cast<unsigned>(k));
    m.name = cname;
    H5free_memory(cname);
    Handle mt(H5Tget_member_type(ft, static_cast<unsigned>(k)));
    if (H5Tget_class(mt) == H5T_STRING) {
      m.is_string = true;
      m.vlen = H5Tis_variable_str(mt) > 0;
      Handle st(H5Tcopy(H5T_C_S1));
      H5Tset_cset(st, H5Tget_cset(mt));
      m.size = m.vlen ? sizeof(char*) : H5Tget_size(mt);
      if (m.vlen) H5Tset_size(st, H5T_VARIABLE);
      else {
        H5Tset_size(st, m.size);
        H5Tset_strpad(st, H5T_STR_NULLPAD);
      }
      mtypes.push_back(std::move(st));
    } else {
      m.dtype = h5::dtype_from_h5(mt);
      if (!m.dtype) where.fail("field '" + m.name + "' has an unsupported type");
      m.size = dtype_size(*m.dtype);
      mtypes.push_back(h5::h5type_for(*m.dtype));
    }
    m.offset = rec;
    rec += m.size;
  }
  Handle comp(H5Tcreate(H5T_COMPOUND, std::max<size_t>(rec, 1)));
  for (size_t k = 0; k < members.size(); ++k) H5Tinsert(comp, members[k].name.c_str(), members[k].offset, mtypes[k]);
  std::vector<char> buf(static_cast<size_t>(r.n_records) * rec + 1, 0);
  if (r.n_records && rec && !h5::read_deflate_chunks(d, comp, buf.data(), where) &&
      H5Dread(d, comp, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0)
    where.fail("cannot read the record array (truncated or corrupt file?)");
  for (auto& m : members) {
    RecArray::Field f;
    f.name = m.name;
    if (m.is_string) {
      std::vector<std::string> vals(static_cast<size_t>(r.n_records));
      for (int64_t i = 0; i < r.n_records; ++i) {
        const char* at = buf.data() + i * rec + m.offset;
        if (m.vlen) {
          char* p;
          std::memcpy(&p, at, sizeof p);
          if (p) vals[i] = p;
          free(p);  // vlen strings are allocated by HDF5's default malloc
        } else {
          vals[i] = std::string(at, strnlen(at, m.size));
        }
      }
      f.values = std::move(vals);
    } else {
      Array a(*m.dtype, {r.n_records});
      auto* dst = static_cast<char*>(a.raw());
      for (int64_t i = 0; i < r.n_records; ++i) std::memcpy(dst + i * m.size, buf.data() + i * rec + m.offset, m.size);
      f.values = std::move(a);
    }
    r.fields.push_back(std::move(f));
  }
  return r;
}

DataFrame read_legacy_compound_frame(hid_t d, const Loc& where) {
  RecArray r = read_recarray(d, where);
  DataFrame df;
  bool have_index = false;
  for (auto& f : r.fields) {
    if (!have_index && (f.name == "index" || f.name == "_index")) {
      if (auto* s = std::get_if<std::vector<std::string>>(&f.values)) df.index() = *s;
      else {
        const Array& a = std::get<Array>(f.values);
        for (int64_t i = 0; i < a.size(); ++i) df.index().push_back(column_cell_text(Column(a), i));
      }
      have_index = true;
    }
  }
  if (!have_index) where.fail("legacy dataframe has no 'index' field");
  for (auto& f : r.fields) {
    if (f.name == "index" || f.name == "_index") continue;
    if (auto* s = std::get_if<std::vector<std::string>>(&f.values)) df.set(f.name, *s);
    else df.set(f.name, std::get<Array>(f.values));
  }
  return df;
}

}  // namespace

DataFrame read_dataframe(hid_t parent, const std::string& name, const Loc& where) {
  if (!h5::exists(parent, name)) where.fail("missing");
  if (!h5::is_group(parent, name)) {
    Handle d = h5::open_dataset(parent, name, where);
    return read_legacy_compound_frame(d, where);
  }
  Handle g = h5::open_group(parent, name, where);
  const std::string enc = encoding_of(g);
  if (!enc.empty() && enc != "dataframe") where.fail("expected a dataframe, found encoding '" + enc + "'");
  auto idx_name = h5::read_string_attr(g, "_index");
  if (!idx_name) where.fail("dataframe has no '_index' attribute");
  DataFrame df(read_index(g, *idx_name, where.child(*idx_name)));
  if (*idx_name != "_index") df.set_index_name(*idx_name);
  std::vector<std::string> order;
  if (h5::has_attr(g, "column-order")) order = h5::read_string_array_attr(g, "column-order", where);
  for (auto& c : order) df.set(c, read_column(g, c, df.n_rows(), where.child(c)));
  return df;
}

Element read_element(hid_t parent, const std::string& name, const Loc& where) {
  if (!h5::exists(parent, name)) where.fail("missing");
  if (h5::is_group(parent, name)) {
    Handle g = h5::open_group(parent, name, where);
    const std::string enc = encoding_of(g);
    if (enc == "dict" || (enc.empty() && !h5::has_attr(g, "h5sparse_format"))) {
      Dict d;
      for (auto& child : h5::list_children(g)) d.emplace(child, read_element(g, child, where.child(child)));
      return d;
    }
    if (enc == "csr_matrix" || enc == "csc_matrix" || enc.empty()) return read_sparse(g, enc, where);
    if (enc == "dataframe") return read_dataframe(parent, name, where);
    if (enc == "categorical") return read_categorical_group(g, where);
    if (enc == "nullable-integer" || enc == "nullable-boolean") return read_nullable(g, where);
    if (enc == "nullable-string-array") {
      Column c = read_nullable_strings(g, where);
      if (auto* s = std::get_if<std::vector<std::string>>(&c)) return StringArray{*s, {}};
      return std::get<Categorical>(c);
    }
    std::cerr << "scanpp: warning: " << where.file << ": " << where.path << ": unknown encoding '" << enc
              << "', kept as is\n";
    return Opaque{where.file, where.path, enc};
  }
  Handle d = h5::open_dataset(parent, name, where);
  const std::string enc = encoding_of(d);
  if (enc == "null") return Null{};
  if (enc == "string" || enc == "string-array" || (enc.empty() && h5::dataset_is_string(d))) {
    std::vector<int64_t> shape;
    auto v = h5::read_strings(d, where, &shape);
    if (shape.empty()) return v.empty() ? std::string() : v[0];
    StringArray s{std::move(v), {}};
    if (shape.size() > 1) s.shape = shape;
    return s;
  }
  if (enc == "rec-array" || h5::dataset_is_compound(d)) return read_recarray(d, where);
  if (enc == "array" || enc == "numeric-scalar" || enc.empty()) {
    if (auto cat = read_legacy_categorical(d, where)) return std::move(*cat);
    return h5::read_array(d, where);
  }
  std::cerr << "scanpp: warning: " << where.file << ": " << where.path << ": unknown encoding '" << enc
            << "', kept as is\n";
  return Opaque{where.file, where.path, enc};
}

namespace {

Dict read_mapping(hid_t file, const std::string& name, const std::string& path) {
  Dict d;
  if (!h5::exists(file, name)) return d;
  Element e = read_element(file, name, Loc{path, "/" + name});
  if (!e.is<Dict>()) Loc{path, "/" + name}.fail("expected a dict");
  return std::move(e.get<Dict>());
}

// Pre-0.7 files: categorical codes with labels in uns['<col>_categories'].
void fold_legacy_categories(DataFrame& df, Dict& uns) {
  for (auto& name : df.column_names()) {
    auto it = uns.find(name + "_categories");
    if (it == uns.end()) continue;
    auto* a = std::get_if<Array>(&df.at(name));
    if (!a || !dtype_is_integer(a->dtype())) continue;
    Categorical c;
    c.codes = a->to_vector<int32_t>();
    if (auto* s = std::get_if<StringArray>(&it->second.value)) c.categories = s->values;
    else if (auto* arr = std::get_if<Array>(&it->second.value)) c.categories = *arr;
    else continue;
    df.set(name, c);
    uns.erase(it);
  }
}

}  // namespace

AnnData read_h5ad(const std::string& path, const ReadH5adOptions& opt) {
  Handle f = h5::open_file(path);
  const Loc root{path, "/"};
  AnnData ad;
  if (!h5::exists(f, "obs")) root.fail("has no 'obs' element: not an .h5ad file");
  if (!h5::exists(f, "var")) root.fail("has no 'var' element: not an .h5ad file");
  ad.obs = read_dataframe(f, "obs", Loc{path, "/obs"});
  ad.var = read_dataframe(f, "var", Loc{path, "/var"});
  ad.uns = read_mapping(f, "uns", path);
  ad.obsm = read_mapping(f, "obsm", path);
  ad.varm = read_mapping(f, "varm", path);
  ad.obsp = read_mapping(f, "obsp", path);
  ad.varp = read_mapping(f, "varp", path);
  ad.layers = read_mapping(f, "layers", path);
  fold_legacy_categories(ad.obs, ad.uns);
  fold_legacy_categories(ad.var, ad.uns);
  if (opt.read_X && h5::exists(f, "X")) {
    Element x = read_element(f, "X", Loc{path, "/X"});
    if (!is_matrix(x)) Loc{path, "/X"}.fail("is not a 2-D matrix");
    ad.X = std::move(x);
  }
  // raw: a 'raw' group, or the pre-0.7 top-level raw.X / raw.var / raw.varm.
  const bool raw_group = h5::exists(f, "raw") && h5::is_group(f, "raw");
  const std::string pre = raw_group ? "raw/" : "raw.";
  if (raw_group || h5::exists(f, "raw.var")) {
    Raw r;
    r.var = read_dataframe(f, pre + "var", Loc{path, "/" + pre + "var"});
    if (h5::exists(f, pre + "varm")) {
      Element vm = read_element(f, pre + "varm", Loc{path, "/" + pre + "varm"});
      if (vm.is<Dict>()) r.varm = std::move(vm.get<Dict>());
    }
    if (opt.read_X && h5::exists(f, pre + "X")) r.X = read_element(f, pre + "X", Loc{path, "/" + pre + "X"});
    ad.raw = std::move(r);
  }
  // anndata 0.7/0.8 moved pre-0.7 graph matrices from uns['neighbors'] to obsp.
  if (auto it = ad.uns.find("neighbors"); it != ad.uns.end() && it->second.is<Dict>()) {
    auto& nb = it->second.get<Dict>();
    for (const char* k : {"distances", "connectivities"}) {
      auto m = nb.find(k);
      if (m != nb.end() && m->second.is<SparseMatrix>() && !ad.obsp.count(k)) {
        ad.obsp[k] = std::move(m->second);
        nb.erase(m);
      }
    }
  }
  try {
    ad.validate();
  } catch (const ValueError& e) {
    root.fail(e.what());
  }
  return ad;
}

}  // namespace scanpp::io
