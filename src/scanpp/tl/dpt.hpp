#pragma once
// tl.dpt: diffusion pseudotime (Haghverdi et al. 2016) as Scanpy 1.11
// computes it from a diffusion map: the DPT distance of every cell to a root
// cell, normalised by its largest finite value.
// With n_branchings > 0 it also runs Scanpy's legacy branching detection
// (tl/dpt_branching.hpp), which Scanpy itself discourages in favour of PAGA.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"

namespace scanpp::tl {

// DPT distance from cell `root` to every cell, in float32 as Scanpy does:
//   sum over l with lambda_l < 0.9994 of (lambda_l / (1 - lambda_l) (psi_l(root) - psi_l(x)))^2
//   + sum over l with lambda_l >= 0.9994 of (psi_l(root) - psi_l(x))^2, square-rooted.
// eigen_basis: n x k diffusion components (float32 or float64), eigen_values: k.
// component_labels (optional, size n): cells in another connected component than
// the root get +inf.
std::vector<float> dpt_distances_from(const Array& eigen_basis, const Array& eigen_values, int64_t root,
                                      std::span<const int32_t> component_labels = {});


// The kernel: pseudotime = distances from root / max of the finite distances,
// using the first n_dcs diffusion components.
std::vector<float> dpt_pseudotime(const Array& eigen_basis, const Array& eigen_values, int64_t root, int n_dcs = 10,
                                  std::span<const int32_t> component_labels = {});

struct DptOptions {
  int n_dcs = 10;
  int n_branchings = 0;  // > 0: detect this many branchings (tl/dpt_branching.hpp)
  double min_group_size = 0.01;
  bool allow_kendall_tau_shift = true;
  std::string neighbors_key = "neighbors";
};

// Root: uns['iroot'] (an integer < n_obs), else the cell of X closest to
// uns['xroot'] or var['xroot'] (squared Euclidean distance, first minimum).
// Runs tl.diffmap with defaults when obsm['X_diffmap'] is missing. Writes
// obs['dpt_pseudotime'] (float32) and uns['iroot'] (int64); with
// n_branchings > 0 also obs['dpt_groups'] (categorical '0', '1', ...),
// obs['dpt_order'], obs['dpt_order_indices'] (int64), uns['dpt_changepoints']
// (int64) and uns['dpt_grouptips'] (int64, n_groups x 2). Without a root it
// warns as Scanpy does and writes no pseudotime (branchings then start from
// the cell farthest from cell 0). Throws ValueError for a root out of range, for
// n_dcs larger than the number of diffusion components, and for
// n_branchings < 0.
void dpt(AnnData& adata, const DptOptions& opt = {});

}  // namespace scanpp::tl
