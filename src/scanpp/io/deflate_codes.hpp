#pragma once
// The Huffman-code side of deflate (RFC 1951) shared by scanpp's own
// encoders (io/huffman_deflate for h5ad chunks, pl/png_deflate for figures):
// length-limited code lengths, canonical codes, and the run-length coding of
// a block's code lengths with the code-length alphabet.
#include <array>
#include <cstdint>

namespace scanpp::io::deflate {

constexpr int kMaxCodeBits = 15;      // literal/length and distance codes
constexpr int kMaxCodeLenBits = 7;    // the code-length code
constexpr int kNumCodeLenSyms = 19;
// The order in which the code-length code's lengths are sent (3.2.7).
constexpr std::array<uint8_t, kNumCodeLenSyms> kCodeLenOrder = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5,
                                                                11, 4, 12, 3, 13, 2, 14, 1, 15};
// Extra bits after code-length symbol 16 (repeat 3-6), 17 (3-10 zeros), 18 (11-138 zeros).
constexpr int code_len_extra_bits(int sym) { return sym == 16 ? 2 : sym == 17 ? 3 : sym == 18 ? 7 : 0; }

// Code lengths (at most max_bits) of a minimum-redundancy code for
// freq[0, n), n <= 288; unused symbols get 0. The code is always complete
// (Kraft sum exactly 1), since some inflaters reject incomplete codes: with
// fewer than two symbols in use, symbol 0 or 1 gets the second 1-bit code.
void huffman_code_lengths(const uint32_t* freq, int n, int max_bits, uint8_t* len);

// Canonical codes (3.2.2) for len[0, n), bit-reversed: deflate sends a code
// from its first bit into a bit stream filled from the low end.
void canonical_codes(const uint8_t* len, int n, uint16_t* code);

// Run-length codes len[0, n) with the code-length alphabet into sym/extra
// (at most n entries each); returns the number of entries.
int run_length_code_lengths(const uint8_t* len, int n, uint8_t* sym, uint8_t* extra);

}  // namespace scanpp::io::deflate
