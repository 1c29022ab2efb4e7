#include "scanpp/tl/linkage.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "scanpp/core/error.hpp"

namespace scanpp::tl {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Position of pair (i, j), i != j, in the condensed upper triangle.
inline size_t condensed_index(int64_t n, int64_t i, int64_t j) {
  if (i > j) std::swap(i, j);
  return static_cast<size_t>(n * i - (i * (i + 1)) / 2 + (j - i - 1));
}

// Lance-Williams distance from cluster i to the union of x and y, written in
// scipy's operation order so the heights match it to the last bit.
double updated_distance(LinkageMethod m, double d_xi, double d_yi, double d_xy, int size_x, int size_y,
                        int size_i) {
  switch (m) {
    case LinkageMethod::Single:
      return std::min(d_xi, d_yi);
    case LinkageMethod::Complete:
      return std::max(d_xi, d_yi);
    case LinkageMethod::Average:
      return (size_x * d_xi + size_y * d_yi) / (size_x + size_y);
    case LinkageMethod::Weighted:
      return 0.5 * (d_xi + d_yi);
    case LinkageMethod::Ward: {
      const double t = 1.0 / (size_x + size_y + size_i);
      return std::sqrt((size_i + size_x) * t * d_xi * d_xi + (size_i + size_y) * t * d_yi * d_yi -
                       size_i * t * d_xy * d_xy);
    }
  }
  return 0.0;
}

// scipy's union-find relabelling of merges sorted by height: each row gets
// the current roots of its two clusters (smaller first) and the merged size.
void relabel(std::vector<double>& z, int64_t n) {
  std::vector<int64_t> parent(static_cast<size_t>(2 * n - 1));
  std::iota(parent.begin(), parent.end(), int64_t{0});
  std::vector<int64_t> size(static_cast<size_t>(2 * n - 1), 1);
  int64_t next_label = n;
  auto find = [&](int64_t x) {
    int64_t root = x;
    while (parent[static_cast<size_t>(root)] != root) root = parent[static_cast<size_t>(root)];
    while (parent[static_cast<size_t>(x)] != root) {
      const int64_t up = parent[static_cast<size_t>(x)];
      parent[static_cast<size_t>(x)] = root;
      x = up;
    }
    return root;
  };
  for (int64_t i = 0; i < n - 1; ++i) {
    double* row = &z[static_cast<size_t>(i * 4)];
    const int64_t xr = find(static_cast<int64_t>(row[0])), yr = find(static_cast<int64_t>(row[1]));
    row[0] = static_cast<double>(std::min(xr, yr));
    row[1] = static_cast<double>(std::max(xr, yr));
    parent[static_cast<size_t>(xr)] = next_label;
    parent[static_cast<size_t>(yr)] = next_label;
    const int64_t s = size[static_cast<size_t>(xr)] + size[static_cast<size_t>(yr)];
    size[static_cast<size_t>(next_label)] = s;
    ++next_label;
    row[3] = static_cast<double>(s);
  }
}

// Rows stably sorted by height (numpy's mergesort), then relabelled.
Linkage finish(std::vector<double> z, int64_t n) {
  std::vector<int64_t> order(static_cast<size_t>(n - 1));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return z[static_cast<size_t>(a * 4 + 2)] < z[static_cast<size_t>(b * 4 + 2)];
  });
  Linkage out;
  out.n = n;
  out.z.resize(z.size());
  for (size_t r = 0; r < order.size(); ++r)
    std::copy_n(z.begin() + order[r] * 4, 4, out.z.begin() + static_cast<int64_t>(r) * 4);
  relabel(out.z, n);
  return out;
}

