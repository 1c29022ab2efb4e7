// pl::write_png against cairo's own PNG writer: the same decoded pixels for
// opaque and translucent images (RGB when opaque, straight RGBA otherwise),
// and a clear error for a path that cannot be written.
#include <cairo.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "scanpp/core/error.hpp"
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
