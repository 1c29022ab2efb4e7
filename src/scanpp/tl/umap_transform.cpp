#include "scanpp/tl/umap_transform.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/core/random.hpp"
#include "scanpp/pp/connectivities.hpp"

namespace scanpp::tl {

namespace {

constexpr uint64_t kTransformNegativeStream = 0x554d415054ULL;

inline float clip4(float v) { return v > 4.0f ? 4.0f : (v < -4.0f ? -4.0f : v); }


}  // namespace

UmapTransformResult umap_transform(const Array& reference_embedding, const std::vector<int32_t>& indices,
                                   const std::vector<double>& distances, int64_t n_new, int k,
                                   const UmapTransformOptions& opt) {
  if (reference_embedding.ndim() != 2) throw ValueError("umap_transform: the reference embedding must be 2-D");
  const int64_t n_ref = reference_embedding.rows();
  const int dim = static_cast<int>(reference_embedding.cols());
  if (k < 1 || n_new < 0 || indices.size() != static_cast<size_t>(n_new) * k || distances.size() != indices.size())
    throw ValueError("umap_transform: indices and distances must be n_new x k");
  for (int32_t j : indices)
    if (j < 0 || j >= n_ref) throw ValueError("umap_transform: a neighbour index is outside the reference");
  if (!(opt.a > 0.0) || !(opt.b > 0.0)) throw ValueError("umap_transform: a and b must be positive");
  if (opt.n_epochs && *opt.n_epochs < 1) throw ValueError("umap_transform: n_epochs must be >= 1");
  const std::vector<float> ref = reference_embedding.astype(DType::Float32).to_vector<float>();
  for (float v : ref)
    if (!std::isfinite(v)) throw ValueError("umap_transform: the reference embedding has non-finite values");

  UmapTransformResult res;
  res.n_epochs = opt.n_epochs ? *opt.n_epochs : (n_new <= 10000 ? 100 : 30);
  const int n_epochs = res.n_epochs;

  // Membership strengths (float32, as umap-learn computes them): its transform
  // calls smooth_knn_dist with local_connectivity max(0, 1 - 1) = 0, so rho = 0.
  std::vector<float> dist(distances.begin(), distances.end());
  const std::vector<float> sigmas =
      pp::smooth_knn_dist(dist, n_new, k, static_cast<double>(k), 64, /*local_connectivity=*/0.0).sigmas;
  std::vector<float> w(dist.size());
  parallel_for(n_new, [&](int64_t i) {
    const float* row = dist.data() + i * k;
    const float sigma = sigmas[static_cast<size_t>(i)];
    for (int j = 0; j < k; ++j)
      w[i * k + j] = (row[j] <= 0.f || sigma == 0.f) ? 1.f : std::exp(-(row[j] / sigma));
  });

  // Start positions: umap-learn's init_graph_transform walks each row in
  // column (reference index) order.
  std::vector<float> y(static_cast<size_t>(n_new) * dim, 0.f);
  parallel_for(n_new, [&](int64_t i) {
    std::vector<int> order(static_cast<size_t>(k));
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int p, int q) { return indices[i * k + p] < indices[i * k + q]; });
    float* out = y.data() + i * dim;
    float row_sum = 0.f;
    for (int p : order) row_sum += w[i * k + p];
    for (int p : order) {
      const float v = w[i * k + p];
      if (v == 0.f) continue;
      const float* e = ref.data() + static_cast<int64_t>(indices[i * k + p]) * dim;
      if (v == 1.f) {
        std::copy(e, e + dim, out);
        return;
      }
      for (int d = 0; d < dim; ++d) out[d] += v / row_sum * e[d];
    }
    // umap-learn leaves a point without any positive weight at NaN; the
    // nearest reference point is a usable start instead.
    if (!(row_sum > 0.f)) {
      const float* e = ref.data() + static_cast<int64_t>(indices[i * k]) * dim;
      std::copy(e, e + dim, out);
    }
  });
  res.initial = Array::from_vector(y, {n_new, static_cast<int64_t>(dim)});

  // Edges kept for the SGD and their sampling periods.
  float wmax = 0.f;
  for (float v : w) wmax = std::max(wmax, v);
  const double cut = static_cast<double>(wmax) / n_epochs;
  std::vector<double> eps(w.size(), -1.0);
  for (size_t e = 0; e < w.size(); ++e)
    if (w[e] > 0.f && static_cast<double>(w[e]) >= cut)
      eps[e] = static_cast<double>(n_epochs) / (static_cast<double>(n_epochs) * (w[e] / wmax));

  const float a = static_cast<float>(opt.a), b = static_cast<float>(opt.b);
  const float gamma = static_cast<float>(opt.repulsion_strength);
  const double alpha0 = opt.learning_rate / 4.0;
  const int nsr = opt.negative_sample_rate;
  parallel_for(n_new, [&](int64_t i) {
    float* cur = y.data() + i * dim;
    std::vector<double> next_sample(static_cast<size_t>(k)), eps_neg(static_cast<size_t>(k)),
        next_neg(static_cast<size_t>(k));
    for (int j = 0; j < k; ++j) {
      const double e = eps[i * k + j];
      next_sample[j] = e;
      eps_neg[j] = nsr > 0 ? e / nsr : 0.0;
      next_neg[j] = eps_neg[j];
    }
    random::Stream rs(static_cast<uint64_t>(opt.random_state), static_cast<uint64_t>(i), kTransformNegativeStream);
    double alpha = alpha0;
    for (int epoch = 0; epoch < n_epochs; ++epoch) {
      const float al = static_cast<float>(alpha);
      for (int j = 0; j < k; ++j) {
        if (eps[i * k + j] <= 0.0 || next_sample[j] > epoch) continue;
        const float* other = ref.data() + static_cast<int64_t>(indices[i * k + j]) * dim;
        float d2 = 0.f;
        for (int d = 0; d < dim; ++d) d2 += (cur[d] - other[d]) * (cur[d] - other[d]);
        float coeff = 0.f;
        if (d2 > 0.f) coeff = -2.f * a * b * std::pow(d2, b - 1.f) / (a * std::pow(d2, b) + 1.f);
        for (int d = 0; d < dim; ++d) cur[d] += clip4(coeff * (cur[d] - other[d])) * al;
        next_sample[j] += eps[i * k + j];
        if (nsr <= 0) continue;
        const int64_t m = static_cast<int64_t>((epoch - next_neg[j]) / eps_neg[j]);
        for (int64_t s = 0; s < m; ++s) {
          const int64_t kk = static_cast<int64_t>(rs.integer(static_cast<uint64_t>(n_ref)));
          const float* neg = ref.data() + kk * dim;
          float n2 = 0.f;
          for (int d = 0; d < dim; ++d) n2 += (cur[d] - neg[d]) * (cur[d] - neg[d]);
          if (n2 > 0.f) {
            const float c = 2.f * gamma * b / ((0.001f + n2) * (a * std::pow(n2, b) + 1.f));
            for (int d = 0; d < dim; ++d) cur[d] += clip4(c * (cur[d] - neg[d])) * al;
          } else {
            // umap-learn pushes a point sitting exactly on a sample by the clip value.
            for (int d = 0; d < dim; ++d) cur[d] += 4.f * al;
          }
        }
        if (m > 0) next_neg[j] += static_cast<double>(m) * eps_neg[j];
      }
      alpha = alpha0 * (1.0 - static_cast<double>(epoch) / n_epochs);
    }
  });
  res.embedding = Array::from_vector(y, {n_new, static_cast<int64_t>(dim)});
  return res;
}

}  // namespace scanpp::tl
