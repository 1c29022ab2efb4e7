#pragma once
// sc.pl.tracksplot: one filled track per gene over the cells ordered by
// group, each group's stretch in the group's colour, colour blocks below.
#include <string>

#include "scanpp/pl/grouped_baseplot.hpp"

namespace scanpp::pl {

struct TracksplotOptions : GroupedOptions {};

// groupby must be one categorical obs column (Scanpy's requirement).
PlotInfo tracksplot(AnnData& adata, const TracksplotOptions& opt, const std::string& save);

}  // namespace scanpp::pl
