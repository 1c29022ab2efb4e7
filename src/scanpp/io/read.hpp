#pragma once
// scanpp's `sc.read`: one entry point that picks the reader from the file
// extension or the folder layout, and the matching writer dispatch.
#include <string>

#include "scanpp/core/anndata.hpp"

namespace scanpp::io {

enum class Format { Auto, H5ad, TenxMtx, TenxH5, Loom, Mtx, Csv, Text };

// "h5ad", "10x_mtx", "10x_h5", "loom", "mtx", "csv", "text" (or "auto").
Format parse_format(const std::string& name);
const char* format_name(Format f);
// The format a path holds, from its extension or (for folders) its files.
Format detect_format(const std::string& path);

struct ReadOptions {
  Format format = Format::Auto;
  // 10x mtx: "gene_symbols" or "gene_ids".
  std::string var_names = "gene_symbols";
  // 10x h5: genome to keep (required when a v2 file has several).
  std::string genome;
};
AnnData read(const std::string& path, const ReadOptions& opt = {});

struct WriteOptions {
  Format format = Format::Auto;  // from the extension: .h5ad or .loom
  int compression = -1;          // gzip level for h5ad; -1 none
};
void write(const AnnData& adata, const std::string& path, const WriteOptions& opt = {});

}  // namespace scanpp::io
