#pragma once
// What a plot colours or places by: an obs column or a gene's expression
// (from raw, X or a layer), resolved as Scanpy's _get_color_source_vector.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"

namespace scanpp::pl {

struct PlotValues {
  bool categorical = false;
  std::vector<int32_t> codes;           // categorical: per cell, -1 = missing
  std::vector<std::string> categories;  // categorical: labels
  std::vector<double> values;           // continuous: per cell (NaN = missing)
};

// Column j of a dense or sparse (CSR/CSC) matrix as doubles (repeated
// sparse indices add up). KeyError for a column outside the matrix.
std::vector<double> matrix_column(const Element& X, int64_t j);
// Columns `cols` (repeats allowed), one vector each, from ONE pass over a
// CSR matrix's stored values.
std::vector<std::vector<double>> matrix_columns(const Element& X, std::span<const int64_t> cols);

// Scanpy's default for use_raw: raw exists and no layer is asked for.
bool default_use_raw(const AnnData& ad, const std::string& layer);

// Expression of `gene` per cell from raw.X (use_raw), a layer, or X.
// KeyError when the gene is not in the chosen var_names.
std::vector<double> gene_values(const AnnData& ad, const std::string& gene, bool use_raw, const std::string& layer = "");

// gene_values of every key that names a gene and no obs column, from ONE
// pass over the matrix when there are two or more; nullopt for the other
// keys (and for all when there are fewer, or the source is invalid: then
// gene_values/plot_values per key give the answer or the error).
std::vector<std::optional<std::vector<double>>> gene_values_prefetch(const AnnData& ad,
                                                                     const std::vector<std::string>& keys,
                                                                     bool use_raw, const std::string& layer = "");

// obs[key] if it exists (string and bool columns become categories, as
// Scanpy's sanitize_anndata makes them; the column is converted in place so
// uns['<key>_colors'] can be written), else the gene's expression.
// KeyError naming both places when the key is in neither.
PlotValues plot_values(AnnData& ad, const std::string& key, bool use_raw, const std::string& layer = "");

// numpy.nanpercentile with linear interpolation (q in 0..100).
double nan_percentile(std::vector<double> v, double q);

}  // namespace scanpp::pl
