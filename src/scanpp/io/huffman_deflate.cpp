#include "scanpp/io/huffman_deflate.hpp"

#include <libdeflate.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

namespace scanpp::io {

namespace {

constexpr int kMaxBits = 15;         // deflate's limit for literal/length codes
constexpr int kPrecodeMaxBits = 7;   // and for the code-length code
constexpr int kLitSyms = 257;        // bytes 0-255 and end-of-block (256)
constexpr int kEndOfBlock = 256;
constexpr int kPrecodeSyms = 19;
constexpr size_t kStoredMax = 65535;  // a stored block's LEN is 16 bits
// The order in which the code-length code's lengths are sent (RFC 1951 3.2.7).
constexpr std::array<uint8_t, kPrecodeSyms> kPrecodeOrder = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5,
                                                             11, 4, 12, 3, 13, 2, 14, 1, 15};

// Code lengths (at most max_bits) of a Huffman code for freq[0, n), n <= 288.
// The code is always complete (Kraft sum exactly 1), since some inflaters
// reject incomplete codes: with fewer than two symbols in use, an unused one
// gets the second 1-bit codeword.
void huffman_lengths(const uint32_t* freq, int n, int max_bits, uint8_t* len) {
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

// Canonical codes (RFC 1951 3.2.2), bit-reversed: deflate sends a Huffman
// code from its first bit, into a bit stream filled from the low end.
void canonical_codes(const uint8_t* len, int n, uint16_t* code) {
  std::array<uint32_t, kMaxBits + 2> count{}, next{};
  for (int s = 0; s < n; ++s) ++count[len[s]];
  count[0] = 0;
  uint32_t c = 0;
  for (int b = 1; b <= kMaxBits; ++b) {
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

// Deflate's bit order: fields fill a 64-bit buffer from its low end. The
// fast flush stores all 8 bytes and keeps the partial byte, so it needs 8
// bytes of room past the last byte it completes; the exact one does not.
struct BitWriter {
  std::byte* out;
  uint64_t buf = 0;
  unsigned cnt = 0;  // bits in buf; below 8 after a flush

  void put(uint64_t bits, unsigned n) {
    buf |= bits << cnt;
    cnt += n;
  }
  void flush_fast() {
    uint64_t le = buf;
    if constexpr (std::endian::native == std::endian::big) le = __builtin_bswap64(le);
    std::memcpy(out, &le, 8);
    out += cnt >> 3;
    buf >>= cnt & ~7u;
    cnt &= 7;
  }
  void flush_exact() {
    for (; cnt >= 8; cnt -= 8, buf >>= 8) *out++ = static_cast<std::byte>(buf & 0xff);
  }
  // Pads the last partial byte with zero bits.
  void align() {
    flush_exact();
    if (cnt) *out++ = static_cast<std::byte>(buf & 0xff);
    buf = 0;
    cnt = 0;
  }
};

// Byte histogram; four tables so that runs of one byte value do not wait on
// the same counter.
void histogram(const uint8_t* p, size_t n, uint32_t* freq) {
  std::array<std::array<uint32_t, 256>, 4> h{};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    ++h[0][w & 0xff];
    ++h[1][(w >> 8) & 0xff];
    ++h[2][(w >> 16) & 0xff];
    ++h[3][(w >> 24) & 0xff];
    ++h[0][(w >> 32) & 0xff];
    ++h[1][(w >> 40) & 0xff];
    ++h[2][(w >> 48) & 0xff];
    ++h[3][w >> 56];
  }
  for (; i < n; ++i) ++h[0][p[i]];
  for (int s = 0; s < 256; ++s) freq[s] = h[0][static_cast<size_t>(s)] + h[1][static_cast<size_t>(s)] + h[2][static_cast<size_t>(s)] + h[3][static_cast<size_t>(s)];
}

constexpr int extra_bits(int precode_sym) { return precode_sym == 16 ? 2 : precode_sym == 17 ? 3 : precode_sym == 18 ? 7 : 0; }

// One block's dynamic Huffman code and everything needed to send it.
struct BlockPlan {
  std::array<uint32_t, kLitSyms> freq;
  std::array<uint8_t, kLitSyms + 2> len;  // literal/length lengths, then the two distance lengths
  std::array<uint16_t, kLitSyms> code;
  std::array<uint32_t, 256> table;  // per byte: code | length << 16
  int n_items = 0;
  std::array<uint8_t, kLitSyms + 2> item_sym, item_extra;  // the code lengths, run-length coded
  std::array<uint8_t, kPrecodeSyms> pre_len;
  std::array<uint16_t, kPrecodeSyms> pre_code;
  int n_pre = 4;  // code-length lengths sent (HCLEN + 4)
  int max_len = 0;
  uint64_t bits = 0;  // the whole block
};

// Run-length codes the sequence of code lengths with the code-length
// alphabet: 16 repeats the previous length 3-6 times, 17 and 18 give runs of
// 3-10 and 11-138 zeros.
void run_length_code(BlockPlan& p) {
  const int total = kLitSyms + 2;
  int n = 0;
  auto emit = [&](int sym, int extra) {
    p.item_sym[static_cast<size_t>(n)] = static_cast<uint8_t>(sym);
    p.item_extra[static_cast<size_t>(n++)] = static_cast<uint8_t>(extra);
  };
  for (int i = 0; i < total;) {
    const int v = p.len[static_cast<size_t>(i)];
    int run = 1;
    while (i + run < total && p.len[static_cast<size_t>(i + run)] == v) ++run;
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
  p.n_items = n;
}

// Plans the Huffman block for src[0, n); p.bits is its exact size.
void plan_block(const uint8_t* src, size_t n, BlockPlan& p) {
  histogram(src, n, p.freq.data());
  p.freq[kEndOfBlock] = 1;
  huffman_lengths(p.freq.data(), kLitSyms, kMaxBits, p.len.data());
  // No matches, so no distance code is used; two 1-bit codes keep it
  // complete, as libdeflate does, for inflaters that reject empty ones.
  p.len[kLitSyms] = p.len[kLitSyms + 1] = 1;
  p.code.fill(0);
  canonical_codes(p.len.data(), kLitSyms, p.code.data());
  p.max_len = 0;
  uint64_t data_bits = 0;
  for (int s = 0; s < 256; ++s) {
    p.table[static_cast<size_t>(s)] = p.code[static_cast<size_t>(s)] | (uint32_t{p.len[static_cast<size_t>(s)]} << 16);
    data_bits += uint64_t{p.freq[static_cast<size_t>(s)]} * p.len[static_cast<size_t>(s)];
    if (p.freq[static_cast<size_t>(s)]) p.max_len = std::max<int>(p.max_len, p.len[static_cast<size_t>(s)]);
  }
  data_bits += p.len[kEndOfBlock];

  run_length_code(p);
  std::array<uint32_t, kPrecodeSyms> pre_freq{};
  for (int i = 0; i < p.n_items; ++i) ++pre_freq[p.item_sym[static_cast<size_t>(i)]];
  huffman_lengths(pre_freq.data(), kPrecodeSyms, kPrecodeMaxBits, p.pre_len.data());
  p.pre_code.fill(0);
  canonical_codes(p.pre_len.data(), kPrecodeSyms, p.pre_code.data());
  p.n_pre = kPrecodeSyms;
  while (p.n_pre > 4 && p.pre_len[kPrecodeOrder[static_cast<size_t>(p.n_pre - 1)]] == 0) --p.n_pre;

  uint64_t header_bits = 3 + 5 + 5 + 4 + 3 * static_cast<uint64_t>(p.n_pre);
  for (int i = 0; i < p.n_items; ++i) {
    const int s = p.item_sym[static_cast<size_t>(i)];
    header_bits += p.pre_len[static_cast<size_t>(s)] + static_cast<uint64_t>(extra_bits(s));
  }
  p.bits = header_bits + data_bits;
}

// Bits of `n` bytes sent as stored blocks from bit offset `at` (mod 8): each
// block has a 3-bit header padded to a byte and LEN, NLEN.
uint64_t stored_bits(size_t n, uint64_t at) {
  uint64_t bits = 0;
  size_t left = n;
  do {
    const size_t k = std::min(left, kStoredMax);
    const uint64_t head = 3 + (8 - (at + 3) % 8) % 8;
    bits += head + 32 + 8 * static_cast<uint64_t>(k);
    at += head + 32 + 8 * static_cast<uint64_t>(k);
    left -= k;
  } while (left > 0);
  return bits;
}

void write_stored(BitWriter& w, const uint8_t* src, size_t n, bool final_block) {
  size_t left = n;
  do {
    const size_t k = std::min(left, kStoredMax);
    left -= k;
    w.put((final_block && left == 0) ? 1 : 0, 3);  // BTYPE 00
    w.align();
    const uint16_t len = static_cast<uint16_t>(k), nlen = static_cast<uint16_t>(~k);
    const uint8_t head[4] = {static_cast<uint8_t>(len & 0xff), static_cast<uint8_t>(len >> 8),
                             static_cast<uint8_t>(nlen & 0xff), static_cast<uint8_t>(nlen >> 8)};
    std::memcpy(w.out, head, 4);
    if (k) std::memcpy(w.out + 4, src, k);
    w.out += 4 + k;
    src += k;
  } while (left > 0);
}

void write_header(BitWriter& w, const BlockPlan& p, bool final_block) {
  w.put(final_block ? 1 : 0, 1);
  w.put(2, 2);  // BTYPE 10: dynamic Huffman
  w.put(kLitSyms - 257, 5);
  w.put(2 - 1, 5);  // HDIST: two distance codes
  w.put(static_cast<uint64_t>(p.n_pre - 4), 4);
  w.flush_exact();
  for (int i = 0; i < p.n_pre; ++i) {
    w.put(p.pre_len[kPrecodeOrder[static_cast<size_t>(i)]], 3);
    w.flush_exact();
  }
  for (int i = 0; i < p.n_items; ++i) {
    const int s = p.item_sym[static_cast<size_t>(i)];
    w.put(p.pre_code[static_cast<size_t>(s)], p.pre_len[static_cast<size_t>(s)]);
    w.put(p.item_extra[static_cast<size_t>(i)], static_cast<unsigned>(extra_bits(s)));
    w.flush_exact();
  }
}

// The block's bytes, K codes between flushes: with codes of at most L bits,
// K * L + 7 must stay within the 64-bit buffer.
template <int K, bool Fast>
void write_literals(BitWriter& w, const uint8_t* src, size_t n, const uint32_t* table) {
  size_t i = 0;
  for (; i + K <= n; i += K) {
    for (int k = 0; k < K; ++k) {
      const uint32_t e = table[src[i + static_cast<size_t>(k)]];
      w.put(e & 0xffff, e >> 16);
    }
    if constexpr (Fast) w.flush_fast();
    else w.flush_exact();
  }
  for (; i < n; ++i) {
    const uint32_t e = table[src[i]];
    w.put(e & 0xffff, e >> 16);
    w.flush_exact();
  }
}

template <bool Fast>
void write_block(BitWriter& w, const BlockPlan& p, const uint8_t* src, size_t n, bool final_block) {
  write_header(w, p, final_block);
  if (p.max_len <= 11) write_literals<5, Fast>(w, src, n, p.table.data());
  else if (p.max_len <= 14) write_literals<4, Fast>(w, src, n, p.table.data());
  else write_literals<3, Fast>(w, src, n, p.table.data());
  w.put(p.code[kEndOfBlock], p.len[kEndOfBlock]);
  w.flush_exact();
}

size_t blocks_of(size_t n) { return n == 0 ? 1 : (n + kHuffmanBlockBytes - 1) / kHuffmanBlockBytes; }

}  // namespace

size_t huffman_zlib_compress(const std::byte* src_bytes, size_t n, std::byte* dst, size_t cap) {
  const auto* src = reinterpret_cast<const uint8_t*>(src_bytes);
  if (cap < 2 + 4) return 0;
  // CMF 0x78: deflate, 32 KiB window; FLG 0x01: "fastest" level, check bits.
  dst[0] = std::byte{0x78};
  dst[1] = std::byte{0x01};
  BitWriter w{dst + 2};
  std::byte* const limit = dst + cap - 4;  // the Adler-32 trailer goes after
  thread_local BlockPlan plan;
  const size_t nb = blocks_of(n);
  for (size_t b = 0; b < nb; ++b) {
    const size_t off = b * kHuffmanBlockBytes, len = std::min(kHuffmanBlockBytes, n - off);
    const bool last = b + 1 == nb;
    plan_block(src + off, len, plan);
    const uint64_t stored = stored_bits(len, w.cnt);
    const bool use_stored = stored < plan.bits;
    const uint64_t end_bits = w.cnt + (use_stored ? stored : plan.bits);
    const size_t end_bytes = static_cast<size_t>((end_bits + 7) / 8);
    if (end_bytes > static_cast<size_t>(limit - w.out)) return 0;
    if (use_stored) write_stored(w, src + off, len, last);
    else if (end_bytes + 8 <= static_cast<size_t>(limit - w.out)) write_block<true>(w, plan, src + off, len, last);
    else write_block<false>(w, plan, src + off, len, last);
  }
  w.align();
  const uint32_t adler = libdeflate_adler32(1, src, n);
  for (int i = 0; i < 4; ++i) *w.out++ = static_cast<std::byte>((adler >> (24 - 8 * i)) & 0xff);
  return static_cast<size_t>(w.out - dst);
}

size_t huffman_zlib_size(const std::byte* src_bytes, size_t n) {
  const auto* src = reinterpret_cast<const uint8_t*>(src_bytes);
  thread_local BlockPlan plan;
  uint64_t bits = 16;
  const size_t nb = blocks_of(n);
  for (size_t b = 0; b < nb; ++b) {
    const size_t off = b * kHuffmanBlockBytes, len = std::min(kHuffmanBlockBytes, n - off);
    plan_block(src + off, len, plan);
    bits += std::min(stored_bits(len, bits % 8), plan.bits);
  }
  return static_cast<size_t>((bits + 7) / 8) + 4;
}

}  // namespace scanpp::io
