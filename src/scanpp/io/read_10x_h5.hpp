#pragma once
// Cell Ranger's HDF5 feature-barcode matrices (`*_bc_matrix.h5`), read as
// Scanpy 1.11's sc.read_10x_h5 reads them: both the v3 layout (one /matrix
// group with a features/ table) and the older one-group-per-genome layout of
// Cell Ranger 1.x/2.x.
#include <optional>
#include <string>

#include "scanpp/core/anndata.hpp"

namespace scanpp::io {

struct Read10xH5Options {
  // v3 files: keep only features whose var['genome'] equals this (ValueError
  // listing the genomes when none does). Older files: the genome group to read,
  // required when the file holds several (ValueError listing them otherwise).
  std::optional<std::string> genome = std::nullopt;
  // v3 files: keep only features with feature_types == "Gene Expression"
  // (drops antibody capture, CRISPR guides, ...). Ignored for older files.
  bool gex_only = true;
};

// Cells x features AnnData: X is CSR with the file's non-zeros (int32 counts
// become float32, other dtypes are kept; indices keep the file's order within
// each cell, as Scanpy does), obs_names are the barcodes.
//  * v3: var_names = features/name (not made unique), var columns gene_ids
//    (features/id; probe files: gene_id, with probe_ids = id), feature_types,
//    then every other 1-D dataset of features/ but _all_tag_keys (bool kept,
//    others as strings; e.g. genome); obs['filtered_barcodes'] when present.
//  * older: var_names = gene_names, var['gene_ids'] = genes.
// Throws InputError naming the file and element for a missing, truncated or
// inconsistent file (including HDF5 files that are not Cell Ranger matrices).
AnnData read_10x_h5(const std::string& path, const Read10xH5Options& opt = {});

}  // namespace scanpp::io
