// pl::write_png against cairo's own PNG writer: the same decoded pixels for
// opaque and translucent images (RGB when opaque, straight RGBA otherwise),
// and a clear error for a path that cannot be written. pl::png_zlib_compress
// (the plot deflate encoder): streams that inflate back exactly (flat,
// repeated, noisy and gradient rows, strips, stored blocks), the same bytes
// on 1 and 2 threads, PIL (zlib) reading a figure, the size against
// libdeflate, and images too wide for its window.
#include <cairo.h>
#include <gtest/gtest.h>
#include <libdeflate.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/pl/png_deflate.hpp"
#include "scanpp/pl/png_writer.hpp"
#include "test_paths.hpp"

using scanpp::testing::TempDir;

namespace {

// A drawing with text, anti-aliased shapes and (unless opaque) translucency.
cairo_surface_t* draw(bool opaque) {
  cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 157, 61);
  cairo_t* cr = cairo_create(s);
  if (opaque) {
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
  }
  cairo_set_source_rgba(cr, 0.2, 0.5, 0.8, opaque ? 1.0 : 0.37);
  cairo_arc(cr, 40, 30, 22.5, 0, 2 * M_PI);
  cairo_fill(cr);
  cairo_set_source_rgba(cr, 0.9, 0.1, 0.3, opaque ? 1.0 : 0.61);
  cairo_set_line_width(cr, 1.3);
  cairo_move_to(cr, 3.3, 58.1);
  cairo_line_to(cr, 150.7, 4.2);
  cairo_stroke(cr);
  cairo_move_to(cr, 70, 40);
  cairo_set_font_size(cr, 14);
  cairo_show_text(cr, "CST3 0.25");
  cairo_destroy(cr);
  cairo_surface_flush(s);
  return s;
}

// Decoded pixels (cairo's premultiplied ARGB32) and the PNG colour type byte.
std::vector<uint32_t> decode(const std::string& path, int& color_type) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  unsigned char head[26] = {};
  EXPECT_EQ(std::fread(head, 1, sizeof head, f), sizeof head);
  std::fclose(f);
  color_type = head[25];
  cairo_surface_t* s = cairo_image_surface_create_from_png(path.c_str());
  EXPECT_EQ(cairo_surface_status(s), CAIRO_STATUS_SUCCESS) << path;
  const int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
  const int stride = cairo_image_surface_get_stride(s);
  std::vector<uint32_t> px;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      px.push_back(reinterpret_cast<const uint32_t*>(cairo_image_surface_get_data(s) + y * stride)[x] |
                   (color_type == 2 ? 0xff000000u : 0u));
  cairo_surface_destroy(s);
  return px;
}

void expect_same_as_cairo(bool opaque) {
  TempDir tmp;
  cairo_surface_t* s = draw(opaque);
  const std::string ours = tmp.file("ours.png"), theirs = tmp.file("cairo.png");
  scanpp::pl::write_png(ours, cairo_image_surface_get_data(s), cairo_image_surface_get_width(s),
                        cairo_image_surface_get_height(s), cairo_image_surface_get_stride(s));
  ASSERT_EQ(cairo_surface_write_to_png(s, theirs.c_str()), CAIRO_STATUS_SUCCESS);
  cairo_surface_destroy(s);
  int ct_ours = -1, ct_cairo = -1;
  const std::vector<uint32_t> a = decode(ours, ct_ours), b = decode(theirs, ct_cairo);
  EXPECT_EQ(ct_ours, opaque ? 2 : 6);
  EXPECT_EQ(ct_ours, ct_cairo);
  ASSERT_EQ(a.size(), static_cast<size_t>(157 * 61));
  EXPECT_EQ(a, b);
  int translucent = 0;
  for (uint32_t p : a) translucent += (p >> 24) != 0 && (p >> 24) != 255;
  if (opaque) EXPECT_EQ(translucent, 0);
  else EXPECT_GT(translucent, 100);
}

}  // namespace

