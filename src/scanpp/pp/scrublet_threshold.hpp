#pragma once
// Scrublet's automatic doublet-score threshold: scikit-image's
// threshold_minimum (Glasbey 1993) on the simulated doublets' scores, as
// Scanpy 1.11 calls it.
//
// np.histogram with 256 equal bins over [min, max] (numpy's bin assignment,
// including its edge corrections), then the counts are smoothed with a
// width-3 mean filter (scipy's uniform_filter1d, 'reflect' ends, running sum
// in double as scipy computes it) until at most two local maxima remain; the
// threshold is the centre of the lowest bin between the two maxima (first one
// on ties). The histogram is smoothed in float64, as scikit-image 0.19
// (Debian bookworm's, the golden environment) does.
#include <optional>
#include <span>

namespace scanpp::pp {

struct ThresholdMinimumOptions {
  int nbins = 256;
  int max_num_iter = 10000;
};

// The threshold, or nullopt when the smoothed histogram never has exactly two
// maxima (scikit-image raises RuntimeError there; Scanpy then calls no
// doublets). Non-finite values are a ValueError.
std::optional<double> threshold_minimum(std::span<const double> values, const ThresholdMinimumOptions& opt = {});

}  // namespace scanpp::pp
