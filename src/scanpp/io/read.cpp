#include "scanpp/io/read.hpp"

#include <algorithm>
#include <filesystem>

#include "scanpp/io/csv.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/io/hdf5.hpp"
#include "scanpp/io/loom.hpp"
#include "scanpp/io/mtx.hpp"
#include "scanpp/io/read_10x_h5.hpp"
#include "scanpp/io/read_10x_mtx.hpp"

namespace scanpp::io {

namespace fs = std::filesystem;

Format parse_format(const std::string& name) {
  if (name.empty() || name == "auto") return Format::Auto;
  if (name == "h5ad") return Format::H5ad;
  if (name == "10x_mtx" || name == "10x") return Format::TenxMtx;
  if (name == "10x_h5") return Format::TenxH5;
  if (name == "loom") return Format::Loom;
  if (name == "mtx") return Format::Mtx;
  if (name == "csv") return Format::Csv;
  if (name == "text" || name == "txt" || name == "tsv") return Format::Text;
  throw ValueError("unknown format '" + name + "' (use h5ad, 10x_mtx, 10x_h5, loom, mtx, csv or text)");
}

const char* format_name(Format f) {
  switch (f) {
    case Format::Auto: return "auto";
    case Format::H5ad: return "h5ad";
    case Format::TenxMtx: return "10x_mtx";
    case Format::TenxH5: return "10x_h5";
    case Format::Loom: return "loom";
    case Format::Mtx: return "mtx";
    case Format::Csv: return "csv";
    case Format::Text: return "text";
  }
  return "?";
}

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}
}  // namespace

Format detect_format(const std::string& path) {
  if (fs::is_directory(path)) {
    for (const char* f : {"matrix.mtx", "matrix.mtx.gz"})
      if (fs::exists(fs::path(path) / f)) return Format::TenxMtx;
    throw InputError(path, "", "folder holds no matrix.mtx or matrix.mtx.gz (not a Cell Ranger matrix folder)");
  }
  std::string p = lower(path);
  if (ends_with(p, ".gz")) p = p.substr(0, p.size() - 3);
  if (ends_with(p, ".h5ad")) return Format::H5ad;
  if (ends_with(p, ".loom")) return Format::Loom;
  if (ends_with(p, ".mtx")) return Format::Mtx;
  if (ends_with(p, ".csv")) return Format::Csv;
  if (ends_with(p, ".txt") || ends_with(p, ".tsv") || ends_with(p, ".tab") || ends_with(p, ".data")) return Format::Text;
  if (ends_with(p, ".h5") || ends_with(p, ".hdf5")) {
    // Cell Ranger or an h5ad under another name: look inside.
    h5::Handle f = h5::open_file(path);
    if (h5::exists(f, "obs") && h5::exists(f, "var")) return Format::H5ad;
    return Format::TenxH5;
  }
  throw InputError(path, "", "cannot tell the format from the name; pass --format");
}

AnnData read(const std::string& path, const ReadOptions& opt) {
  if (!fs::exists(path)) throw InputError(path, "", "no such file or folder");
  const Format f = opt.format == Format::Auto ? detect_format(path) : opt.format;
  switch (f) {
    case Format::H5ad: return read_h5ad(path);
    case Format::TenxMtx: return read_10x_mtx(path, Read10xMtxOptions{.var_names = opt.var_names});
    case Format::TenxH5: {
      Read10xH5Options o;
      if (!opt.genome.empty()) o.genome = opt.genome;
      return read_10x_h5(path, o);
    }
    case Format::Loom: return read_loom(path);
    case Format::Mtx: return read_mtx(path);
    case Format::Csv: return read_csv(path);
    case Format::Text: return read_text(path);
    case Format::Auto: break;
  }
  throw ValueError("no reader for " + path);
}

void write(const AnnData& adata, const std::string& path, const WriteOptions& opt) {
  Format f = opt.format;
  if (f == Format::Auto) {
    const std::string p = lower(path);
    if (ends_with(p, ".h5ad")) f = Format::H5ad;
    else if (ends_with(p, ".loom")) f = Format::Loom;
    else throw ValueError("cannot write '" + path + "': use a .h5ad or .loom name");
  }
  if (f == Format::H5ad) write_h5ad(adata, path, {.compression = opt.compression});
  else if (f == Format::Loom) write_loom(adata, path);
  else throw ValueError(std::string("writing ") + format_name(f) + " is not supported (h5ad and loom are)");
}

}  // namespace scanpp::io
