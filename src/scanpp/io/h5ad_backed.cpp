// Backed mode: X stays in the file and is read by row ranges, so memory is
// bounded by the block size (anndata's read_h5ad(backed='r') + chunked_X).
#include "scanpp/io/h5ad.hpp"

namespace scanpp::io {

using h5::Handle;
using h5::Loc;

BackedAnnData::BackedAnnData(const std::string& path) : path_(path) {
  meta_ = read_h5ad(path, ReadH5adOptions{.read_X = false});
  file_ = h5::open_file(path);
  if (!h5::exists(file_, "X")) return;
  const Loc where{path, "/X"};
  if (h5::is_group(file_, "X")) {
    Handle g = h5::open_group(file_, "X", where);
    std::string enc = h5::read_string_attr(g, "encoding-type").value_or("");
    if (enc.empty()) enc = h5::read_string_attr(g, "h5sparse_format").value_or("") + "_matrix";
    if (enc != "csr_matrix" && enc != "csc_matrix") where.fail("unsupported X encoding '" + enc + "'");
    x_kind_ = enc == "csr_matrix" ? XKind::Csr : XKind::Csc;
    Handle d = h5::open_dataset(g, "data", where.child("data"));
    Handle dt(H5Dget_type(d));
    auto t = h5::dtype_from_h5(dt);
    if (!t) where.child("data").fail("is not numeric");
    x_dtype_ = *t;
    if (x_kind_ == XKind::Csr) {
      Handle ip = h5::open_dataset(g, "indptr", where.child("indptr"));
      indptr_ = h5::read_array(ip, where.child("indptr")).to_vector<int64_t>();
      if (static_cast<int64_t>(indptr_.size()) != n_obs() + 1)
        where.child("indptr").fail("has " + std::to_string(indptr_.size()) + " entries, expected " +
                                   std::to_string(n_obs() + 1));
      if (indptr_[0] != 0) where.child("indptr").fail("does not start at 0");
      for (size_t i = 1; i < indptr_.size(); ++i)
        if (indptr_[i] < indptr_[i - 1]) where.child("indptr").fail("is not monotonic at position " + std::to_string(i));
      Handle ix = h5::open_dataset(g, "indices", where.child("indices"));
      auto ns = h5::dataset_shape(ix);
      auto ds = h5::dataset_shape(d);
      if (ns.size() != 1 || ds.size() != 1 || ns[0] != ds[0] || ns[0] != indptr_.back())
        where.fail("data, indices and indptr disagree on the number of stored values");
    }
  } else {
    Handle d = h5::open_dataset(file_, "X", where);
    auto shape = h5::dataset_shape(d);
    if (shape.size() != 2 || shape[0] != n_obs() || shape[1] != n_vars())
      where.fail("shape does not match obs x var");
    Handle dt(H5Dget_type(d));
    auto t = h5::dtype_from_h5(dt);
    if (!t) where.fail("is not numeric");
    x_dtype_ = *t;
    x_kind_ = XKind::Dense;
  }
}

BackedAnnData::~BackedAnnData() = default;

Element BackedAnnData::read_rows(int64_t start, int64_t end) const {
  if (start < 0 || end > n_obs() || start > end)
    throw ValueError("row range [" + std::to_string(start) + ", " + std::to_string(end) + ") out of bounds");
  const Loc where{path_, "/X"};
  switch (x_kind_) {
    case XKind::None: throw ValueError(path_ + " has no X");
    case XKind::Dense: {
      Handle d = h5::open_dataset(file_, "X", where);
      return h5::read_rows(d, start, end - start, where);
    }
    case XKind::Csc:
      throw ValueError(path_ + ": X is stored as CSC; reading it by rows would read the whole matrix (convert it to CSR first)");
    case XKind::Csr: break;
  }
  Handle g = h5::open_group(file_, "X", where);
  Handle d = h5::open_dataset(g, "data", where.child("data"));
  Handle ix = h5::open_dataset(g, "indices", where.child("indices"));
  const int64_t a = indptr_[start], b = indptr_[end];
  SparseMatrix m;
  m.n_rows = end - start;
  m.n_cols = n_vars();
  m.data = h5::read_array_slice(d, a, b - a, where.child("data"));
  Array idx = h5::read_array_slice(ix, a, b - a, where.child("indices"), DType::Int64);
  m.indices.resize(static_cast<size_t>(b - a));
  auto iv = idx.as<int64_t>();
  for (int64_t k = 0; k < b - a; ++k) {
    if (iv[k] < 0 || iv[k] >= n_vars())
      where.child("indices").fail("index " + std::to_string(iv[k]) + " at position " + std::to_string(a + k) +
                                  " is out of range [0, " + std::to_string(n_vars()) + ")");
    m.indices[k] = static_cast<int32_t>(iv[k]);
  }
  m.indptr.resize(static_cast<size_t>(m.n_rows) + 1);
  for (int64_t i = 0; i <= m.n_rows; ++i) m.indptr[i] = indptr_[start + i] - a;
  return m;
}

AnnData BackedAnnData::to_memory() const { return read_h5ad(path_); }

}  // namespace scanpp::io
