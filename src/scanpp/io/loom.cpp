#include "scanpp/io/loom.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>

#include "scanpp/io/atomic_file.hpp"
#include "scanpp/io/hdf5.hpp"

namespace scanpp::io {

namespace {

constexpr int kGzipLevel = 2;       // loompy's compression_opts
constexpr int64_t kChunk = 64;      // loompy's matrix chunk edge
constexpr size_t kBlockBytes = size_t{32} << 20;  // dense scratch per block of the matrix

// ---------------------------------------------------------------- strings

void append_utf8(std::string& out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;  // as html.unescape
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// loompy unescapes every string attribute with html.unescape: older loompy
// stored non-ASCII text as XML character references (&#233;). Numeric
// references and the XML named entities are decoded; other text is kept.
std::string unescape_entities(const std::string& s) {
  if (s.find('&') == std::string::npos) return s;
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '&') {
      out += s[i++];
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '#') {
      size_t j = i + 2;
      const bool hex = j < s.size() && (s[j] == 'x' || s[j] == 'X');
      if (hex) ++j;
      const size_t start = j;
      uint64_t cp = 0;
      while (j < s.size() && (hex ? std::isxdigit(static_cast<unsigned char>(s[j])) : std::isdigit(static_cast<unsigned char>(s[j])))) {
        const char c = s[j];
        const unsigned d = std::isdigit(static_cast<unsigned char>(c)) ? static_cast<unsigned>(c - '0')
                                                                      : static_cast<unsigned>(std::tolower(c) - 'a' + 10);
        cp = std::min<uint64_t>(cp * (hex ? 16 : 10) + d, 0x110000);
        ++j;
      }
      if (j > start) {
        if (j < s.size() && s[j] == ';') ++j;
        append_utf8(out, static_cast<uint32_t>(cp));
        i = j;
        continue;
      }
      out += s[i++];
      continue;
    }
    static const std::pair<const char*, char> named[] = {
        {"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''},
        // html.unescape also accepts these without the semicolon.
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}};
    bool done = false;
    for (const auto& [name, ch] : named) {
      const size_t n = std::strlen(name);
      if (s.compare(i + 1, n, name) == 0) {
        out += ch;
        i += 1 + n;
        done = true;
        break;
      }
    }
    if (!done) out += s[i++];
  }
  return out;
}

std::string timestamp() {
  // loompy's format: 20240101T120000.123456Z (UTC).
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  char out[96];
  std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(us));
  return out;
}

// ---------------------------------------------------------------- reading

// A genes x cells block [r0, r0+nr) x [c0, c0+nc) of a 2-D dataset, in dtype `dt`.
Array read_block(hid_t dset, DType dt, int64_t r0, int64_t nr, int64_t c0, int64_t nc, const h5::Loc& where) {
  Array out(dt, {nr, nc});
  if (out.size() == 0) return out;
  h5::Handle fs(H5Dget_space(dset));
  hsize_t st[2] = {static_cast<hsize_t>(r0), static_cast<hsize_t>(c0)};
  hsize_t cn[2] = {static_cast<hsize_t>(nr), static_cast<hsize_t>(nc)};
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, nullptr, cn, nullptr);
  h5::Handle ms(H5Screate_simple(2, cn, nullptr));
  h5::Handle mt = h5::h5type_for(dt);
  if (H5Dread(dset, mt, ms, fs, H5P_DEFAULT, out.raw()) < 0)
    where.fail("cannot read data (truncated or corrupt file?)");
  return out;
}

// Rows-per-block from the dataset's chunking, so that each chunk is inflated once.
int64_t chunk_rows(hid_t dset, int64_t n_rows) {
  h5::Handle dcpl(H5Dget_create_plist(dset));
  int64_t r = kChunk;
  if (dcpl.valid() && H5Pget_layout(dcpl) == H5D_CHUNKED) {
    hsize_t dims[2] = {0, 0};
    if (H5Pget_chunk(dcpl, 2, dims) == 2 && dims[0] > 0) r = static_cast<int64_t>(dims[0]);
  }
  return std::clamp<int64_t>(r, 1, std::max<int64_t>(n_rows, 1));
}

