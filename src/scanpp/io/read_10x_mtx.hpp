#pragma once
// Cell Ranger "MEX" folders (matrix.mtx + genes/features + barcodes) as
// scanpy 1.11's sc.read_10x_mtx reads them.
//
// Layouts: v1/v2 (Cell Ranger < 3) is recognised by `<prefix>genes.tsv`
// (columns: id, symbol; no header); otherwise v3+ with `<prefix>matrix.mtx.gz`,
// `<prefix>features.tsv.gz` (id, name, feature type, ...) and
// `<prefix>barcodes.tsv.gz`.
//
// Result: X = float32 CSR, cells x genes (the file holds genes x cells);
// obs_names = barcodes; var_names = symbols (made unique with anndata's
// make_index_unique when make_unique) with var['gene_ids'], or with
// var_names = "gene_ids" the ids with var['gene_symbols']; v3 adds
// var['feature_types'] and, when gex_only, keeps only 'Gene Expression'
// features. Columns read as pandas' read_csv would type them (all-integer ids
// become an int64 column; their names are the integers' text).
#include <string>

#include "scanpp/core/anndata.hpp"

namespace scanpp::io {

struct Read10xMtxOptions {
  // "gene_symbols" or "gene_ids": which feature column becomes var_names.
  std::string var_names = "gene_symbols";
  // Make symbol var_names unique by appending '-1', '-2', ... (not applied to ids).
  bool make_unique = true;
  // v3 only: keep only features whose type is 'Gene Expression'.
  bool gex_only = true;
  // Text before each file name, e.g. "patientA_" for patientA_matrix.mtx.gz.
  std::string prefix{};
  // v3 only: false reads matrix.mtx / features.tsv / barcodes.tsv without .gz
  // (scanpy 1.12's `compressed`; 1.11 always expects .gz in v3 folders).
  bool compressed = true;
};

AnnData read_10x_mtx(const std::string& dir, const Read10xMtxOptions& opt = {});

}  // namespace scanpp::io
