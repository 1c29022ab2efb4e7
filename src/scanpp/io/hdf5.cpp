#include "scanpp/io/hdf5.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>

#include "scanpp/io/deflate_chunks.hpp"
#include "scanpp/io/hdf5_deflate_filter.hpp"

namespace scanpp::h5 {

void Handle::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: break;
  }
  id_ = H5I_INVALID_HID;
}

void silence_errors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

Handle open_file(const std::string& path, bool writable) {
  silence_errors();
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    std::fclose(f);
  } else {
    throw InputError(path, "", "cannot open file (" + std::string(std::strerror(errno)) + ")");
  }
  if (H5Fis_hdf5(path.c_str()) <= 0) throw InputError(path, "", "is not an HDF5 file (or it is truncated)");
  hid_t id = H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) throw InputError(path, "", "HDF5 cannot open the file (truncated or corrupt?)");
  return Handle(id);
}

Handle create_file(const std::string& path) {
  silence_errors();
  // Strings' chunks, deflated by HDF5's pipeline, use libdeflate too.
  use_libdeflate_in_hdf5_deflate_filter();
  Handle fcpl(H5Pcreate(H5P_FILE_CREATE));  // the root group's times (see dataset_create_plist)
  H5Pset_obj_track_times(fcpl, false);
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
  if (id < 0) throw InputError(path, "", "cannot create file");
  return Handle(id);
}

bool exists(hid_t loc, const std::string& name) {
  if (name.empty() || name == "/") return true;
  // Check each component so that a missing intermediate group is not an error.
  size_t pos = 0;
  while (true) {
    size_t next = name.find('/', pos + 1);
    std::string prefix = name.substr(0, next);
    if (!prefix.empty() && prefix != "/" && H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (next == std::string::npos) break;
    pos = next;
  }
  return H5Oexists_by_name(loc, name.c_str(), H5P_DEFAULT) > 0;
}

bool is_group(hid_t loc, const std::string& name) {
  if (!exists(loc, name)) return false;
  Handle o(H5Oopen(loc, name.c_str(), H5P_DEFAULT));
  return o.valid() && H5Iget_type(o) == H5I_GROUP;
}

Handle open_group(hid_t loc, const std::string& name, const Loc& where) {
  if (!exists(loc, name)) where.fail("missing");
  hid_t id = H5Gopen2(loc, name.c_str(), H5P_DEFAULT);
  if (id < 0) where.fail("is not a group");
  return Handle(id);
}

Handle open_dataset(hid_t loc, const std::string& name, const Loc& where) {
  if (!exists(loc, name)) where.fail("missing");
  hid_t id = H5Dopen2(loc, name.c_str(), H5P_DEFAULT);
  if (id < 0) where.fail("is not a dataset");
  return Handle(id);
}

Handle dataset_create_plist() {
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_obj_track_times(dcpl, false);
  return dcpl;
}

Handle create_group(hid_t loc, const std::string& name) {
  Handle gcpl(H5Pcreate(H5P_GROUP_CREATE));
  H5Pset_obj_track_times(gcpl, false);
  hid_t id = H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT);
  if (id < 0) throw Error("cannot create group '" + name + "'");
  return Handle(id);
}

std::vector<std::string> list_children(hid_t group) {
  std::vector<std::string> names;
  H5Literate(
      group, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->emplace_back(name);
        return 0;
      },
      &names);
  return names;
}

bool has_attr(hid_t obj, const std::string& name) { return H5Aexists(obj, name.c_str()) > 0; }

