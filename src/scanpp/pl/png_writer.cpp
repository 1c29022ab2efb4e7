#include "scanpp/pl/png_writer.hpp"

#include <libdeflate.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pl/png_deflate.hpp"

namespace scanpp::pl {

namespace {

// libdeflate level 4, for images too wide for png_zlib_compress.
constexpr int kLevel = 4;

void put_u32(std::vector<unsigned char>& out, uint32_t v) {
  out.push_back(static_cast<unsigned char>(v >> 24));
  out.push_back(static_cast<unsigned char>(v >> 16));
  out.push_back(static_cast<unsigned char>(v >> 8));
  out.push_back(static_cast<unsigned char>(v));
}

// A chunk: length, type, data, CRC-32 over type and data.
void put_chunk(std::vector<unsigned char>& out, const char type[4], const unsigned char* data, size_t size) {
  put_u32(out, static_cast<uint32_t>(size));
  const size_t type_at = out.size();
  out.insert(out.end(), type, type + 4);
  if (size > 0) out.insert(out.end(), data, data + size);
  put_u32(out, static_cast<uint32_t>(libdeflate_crc32(0, out.data() + type_at, size + 4)));
}

}  // namespace

namespace {

// Scanline buffers are kept between figures up to this size: a tutorial
// writes a dozen figures, and a fresh buffer each time costs page faults
// over its whole size.
constexpr size_t kKeepBytes = size_t{64} << 20;

// Straight colour of a premultiplied pixel, as cairo's PNG writer computes it.
inline void unpremultiply(uint32_t px, unsigned char* o) {
  const uint32_t a = px >> 24;
  uint32_t r = (px >> 16) & 255, g = (px >> 8) & 255, b = px & 255;
  if (a == 0) {
    r = g = b = 0;
  } else if (a != 255) {
    r = (r * 255 + a / 2) / a;
    g = (g * 255 + a / 2) / a;
    b = (b * 255 + a / 2) / a;
  }
  o[0] = static_cast<unsigned char>(r);
  o[1] = static_cast<unsigned char>(g);
  o[2] = static_cast<unsigned char>(b);
}

bool row_opaque(const uint32_t* row, size_t w) {
  uint32_t all = 0xffffffffu;
  for (size_t x = 0; x < w; ++x) all &= row[x];
  return (all >> 24) == 255;
}

// Scanlines with filter byte 0 (none), colours un-premultiplied as cairo
// does. Opaque pixels need no division: their bytes are only reordered,
// four at a time through 32-bit words (bytes R G B A in memory).
void to_scanlines(const unsigned char* data, size_t w, size_t y0, size_t y1, size_t stride, bool opaque,
                  unsigned char* out) {
  const size_t row_bytes = 1 + w * (opaque ? 3 : 4);
  const auto rgba = [](uint32_t px) {
    return ((px >> 16) & 0xffu) | (px & 0xff00u) | ((px & 0xffu) << 16) | (px & 0xff000000u);
  };
  for (size_t y = y0; y < y1; ++y) {
    const auto* row = reinterpret_cast<const uint32_t*>(data + y * stride);
    unsigned char* o = out + y * row_bytes;
    *o++ = 0;
    if (opaque) {
      // Each pixel as a 4-byte word whose last byte the next pixel
      // overwrites; the row's last pixel byte by byte, so nothing is written
      // past the row (another thread may own the next one).
      size_t x = 0;
      if constexpr (std::endian::native == std::endian::little) {
        for (; x + 1 < w; ++x) {
          const uint32_t v = rgba(row[x]);
          std::memcpy(o + 3 * x, &v, 4);
        }
      }
      for (; x < w; ++x) {
        o[3 * x] = static_cast<unsigned char>(row[x] >> 16);
        o[3 * x + 1] = static_cast<unsigned char>(row[x] >> 8);
        o[3 * x + 2] = static_cast<unsigned char>(row[x]);
      }
      continue;
    }
    if (std::endian::native == std::endian::little && row_opaque(row, w)) {
      for (size_t x = 0; x < w; ++x) {
        const uint32_t v = rgba(row[x]);
        std::memcpy(o + 4 * x, &v, 4);
      }
      continue;
    }
    for (size_t x = 0; x < w; ++x) {
      unpremultiply(row[x], o + 4 * x);
      o[4 * x + 3] = static_cast<unsigned char>(row[x] >> 24);
    }
  }
}

bool fully_opaque(const unsigned char* data, size_t w, size_t h, size_t stride) {
  for (size_t y = 0; y < h; ++y)
    if (!row_opaque(reinterpret_cast<const uint32_t*>(data + y * stride), w)) return false;
  return true;
}

}  // namespace

void write_png(const std::string& path, const unsigned char* data, int width, int height, int stride) {
  const size_t w = static_cast<size_t>(width), h = static_cast<size_t>(height), st = static_cast<size_t>(stride);
  const bool opaque = fully_opaque(data, w, h, st);
  const size_t channels = opaque ? 3 : 4;
  const size_t row_bytes = 1 + w * channels;
  thread_local std::vector<unsigned char> kept;
  std::vector<unsigned char> big;
  std::vector<unsigned char>& raw = h * row_bytes <= kKeepBytes ? kept : big;
  if (raw.size() < h * row_bytes) raw.resize(h * row_bytes);
  // Rows in blocks of ~256 KiB: small figures stay on one thread.
  const int64_t rows_per_block = std::max<int64_t>(1, static_cast<int64_t>((size_t{256} << 10) / row_bytes));
  parallel_blocks(static_cast<int64_t>(h), rows_per_block, [&](int64_t a, int64_t b) {
    to_scanlines(data, w, static_cast<size_t>(a), static_cast<size_t>(b), st, opaque, raw.data());
  });

  std::vector<unsigned char> z;
  if (row_bytes <= kMaxScanlineBytes) {
    z = png_zlib_compress(raw.data(), h, row_bytes, channels);
  } else {  // wider than deflate's window: a general compressor
    std::unique_ptr<libdeflate_compressor, decltype(&libdeflate_free_compressor)> c(
        libdeflate_alloc_compressor(kLevel), &libdeflate_free_compressor);
    if (!c) throw Error("write_png: cannot allocate the compressor");
    z.resize(libdeflate_zlib_compress_bound(c.get(), h * row_bytes));
    z.resize(libdeflate_zlib_compress(c.get(), raw.data(), h * row_bytes, z.data(), z.size()));
    if (z.empty()) throw Error("write_png: compression failed");
  }
  const size_t zsize = z.size();

  std::vector<unsigned char> head = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<unsigned char> ihdr;
  put_u32(ihdr, static_cast<uint32_t>(width));
  put_u32(ihdr, static_cast<uint32_t>(height));
  // 8 bits per sample; colour type 2 (RGB) or 6 (RGBA); deflate; adaptive
  // filtering method 0; no interlace.
  ihdr.insert(ihdr.end(), {8, static_cast<unsigned char>(opaque ? 2 : 6), 0, 0, 0});
  put_chunk(head, "IHDR", ihdr.data(), ihdr.size());
  // The IDAT chunk around the stream, which is written from where it lies.
  put_u32(head, static_cast<uint32_t>(zsize));
  head.insert(head.end(), {'I', 'D', 'A', 'T'});
  const uint32_t crc = static_cast<uint32_t>(
      libdeflate_crc32(static_cast<unsigned>(libdeflate_crc32(0, head.data() + head.size() - 4, 4)), z.data(), zsize));
  std::vector<unsigned char> tail;
  put_u32(tail, crc);
  put_chunk(tail, "IEND", nullptr, 0);

  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw InputError(path, "", "cannot open the PNG for writing");
  const bool ok = std::fwrite(head.data(), 1, head.size(), f) == head.size() &&
                  std::fwrite(z.data(), 1, zsize, f) == zsize &&
                  std::fwrite(tail.data(), 1, tail.size(), f) == tail.size();
  if (std::fclose(f) != 0 || !ok) throw InputError(path, "", "cannot write the PNG");
}

}  // namespace scanpp::pl
