#pragma once
// numpy's legacy random stream (np.random.seed / rand / randn / randint /
// binomial / permutation), bit for bit.
//
// Scanpy's tl.sim draws everything from np.random after np.random.seed(seed),
// and its bundled krumsiek11 data set is one such draw. Reproducing that
// stream lets scanpp's simulation give Scanpy's numbers exactly, which a
// counter-based generator cannot. The simulation is inherently sequential
// (each Euler step and each accepted realisation depends on the previous), so
// nothing here runs in parallel and the result cannot depend on thread count.
//
// numpy's MT19937 seeding (mt19937_seed) and output are the reference
// algorithm, which std::mt19937 implements; the conversions to doubles and
// normals below follow numpy's legacy distributions.
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace scanpp::tl {

class NumpyRandomState {
 public:
  explicit NumpyRandomState(uint32_t seed) : mt_(seed) {}

  uint32_t next_uint32() { return static_cast<uint32_t>(mt_()); }

  // random_sample(): 53-bit double in [0, 1) from two 32-bit draws.
  double random_double() {
    const uint64_t a = next_uint32() >> 5;
    const uint64_t b = next_uint32() >> 6;
    return (static_cast<double>(a) * 67108864.0 + static_cast<double>(b)) / 9007199254740992.0;
  }

  // randn(): Marsaglia's polar method; the second normal of each pair is kept
  // for the next call, across calls, as numpy's legacy_gauss does.
  double gauss() {
    if (has_gauss_) {
      has_gauss_ = false;
      return gauss_;
    }
    double x1, x2, r2;
    do {
      x1 = 2.0 * random_double() - 1.0;
      x2 = 2.0 * random_double() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    const double f = std::sqrt(-2.0 * std::log(r2) / r2);
    gauss_ = f * x1;
    has_gauss_ = true;
    return f * x2;
  }

  // Uniform integer in [0, max] by masked rejection (numpy's random_interval,
  // used by shuffle/permutation).
  uint64_t random_interval(uint64_t max) {
    if (max == 0) return 0;
    uint64_t mask = max;
    for (int s = 1; s <= 32; s <<= 1) mask |= mask >> s;
    uint64_t v;
    if (max <= 0xffffffffULL) {
      while ((v = (next_uint32() & mask)) > max) {
      }
    } else {
      while ((v = (next_uint64() & mask)) > max) {
      }
    }
    return v;
  }

  // randint(low, high) for a range below 2^32 (legacy masked rejection on
  // 32-bit draws).
  int64_t randint(int64_t low, int64_t high) {
    const uint64_t rng = static_cast<uint64_t>(high - 1 - low);
    if (rng == 0) return low;
    if (rng == 0xffffffffULL) return low + static_cast<int64_t>(next_uint32());
    uint64_t mask = rng;
    for (int s = 1; s <= 32; s <<= 1) mask |= mask >> s;
    uint64_t v;
    while ((v = (next_uint32() & mask)) > rng) {
    }
    return low + static_cast<int64_t>(v);
  }

  // binomial(1, p) for p <= 0.5: numpy's inversion algorithm, which for one
  // trial reduces to one uniform compared with q = 1 - p.
  int binomial_one(double p) { return random_double() > 1.0 - p ? 1 : 0; }

  // permutation(n): Fisher-Yates from the end, as numpy's legacy shuffle.
  std::vector<int64_t> permutation(int64_t n) {
    std::vector<int64_t> a(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) a[static_cast<size_t>(i)] = i;
    for (int64_t i = n - 1; i >= 1; --i) {
      const auto j = static_cast<int64_t>(random_interval(static_cast<uint64_t>(i)));
      std::swap(a[static_cast<size_t>(i)], a[static_cast<size_t>(j)]);
    }
    return a;
  }

 private:
  uint64_t next_uint64() {
    const uint64_t hi = next_uint32();
    return (hi << 32) | next_uint32();
  }

  std::mt19937 mt_;
  bool has_gauss_ = false;
  double gauss_ = 0.0;
};

}  // namespace scanpp::tl