// Cells x genes Element from a genes x cells loom matrix: CSR (zeros dropped,
// as loompy's sparse()) or dense. X is cast to float32; layers keep their dtype.
Element read_loom_matrix(hid_t f, const std::string& h5path, const h5::Loc& where, int64_t n_genes,
                         int64_t n_cells, bool sparse, bool to_float32) {
  h5::Handle d = h5::open_dataset(f, h5path, where);
  const auto shape = h5::dataset_shape(d);
  if (shape.size() != 2 || shape[0] != n_genes || shape[1] != n_cells)
    where.fail("has shape other than the main matrix's (" + std::to_string(n_genes) + " genes x " +
               std::to_string(n_cells) + " cells)");
  h5::Handle ftype(H5Dget_type(d));
  const auto dt = h5::dtype_from_h5(ftype);
  if (!dt) where.fail("is not a numeric matrix");

  if (!sparse) {
    Array a = h5::read_array(d, where);
    Array t(*dt, {n_cells, n_genes});
    const size_t es = dtype_size(*dt);
    const auto* src = static_cast<const std::byte*>(a.raw());
    auto* dst = static_cast<std::byte*>(t.raw());
    for (int64_t g = 0; g < n_genes; ++g)
      for (int64_t c = 0; c < n_cells; ++c)
        std::memcpy(dst + static_cast<size_t>(c * n_genes + g) * es, src + static_cast<size_t>(g * n_cells + c) * es, es);
    if (to_float32) t = t.astype(DType::Float32);
    return t;
  }

  if (n_cells > std::numeric_limits<int32_t>::max() || n_genes > std::numeric_limits<int32_t>::max())
    where.fail("has more than 2^31-1 rows or columns, which 32-bit sparse indices cannot hold");
  // Built as the CSC of cells x genes (the CSR of the stored genes x cells), row block by row block.
  const size_t es = dtype_size(*dt);
  SparseMatrix csc;
  csc.format = SparseFormat::CSC;
  csc.n_rows = n_cells;
  csc.n_cols = n_genes;
  csc.indptr.assign(1, 0);
  csc.indptr.reserve(static_cast<size_t>(n_genes) + 1);
  std::vector<std::byte> values;
  const int64_t rstep = chunk_rows(d, n_genes);
  const int64_t cstep = std::max<int64_t>(
      kChunk, static_cast<int64_t>(kBlockBytes / (static_cast<size_t>(rstep) * es)) / kChunk * kChunk);
  std::vector<std::vector<int32_t>> ridx(static_cast<size_t>(rstep));
  std::vector<std::vector<std::byte>> rval(static_cast<size_t>(rstep));
  for (int64_t r0 = 0; r0 < n_genes; r0 += rstep) {
    const int64_t nr = std::min(rstep, n_genes - r0);
    for (int64_t r = 0; r < nr; ++r) {
      ridx[r].clear();
      rval[r].clear();
    }
    for (int64_t c0 = 0; c0 < n_cells; c0 += cstep) {
      const int64_t nc = std::min(cstep, n_cells - c0);
      Array blk = read_block(d, *dt, r0, nr, c0, nc, where);
      dispatch_dtype(*dt, [&](auto tag) {
        using T = decltype(tag);
        const T* v = static_cast<const T*>(blk.raw());
        for (int64_t r = 0; r < nr; ++r)
          for (int64_t c = 0; c < nc; ++c) {
            const T x = v[r * nc + c];
            if (to_double(x) != 0.0) {  // NaN is kept, as numpy's vals != 0
              ridx[r].push_back(static_cast<int32_t>(c0 + c));
              const auto* p = reinterpret_cast<const std::byte*>(&x);
              rval[r].insert(rval[r].end(), p, p + sizeof(T));
            }
          }
      });
    }
    for (int64_t r = 0; r < nr; ++r) {
      csc.indices.insert(csc.indices.end(), ridx[r].begin(), ridx[r].end());
      values.insert(values.end(), rval[r].begin(), rval[r].end());
      csc.indptr.push_back(static_cast<int64_t>(csc.indices.size()));
    }
  }
  csc.data = Array(*dt, {static_cast<int64_t>(csc.indices.size())});
  if (!values.empty()) std::memcpy(csc.data.raw(), values.data(), values.size());
  values = {};
  SparseMatrix csr = convert_format(csc, SparseFormat::CSR);
  if (to_float32) csr.data = csr.data.astype(DType::Float32);
  return csr;
}

