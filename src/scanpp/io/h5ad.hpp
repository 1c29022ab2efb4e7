#pragma once
// AnnData's .h5ad files: full reads of every encoding anndata 0.6-0.13 writes,
// writes that anndata 0.8 and current anndata both open, and backed mode
// (X stays on disk and is read in blocks of rows).
#include <memory>
#include <optional>
#include <string>

#include "scanpp/core/anndata.hpp"
#include "scanpp/io/hdf5.hpp"

namespace scanpp::io {

struct ReadH5adOptions {
  bool read_X = true;  // false leaves X (and raw.X) out, as backed mode does
};
AnnData read_h5ad(const std::string& path, const ReadH5adOptions& opt = {});

struct WriteH5adOptions {
  // gzip level for arrays; -1 writes uncompressed (anndata's write_h5ad default),
  // 4 is what sc.write's compression='gzip' gives.
  int compression = -1;
  // String columns with a repeated value become categoricals, as anndata does on write.
  bool convert_strings_to_categoricals = true;
};
void write_h5ad(const AnnData& adata, const std::string& path, const WriteH5adOptions& opt = {});

// An .h5ad opened with X left on disk. obs, var, obsm, ... are in memory.
class BackedAnnData {
 public:
  explicit BackedAnnData(const std::string& path);
  ~BackedAnnData();
  BackedAnnData(const BackedAnnData&) = delete;
  BackedAnnData& operator=(const BackedAnnData&) = delete;

  const std::string& path() const { return path_; }
  // Everything but X, loaded.
  const AnnData& meta() const { return meta_; }
  AnnData& meta() { return meta_; }
  int64_t n_obs() const { return meta_.n_obs(); }
  int64_t n_vars() const { return meta_.n_vars(); }
  bool has_X() const { return x_kind_ != XKind::None; }
  bool x_is_sparse() const { return x_kind_ == XKind::Csr; }
  DType x_dtype() const { return x_dtype_; }
  // X stored as CSC (not readable by rows without reading all of it).
  bool x_is_csc() const { return x_kind_ == XKind::Csc; }
  // Stored values of X: nnz of a CSR X, n_obs * n_vars of a dense one (0 otherwise).
  int64_t x_stored() const {
    if (x_kind_ == XKind::Csr) return indptr_.back();
    return x_kind_ == XKind::Dense ? n_obs() * n_vars() : 0;
  }

  // Rows [start, end) of X: a dense Array or a CSR SparseMatrix. Reads only those rows.
  Element read_rows(int64_t start, int64_t end) const;
  // Calls f(block, start, end) over consecutive row blocks (anndata's chunked_X).
  template <class F>
  void for_each_block(int64_t block_rows, F&& f) const {
    for (int64_t s = 0; s < n_obs(); s += block_rows) {
      const int64_t e = std::min(n_obs(), s + block_rows);
      f(read_rows(s, e), s, e);
    }
  }
  // Everything in memory (anndata's to_memory()).
  AnnData to_memory() const;

 private:
  enum class XKind { None, Dense, Csr, Csc };
  std::string path_;
  h5::Handle file_;
  AnnData meta_;
  XKind x_kind_ = XKind::None;
  DType x_dtype_ = DType::Float32;
  std::vector<int64_t> indptr_;  // CSR X: read once, like anndata's CSRDataset
};

// Element-level access, for tools that read or write one entry (e.g. uns).
Element read_element(hid_t parent, const std::string& name, const h5::Loc& where);
void write_element(hid_t parent, const std::string& name, const Element& e, const WriteH5adOptions& opt);
DataFrame read_dataframe(hid_t parent, const std::string& name, const h5::Loc& where);
void write_dataframe(hid_t parent, const std::string& name, const DataFrame& df, const WriteH5adOptions& opt);

}  // namespace scanpp::io
