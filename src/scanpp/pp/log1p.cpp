#include "scanpp/pp/log1p.hpp"

#include <cmath>
#include <span>
#include <type_traits>
#include <vector>

#include "scanpp/core/error.hpp"
#include "scanpp/pp/detail/float_math.hpp"
#include "scanpp/pp/detail/rows.hpp"

namespace scanpp::pp {

using namespace detail;

namespace {

void check_base(std::optional<double> base) {
  if (base && (!(*base > 0) || *base == 1.0))
    throw ValueError("log1p: base must be positive and different from 1 (got " + std::to_string(*base) + ")");
}

constexpr int64_t kChunk = 1 << 15;

// numpy's log1p in T, then a division by ln(base) also carried out in T.
// Negative values are noticed per chunk (no separate serial scan).
template <class T>
void transform(std::span<T> v, std::optional<double> base) {
  const T lb = base ? static_cast<T>(std::log(*base)) : T(1);
  const int64_t n = static_cast<int64_t>(v.size());
  const int64_t nchunks = (n + kChunk - 1) / kChunk;
  std::vector<uint8_t> negative(static_cast<size_t>(nchunks), 0);
  parallel_blocks(n, kChunk, [&](int64_t a, int64_t b) {
    T* p = v.data() + a;
    const size_t m = static_cast<size_t>(b - a);
    int neg = 0;
#pragma omp simd reduction(| : neg)
    for (size_t i = 0; i < m; ++i) neg |= p[i] < 0 ? 1 : 0;
    negative[static_cast<size_t>(a / kChunk)] = static_cast<uint8_t>(neg);
    if constexpr (std::is_same_v<T, float>) {
      log1p_f32(p, m);
    } else {
      for (size_t i = 0; i < m; ++i) p[i] = std::log1p(p[i]);
    }
    if (base)
      for (size_t i = 0; i < m; ++i) p[i] = p[i] / lb;
  });
  for (uint8_t neg : negative)
    if (neg) {
      warn("log1p: the data contain negative values; log1p of values below -1 is NaN (is the matrix already log-transformed?)");
      break;
    }
}

void transform_array(Array& a, std::optional<double> base) {
  if (!dtype_is_float(a.dtype())) a = a.astype(DType::Float64);
  if (a.dtype() == DType::Float32) transform(a.as<float>(), base);
  else transform(a.as<double>(), base);
}

}  // namespace

void log1p(SparseMatrix& x, std::optional<double> base) {
  check_base(base);
  transform_array(x.data, base);
}

void log1p(Array& x, std::optional<double> base) {
  check_base(base);
  transform_array(x, base);
}

void log1p(AnnData& adata, const Log1pOptions& opts) {
  check_base(opts.base);
  if (adata.uns.count("log1p")) warn("log1p: adata.X seems to be already log-transformed.");
  Element& x = obs_rep(adata, opts.layer, "log1p");
  if (x.is<SparseMatrix>()) log1p(x.get<SparseMatrix>(), opts.base);
  else if (x.is<Array>()) log1p(x.get<Array>(), opts.base);
  else throw ValueError(std::string("log1p: the matrix to transform is a ") + x.kind());
  Dict d;
  if (opts.base) d["base"] = Array::scalar(*opts.base);
  adata.uns["log1p"] = Element(std::move(d));
}

std::optional<double> log1p_base(const AnnData& adata) {
  auto it = adata.uns.find("log1p");
  if (it == adata.uns.end() || !it->second.is<Dict>()) return std::nullopt;
  const Dict& d = it->second.get<Dict>();
  auto b = d.find("base");
  if (b == d.end() || !b->second.is<Array>() || b->second.get<Array>().size() != 1) return std::nullopt;
  return b->second.get<Array>().get_double(0);
}

}  // namespace scanpp::pp