std::string number_text(const Array& a, int64_t i) { return column_cell_text(Column(a), i); }

// Row or column attributes: 1-D ones into a DataFrame (one named by
// `index_key` becomes the index), multi-column ones into `multi`.
DataFrame read_axis_attrs(hid_t f, const std::string& group, int64_t n, const std::string& index_key,
                          const std::string& file, const char* axis_what, Dict& multi) {
  std::vector<std::pair<std::string, Column>> cols;
  std::optional<std::vector<std::string>> index;
  if (h5::is_group(f, group)) {
    const h5::Loc gloc{file, "/" + group};
    h5::Handle g = h5::open_group(f, group, gloc);
    for (const std::string& name : h5::list_children(g)) {
      if (h5::is_group(g, name)) continue;
      const h5::Loc w = gloc.child(name);
      h5::Handle d = h5::open_dataset(g, name, w);
      auto shape = h5::dataset_shape(d);
      if (shape.empty() || shape[0] != n)
        w.fail("has " + (shape.empty() ? std::string("no") : std::to_string(shape[0])) +
               " entries along its first axis, expected " + std::to_string(n) + " (the number of " + axis_what + ")");
      if (shape.size() > 1 && shape[1] == 0) w.fail("has no columns");
      const bool is_multi = shape.size() > 1 && shape[1] > 1;
      if (h5::dataset_is_string(d)) {
        std::vector<int64_t> sh;
        auto v = h5::read_strings(d, w, &sh);
        for (auto& s : v) s = unescape_entities(s);
        if (is_multi) {
          multi[name] = StringArray{std::move(v), std::move(sh)};
        } else if (name == index_key) {
          index = std::move(v);
        } else {
          cols.emplace_back(name, std::move(v));
        }
      } else {
        Array a = h5::read_array(d, w);
        if (is_multi) {
          multi[name] = std::move(a);
          continue;
        }
        a.reshape({n});
        if (name == index_key) {
          std::vector<std::string> names(static_cast<size_t>(n));
          for (int64_t i = 0; i < n; ++i) names[static_cast<size_t>(i)] = number_text(a, i);
          index = std::move(names);
        } else {
          cols.emplace_back(name, std::move(a));
        }
      }
    }
  }
  DataFrame df;
  if (index) {
    df.set_index(std::move(*index));
    df.set_index_name(index_key);
  } else {
    std::vector<std::string> names(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) names[static_cast<size_t>(i)] = std::to_string(i);
    df.set_index(std::move(names));
  }
  for (auto& [name, c] : cols) df.set(name, std::move(c));
  return df;
}

// anndata's cleanup=True: columns with one distinct value move to a dict.
Dict move_constant_columns(DataFrame& df) {
  Dict out;
  if (df.n_rows() == 0) return out;
  for (const std::string& name : df.column_names()) {
    const Column& c = df.at(name);
    bool constant = true;
    Element first;
    if (const auto* s = std::get_if<std::vector<std::string>>(&c)) {
      constant = std::all_of(s->begin(), s->end(), [&](const std::string& x) { return x == (*s)[0]; });
      first = (*s)[0];
    } else if (const auto* a = std::get_if<Array>(&c)) {
      const size_t es = dtype_size(a->dtype());
      const auto* p = static_cast<const std::byte*>(a->raw());
      for (int64_t i = 1; i < a->size() && constant; ++i) constant = a->get_double(i) == a->get_double(0);
      constant = constant && !std::isnan(a->get_double(0));
      Array sc(a->dtype(), {});
      std::memcpy(sc.raw(), p, es);
      first = std::move(sc);
    } else {
      constant = false;
    }
    if (constant) {
      out[name] = std::move(first);
      df.remove(name);
    }
  }
  return out;
}

// ---------------------------------------------------------------- writing

