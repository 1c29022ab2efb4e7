#include "scanpp/tl/dpt.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <iostream>
#include <numeric>
#include <optional>

#include "scanpp/core/connected_components.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/diffmap.hpp"
#include "scanpp/tl/dpt_branching.hpp"

namespace scanpp::tl {

std::vector<float> dpt_distances_from(const Array& eigen_basis, const Array& eigen_values, int64_t root,
                                      std::span<const int32_t> component_labels) {
  const int64_t k = eigen_values.size();
  if (eigen_basis.ndim() != 2 || eigen_basis.cols() != k)
    throw ValueError("dpt: the diffusion components must be an n x " + std::to_string(k) +
                     " matrix matching the eigenvalues");
  const int64_t n = eigen_basis.rows();
  if (root < 0 || root >= n)
    throw ValueError("dpt: root cell " + std::to_string(root) + " is out of range for " + std::to_string(n) +
                     " cells");
  if (!component_labels.empty() && static_cast<int64_t>(component_labels.size()) != n)
    throw ValueError("dpt: component labels do not match the number of cells");
  const std::vector<float> basis = eigen_basis.to_vector<float>();
  const std::vector<float> lam = eigen_values.to_vector<float>();
  // Scanpy's float32 threshold for the stationary (and near-stationary) components.
  constexpr float kStationary = 0.9994f;
  std::vector<float> weight(static_cast<size_t>(k));
  for (int64_t l = 0; l < k; ++l) weight[l] = lam[l] / (1.0f - lam[l]);
  std::vector<float> out(static_cast<size_t>(n));
  const float* r = basis.data() + root * k;
  // Scanpy sums the weighted terms and the stationary terms separately (two
  // Python sums over float32 arrays), then adds them; the order is kept.
  parallel_for(n, [&](int64_t x) {
    const float* px = basis.data() + x * k;
    float dyn = 0.0f, stat = 0.0f;
    for (int64_t l = 0; l < k; ++l) {
      if (lam[l] < kStationary) {
        const float t = weight[l] * (r[l] - px[l]);
        dyn += t * t;
      }
    }
    for (int64_t l = 0; l < k; ++l) {
      if (lam[l] >= kStationary) {
        const float d = r[l] - px[l];
        stat += d * d;
      }
    }
    float row = dyn + stat;
    if (!component_labels.empty() && component_labels[x] != component_labels[root])
      row = std::numeric_limits<float>::infinity();
    out[x] = std::sqrt(row);
  });
  return out;
}

std::vector<float> dpt_pseudotime(const Array& eigen_basis, const Array& eigen_values, int64_t root, int n_dcs,
                                  std::span<const int32_t> component_labels) {
  const int64_t k = eigen_values.size();
  if (n_dcs < 1 || n_dcs > k)
    throw ValueError("dpt: cannot use n_dcs=" + std::to_string(n_dcs) + " with " + std::to_string(k) +
                     " diffusion components: compute diffmap with more components first");
  if (eigen_basis.ndim() != 2 || eigen_basis.cols() != k)
    throw ValueError("dpt: obsm['X_diffmap'] does not match uns['diffmap_evals']");
  std::vector<int64_t> cols(static_cast<size_t>(n_dcs));
  std::iota(cols.begin(), cols.end(), int64_t{0});
  const Array basis = eigen_basis.take_cols(cols);
  const Array evals = eigen_values.take_rows(cols);
  std::vector<float> d = dpt_distances_from(basis, evals, root, component_labels);
  float mx = -std::numeric_limits<float>::infinity();
  for (float v : d)
    if (v < std::numeric_limits<float>::infinity()) mx = std::max(mx, v);
  for (float& v : d) v /= mx;
  return d;
}

namespace {

// Scanpy's _set_iroot_via_xroot: first cell of X with the smallest squared
// distance to xroot, stopping early at an (almost) exact match.
int64_t iroot_from_xroot(const AnnData& adata, const std::vector<double>& xroot) {
  if (!adata.X) throw ValueError("dpt: xroot given but adata.X is missing");
  const int64_t n = adata.n_obs(), p = adata.n_vars();
  if (static_cast<int64_t>(xroot.size()) != p)
    throw ValueError("dpt: the root vector xroot has " + std::to_string(xroot.size()) + " entries, X has " +
                     std::to_string(p) + " genes");
  std::vector<double> row(static_cast<size_t>(p));
  auto fill_row = [&](int64_t i) {
    if (adata.X->is<Array>()) {
      const Array& x = adata.X->get<Array>();
      for (int64_t g = 0; g < p; ++g) row[g] = x.get_double(i * p + g);
    } else if (adata.X->is<SparseMatrix>()) {
      const SparseMatrix& x = adata.X->get<SparseMatrix>();
      std::fill(row.begin(), row.end(), 0.0);
      if (x.format != SparseFormat::CSR) throw ValueError("dpt: xroot needs X as a dense or CSR matrix");
      for (int64_t k = x.indptr[i]; k < x.indptr[i + 1]; ++k) row[x.indices[k]] += x.data.get_double(k);
    } else {
      throw ValueError("dpt: adata.X is neither a dense nor a sparse matrix");
    }
  };
  double best = 1e10;
  int64_t iroot = 0;
  for (int64_t i = 0; i < n; ++i) {
    fill_row(i);
    double dsq = 0;
    for (int64_t g = 0; g < p; ++g) dsq += (row[g] - xroot[g]) * (row[g] - xroot[g]);
    if (dsq < best) {
      best = dsq;
      iroot = i;
      if (std::sqrt(best) < 1e-10) break;
    }
  }
  return iroot;
}

// nullopt when none is set (Scanpy then warns, writes no pseudotime and,
// with branchings, starts them from cell 0's farthest cell).
std::optional<int64_t> root_cell(const AnnData& adata) {
  if (auto it = adata.uns.find("iroot"); it != adata.uns.end()) {
    if (!it->second.is<Array>() || it->second.get<Array>().size() != 1)
      throw ValueError("dpt: uns['iroot'] must be a single integer");
    const double v = it->second.get<Array>().get_double(0);
    if (v != std::floor(v) || v < 0 || v >= static_cast<double>(adata.n_obs()))
      throw ValueError("dpt: root cell index uns['iroot'] = " + std::to_string(v) + " does not exist for " +
                       std::to_string(adata.n_obs()) + " cells");
    return static_cast<int64_t>(v);
  }
  if (auto it = adata.uns.find("xroot"); it != adata.uns.end()) {
    if (!it->second.is<Array>()) throw ValueError("dpt: uns['xroot'] must be a numeric vector");
    return iroot_from_xroot(adata, it->second.get<Array>().to_vector<double>());
  }
  if (adata.var.has("xroot")) return iroot_from_xroot(adata, adata.var.numeric("xroot"));
  return std::nullopt;
}

}  // namespace

void dpt(AnnData& adata, const DptOptions& opt) {
  if (opt.n_branchings < 0) throw ValueError("dpt: n_branchings must be >= 0");
  const SparseMatrix& w = detail::neighbors_connectivities(adata, opt.neighbors_key, "dpt");
  const std::optional<int64_t> root = root_cell(adata);
  if (!root)
    std::cerr << "scanpp warning: dpt: No root cell found. To compute pseudotime, pass the index or expression vector "
                 "of a root cell, one of: uns['iroot'] = root_cell_index; var['xroot'] = the root cell's X row\n";
  if (adata.obsm.find("X_diffmap") == adata.obsm.end())
    diffmap(adata, {.neighbors_key = opt.neighbors_key});
  const auto& basis_el = adata.obsm.at("X_diffmap");
  if (!basis_el.is<Array>()) throw ValueError("dpt: obsm['X_diffmap'] must be a dense array");
  auto ev = adata.uns.find("diffmap_evals");
  if (ev == adata.uns.end() || !ev->second.is<Array>())
    throw KeyError("dpt: uns['diffmap_evals'] is missing: run tl.diffmap");
  const std::vector<int32_t> labels = connected_component_labels(w);
  const bool several = !labels.empty() && *std::max_element(labels.begin(), labels.end()) > 0;
  std::vector<float> pt;
  if (root) {
    pt = dpt_pseudotime(basis_el.get<Array>(), ev->second.get<Array>(), *root, opt.n_dcs,
                        several ? std::span<const int32_t>(labels) : std::span<const int32_t>());
    adata.uns["iroot"] = Array::scalar<int64_t>(*root);
    adata.obs.set("dpt_pseudotime", Array::from_vector(pt));
  }
  if (opt.n_branchings == 0) return;
  // the branching works on the first n_dcs components, as Scanpy's DPT object
  const Array& basis = basis_el.get<Array>();
  const Array& evals = ev->second.get<Array>();
  std::vector<int64_t> cols(static_cast<size_t>(opt.n_dcs));
  std::iota(cols.begin(), cols.end(), int64_t{0});
  const DptBranching br = dpt_branchings(
      basis.take_cols(cols), evals.take_rows(cols), root, pt,
      several ? std::span<const int32_t>(labels) : std::span<const int32_t>(),
      {.n_branchings = opt.n_branchings, .min_group_size = opt.min_group_size,
       .allow_kendall_tau_shift = opt.allow_kendall_tau_shift});
  std::vector<std::string> names(static_cast<size_t>(br.n_groups));
  for (int32_t g = 0; g < br.n_groups; ++g) names[g] = std::to_string(g);  // numeric order = natsorted
  Categorical groups;
  groups.codes = br.groups;
  groups.categories = names;
  adata.obs.set("dpt_groups", std::move(groups));
  adata.obs.set("dpt_order", Array::from_vector(br.order));
  adata.obs.set("dpt_order_indices", Array::from_vector(br.order_indices));
  adata.uns["dpt_changepoints"] = Array::from_vector(br.changepoints);
  std::vector<int64_t> tips;
  for (const auto& t : br.tips) tips.insert(tips.end(), t.begin(), t.end());
  adata.uns["dpt_grouptips"] = Array::from_vector(tips, {static_cast<int64_t>(br.tips.size()), 2});
}

}  // namespace scanpp::tl