namespace {

std::string strip_fixed(const char* p, size_t n) {
  size_t len = strnlen(p, n);
  // Fixed-length strings are null- or space-padded.
  while (len > 0 && p[len - 1] == ' ') --len;
  return std::string(p, len);
}

// Reads strings through either a dataset or an attribute.
template <class ReadFn>
std::vector<std::string> read_string_payload(hid_t ftype, size_t n, ReadFn&& read, const Loc& where) {
  std::vector<std::string> out(n);
  if (H5Tget_class(ftype) != H5T_STRING) where.fail("is not a string");
  Handle mtype(H5Tcopy(H5T_C_S1));
  H5Tset_cset(mtype, H5Tget_cset(ftype));
  if (H5Tis_variable_str(ftype) > 0) {
    H5Tset_size(mtype, H5T_VARIABLE);
    std::vector<char*> buf(n, nullptr);
    if (n && read(mtype.id(), buf.data()) < 0) where.fail("cannot read strings");
    for (size_t i = 0; i < n; ++i) {
      if (buf[i]) out[i] = buf[i];
      free(buf[i]);  // vlen strings are allocated by HDF5's default malloc
    }
  } else {
    size_t sz = H5Tget_size(ftype);
    H5Tset_size(mtype, sz);
    H5Tset_strpad(mtype, H5T_STR_NULLPAD);
    std::vector<char> buf(n * sz + 1, 0);
    if (n && read(mtype.id(), buf.data()) < 0) where.fail("cannot read strings");
    for (size_t i = 0; i < n; ++i) out[i] = strip_fixed(buf.data() + i * sz, sz);
  }
  return out;
}

int64_t space_size(hid_t space, std::vector<int64_t>* shape) {
  int rank = H5Sget_simple_extent_ndims(space);
  if (H5Sget_simple_extent_type(space) == H5S_NULL) {
    if (shape) shape->assign({0});
    return 0;
  }
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  int64_t n = 1;
  if (shape) shape->clear();
  for (auto d : dims) {
    n *= static_cast<int64_t>(d);
    if (shape) shape->push_back(static_cast<int64_t>(d));
  }
  return n;
}

bool is_bool_enum(hid_t type) {
  if (H5Tget_class(type) != H5T_ENUM || H5Tget_nmembers(type) != 2) return false;
  for (unsigned i = 0; i < 2; ++i) {
    char* nm = H5Tget_member_name(type, i);
    std::string s = nm ? nm : "";
    H5free_memory(nm);
    if (s != "FALSE" && s != "TRUE") return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> read_string_attr(hid_t obj, const std::string& name) {
  if (!has_attr(obj, name)) return std::nullopt;
  Handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  Handle t(H5Aget_type(a));
  if (H5Tget_class(t) != H5T_STRING) return std::nullopt;
  Handle s(H5Aget_space(a));
  const int64_t n = space_size(s, nullptr);
  if (n < 1) return std::string();
  auto v = read_string_payload(t, static_cast<size_t>(n), [&](hid_t m, void* buf) { return H5Aread(a, m, buf); },
                               Loc{"", name});
  return v[0];
}

std::vector<std::string> read_string_array_attr(hid_t obj, const std::string& name, const Loc& where) {
  if (!has_attr(obj, name)) where.fail("attribute '" + name + "' missing");
  Handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  Handle t(H5Aget_type(a));
  Handle s(H5Aget_space(a));
  const int64_t n = space_size(s, nullptr);
  // h5py writes an empty column-order as a zero-length float64 array.
  if (H5Tget_class(t) != H5T_STRING) {
    if (n == 0) return {};
    where.fail("attribute '" + name + "' is not a string array");
  }
  return read_string_payload(t, static_cast<size_t>(n), [&](hid_t m, void* buf) { return H5Aread(a, m, buf); },
                             where);
}

std::optional<DType> dtype_from_h5(hid_t type) {
  switch (H5Tget_class(type)) {
    case H5T_INTEGER: {
      const bool sgn = H5Tget_sign(type) == H5T_SGN_2;
      switch (H5Tget_size(type)) {
        case 1: return sgn ? DType::Int8 : DType::UInt8;
        case 2: return sgn ? DType::Int16 : DType::UInt16;
        case 4: return sgn ? DType::Int32 : DType::UInt32;
        case 8: return sgn ? DType::Int64 : DType::UInt64;
        default: return std::nullopt;
      }
    }
    case H5T_FLOAT: return H5Tget_size(type) <= 4 ? DType::Float32 : DType::Float64;
    case H5T_ENUM: {
      if (is_bool_enum(type)) return DType::Bool;
      Handle base(H5Tget_super(type));
      return dtype_from_h5(base);
    }
    case H5T_BITFIELD: return DType::UInt8;
    default: return std::nullopt;
  }
}

Handle bool_enum_type() {
  hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
  int8_t f = 0, tr = 1;
  H5Tenum_insert(t, "FALSE", &f);
  H5Tenum_insert(t, "TRUE", &tr);
  return Handle(t);
}

Handle vlen_utf8_type() {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  return Handle(t);
}

Handle h5type_for(DType t) {
  switch (t) {
    case DType::Bool: return bool_enum_type();
    case DType::Int8: return Handle(H5Tcopy(H5T_NATIVE_INT8));
    case DType::Int16: return Handle(H5Tcopy(H5T_NATIVE_INT16));
    case DType::Int32: return Handle(H5Tcopy(H5T_NATIVE_INT32));
    case DType::Int64: return Handle(H5Tcopy(H5T_NATIVE_INT64));
    case DType::UInt8: return Handle(H5Tcopy(H5T_NATIVE_UINT8));
    case DType::UInt16: return Handle(H5Tcopy(H5T_NATIVE_UINT16));
    case DType::UInt32: return Handle(H5Tcopy(H5T_NATIVE_UINT32));
    case DType::UInt64: return Handle(H5Tcopy(H5T_NATIVE_UINT64));
    case DType::Float32: return Handle(H5Tcopy(H5T_NATIVE_FLOAT));
    case DType::Float64: return Handle(H5Tcopy(H5T_NATIVE_DOUBLE));
  }
  throw Error("unknown dtype");
}

namespace {
// Memory type to read a file type as dtype `d`: a file bool enum read as
// bool needs the enum; anything else converts through the native type.
Handle mem_type(hid_t ftype, DType d) {
  if (d == DType::Bool && H5Tget_class(ftype) != H5T_ENUM) return Handle(H5Tcopy(H5T_NATIVE_UINT8));
  return h5type_for(d);
}
void fix_bools(Array& a, hid_t ftype) {
  // Booleans stored as plain integers (loom, legacy writers) are normalised to 0/1.
  if (a.dtype() != DType::Bool || H5Tget_class(ftype) == H5T_ENUM) return;
  for (auto& b : a.as<Bool8>()) b.v = b.v ? 1 : 0;
}
}  // namespace

Array read_array_attr(hid_t obj, const std::string& name, const Loc& where) {
  Handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  if (!a.valid()) where.fail("attribute '" + name + "' missing");
  Handle t(H5Aget_type(a));
  auto d = dtype_from_h5(t);
  if (!d) where.fail("attribute '" + name + "' is not numeric");
  Handle s(H5Aget_space(a));
  std::vector<int64_t> shape;
  space_size(s, &shape);
  Array out(*d, shape);
  Handle m = mem_type(t, *d);
  if (out.size() && H5Aread(a, m, out.raw()) < 0) where.fail("cannot read attribute '" + name + "'");
  fix_bools(out, t);
  return out;
}

void write_string_attr(hid_t obj, const std::string& name, const std::string& value) {
  if (has_attr(obj, name)) H5Adelete(obj, name.c_str());
  Handle t = vlen_utf8_type();
  Handle s(H5Screate(H5S_SCALAR));
  Handle a(H5Acreate2(obj, name.c_str(), t, s, H5P_DEFAULT, H5P_DEFAULT));
  const char* p = value.c_str();
  if (!a.valid() || H5Awrite(a, t, &p) < 0) throw Error("cannot write attribute '" + name + "'");
}

void write_string_array_attr(hid_t obj, const std::string& name, const std::vector<std::string>& values) {
  if (has_attr(obj, name)) H5Adelete(obj, name.c_str());
  Handle t = vlen_utf8_type();
  hsize_t n = values.size();
  Handle s(H5Screate_simple(1, &n, nullptr));
  Handle a(H5Acreate2(obj, name.c_str(), t, s, H5P_DEFAULT, H5P_DEFAULT));
  std::vector<const char*> p;
  for (auto& v : values) p.push_back(v.c_str());
  if (!a.valid() || (n && H5Awrite(a, t, p.data()) < 0)) throw Error("cannot write attribute '" + name + "'");
}

void write_array_attr(hid_t obj, const std::string& name, const Array& value) {
  if (has_attr(obj, name)) H5Adelete(obj, name.c_str());
  Handle t = h5type_for(value.dtype());
  std::vector<hsize_t> dims(value.shape().begin(), value.shape().end());
  Handle s(dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  Handle a(H5Acreate2(obj, name.c_str(), t, s, H5P_DEFAULT, H5P_DEFAULT));
  if (!a.valid() || (value.size() && H5Awrite(a, t, value.raw()) < 0))
    throw Error("cannot write attribute '" + name + "'");
}

std::vector<int64_t> dataset_shape(hid_t dset) {
  Handle s(H5Dget_space(dset));
  std::vector<int64_t> shape;
  space_size(s, &shape);
  return shape;
}

bool dataset_is_string(hid_t dset) {
  Handle t(H5Dget_type(dset));
  return H5Tget_class(t) == H5T_STRING;
}
bool dataset_is_compound(hid_t dset) {
  Handle t(H5Dget_type(dset));
  return H5Tget_class(t) == H5T_COMPOUND;
}

Array read_array(hid_t dset, const Loc& where) {
  Handle t(H5Dget_type(dset));
  auto d = dtype_from_h5(t);
  if (!d) where.fail("is not a numeric dataset");
  Handle s(H5Dget_space(dset));
  std::vector<int64_t> shape;
  space_size(s, &shape);
  Array out(*d, shape);
  Handle m = mem_type(t, *d);
  // gzip datasets are decompressed on scanpp's threads; anything else through HDF5.
  if (out.size() && !read_deflate_chunks(dset, m, out.raw(), where) &&
      H5Dread(dset, m, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.raw()) < 0)
    where.fail("cannot read data (truncated or corrupt file?)");
  fix_bools(out, t);
  return out;
}

Array read_array_slice(hid_t dset, int64_t start, int64_t count, const Loc& where, std::optional<DType> as) {
  Handle t(H5Dget_type(dset));
  auto d = dtype_from_h5(t);
  if (!d) where.fail("is not a numeric dataset");
  const DType dt = as ? *as : *d;
  Array out(dt, {count});
  if (count == 0) return out;
  Handle fs(H5Dget_space(dset));
  std::vector<int64_t> shape;
  space_size(fs, &shape);
  if (shape.size() != 1) where.fail("is not 1-D");
  if (start < 0 || start + count > shape[0]) where.fail("slice out of range (truncated file?)");
  hsize_t st = static_cast<hsize_t>(start), cn = static_cast<hsize_t>(count);
  Handle m = mem_type(t, dt);
  if (!read_deflate_rows(dset, m, start, count, out.raw(), where)) {
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &st, nullptr, &cn, nullptr);
    Handle ms(H5Screate_simple(1, &cn, nullptr));
    if (H5Dread(dset, m, ms, fs, H5P_DEFAULT, out.raw()) < 0) where.fail("cannot read data (truncated or corrupt file?)");
  }
  fix_bools(out, t);
  return out;
}

Array read_rows(hid_t dset, int64_t start, int64_t count, const Loc& where) {
  Handle t(H5Dget_type(dset));
  auto d = dtype_from_h5(t);
  if (!d) where.fail("is not a numeric dataset");
  Handle fs(H5Dget_space(dset));
  std::vector<int64_t> shape;
  space_size(fs, &shape);
  if (shape.size() != 2) where.fail("is not 2-D");
  if (start < 0 || start + count > shape[0]) where.fail("row range out of bounds");
  Array out(*d, {count, shape[1]});
  if (out.size() == 0) return out;
  hsize_t st[2] = {static_cast<hsize_t>(start), 0}, cn[2] = {static_cast<hsize_t>(count), static_cast<hsize_t>(shape[1])};
  Handle m = mem_type(t, *d);
  if (!read_deflate_rows(dset, m, start, count, out.raw(), where)) {
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, nullptr, cn, nullptr);
    Handle ms(H5Screate_simple(2, cn, nullptr));
    if (H5Dread(dset, m, ms, fs, H5P_DEFAULT, out.raw()) < 0) where.fail("cannot read data (truncated or corrupt file?)");
  }
  fix_bools(out, t);
  return out;
}

std::vector<std::string> read_strings(hid_t dset, const Loc& where, std::vector<int64_t>* shape) {
  Handle t(H5Dget_type(dset));
  Handle s(H5Dget_space(dset));
  const int64_t n = space_size(s, shape);
  return read_string_payload(
      t, static_cast<size_t>(n), [&](hid_t m, void* buf) { return H5Dread(dset, m, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf); },
      where);
}

namespace {
Handle make_dcpl(const std::vector<hsize_t>& dims, size_t elem_size, const WriteOptions& opt) {
  Handle dcpl = dataset_create_plist();
  if (dims.empty() || (opt.gzip_level < 0 && !opt.chunked)) return dcpl;
  std::vector<hsize_t> chunk = dims;
  // About 1 MiB per chunk along the first axis; never a zero dimension.
  size_t row = elem_size;
  for (size_t k = 1; k < dims.size(); ++k) row *= std::max<hsize_t>(dims[k], 1);
  chunk[0] = std::clamp<hsize_t>((1u << 20) / std::max<size_t>(row, 1), 1, std::max<hsize_t>(dims[0], 1));
  if (opt.chunked && dims.size() == 1 && dims[0] == 0) chunk[0] = 1024;
  for (auto& c : chunk) c = std::max<hsize_t>(c, 1);
  H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
  if (opt.gzip_level >= 0 && opt.shuffle && elem_size > 1) H5Pset_shuffle(dcpl);
  if (opt.gzip_level >= 0) H5Pset_deflate(dcpl, static_cast<unsigned>(opt.gzip_level));
  return dcpl;
}
Handle make_space(const std::vector<hsize_t>& dims, bool resizable) {
  if (dims.empty()) return Handle(H5Screate(H5S_SCALAR));
  std::vector<hsize_t> maxd(dims.size(), H5S_UNLIMITED);
  return Handle(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), resizable ? maxd.data() : nullptr));
}
}  // namespace

