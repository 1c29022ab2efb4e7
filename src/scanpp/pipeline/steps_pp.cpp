// Pipeline steps for Scanpy's sc.pp functions.
#include "scanpp/pipeline/pipeline.hpp"

namespace scanpp::pipeline {

void add_pp_steps(StepTable&) {}

}  // namespace scanpp::pipeline
