#pragma once
// Delimited text matrices as anndata 0.8's read_csv / read_text read them
// (plain or gzip-compressed, recognised by content):
//  * lines are split on the delimiter (read_text: runs of whitespace), with no
//    quoting rules; empty lines are skipped; leading '#' lines are comments,
//    the last of which names the columns when no header line is present;
//  * the first line holds the column (var) names when its last field is not a
//    number; the first column holds row (obs) names when its first data value
//    is not a number or first_column_names is true; a header one field longer
//    than the data rows drops its first field; names lose surrounding '"';
//  * rows and columns without names are called '0', '1', ...
// X is dense, of the requested dtype (values parsed as double, then cast).
//
// `transpose` reads files that hold variables in rows (genes x cells, e.g.
// count tables written from R) as cells x genes: obs_names then come from the
// header and var_names from the first column.
#include <optional>

#include "scanpp/core/anndata.hpp"

namespace scanpp::io {

struct ReadCsvOptions {
  char delimiter = ',';
  // nullopt: decide from the first data value, as anndata does.
  std::optional<bool> first_column_names{};
  // Float32, Float64 or an integer type (values must then be integers).
  DType dtype = DType::Float32;
  // The file holds variables in rows and observations in columns.
  bool transpose = false;
};

struct ReadTextOptions {
  // nullopt: split at runs of whitespace (Python's str.split()).
  std::optional<char> delimiter{};
  std::optional<bool> first_column_names{};
  DType dtype = DType::Float32;
  bool transpose = false;
};

// anndata.read_csv (.csv, .csv.gz).
AnnData read_csv(const std::string& path, const ReadCsvOptions& opt = {});
// anndata.read_text (.txt, .tab, .tsv, .data and their .gz).
AnnData read_text(const std::string& path, const ReadTextOptions& opt = {});

}  // namespace scanpp::io