void write_array(hid_t loc, const std::string& name, const Array& a, const WriteOptions& opt) {
  write_raw(loc, name, a.dtype(), a.shape(), a.raw(), opt);
}

Handle create_dataset(hid_t loc, const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                      const WriteOptions& opt) {
  if (opt.gzip_level > 9) throw ValueError("gzip level must be 0-9, got " + std::to_string(opt.gzip_level));
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  Handle t = h5type_for(dtype);
  const bool resizable = opt.chunked && dims.size() == 1;
  Handle space = make_space(dims, resizable);
  Handle dcpl = make_dcpl(dims, dtype_size(dtype), dims.empty() ? WriteOptions{} : opt);
  Handle d(H5Dcreate2(loc, name.c_str(), t, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  if (!d.valid()) throw Error("cannot create dataset '" + name + "'");
  return d;
}

void write_raw(hid_t loc, const std::string& name, DType dtype, const std::vector<int64_t>& shape, const void* data,
               const WriteOptions& opt) {
  Handle d = create_dataset(loc, name, dtype, shape, opt);
  Handle t = h5type_for(dtype);
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  hsize_t n = 1;
  for (auto x : dims) n *= x;
  if (n == 0) return;
  // Compressed numeric arrays are deflated on scanpp's threads and stored
  // with direct chunk writes; HDF5's filter would run zlib on one thread.
  if (!dims.empty() && opt.gzip_level >= 0) {
    write_deflate_chunks(d, data, dtype_size(dtype), opt.gzip_level);
    return;
  }
  if (H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) throw Error("cannot write dataset '" + name + "'");
}

namespace {
template <class T>
std::vector<T> read_ints(hid_t dset, const Loc& where, hid_t mem) {
  Handle t(H5Dget_type(dset));
  if (H5Tget_class(t) != H5T_INTEGER) where.fail("is not an integer dataset");
  auto shape = dataset_shape(dset);
  if (shape.size() != 1) where.fail("is not 1-D");
  std::vector<T> out(static_cast<size_t>(shape[0]));
  // HDF5 clips out-of-range values on conversion; a transfer property that
  // fails instead would cost a callback per value, so range is checked by
  // the callers' structure validation (indices < n_minor, indptr monotonic).
  if (!out.empty() && !read_deflate_chunks(dset, mem, out.data(), where) &&
      H5Dread(dset, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    where.fail("cannot read data (truncated or corrupt file?)");
  return out;
}
}  // namespace

std::vector<int32_t> read_int32(hid_t dset, const Loc& where) { return read_ints<int32_t>(dset, where, H5T_NATIVE_INT32); }
std::vector<int64_t> read_int64(hid_t dset, const Loc& where) { return read_ints<int64_t>(dset, where, H5T_NATIVE_INT64); }

void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& v,
                   const std::vector<int64_t>& shape, const WriteOptions& opt) {
  std::vector<hsize_t> dims;
  if (shape.empty()) dims = {v.size()};
  else dims.assign(shape.begin(), shape.end());
  Handle t = vlen_utf8_type();
  Handle space = make_space(dims, false);
  WriteOptions sopt = opt;
  sopt.shuffle = false;  // heap references, not values
  Handle dcpl = make_dcpl(dims, sizeof(char*) * 2, sopt);
  Handle d(H5Dcreate2(loc, name.c_str(), t, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  if (!d.valid()) throw Error("cannot create dataset '" + name + "'");
  std::vector<const char*> p;
  p.reserve(v.size());
  for (auto& s : v) p.push_back(s.c_str());
  if (!v.empty() && H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data()) < 0)
    throw Error("cannot write dataset '" + name + "'");
}

void write_string_scalar(hid_t loc, const std::string& name, const std::string& v) {
  Handle t = vlen_utf8_type();
  Handle space(H5Screate(H5S_SCALAR));
  Handle dcpl = dataset_create_plist();
  Handle d(H5Dcreate2(loc, name.c_str(), t, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  const char* p = v.c_str();
  if (!d.valid() || H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &p) < 0)
    throw Error("cannot write dataset '" + name + "'");
}

}  // namespace scanpp::h5
