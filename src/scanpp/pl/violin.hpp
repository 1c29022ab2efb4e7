#pragma once
// sc.pl.violin: violins (seaborn violinplot, cut=0, density_norm 'width') of
// obs columns or genes, optionally per group (coloured by uns['<groupby>_colors']),
// with a jittered strip of the individual values on top.
#include <optional>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/pl/figure.hpp"
#include "scanpp/pl/grouped_layout.hpp"

namespace scanpp::pl {

struct ViolinOptions {
  std::vector<std::string> keys;  // obs columns or genes
  std::optional<std::string> groupby;
  bool log = false;
  std::optional<bool> use_raw;
  bool stripplot = true;
  double jitter = 0.1;  // seaborn's jitter=True; 0 turns it off
  double size = 1;      // strip point diameter (points)
  std::optional<std::string> layer;
  std::string density_norm = "width";
  std::optional<std::vector<std::string>> order;  // categories to show, in this order
  bool multi_panel = false;
  std::string xlabel;
  std::optional<std::vector<std::string>> ylabel;  // one, or one per key with groupby
  std::optional<double> rotation;
  double dpi = style::kDpi;
  uint64_t seed = 0;  // jitter draws
};

// Draws to `save`. With groupby, uns['<groupby>_colors'] is written when missing.
PlotInfo violin(AnnData& adata, const ViolinOptions& opt, const std::string& save);

}  // namespace scanpp::pl