// A DataFrame column as loompy stores what pandas' to_dict("list") gives it.
Element column_to_attr(const Column& c) {
  auto widen = [](const Array& a) -> Array {
    if (a.dtype() == DType::Bool) return a.astype(DType::UInt8);
    if (dtype_is_float(a.dtype())) return a.astype(DType::Float64);
    if (a.dtype() == DType::UInt64) {
      const auto v = a.as<uint64_t>();
      if (std::any_of(v.begin(), v.end(), [](uint64_t x) { return x > uint64_t(std::numeric_limits<int64_t>::max()); }))
        return a;
    }
    return a.astype(DType::Int64);
  };
  if (const auto* a = std::get_if<Array>(&c)) return widen(*a);
  if (const auto* s = std::get_if<std::vector<std::string>>(&c)) return StringArray{*s, {}};
  if (const auto* cat = std::get_if<Categorical>(&c)) {
    const bool missing = std::any_of(cat->codes.begin(), cat->codes.end(), [](int32_t k) { return k < 0; });
    if (cat->has_string_categories()) {
      std::vector<std::string> v(cat->codes.size());
      for (size_t i = 0; i < v.size(); ++i) v[i] = cat->codes[i] < 0 ? "nan" : cat->string_categories()[cat->codes[i]];
      return StringArray{std::move(v), {}};
    }
    const Array& cats = std::get<Array>(cat->categories);
    if (missing) {
      std::vector<double> v(cat->codes.size());
      for (size_t i = 0; i < v.size(); ++i)
        v[i] = cat->codes[i] < 0 ? std::numeric_limits<double>::quiet_NaN() : cats.get_double(cat->codes[i]);
      return Array::from_vector(v);
    }
    std::vector<int64_t> idx(cat->codes.begin(), cat->codes.end());
    return widen(cats.take_rows(idx));
  }
  const auto& nl = std::get<Nullable>(c);
  if (std::none_of(nl.mask.begin(), nl.mask.end(), [](uint8_t m) { return m != 0; })) return widen(nl.values);
  // pandas hands object arrays with <NA>; loompy stores them as str() of each value.
  std::vector<std::string> v(nl.mask.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (nl.mask[i]) v[i] = "<NA>";
    else if (nl.values.dtype() == DType::Bool) v[i] = nl.values.as<Bool8>()[i] ? "True" : "False";
    else v[i] = std::to_string(static_cast<long long>(nl.values.get_double(static_cast<int64_t>(i))));
  }
  return StringArray{std::move(v), {}};
}

// An obsm/varm entry as a multi-column loom attribute.
Element mapping_to_attr(const Element& e, const std::string& slot, const std::string& key) {
  if (const auto* a = std::get_if<Array>(&e.value)) return a->dtype() == DType::Bool ? a->astype(DType::UInt8) : *a;
  if (e.is<StringArray>()) return e;
  if (const auto* sp = std::get_if<SparseMatrix>(&e.value)) return mapping_to_attr(to_dense(*sp), slot, key);
  throw ValueError(slot + "['" + key + "'] cannot be stored as a loom attribute");
}

void write_attr(hid_t g, const std::string& name, const Element& e) {
  const h5::WriteOptions wo{.gzip_level = kGzipLevel};
  if (e.is<Array>()) h5::write_array(g, name, e.get<Array>(), wo);
  else h5::write_strings(g, name, e.get<StringArray>().values, e.get<StringArray>().shape, wo);
}

int64_t attr_rows(const Element& e) {
  if (const auto* s = std::get_if<StringArray>(&e.value)) return s->shape.empty() ? static_cast<int64_t>(s->values.size()) : s->shape[0];
  return e.first_dim();
}

void check_attr_name(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos)
    throw ValueError("loom attribute name '" + name + "' is empty or contains a slash");
}

