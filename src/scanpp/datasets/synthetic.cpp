#include "scanpp/datasets/synthetic.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "scanpp/core/parallel.hpp"
#include "scanpp/core/random.hpp"
#include "scanpp/io/h5ad_stream_writer.hpp"

namespace scanpp::datasets {

namespace {

// Walker's alias table: O(1) draws from a fixed discrete distribution.
struct Alias {
  std::vector<double> prob;
  std::vector<int32_t> alias;
  explicit Alias(const std::vector<double>& w) {
    const size_t n = w.size();
    prob.assign(n, 0);
    alias.assign(n, 0);
    const double total = std::accumulate(w.begin(), w.end(), 0.0);
    std::vector<double> scaled(n);
    std::vector<int32_t> small, large;
    for (size_t i = 0; i < n; ++i) {
      scaled[i] = w[i] * static_cast<double>(n) / total;
      (scaled[i] < 1 ? small : large).push_back(static_cast<int32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      int32_t s = small.back(), l = large.back();
      small.pop_back();
      prob[s] = scaled[s];
      alias[s] = l;
      scaled[l] -= 1 - scaled[s];
      if (scaled[l] < 1) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (auto i : large) prob[i] = 1;
    for (auto i : small) prob[i] = 1;
  }
  int32_t draw(random::Stream& r) const {
    const uint64_t u = r.next_u64();
    const size_t i = static_cast<size_t>((u >> 11) % prob.size());
    return random::to_unit(random::mix64(u)) < prob[i] ? static_cast<int32_t>(i) : alias[i];
  }
};

// Gamma(shape k, scale 1) by Marsaglia-Tsang (with the k < 1 boost).
double gamma_draw(random::Stream& r, double k) {
  if (k < 1) return gamma_draw(r, k + 1) * std::pow(r.uniform() + 1e-300, 1.0 / k);
  const double d = k - 1.0 / 3, c = 1 / std::sqrt(9 * d);
  while (true) {
    double x, v;
    do {
      x = r.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = r.uniform();
    if (u < 1 - 0.0331 * x * x * x * x || std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v;
  }
}

// Poisson by inversion for small means, normal approximation above 50.
int64_t poisson_draw(random::Stream& r, double mu) {
  if (mu > 50) return std::max<int64_t>(0, std::llround(mu + std::sqrt(mu) * r.normal()));
  double l = std::exp(-mu), p = 1;
  int64_t k = 0;
  do {
    ++k;
    p *= r.uniform();
  } while (p > l);
  return k - 1;
}

constexpr int kModuleSize = 100;

struct Model {
  SyntheticOptions opt;
  int n_modules;
  std::vector<double> cluster_weight;                  // cluster proportions
  std::vector<std::vector<double>> module_weight;      // [cluster][module]
  std::vector<std::vector<Alias>> gene_in_module;      // [cluster][module]
  explicit Model(const SyntheticOptions& o) : opt(o) {
    if (o.n_cells < 1 || o.n_genes < o.n_mt_genes + 1 || o.n_clusters < 1)
      throw ValueError("synthetic: need at least one cell, one cluster and more genes than MT genes");
    n_modules = static_cast<int>((o.n_genes + kModuleSize - 1) / kModuleSize);
    random::Stream g(o.seed, 0, 1);
    // Base expression: heavy-tailed log-normal weights, MT genes high.
    std::vector<double> base(static_cast<size_t>(o.n_genes));
    for (int64_t j = 0; j < o.n_genes; ++j) base[j] = std::exp(g.normal(0, 1.6));
    for (int j = 0; j < o.n_mt_genes; ++j) base[j] = std::exp(g.normal(5.9, 0.6));
    for (int k = 0; k < o.n_clusters; ++k) cluster_weight.push_back(std::pow(k + 1.0, -0.6));
    for (int k = 0; k < o.n_clusters; ++k) {
      random::Stream c(o.seed, static_cast<uint64_t>(k) + 1, 2);
      std::vector<double> w = base;
      // Each cluster up-regulates ~6% of genes (its markers) and silences ~3%.
      for (int64_t j = o.n_mt_genes; j < o.n_genes; ++j) {
        const double u = c.uniform();
        if (u < 0.06) w[j] *= std::exp(1.0 + 1.5 * std::fabs(c.normal()));
        else if (u < 0.09) w[j] *= 0.05;
      }
      std::vector<double> mw(static_cast<size_t>(n_modules), 0);
      std::vector<Alias> tables;
      for (int m = 0; m < n_modules; ++m) {
        const int64_t a = static_cast<int64_t>(m) * kModuleSize, b = std::min(o.n_genes, a + kModuleSize);
        std::vector<double> sub(w.begin() + a, w.begin() + b);
        mw[m] = std::accumulate(sub.begin(), sub.end(), 0.0);
        tables.emplace_back(sub);
      }
      module_weight.push_back(std::move(mw));
      gene_in_module.push_back(std::move(tables));
    }
  }

  int cluster_of(int64_t i) const {
    random::Stream r(opt.seed, static_cast<uint64_t>(i), 3);
    const double total = std::accumulate(cluster_weight.begin(), cluster_weight.end(), 0.0);
    double u = r.uniform() * total;
    for (int k = 0; k < opt.n_clusters; ++k) {
      u -= cluster_weight[k];
      if (u < 0) return k;
    }
    return opt.n_clusters - 1;
  }

  // One cell's counts as sorted (gene, count) pairs.
  void cell(int64_t i, std::vector<int32_t>& genes, std::vector<float>& counts, std::vector<int32_t>& scratch) const {
    const int k = cluster_of(i);
    random::Stream r(opt.seed, static_cast<uint64_t>(i), 4);
    const double lib = opt.mean_umis * std::exp(opt.library_sdlog * r.normal());
    // Module activities: mean-one gamma noise gives negative-binomial counts
    // within a module and correlated genes, as real programs have.
    const double shape = 1 / opt.dispersion;
    std::vector<double> act(static_cast<size_t>(n_modules));
    double total = 0;
    for (int m = 0; m < n_modules; ++m) {
      act[m] = module_weight[k][m] * gamma_draw(r, shape) / shape;
      total += act[m];
    }
    genes.clear();
    counts.clear();
    for (int m = 0; m < n_modules; ++m) {
      const int64_t n = poisson_draw(r, lib * act[m] / total);
      if (n == 0) continue;
      const int32_t base = m * kModuleSize;
      for (int64_t t = 0; t < n; ++t) {
        const int32_t gidx = base + gene_in_module[k][m].draw(r);
        if (scratch[gidx]++ == 0) genes.push_back(gidx);
      }
    }
    std::sort(genes.begin(), genes.end());
    for (int32_t gidx : genes) {
      counts.push_back(static_cast<float>(scratch[gidx]));
      scratch[gidx] = 0;
    }
  }

  SparseMatrix block(int64_t start, int64_t end) const {
    const int64_t n = end - start;
    std::vector<std::vector<int32_t>> g(static_cast<size_t>(n));
    std::vector<std::vector<float>> c(static_cast<size_t>(n));
    parallel_blocks(n, 256, [&](int64_t a, int64_t b) {
      std::vector<int32_t> scratch(static_cast<size_t>(opt.n_genes), 0);
      for (int64_t i = a; i < b; ++i) cell(start + i, g[i], c[i], scratch);
    });
    SparseMatrix m;
    m.n_rows = n;
    m.n_cols = opt.n_genes;
    m.indptr.assign(static_cast<size_t>(n) + 1, 0);
    for (int64_t i = 0; i < n; ++i) m.indptr[i + 1] = m.indptr[i] + static_cast<int64_t>(g[i].size());
    m.indices.resize(static_cast<size_t>(m.indptr[n]));
    m.data = Array(DType::Float32, {m.indptr[n]});
    auto d = m.data.as<float>();
    for (int64_t i = 0; i < n; ++i) {
      std::copy(g[i].begin(), g[i].end(), m.indices.begin() + m.indptr[i]);
      std::copy(c[i].begin(), c[i].end(), d.begin() + m.indptr[i]);
    }
    return m;
  }

  DataFrame obs(int64_t n) const {
    static const char* acgt = "ACGT";
    std::vector<std::string> names(static_cast<size_t>(n));
    std::vector<std::string> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      uint64_t h = random::hash3(opt.seed, static_cast<uint64_t>(i), 99);
      std::string bc(16, 'A');
      for (int p = 0; p < 16; ++p) bc[p] = acgt[(h >> (2 * p)) & 3];
      names[i] = bc + "-" + std::to_string(i / (1 << 24) + 1) + "_" + std::to_string(i);
      labels[i] = std::to_string(cluster_of(i));
    }
    DataFrame df(std::move(names));
    std::vector<std::string> cats;
    for (int k = 0; k < opt.n_clusters; ++k) cats.push_back(std::to_string(k));
    df.set("cluster", Categorical::from_strings(labels, cats));
    return df;
  }

  DataFrame var() const {
    std::vector<std::string> names(static_cast<size_t>(opt.n_genes)), ids(static_cast<size_t>(opt.n_genes));
    for (int64_t j = 0; j < opt.n_genes; ++j) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "SYNTH%07lld", static_cast<long long>(j));
      ids[j] = buf;
      names[j] = j < opt.n_mt_genes ? "MT-G" + std::to_string(j + 1) : "Gene" + std::to_string(j);
    }
    DataFrame df(std::move(names));
    df.set("gene_ids", ids);
    return df;
  }
};

}  // namespace

AnnData synthetic(const SyntheticOptions& opt) {
  Model model(opt);
  AnnData ad{Element(model.block(0, opt.n_cells))};
  ad.obs = model.obs(opt.n_cells);
  ad.var = model.var();
  return ad;
}

void write_synthetic_h5ad(const std::string& path, const SyntheticOptions& opt, int gzip_level) {
  Model model(opt);
  io::H5adCsrWriter w(path, opt.n_genes, DType::Float32, {.compression = gzip_level});
  const int64_t step = std::max<int64_t>(1, opt.block_rows);
  for (int64_t s = 0; s < opt.n_cells; s += step) w.append(model.block(s, std::min(opt.n_cells, s + step)));
  w.finish(model.obs(opt.n_cells), model.var());
}

}  // namespace scanpp::datasets
