#pragma once
// sc.pl.dendrogram: the tree of uns['dendrogram_<groupby>'] with its leaf labels.
#include <optional>
#include <string>

#include "scanpp/core/anndata.hpp"
#include "scanpp/pl/figure.hpp"
#include "scanpp/pl/grouped_layout.hpp"

namespace scanpp::pl {

struct DendrogramPlotOptions {
  std::string groupby;
  std::optional<std::string> dendrogram_key;
  std::string orientation = "top";  // 'top', 'bottom', 'left', 'right'
  bool remove_labels = false;
  double dpi = style::kDpi;
};

// Runs tl.dendrogram with defaults when the entry is missing (as Scanpy).
PlotInfo dendrogram_plot(AnnData& adata, const DendrogramPlotOptions& opt, const std::string& save);

}  // namespace scanpp::pl
