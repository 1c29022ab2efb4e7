#include "scanpp/pl/png_deflate.hpp"

#include <libdeflate.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <exception>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/deflate_codes.hpp"

namespace scanpp::pl {

namespace {

// Raw bytes per strip (whole rows, at least one): each strip is one deflate
// block with its own code, and one unit of parallel work. 64 KiB keeps the
// code fitted to the rows it covers (axes, text, a panel of markers) for a
// header of ~60-100 bytes.
constexpr size_t kStripBytes = size_t{256} << 10;

using io::deflate::canonical_codes;
using io::deflate::code_len_extra_bits;
using io::deflate::kCodeLenOrder;
using io::deflate::kMaxCodeBits;
using io::deflate::kMaxCodeLenBits;
constexpr int kNumLitLen = 286;
constexpr int kNumDist = 30;
constexpr int kNumCodeLen = io::deflate::kNumCodeLenSyms;
constexpr int kMinMatch = 3, kMaxMatch = 258;

constexpr uint16_t kLengthBase[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr uint8_t kLengthExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr uint16_t kDistBase[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                    33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                    1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
constexpr uint8_t kDistExtra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

// Length 3..258 -> index into kLengthBase (symbol 257 + index).
struct LengthSlots {
  std::array<uint8_t, kMaxMatch + 1> slot{};
  constexpr LengthSlots() {
    for (int s = 0; s < 29; ++s) {
      const int hi = s + 1 < 29 ? kLengthBase[s + 1] : kMaxMatch + 1;
      for (int l = kLengthBase[s]; l < hi && l <= kMaxMatch; ++l) slot[static_cast<size_t>(l)] = static_cast<uint8_t>(s);
    }
    slot[kMaxMatch] = 28;  // 258 has its own code (227..257 use slot 27)
  }
};
constexpr LengthSlots kLengthSlots{};

// One LZ77 symbol: a literal byte (dist 0) or a match of `value` bytes at
// distance `dist` (1..32768).
struct Sym {
  uint16_t value;
  uint16_t dist;
};

// Distance 1..32768 -> index into kDistBase.
struct DistSlots {
  std::array<uint8_t, 512> slot{};  // [d - 1] for d <= 256, [256 + ((d - 1) >> 7)] above
  constexpr DistSlots() {
    for (int s = 0; s < kNumDist; ++s) {
      const int hi = s + 1 < kNumDist ? kDistBase[s + 1] : 32769;
      for (int d = kDistBase[s]; d < hi; ++d) {
        if (d <= 256)
          slot[static_cast<size_t>(d - 1)] = static_cast<uint8_t>(s);
        else
          slot[static_cast<size_t>(256 + ((d - 1) >> 7))] = static_cast<uint8_t>(s);
      }
    }
  }
  int operator()(size_t d) const { return d <= 256 ? slot[d - 1] : slot[256 + ((d - 1) >> 7)]; }
};
constexpr DistSlots kDistSlots{};

// Hash of the next four bytes, for the third match candidate: the last
// position a literal run held the same four bytes (repeated glyphs, marker
// shapes, legend entries).
constexpr int kHashBits = 13;
inline uint32_t hash4(uint32_t v) { return (v * 2654435761u) >> (32 - kHashBits); }

inline uint32_t load32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

// Number of equal bytes at p and q, at most `max`.
inline size_t match_length(const unsigned char* p, const unsigned char* q, size_t max) {
  size_t n = 0;
  if constexpr (std::endian::native == std::endian::little) {
    while (n + 8 <= max) {
      uint64_t a, b;
      std::memcpy(&a, p + n, 8);
      std::memcpy(&b, q + n, 8);
      if (const uint64_t x = a ^ b; x != 0) return n + static_cast<size_t>(std::countr_zero(x) >> 3);
      n += 8;
    }
  }
  while (n < max && p[n] == q[n]) ++n;
  return n;
}

// At least two used symbols, so every code is complete (zlib's inflate
// rejects incomplete codes other than a lone one-bit code).
void ensure_two(uint32_t* freq, int n) {
  int used = 0;
  for (int s = 0; s < n; ++s) used += freq[s] != 0;
  for (int s = 0; used < 2 && s < n; ++s)
    if (freq[s] == 0) {
      freq[s] = 1;
      ++used;
    }
}

// LSB-first bit packing into a buffer with at least 8 bytes of slack past
// what is written (whole 32-bit words are stored at once).
class BitWriter {
 public:
  explicit BitWriter(unsigned char* out) : out_(out) {}
  void put(uint32_t bits, int count) {
    acc_ |= static_cast<uint64_t>(bits) << n_;
    n_ += count;
    if (n_ >= 32) {
      store(acc_);
      out_ += 4;
      acc_ >>= 32;
      n_ -= 32;
    }
  }
  bool aligned() const { return n_ % 8 == 0; }
  void align() {
    if (n_ % 8 != 0) put(0, 8 - n_ % 8);
  }
  // Writes out the pending bits (after align()); returns the end of the output.
  unsigned char* finish() {
    store(acc_);
    out_ += n_ / 8;
    acc_ = 0;
    n_ = 0;
    return out_;
  }
  void bytes(const unsigned char* p, size_t n) {
    finish();
    std::memcpy(out_, p, n);
    out_ += n;
  }

 private:
  void store(uint64_t v) {
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(out_, &v, 8);
    } else {
      for (int k = 0; k < 8; ++k) out_[k] = static_cast<unsigned char>(v >> (8 * k));
    }
  }
  unsigned char* out_;
  uint64_t acc_ = 0;
  int n_ = 0;
};

// Compresses raw[begin, end) (whole scanlines; earlier bytes are the
// decoder's history) into `out` as non-final blocks ending on a byte boundary.
void compress_strip(const unsigned char* raw, size_t begin, size_t end, size_t row_bytes, size_t bpp,
                    std::vector<unsigned char>& out) {
  // Buffers reused across strips; plain pointers into them inside the loop
  // (a thread_local's members would be reloaded at every access).
  thread_local std::vector<Sym> sym_buf;
  if (sym_buf.size() < end - begin) sym_buf.resize(end - begin);
  Sym* const syms = sym_buf.data();
  Sym* sym_end = syms;
  std::array<uint32_t, kNumLitLen> lit_freq{};
  std::array<uint32_t, kNumDist> dist_freq{};
  thread_local std::array<uint32_t, size_t{1} << kHashBits> last_buf;
  last_buf.fill(UINT32_MAX);  // per strip, so the output does not depend on which thread ran what before
  uint32_t* const last = last_buf.data();
  for (size_t i = begin; i < end;) {
    const size_t max = std::min<size_t>(kMaxMatch, end - i);
    const unsigned char* p = raw + i;
    bool up = i >= row_bytes, left = i >= bpp;
    uint32_t cur = 0;
    if (max >= 4) {
      // Most positions of text and markers match neither: three bytes of
      // each candidate settle it before any longer comparison.
      cur = load32(p);
      up = up && ((cur ^ load32(p - row_bytes)) & 0xffffffu) == 0;
      left = left && ((cur ^ load32(p - bpp)) & 0xffffffu) == 0;
    }
    size_t best = 0, dist = 0;
    if (up) {
      const size_t l = match_length(p, p - row_bytes, max);
      if (l >= kMinMatch) best = l, dist = row_bytes;
    }
    if (left && best < max) {
      const size_t l = match_length(p, p - bpp, max);
      if (l >= kMinMatch && l > best) best = l, dist = bpp;
    }
    if (dist == 0 && max >= 4) {
      uint32_t& slot = last[hash4(cur)];
      const uint32_t cand = slot;
      slot = static_cast<uint32_t>(i);
      if (cand != UINT32_MAX && i - cand <= 32768 && load32(raw + cand) == cur) {
        best = 4 + match_length(p + 4, raw + cand + 4, max - 4);
        dist = i - cand;
      }
    }
    if (dist == 0) {
      *sym_end++ = {*p, 0};
      ++lit_freq[*p];
      ++i;
    } else {
      *sym_end++ = {static_cast<uint16_t>(best), static_cast<uint16_t>(dist)};
      ++lit_freq[257 + kLengthSlots.slot[best]];
      ++dist_freq[static_cast<size_t>(kDistSlots(dist))];
      i += best;
    }
  }
  lit_freq[256] = 1;
  ensure_two(lit_freq.data(), kNumLitLen);
  ensure_two(dist_freq.data(), kNumDist);

  std::array<uint8_t, kNumLitLen + kNumDist> lens{};
  io::deflate::huffman_code_lengths(lit_freq.data(), kNumLitLen, kMaxCodeBits, lens.data());
  io::deflate::huffman_code_lengths(dist_freq.data(), kNumDist, kMaxCodeBits, lens.data() + kNumLitLen);
  int hlit = kNumLitLen, hdist = kNumDist;
  while (hlit > 257 && lens[static_cast<size_t>(hlit - 1)] == 0) --hlit;
  while (hdist > 1 && lens[static_cast<size_t>(kNumLitLen + hdist - 1)] == 0) --hdist;
  // Literal/length and distance lengths are coded as one sequence.
  std::array<uint8_t, kNumLitLen + kNumDist> seq{};
  std::copy_n(lens.begin(), hlit, seq.begin());
  std::copy_n(lens.begin() + kNumLitLen, hdist, seq.begin() + hlit);
  std::array<uint8_t, kNumLitLen + kNumDist> rle_sym{}, rle_extra{};
  const int n_rle = io::deflate::run_length_code_lengths(seq.data(), hlit + hdist, rle_sym.data(), rle_extra.data());
  std::array<uint32_t, kNumCodeLen> cl_freq{};
  for (int r = 0; r < n_rle; ++r) ++cl_freq[rle_sym[static_cast<size_t>(r)]];
  ensure_two(cl_freq.data(), kNumCodeLen);
  std::array<uint8_t, kNumCodeLen> cl_lens{};
  io::deflate::huffman_code_lengths(cl_freq.data(), kNumCodeLen, kMaxCodeLenBits, cl_lens.data());
  int hclen = kNumCodeLen;
  while (hclen > 4 && cl_lens[kCodeLenOrder[hclen - 1]] == 0) --hclen;

  // Exact size of the dynamic block, to fall back to stored blocks when
  // the strip does not compress (photographic content).
  uint64_t bits = 3 + 5 + 5 + 4 + 3 * static_cast<uint64_t>(hclen);
  for (int r = 0; r < n_rle; ++r)
    bits += cl_lens[rle_sym[static_cast<size_t>(r)]] + static_cast<uint64_t>(code_len_extra_bits(rle_sym[static_cast<size_t>(r)]));
  for (int s = 0; s < kNumLitLen; ++s)
    bits += static_cast<uint64_t>(lit_freq[static_cast<size_t>(s)]) *
            (lens[static_cast<size_t>(s)] + (s > 256 ? kLengthExtra[s - 257] : 0));
  for (int s = 0; s < kNumDist; ++s)
    bits += static_cast<uint64_t>(dist_freq[static_cast<size_t>(s)]) * (lens[static_cast<size_t>(kNumLitLen + s)] + kDistExtra[s]);
  const size_t n = end - begin;
  const size_t stored_bytes = n + 5 * ((n + 65534) / 65535);

  const size_t start = out.size();
  if ((bits + 7) / 8 + 5 >= stored_bytes) {
    out.resize(start + stored_bytes + 16);
    BitWriter w(out.data() + start);
    for (size_t p = begin; p < end;) {
      const size_t len = std::min<size_t>(65535, end - p);
      w.put(0, 3);  // non-final, stored
      w.align();
      const unsigned char hdr[4] = {static_cast<unsigned char>(len), static_cast<unsigned char>(len >> 8),
                                    static_cast<unsigned char>(~len), static_cast<unsigned char>(~len >> 8)};
      w.bytes(hdr, 4);
      w.bytes(raw + p, len);
      p += len;
    }
    out.resize(static_cast<size_t>(w.finish() - out.data()));
    return;
  }

  out.resize(start + (bits + 7) / 8 + 5 + 16);
  BitWriter w(out.data() + start);
  std::array<uint16_t, kNumLitLen + kNumDist> codes{};
  canonical_codes(lens.data(), kNumLitLen, codes.data());
  canonical_codes(lens.data() + kNumLitLen, kNumDist, codes.data() + kNumLitLen);
  std::array<uint16_t, kNumCodeLen> cl_codes{};
  canonical_codes(cl_lens.data(), kNumCodeLen, cl_codes.data());
  w.put(0b100, 3);  // non-final, dynamic Huffman
  w.put(static_cast<uint32_t>(hlit - 257), 5);
  w.put(static_cast<uint32_t>(hdist - 1), 5);
  w.put(static_cast<uint32_t>(hclen - 4), 4);
  for (int i = 0; i < hclen; ++i) w.put(cl_lens[kCodeLenOrder[i]], 3);
  for (int r = 0; r < n_rle; ++r) {
    const uint8_t sym = rle_sym[static_cast<size_t>(r)];
    w.put(cl_codes[sym], cl_lens[sym]);
    if (sym >= 16) w.put(rle_extra[static_cast<size_t>(r)], code_len_extra_bits(sym));
  }
  // The two common distances' codes with their extra bits, fixed for the strip.
  const size_t common[2] = {bpp, row_bytes};
  uint32_t common_bits[2] = {0, 0};
  int common_nbits[2] = {0, 0};
  for (int k = 0; k < 2; ++k) {
    const int s = kDistSlots(common[k]);
    const int cl = lens[static_cast<size_t>(kNumLitLen + s)];
    common_bits[k] = codes[static_cast<size_t>(kNumLitLen + s)] | (static_cast<uint32_t>(common[k] - kDistBase[s]) << cl);
    common_nbits[k] = cl + kDistExtra[s];
  }
  for (const Sym* it = syms; it != sym_end; ++it) {
    const Sym& sym = *it;
    if (sym.dist == 0) {
      w.put(codes[sym.value], lens[sym.value]);
      continue;
    }
    const int slot = kLengthSlots.slot[sym.value];
    const int ls = 257 + slot;
    const int cl = lens[static_cast<size_t>(ls)];
    w.put(codes[static_cast<size_t>(ls)] | (static_cast<uint32_t>(sym.value - kLengthBase[slot]) << cl),
          cl + kLengthExtra[slot]);
    if (sym.dist == common[1]) {
      w.put(common_bits[1], common_nbits[1]);
    } else if (sym.dist == common[0]) {
      w.put(common_bits[0], common_nbits[0]);
    } else {
      const int ds = kDistSlots(sym.dist);
      const int dl = lens[static_cast<size_t>(kNumLitLen + ds)];
      w.put(codes[static_cast<size_t>(kNumLitLen + ds)] | (static_cast<uint32_t>(sym.dist - kDistBase[ds]) << dl),
            dl + kDistExtra[ds]);
    }
  }
  w.put(codes[256], lens[256]);
  if (!w.aligned()) {  // empty stored block: byte-aligns the strip's end
    w.put(0, 3);
    w.align();
    const unsigned char empty[4] = {0, 0, 0xff, 0xff};
    w.bytes(empty, 4);
  }
  out.resize(static_cast<size_t>(w.finish() - out.data()));
}

// Adler-32 of a concatenation from the checksums of its parts (adler_b over
// len_b bytes): the second part's running sums start at the first's.
uint32_t adler32_combine(uint32_t adler_a, uint32_t adler_b, size_t len_b) {
  constexpr uint64_t kMod = 65521;
  const uint64_t a1 = adler_a & 0xffff, b1 = adler_a >> 16, a2 = adler_b & 0xffff, b2 = adler_b >> 16;
  const uint64_t a = (a1 + a2 + kMod - 1) % kMod;
  const uint64_t b = (b1 + b2 + (len_b % kMod) * ((a1 + kMod - 1) % kMod)) % kMod;
  return static_cast<uint32_t>(b << 16 | a);
}

}  // namespace

std::vector<unsigned char> png_zlib_compress(const unsigned char* raw, size_t rows, size_t row_bytes, size_t bpp) {
  if (row_bytes == 0 || row_bytes > kMaxScanlineBytes || bpp == 0 || bpp > 8)
    throw ValueError("png_zlib_compress: scanlines of " + std::to_string(row_bytes) + " bytes with " +
                     std::to_string(bpp) + "-byte pixels are out of range");
  const size_t rows_per_strip = std::max<size_t>(1, kStripBytes / row_bytes);
  const size_t nstrips = (rows + rows_per_strip - 1) / rows_per_strip;
  std::vector<std::vector<unsigned char>> parts(nstrips);
  std::vector<uint32_t> adlers(nstrips);
  // An exception may not leave the parallel region (std::terminate): the
  // first one (out of memory) is kept and thrown here.
  std::exception_ptr failed;
  parallel_blocks(static_cast<int64_t>(nstrips), 1, [&](int64_t a, int64_t b) {
    try {
      for (int64_t s = a; s < b; ++s) {
        const size_t begin = static_cast<size_t>(s) * rows_per_strip * row_bytes;
        const size_t end = std::min(rows, (static_cast<size_t>(s) + 1) * rows_per_strip) * row_bytes;
        compress_strip(raw, begin, end, row_bytes, bpp, parts[static_cast<size_t>(s)]);
        adlers[static_cast<size_t>(s)] = static_cast<uint32_t>(libdeflate_adler32(1, raw + begin, end - begin));
      }
    } catch (...) {
#pragma omp critical(scanpp_png_deflate_fail)
      if (!failed) failed = std::current_exception();
    }
  });
  if (failed) std::rethrow_exception(failed);
  size_t total = 2 + 2 + 4;
  for (const auto& p : parts) total += p.size();
  std::vector<unsigned char> z;
  z.reserve(total);
  z.push_back(0x78);  // deflate, 32 KiB window
  z.push_back(0x01);  // no dictionary, check bits
  uint32_t adler = 1;
  for (size_t s = 0; s < nstrips; ++s) {
    z.insert(z.end(), parts[s].begin(), parts[s].end());
    const size_t begin = s * rows_per_strip * row_bytes;
    const size_t end = std::min(rows, (s + 1) * rows_per_strip) * row_bytes;
    adler = adler32_combine(adler, adlers[s], end - begin);
  }
  z.push_back(0x03);  // final, fixed-Huffman block holding only end-of-block
  z.push_back(0x00);
  for (int k = 3; k >= 0; --k) z.push_back(static_cast<unsigned char>(adler >> (8 * k)));
  return z;
}

}  // namespace scanpp::pl
