#pragma once
// Small helpers for golden tests: Scanpy's reference CSVs and text lists from
// ../shared/golden, the filtered PBMC 3k counts as an AnnData, and deviation
// measures. Header-only so the test build needs no change.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/io/npy.hpp"

namespace golden {

inline std::string shared(const std::string& rel) { return std::string(SCANPP_SHARED_DIR) + "/" + rel; }

inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

// One CSV line split on commas, with double-quoted fields unquoted.
inline std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool q = false;
  for (char c : line) {
    if (c == '"') q = !q;
    else if (c == ',' && !q) {
      out.push_back(cur);
      cur.clear();
    } else cur += c;
  }
  out.push_back(cur);
  return out;
}

struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  size_t col(const std::string& name) const {
    auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) throw std::runtime_error("CSV has no column " + name);
    return static_cast<size_t>(it - header.begin());
  }
  std::vector<std::string> text(const std::string& name) const {
    const size_t c = col(name);
    std::vector<std::string> v;
    for (auto& r : rows) v.push_back(r.at(c));
    return v;
  }
  // Empty cells and "nan" read as NaN; True/False as 1/0.
  std::vector<double> numeric(const std::string& name) const {
    std::vector<double> v;
    for (auto& s : text(name)) {
      if (s.empty() || s == "nan" || s == "NaN") v.push_back(std::numeric_limits<double>::quiet_NaN());
      else if (s == "True") v.push_back(1.0);
      else if (s == "False") v.push_back(0.0);
      else if (s == "inf") v.push_back(std::numeric_limits<double>::infinity());
      else if (s == "-inf") v.push_back(-std::numeric_limits<double>::infinity());
      else v.push_back(std::stod(s));
    }
    return v;
  }
};

inline Csv read_csv(const std::string& path) {
  auto lines = read_lines(path);
  Csv c;
  if (lines.empty()) return c;
  c.header = split_csv(lines[0]);
  for (size_t i = 1; i < lines.size(); ++i)
    if (!lines[i].empty()) c.rows.push_back(split_csv(lines[i]));
  return c;
}

// Largest |a - b| / max(|b|, floor) over entries; NaN must match NaN (else +inf).
inline double max_rel_dev(const std::vector<double>& a, const std::vector<double>& b, double floor = 1e-12) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) {
      if (std::isnan(a[i]) != std::isnan(b[i])) return std::numeric_limits<double>::infinity();
      continue;
    }
    if (std::isinf(a[i]) || std::isinf(b[i])) {
      if (a[i] != b[i]) return std::numeric_limits<double>::infinity();
      continue;
    }
    m = std::max(m, std::abs(a[i] - b[i]) / std::max(std::abs(b[i]), floor));
  }
  return m;
}

// A float32 X against Scanpy's X after regress_out and scale
// (golden/pbmc3k/X_scaled.npy): the largest absolute deviation and how many
// entries are the same float; `size` is the golden's (compare it first).
struct XScaledDeviation {
  double max_abs = 0;
  int64_t exact = 0;
  int64_t size = 0;
};

inline XScaledDeviation x_scaled_deviation(std::span<const float> x) {
  const scanpp::Array gold = scanpp::io::read_npy(shared("golden/pbmc3k/X_scaled.npy"));
  const auto g = gold.as<float>();
  XScaledDeviation d;
  d.size = static_cast<int64_t>(g.size());
  if (x.size() != g.size()) return d;
  for (size_t k = 0; k < g.size(); ++k) {
    d.max_abs = std::max(d.max_abs, std::abs(static_cast<double>(x[k]) - g[k]));
    d.exact += x[k] == g[k];
  }
  return d;
}

// Pearson's r of two equally long series.
inline double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = a.size();
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) {
    ma += a[i];
    mb += b[i];
  }
  ma /= static_cast<double>(n);
  mb /= static_cast<double>(n);
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    const double x = a[i] - ma, y = b[i] - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return sab / std::sqrt(saa * sbb);
}

// Pearson's r of column ca of a and column cb of b (2-D arrays, same rows).
inline double column_correlation(const scanpp::Array& a, int64_t ca, const scanpp::Array& b, int64_t cb) {
  const int64_t n = a.rows(), ka = a.cols(), kb = b.cols();
  std::vector<double> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    x[static_cast<size_t>(i)] = a.get_double(i * ka + ca);
    y[static_cast<size_t>(i)] = b.get_double(i * kb + cb);
  }
  return pearson(x, y);
}

inline std::vector<double> as_doubles(const scanpp::Column& c) { return scanpp::column_as_double(c, "column"); }

inline std::vector<double> as_doubles(const scanpp::Array& a) {
  std::vector<double> v(static_cast<size_t>(a.size()));
  for (int64_t i = 0; i < a.size(); ++i) v[static_cast<size_t>(i)] = a.get_double(i);
  return v;
}

// The PBMC 3k counts after Scanpy's filtering (2,638 x 13,714, float32 CSR)
// with the golden barcodes and gene names.
inline scanpp::AnnData pbmc3k_filtered_counts() {
  scanpp::SparseMatrix m = scanpp::io::read_sparse_npz(shared("golden/pbmc3k/counts_filtered_csr.npz"));
  scanpp::AnnData a{scanpp::Element(std::move(m))};
  a.obs.set_index(read_lines(shared("golden/pbmc3k/filtered_barcodes.txt")));
  a.var.set_index(read_lines(shared("golden/pbmc3k/genes_filtered.txt")));
  return a;
}

}  // namespace golden
