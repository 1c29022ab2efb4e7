#pragma once
// What a plot colours or places by: an obs column or a gene's expression
// (from raw, X or a layer), resolved as Scanpy's _get_color_source_vector.
#include <optional>
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

// Column j of a dense or sparse (CSR/CSC) matrix as doubles.
std::vector<double> matrix_column(const Element& X, int64_t j);

// Scanpy's default for use_raw: raw exists and no layer is asked for.
bool default_use_raw(const AnnData& ad, const std::string& layer);

// Expression of `gene` per cell from raw.X (use_raw), a layer, or X.
// KeyError when the gene is not in the chosen var_names.
std::vector<double> gene_values(const AnnData& ad, const std::string& gene, bool use_raw, const std::string& layer = "");

// obs[key] if it exists (string and bool columns become categories, as
// Scanpy's sanitize_anndata makes them; the column is converted in place so
// uns['<key>_colors'] can be written), else the gene's expression.
// KeyError naming both places when the key is in neither.
PlotValues plot_values(AnnData& ad, const std::string& key, bool use_raw, const std::string& layer = "");

// numpy.nanpercentile with linear interpolation (q in 0..100).
double nan_percentile(std::vector<double> v, double q);

}  // namespace scanpp::pl
