#include "scanpp/pp/knn.hpp"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <utility>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pp/detail/dot_panel.hpp"

namespace scanpp::pp {

namespace {

// Query rows per parallel task and reference rows per panel. Fixed sizes, so
// the work split (and therefore every sum) is the same for any thread count.
constexpr int kQueryBlock = 32;
constexpr int kRefBlock = 256;

bool dot_based(KnnMetric m) {
  return m == KnnMetric::Euclidean || m == KnnMetric::Cosine || m == KnnMetric::Correlation;
}

// The input widened to double once, rows transformed where the metric is a
// dot product of transformed rows (cosine: unit rows; correlation: centred
// unit rows), plus squared row norms for the euclidean expansion.
struct Prepared {
  int64_t n = 0;
  int d = 0;
  bool float32_input = false;
  std::vector<double> x;   // n x d
  std::vector<double> sq;  // n (euclidean only)
};

Prepared prepare(const Array& X, KnnMetric metric) {
  if (X.ndim() != 2) throw ValueError("knn: X must be a 2-D matrix (cells x dimensions)");
  Prepared p;
  p.n = X.shape()[0];
  const int64_t d = X.shape()[1];
  if (d < 1) throw ValueError("knn: X has no columns");
  if (d > std::numeric_limits<int>::max()) throw ValueError("knn: too many columns");
  p.d = static_cast<int>(d);
  p.float32_input = X.dtype() == DType::Float32;
  p.x.resize(static_cast<size_t>(p.n * d));
  if (p.float32_input) {
    auto s = X.as<float>();
    std::copy(s.begin(), s.end(), p.x.begin());
  } else {
    Array c = X.astype(DType::Float64);
    auto s = c.as<double>();
    std::copy(s.begin(), s.end(), p.x.begin());
  }
  for (double v : p.x)
    if (!std::isfinite(v)) throw InputError("", "knn input", "contains NaN or infinite values");

  if (metric == KnnMetric::Cosine || metric == KnnMetric::Correlation) {
    for (int64_t i = 0; i < p.n; ++i) {
      double* r = p.x.data() + i * d;
      if (metric == KnnMetric::Correlation) {
        double mean = 0;
        for (int64_t t = 0; t < d; ++t) mean += r[t];
        mean /= static_cast<double>(d);
        for (int64_t t = 0; t < d; ++t) r[t] -= mean;
      }
      double nrm = 0;
      for (int64_t t = 0; t < d; ++t) nrm += r[t] * r[t];
      nrm = std::sqrt(nrm);
      // A zero row stays zero (scikit-learn's normalize), so its distance to
      // everything is 1.
      if (nrm > 0)
        for (int64_t t = 0; t < d; ++t) r[t] /= nrm;
    }
  }
  if (metric == KnnMetric::Euclidean) {
    p.sq.resize(static_cast<size_t>(p.n));
    for (int64_t i = 0; i < p.n; ++i) {
      const double* r = p.x.data() + i * d;
      double s = 0;
      for (int64_t t = 0; t < d; ++t) s += r[t] * r[t];
      p.sq[static_cast<size_t>(i)] = s;
    }
  }
  return p;
}

// Reference rows transposed into panels of kRefBlock columns (d x kRefBlock,
// zero padded) so the inner loops run over contiguous reference points.
std::vector<double> make_panels(const Prepared& p) {
  const int64_t nb = (p.n + kRefBlock - 1) / kRefBlock;
  std::vector<double> panels(static_cast<size_t>(nb * p.d * kRefBlock), 0.0);
  for (int64_t i = 0; i < p.n; ++i) {
    const int64_t b = i / kRefBlock, j = i % kRefBlock;
    double* panel = panels.data() + b * p.d * kRefBlock;
    for (int t = 0; t < p.d; ++t) panel[static_cast<int64_t>(t) * kRefBlock + j] = p.x[static_cast<size_t>(i * p.d + t)];
  }
  return panels;
}

__attribute__((target_clones("avx2", "default"))) void l1_block(const double* xq, int nq, const double* panel,
                                                                int nr, int d, double* out) {
  for (int q = 0; q < nq; ++q) {
    double* o = out + static_cast<int64_t>(q) * kRefBlock;
    std::fill(o, o + kRefBlock, 0.0);
    const double* xr = xq + static_cast<int64_t>(q) * d;
    for (int t = 0; t < d; ++t) {
      const double a = xr[t];
      const double* pr = panel + static_cast<int64_t>(t) * kRefBlock;
      for (int j = 0; j < nr; ++j) o[j] += std::fabs(a - pr[j]);
    }
  }
}

__attribute__((target_clones("avx2", "default"))) void linf_block(const double* xq, int nq, const double* panel,
                                                                  int nr, int d, double* out) {
  for (int q = 0; q < nq; ++q) {
    double* o = out + static_cast<int64_t>(q) * kRefBlock;
    std::fill(o, o + kRefBlock, 0.0);
    const double* xr = xq + static_cast<int64_t>(q) * d;
    for (int t = 0; t < d; ++t) {
      const double a = xr[t];
      const double* pr = panel + static_cast<int64_t>(t) * kRefBlock;
      for (int j = 0; j < nr; ++j) o[j] = std::max(o[j], std::fabs(a - pr[j]));
    }
  }
}

// Ranking key of a pair from the block score: squared distance for
// euclidean (scikit-learn's |x|^2 - 2 x.y + |y|^2, clipped at 0), the
// distance itself otherwise.
inline double pair_key(KnnMetric m, double score, double sq_i, double sq_j) {
  switch (m) {
    case KnnMetric::Euclidean: return std::max(0.0, sq_i - 2.0 * score + sq_j);
    case KnnMetric::Cosine:
    case KnnMetric::Correlation: return std::clamp(1.0 - score, 0.0, 2.0);
    default: return score;
  }
}

// Distance reported for a key.
inline double key_to_distance(KnnMetric m, double key, bool float32_input) {
  if (m != KnnMetric::Euclidean) return key;
  // scikit-learn 1.2 (ArgKmin on float32 data) hands back the float32-rounded
  // squared distance, square-rooted in double: bit-identical to the golden.
  return float32_input ? std::sqrt(static_cast<double>(static_cast<float>(key))) : std::sqrt(key);
}

// Bounded max-heap of the m best (key, index) pairs; the lexicographic order
// makes the kept set independent of the order candidates arrive in.
using Cand = std::pair<double, int32_t>;

inline void heap_offer(std::vector<Cand>& heap, size_t m, Cand c) {
  if (heap.size() < m) {
    heap.push_back(c);
    std::push_heap(heap.begin(), heap.end());
  } else if (m > 0 && c < heap.front()) {
    std::pop_heap(heap.begin(), heap.end());
    heap.back() = c;
    std::push_heap(heap.begin(), heap.end());
  }
}

void check_k(int k, int64_t n) {
  if (k < 1) throw ValueError("knn: k must be at least 1 (it counts the cell itself), got " + std::to_string(k));
  if (k > n)
    throw ValueError("knn: k = " + std::to_string(k) + " exceeds the number of cells (" + std::to_string(n) + ")");
}

// Exact search for the query rows `queries` (each excluded from its own
// candidate list and put first at distance 0).
KnnResult exact_search(const Prepared& p, std::span<const int64_t> queries, int k, KnnMetric metric) {
  KnnResult r;
  r.n = static_cast<int64_t>(queries.size());
  r.k = k;
  r.indices.assign(static_cast<size_t>(r.n) * k, 0);
  r.distances.assign(static_cast<size_t>(r.n) * k, 0.0);
  const std::vector<double> panels = make_panels(p);
  const int64_t nref_blocks = (p.n + kRefBlock - 1) / kRefBlock;
  const size_t m = static_cast<size_t>(k - 1);
  const int d = p.d;

  parallel_blocks(r.n, kQueryBlock, [&](int64_t qa, int64_t qb) {
    const int nq = static_cast<int>(qb - qa);
    const int nq4 = (nq + 3) / 4 * 4;  // dot_block works on quads of rows; padding rows are zero
    std::vector<double> xq(static_cast<size_t>(nq4) * d, 0.0);
    for (int q = 0; q < nq; ++q)
      std::copy_n(p.x.data() + queries[static_cast<size_t>(qa + q)] * d, d, xq.data() + static_cast<size_t>(q) * d);
    std::vector<double> scores(static_cast<size_t>(nq4) * kRefBlock);
    std::vector<std::vector<Cand>> heaps(static_cast<size_t>(nq));
    for (auto& h : heaps) h.reserve(m + 1);
    if (m > 0) {
      for (int64_t b = 0; b < nref_blocks; ++b) {
        const int64_t j0 = b * kRefBlock;
        const int nr = static_cast<int>(std::min<int64_t>(kRefBlock, p.n - j0));
        const double* panel = panels.data() + b * d * kRefBlock;
        if (dot_based(metric)) detail::dot_panel(xq.data(), nq4, d, panel, kRefBlock, scores.data(), kRefBlock);
        else if (metric == KnnMetric::Manhattan) l1_block(xq.data(), nq, panel, nr, d, scores.data());
        else linf_block(xq.data(), nq, panel, nr, d, scores.data());
        for (int q = 0; q < nq; ++q) {
          const int64_t self = queries[static_cast<size_t>(qa + q)];
          const double sq_i = metric == KnnMetric::Euclidean ? p.sq[static_cast<size_t>(self)] : 0.0;
          auto& heap = heaps[static_cast<size_t>(q)];
          const double* s = scores.data() + static_cast<size_t>(q) * kRefBlock;
          for (int j = 0; j < nr; ++j) {
            const int64_t col = j0 + j;
            if (col == self) continue;
            const double sq_j = metric == KnnMetric::Euclidean ? p.sq[static_cast<size_t>(col)] : 0.0;
            const Cand c{pair_key(metric, s[j], sq_i, sq_j), static_cast<int32_t>(col)};
            if (heap.size() == m && !(c < heap.front())) continue;
            heap_offer(heap, m, c);
          }
        }
      }
    }
    for (int q = 0; q < nq; ++q) {
      auto& heap = heaps[static_cast<size_t>(q)];
      std::sort_heap(heap.begin(), heap.end());
      const size_t row = static_cast<size_t>(qa + q) * k;
      r.indices[row] = static_cast<int32_t>(queries[static_cast<size_t>(qa + q)]);
      r.distances[row] = 0.0;
      for (size_t j = 0; j < heap.size(); ++j) {
        r.indices[row + 1 + j] = heap[j].second;
        r.distances[row + 1 + j] = key_to_distance(metric, heap[j].first, p.float32_input);
      }
    }
  });
  return r;
}

// Exact key between two rows of the prepared (double) data, computed
// directly; used to re-score HNSW candidates.
double direct_key(const Prepared& p, KnnMetric metric, int64_t i, int64_t j) {
  const double* a = p.x.data() + i * p.d;
  const double* b = p.x.data() + j * p.d;
  double s = 0;
  switch (metric) {
    case KnnMetric::Euclidean:
      for (int t = 0; t < p.d; ++t) s += (a[t] - b[t]) * (a[t] - b[t]);
      return s;
    case KnnMetric::Cosine:
    case KnnMetric::Correlation:
      for (int t = 0; t < p.d; ++t) s += a[t] * b[t];
      return std::clamp(1.0 - s, 0.0, 2.0);
    case KnnMetric::Manhattan:
      for (int t = 0; t < p.d; ++t) s += std::fabs(a[t] - b[t]);
      return s;
    case KnnMetric::Chebyshev:
      for (int t = 0; t < p.d; ++t) s = std::max(s, std::fabs(a[t] - b[t]));
      return s;
  }
  return s;
}

// hnswlib spaces for the metrics it lacks (L1 and L-infinity on float32).
float l1_dist(const void* a, const void* b, const void* param) {
  const float* x = static_cast<const float*>(a);
  const float* y = static_cast<const float*>(b);
  const size_t d = *static_cast<const size_t*>(param);
  float s = 0;
  for (size_t t = 0; t < d; ++t) s += std::fabs(x[t] - y[t]);
  return s;
}
float linf_dist(const void* a, const void* b, const void* param) {
  const float* x = static_cast<const float*>(a);
  const float* y = static_cast<const float*>(b);
  const size_t d = *static_cast<const size_t*>(param);
  float s = 0;
  for (size_t t = 0; t < d; ++t) s = std::max(s, std::fabs(x[t] - y[t]));
  return s;
}

class FuncSpace : public hnswlib::SpaceInterface<float> {
 public:
  FuncSpace(size_t dim, hnswlib::DISTFUNC<float> f) : dim_(dim), f_(f) {}
  size_t get_data_size() override { return dim_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return f_; }
  void* get_dist_func_param() override { return &dim_; }