TEST(PngWriter, OpaqueImageDecodesAsCairosRgb) { expect_same_as_cairo(true); }

TEST(PngWriter, TranslucentImageDecodesAsCairosRgba) { expect_same_as_cairo(false); }

TEST(PngWriter, UnwritablePathIsAClearError) {
  std::vector<uint32_t> px(4, 0xff336699u);
  try {
    scanpp::pl::write_png("/nonexistent-dir/x.png", reinterpret_cast<const unsigned char*>(px.data()), 2, 2, 8);
    FAIL() << "expected InputError";
  } catch (const scanpp::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x.png"), std::string::npos) << e.what();
  }
}

namespace {

// Scanlines (filter byte 0) of a synthetic plot: white rows, a frame, a
// horizontal gradient, repeated rows, and a band of pseudo-random bytes.
std::vector<unsigned char> plot_like_scanlines(size_t w, size_t h, size_t bpp) {
  const size_t rb = 1 + w * bpp;
  std::vector<unsigned char> raw(h * rb, 255);
  uint32_t lcg = 12345;
  for (size_t y = 0; y < h; ++y) {
    unsigned char* row = raw.data() + y * rb;
    row[0] = 0;
    for (size_t x = 0; x < w; ++x) {
      unsigned char* px = row + 1 + x * bpp;
      if (y % 97 == 5 || x == 13 || x == w - 7) {
        px[0] = px[1] = px[2] = 0;  // frame lines
      } else if (y > h / 4 && y < h / 3) {
        px[0] = static_cast<unsigned char>(x * 255 / w);  // gradient, the same on every row
        px[1] = 40;
        px[2] = static_cast<unsigned char>(255 - x * 255 / w);
      } else if (y > h / 2 && y < h / 2 + 20) {
        for (size_t c = 0; c < bpp; ++c) {
          lcg = lcg * 1103515245u + 12345u;
          px[c] = static_cast<unsigned char>(lcg >> 16);  // noise: nothing to match
        }
      }
      if (bpp == 4 && !(y > h / 2 && y < h / 2 + 20)) px[3] = x % 50 == 0 ? 128 : 255;
    }
  }
  return raw;
}

std::vector<unsigned char> inflate(const std::vector<unsigned char>& z, size_t n) {
  std::vector<unsigned char> out(n + 1);
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  size_t got = 0;
  const auto r = libdeflate_zlib_decompress(d, z.data(), z.size(), out.data(), out.size(), &got);
  libdeflate_free_decompressor(d);
  EXPECT_EQ(r, LIBDEFLATE_SUCCESS);
  out.resize(r == LIBDEFLATE_SUCCESS ? got : 0);
  return out;
}

size_t libdeflate_size(const std::vector<unsigned char>& raw, int level) {
  libdeflate_compressor* c = libdeflate_alloc_compressor(level);
  std::vector<unsigned char> z(libdeflate_zlib_compress_bound(c, raw.size()));
  const size_t n = libdeflate_zlib_compress(c, raw.data(), raw.size(), z.data(), z.size());
  libdeflate_free_compressor(c);
  return n;
}

}  // namespace

TEST(PngDeflate, InflatesBackToTheScanlines) {
  // 700 px: RGB rows of 2101 bytes (31 rows a strip), RGBA of 2801; 1 row; a 1-px column.
  for (const auto& [w, h, bpp] : std::vector<std::tuple<size_t, size_t, size_t>>{
           {700, 300, 3}, {700, 300, 4}, {700, 1, 3}, {1, 500, 4}, {5000, 40, 4}}) {
    const auto raw = plot_like_scanlines(w, h, bpp);
    const auto z = scanpp::pl::png_zlib_compress(raw.data(), h, 1 + w * bpp, bpp);
    ASSERT_GE(z.size(), 6u);
    EXPECT_EQ(z[0], 0x78);
    EXPECT_EQ((z[0] * 256 + z[1]) % 31, 0);
    EXPECT_EQ(inflate(z, raw.size()), raw) << w << "x" << h << "x" << bpp;
    // Flat and repeated content compresses; the noise band (20 rows) caps it.
    if (h > 100) {
      EXPECT_LT(z.size(), raw.size() / 4) << w << "x" << h << "x" << bpp;
    }
  }
}