Linkage mst_single_linkage(std::span<const double> dists, int64_t n) {
  std::vector<double> z(static_cast<size_t>((n - 1) * 4), 0.0);
  std::vector<char> merged(static_cast<size_t>(n), 0);
  std::vector<double> d(static_cast<size_t>(n), kInf);
  int64_t x = 0, y = 0;
  for (int64_t k = 0; k < n - 1; ++k) {
    double current_min = kInf;
    merged[static_cast<size_t>(x)] = 1;
    for (int64_t i = 0; i < n; ++i) {
      if (merged[static_cast<size_t>(i)]) continue;
      const double dist = dists[condensed_index(n, x, i)];
      if (d[static_cast<size_t>(i)] > dist) d[static_cast<size_t>(i)] = dist;
      if (d[static_cast<size_t>(i)] < current_min) {
        y = i;
        current_min = d[static_cast<size_t>(i)];
      }
    }
    z[static_cast<size_t>(k * 4)] = static_cast<double>(x);
    z[static_cast<size_t>(k * 4 + 1)] = static_cast<double>(y);
    z[static_cast<size_t>(k * 4 + 2)] = current_min;
    x = y;
  }
  return finish(std::move(z), n);
}

Linkage nn_chain(std::span<const double> dists, int64_t n, LinkageMethod method) {
  std::vector<double> z(static_cast<size_t>((n - 1) * 4), 0.0);
  std::vector<double> d(dists.begin(), dists.end());
  std::vector<int> size(static_cast<size_t>(n), 1);
  std::vector<int64_t> chain(static_cast<size_t>(n), 0);
  int64_t chain_length = 0;
  int64_t x = 0, y = 0;
  for (int64_t k = 0; k < n - 1; ++k) {
    if (chain_length == 0) {
      chain_length = 1;
      for (int64_t i = 0; i < n; ++i)
        if (size[static_cast<size_t>(i)] > 0) {
          chain[0] = i;
          break;
        }
    }
    double current_min = kInf;
    while (true) {
      x = chain[static_cast<size_t>(chain_length - 1)];
      // The previous chain element wins ties, so the chain cannot cycle.
      if (chain_length > 1) {
        y = chain[static_cast<size_t>(chain_length - 2)];
        current_min = d[condensed_index(n, x, y)];
      } else {
        current_min = kInf;
      }
      for (int64_t i = 0; i < n; ++i) {
        if (size[static_cast<size_t>(i)] == 0 || i == x) continue;
        const double dist = d[condensed_index(n, x, i)];
        if (dist < current_min) {
          current_min = dist;
          y = i;
        }
      }
      if (chain_length > 1 && y == chain[static_cast<size_t>(chain_length - 2)]) break;
      chain[static_cast<size_t>(chain_length)] = y;
      ++chain_length;
    }
    chain_length -= 2;
    if (x > y) std::swap(x, y);
    const int nx = size[static_cast<size_t>(x)], ny = size[static_cast<size_t>(y)];
    z[static_cast<size_t>(k * 4)] = static_cast<double>(x);
    z[static_cast<size_t>(k * 4 + 1)] = static_cast<double>(y);
    z[static_cast<size_t>(k * 4 + 2)] = current_min;
    z[static_cast<size_t>(k * 4 + 3)] = nx + ny;
    size[static_cast<size_t>(x)] = 0;
    size[static_cast<size_t>(y)] = nx + ny;
    for (int64_t i = 0; i < n; ++i) {
      const int ni = size[static_cast<size_t>(i)];
      if (ni == 0 || i == y) continue;
      d[condensed_index(n, i, y)] =
          updated_distance(method, d[condensed_index(n, i, x)], d[condensed_index(n, i, y)], current_min, nx, ny, ni);
    }
  }
  return finish(std::move(z), n);
}

