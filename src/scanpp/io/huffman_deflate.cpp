#include "scanpp/io/huffman_deflate.hpp"

#include <libdeflate.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

#include "scanpp/io/deflate_codes.hpp"

namespace scanpp::io {

namespace {

using deflate::canonical_codes;
using deflate::code_len_extra_bits;
using deflate::huffman_code_lengths;
using deflate::kCodeLenOrder;
using deflate::kMaxCodeBits;
using deflate::kMaxCodeLenBits;
constexpr int kLitSyms = 257;  // bytes 0-255 and end-of-block (256)
constexpr int kEndOfBlock = 256;
constexpr int kPrecodeSyms = deflate::kNumCodeLenSyms;
constexpr size_t kStoredMax = 65535;  // a stored block's LEN is 16 bits

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

// Plans the Huffman block for src[0, n); p.bits is its exact size.
void plan_block(const uint8_t* src, size_t n, BlockPlan& p) {
  histogram(src, n, p.freq.data());
  p.freq[kEndOfBlock] = 1;
  huffman_code_lengths(p.freq.data(), kLitSyms, kMaxCodeBits, p.len.data());
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

  p.n_items = deflate::run_length_code_lengths(p.len.data(), kLitSyms + 2, p.item_sym.data(), p.item_extra.data());
  std::array<uint32_t, kPrecodeSyms> pre_freq{};
  for (int i = 0; i < p.n_items; ++i) ++pre_freq[p.item_sym[static_cast<size_t>(i)]];
  huffman_code_lengths(pre_freq.data(), kPrecodeSyms, kMaxCodeLenBits, p.pre_len.data());
  p.pre_code.fill(0);
  canonical_codes(p.pre_len.data(), kPrecodeSyms, p.pre_code.data());
  p.n_pre = kPrecodeSyms;
  while (p.n_pre > 4 && p.pre_len[kCodeLenOrder[static_cast<size_t>(p.n_pre - 1)]] == 0) --p.n_pre;

  uint64_t header_bits = 3 + 5 + 5 + 4 + 3 * static_cast<uint64_t>(p.n_pre);
  for (int i = 0; i < p.n_items; ++i) {
    const int s = p.item_sym[static_cast<size_t>(i)];
    header_bits += p.pre_len[static_cast<size_t>(s)] + static_cast<uint64_t>(code_len_extra_bits(s));
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
    w.put(p.pre_len[kCodeLenOrder[static_cast<size_t>(i)]], 3);
    w.flush_exact();
  }
  for (int i = 0; i < p.n_items; ++i) {
    const int s = p.item_sym[static_cast<size_t>(i)];
    w.put(p.pre_code[static_cast<size_t>(s)], p.pre_len[static_cast<size_t>(s)]);
    w.put(p.item_extra[static_cast<size_t>(i)], static_cast<unsigned>(code_len_extra_bits(s)));
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
