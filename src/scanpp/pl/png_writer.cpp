#include "scanpp/pl/png_writer.hpp"

#include <libdeflate.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "scanpp/core/error.hpp"

namespace scanpp::pl {

namespace {

// libdeflate level 4: figures compress to about cairo's size at a fraction
// of the time (flat colours and text make long matches cheap to find).
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

void write_png(const std::string& path, const unsigned char* data, int width, int height, int stride) {
  const size_t w = static_cast<size_t>(width), h = static_cast<size_t>(height);
  bool opaque = true;
  for (size_t y = 0; y < h && opaque; ++y) {
    const auto* row = reinterpret_cast<const uint32_t*>(data + y * static_cast<size_t>(stride));
    for (size_t x = 0; x < w; ++x)
      if ((row[x] >> 24) != 255) {
        opaque = false;
        break;
      }
  }
  const size_t channels = opaque ? 3 : 4;
  // Scanlines with filter byte 0 (none), colours un-premultiplied as cairo does.
  std::vector<unsigned char> raw(h * (1 + w * channels));
  unsigned char* o = raw.data();
  for (size_t y = 0; y < h; ++y) {
    const auto* row = reinterpret_cast<const uint32_t*>(data + y * static_cast<size_t>(stride));
    *o++ = 0;
    for (size_t x = 0; x < w; ++x) {
      const uint32_t px = row[x];
      const uint32_t a = px >> 24;
      uint32_t r = (px >> 16) & 255, g = (px >> 8) & 255, b = px & 255;
      if (a == 0) {
        r = g = b = 0;
      } else if (a != 255) {
        r = (r * 255 + a / 2) / a;
        g = (g * 255 + a / 2) / a;
        b = (b * 255 + a / 2) / a;
      }
      *o++ = static_cast<unsigned char>(r);
      *o++ = static_cast<unsigned char>(g);
      *o++ = static_cast<unsigned char>(b);
      if (!opaque) *o++ = static_cast<unsigned char>(a);
    }
  }

  std::unique_ptr<libdeflate_compressor, decltype(&libdeflate_free_compressor)> c(
      libdeflate_alloc_compressor(kLevel), &libdeflate_free_compressor);
  if (!c) throw Error("write_png: cannot allocate the compressor");
  std::vector<unsigned char> z(libdeflate_zlib_compress_bound(c.get(), raw.size()));
  const size_t zsize = libdeflate_zlib_compress(c.get(), raw.data(), raw.size(), z.data(), z.size());
  if (zsize == 0) throw Error("write_png: compression failed");

  std::vector<unsigned char> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  png.reserve(zsize + 64);
  std::vector<unsigned char> ihdr;
  put_u32(ihdr, static_cast<uint32_t>(width));
  put_u32(ihdr, static_cast<uint32_t>(height));
  // 8 bits per sample; colour type 2 (RGB) or 6 (RGBA); deflate; adaptive
  // filtering method 0; no interlace.
  ihdr.insert(ihdr.end(), {8, static_cast<unsigned char>(opaque ? 2 : 6), 0, 0, 0});
  put_chunk(png, "IHDR", ihdr.data(), ihdr.size());
  put_chunk(png, "IDAT", z.data(), zsize);
  put_chunk(png, "IEND", nullptr, 0);

  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw InputError(path, "", "cannot open the PNG for writing");
  const bool ok = std::fwrite(png.data(), 1, png.size(), f) == png.size();
  if (std::fclose(f) != 0 || !ok) throw InputError(path, "", "cannot write the PNG");
}

}  // namespace scanpp::pl
