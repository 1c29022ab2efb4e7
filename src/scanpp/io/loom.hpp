#pragma once
// Loom files (loompy's spec 3.0, and the older spec 2 files loompy still
// reads), with anndata's read_loom / write_loom semantics: a loom matrix is
// genes x cells, AnnData is cells x genes, so every matrix is transposed on
// the way in and out.
#include <string>

#include "scanpp/core/anndata.hpp"

namespace scanpp::io {

struct ReadLoomOptions {
  // X as CSR (true) or dense (false). Zeros are dropped, as loompy's sparse() does.
  bool sparse = true;
  // Loom layer that becomes X when the file has it (velocyto's "spliced"); the
  // main /matrix then goes to layers["matrix"]. Otherwise X is /matrix.
  std::string X_name = "spliced";
  // Column attribute used as obs_names (also the index name), and row
  // attribute used as var_names. When absent, names are "0", "1", ...
  // Files from write_loom need obs_names = "obs_names", var_names = "var_names".
  std::string obs_names = "CellID";
  std::string var_names = "Gene";
  // anndata's cleanup=True: columns holding a single value move to
  // uns["loom-obs"] / uns["loom-var"].
  bool cleanup = false;
};

// X is float32 (anndata's dtype='float32'); the other layers keep their stored
// dtype, as anndata does. 1-D column attributes become obs columns and row
// attributes var columns (in HDF5 name order; strings variable- or
// fixed-length, XML character references unescaped as loompy does; loom
// booleans stay uint8); attributes with more than one column go to obsm/varm.
// Global attributes and graphs are not read (anndata drops them too).
// Throws InputError naming the file and element for missing or inconsistent data.
AnnData read_loom(const std::string& path, const ReadLoomOptions& opt = {});

// anndata's write_loom: X transposed to /matrix, each layer transposed to
// /layers/<name> (chunks 64 x 64, gzip level 2, as loompy writes them); var
// columns plus the var index (named after var's index name, else "var_names")
// to /row_attrs, obs columns plus the obs index ("obs_names") to /col_attrs;
// obsm/varm entries as multi-column attributes only with write_obsm_varm.
// Columns are stored as loompy stores what pandas hands it: integers as int64,
// floats as float64, booleans as uint8, strings and categoricals as
// variable-length UTF-8. uns, obsp/varp and raw are not written. The file is
// written to a temporary name and renamed into place when complete.
// Throws ValueError when X is missing or empty, or a matrix holds NaN/inf or booleans.
void write_loom(const AnnData& adata, const std::string& path, bool write_obsm_varm = false);

}  // namespace scanpp::io
