#pragma once
// PNG encoding of a cairo ARGB32 image. cairo_surface_write_to_png compresses
// through libpng at zlib's default level and tries every row filter, which
// made PNG encoding most of the plotting time of the PBMC tutorial; this
// writes the same image (RGB when fully opaque, else straight RGBA, as cairo
// does), no row filter, compressed by png_zlib_compress (png_deflate.hpp:
// matches one pixel and one scanline back, strips of rows on scanpp's
// threads; the file's bytes do not depend on the thread count).
#include <cstdint>
#include <string>

namespace scanpp::pl {

// data: rows of `width` native-endian premultiplied ARGB32 pixels, `stride`
// bytes apart (cairo's CAIRO_FORMAT_ARGB32). Writes the PNG file at `path`
// (the caller makes it atomic); throws InputError when it cannot be written.
void write_png(const std::string& path, const unsigned char* data, int width, int height, int stride);

}  // namespace scanpp::pl
