#pragma once
// DPT branching detection (Haghverdi et al. 2016) as Scanpy 1.11's
// tl.dpt(n_branchings > 0) runs it (class DPT, flavor 'haghverdi16'):
// the data start as one segment with tips (the cell farthest from the root,
// the cell farthest from that); each branching picks the segment whose third
// tip (largest summed distance to both tips) scores highest, splits it from
// each of its three tips at the maximum of the Kendall-tau difference along
// the distance ordering, and makes cells claimed by two branches the
// 'undecided' trunk. Distances are the float32 DPT distances of tl/dpt.hpp.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "scanpp/core/array.hpp"

namespace scanpp::tl {

// Scanpy's DPT.kendall_tau_split: the index i in [5, n - 6) maximising the
// (incrementally updated) Kendall tau-b of a[:i+1], b[:i+1] minus that of
// a[i+1:], b[i+1:]. Throws ValueError for sequences shorter than 12.
int64_t kendall_tau_split(std::span<const float> a, std::span<const float> b);

// scipy.stats.kendalltau's tau-b (NaN when an input holds NaN or is constant).
double kendall_tau_b(std::span<const float> a, std::span<const float> b);

struct DptBranchingOptions {
  int n_branchings = 1;
  double min_group_size = 0.01;  // a fraction of the cells if < 1
  bool allow_kendall_tau_shift = true;
};

struct DptBranching {
  std::vector<int32_t> groups;                 // segment of each cell (obs['dpt_groups'])
  int32_t n_groups = 0;                        // segments, named '0' .. n_groups-1
  std::vector<std::array<int64_t, 2>> tips;    // uns['dpt_grouptips'], ordered by pseudotime
  std::vector<int64_t> order_indices;          // obs['dpt_order_indices']
  std::vector<int64_t> order;                  // obs['dpt_order']: position of each cell in order_indices
  std::vector<int64_t> changepoints;           // uns['dpt_changepoints']
};

// eigen_basis (n x k) and eigen_values (k): the first n_dcs diffusion
// components; pseudotime: obs['dpt_pseudotime'] (empty without a root, then
// row 0 starts the tip search and no pseudotime ordering is done);
// component_labels: connected components (empty if the graph is connected).
DptBranching dpt_branchings(const Array& eigen_basis, const Array& eigen_values, std::optional<int64_t> root,
                            std::span<const float> pseudotime, std::span<const int32_t> component_labels,
                            const DptBranchingOptions& opt = {});

}  // namespace scanpp::tl
