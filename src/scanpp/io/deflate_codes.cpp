#include "scanpp/io/deflate_codes.hpp"

#include <algorithm>
#include <array>

namespace scanpp::io::deflate {

void huffman_code_lengths(const uint32_t* freq, int n, int max_bits, uint8_t* len) {
  std::array<uint64_t, 288> key;  // frequency above symbol, so sorting orders by both
  int used = 0;
  for (int s = 0; s < n; ++s) {
    len[s] = 0;
    if (freq[s]) key[static_cast<size_t>(used++)] = (uint64_t{freq[s]} << 16) | static_cast<uint64_t>(s);
  }
  if (used < 2) {
    const int s = used ? static_cast<int>(key[0] & 0xffff) : 0;
    len[s] = 1;
    len[s == 0 ? 1 : 0] = 1;
    return;
  }
  std::sort(key.begin(), key.begin() + used);
  // Moffat & Katajainen's in-place minimum-redundancy code on the sorted
  // weights: afterwards a[i] is the depth of the i-th least frequent symbol.
  std::array<uint32_t, 288> a;
  for (int i = 0; i < used; ++i) a[static_cast<size_t>(i)] = static_cast<uint32_t>(key[static_cast<size_t>(i)] >> 16);
  {
    const int m = used;
    a[0] += a[1];
    int root = 0, leaf = 2;
    for (int next = 1; next < m - 1; ++next) {
      if (leaf >= m || a[root] < a[leaf]) {
        a[next] = a[root];
        a[root++] = static_cast<uint32_t>(next);
      } else {
        a[next] = a[leaf++];
      }
      if (leaf >= m || (root < next && a[root] < a[leaf])) {
        a[next] += a[root];
        a[root++] = static_cast<uint32_t>(next);
      } else {
        a[next] += a[leaf++];
      }
    }
    a[m - 2] = 0;
    for (int next = m - 3; next >= 0; --next) a[next] = a[a[next]] + 1;
    int avail = 1, used_nodes = 0, depth = 0, r = m - 2, next = m - 1;
    while (avail > 0) {
      while (r >= 0 && static_cast<int>(a[r]) == depth) {
        ++used_nodes;
        --r;
      }
      while (avail > used_nodes) {
        a[next--] = static_cast<uint32_t>(depth);
        --avail;
      }
      avail = 2 * used_nodes;
      ++depth;
      used_nodes = 0;
    }
  }
  // Codes longer than max_bits are cut to max_bits and the Kraft sum
  // restored by lengthening the longest codes that may still grow (the
  // overflow repair zlib and miniz use); then the lengths go back to the
  // symbols in frequency order, so the rarest get the longest.
  std::array<int, 32> count{};
  for (int i = 0; i < used; ++i) ++count[std::min<size_t>(a[static_cast<size_t>(i)], static_cast<size_t>(max_bits))];
  uint32_t kraft = 0;
  for (int l = 1; l <= max_bits; ++l) kraft += static_cast<uint32_t>(count[static_cast<size_t>(l)]) << (max_bits - l);
  while (kraft > (1u << max_bits)) {
    --count[static_cast<size_t>(max_bits)];
    for (int l = max_bits - 1; l > 0; --l) {
      if (count[static_cast<size_t>(l)]) {
        --count[static_cast<size_t>(l)];
        count[static_cast<size_t>(l + 1)] += 2;
        break;
      }
    }
    --kraft;
  }
  int k = 0;
  for (int l = max_bits; l >= 1; --l)
    for (int c = count[static_cast<size_t>(l)]; c > 0; --c)
      len[key[static_cast<size_t>(k++)] & 0xffff] = static_cast<uint8_t>(l);
}

void canonical_codes(const uint8_t* len, int n, uint16_t* code) {
  std::array<uint32_t, kMaxCodeBits + 2> count{}, next{};
  for (int s = 0; s < n; ++s) ++count[len[s]];
  count[0] = 0;
  uint32_t c = 0;
  for (int b = 1; b <= kMaxCodeBits; ++b) {
    c = (c + count[static_cast<size_t>(b - 1)]) << 1;
    next[static_cast<size_t>(b)] = c;
  }
  for (int s = 0; s < n; ++s) {
    const int l = len[s];
    if (!l) continue;
    uint32_t v = next[static_cast<size_t>(l)]++, r = 0;
    for (int i = 0; i < l; ++i, v >>= 1) r = (r << 1) | (v & 1);
    code[s] = static_cast<uint16_t>(r);
  }
}

int run_length_code_lengths(const uint8_t* len, int n, uint8_t* sym, uint8_t* extra) {
  int items = 0;
  auto emit = [&](int s, int e) {
    sym[items] = static_cast<uint8_t>(s);
    extra[items++] = static_cast<uint8_t>(e);
  };
  for (int i = 0; i < n;) {
    const int v = len[i];
    int run = 1;
    while (i + run < n && len[i + run] == v) ++run;
    i += run;
    if (v == 0) {
      while (run >= 11) {
        const int k = std::min(run, 138);
        emit(18, k - 11);
        run -= k;
      }
      if (run >= 3) {
        emit(17, run - 3);
        run = 0;
      }
    } else {
      emit(v, 0);
      --run;
      while (run >= 3) {
        const int k = std::min(run, 6);
        emit(16, k - 3);
        run -= k;
      }
    }
    for (; run > 0; --run) emit(v, 0);
  }
  return items;
}

}  // namespace scanpp::io::deflate
