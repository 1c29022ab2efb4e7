#pragma once
// numpy's legacy random stream (np.random.seed / RandomState(seed) with an
// integer seed): MT19937 with Knuth's initialisation, bounded integers by
// masked rejection, permutation by Fisher-Yates from the end. With these,
// Scanpy steps that draw through the legacy API (subsample, downsample_counts'
// numba kernel, which mirrors the same stream, tl.sim's Euler noise) give
// exactly numpy's draws.
// Checked against numpy 1.24 and numba 0.56 in tests/subsample_test.cpp and
// tests/downsample_counts_test.cpp.
//
// Sequential by nature: use it only where matching numpy's selection matters;
// parallel code uses the counter-based streams of scanpp/core/random.hpp.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "scanpp/core/error.hpp"

namespace scanpp::random {

class NumpyRandomState {
 public:
  explicit NumpyRandomState(uint32_t seed = 0) { reseed(seed); }

  // np.random.seed(seed) for an integer seed (numpy's mt19937_seed).
  void reseed(uint32_t seed) {
    has_gauss_ = false;
    mt_[0] = seed;
    for (uint32_t i = 1; i < kN; ++i) mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + i;
    pos_ = kN;
  }

  uint32_t next_uint32() {
    if (pos_ == kN) generate();
    uint32_t y = mt_[pos_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
  }
  // numpy draws the high word first.
  uint64_t next_uint64() {
    const uint64_t hi = next_uint32();
    return (hi << 32) | next_uint32();
  }

  // random_sample(): a 53-bit double in [0, 1) from two 32-bit draws.
  double random_double() {
    const uint64_t a = next_uint32() >> 5;
    const uint64_t b = next_uint32() >> 6;
    return (static_cast<double>(a) * 67108864.0 + static_cast<double>(b)) / 9007199254740992.0;
  }

  // randn(): Marsaglia's polar method; the second normal of each pair is kept
  // for the next call, as numpy's legacy_gauss does.
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

  // binomial(1, p) for p <= 0.5: numpy's inversion algorithm, which for one
  // trial reduces to one uniform compared with 1 - p.
  int binomial_one(double p) { return random_double() > 1.0 - p ? 1 : 0; }

  // Uniform integer in [0, max] by masked rejection (numpy's random_interval and
  // the legacy bounded-integer path); max == 0 consumes nothing.
  uint64_t interval(uint64_t max) {
    if (max == 0) return 0;
    uint64_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
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

  // RandomState.randint(low, high): uniform in [low, high).
  int64_t randint(int64_t low, int64_t high) {
    if (high <= low) throw ValueError("randint: low >= high");
    return low + static_cast<int64_t>(interval(static_cast<uint64_t>(high - low - 1)));
  }

  // RandomState.permutation(n): arange(n) shuffled in place from the last item down.
  std::vector<int64_t> permutation(int64_t n) {
    std::vector<int64_t> a(static_cast<size_t>(std::max<int64_t>(n, 0)));
    std::iota(a.begin(), a.end(), int64_t{0});
    for (int64_t i = n - 1; i > 0; --i) {
      const int64_t j = static_cast<int64_t>(interval(static_cast<uint64_t>(i)));
      std::swap(a[static_cast<size_t>(i)], a[static_cast<size_t>(j)]);
    }
    return a;
  }

  // RandomState.choice(n, size, replace) without probabilities: with replacement
  // randint(0, n) per draw, without it permutation(n)[:size].
  std::vector<int64_t> choice(int64_t n, int64_t size, bool replace) {
    if (size < 0) throw ValueError("choice: negative sample size");
    if (replace) {
      if (n <= 0 && size > 0) throw ValueError("choice: a must be greater than 0 unless no samples are taken");
      std::vector<int64_t> out(static_cast<size_t>(size));
      for (auto& v : out) v = randint(0, n);
      return out;
    }
    if (size > n) throw ValueError("choice: cannot take a larger sample than population when replace=false");
    std::vector<int64_t> p = permutation(n);
    p.resize(static_cast<size_t>(size));
    return p;
  }

 private:
  static constexpr uint32_t kN = 624, kM = 397;
  void generate() {
    constexpr uint32_t upper = 0x80000000u, lower = 0x7fffffffu, matrix_a = 0x9908b0dfu;
    uint32_t i = 0;
    for (; i < kN - kM; ++i) {
      const uint32_t y = (mt_[i] & upper) | (mt_[i + 1] & lower);
      mt_[i] = mt_[i + kM] ^ (y >> 1) ^ ((0u - (y & 1u)) & matrix_a);
    }
    for (; i < kN - 1; ++i) {
      const uint32_t y = (mt_[i] & upper) | (mt_[i + 1] & lower);
      mt_[i] = mt_[i + kM - kN] ^ (y >> 1) ^ ((0u - (y & 1u)) & matrix_a);
    }
    const uint32_t y = (mt_[kN - 1] & upper) | (mt_[0] & lower);
    mt_[kN - 1] = mt_[kM - 1] ^ (y >> 1) ^ ((0u - (y & 1u)) & matrix_a);
    pos_ = 0;
  }
  std::array<uint32_t, kN> mt_{};
  uint32_t pos_ = kN;
  bool has_gauss_ = false;
  double gauss_ = 0.0;
};

}  // namespace scanpp::random
