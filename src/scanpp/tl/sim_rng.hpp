#pragma once
// tl.sim draws from numpy's legacy stream after np.random.seed(seed): Scanpy's
// bundled krumsiek11 data set is one such draw, and reproducing the stream
// lets scanpp's simulation give Scanpy's numbers exactly. The simulation is
// sequential (each Euler step depends on the previous), so nothing here runs
// in parallel and the result cannot depend on the thread count.
#include "scanpp/core/numpy_random.hpp"

namespace scanpp::tl {

using NumpyRandomState = scanpp::random::NumpyRandomState;

}  // namespace scanpp::tl
