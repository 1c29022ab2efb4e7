#include "scanpp/io/read_10x_h5.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "scanpp/io/hdf5.hpp"

namespace scanpp::io {

namespace {

// Python's repr of a list of strings, for error messages that mirror Scanpy's.
std::string py_list(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", '" : "'") + v[i] + "'";
  return s + "]";
}

// numpy's str() of a float (shortest round-trip digits; scientific outside
// 1e-4 <= |x| < 1e16), so that numeric feature columns read as Scanpy's astype(str).
template <class T>
std::string numpy_float_str(T x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
  if (x == 0) return std::signbit(x) ? "-0.0" : "0.0";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  const size_t epos = sci.find('e');
  const int exp = std::stoi(sci.substr(epos + 1));
  std::string mant = sci.substr(0, epos);
  const bool neg = mant[0] == '-';
  if (neg) mant.erase(0, 1);
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  std::string out;
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      std::string ip = digits.substr(0, std::min<size_t>(digits.size(), static_cast<size_t>(exp) + 1));
      while (ip.size() < static_cast<size_t>(exp) + 1) ip += '0';
      std::string fp = digits.size() > static_cast<size_t>(exp) + 1 ? digits.substr(static_cast<size_t>(exp) + 1) : "0";
      out = ip + "." + fp;
    } else {
      out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    const int ae = std::abs(exp);
    out += std::string(exp < 0 ? "e-" : "e+") + (ae < 10 ? "0" : "") + std::to_string(ae);
  }
  return neg ? "-" + out : out;
}

// A 1-D dataset as Scanpy's `.astype(str)` gives it: strings decoded, numbers printed.
std::vector<std::string> read_as_strings(hid_t dset, const h5::Loc& where) {
  if (h5::dataset_is_string(dset)) return h5::read_strings(dset, where);
  Array a = h5::read_array(dset, where);
  std::vector<std::string> out(static_cast<size_t>(a.size()));
  dispatch_dtype(a.dtype(), [&](auto t) {
    using T = decltype(t);
    auto v = a.as<T>();
    for (size_t i = 0; i < out.size(); ++i) {
      if constexpr (std::is_same_v<T, Bool8>) out[i] = v[i] ? "True" : "False";
      else if constexpr (std::is_floating_point_v<T>) out[i] = numpy_float_str(v[i]);
      else out[i] = std::to_string(v[i]);
    }
  });
  return out;
}

std::vector<std::string> read_string_vector(hid_t group, const std::string& name, const h5::Loc& gloc,
                                            int64_t expected, const std::string& what) {
  const h5::Loc where = gloc.child(name);
  h5::Handle d = h5::open_dataset(group, name, where);
  if (h5::dataset_shape(d).size() != 1) where.fail("is not 1-D");
  auto v = read_as_strings(d, where);
  if (static_cast<int64_t>(v.size()) != expected)
    where.fail("has " + std::to_string(v.size()) + " entries but the matrix has " + std::to_string(expected) + " " +
               what);
  return v;
}

