#pragma once
// A zlib stream (RFC 1950 around RFC 1951 deflate) for the scanlines of a
// plot image. Plots are flat colour, straight lines and some anti-aliased
// text and markers: nearly all the redundancy is a pixel repeating the one to
// its left or the scanline above repeating the one below it. So the LZ77
// search looks at exactly two distances, the pixel size and the scanline
// size, and skips the hash chains of a general compressor; the symbols of
// each strip of rows get their own dynamic Huffman code. On the PBMC
// tutorial's figures this is several times faster than libdeflate at level
// 1-4 for ~1.1x its output.
//
// Strips of rows are compressed independently (on scanpp's threads) and
// joined into one stream: each strip's blocks are non-final and end on a
// byte boundary (an empty stored block pads the last one, as pigz does), and
// matches may reach back into the previous strip because the decoder holds
// the whole window. The bytes depend only on the input, not on the thread
// count.
#include <cstddef>
#include <vector>

namespace scanpp::pl {

// Longest scanline (filter byte included) png_zlib_compress takes: the
// scanline-above distance must fit in deflate's 32 KiB window.
inline constexpr size_t kMaxScanlineBytes = 32768;

// raw: `rows` scanlines of `row_bytes` bytes each (1 <= row_bytes <=
// kMaxScanlineBytes), pixels of `bpp` bytes (1..8). Returns the zlib stream
// (any inflater reads it). ValueError for sizes out of range.
std::vector<unsigned char> png_zlib_compress(const unsigned char* raw, size_t rows, size_t row_bytes, size_t bpp);

}  // namespace scanpp::pl