// Writes a cells x genes matrix transposed, a block of cells at a time, so
// that only one block is ever dense.
void write_loom_matrix(hid_t f, const std::string& h5path, const Element& m, int64_t n_obs, int64_t n_vars,
                       const std::string& what) {
  if (!is_matrix(m) || matrix_rows(m) != n_obs || matrix_cols(m) != n_vars)
    throw ValueError(what + " is not a " + std::to_string(n_obs) + " x " + std::to_string(n_vars) + " matrix");
  const Array* dense = m.is<Array>() ? &m.get<Array>() : nullptr;
  SparseMatrix csr;
  if (!dense) csr = convert_format(m.get<SparseMatrix>(), SparseFormat::CSR);
  const Array& vals = dense ? *dense : csr.data;
  const DType dt = vals.dtype();
  if (dt == DType::Bool) throw ValueError(what + ": loom matrix elements must be integer or float, not bool");
  if (dtype_is_float(dt)) {
    for (int64_t i = 0; i < vals.size(); ++i)
      if (!std::isfinite(vals.get_double(i))) throw ValueError(what + ": INF and NaN not allowed in loom matrix");
  }
  hsize_t dims[2] = {static_cast<hsize_t>(n_vars), static_cast<hsize_t>(n_obs)};
  hsize_t maxd[2] = {static_cast<hsize_t>(n_vars), H5S_UNLIMITED};
  hsize_t chunk[2] = {static_cast<hsize_t>(std::min(kChunk, n_vars)), static_cast<hsize_t>(std::min(kChunk, n_obs))};
  h5::Handle space(H5Screate_simple(2, dims, maxd));
  h5::Handle dcpl = h5::dataset_create_plist();
  H5Pset_chunk(dcpl, 2, chunk);
  H5Pset_deflate(dcpl, kGzipLevel);
  h5::Handle type = h5::h5type_for(dt);
  h5::Handle d(H5Dcreate2(f, h5path.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  if (!d.valid()) throw Error("cannot create dataset '" + h5path + "'");

  const size_t es = dtype_size(dt);
  const int64_t step = std::max<int64_t>(
      kChunk, static_cast<int64_t>(kBlockBytes / (static_cast<size_t>(std::max<int64_t>(n_vars, 1)) * es)) / kChunk * kChunk);
  for (int64_t c0 = 0; c0 < n_obs; c0 += step) {
    const int64_t nc = std::min(step, n_obs - c0);
    Array buf(dt, {n_vars, nc});
    dispatch_dtype(dt, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, Bool8>) {
        T* out = static_cast<T*>(buf.raw());
        if (dense) {
          const T* in = static_cast<const T*>(dense->raw());
          for (int64_t c = 0; c < nc; ++c)
            for (int64_t g = 0; g < n_vars; ++g) out[g * nc + c] = in[(c0 + c) * n_vars + g];
        } else {
          const T* in = static_cast<const T*>(csr.data.raw());
          for (int64_t c = 0; c < nc; ++c)
            for (int64_t k = csr.indptr[c0 + c]; k < csr.indptr[c0 + c + 1]; ++k)
              out[csr.indices[k] * nc + c] += in[k];  // duplicates add up, as scipy's toarray()
        }
      }
    });
    hsize_t st[2] = {0, static_cast<hsize_t>(c0)}, cn[2] = {static_cast<hsize_t>(n_vars), static_cast<hsize_t>(nc)};
    h5::Handle fs(H5Dget_space(d));
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, nullptr, cn, nullptr);
    h5::Handle ms(H5Screate_simple(2, cn, nullptr));
    if (H5Dwrite(d, type, ms, fs, H5P_DEFAULT, buf.raw()) < 0) throw Error("cannot write dataset '" + h5path + "'");
  }
}

// Columns, the index and (optionally) the multi-column entries of one axis.
std::map<std::string, Element> axis_attrs(const DataFrame& df, const char* default_index, const Dict* mapping,
                                          const char* slot) {
  std::map<std::string, Element> attrs;
  for (const auto& [name, col] : df.columns()) attrs[name] = column_to_attr(col);
  attrs[df.index_name().empty() ? std::string(default_index) : df.index_name()] = StringArray{df.index(), {}};
  if (mapping)
    for (const auto& [key, e] : *mapping) attrs[key] = mapping_to_attr(e, slot, key);
  return attrs;
}

}  // namespace

