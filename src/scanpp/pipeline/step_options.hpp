#pragma once
// Parameter parsers of the steps whose parameters the backed steps
// (steps_backed.cpp) read too, so both accept and check the same names.
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/pp/calculate_qc_metrics.hpp"
#include "scanpp/pp/filter.hpp"
#include "scanpp/pp/highly_variable_genes.hpp"
#include "scanpp/pp/normalize_total.hpp"
#include "scanpp/pp/pca.hpp"

namespace scanpp::pipeline {

pp::CalculateQcMetricsOptions qc_step_options(Params& p);
// The filters also refuse, before anything runs, anything but one threshold.
pp::FilterCellsOptions filter_cells_step_options(Params& p);
pp::FilterGenesOptions filter_genes_step_options(Params& p);
pp::NormalizeTotalOptions normalize_total_step_options(Params& p);
pp::HighlyVariableGenesOptions hvg_step_options(Params& p);
pp::PcaOptions pca_step_options(Params& p);
// write's `compression` ('none' or 'gzip'): the gzip level, or -1 for none.
int write_compression_level(Params& p);

}  // namespace scanpp::pipeline
