#pragma once
// A zlib stream (RFC 1950 around RFC 1951 deflate) made of literal-only
// dynamic-Huffman blocks: no LZ77 matching at all. On data whose bytes do not
// repeat in runs (scaled float matrices, embeddings, p-values) matching finds
// nothing, and the whole gain of deflate is the entropy coding of the byte
// frequencies; skipping the match search makes that about 10x cheaper than
// libdeflate at any level, for the same ratio. Any inflater (zlib, libdeflate,
// HDF5's deflate filter, h5py) reads the result.
#include <cstddef>

namespace scanpp::io {

// Bytes of input per deflate block: each block gets its own code, fitted to
// its byte frequencies, at the cost of a ~100-200 byte header. On PBMC's
// arrays, 32 KiB halves the speed (a code is built per block) and 128 KiB or
// more loses 0.3-3% on records whose statistics drift (rank_genes_groups);
// X's ratio does not move.
inline constexpr size_t kHuffmanBlockBytes = size_t{64} << 10;

// Compresses src[0, n) into dst (room for `cap` bytes) and returns the
// stream's size, or 0 if it would not fit in `cap` (the caller then stores
// the data uncompressed). A block that Huffman coding would not shrink is
// stored as is inside the stream. Deterministic: the output depends only on
// the input bytes.
size_t huffman_zlib_compress(const std::byte* src, size_t n, std::byte* dst, size_t cap);

// The exact size huffman_zlib_compress(src, n, ...) returns with room enough,
// from the byte histograms alone (about 5x cheaper than compressing).
size_t huffman_zlib_size(const std::byte* src, size_t n);

}  // namespace scanpp::io
