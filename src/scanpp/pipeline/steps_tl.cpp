// Pipeline steps for Scanpy's sc.tl functions and the datasets.
#include "scanpp/pipeline/pipeline.hpp"

namespace scanpp::pipeline {

void add_tl_steps(StepTable&) {}

}  // namespace scanpp::pipeline
