#include "scanpp/tl/sim.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "scanpp/core/error.hpp"
#include "scanpp/tl/sim_rng.hpp"

namespace scanpp::tl {

namespace {

// Scanpy tries this many extra realisations when looking for new branches.
constexpr int64_t kMaxRestarts = 1000;
// Two final states are the same attractor unless at least two genes differ by this much.
constexpr double kBranchThreshold = 0.25;

bool name_has(const SimModel& m, const char* key) { return m.name.find(key) != std::string::npos; }

template <class T>
T pick(const std::optional<T>& given, const std::optional<T>& from_file, bool params_file, const char* name,
       const SimModel& m) {
  if (given) return *given;
  if (params_file && from_file) return *from_file;
  throw ValueError(std::string("sim: no value for ") + name + " (give it, or put it in " + m.name +
                   "_params.txt beside " + m.source + ")");
}

// Hill model with each rule's parents, squared thresholds and true rows laid
// out for the inner loop.
struct HillTerms {
  struct Child {
    std::vector<int64_t> parents;
    std::vector<double> theta2;
    std::vector<uint32_t> rows;
  };
  std::vector<Child> child;
};

HillTerms hill_terms(const SimModel& m) {
  HillTerms h;
  h.child.resize(static_cast<size_t>(m.dim()));
  for (int64_t c = 0; c < m.dim(); ++c) {
    const auto& rule = m.rules[static_cast<size_t>(c)];
    auto& ch = h.child[static_cast<size_t>(c)];
    for (int p : rule.parents) {
      const double theta = 0.1 / std::abs(m.coupl(c, p));
      ch.parents.push_back(p);
      ch.theta2.push_back(theta * theta);
    }
    ch.rows = rule.true_rows;
  }
  return h;
}

void increment(const SimModel& m, const HillTerms& h, const double* x, double* out) {
  const int64_t dim = m.dim();
  if (m.model_type == SimModelType::Var) {
    for (int64_t c = 0; c < dim; ++c) {
      double s = 0.0;
      for (int64_t p = 0; p < dim; ++p) s += m.coupl(c, p) * x[p];
      out[c] = -x[c] + s;
    }
    return;
  }
  const double inv = *m.inv_time_step;
  for (int64_t c = 0; c < dim; ++c) {
    const auto& ch = h.child[static_cast<size_t>(c)];
    out[c] = 0.0;
    // A variable without inputs keeps its value (only noise moves it).
    if (ch.parents.empty()) continue;
    const size_t k = ch.parents.size();
    double syn = 0.0;
    for (uint32_t row : ch.rows) {
      double prod = 1.0;
      for (size_t p = 0; p < k; ++p) {
        const double xv = x[ch.parents[p]];
        const double x2 = xv * xv;
        const bool on = ((row >> (k - 1 - p)) & 1u) != 0;
        prod *= on ? x2 / (x2 + ch.theta2[p]) : ch.theta2[p] / (x2 + ch.theta2[p]);
      }
      syn += prod;
    }
    out[c] = inv * (syn - x[c]);
  }
}

// Draws Scanpy makes before the first realisation of a model that is not
// krumsiek11: a random coupling matrix (10 tries for spectral radius < 1) and
// a random adjacency, both discarded for file models, then the initial state.
// They are reproduced only to stay on numpy's stream.
std::vector<double> generic_preamble(const SimModel& m, NumpyRandomState& rng) {
  const int64_t dim = m.dim();
  if (!name_has(m, "hill")) {
    Eigen::MatrixXd c(dim, dim);
    for (int attempt = 0; attempt < 10; ++attempt) {
      for (int64_t gp = 0; gp < dim; ++gp)
        for (int64_t g = 0; g < dim; ++g) c(gp, g) = g != gp ? (rng.random_double() < 0.4 ? 0.7 : 0.0) : 0.7;
      Eigen::EigenSolver<Eigen::MatrixXd> es(c, false);
      double max_re = -1e300;
      for (Eigen::Index i = 0; i < es.eigenvalues().size(); ++i) max_re = std::max(max_re, es.eigenvalues()[i].real());
      if (max_re < 1) break;
    }
    for (int64_t i = 0; i < dim; ++i) {
      if (rng.binomial_one(0.4) == 0) {
        rng.randint(1, 3);
        rng.permutation(dim);
      }
    }
  }
  std::vector<double> x0(static_cast<size_t>(dim));
  for (auto& v : x0) v = rng.random_double();
  return x0;
}

// Scanpy's text file keeps 4 decimals ("%7.4f") and is read back as float32.
float four_decimals(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return static_cast<float>(std::strtod(buf, nullptr));
}

}  // namespace

SimSettings resolve_sim_settings(const SimModel& m, const SimOptions& o) {
  const SimParams& f = m.params;
  const bool pf = o.params_file;
  SimSettings s;
  s.tmax = pick(o.tmax, f.tmax, pf, "tmax", m);
  s.branching = pick(o.branching, f.branching, pf, "branching", m);
  s.nrRealizations = pick(o.nrRealizations, f.nrRealizations, pf, "nrRealizations", m);
  s.noiseObs = pick(o.noiseObs, f.noiseObs, pf, "noiseObs", m);
  s.noiseDyn = pick(o.noiseDyn, f.noiseDyn, pf, "noiseDyn", m);
  s.step = pick(o.step, f.step, pf, "step", m);
  s.seed = pick(o.seed, f.seed, pf, "seed", m);
  if (name_has(m, "krumsiek11")) s.step = 5;  // Scanpy fixes it for this model
  if (s.tmax < 1) throw ValueError("sim: tmax must be at least 1");
  if (s.step < 1) throw ValueError("sim: step must be at least 1");
  if (s.nrRealizations < 1) throw ValueError("sim: nrRealizations must be at least 1");
  if (!(s.noiseObs >= 0) || !(s.noiseDyn >= 0) || !std::isfinite(s.noiseObs) || !std::isfinite(s.noiseDyn))
    throw ValueError("sim: noiseObs and noiseDyn must be finite and non-negative");
  return s;
}

void grn_increment(const SimModel& model, std::span<const double> x, std::span<double> out) {
  if (static_cast<int64_t>(x.size()) != model.dim() || static_cast<int64_t>(out.size()) != model.dim())
    throw ValueError("grn_increment: state length must equal the number of model variables");
  increment(model, hill_terms(model), x.data(), out.data());
}

SimResult simulate_grn(const SimModel& m, const SimSettings& s) {
  const int64_t dim = m.dim();
  if (dim < 1) throw ValueError("sim: the model has no variables");
  if (m.model_type == SimModelType::Hill && !m.inv_time_step)
    throw ValueError("sim: hill model " + m.name + " has no invTimeStep");
  if (s.branching && dim < 2)
    throw ValueError("sim: branching compares two genes of the final states; the model has one variable");
  const bool krumsiek = name_has(m, "krumsiek11");
  const bool toggle = name_has(m, "toggleswitch");
  int64_t g_gata2 = -1, g_pu1 = -1, g_cebpa = -1;
  if (krumsiek) {
    g_gata2 = m.index_of("Gata2");
    g_pu1 = m.index_of("Pu.1");
    g_cebpa = m.index_of("Cebpa");
    if (g_gata2 < 0 || g_pu1 < 0 || g_cebpa < 0)
      throw InputError(m.source, "", "a krumsiek11 model must define Gata2, Pu.1 and Cebpa (its initial state)");
  }

  NumpyRandomState rng(s.seed);
  const HillTerms h = hill_terms(m);
  std::vector<double> x0;
  if (!krumsiek) x0 = generic_preamble(m, rng);

  const auto tmax = static_cast<size_t>(s.tmax);
  const auto d = static_cast<size_t>(dim);
  const int64_t rows_kept = (s.tmax + s.step - 1) / s.step;
  std::vector<double> X(tmax * d), diff(d);
  std::vector<std::vector<double>> finals;  // final states of kept realisations
  SimResult r;
  r.n_vars = dim;

  for (int64_t restart = 0; restart < s.nrRealizations + kMaxRestarts; ++restart) {
    if (krumsiek) {
      // Scanpy draws a uniform initial state first and then replaces it.
      for (size_t i = 0; i < d; ++i) (void)rng.random_double();
      x0.assign(d, 0.0);
      x0[static_cast<size_t>(g_gata2)] = 0.8;
      x0[static_cast<size_t>(g_pu1)] = 0.8;
      x0[static_cast<size_t>(g_cebpa)] = 0.8;
      for (size_t i = 0; i < d; ++i) x0[i] += 0.001 * rng.gauss();
    } else if (toggle) {
      // Slightly broken symmetry around (0.8, 0.8, ...).
      x0.resize(d);
      for (size_t i = 0; i < d; ++i) x0[i] = 0.8 + 0.01 * rng.gauss();
    }
    for (size_t i = 0; i < d; ++i) X[i] = x0[i] + s.noiseDyn * rng.gauss();
    for (size_t t = 1; t < tmax; ++t) {
      const double* prev = &X[(t - 1) * d];
      double* cur = &X[t * d];
      increment(m, h, prev, diff.data());
      for (size_t i = 0; i < d; ++i) cur[i] = prev[i] + diff[i];
      for (size_t i = 0; i < d; ++i) cur[i] += s.noiseDyn * rng.gauss();
    }
    ++r.n_trials;

    bool keep = true;
    if (s.branching && restart > 0) {
      const double* last = &X[(tmax - 1) * d];
      std::vector<double> delta(d);
      for (const auto& f : finals) {
        for (size_t i = 0; i < d; ++i) delta[i] = std::abs(last[i] - f[i]);
        std::nth_element(delta.begin(), delta.end() - 2, delta.end());
        if (delta[d - 2] < kBranchThreshold) keep = false;
      }
    }
    if (keep) {
      // Observation noise goes onto the kept rows in place; Scanpy's kept
      // final state (for later branch checks) is the same array, so it sees
      // that noise when the last time point is a kept row.
      for (int64_t k = 0; k < rows_kept; ++k) {
        double* row = &X[static_cast<size_t>(k * s.step) * d];
        for (size_t i = 0; i < d; ++i) row[i] += s.noiseObs * rng.gauss();
        r.X.insert(r.X.end(), row, row + d);
        r.time_index.push_back(k);
        r.time.push_back(k * s.step);
        r.realization.push_back(r.n_realizations);
      }
      if (s.branching) finals.emplace_back(&X[(tmax - 1) * d], &X[(tmax - 1) * d] + d);
      ++r.n_realizations;
    }
    if (r.n_realizations >= s.nrRealizations) break;
  }
  r.n_obs = static_cast<int64_t>(r.time.size());
  return r;
}

AnnData sim(const SimModel& model, const SimOptions& opt) {
  const SimSettings s = resolve_sim_settings(model, opt);
  const SimResult r = simulate_grn(model, s);
  if (r.n_realizations < s.nrRealizations)
    std::cerr << "scanpp warning: sim: only " << r.n_realizations << " of " << s.nrRealizations
              << " realisations reached a new branch in " << r.n_trials << " trials\n";
  std::vector<float> x(r.X.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = four_decimals(r.X[i]);
  AnnData a(Element(Array::from_vector(x, {r.n_obs, r.n_vars})));
  std::vector<std::string> names;
  names.reserve(r.time_index.size());
  for (int64_t t : r.time_index) names.push_back(std::to_string(t));
  a.obs.set_index(std::move(names));
  a.obs.set_array("time", r.time);
  a.obs.set_array("realization", r.realization);
  a.var.set_index(model.var_names);
  a.uns["iroot"] = Array::scalar<int64_t>(0);
  a.uns["tmax_write"] = Array::scalar<double>(static_cast<double>(s.tmax) / static_cast<double>(s.step));
  return a;
}

}  // namespace scanpp::tl
