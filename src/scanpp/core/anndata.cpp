#include "scanpp/core/anndata.hpp"

#include <cstring>
#include <exception>
#include <numeric>
#include <sstream>
#include <utility>

#include "scanpp/core/error.hpp"
#include "scanpp/core/huge_pages.hpp"
#include "scanpp/core/parallel.hpp"

namespace scanpp {

Indices indices_from_mask(const std::vector<bool>& mask) {
  Indices out;
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i]) out.push_back(static_cast<int64_t>(i));
  return out;
}

namespace {
std::vector<std::string> range_names(int64_t n) {
  std::vector<std::string> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = std::to_string(i);
  return v;
}
Indices all_of(int64_t n) {
  Indices v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}
std::string shape_text(const Element& e) {
  std::ostringstream s;
  if (auto* a = std::get_if<Array>(&e.value)) {
    s << "(";
    for (size_t k = 0; k < a->shape().size(); ++k) s << (k ? ", " : "") << a->shape()[k];
    s << ")";
  } else if (is_matrix(e) || e.is<DataFrame>()) {
    s << "(" << matrix_rows(e) << ", " << matrix_cols(e) << ")";
  }
  return s.str();
}

// After cells go away, categories nobody uses go too, and with them their
// colours in uns['<col>_colors'] (anndata's remove_unused_categories).
void drop_unused_categories(DataFrame& df, Dict& uns) {
  for (auto& name : df.column_names()) {
    auto* cat = std::get_if<Categorical>(&df.at(name));
    if (!cat) continue;
    const int64_t before = cat->n_categories();
    auto kept = cat->remove_unused();
    if (static_cast<int64_t>(kept.size()) == before) continue;
    auto it = uns.find(name + "_colors");
    if (it == uns.end() || !it->second.is<StringArray>()) continue;
    auto& colors = it->second.get<StringArray>();
    if (static_cast<int64_t>(colors.values.size()) < before) continue;
    std::vector<std::string> nc;
    for (auto k : kept) nc.push_back(colors.values[k]);
    colors.values = std::move(nc);
    colors.shape.clear();
  }
}
}  // namespace

AnnData::AnnData(Element x) {
  if (!is_matrix(x)) throw ValueError("X must be a 2-D dense array or a sparse matrix");
  obs = DataFrame(range_names(matrix_rows(x)));
  var = DataFrame(range_names(matrix_cols(x)));
  X = std::move(x);
}

void AnnData::validate() const {
  const int64_t n = n_obs(), p = n_vars();
  auto fail = [](const std::string& what) { throw ValueError(what); };
  if (X) {
    if (!is_matrix(*X)) fail("X is not a 2-D matrix");
    if (matrix_rows(*X) != n || matrix_cols(*X) != p)
      fail("X has shape " + shape_text(*X) + " but obs/var give (" + std::to_string(n) + ", " + std::to_string(p) + ")");
  }
  for (auto& [k, v] : layers)
    if (!is_matrix(v) || matrix_rows(v) != n || matrix_cols(v) != p) fail("layers['" + k + "'] does not match X's shape");
  for (auto& [k, v] : obsm)
    if (v.first_dim() != n) fail("obsm['" + k + "'] has " + std::to_string(v.first_dim()) + " rows, expected " + std::to_string(n));
  for (auto& [k, v] : varm)
    if (v.first_dim() != p) fail("varm['" + k + "'] has " + std::to_string(v.first_dim()) + " rows, expected " + std::to_string(p));
  for (auto& [k, v] : obsp)
    if (!is_matrix(v) || matrix_rows(v) != n || matrix_cols(v) != n) fail("obsp['" + k + "'] is not n_obs x n_obs");
  for (auto& [k, v] : varp)
    if (!is_matrix(v) || matrix_rows(v) != p || matrix_cols(v) != p) fail("varp['" + k + "'] is not n_vars x n_vars");
  if (raw) {
    if (raw->X && (matrix_rows(*raw->X) != n || matrix_cols(*raw->X) != raw->n_vars()))
      fail("raw.X does not match n_obs x raw.n_vars");
    for (auto& [k, v] : raw->varm)
      if (v.first_dim() != raw->n_vars()) fail("raw.varm['" + k + "'] does not match raw.n_vars");
  }
}

