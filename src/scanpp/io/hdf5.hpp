#pragma once
// A thin RAII layer over the HDF5 C API: handles, typed reads into Array,
// string reads of every flavour (variable/fixed length, UTF-8/ASCII), and
// writes in the exact encodings anndata/h5py produce (bool as an int8 enum,
// strings as variable-length UTF-8). Every failure becomes an InputError
// naming the file and the element.
#include <hdf5.h>

#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/array.hpp"
#include "scanpp/core/error.hpp"

namespace scanpp::h5 {

// Owns one hid_t and closes it with the right H5*close.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      o.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  ~Handle() { reset(); }
  hid_t id() const { return id_; }
  operator hid_t() const { return id_; }  // NOLINT: handles are used where hid_t is expected
  bool valid() const { return id_ >= 0; }
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// Silences HDF5's own error printing for the life of the process; scanpp reports errors itself.
void silence_errors();

// Where an element lives, for error messages.
struct Loc {
  std::string file;
  std::string path;
  Loc child(const std::string& name) const { return {file, path == "/" ? "/" + name : path + "/" + name}; }
  [[noreturn]] void fail(const std::string& problem) const { throw InputError(file, path, problem); }
};

// Opening. `mode` for files: "r" or "r+"; throws InputError if not an HDF5 file.
Handle open_file(const std::string& path, bool writable = false);
Handle create_file(const std::string& path);
bool exists(hid_t loc, const std::string& name);
bool is_group(hid_t loc, const std::string& name);
Handle open_group(hid_t loc, const std::string& name, const Loc& where);
Handle open_dataset(hid_t loc, const std::string& name, const Loc& where);
Handle create_group(hid_t loc, const std::string& name);
// A dataset creation property list without modification times: every object
// scanpp writes (the file's root group, groups, datasets) leaves them out, so
// the same data written twice give the same bytes. HDF5 would otherwise
// stamp each object's header with the time it was written.
Handle dataset_create_plist();
std::vector<std::string> list_children(hid_t group);

// Attributes.
bool has_attr(hid_t obj, const std::string& name);
std::optional<std::string> read_string_attr(hid_t obj, const std::string& name);
std::vector<std::string> read_string_array_attr(hid_t obj, const std::string& name, const Loc& where);
Array read_array_attr(hid_t obj, const std::string& name, const Loc& where);
void write_string_attr(hid_t obj, const std::string& name, const std::string& value);
void write_string_array_attr(hid_t obj, const std::string& name, const std::vector<std::string>& values);
void write_array_attr(hid_t obj, const std::string& name, const Array& value);

// Datasets.
std::vector<int64_t> dataset_shape(hid_t dset);
bool dataset_is_string(hid_t dset);
bool dataset_is_compound(hid_t dset);
// Numeric (or bool enum) dataset of any rank into an Array of the matching dtype.
Array read_array(hid_t dset, const Loc& where);
// A 1-D slice [start, start+count) of a numeric dataset, as dtype `as` (nullopt: native).
Array read_array_slice(hid_t dset, int64_t start, int64_t count, const Loc& where,
                       std::optional<DType> as = std::nullopt);
// Rows [start, start+count) of a 2-D numeric dataset.
Array read_rows(hid_t dset, int64_t start, int64_t count, const Loc& where);
// String dataset (vlen or fixed, any rank) flattened; shape returned separately.
std::vector<std::string> read_strings(hid_t dset, const Loc& where, std::vector<int64_t>* shape = nullptr);
// The dtype an HDF5 numeric type maps to; nullopt if not numeric.
std::optional<DType> dtype_from_h5(hid_t type);
// Native memory type for a dtype (bool: the h5py enum).
Handle h5type_for(DType t);
Handle bool_enum_type();
Handle vlen_utf8_type();

struct WriteOptions {
  int gzip_level = -1;  // -1: no compression (anndata's write_h5ad default)
  bool chunked = false;  // resizable + chunked, as anndata writes sparse components
  // HDF5's byte shuffle before deflate (gzip only): on integers (indices,
  // counts) the high bytes are mostly zero, and grouping them makes deflate
  // both faster and ~30% smaller. Every HDF5 reader undoes it.
  bool shuffle = false;
};
// The dataset write_raw creates (chunked and filtered as `opt` asks), left
// unwritten: for callers that fill it themselves (io/deflate_chunks.hpp).
Handle create_dataset(hid_t loc, const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                      const WriteOptions& opt = {});
void write_array(hid_t loc, const std::string& name, const Array& a, const WriteOptions& opt = {});
// The same from a caller's buffer (no copy into an Array first).
void write_raw(hid_t loc, const std::string& name, DType dtype, const std::vector<int64_t>& shape, const void* data,
               const WriteOptions& opt = {});
// Reads a whole 1-D integer dataset into int32 / int64 vectors, converting
// (and range-checking) in HDF5 rather than through an intermediate copy.
std::vector<int32_t> read_int32(hid_t dset, const Loc& where);
std::vector<int64_t> read_int64(hid_t dset, const Loc& where);
void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& v,
                   const std::vector<int64_t>& shape = {}, const WriteOptions& opt = {});
void write_string_scalar(hid_t loc, const std::string& name, const std::string& v);

}  // namespace scanpp::h5