TEST(PngDeflate, NoiseFallsBackToStoredBlocks) {
  std::vector<unsigned char> raw(300 * 901);
  uint32_t lcg = 7;
  for (size_t i = 0; i < raw.size(); ++i) {
    lcg = lcg * 1103515245u + 12345u;
    raw[i] = i % 901 == 0 ? 0 : static_cast<unsigned char>(lcg >> 16);
  }
  const auto z = scanpp::pl::png_zlib_compress(raw.data(), 300, 901, 3);
  EXPECT_EQ(inflate(z, raw.size()), raw);
  // Stored blocks: 5 bytes per block of at most 65535, plus the stream's 12.
  EXPECT_LE(z.size(), raw.size() + 5 * (raw.size() / 65535 + 8) + 12);
}

TEST(PngDeflate, SameBytesOnOneAndTwoThreads) {
  const auto raw = plot_like_scanlines(1200, 400, 3);
  const int before = scanpp::num_threads();
  scanpp::set_num_threads(1);
  const auto one = scanpp::pl::png_zlib_compress(raw.data(), 400, 3601, 3);
  scanpp::set_num_threads(2);
  const auto two = scanpp::pl::png_zlib_compress(raw.data(), 400, 3601, 3);
  scanpp::set_num_threads(before);
  EXPECT_EQ(one, two);
  EXPECT_GT(one.size(), 1000u);
}

TEST(PngDeflate, RejectsScanlinesBeyondTheWindow) {
  std::vector<unsigned char> raw(40000, 0);
  EXPECT_THROW(scanpp::pl::png_zlib_compress(raw.data(), 1, 40000, 4), scanpp::ValueError);
  EXPECT_THROW(scanpp::pl::png_zlib_compress(raw.data(), 1, 100, 0), scanpp::ValueError);
}

namespace {

// A 600 x 400 plot drawn with cairo: axes frame, grid, text, discs, a line.
cairo_surface_t* draw_plot() {
  cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 600, 400);
  cairo_t* cr = cairo_create(s);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_source_rgb(cr, 0.8, 0.8, 0.8);
  cairo_set_line_width(cr, 0.8);
  for (int k = 1; k < 6; ++k) {
    cairo_move_to(cr, 60 + 90 * k + 0.5, 20);
    cairo_line_to(cr, 60 + 90 * k + 0.5, 360);
  }
  cairo_stroke(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, 60.5, 20.5, 520, 340);
  cairo_stroke(cr);
  cairo_set_font_size(cr, 14);
  for (int k = 0; k < 6; ++k) {
    cairo_move_to(cr, 50 + 90 * k, 385);
    cairo_show_text(cr, ("1" + std::to_string(k) + "00").c_str());
  }
  uint32_t lcg = 99;
  for (int i = 0; i < 400; ++i) {
    lcg = lcg * 1103515245u + 12345u;
    const double x = 70 + (lcg >> 8) % 500;
    lcg = lcg * 1103515245u + 12345u;
    const double y = 30 + (lcg >> 8) % 320;
    cairo_set_source_rgba(cr, 0.12, 0.47, 0.71, 0.8);
    cairo_arc(cr, x, y, 3.3, 0, 2 * M_PI);
    cairo_fill(cr);
  }
  cairo_destroy(cr);
  cairo_surface_flush(s);
  return s;
}

}  // namespace

