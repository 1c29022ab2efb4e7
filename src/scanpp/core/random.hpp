#pragma once
// Counter-based random numbers. A stream is named by (seed, item[, substream])
// and its k-th draw is a pure function of that name and k, so parallel code
// gets the same numbers whichever thread handles an item and in whatever
// order: the rule DESIGN.md sets for results independent of thread count.
//
// The generator is SplitMix64 (Steele, Lea & Flood 2014) started at a state
// obtained by hashing the stream's name; SplitMix64 passes BigCrush and its
// finaliser is a strong 64-bit mixer, which is what makes hashed starting
// points of neighbouring items independent in practice.
#include <cmath>
#include <cstdint>
#include <numbers>

namespace scanpp::random {

// SplitMix64's output function: a bijective 64-bit mixer.
inline constexpr uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// 128-bit product for unbiased integers; __extension__ keeps -Wpedantic quiet.
__extension__ typedef unsigned __int128 uint128;

inline constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

// Stateless: one 64-bit value for (seed, item, counter).
inline constexpr uint64_t hash3(uint64_t seed, uint64_t item, uint64_t counter) {
  return mix64(mix64(mix64(seed + kGolden) ^ (item + 0x632be59bd9b4e019ULL)) + (counter + 1) * kGolden);
}

// A uniform double in [0, 1) from the top 53 bits.
inline constexpr double to_unit(uint64_t x) { return static_cast<double>(x >> 11) * 0x1.0p-53; }

class Stream {
 public:
  // `substream` separates independent uses of the same (seed, item), e.g. two
  // phases of one algorithm that both draw per cell.
  constexpr Stream(uint64_t seed, uint64_t item, uint64_t substream = 0)
      : state_(mix64(mix64(mix64(seed + kGolden) ^ (item + 0x632be59bd9b4e019ULL)) ^
                     (substream * 0xd1b54a32d192ed03ULL + 0x8cb92ba72f3d8dd7ULL))) {}

  constexpr uint64_t next_u64() {
    state_ += kGolden;
    return mix64(state_);
  }
  // Uniform in [0, 1).
  constexpr double uniform() { return to_unit(next_u64()); }
  // Uniform in [lo, hi).
  constexpr double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n) without modulo bias (Lemire 2019); n > 0.
  uint64_t integer(uint64_t n) {
    uint128 m = static_cast<uint128>(next_u64()) * n;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < n) {
      const uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<uint128>(next_u64()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }
  // Standard normal by Box-Muller; each call consumes two draws so that the
  // k-th normal of a stream does not depend on earlier calls' kinds.
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]: log is finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  double normal(double mean, double sd) { return mean + sd * normal(); }

 private:
  uint64_t state_;
};

}  // namespace scanpp::random