AnnData read_loom(const std::string& path, const ReadLoomOptions& opt) {
  h5::Handle f = h5::open_file(path);
  const h5::Loc mloc{path, "/matrix"};
  if (!h5::exists(f, "matrix")) mloc.fail("missing: not a loom file");
  int64_t n_genes = 0, n_cells = 0;
  {
    h5::Handle d = h5::open_dataset(f, "matrix", mloc);
    const auto shape = h5::dataset_shape(d);
    if (shape.size() != 2) mloc.fail("is not a 2-D matrix");
    n_genes = shape[0];
    n_cells = shape[1];
  }
  std::vector<std::string> layer_names;
  if (h5::is_group(f, "layers")) {
    h5::Handle lg = h5::open_group(f, "layers", {path, "/layers"});
    for (const std::string& name : h5::list_children(lg))
      if (!h5::is_group(lg, name)) layer_names.push_back(name);
  }
  const bool x_from_layer =
      !opt.X_name.empty() && std::find(layer_names.begin(), layer_names.end(), opt.X_name) != layer_names.end();

  AnnData ad;
  if (x_from_layer) {
    ad.X = read_loom_matrix(f, "layers/" + opt.X_name, {path, "/layers/" + opt.X_name}, n_genes, n_cells, opt.sparse,
                            true);
    ad.layers["matrix"] = read_loom_matrix(f, "matrix", mloc, n_genes, n_cells, opt.sparse, false);
  } else {
    ad.X = read_loom_matrix(f, "matrix", mloc, n_genes, n_cells, opt.sparse, true);
  }
  for (const std::string& name : layer_names)
    ad.layers[name] = read_loom_matrix(f, "layers/" + name, {path, "/layers/" + name}, n_genes, n_cells, opt.sparse,
                                       false);

  ad.obs = read_axis_attrs(f, "col_attrs", n_cells, opt.obs_names, path, "cells", ad.obsm);
  ad.var = read_axis_attrs(f, "row_attrs", n_genes, opt.var_names, path, "genes", ad.varm);
  if (opt.cleanup) {
    Dict o = move_constant_columns(ad.obs), v = move_constant_columns(ad.var);
    if (!o.empty()) ad.uns["loom-obs"] = std::move(o);
    if (!v.empty()) ad.uns["loom-var"] = std::move(v);
  }
  return ad;
}

void write_loom(const AnnData& adata, const std::string& path, bool write_obsm_varm) {
  if (!adata.X) throw ValueError("loompy does not accept empty matrices as data");
  const int64_t n_obs = adata.n_obs(), n_vars = adata.n_vars();
  if (n_obs == 0 || n_vars == 0) throw ValueError("Main matrix cannot be empty");
  auto row_attrs = axis_attrs(adata.var, "var_names", write_obsm_varm ? &adata.varm : nullptr, "varm");
  auto col_attrs = axis_attrs(adata.obs, "obs_names", write_obsm_varm ? &adata.obsm : nullptr, "obsm");
  for (const auto& [name, e] : row_attrs) {
    check_attr_name(name);
    if (attr_rows(e) != n_vars) throw ValueError("row attribute '" + name + "' does not have one value per gene");
  }
  for (const auto& [name, e] : col_attrs) {
    check_attr_name(name);
    if (attr_rows(e) != n_obs) throw ValueError("column attribute '" + name + "' does not have one value per cell");
  }
  for (const auto& [name, e] : adata.layers) check_attr_name(name);

  AtomicFile out(path);
  {
    h5::Handle f = h5::create_file(out.temp_path());
    const std::string ts = timestamp();
    {
      h5::Handle g = h5::create_group(f, "attrs");
      h5::write_string_scalar(g, "CreationDate", ts);
      h5::write_string_scalar(g, "LOOM_SPEC_VERSION", "3.0.0");
    }
    for (const char* g : {"layers", "row_attrs", "col_attrs", "row_graphs", "col_graphs"}) h5::create_group(f, g);
    write_loom_matrix(f, "matrix", *adata.X, n_obs, n_vars, "X");
    for (const auto& [name, m] : adata.layers)
      write_loom_matrix(f, "layers/" + name, m, n_obs, n_vars, "layers['" + name + "']");
    {
      h5::Handle g = h5::open_group(f, "row_attrs", {out.temp_path(), "/row_attrs"});
      for (const auto& [name, e] : row_attrs) write_attr(g, name, e);
    }
    {
      h5::Handle g = h5::open_group(f, "col_attrs", {out.temp_path(), "/col_attrs"});
      for (const auto& [name, e] : col_attrs) write_attr(g, name, e);
    }
    h5::write_string_attr(f, "last_modified", ts);
    if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) throw Error("cannot flush '" + out.temp_path() + "'");
  }
  out.commit();
}

}  // namespace scanpp::io