TEST(PngDeflate, PlotWithinATenthMoreThanLibdeflate) {
  cairo_surface_t* s = draw_plot();
  const unsigned char* data = cairo_image_surface_get_data(s);
  const int stride = cairo_image_surface_get_stride(s);
  std::vector<unsigned char> raw;
  for (int y = 0; y < 400; ++y) {
    raw.push_back(0);
    for (int x = 0; x < 600; ++x) {
      uint32_t px;
      std::memcpy(&px, data + y * stride + 4 * x, 4);
      raw.insert(raw.end(), {static_cast<unsigned char>(px >> 16), static_cast<unsigned char>(px >> 8),
                             static_cast<unsigned char>(px)});
    }
  }
  cairo_surface_destroy(s);
  const auto z = scanpp::pl::png_zlib_compress(raw.data(), 400, 1801, 3);
  EXPECT_EQ(inflate(z, raw.size()), raw);
  const size_t ref = libdeflate_size(raw, 4);
  // The tutorial's figures come out at 0.96-1.12x libdeflate level 4.
  EXPECT_LT(static_cast<double>(z.size()), 1.1 * static_cast<double>(ref)) << z.size() << " vs " << ref;
  std::printf("plot: png_zlib_compress %zu bytes, libdeflate level 4 %zu bytes\n", z.size(), ref);
}

TEST(PngWriter, PilReadsTheSamePixels) {
  TempDir tmp;
  cairo_surface_t* s = draw_plot();
  const std::string path = tmp.file("plot.png");
  scanpp::pl::write_png(path, cairo_image_surface_get_data(s), 600, 400, cairo_image_surface_get_stride(s));
  // Position-weighted checksum of the RGB bytes, here and as PIL (zlib) decodes them.
  uint64_t sum = 0, weighted = 0;
  const unsigned char* data = cairo_image_surface_get_data(s);
  uint64_t i = 0;
  for (int y = 0; y < 400; ++y)
    for (int x = 0; x < 600; ++x) {
      uint32_t px;
      std::memcpy(&px, data + y * cairo_image_surface_get_stride(s) + 4 * x, 4);
      for (uint32_t c : {(px >> 16) & 255u, (px >> 8) & 255u, px & 255u}) {
        sum += c;
        weighted = (weighted + c * (i++ % 1000003)) % 1000000007;
      }
    }
  cairo_surface_destroy(s);
  std::string out;
  const std::string cmd = "/usr/bin/python3 -c \"import numpy as np; from PIL import Image; "
                          "a = np.asarray(Image.open('" + path + "')).astype(np.int64).ravel(); "
                          "i = np.arange(a.size) % 1000003; "
                          "print(Image.open('" + path + "').mode, a.sum(), int((a * i % 1000000007).sum() % 1000000007))\"";
  ASSERT_EQ(scanpp::testing::run_command(cmd, &out), 0) << out;
  EXPECT_EQ(out, "RGB " + std::to_string(sum) + " " + std::to_string(weighted) + "\n");
}

TEST(PngWriter, ImagesWiderThanTheWindowStillWrite) {
  // 11000 px of RGB: scanlines of 33001 bytes, beyond deflate's 32 KiB window.
  TempDir tmp;
  cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 11000, 3);
  cairo_t* cr = cairo_create(s);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_source_rgb(cr, 0.5, 0.1, 0.9);
  cairo_rectangle(cr, 100.5, 0, 5000, 2);
  cairo_fill(cr);
  cairo_destroy(cr);
  cairo_surface_flush(s);
  const std::string ours = tmp.file("wide.png");
  scanpp::pl::write_png(ours, cairo_image_surface_get_data(s), 11000, 3, cairo_image_surface_get_stride(s));
  std::vector<uint32_t> want;
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 11000; ++x)
      want.push_back(reinterpret_cast<const uint32_t*>(cairo_image_surface_get_data(s) +
                                                      y * cairo_image_surface_get_stride(s))[x]);
  cairo_surface_destroy(s);
  int ct = -1;
  EXPECT_EQ(decode(ours, ct), want);
  EXPECT_EQ(ct, 2);
}