// Python's float `%` for the positive coordinates dendrogram() produces.
double py_mod(double a, double b) {
  double r = std::fmod(a, b);
  if (r != 0.0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

// scikit-learn's quicksort of values with their indices (median of three),
// as scipy's optimal leaf ordering uses it to order its search.
void dual_swap(float* d, int* idx, int i, int j) {
  std::swap(d[i], d[j]);
  std::swap(idx[i], idx[j]);
}

void simultaneous_sort(float* dist, int* idx, int size) {
  if (size <= 1) return;
  if (size == 2) {
    if (dist[0] > dist[1]) dual_swap(dist, idx, 0, 1);
    return;
  }
  if (size == 3) {
    if (dist[0] > dist[1]) dual_swap(dist, idx, 0, 1);
    if (dist[1] > dist[2]) {
      dual_swap(dist, idx, 1, 2);
      if (dist[0] > dist[1]) dual_swap(dist, idx, 0, 1);
    }
    return;
  }
  int pivot_idx = size / 2;
  if (dist[0] > dist[size - 1]) dual_swap(dist, idx, 0, size - 1);
  if (dist[size - 1] > dist[pivot_idx]) {
    dual_swap(dist, idx, size - 1, pivot_idx);
    if (dist[0] > dist[size - 1]) dual_swap(dist, idx, 0, size - 1);
  }
  const float pivot_val = dist[size - 1];
  int store_idx = 0;
  for (int i = 0; i < size - 1; ++i)
    if (dist[i] < pivot_val) dual_swap(dist, idx, i, store_idx++);
  dual_swap(dist, idx, store_idx, size - 1);
  pivot_idx = store_idx;
  if (pivot_idx > 1) simultaneous_sort(dist, idx, pivot_idx);
  if (pivot_idx + 2 < size) simultaneous_sort(dist + pivot_idx + 1, idx + pivot_idx + 1, size - pivot_idx - 1);
}

// Leaves of the tree left to right (scipy's leaves_list).
std::vector<int64_t> leaves_list(const Linkage& z) {
  std::vector<int64_t> out, stack{2 * z.n - 2};
  while (!stack.empty()) {
    const int64_t v = stack.back();
    stack.pop_back();
    if (v < z.n) {
      out.push_back(v);
      continue;
    }
    stack.push_back(static_cast<int64_t>(z.at(v - z.n, 1)));
    stack.push_back(static_cast<int64_t>(z.at(v - z.n, 0)));
  }
  return out;
}

}  // namespace

Linkage optimal_leaf_ordering(const Linkage& z, std::span<const double> condensed) {
  const int64_t n = z.n;
  if (n < 2 || static_cast<int64_t>(z.z.size()) != (n - 1) * 4)
    throw ValueError("optimal_leaf_ordering: linkage matrix must have n-1 >= 1 rows of 4 values");
  if (static_cast<int64_t>(condensed.size()) != n * (n - 1) / 2)
    throw ValueError("optimal_leaf_ordering: distance matrix does not match the linkage");
  const int64_t n_links = n - 1;
  const std::vector<int64_t> leaves = leaves_list(z);
  std::vector<int64_t> sorted_pos(static_cast<size_t>(n));
  for (int64_t s = 0; s < n; ++s) sorted_pos[static_cast<size_t>(leaves[static_cast<size_t>(s)])] = s;
  // Clusters renamed so every cluster is a range of positions in the current leaf order.
  std::vector<std::array<int, 2>> sz(static_cast<size_t>(n_links));
  for (int64_t i = 0; i < n_links; ++i)
    for (int c = 0; c < 2; ++c) {
      const int64_t v = static_cast<int64_t>(z.at(i, c));
      sz[static_cast<size_t>(i)][static_cast<size_t>(c)] = static_cast<int>(v < n ? sorted_pos[static_cast<size_t>(v)] : v);
    }
  std::vector<double> D(static_cast<size_t>(n * n), 0.0);
  for (int64_t s = 0; s < n; ++s)
    for (int64_t t = 0; t < n; ++t)
      if (s != t)
        D[static_cast<size_t>(s * n + t)] =
            condensed[condensed_index(n, leaves[static_cast<size_t>(s)], leaves[static_cast<size_t>(t)])];
  std::vector<std::array<int, 2>> range(static_cast<size_t>(2 * n - 1));
  for (int64_t s = 0; s < n; ++s) range[static_cast<size_t>(s)] = {static_cast<int>(s), static_cast<int>(s + 1)};
  for (int64_t i = 0; i < n_links; ++i)
    range[static_cast<size_t>(n + i)] = {range[static_cast<size_t>(sz[static_cast<size_t>(i)][0])][0],
                                         range[static_cast<size_t>(sz[static_cast<size_t>(i)][1])][1]};

  // identify_swaps: M[u, w] is the best cost of an ordering of a cluster with
  // leftmost leaf u and rightmost w, in float32 as scipy keeps it.
  const auto N = static_cast<size_t>(n);
  std::vector<float> M(N * N, 0.0f);
  std::vector<int> swap_status(N * N * 2, 0);
  std::vector<int> must_swap(static_cast<size_t>(n_links), 0);
  auto m_at = [&](int a, int b) -> float& { return M[static_cast<size_t>(a) * N + static_cast<size_t>(b)]; };
  auto d_at = [&](int a, int b) { return D[static_cast<size_t>(a) * N + static_cast<size_t>(b)]; };
  constexpr float kBig = 1073741824.0f;  // 2^30, scipy's "infinity"
  std::vector<float> m_vals(N), k_vals(N);
  std::vector<int> m_idx(N), k_idx(N);
  for (int64_t i = 0; i < n_links; ++i) {
    const int v_l = sz[static_cast<size_t>(i)][0], v_r = sz[static_cast<size_t>(i)][1];
    int u_c[2] = {0, 0}, m_c[2] = {0, 0}, w_c[2] = {0, 0}, k_c[2] = {0, 0};
    int total_u, total_w;
    if (v_l < n) {
      total_u = 1;
      u_c[0] = m_c[0] = v_l;
    } else {
      total_u = 2;
      const auto& ch = sz[static_cast<size_t>(v_l - n)];
      u_c[0] = ch[0];
      m_c[0] = ch[1];
      u_c[1] = ch[1];
      m_c[1] = ch[0];
    }
    if (v_r < n) {
      total_w = 1;
      w_c[0] = k_c[0] = v_r;
    } else {
      total_w = 2;
      const auto& ch = sz[static_cast<size_t>(v_r - n)];
      w_c[0] = ch[1];
      w_c[1] = ch[0];
      k_c[0] = ch[0];
      k_c[1] = ch[1];
    }
    for (int swap_l = 0; swap_l < total_u; ++swap_l)
      for (int swap_r = 0; swap_r < total_w; ++swap_r) {
        const auto ur = range[static_cast<size_t>(u_c[swap_l])], mr = range[static_cast<size_t>(m_c[swap_l])];
        const auto wr = range[static_cast<size_t>(w_c[swap_r])], kr = range[static_cast<size_t>(k_c[swap_r])];
        float min_km = kBig;
        for (int m = mr[0]; m < mr[1]; ++m)
          for (int k = kr[0]; k < kr[1]; ++k)
            if (d_at(m, k) < min_km) min_km = static_cast<float>(d_at(m, k));
        for (int u = ur[0]; u < ur[1]; ++u) {
          for (int m = mr[0]; m < mr[1]; ++m) {
            m_vals[static_cast<size_t>(m - mr[0])] = m_at(m, u);
            m_idx[static_cast<size_t>(m - mr[0])] = m;
          }
          simultaneous_sort(m_vals.data(), m_idx.data(), mr[1] - mr[0]);
          for (int w = wr[0]; w < wr[1]; ++w) {
            for (int k = kr[0]; k < kr[1]; ++k) {
              k_vals[static_cast<size_t>(k - kr[0])] = m_at(k, w);
              k_idx[static_cast<size_t>(k - kr[0])] = k;
            }
            simultaneous_sort(k_vals.data(), k_idx.data(), kr[1] - kr[0]);
            float cur = kBig;
            for (int mi = 0; mi < mr[1] - mr[0]; ++mi) {
              const int m = m_idx[static_cast<size_t>(mi)];
              if (m_at(u, m) + m_at(w, k_idx[0]) + min_km >= cur) break;
              for (int ki = 0; ki < kr[1] - kr[0]; ++ki) {
                const int k = k_idx[static_cast<size_t>(ki)];
                if (m_at(u, m) + m_at(w, k) + min_km >= cur) break;
                const float current = static_cast<float>(static_cast<double>(m_at(u, m) + m_at(w, k)) + d_at(m, k));
                if (current < cur) cur = current;
              }
            }
            m_at(u, w) = m_at(w, u) = cur;
            for (const size_t at : {(static_cast<size_t>(u) * N + static_cast<size_t>(w)) * 2,
                                    (static_cast<size_t>(w) * N + static_cast<size_t>(u)) * 2}) {
              swap_status[at] = swap_l;
              swap_status[at + 1] = swap_r;
            }
          }
        }
      }
    float cur = kBig;
    int best_u = 0, best_w = 0;
    for (int u = range[static_cast<size_t>(v_l)][0]; u < range[static_cast<size_t>(v_l)][1]; ++u)
      for (int w = range[static_cast<size_t>(v_r)][0]; w < range[static_cast<size_t>(v_r)][1]; ++w)
        if (m_at(u, w) < cur) {
          cur = m_at(u, w);
          best_u = u;
          best_w = w;
        }
    const size_t at = (static_cast<size_t>(best_u) * N + static_cast<size_t>(best_w)) * 2;
    if (v_l >= n) must_swap[static_cast<size_t>(v_l - n)] = swap_status[at];
    if (v_r >= n) must_swap[static_cast<size_t>(v_r - n)] = swap_status[at + 1];
  }
  // Rotating a node reverses its whole subtree: a merge's children end up
  // swapped when an odd number of it and its ancestors must swap.
  std::vector<int> parity(static_cast<size_t>(n_links), 0);
  for (int64_t i = n_links - 1; i >= 0; --i) {
    parity[static_cast<size_t>(i)] ^= must_swap[static_cast<size_t>(i)];
    for (int c = 0; c < 2; ++c) {
      const int child = sz[static_cast<size_t>(i)][static_cast<size_t>(c)];
      if (child >= n) parity[static_cast<size_t>(child - n)] ^= parity[static_cast<size_t>(i)];
    }
  }
  Linkage out = z;
  for (int64_t i = 0; i < n_links; ++i)
    if (parity[static_cast<size_t>(i)]) std::swap(out.z[static_cast<size_t>(i * 4)], out.z[static_cast<size_t>(i * 4 + 1)]);
  return out;
}

namespace {

struct LayoutWalker {
  const Linkage& z;
  const std::vector<std::string>& labels;
  double color_threshold;
  DendrogramLayout& out;
  // scipy's default link palette (matplotlib's C1..C9), above threshold C0.
  static constexpr std::array<const char*, 9> kPalette{"C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9"};
  size_t current_color = 0;
  bool below_threshold = false;

  struct Sub {
    double left, width, height, max_dist;
  };

  // scipy's _dendrogram_calculate_info for the node with index i; iv is the
  // x coordinate where the subtree starts.
  Sub walk(int64_t i, double iv) {
    const int64_t n = z.n;
    if (i < n) {
      out.leaves.push_back(i);
      out.ivl.push_back(labels.empty() ? std::to_string(i) : labels[static_cast<size_t>(i)]);
      return {iv + 5.0, 10.0, 0.0, 0.0};
    }
    const int64_t ua = static_cast<int64_t>(z.at(i - n, 0)), ub = static_cast<int64_t>(z.at(i - n, 1));
    const Sub a = walk(ua, iv);
    const double h = z.at(i - n, 2);
    std::string c;
    if (h >= color_threshold || color_threshold <= 0) {
      c = "C0";
      if (below_threshold) current_color = (current_color + 1) % kPalette.size();
      below_threshold = false;
    } else {
      below_threshold = true;
      c = kPalette[current_color];
    }
    const Sub b = walk(ub, iv + a.width);
    out.icoord.push_back({a.left, a.left, b.left, b.left});
    out.dcoord.push_back({a.height, h, h, b.height});
    out.color_list.push_back(c);
    return {(a.left + b.left) / 2, a.width + b.width, h, std::max({a.max_dist, b.max_dist, h})};
  }
};

}  // namespace

LinkageMethod parse_linkage_method(const std::string& name) {
  if (name == "single") return LinkageMethod::Single;
  if (name == "complete") return LinkageMethod::Complete;
  if (name == "average") return LinkageMethod::Average;
  if (name == "weighted") return LinkageMethod::Weighted;
  if (name == "ward") return LinkageMethod::Ward;
  if (name == "centroid" || name == "median")
    throw ValueError("linkage method '" + name + "' needs the observation vectors and is not supported");
  throw ValueError("Invalid linkage method: '" + name +
                   "' (expected 'single', 'complete', 'average', 'weighted' or 'ward')");
}

const char* linkage_method_name(LinkageMethod m) {
  switch (m) {
    case LinkageMethod::Single: return "single";
    case LinkageMethod::Complete: return "complete";
    case LinkageMethod::Average: return "average";
    case LinkageMethod::Weighted: return "weighted";
    case LinkageMethod::Ward: return "ward";
  }
  return "";
}

std::vector<double> squareform(std::span<const double> square, int64_t n) {
  if (n < 0 || static_cast<int64_t>(square.size()) != n * n)
    throw ValueError("squareform: the matrix must be square (" + std::to_string(square.size()) + " values for n=" +
                     std::to_string(n) + ")");
  std::vector<double> out;
  out.reserve(static_cast<size_t>(n * (n - 1) / 2));
  for (int64_t i = 0; i < n; ++i) {
    if (square[static_cast<size_t>(i * n + i)] != 0.0)
      throw ValueError("squareform: distance matrix must have a zero diagonal (row " + std::to_string(i) + ")");
    for (int64_t j = i + 1; j < n; ++j) {
      const double v = square[static_cast<size_t>(i * n + j)];
      if (!(v == square[static_cast<size_t>(j * n + i)]))
        throw ValueError("squareform: distance matrix must be symmetric (entries " + std::to_string(i) + "," +
                         std::to_string(j) + ")");
      out.push_back(v);
    }
  }
  return out;
}

Linkage linkage(std::span<const double> condensed, int64_t n, LinkageMethod method, bool optimal_ordering) {
  if (n < 2) throw ValueError("linkage needs at least 2 observations (got " + std::to_string(n) + ")");
  if (static_cast<int64_t>(condensed.size()) != n * (n - 1) / 2)
    throw ValueError("linkage: condensed distance matrix has " + std::to_string(condensed.size()) +
                     " entries, expected n*(n-1)/2 = " + std::to_string(n * (n - 1) / 2));
  for (double v : condensed)
    if (!std::isfinite(v)) throw ValueError("The condensed distance matrix must contain only finite values.");
  Linkage z = method == LinkageMethod::Single ? mst_single_linkage(condensed, n) : nn_chain(condensed, n, method);
  return optimal_ordering ? optimal_leaf_ordering(z, condensed) : z;
}

DendrogramLayout dendrogram_layout(const Linkage& z, const std::vector<std::string>& labels,
                                   std::optional<double> color_threshold) {
  const int64_t n = z.n;
  if (n < 2 || static_cast<int64_t>(z.z.size()) != (n - 1) * 4)
    throw ValueError("dendrogram: linkage matrix must have n-1 >= 1 rows of 4 values");
  if (!labels.empty() && static_cast<int64_t>(labels.size()) != n)
    throw ValueError("Dimensions of Z and labels must be consistent.");
  double max_h = -kInf;
  for (int64_t r = 0; r < n - 1; ++r) max_h = std::max(max_h, z.at(r, 2));
  DendrogramLayout out;
  LayoutWalker w{z, labels, color_threshold.value_or(max_h * 0.7), out};
  w.walk(2 * n - 2, 0.0);
  // scipy finds each leaf's colour from the link end sitting at the leaf's x
  // position (5, 15, 25, ...) on the baseline.
  out.leaves_color_list.assign(out.leaves.size(), "");
  for (size_t l = 0; l < out.icoord.size(); ++l)
    for (int k = 0; k < 4; ++k) {
      const double xi = out.icoord[l][static_cast<size_t>(k)], yi = out.dcoord[l][static_cast<size_t>(k)];
      if (yi == 0.0 && py_mod(xi, 5) == 0 && py_mod(xi, 2) == 1) {
        const int64_t leaf = (static_cast<int64_t>(xi) - 5) / 10;
        if (leaf >= 0 && leaf < static_cast<int64_t>(out.leaves_color_list.size()))
          out.leaves_color_list[static_cast<size_t>(leaf)] = out.color_list[l];
      }
    }
  return out;
}

}  // namespace scanpp::tl
