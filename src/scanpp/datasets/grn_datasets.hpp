#pragma once
// Scanpy's simulated data sets sc.datasets.krumsiek11() and
// sc.datasets.toggleswitch(), produced by tl::sim from the models and
// parameter files in Scanpy's sim_models folder (here ../shared/data/sim_models
// by default, relative to the working directory).
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"

namespace scanpp::datasets {

inline constexpr const char* kDefaultSimModelsDir = "../shared/data/sim_models";

// Myeloid differentiation (Krumsiek et al. 2011): 4 realisations x 160 time
// points x 11 genes with the parameter file's values, each ending in one of
// the four fates. As Scanpy's data set it carries obs['cell_type']
// ('progenitor' for the first half of each realisation, then the fate: 'Ery',
// 'Mk', 'Mo' or 'Neu'), uns['iroot'] = 0 and uns['highlights'] (row -> label:
// the first cell 'Stem', the last cell of each realisation its fate).
AnnData krumsiek11(const std::filesystem::path& models_dir = kDefaultSimModelsDir);

// Two mutually repressing genes '0' and '1': 2 realisations x 100 time points,
// one per stable state. uns['iroot'] = 0.
AnnData toggleswitch(const std::filesystem::path& models_dir = kDefaultSimModelsDir);

// The krumsiek11 fate of a state: 'Ery' (Gata1 and EKLF high), 'Mk' (Gata1
// and Fli1), 'Mo' (Pu.1 and cJun), 'Neu' (Cebpa and Gfi1), or '' when no fate
// or more than one matches. A gene is high when it lies in the upper half of
// [lo, hi], its range over the data (a Hill steady state sits near 0 when off
// and well above the thresholds 0.1/|coupling| <= 0.5 when on).
std::string krumsiek11_fate(std::span<const double> state, const std::vector<std::string>& var_names,
                            std::span<const double> lo, std::span<const double> hi);

}  // namespace scanpp::datasets
