// Drawing a 1M-point categorical UMAP-style scatter (pl.embedding) to PNG,
// and the same through the raw disc splatter; prints seconds.
// Usage: pl_scatter_bench [n_points=1000000] [out_dir=/tmp]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/numpy_random.hpp"
#include "scanpp/pl/embedding.hpp"
#include "scanpp/pl/palettes.hpp"

int main(int argc, char** argv) {
  using namespace scanpp;
  const int64_t n = argc > 1 ? std::stoll(argv[1]) : 1000000;
  const std::string dir = argc > 2 ? argv[2] : "/tmp";
  const int k = 12;  // categories
  random::NumpyRandomState rs(0);
  std::vector<float> xy(static_cast<size_t>(2 * n));
  std::vector<std::string> labels(static_cast<size_t>(n));
  std::vector<int32_t> codes(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(rs.random_double() * k);
    const double a = 2 * M_PI * c / k;
    xy[static_cast<size_t>(2 * i)] = static_cast<float>(8 * std::cos(a) + rs.gauss());
    xy[static_cast<size_t>(2 * i + 1)] = static_cast<float>(8 * std::sin(a) + rs.gauss());
    codes[static_cast<size_t>(i)] = c;
  }
  std::vector<std::string> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = std::to_string(i);
  AnnData ad;
  ad.obs = DataFrame(idx);
  Categorical cat;
  cat.codes = codes;
  std::vector<std::string> cats;
  for (int c = 0; c < k; ++c) cats.push_back(std::to_string(c));
  cat.categories = cats;
  ad.obs.set("cluster", cat);
  ad.obsm["X_umap"] = Array::from_vector(xy, {n, 2});

  pl::EmbeddingOptions o;
  o.basis = "umap";
  o.color = {"cluster"};
  o.fig.save = dir + "/pl_scatter_bench.png";
  const auto t0 = std::chrono::steady_clock::now();
  pl::embedding(ad, o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("pl.embedding, %lld points, categorical, PNG 4x4 in at 100 dpi: %.3f s -> %s\n",
              static_cast<long long>(n), secs, o.fig.save.c_str());

  o.color = {};
  o.size = 20.0;  // larger discs: several pixels each
  o.fig.save = dir + "/pl_scatter_bench_big.png";
  const auto t1 = std::chrono::steady_clock::now();
  pl::embedding(ad, o);
  const double secs2 = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  std::printf("pl.embedding, %lld points, s=20 (discs ~%0.1f px across): %.3f s\n", static_cast<long long>(n),
              std::sqrt(20.0) / 2 * 100 / 72, secs2);
  return 0;
}