AnnData AnnData::subset(const std::optional<Indices>& obs_idx, const std::optional<Indices>& var_idx) const {
  const Indices oi = obs_idx ? *obs_idx : all_of(n_obs());
  const Indices vi = var_idx ? *var_idx : all_of(n_vars());
  for (auto i : oi)
    if (i < 0 || i >= n_obs()) throw ValueError("obs index " + std::to_string(i) + " out of range");
  for (auto i : vi)
    if (i < 0 || i >= n_vars()) throw ValueError("var index " + std::to_string(i) + " out of range");
  AnnData out;
  out.obs = obs_idx ? obs.take(oi) : obs;
  out.var = var_idx ? var.take(vi) : var;
  if (X) out.X = (obs_idx || var_idx) ? take_2d(*X, oi, vi) : *X;
  for (auto& [k, v] : layers) out.layers[k] = (obs_idx || var_idx) ? take_2d(v, oi, vi) : v;
  for (auto& [k, v] : obsm) out.obsm[k] = obs_idx ? take_rows(v, oi) : v;
  for (auto& [k, v] : varm) out.varm[k] = var_idx ? take_rows(v, vi) : v;
  for (auto& [k, v] : obsp) out.obsp[k] = obs_idx ? take_2d(v, oi, oi) : v;
  for (auto& [k, v] : varp) out.varp[k] = var_idx ? take_2d(v, vi, vi) : v;
  out.uns = uns;
  if (raw) {
    // raw keeps all its genes; only the cells are subset.
    Raw r;
    r.var = raw->var;
    r.varm = raw->varm;
    if (raw->X) r.X = obs_idx ? take_rows(*raw->X, oi) : *raw->X;
    out.raw = std::move(r);
  }
  if (obs_idx) drop_unused_categories(out.obs, out.uns);
  if (var_idx) drop_unused_categories(out.var, out.uns);
  return out;
}

void AnnData::subset_inplace(const std::optional<Indices>& obs_idx, const std::optional<Indices>& var_idx) {
  if (!obs_idx && !var_idx) return;
  // Everything is cut within *this: the big sparse matrices (X, layers, raw.X)
  // in their own buffers, so filtering a large dataset needs no second copy,
  // and what the cut leaves alone (uns, raw when only genes go, obs or var)
  // is not copied at all. The indices are checked before anything changes.
  const Indices oi = obs_idx ? *obs_idx : all_of(n_obs());
  const Indices vi = var_idx ? *var_idx : all_of(n_vars());
  for (auto i : oi)
    if (i < 0 || i >= n_obs()) throw ValueError("obs index " + std::to_string(i) + " out of range");
  for (auto i : vi)
    if (i < 0 || i >= n_vars()) throw ValueError("var index " + std::to_string(i) + " out of range");
  const auto cut = [&](Element& e) {
    if (e.is<SparseMatrix>()) take_inplace(e.get<SparseMatrix>(), oi, vi);
    else e = take_2d(e, oi, vi);
  };
  if (obs_idx) obs = obs.take(oi);
  if (var_idx) var = var.take(vi);
  if (X) cut(*X);
  for (auto& [k, v] : layers) cut(v);
  if (obs_idx) {
    for (auto& [k, v] : obsm) v = take_rows(v, oi);
    for (auto& [k, v] : obsp) v = take_2d(v, oi, oi);
  }
  if (var_idx) {
    for (auto& [k, v] : varm) v = take_rows(v, vi);
    for (auto& [k, v] : varp) v = take_2d(v, vi, vi);
  }
  // raw keeps all its genes; only the cells are subset.
  if (raw && raw->X && obs_idx) {
    if (raw->X->is<SparseMatrix>()) take_inplace(raw->X->get<SparseMatrix>(), oi, all_of(matrix_cols(*raw->X)));
    else *raw->X = take_rows(*raw->X, oi);
  }
  if (obs_idx) drop_unused_categories(obs, uns);
  if (var_idx) drop_unused_categories(var, uns);
}

