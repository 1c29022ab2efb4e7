#pragma once
// X of an .h5ad read from disk block by block: the RowBlockSource of a
// BackedAnnData (CSR or dense X; a CSC X cannot be read by rows cheaply and
// is refused with a message saying so).
#include <memory>
#include <string>

#include "scanpp/core/row_blocks.hpp"
#include "scanpp/io/h5ad.hpp"

namespace scanpp::io {

class BackedRowSource : public RowBlockSource {
 public:
  explicit BackedRowSource(std::shared_ptr<const BackedAnnData> file);
  int64_t n_obs() const override { return file_->n_obs(); }
  int64_t n_vars() const override { return file_->n_vars(); }
  bool is_sparse() const override { return file_->x_is_sparse(); }
  DType dtype() const override { return file_->x_dtype(); }
  int64_t n_stored() const override;
  Element read_rows(int64_t start, int64_t end) const override { return file_->read_rows(start, end); }
  const BackedAnnData& file() const { return *file_; }

 private:
  std::shared_ptr<const BackedAnnData> file_;
};

// Opens `path` in backed mode: X stays on disk, everything else is loaded.
// Returns the metadata (X empty) and the source that reads X.
struct OpenedBacked {
  AnnData meta;
  std::shared_ptr<const RowBlockSource> x;
};
OpenedBacked open_backed(const std::string& path);

}  // namespace scanpp::io