// The compressed-sparse-column genes x barcodes matrix of a 10x group, which is
// byte for byte the CSR barcodes x genes matrix AnnData wants.
SparseMatrix read_matrix(hid_t group, const h5::Loc& gloc) {
  const std::string& file = gloc.file;
  std::vector<int64_t> shape;
  {
    const h5::Loc where = gloc.child("shape");
    h5::Handle d = h5::open_dataset(group, "shape", where);
    Array a = h5::read_array(d, where);
    if (!dtype_is_integer(a.dtype())) where.fail("is not an integer dataset");
    if (a.size() != 2) where.fail("has " + std::to_string(a.size()) + " entries, expected 2 (genes, barcodes)");
    shape = a.to_vector<int64_t>();
    if (shape[0] < 0 || shape[1] < 0) where.fail("is negative");
    if (shape[0] > std::numeric_limits<int32_t>::max())
      where.fail("has more than 2^31-1 features, which 32-bit column indices cannot hold");
  }
  SparseMatrix m;
  m.format = SparseFormat::CSR;
  m.n_rows = shape[1];
  m.n_cols = shape[0];

  const h5::Loc wdata = gloc.child("data"), wind = gloc.child("indices"), wptr = gloc.child("indptr");
  h5::Handle ddata = h5::open_dataset(group, "data", wdata);
  h5::Handle dind = h5::open_dataset(group, "indices", wind);
  h5::Handle dptr = h5::open_dataset(group, "indptr", wptr);
  auto one_d = [](hid_t d, const h5::Loc& w) {
    auto s = h5::dataset_shape(d);
    if (s.size() != 1) w.fail("is not 1-D");
    return s[0];
  };
  const int64_t nnz = one_d(ddata, wdata);
  if (one_d(dind, wind) != nnz)
    wind.fail("has " + std::to_string(one_d(dind, wind)) + " entries but data has " + std::to_string(nnz));
  const int64_t nptr = one_d(dptr, wptr);
  if (nptr != m.n_rows + 1)
    wptr.fail("has " + std::to_string(nptr) + " entries, expected " + std::to_string(m.n_rows + 1) +
              " (number of barcodes + 1)");

  {
    h5::Handle t(H5Dget_type(dind));
    auto dt = h5::dtype_from_h5(t);
    if (!dt || !dtype_is_integer(*dt)) wind.fail("is not an integer dataset");
    h5::Handle tp(H5Dget_type(dptr));
    auto dtp = h5::dtype_from_h5(tp);
    if (!dtp || !dtype_is_integer(*dtp)) wptr.fail("is not an integer dataset");
  }
  m.indptr = h5::read_array_slice(dptr, 0, nptr, wptr, DType::Int64).to_vector<int64_t>();

  // Indices of any width, narrowed to 32 bits block by block after a range
  // check, so that a bad value is reported instead of wrapping around.
  m.indices.resize(static_cast<size_t>(nnz));
  constexpr int64_t kBlock = int64_t{1} << 22;
  for (int64_t s = 0; s < nnz; s += kBlock) {
    const int64_t c = std::min(kBlock, nnz - s);
    Array blk = h5::read_array_slice(dind, s, c, wind, DType::Int64);
    auto v = blk.as<int64_t>();
    for (int64_t k = 0; k < c; ++k) {
      if (v[k] < 0 || v[k] >= m.n_cols)
        wind.fail("index " + std::to_string(v[k]) + " at position " + std::to_string(s + k) + " is out of range [0, " +
                  std::to_string(m.n_cols) + ")");
      m.indices[static_cast<size_t>(s + k)] = static_cast<int32_t>(v[k]);
    }
  }

  // Scanpy turns int32 counts into float32 and keeps every other dtype.
  h5::Handle tdata(H5Dget_type(ddata));
  auto ddt = h5::dtype_from_h5(tdata);
  if (!ddt || *ddt == DType::Bool) wdata.fail("is not a numeric dataset");
  m.data = h5::read_array_slice(ddata, 0, nnz, wdata, *ddt == DType::Int32 ? DType::Float32 : *ddt);

  m.validate(file, gloc.path);
  return m;
}

// v3 (Cell Ranger >= 3): /matrix with a features/ table.
AnnData read_v3(hid_t f, const std::string& path) {
  const h5::Loc mloc{path, "/matrix"};
  h5::Handle mg = h5::open_group(f, "matrix", mloc);
  AnnData ad;
  SparseMatrix X = read_matrix(mg, mloc);
  const int64_t n_obs = X.n_rows, n_vars = X.n_cols;

  ad.obs = DataFrame(read_string_vector(mg, "barcodes", mloc, n_obs, "barcodes"));
  if (h5::exists(mg, "filtered_barcodes")) {
    const h5::Loc w = mloc.child("filtered_barcodes");
    h5::Handle d = h5::open_dataset(mg, "filtered_barcodes", w);
    Array a = h5::read_array(d, w);
    if (a.ndim() != 1 || a.size() != n_obs) w.fail("does not have one value per barcode");
    ad.obs.set("filtered_barcodes", a.astype(DType::Bool));
  }

  if (!h5::is_group(mg, "features")) mloc.child("features").fail("missing: a 10x v3 file needs a features group");
  const h5::Loc floc = mloc.child("features");
  h5::Handle fg = h5::open_group(mg, "features", floc);
  ad.var = DataFrame(read_string_vector(fg, "name", floc, n_vars, "features"));
  if (!h5::exists(fg, "gene_id")) {
    ad.var.set("gene_ids", read_string_vector(fg, "id", floc, n_vars, "features"));
  } else {
    // Probe-based (Flex) files: one row per probe.
    ad.var.set("gene_ids", read_string_vector(fg, "gene_id", floc, n_vars, "features"));
    ad.var.set("probe_ids", read_string_vector(fg, "id", floc, n_vars, "features"));
  }
  ad.var.set("feature_types", read_string_vector(fg, "feature_type", floc, n_vars, "features"));
  for (const std::string& name : h5::list_children(fg)) {
    if (name == "name" || name == "feature_type" || name == "id" || name == "gene_id" || name == "_all_tag_keys")
      continue;
    if (h5::is_group(fg, name)) continue;  // e.g. target_sets/
    const h5::Loc w = floc.child(name);
    h5::Handle d = h5::open_dataset(fg, name, w);
    if (h5::dataset_shape(d).size() != 1) continue;  // not a per-feature column
    h5::Handle t(H5Dget_type(d));
    const bool is_bool = !h5::dataset_is_string(d) && h5::dtype_from_h5(t) == DType::Bool;
    if (is_bool) {
      Array a = h5::read_array(d, w);
      if (a.size() != n_vars) w.fail("does not have one value per feature");
      ad.var.set(name, std::move(a));
    } else {
      ad.var.set(name, read_string_vector(fg, name, floc, n_vars, "features"));
    }
  }
  ad.X = Element(std::move(X));
  return ad;
}