 private:
  size_t dim_;
  hnswlib::DISTFUNC<float> f_;
};

std::unique_ptr<hnswlib::SpaceInterface<float>> make_space(KnnMetric m, size_t d) {
  switch (m) {
    case KnnMetric::Euclidean: return std::make_unique<hnswlib::L2Space>(d);
    case KnnMetric::Cosine:
    case KnnMetric::Correlation: return std::make_unique<hnswlib::InnerProductSpace>(d);  // unit rows
    case KnnMetric::Manhattan: return std::make_unique<FuncSpace>(d, l1_dist);
    case KnnMetric::Chebyshev: return std::make_unique<FuncSpace>(d, linf_dist);
  }
  throw ValueError("knn: unknown metric");
}

// Each cell's candidates (from either index), re-scored with the exact
// double-precision key and sorted by (key, index): the row is then a pure
// function of the candidate set.
KnnResult rescore(const Prepared& p, int k, KnnMetric metric,
                  const std::function<void(int64_t, std::vector<int32_t>&)>& candidates) {
  KnnResult r;
  r.n = p.n;
  r.k = k;
  r.approximate = true;
  r.indices.assign(static_cast<size_t>(r.n) * k, 0);
  r.distances.assign(static_cast<size_t>(r.n) * k, 0.0);
  const size_t m = static_cast<size_t>(k - 1);
  parallel_blocks(p.n, 256, [&](int64_t a, int64_t b) {
    std::vector<int32_t> found;
    std::vector<Cand> cands;
    for (int64_t i = a; i < b; ++i) {
      found.clear();
      candidates(i, found);
      cands.clear();
      for (int32_t lab : found)
        if (lab != i) cands.push_back({direct_key(p, metric, i, lab), lab});
      std::sort(cands.begin(), cands.end());
      cands.erase(std::unique(cands.begin(), cands.end()), cands.end());
      const size_t row = static_cast<size_t>(i) * k;
      r.indices[row] = static_cast<int32_t>(i);
      const size_t got = std::min(m, cands.size());
      for (size_t j = 0; j < got; ++j) {
        r.indices[row + 1 + j] = cands[j].second;
        r.distances[row + 1 + j] = metric == KnnMetric::Euclidean ? std::sqrt(cands[j].first) : cands[j].first;
      }
      // HNSW can return fewer than k-1 others only for tiny graphs; pad with
      // the self index at infinite distance so the row is still well formed.
      for (size_t j = got; j < m; ++j) {
        r.indices[row + 1 + j] = static_cast<int32_t>(i);
        r.distances[row + 1 + j] = std::numeric_limits<double>::infinity();
      }
    }
  });
  return r;
}

KnnResult hnsw_search(const Prepared& p, int k, const KnnOptions& opt) {
  if (opt.hnsw.M < 2) throw ValueError("knn: hnsw M must be at least 2");
  if (opt.hnsw.ef_construction < 1) throw ValueError("knn: hnsw ef_construction must be positive");
  const int ef = std::max(opt.hnsw.ef.value_or(std::max(64, 3 * k)), k + 1);
  const size_t d = static_cast<size_t>(p.d);
  std::vector<float> xf(p.x.begin(), p.x.end());
  auto space = make_space(opt.metric, d);
  hnswlib::HierarchicalNSW<float> index(space.get(), static_cast<size_t>(std::max<int64_t>(p.n, 1)),
                                        static_cast<size_t>(opt.hnsw.M),
                                        static_cast<size_t>(opt.hnsw.ef_construction),
                                        static_cast<size_t>(opt.random_state));
  // One thread, points in order: the graph is then a pure function of the
  // data and the seed (parallel insertion would depend on thread timing).
  for (int64_t i = 0; i < p.n; ++i) index.addPoint(xf.data() + i * p.d, static_cast<hnswlib::labeltype>(i));
  index.setEf(static_cast<size_t>(ef));
  return rescore(p, k, opt.metric, [&](int64_t i, std::vector<int32_t>& out) {
    auto found = index.searchKnn(xf.data() + i * p.d, static_cast<size_t>(ef));
    while (!found.empty()) {
      out.push_back(static_cast<int32_t>(found.top().second));
      found.pop();
    }
  });
}

// NN-descent ranks by float32 keys (cosine and correlation as euclidean on
// the unit rows prepare() made); the reported distances are re-scored.
KnnResult nndescent_search(const Prepared& p, int k, const KnnOptions& opt) {
  std::vector<float> xf(p.x.begin(), p.x.end());
  const NNDescentMetric m = opt.metric == KnnMetric::Manhattan   ? NNDescentMetric::Manhattan
                            : opt.metric == KnnMetric::Chebyshev ? NNDescentMetric::Chebyshev
                                                                 : NNDescentMetric::SqEuclidean;
  NNDescentOptions o = opt.nndescent;
  o.seed = static_cast<uint64_t>(opt.random_state);
  const NNGraph g = nn_descent(xf.data(), p.n, p.d, k - 1, m, o);
  xf = {};
  return rescore(p, k, opt.metric, [&](int64_t i, std::vector<int32_t>& out) {
    const size_t row = static_cast<size_t>(i) * static_cast<size_t>(g.k);
    out.assign(g.indices.begin() + static_cast<std::ptrdiff_t>(row),
               g.indices.begin() + static_cast<std::ptrdiff_t>(row + static_cast<size_t>(g.k)));
  });
}

KnnResult approx_search(const Prepared& p, int k, const KnnOptions& opt) {
  return opt.approx_index == ApproxIndex::Hnsw ? hnsw_search(p, k, opt) : nndescent_search(p, k, opt);
}

std::vector<int64_t> iota_rows(int64_t n) {
  std::vector<int64_t> rows(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) rows[static_cast<size_t>(i)] = i;
  return rows;
}

}  // namespace

KnnMetric parse_knn_metric(const std::string& name) {
  if (name == "euclidean" || name == "l2") return KnnMetric::Euclidean;
  if (name == "cosine") return KnnMetric::Cosine;
  if (name == "manhattan" || name == "cityblock" || name == "l1" || name == "taxicab") return KnnMetric::Manhattan;
  if (name == "correlation") return KnnMetric::Correlation;
  if (name == "chebyshev" || name == "infinity") return KnnMetric::Chebyshev;
  throw ValueError("neighbors: unsupported metric '" + name +
                   "' (supported: euclidean, cosine, manhattan, correlation, chebyshev)");
}

std::string knn_metric_name(KnnMetric m) {
  switch (m) {
    case KnnMetric::Euclidean: return "euclidean";
    case KnnMetric::Cosine: return "cosine";
    case KnnMetric::Manhattan: return "manhattan";
    case KnnMetric::Correlation: return "correlation";
    case KnnMetric::Chebyshev: return "chebyshev";
  }
  return "?";
}

bool knn_uses_exact(int64_t n, KnnMetric metric) {
  return (metric == KnnMetric::Euclidean && n < 8192) || n < 4096;
}

KnnResult knn_exact(const Array& X, int k, KnnMetric metric) {
  const Prepared p = prepare(X, metric);
  check_k(k, p.n);
  const auto rows = iota_rows(p.n);
  return exact_search(p, rows, k, metric);
}

KnnResult knn_exact_rows(const Array& X, std::span<const int64_t> rows, int k, KnnMetric metric) {
  const Prepared p = prepare(X, metric);
  check_k(k, p.n);
  for (int64_t r : rows)
    if (r < 0 || r >= p.n) throw ValueError("knn_exact_rows: row " + std::to_string(r) + " out of range");
  return exact_search(p, rows, k, metric);
}

KnnResult knn_approx(const Array& X, int k, const KnnOptions& opt) {
  const Prepared p = prepare(X, opt.metric);
  check_k(k, p.n);
  return approx_search(p, k, opt);
}

KnnResult knn(const Array& X, int k, const KnnOptions& opt) {
  if (X.ndim() != 2) throw ValueError("knn: X must be a 2-D matrix (cells x dimensions)");
  const int64_t n = X.shape()[0];
  const bool exact = opt.method == KnnMethod::Exact ||
                     (opt.method == KnnMethod::Auto && knn_uses_exact(n, opt.metric));
  return exact ? knn_exact(X, k, opt.metric) : knn_approx(X, k, opt);
}

KnnResult knn_truncate(const KnnResult& r, int k) {
  if (k < 1 || k > r.k) throw ValueError("knn_truncate: k out of range");
  KnnResult out;
  out.n = r.n;
  out.k = k;
  out.approximate = r.approximate;
  out.indices.resize(static_cast<size_t>(r.n) * k);
  out.distances.resize(static_cast<size_t>(r.n) * k);
  for (int64_t i = 0; i < r.n; ++i)
    for (int j = 0; j < k; ++j) {
      out.indices[static_cast<size_t>(i) * k + j] = r.index(i, j);
      out.distances[static_cast<size_t>(i) * k + j] = r.distance(i, j);
    }
  return out;
}

double knn_recall(const KnnResult& approx, const KnnResult& exact, std::span<const int64_t> rows) {
  if (!rows.empty() && static_cast<int64_t>(rows.size()) != exact.n)
    throw ValueError("knn_recall: rows must list one cell per row of the exact result");
  if (rows.empty() && approx.n != exact.n) throw ValueError("knn_recall: results cover different cells");
  const int kk = std::min(approx.k, exact.k);
  int64_t hit = 0, total = 0;
  for (int64_t r = 0; r < exact.n; ++r) {
    const int64_t cell = rows.empty() ? r : rows[static_cast<size_t>(r)];
    if (cell < 0 || cell >= approx.n) throw ValueError("knn_recall: row out of range");
    for (int j = 1; j < kk; ++j) {
      const int32_t want = exact.index(r, j);
      ++total;
      for (int jj = 1; jj < kk; ++jj)
        if (approx.index(cell, jj) == want) {
          ++hit;
          break;
        }
    }
  }
  return total ? static_cast<double>(hit) / static_cast<double>(total) : 1.0;
}

}  // namespace scanpp::pp
