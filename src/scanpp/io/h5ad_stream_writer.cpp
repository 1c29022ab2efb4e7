#include "scanpp/io/h5ad_stream_writer.hpp"

#include <limits>

namespace scanpp::io {

using h5::Handle;

namespace {
constexpr hsize_t kChunk = 1 << 18;  // values per chunk of data/indices

Handle create_extendable(hid_t g, const char* name, DType t, int gzip) {
  hsize_t dims = 0, maxd = H5S_UNLIMITED, chunk = kChunk;
  Handle space(H5Screate_simple(1, &dims, &maxd));
  Handle dcpl = h5::dataset_create_plist();
  H5Pset_chunk(dcpl, 1, &chunk);
  if (gzip >= 0) H5Pset_deflate(dcpl, static_cast<unsigned>(gzip));
  Handle type = h5::h5type_for(t);
  Handle d(H5Dcreate2(g, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  if (!d.valid()) throw Error(std::string("cannot create dataset ") + name);
  return d;
}

void append_values(hid_t d, DType t, const void* src, hsize_t old_n, hsize_t add) {
  if (add == 0) return;
  hsize_t total = old_n + add;
  if (H5Dset_extent(d, &total) < 0) throw Error("cannot extend dataset");
  Handle fs(H5Dget_space(d));
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, &old_n, nullptr, &add, nullptr);
  Handle ms(H5Screate_simple(1, &add, nullptr));
  Handle type = h5::h5type_for(t);
  if (H5Dwrite(d, type, ms, fs, H5P_DEFAULT, src) < 0) throw Error("cannot write a block");
}

void encode(hid_t obj, const char* type, const char* version) {
  h5::write_string_attr(obj, "encoding-type", type);
  h5::write_string_attr(obj, "encoding-version", version);
}
}  // namespace

H5adCsrWriter::H5adCsrWriter(const std::string& path, int64_t n_vars, DType dtype, const WriteH5adOptions& opt)
    : path_(path), n_vars_(n_vars), dtype_(dtype), opt_(opt), out_(std::make_unique<AtomicFile>(path)) {
  file_ = h5::create_file(out_->temp_path());
  encode(file_, "anndata", "0.1.0");
  xgroup_ = h5::create_group(file_, "X");
  encode(xgroup_, "csr_matrix", "0.1.0");
  data_ = create_extendable(xgroup_, "data", dtype_, opt.compression);
  indices_ = create_extendable(xgroup_, "indices", DType::Int32, opt.compression);
  if (opt.compression >= 0) {
    zdata_ = std::make_unique<h5::DeflateAppender>(data_, dtype_size(dtype_), opt.compression);
    zindices_ = std::make_unique<h5::DeflateAppender>(indices_, sizeof(int32_t), opt.compression);
  }
}

H5adCsrWriter::~H5adCsrWriter() = default;

void H5adCsrWriter::append(const SparseMatrix& b) {
  if (b.format != SparseFormat::CSR || b.n_cols != n_vars_) throw ValueError("append: block must be CSR with n_vars columns");
  if (b.data.dtype() != dtype_) throw ValueError("append: block dtype differs from the writer's");
  const hsize_t old_n = static_cast<hsize_t>(indptr_.back());
  if (zdata_) {
    zdata_->append(b.data.raw(), b.nnz());
    zindices_->append(b.indices.data(), b.nnz());
  } else {
    append_values(data_, dtype_, b.data.raw(), old_n, static_cast<hsize_t>(b.nnz()));
    append_values(indices_, DType::Int32, b.indices.data(), old_n, static_cast<hsize_t>(b.nnz()));
  }
  for (int64_t i = 1; i <= b.n_rows; ++i) indptr_.push_back(static_cast<int64_t>(old_n) + b.indptr[i]);
}

void H5adCsrWriter::write_header(const DataFrame& obs, const DataFrame& var) {
  if (obs.n_rows() != rows_written())
    throw ValueError("finish: obs has " + std::to_string(obs.n_rows()) + " rows, " + std::to_string(rows_written()) +
                     " were written");
  if (var.n_rows() != n_vars_) throw ValueError("finish: var does not have n_vars rows");
  h5::write_array_attr(xgroup_, "shape", Array::from_vector(std::vector<int64_t>{rows_written(), n_vars_}));
  const h5::WriteOptions comp{opt_.compression, true};
  if (indptr_.back() < std::numeric_limits<int32_t>::max()) {
    std::vector<int32_t> ip(indptr_.begin(), indptr_.end());
    h5::write_raw(xgroup_, "indptr", DType::Int32, {static_cast<int64_t>(ip.size())}, ip.data(), comp);
  } else {
    h5::write_raw(xgroup_, "indptr", DType::Int64, {static_cast<int64_t>(indptr_.size())}, indptr_.data(), comp);
  }
  if (zdata_) {
    zdata_->finish();
    zindices_->finish();
    zdata_.reset();
    zindices_.reset();
  }
  data_.reset();
  indices_.reset();
  xgroup_.reset();
  write_dataframe(file_, "obs", obs, opt_);
  write_dataframe(file_, "var", var, opt_);
}

void H5adCsrWriter::close_and_commit() {
  if (H5Fflush(file_, H5F_SCOPE_GLOBAL) < 0) throw InputError(path_, "", "cannot flush the file");
  file_.reset();
  out_->commit();
}

void H5adCsrWriter::finish(const DataFrame& obs, const DataFrame& var, const Dict& uns) {
  write_header(obs, var);
  for (const char* d : {"obsm", "varm", "obsp", "varp", "layers"}) write_element(file_, d, Dict{}, opt_);
  write_element(file_, "uns", uns, opt_);
  close_and_commit();
}

void H5adCsrWriter::finish(const AnnData& meta) {
  write_header(meta.obs, meta.var);
  write_element(file_, "obsm", meta.obsm, opt_);
  write_element(file_, "varm", meta.varm, opt_);
  write_element(file_, "obsp", meta.obsp, opt_);
  write_element(file_, "varp", meta.varp, opt_);
  write_element(file_, "layers", meta.layers, opt_);
  write_element(file_, "uns", meta.uns, opt_);
  close_and_commit();
}

}  // namespace scanpp::io
