#pragma once
// Checks on rendered figures, shared by the pl_* tests: read a PNG back with
// cairo, count pixels of a colour, find ink in a region, count SVG elements,
// rasterise a PDF with pdftoppm.
#include <cairo.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "scanpp/pl/color.hpp"
#include "test_paths.hpp"

namespace scanpp::testing::plot {

struct Pixel {
  int r = 0, g = 0, b = 0, a = 0;
};

// A PNG as straight (un-premultiplied) 8-bit RGBA pixels.
struct Image {
  int width = 0, height = 0;
  std::vector<Pixel> px;
  const Pixel& at(int x, int y) const { return px[static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)]; }
};

inline Image read_png(const std::string& path) {
  cairo_surface_t* s = cairo_image_surface_create_from_png(path.c_str());
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(s);
    throw std::runtime_error("cannot read PNG " + path);
  }
  cairo_surface_flush(s);
  Image im;
  im.width = cairo_image_surface_get_width(s);
  im.height = cairo_image_surface_get_height(s);
  const int stride = cairo_image_surface_get_stride(s);
  const unsigned char* data = cairo_image_surface_get_data(s);
  const bool alpha = cairo_image_surface_get_format(s) == CAIRO_FORMAT_ARGB32;
  im.px.resize(static_cast<size_t>(im.width) * static_cast<size_t>(im.height));
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x) {
      const uint32_t v = reinterpret_cast<const uint32_t*>(data + static_cast<ptrdiff_t>(y) * stride)[x];
      const int a = alpha ? static_cast<int>(v >> 24) : 255;
      auto un = [&](int c) { return a == 0 ? 0 : std::min(255, (c * 255 + a / 2) / a); };
      im.px[static_cast<size_t>(y) * static_cast<size_t>(im.width) + static_cast<size_t>(x)] = {
          un(static_cast<int>((v >> 16) & 255)), un(static_cast<int>((v >> 8) & 255)), un(static_cast<int>(v & 255)), a};
    }
  cairo_surface_destroy(s);
  return im;
}

inline bool near(const Pixel& p, const pl::RGBA& c, int tol) {
  return std::abs(p.r - pl::to_byte(c.r)) <= tol && std::abs(p.g - pl::to_byte(c.g)) <= tol &&
         std::abs(p.b - pl::to_byte(c.b)) <= tol;
}

// Pixels within `tol` (per channel) of a colour, in [x0, x1) x [y0, y1) (whole image by default).
inline int count_color(const Image& im, const pl::RGBA& c, int tol = 2, int x0 = 0, int y0 = 0, int x1 = -1,
                       int y1 = -1) {
  if (x1 < 0) x1 = im.width;
  if (y1 < 0) y1 = im.height;
  int n = 0;
  for (int y = std::max(0, y0); y < std::min(y1, im.height); ++y)
    for (int x = std::max(0, x0); x < std::min(x1, im.width); ++x) n += near(im.at(x, y), c, tol);
  return n;
}

// Pixels darker than `level` (on all channels) in a region: text and lines are black.
inline int count_dark(const Image& im, int x0, int y0, int x1, int y1, int level = 100) {
  int n = 0;
  for (int y = std::max(0, y0); y < std::min(y1, im.height); ++y)
    for (int x = std::max(0, x0); x < std::min(x1, im.width); ++x) {
      const Pixel& p = im.at(x, y);
      n += p.r < level && p.g < level && p.b < level;
    }
  return n;
}

struct Box {
  int x0 = 0, y0 = 0, x1 = -1, y1 = -1;  // inclusive; x1 < x0 when empty
  bool empty() const { return x1 < x0; }
};

// Bounding box of the pixels that are not (near) white.
inline Box nonwhite_bbox(const Image& im, int tol = 8) {
  Box b{im.width, im.height, -1, -1};
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x) {
      const Pixel& p = im.at(x, y);
      if (p.r < 255 - tol || p.g < 255 - tol || p.b < 255 - tol) {
        b.x0 = std::min(b.x0, x);
        b.y0 = std::min(b.y0, y);
        b.x1 = std::max(b.x1, x);
        b.y1 = std::max(b.y1, y);
      }
    }
  return b;
}

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Parses an SVG with Debian's Python (xml.etree) and counts elements by tag
// (e.g. "path", "image", "use"); -1 when it does not parse.
inline int svg_count(const std::string& svg, const std::string& tag) {
  std::string out;
  const int rc = run_command("/usr/bin/python3 -c \"import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); "
                             "print(sum(1 for e in r.iter() if e.tag.split('}')[-1] == sys.argv[2]))\" '" +
                                 svg + "' " + tag,
                             &out);
  if (rc != 0) return -1;
  return std::atoi(out.c_str());
}

// Rasterises page 1 of a PDF with pdftoppm at `dpi` into a PNG and reads it.
inline Image render_pdf(const std::string& pdf, const std::string& out_prefix, int dpi = 50) {
  std::string out;
  const int rc = run_command("pdftoppm -png -r " + std::to_string(dpi) + " -singlefile '" + pdf + "' '" + out_prefix + "'", &out);
  if (rc != 0) throw std::runtime_error("pdftoppm failed: " + out);
  return read_png(out_prefix + ".png");
}

}  // namespace scanpp::testing::plot
