#include "scanpp/pp/scrublet_simulate_doublets.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/core/random.hpp"

namespace scanpp::pp {

namespace {

constexpr uint64_t kThinStream = 0x5343525542ULL;   // per-entry thinning of the summed counts
constexpr uint64_t kTotalStream = 0x5343525543ULL;  // thinning of the removed UMIs (totals)

// Binomial(n, p) as a sum of Bernoulli draws: exact, and cheap at the size of
// single-cell counts.
int64_t binomial(random::Stream& rs, int64_t n, double p) {
  int64_t k = 0;
  for (int64_t t = 0; t < n; ++t) k += rs.uniform() < p ? 1 : 0;
  return k;
}

SparseMatrix sorted_csr(const SparseMatrix& m) {
  SparseMatrix csr = convert_format(m, SparseFormat::CSR);
  sort_indices(csr);
  return csr;
}

}  // namespace

std::vector<int64_t> sample_without_replacement(int64_t n_population, int64_t n_samples,
                                                random::NumpyRandomState& rs) {
  if (n_population < 0) throw ValueError("sample_without_replacement: n_population must be >= 0");
  if (n_samples < 0 || n_samples > n_population)
    throw ValueError("sample_without_replacement: n_samples (" + std::to_string(n_samples) +
                     ") must be between 0 and n_population (" + std::to_string(n_population) + ")");
  const double ratio = n_population != 0 ? static_cast<double>(n_samples) / static_cast<double>(n_population) : 1.0;
  if (ratio > 0.01 && ratio < 0.99) {
    std::vector<int64_t> p = rs.permutation(n_population);
    p.resize(static_cast<size_t>(n_samples));
    return p;
  }
  std::vector<int64_t> out(static_cast<size_t>(n_samples));
  if (ratio < 0.2) {
    // Tracking selection: redraw until an unseen index comes up.
    std::unordered_set<int64_t> selected;
    selected.reserve(static_cast<size_t>(n_samples) * 2);
    for (int64_t i = 0; i < n_samples; ++i) {
      int64_t j = rs.randint(0, n_population);
      while (selected.count(j)) j = rs.randint(0, n_population);
      selected.insert(j);
      out[static_cast<size_t>(i)] = j;
    }
    return out;
  }
  // Reservoir sampling.
  std::iota(out.begin(), out.end(), int64_t{0});
  for (int64_t i = n_samples; i < n_population; ++i) {
    const int64_t j = rs.randint(0, i + 1);
    if (j < n_samples) out[static_cast<size_t>(j)] = i;
  }
  return out;
}

SimulatedDoublets simulate_doublets(const SparseMatrix& counts, const std::vector<double>& total_counts,
                                    const ScrubletSimulateOptions& opt) {
  if (!(opt.sim_doublet_ratio > 0.0) || !std::isfinite(opt.sim_doublet_ratio))
    throw ValueError("scrublet_simulate_doublets: sim_doublet_ratio must be a positive number");
  if (!(opt.synthetic_doublet_umi_subsampling > 0.0) || opt.synthetic_doublet_umi_subsampling > 1.0)
    throw ValueError("scrublet_simulate_doublets: synthetic_doublet_umi_subsampling must be in (0, 1]");
  const SparseMatrix csr = sorted_csr(counts);
  const int64_t n_obs = csr.n_rows;
  if (n_obs < 1) throw ValueError("scrublet_simulate_doublets: the data have no cells");
  std::vector<double> totals = total_counts;
  if (totals.empty()) {
    totals.assign(static_cast<size_t>(n_obs), 0.0);
    for (int64_t i = 0; i < n_obs; ++i)
      for (int64_t k = csr.indptr[i]; k < csr.indptr[i + 1]; ++k) totals[static_cast<size_t>(i)] += csr.data.get_double(k);
  } else if (static_cast<int64_t>(totals.size()) != n_obs) {
    throw ValueError("scrublet_simulate_doublets: total_counts has " + std::to_string(totals.size()) +
                     " entries for " + std::to_string(n_obs) + " cells");
  }

  // numpy: int(n_obs * ratio) truncates.
  const int64_t n_sim = static_cast<int64_t>(static_cast<double>(n_obs) * opt.sim_doublet_ratio);
  random::NumpyRandomState rs(opt.random_state);
  const std::vector<int64_t> flat = sample_without_replacement(n_obs * n_obs, n_sim, rs);

  SimulatedDoublets r;
  r.parents.resize(static_cast<size_t>(n_sim) * 2);
  r.total_counts.resize(static_cast<size_t>(n_sim));
  for (int64_t s = 0; s < n_sim; ++s) {
    r.parents[2 * s] = flat[s] / n_obs;
    r.parents[2 * s + 1] = flat[s] % n_obs;
  }

  // Row s = row i + row j (sorted merge of the two column lists).
  std::vector<int64_t> indptr(static_cast<size_t>(n_sim) + 1, 0);
  for (int64_t s = 0; s < n_sim; ++s) {
    const int64_t i = r.parents[2 * s], j = r.parents[2 * s + 1];
    int64_t a = csr.indptr[i], b = csr.indptr[j], n = 0;
    const int64_t ae = csr.indptr[i + 1], be = csr.indptr[j + 1];
    while (a < ae || b < be) {
      if (b >= be || (a < ae && csr.indices[a] < csr.indices[b])) ++a;
      else if (a >= ae || csr.indices[b] < csr.indices[a]) ++b;
      else ++a, ++b;
      ++n;
    }
    indptr[s + 1] = indptr[s] + n;
  }
  std::vector<int32_t> indices(static_cast<size_t>(indptr[n_sim]));
  std::vector<double> values(indices.size());
  const bool thin = opt.synthetic_doublet_umi_subsampling < 1.0;
  const double rate = opt.synthetic_doublet_umi_subsampling;
  parallel_for(n_sim, [&](int64_t s) {
    const int64_t i = r.parents[2 * s], j = r.parents[2 * s + 1];
    int64_t a = csr.indptr[i], b = csr.indptr[j], o = indptr[s];
    const int64_t ae = csr.indptr[i + 1], be = csr.indptr[j + 1];
    while (a < ae || b < be) {
      if (b >= be || (a < ae && csr.indices[a] < csr.indices[b])) {
        indices[o] = csr.indices[a];
        values[o++] = csr.data.get_double(a++);
      } else if (a >= ae || csr.indices[b] < csr.indices[a]) {
        indices[o] = csr.indices[b];
        values[o++] = csr.data.get_double(b++);
      } else {
        indices[o] = csr.indices[a];
        values[o++] = csr.data.get_double(a++) + csr.data.get_double(b++);
      }
    }
    const double orig_total = totals[static_cast<size_t>(i)] + totals[static_cast<size_t>(j)];
    if (!thin) {
      r.total_counts[static_cast<size_t>(s)] = orig_total;
      return;
    }
    random::Stream entry_rs(opt.random_state, static_cast<uint64_t>(s), kThinStream);
    double current = 0.0;
    for (int64_t q = indptr[s]; q < indptr[s + 1]; ++q) {
      values[q] = static_cast<double>(binomial(entry_rs, std::llround(values[q]), rate));
      current += values[q];
    }
    // Scrublet's totals: the UMIs not kept are thinned once more and added back.
    random::Stream total_rs(opt.random_state, static_cast<uint64_t>(s), kTotalStream);
    const int64_t unsampled = std::max<int64_t>(std::llround(orig_total - current), 0);
    r.total_counts[static_cast<size_t>(s)] = current + static_cast<double>(binomial(total_rs, unsampled, rate));
  });

  r.counts.format = SparseFormat::CSR;
  r.counts.n_rows = n_sim;
  r.counts.n_cols = csr.n_cols;
  r.counts.indptr = std::move(indptr);
  r.counts.indices = std::move(indices);
  if (csr.dtype() == DType::Float32) {
    std::vector<float> f(values.begin(), values.end());
    r.counts.data = Array::from_vector(f);
  } else {
    r.counts.data = Array::from_vector(values);
  }
  return r;
}

SimulatedDoublets simulate_doublets(const Array& counts, const std::vector<double>& total_counts,
                                    const ScrubletSimulateOptions& opt) {
  if (counts.ndim() != 2) throw ValueError("scrublet_simulate_doublets: counts must be a 2-D matrix");
  return simulate_doublets(dense_to_csr(counts), total_counts, opt);
}

AnnData scrublet_simulate_doublets(const AnnData& adata, const ScrubletSimulateOptions& opt) {
  const Element* x = nullptr;
  if (opt.layer && *opt.layer != "X") {
    auto it = adata.layers.find(*opt.layer);
    if (it == adata.layers.end()) throw KeyError("scrublet_simulate_doublets: no layer '" + *opt.layer + "' in adata.layers");
    x = &it->second;
  } else {
    if (!adata.X) throw ValueError("scrublet_simulate_doublets: adata has no X");
    x = &*adata.X;
  }
  SimulatedDoublets sim;
  if (x->is<SparseMatrix>()) sim = simulate_doublets(x->get<SparseMatrix>(), {}, opt);
  else if (x->is<Array>()) sim = simulate_doublets(x->get<Array>(), {}, opt);
  else throw ValueError("scrublet_simulate_doublets: the counts must be a dense or sparse matrix");

  const int64_t n_sim = sim.n_sim();
  AnnData out(Element(std::move(sim.counts)));
  out.var = DataFrame(adata.var_names());
  out.obs.set_array("n_counts", sim.total_counts);
  out.obsm["doublet_parents"] = Array::from_vector(sim.parents, {n_sim, 2});
  Dict params;
  params["sim_doublet_ratio"] = Array::scalar(opt.sim_doublet_ratio);
  Dict scrub;
  scrub["parameters"] = std::move(params);
  out.uns["scrublet"] = std::move(scrub);
  return out;
}

}  // namespace scanpp::pp
