// Writing .h5ad in the anndata 0.8 element model (h5ad_format.md §9), which
// both Debian's anndata 0.8 and current anndata read.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_set>

#include "scanpp/io/atomic_file.hpp"
#include "scanpp/io/deflate_chunks.hpp"
#include "scanpp/io/h5ad.hpp"

namespace scanpp::io {

using h5::Handle;

namespace {

void set_encoding(hid_t obj, const char* type, const char* version) {
  h5::write_string_attr(obj, "encoding-type", type);
  h5::write_string_attr(obj, "encoding-version", version);
}

// Integers are shuffled before deflate (see h5::WriteOptions::shuffle).
bool shuffles(DType t) { return dtype_is_integer(t) && dtype_size(t) > 1; }

h5::WriteOptions array_opts(const WriteH5adOptions& opt, DType t = DType::Float32) {
  return {opt.compression, false, shuffles(t)};
}

// During write_h5ad, compressed numeric datasets go through this pipeline:
// their chunks are deflated on helper threads while this thread goes on
// through HDF5 (whose vlen strings, groups and attributes are serial work),
// and are stored later (h5::DeflatePipeline). Elsewhere (write_element on its
// own), each dataset is written at once.
thread_local h5::DeflatePipeline* t_pipeline = nullptr;

// A numeric dataset with anndata's encoding attributes (none if `type` is
// null). `data` must outlive the write_h5ad call unless `keep` owns it.
void write_numeric(hid_t parent, const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                   const void* data, const h5::WriteOptions& wo, const char* type = nullptr,
                   std::shared_ptr<const void> keep = {}) {
  int64_t n = 1;
  for (auto x : shape) n *= x;
  if (t_pipeline && wo.gzip_level >= 0 && !shape.empty() && n > 0) {
    Handle d = h5::create_dataset(parent, name, dtype, shape, wo);
    if (type) set_encoding(d, type, "0.2.0");
    t_pipeline->add(std::move(d), data, dtype_size(dtype), wo.gzip_level, std::move(keep));
    return;
  }
  h5::write_raw(parent, name, dtype, shape, data, wo);
  if (type) {
    Handle d(H5Dopen2(parent, name.c_str(), H5P_DEFAULT));
    set_encoding(d, type, "0.2.0");
  }
}

void check_key(const std::string& key) {
  if (key.empty() || key.find('/') != std::string::npos)
    throw ValueError("cannot write key '" + key + "': keys must be non-empty and contain no '/'");
}

void write_array_elem(hid_t parent, const std::string& name, const Array& a, const WriteH5adOptions& opt,
                      std::shared_ptr<const void> keep = {}) {
  write_numeric(parent, name, a.dtype(), a.shape(), a.raw(),
                a.is_scalar() ? h5::WriteOptions{} : array_opts(opt, a.dtype()),
                a.is_scalar() ? "numeric-scalar" : "array", std::move(keep));
}

// The same for an array made for the write, which the pipeline then owns.
void write_temp_array_elem(hid_t parent, const std::string& name, Array&& a, const WriteH5adOptions& opt) {
  auto owned = std::make_shared<const Array>(std::move(a));
  write_array_elem(parent, name, *owned, opt, owned);
}

void write_strings_elem(hid_t parent, const std::string& name, const std::vector<std::string>& v,
                        const std::vector<int64_t>& shape, const WriteH5adOptions& opt) {
  h5::write_strings(parent, name, v, shape, array_opts(opt));
  Handle d(H5Dopen2(parent, name.c_str(), H5P_DEFAULT));
  set_encoding(d, "string-array", "0.2.0");
}

// pandas picks the smallest signed integer type that holds the category count.
Array codes_array(const std::vector<int32_t>& codes, int64_t n_categories) {
  Array a = Array::from_vector(codes);
  if (n_categories < 128) return a.astype(DType::Int8);
  if (n_categories < 32768) return a.astype(DType::Int16);
  return a;
}

void write_categorical(hid_t parent, const std::string& name, const Categorical& c, const WriteH5adOptions& opt) {
  Handle g = h5::create_group(parent, name);
  set_encoding(g, "categorical", "0.2.0");
  Array ordered = Array::scalar(Bool8(c.ordered));
  h5::write_array_attr(g, "ordered", ordered);
  write_temp_array_elem(g, "codes", codes_array(c.codes, c.n_categories()), opt);
  if (c.has_string_categories()) write_strings_elem(g, "categories", c.string_categories(), {}, opt);
  // A copy: `c` may be a temporary (a string column turned categorical).
  else write_temp_array_elem(g, "categories", Array(std::get<Array>(c.categories)), opt);
}

void write_nullable(hid_t parent, const std::string& name, const Nullable& n, const WriteH5adOptions& opt) {
  Handle g = h5::create_group(parent, name);
  const bool is_bool = n.values.dtype() == DType::Bool;
  set_encoding(g, is_bool ? "nullable-boolean" : "nullable-integer", "0.1.0");
  // Masked positions are written as 0 / False, as current anndata does.
  Array values = n.values;
  for (size_t i = 0; i < n.mask.size(); ++i)
    if (n.mask[i]) std::memset(static_cast<std::byte*>(values.raw()) + i * dtype_size(values.dtype()), 0, dtype_size(values.dtype()));
  write_temp_array_elem(g, "values", std::move(values), opt);
  std::vector<Bool8> mask(n.mask.begin(), n.mask.end());
  write_temp_array_elem(g, "mask", Array::from_vector(mask), opt);
}

void write_sparse(hid_t parent, const std::string& name, const SparseMatrix& m, const WriteH5adOptions& opt) {
  Handle g = h5::create_group(parent, name);
  set_encoding(g, m.format == SparseFormat::CSR ? "csr_matrix" : "csc_matrix", "0.1.0");
  h5::write_array_attr(g, "shape", Array::from_vector(std::vector<int64_t>{m.n_rows, m.n_cols}));
  // anndata creates the components resizable, hence chunked.
  const h5::WriteOptions comp{opt.compression, true, shuffles(m.data.dtype())};
  const h5::WriteOptions icomp{opt.compression, true, true};
  write_numeric(g, "data", m.data.dtype(), {m.nnz()}, m.data.raw(), comp);
  write_numeric(g, "indices", DType::Int32, {m.nnz()}, m.indices.data(), icomp);
  if (m.nnz() < std::numeric_limits<int32_t>::max()) {
    auto ip = std::make_shared<const std::vector<int32_t>>(m.indptr.begin(), m.indptr.end());
    write_numeric(g, "indptr", DType::Int32, {static_cast<int64_t>(ip->size())}, ip->data(), icomp, nullptr, ip);
  } else {
    write_numeric(g, "indptr", DType::Int64, {static_cast<int64_t>(m.indptr.size())}, m.indptr.data(), icomp);
  }
}

void write_recarray(hid_t parent, const std::string& name, const RecArray& r, const WriteH5adOptions& opt) {
  // Build a packed record buffer: numeric members at their size, strings as vlen pointers.
  std::vector<size_t> offsets;
  size_t size = 0;
  std::vector<Handle> types;
  for (auto& f : r.fields) {
    offsets.push_back(size);
    if (std::holds_alternative<Array>(f.values)) {
      types.push_back(h5::h5type_for(std::get<Array>(f.values).dtype()));
      size += dtype_size(std::get<Array>(f.values).dtype());
    } else {
      types.push_back(h5::vlen_utf8_type());
      size += sizeof(char*);
    }
  }
  Handle comp(H5Tcreate(H5T_COMPOUND, std::max<size_t>(size, 1)));
  for (size_t k = 0; k < r.fields.size(); ++k) H5Tinsert(comp, r.fields[k].name.c_str(), offsets[k], types[k]);
  auto owned = std::make_shared<std::vector<char>>(static_cast<size_t>(r.n_records) * size + 1, 0);
  std::vector<char>& buf = *owned;
  for (size_t k = 0; k < r.fields.size(); ++k) {
    auto& f = r.fields[k];
    if (auto* a = std::get_if<Array>(&f.values)) {
      if (a->size() != r.n_records) throw ValueError("record field '" + f.name + "' has the wrong length");
      const size_t es = dtype_size(a->dtype());
      for (int64_t i = 0; i < r.n_records; ++i)
        std::memcpy(buf.data() + i * size + offsets[k], static_cast<const char*>(a->raw()) + i * es, es);
    } else {
      auto& s = std::get<std::vector<std::string>>(f.values);
      if (static_cast<int64_t>(s.size()) != r.n_records) throw ValueError("record field '" + f.name + "' has the wrong length");
      for (int64_t i = 0; i < r.n_records; ++i) {
        const char* p = s[i].c_str();
        std::memcpy(buf.data() + i * size + offsets[k], &p, sizeof p);
      }
    }
  }
  hsize_t n = static_cast<hsize_t>(r.n_records);
  Handle space(H5Screate_simple(1, &n, nullptr));
  Handle dcpl = h5::dataset_create_plist();
  if (opt.compression >= 0 && n > 0) {
    hsize_t chunk = std::min<hsize_t>(n, std::max<hsize_t>(1, (1u << 20) / std::max<size_t>(size, 1)));
    H5Pset_chunk(dcpl, 1, &chunk);
    H5Pset_deflate(dcpl, static_cast<unsigned>(opt.compression));
  }
  Handle d(H5Dcreate2(parent, name.c_str(), comp, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  if (!d.valid()) throw Error("cannot create record array '" + name + "'");
  bool has_strings = false;
  for (auto& f : r.fields) has_strings |= !std::holds_alternative<Array>(f.values);
  // Numeric records are plain bytes: deflated on scanpp's threads. Strings
  // need HDF5 to place them in its heap, so they take the filter pipeline.
  set_encoding(d, "rec-array", "0.2.0");
  if (n && opt.compression >= 0 && !has_strings) {
    if (t_pipeline) t_pipeline->add(std::move(d), buf.data(), size, opt.compression, owned);
    else h5::write_deflate_chunks(d, buf.data(), size, opt.compression);
  } else if (n && H5Dwrite(d, comp, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0) {
    throw Error("cannot write record array '" + name + "'");
  }
}

bool has_duplicates(const std::vector<std::string>& v) {
  std::unordered_set<std::string_view> seen;
  seen.reserve(v.size());
  for (auto& s : v)
    if (!seen.insert(s).second) return true;
  return false;
}

void write_dict(hid_t parent, const std::string& name, const Dict& d, const WriteH5adOptions& opt) {
  Handle g = h5::create_group(parent, name);
  set_encoding(g, "dict", "0.1.0");
  for (auto& [k, v] : d) write_element(g, k, v, opt);
}

void copy_opaque(hid_t parent, const std::string& name, const Opaque& o) {
  namespace fs = std::filesystem;
  if (!fs::exists(o.file)) {
    std::cerr << "scanpp: warning: cannot keep '" << o.path << "' (" << o.encoding << "): " << o.file
              << " is gone\n";
    return;
  }
  Handle src = h5::open_file(o.file);
  if (H5Ocopy(src, o.path.c_str(), parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT) < 0)
    throw Error("cannot copy '" + o.path + "' from " + o.file);
}

}  // namespace

void write_dataframe(hid_t parent, const std::string& name, const DataFrame& df, const WriteH5adOptions& opt) {
  Handle g = h5::create_group(parent, name);
  set_encoding(g, "dataframe", "0.2.0");
  const std::string idx = df.index_name().empty() ? "_index" : df.index_name();
  h5::write_string_attr(g, "_index", idx);
  std::vector<std::string> order;
  for (auto& [col, c] : df.columns()) {
    check_key(col);
    if (col == "_index" || col == idx) throw ValueError("cannot write a column named '" + col + "' (it is the index's name)");
    order.push_back(col);
  }
  h5::write_string_array_attr(g, "column-order", order);
  write_strings_elem(g, idx, df.index(), {}, opt);
  for (auto& [col, c] : df.columns()) {
    if (auto* a = std::get_if<Array>(&c)) write_array_elem(g, col, *a, opt);
    else if (auto* s = std::get_if<std::vector<std::string>>(&c)) {
      if (opt.convert_strings_to_categoricals && has_duplicates(*s))
        write_categorical(g, col, Categorical::from_strings(*s), opt);
      else
        write_strings_elem(g, col, *s, {}, opt);
    } else if (auto* cat = std::get_if<Categorical>(&c)) write_categorical(g, col, *cat, opt);
    else write_nullable(g, col, std::get<Nullable>(c), opt);
  }
}

void write_element(hid_t parent, const std::string& name, const Element& e, const WriteH5adOptions& opt) {
  check_key(name);
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, Null>) {
          // anndata < 0.12 drops None values; writing 'null' would make 0.8 fail.
        } else if constexpr (std::is_same_v<V, Array>) {
          write_array_elem(parent, name, v, opt);
        } else if constexpr (std::is_same_v<V, StringArray>) {
          write_strings_elem(parent, name, v.values, v.shape, opt);
        } else if constexpr (std::is_same_v<V, std::string>) {
          h5::write_string_scalar(parent, name, v);
          Handle d(H5Dopen2(parent, name.c_str(), H5P_DEFAULT));
          set_encoding(d, "string", "0.2.0");
        } else if constexpr (std::is_same_v<V, SparseMatrix>) {
          write_sparse(parent, name, v, opt);
        } else if constexpr (std::is_same_v<V, DataFrame>) {
          write_dataframe(parent, name, v, opt);
        } else if constexpr (std::is_same_v<V, RecArray>) {
          write_recarray(parent, name, v, opt);
        } else if constexpr (std::is_same_v<V, Categorical>) {
          write_categorical(parent, name, v, opt);
        } else if constexpr (std::is_same_v<V, Nullable>) {
          write_nullable(parent, name, v, opt);
        } else if constexpr (std::is_same_v<V, Dict>) {
          write_dict(parent, name, v, opt);
        } else {
          copy_opaque(parent, name, v);
        }
      },
      e.value);
}

void write_h5ad(const AnnData& adata, const std::string& path, const WriteH5adOptions& opt) {
  if (opt.compression > 9) throw ValueError("gzip level must be 0-9, got " + std::to_string(opt.compression));
  adata.validate();
  AtomicFile out(path);
  {
    Handle f = h5::create_file(out.temp_path());
    // Declared after the file: on an error its helpers stop, and its
    // datasets close, before the file does.
    std::optional<h5::DeflatePipeline> pipeline;
    if (opt.compression >= 0) pipeline.emplace();
    struct Active {
      explicit Active(h5::DeflatePipeline* p) { t_pipeline = p; }
      ~Active() { t_pipeline = nullptr; }
      Active(const Active&) = delete;
      Active& operator=(const Active&) = delete;
    } active(pipeline ? &*pipeline : nullptr);
    set_encoding(f, "anndata", "0.1.0");
    // The big numeric elements first, so that the helpers deflate them while
    // this thread writes the strings (obs, var, uns) through HDF5. Readers
    // see no order: HDF5 lists a group's members by name.
    if (adata.X) write_element(f, "X", *adata.X, opt);
    Handle raw;
    if (adata.raw) {
      raw = h5::create_group(f, "raw");
      set_encoding(raw, "raw", "0.1.0");
      if (adata.raw->X) write_element(raw, "X", *adata.raw->X, opt);
    }
    write_dict(f, "layers", adata.layers, opt);
    write_dict(f, "obsm", adata.obsm, opt);
    write_dict(f, "varm", adata.varm, opt);
    write_dict(f, "obsp", adata.obsp, opt);
    write_dict(f, "varp", adata.varp, opt);
    write_dataframe(f, "obs", adata.obs, opt);
    write_dataframe(f, "var", adata.var, opt);
    if (adata.raw) {
      write_dataframe(raw, "var", adata.raw->var, opt);
      write_dict(raw, "varm", adata.raw->varm, opt);
    }
    write_dict(f, "uns", adata.uns, opt);
    if (pipeline) pipeline->finish();
    if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) throw InputError(path, "", "cannot flush the file");
  }
  // The file this one replaces is freed when its last link and its last
  // descriptor are gone; for a tutorial-sized file that takes the kernel
  // 10-40 ms, which rename() would spend before the new file is in place.
  // Held open across the rename, the old file is freed when the descriptor
  // closes, on a thread of its own.
  // (Not through a symlink, whose target survives; not blocking on a FIFO.)
  const int replaced = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  try {
    out.commit();
  } catch (...) {
    if (replaced >= 0) ::close(replaced);
    throw;
  }
  if (replaced >= 0) {
    try {
      std::thread([replaced] { ::close(replaced); }).detach();
    } catch (const std::system_error&) {
      ::close(replaced);  // no thread to spare: free it here
    }
  }
}

}  // namespace scanpp::io