void AnnData::freeze_raw() {
  Raw r;
  const SparseMatrix* sp = X && X->is<SparseMatrix>() ? &X->get<SparseMatrix>() : nullptr;
  if (!sp) {
    r.X = X;
    r.var = var;
    r.varm = varm;
    raw = std::move(r);
    return;
  }
  // The copies of a sparse X's two big buffers are made side by side: a large
  // copy is mostly the page faults of its new buffer, which then come in on
  // two threads. Every buffer is allocated by this thread (the indices are
  // reserved here and filled by the other), so the memory comes from the
  // main malloc arena as it did before: a second thread's arena would keep
  // its freed memory to itself and raise the peak. Both big buffers are
  // allocated uninitialised and advised to huge pages before they are written
  // (core/huge_pages.hpp): their 4 KiB faults cost more than the copy itself.
  SparseMatrix c;
  c.format = sp->format;
  c.n_rows = sp->n_rows;
  c.n_cols = sp->n_cols;
  c.indices.reserve(sp->indices.size());
  advise_huge_pages(c.indices.data(), sp->indices.size() * sizeof(int32_t));
  c.indptr.reserve(sp->indptr.size());
  c.data = Array::uninitialized(sp->data.dtype(), sp->data.shape());
  advise_huge_pages(c.data.raw(), c.data.nbytes());
  std::exception_ptr failed[2];
  const auto task = [&](int which) {
    try {
      if (which == 0) {
        if (c.data.nbytes() > 0) std::memcpy(c.data.raw(), sp->data.raw(), c.data.nbytes());
        r.var = var;
        r.varm = varm;
      } else {
        c.indices.assign(sp->indices.begin(), sp->indices.end());
        c.indptr.assign(sp->indptr.begin(), sp->indptr.end());
      }
    } catch (...) {
      failed[which] = std::current_exception();
    }
  };
#pragma omp parallel num_threads(2) if (num_threads() > 1)
  {
    if (omp_get_num_threads() < 2) {
      task(0);
      task(1);
    } else {
      task(omp_get_thread_num());
    }
  }
  for (const auto& e : failed)
    if (e) std::rethrow_exception(e);
  r.X.emplace(std::move(c));
  raw = std::move(r);
}

void AnnData::obs_names_make_unique(const std::string& join) { obs.index() = make_index_unique(obs.index(), join); }
void AnnData::var_names_make_unique(const std::string& join) { var.index() = make_index_unique(var.index(), join); }

std::string AnnData::summary() const {
  std::ostringstream s;
  s << "AnnData object with n_obs × n_vars = " << n_obs() << " × " << n_vars();
  if (X) {
    if (auto* sp = std::get_if<SparseMatrix>(&X->value))
      s << "\n    X: " << (sp->format == SparseFormat::CSR ? "csr_matrix" : "csc_matrix") << " "
        << dtype_name(sp->dtype()) << ", " << sp->nnz() << " stored values";
    else
      s << "\n    X: dense " << dtype_name(X->get<Array>().dtype());
  }
  auto cols = [&](const char* label, const DataFrame& df) {
    if (df.columns().empty()) return;
    s << "\n    " << label << ": ";
    bool first = true;
    for (auto& [n, c] : df.columns()) {
      s << (first ? "" : ", ") << "'" << n << "'";
      first = false;
    }
  };
  auto keys = [&](const char* label, const Dict& d) {
    if (d.empty()) return;
    s << "\n    " << label << ": ";
    bool first = true;
    for (auto& [k, v] : d) {
      s << (first ? "" : ", ") << "'" << k << "'";
      first = false;
    }
  };
  cols("obs", obs);
  cols("var", var);
  keys("uns", uns);
  keys("obsm", obsm);
  keys("varm", varm);
  keys("layers", layers);
  keys("obsp", obsp);
  keys("varp", varp);
  if (raw) s << "\n    raw: " << n_obs() << " × " << raw->n_vars();
  return s.str();
}

SparseMatrix& AnnData::X_sparse() {
  if (!X || !X->is<SparseMatrix>()) throw ValueError("X is not a sparse matrix");
  return X->get<SparseMatrix>();
}
const SparseMatrix& AnnData::X_sparse() const {
  if (!X || !X->is<SparseMatrix>()) throw ValueError("X is not a sparse matrix");
  return X->get<SparseMatrix>();
}
Array& AnnData::X_dense() {
  if (!X || !X->is<Array>()) throw ValueError("X is not a dense matrix");
  return X->get<Array>();
}
const Array& AnnData::X_dense() const {
  if (!X || !X->is<Array>()) throw ValueError("X is not a dense matrix");
  return X->get<Array>();
}

}  // namespace scanpp
