// PNG compression of plot images: libdeflate level 4 (the encoder write_png
// used before) against pl::png_zlib_compress, on the scanlines of the given
// PNG files (e.g. the PBMC tutorial's figures). Checks that each stream
// inflates back to the scanlines; prints milliseconds (median of the repeats,
// on scanpp's threads) and bytes per image and in total.
//   pl_png_bench [--repeats N] a.png b.png ...
#include <cairo.h>
#include <libdeflate.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "scanpp/pl/png_deflate.hpp"

namespace {

struct Image {
  std::string name;
  std::vector<unsigned char> raw;  // scanlines, filter byte 0
  size_t rows = 0, row_bytes = 0, bpp = 0;
};

bool load(const std::string& path, Image& im) {
  cairo_surface_t* s = cairo_image_surface_create_from_png(path.c_str());
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(s);
    return false;
  }
  const bool rgb = cairo_image_surface_get_format(s) == CAIRO_FORMAT_RGB24;
  const size_t w = static_cast<size_t>(cairo_image_surface_get_width(s));
  im.rows = static_cast<size_t>(cairo_image_surface_get_height(s));
  im.bpp = rgb ? 3 : 4;
  im.row_bytes = 1 + w * im.bpp;
  im.name = path;
  const unsigned char* data = cairo_image_surface_get_data(s);
  const size_t stride = static_cast<size_t>(cairo_image_surface_get_stride(s));
  for (size_t y = 0; y < im.rows; ++y) {
    im.raw.push_back(0);
    for (size_t x = 0; x < w; ++x) {
      uint32_t px;
      std::memcpy(&px, data + y * stride + 4 * x, 4);
      const uint32_t a = rgb ? 255 : px >> 24;
      uint32_t c[3] = {(px >> 16) & 255, (px >> 8) & 255, px & 255};
      for (auto& v : c) v = a == 0 ? 0 : a == 255 ? v : (v * 255 + a / 2) / a;
      im.raw.insert(im.raw.end(), {static_cast<unsigned char>(c[0]), static_cast<unsigned char>(c[1]),
                                   static_cast<unsigned char>(c[2])});
      if (!rgb) im.raw.push_back(static_cast<unsigned char>(a));
    }
  }
  cairo_surface_destroy(s);
  return true;
}

template <class F>
double median_ms(int repeats, F&& f) {
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 5;
  std::vector<Image> images;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--repeats" && i + 1 < argc) {
      repeats = std::max(1, std::stoi(argv[++i]));
      continue;
    }
    Image im;
    if (!load(a, im)) {
      std::fprintf(stderr, "cannot read %s\n", a.c_str());
      return 1;
    }
    images.push_back(std::move(im));
  }
  if (images.empty()) {
    std::fprintf(stderr, "usage: pl_png_bench [--repeats N] a.png ...\n");
    return 2;
  }
  libdeflate_compressor* c = libdeflate_alloc_compressor(4);
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  double t_old = 0, t_new = 0;
  size_t z_old = 0, z_new = 0, raw = 0;
  std::printf("%-28s %9s %10s %9s %10s %9s\n", "image", "raw", "libdefl-4", "ms", "png_zlib", "ms");
  for (const Image& im : images) {
    std::vector<unsigned char> z(libdeflate_zlib_compress_bound(c, im.raw.size()));
    size_t n_old = 0;
    const double ms_old =
        median_ms(repeats, [&] { n_old = libdeflate_zlib_compress(c, im.raw.data(), im.raw.size(), z.data(), z.size()); });
    std::vector<unsigned char> zn;
    const double ms_new =
        median_ms(repeats, [&] { zn = scanpp::pl::png_zlib_compress(im.raw.data(), im.rows, im.row_bytes, im.bpp); });
    std::vector<unsigned char> back(im.raw.size());
    size_t got = 0;
    if (libdeflate_zlib_decompress(d, zn.data(), zn.size(), back.data(), back.size(), &got) != LIBDEFLATE_SUCCESS ||
        got != im.raw.size() || back != im.raw) {
      std::fprintf(stderr, "%s: png_zlib_compress does not inflate back to the scanlines\n", im.name.c_str());
      return 1;
    }
    std::string name = im.name.substr(im.name.find_last_of('/') + 1);
    std::printf("%-28s %9zu %10zu %9.2f %10zu %9.2f\n", name.c_str(), im.raw.size(), n_old, ms_old, zn.size(), ms_new);
    t_old += ms_old;
    t_new += ms_new;
    z_old += n_old;
    z_new += zn.size();
    raw += im.raw.size();
  }
  std::printf("%-28s %9zu %10zu %9.2f %10zu %9.2f\n", "total", raw, z_old, t_old, z_new, t_new);
  libdeflate_free_compressor(c);
  libdeflate_free_decompressor(d);
  return 0;
}
