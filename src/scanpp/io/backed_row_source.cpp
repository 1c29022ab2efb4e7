#include "scanpp/io/backed_row_source.hpp"

#include "scanpp/core/error.hpp"

namespace scanpp::io {

BackedRowSource::BackedRowSource(std::shared_ptr<const BackedAnnData> file) : file_(std::move(file)) {
  if (!file_->has_X()) throw InputError(file_->path(), "/X", "the file has no X to read in blocks");
  if (file_->x_is_csc())
    throw InputError(file_->path(), "/X",
                     "X is stored as CSC; reading it by rows would read the whole matrix (rewrite it as CSR, "
                     "or read it without backed)");
}

int64_t BackedRowSource::n_stored() const { return file_->x_stored(); }

OpenedBacked open_backed(const std::string& path) {
  auto file = std::make_shared<BackedAnnData>(path);
  OpenedBacked out;
  out.meta = file->meta();
  out.x = std::make_shared<BackedRowSource>(std::move(file));
  return out;
}

}  // namespace scanpp::io