// Cell Ranger 1.x/2.x: one group per genome.
AnnData read_legacy(hid_t f, const std::string& path, const std::optional<std::string>& genome) {
  // Only groups holding a matrix count as genomes, so that an unrelated HDF5
  // file is reported as such rather than as a file of many genomes.
  std::vector<std::string> genomes;
  for (const std::string& name : h5::list_children(f)) {
    if (!h5::is_group(f, name)) continue;
    h5::Handle g = h5::open_group(f, name, {path, "/" + name});
    bool ok = true;
    for (const char* d : {"barcodes", "data", "indices", "indptr", "shape"}) ok = ok && h5::exists(g, d);
    if (ok) genomes.push_back(name);
  }
  if (genomes.empty())
    throw InputError(path, "/",
                     "is not a Cell Ranger HDF5 matrix: no /matrix group (v3) and no genome group holding "
                     "barcodes, data, indices, indptr and shape (v2)");
  std::string g;
  if (!genome || genome->empty()) {
    if (genomes.size() > 1)
      throw ValueError(path + " contains more than one genome. For legacy 10x h5 files you must specify the "
                              "genome if more than one is present. Available genomes are: " + py_list(genomes));
    g = genomes[0];
  } else {
    if (std::find(genomes.begin(), genomes.end(), *genome) == genomes.end())
      throw ValueError("Could not find genome '" + *genome + "' in " + path + ". Available genomes are: " +
                       py_list(genomes));
    g = *genome;
  }
  const h5::Loc gloc{path, "/" + g};
  h5::Handle grp = h5::open_group(f, g, gloc);
  AnnData ad;
  SparseMatrix X = read_matrix(grp, gloc);
  ad.obs = DataFrame(read_string_vector(grp, "barcodes", gloc, X.n_rows, "barcodes"));
  ad.var = DataFrame(read_string_vector(grp, "gene_names", gloc, X.n_cols, "genes"));
  ad.var.set("gene_ids", read_string_vector(grp, "genes", gloc, X.n_cols, "genes"));
  ad.X = Element(std::move(X));
  return ad;
}

// Features kept by a predicate on a string var column; nullopt when all are.
template <class Pred>
std::optional<Indices> var_selection(const AnnData& ad, const std::string& path, const std::string& column, Pred keep) {
  const auto* colp = std::get_if<std::vector<std::string>>(&ad.var.at(column));
  if (!colp) throw InputError(path, "/matrix/features/" + column, "is not a string dataset");
  const auto& col = *colp;
  Indices idx;
  for (size_t j = 0; j < col.size(); ++j)
    if (keep(col[j])) idx.push_back(static_cast<int64_t>(j));
  if (idx.size() == col.size()) return std::nullopt;
  return idx;
}

}  // namespace

AnnData read_10x_h5(const std::string& path, const Read10xH5Options& opt) {
  h5::Handle f = h5::open_file(path);
  if (!h5::is_group(f, "matrix")) return read_legacy(f, path, opt.genome);

  AnnData ad = read_v3(f, path);
  f.reset();
  if (opt.genome && !opt.genome->empty()) {
    const std::string& g = *opt.genome;
    if (!ad.var.has("genome"))
      throw InputError(path, "/matrix/features/genome", "missing, so features cannot be selected by genome");
    const auto* colp = std::get_if<std::vector<std::string>>(&ad.var.at("genome"));
    if (!colp) throw InputError(path, "/matrix/features/genome", "is not a string dataset");
    const auto& col = *colp;
    if (std::find(col.begin(), col.end(), g) == col.end()) {
      std::vector<std::string> uniq;
      for (const auto& s : col)
        if (std::find(uniq.begin(), uniq.end(), s) == uniq.end()) uniq.push_back(s);
      throw ValueError("Could not find data corresponding to genome '" + g + "' in " + path +
                       ". Available genomes are: " + py_list(uniq) + ".");
    }
    if (auto idx = var_selection(ad, path, "genome", [&](const std::string& s) { return s == g; }))
      ad.subset_inplace(std::nullopt, *idx);
  }
  if (opt.gex_only) {
    if (auto idx = var_selection(ad, path, "feature_types", [](const std::string& s) { return s == "Gene Expression"; }))
      ad.subset_inplace(std::nullopt, *idx);
  }
  return ad;
}

}  // namespace scanpp::io
