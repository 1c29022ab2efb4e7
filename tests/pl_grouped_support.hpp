#pragma once
// Helpers for the grouped-plot tests: the golden PBMC 3k object (read once),
// the tutorial's marker genes, group statistics computed straight from
// raw.X without scanpp's plotting code, and image inspection through cairo.
#include <cairo.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "golden_support.hpp"
#include "scanpp/core/anndata.hpp"
#include "scanpp/io/h5ad.hpp"
#include "test_paths.hpp"

namespace plgrp_test {

inline const scanpp::AnnData& golden_pbmc() {
  static const scanpp::AnnData ad = scanpp::io::read_h5ad(golden::shared("golden/pbmc3k/pbmc3k_scanpy.h5ad"));
  return ad;
}

inline std::vector<std::string> marker_genes() {
  return {"IL7R", "CD79A", "MS4A1", "CD8A", "CD8B", "LYZ", "CD14", "LGALS3", "S100A8",
          "GNLY", "NKG7", "KLRB1", "FCGR3A", "MS4A7", "FCER1A", "CST3", "PPBP"};
}

// Mean and fraction (> 0) of raw.X per leiden group and gene, by a plain loop over the CSR.
struct RawStats {
  std::vector<std::string> groups;
  std::map<std::pair<std::string, std::string>, double> mean, frac;
};
inline RawStats raw_stats(const scanpp::AnnData& ad, const std::vector<std::string>& genes, const std::string& key) {
  RawStats r;
  const auto& cat = std::get<scanpp::Categorical>(ad.obs.at(key));
  r.groups = cat.string_categories();
  const auto& X = ad.raw->X->get<scanpp::SparseMatrix>();
  const auto& names = ad.raw->var.index();
  std::map<std::string, int64_t> col;
  for (size_t j = 0; j < names.size(); ++j) col[names[j]] = static_cast<int64_t>(j);
  std::vector<double> n(r.groups.size(), 0);
  for (int32_t c : cat.codes) n[static_cast<size_t>(c)] += 1;
  for (auto& g : genes) {
    std::vector<double> sum(r.groups.size(), 0), pos(r.groups.size(), 0);
    const int64_t j = col.at(g);
    for (int64_t i = 0; i < X.n_rows; ++i)
      for (int64_t p = X.indptr[i]; p < X.indptr[i + 1]; ++p)
        if (X.indices[p] == j) {
          const double v = X.data.get_double(p);
          sum[static_cast<size_t>(cat.codes[i])] += v;
          if (v > 0) pos[static_cast<size_t>(cat.codes[i])] += 1;
        }
    for (size_t k = 0; k < r.groups.size(); ++k) {
      r.mean[{r.groups[k], g}] = sum[k] / n[k];
      r.frac[{r.groups[k], g}] = pos[k] / n[k];
    }
  }
  return r;
}

// A PNG read back through cairo (ARGB32, premultiplied; figures are opaque).
struct Png {
  int width = 0, height = 0;
  std::vector<uint32_t> px;
  explicit Png(const std::string& path) {
    cairo_surface_t* s = cairo_image_surface_create_from_png(path.c_str());
    if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
      cairo_surface_flush(s);
      width = cairo_image_surface_get_width(s);
      height = cairo_image_surface_get_height(s);
      const int stride = cairo_image_surface_get_stride(s);
      const unsigned char* d = cairo_image_surface_get_data(s);
      px.resize(static_cast<size_t>(width) * height);
      for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
          px[static_cast<size_t>(y) * width + x] = *reinterpret_cast<const uint32_t*>(d + y * stride + 4 * x);
    }
    cairo_surface_destroy(s);
  }
  bool ok() const { return width > 0; }
  int r(int x, int y) const { return (px[static_cast<size_t>(y) * width + x] >> 16) & 255; }
  int g(int x, int y) const { return (px[static_cast<size_t>(y) * width + x] >> 8) & 255; }
  int b(int x, int y) const { return px[static_cast<size_t>(y) * width + x] & 255; }
  // Pixels in [x0, x1) x [y0, y1) (clipped) darker than `level` in every channel.
  int dark_pixels(double x0, double y0, double x1, double y1, int level = 100) const {
    int n = 0;
    for (int y = std::max(0, static_cast<int>(y0)); y < std::min(height, static_cast<int>(y1)); ++y)
      for (int x = std::max(0, static_cast<int>(x0)); x < std::min(width, static_cast<int>(x1)); ++x)
        if (r(x, y) < level && g(x, y) < level && b(x, y) < level) ++n;
    return n;
  }
  // Pixels within `tol` (per channel, 0-255) of a colour.
  int count_color(int R, int G, int B, int tol = 3) const {
    int n = 0;
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        if (std::abs(r(x, y) - R) <= tol && std::abs(g(x, y) - G) <= tol && std::abs(b(x, y) - B) <= tol) ++n;
    return n;
  }
};

// Runs Debian's python (numpy, scipy, pandas, anndata 0.8) on a script; returns its stdout.
inline int run_python(const std::string& script, std::string* out) {
  scanpp::testing::TempDir tmp;
  const std::string f = tmp.file("s.py");
  std::ofstream(f) << script;
  return scanpp::testing::run_command("/usr/bin/python3 " + f, out);
}

}  // namespace plgrp_test
