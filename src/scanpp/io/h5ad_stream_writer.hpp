#pragma once
// Writes an .h5ad whose CSR X arrives in blocks of rows, so a matrix larger
// than memory (a million-cell synthetic atlas) can be written with memory
// bounded by one block. The file appears atomically when finish() succeeds.
#include <memory>
#include <string>

#include "scanpp/io/atomic_file.hpp"
#include "scanpp/io/deflate_chunks.hpp"
#include "scanpp/io/h5ad.hpp"

namespace scanpp::io {

class H5adCsrWriter {
 public:
  H5adCsrWriter(const std::string& path, int64_t n_vars, DType dtype, const WriteH5adOptions& opt = {});
  ~H5adCsrWriter();
  H5adCsrWriter(const H5adCsrWriter&) = delete;
  H5adCsrWriter& operator=(const H5adCsrWriter&) = delete;

  // Appends CSR rows (n_cols must equal n_vars, data of the writer's dtype).
  void append(const SparseMatrix& block);
  int64_t rows_written() const { return static_cast<int64_t>(indptr_.size()) - 1; }
  // Writes indptr, obs (one row per appended row), var (n_vars rows) and the
  // other slots, then renames the file into place.
  void finish(const DataFrame& obs, const DataFrame& var, const Dict& uns = {});
  // finish() with every slot of `meta` except X and raw: obs, var, obsm,
  // varm, obsp, varp, layers and uns (a backed AnnData's metadata).
  void finish(const AnnData& meta);

 private:
  void write_header(const DataFrame& obs, const DataFrame& var);
  void close_and_commit();
  std::string path_;
  int64_t n_vars_;
  DType dtype_;
  WriteH5adOptions opt_;
  std::unique_ptr<AtomicFile> out_;
  h5::Handle file_, xgroup_, data_, indices_;
  // With gzip, data and indices are compressed chunk by chunk in parallel.
  std::unique_ptr<h5::DeflateAppender> zdata_, zindices_;
  std::vector<int64_t> indptr_{0};
};

}  // namespace scanpp::io
