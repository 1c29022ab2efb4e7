#pragma once
// tl.sim: stochastic simulation of a gene regulatory network (Scanpy's
// sc.tl.sim, after Wittmann et al. 2009 and Wolf et al. 2018).
//
// A Hill model turns each Boolean rule into a sum, over the rows of its truth
// table where the rule is true, of products of Hill functions of the inputs:
// an input that is on in that row contributes x²/(x²+θ²), one that is off
// θ²/(x²+θ²), with θ = 0.1/|coupling|. The state is integrated by Euler steps
//   x_{t+1} = x_t + invTimeStep·(sum − x_t) + noiseDyn·N(0, 1).
// Each realisation starts from the model's initial state; with `branching`,
// a realisation is kept only if its final state differs from every kept one
// in at least two genes by 0.25 or more (a new attractor, i.e. a new branch),
// trying up to nrRealizations + 1000 times. Every `step`-th time point of a
// kept realisation becomes a cell, with observation noise noiseObs·N(0, 1).
//
// Random numbers are numpy's legacy stream seeded with `seed`, consumed in
// Scanpy's order, so the result is Scanpy's: for krumsiek11 with its
// parameter file it is Scanpy's bundled krumsiek11 data set.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/tl/sim_model.hpp"

namespace scanpp::tl {

// Scanpy's parameters. An empty value takes the model's parameter file value
// (params_file = true, Scanpy's default); a value given nowhere is a ValueError.
struct SimOptions {
  bool params_file = true;
  std::optional<int64_t> tmax = std::nullopt;            // time steps per realisation
  std::optional<bool> branching = std::nullopt;          // keep only realisations reaching a new attractor
  std::optional<int64_t> nrRealizations = std::nullopt;  // realisations to keep
  std::optional<double> noiseObs = std::nullopt;         // observation (measurement) noise
  std::optional<double> noiseDyn = std::nullopt;         // dynamic noise per Euler step
  std::optional<int64_t> step = std::nullopt;            // keep every step-th time point
  std::optional<uint32_t> seed = std::nullopt;           // np.random.seed
};

// The parameters after resolution against the parameter file. For models
// named like krumsiek11, step is 5 whatever is asked, as in Scanpy.
struct SimSettings {
  int64_t tmax = 0;
  bool branching = false;
  int64_t nrRealizations = 0;
  double noiseObs = 0;
  double noiseDyn = 0;
  int64_t step = 1;
  uint32_t seed = 0;
};
SimSettings resolve_sim_settings(const SimModel& model, const SimOptions& opt);

// Kernel result: the kept time points of the kept realisations.
struct SimResult {
  int64_t n_obs = 0, n_vars = 0;
  std::vector<double> X;               // n_obs x n_vars, row-major, observation noise included
  std::vector<int64_t> time_index;     // row within its realisation (Scanpy's obs_names)
  std::vector<int64_t> time;           // Euler step of each row: time_index * step
  std::vector<int64_t> realization;    // 0-based index among the kept realisations
  int64_t n_realizations = 0;          // kept (fewer than asked if no new branch was found)
  int64_t n_trials = 0;                // realisations simulated, kept or not
};
SimResult simulate_grn(const SimModel& model, const SimSettings& settings);

// One Euler increment of the model at state x (length dim): Scanpy's
// Xdiff_hill / Xdiff_var.
void grn_increment(const SimModel& model, std::span<const double> x, std::span<double> out);

// sc.tl.sim on a parsed model. Returns cells x genes (float32, values at the
// 4-decimal precision of Scanpy's simulation file), obs_names = time index
// within the realisation as strings (not unique, as in Scanpy), var_names =
// the model's variables, obs['time'] (int64 Euler step) and
// obs['realization'] (int64), uns['iroot'] = 0 and uns['tmax_write'] =
// tmax / step.
AnnData sim(const SimModel& model, const SimOptions& opt = {});

}  // namespace scanpp::tl
