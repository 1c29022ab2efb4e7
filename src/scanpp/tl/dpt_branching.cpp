#include "scanpp/tl/dpt_branching.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "scanpp/core/error.hpp"
#include "scanpp/core/numpy_sort.hpp"
#include "scanpp/tl/dpt.hpp"

namespace scanpp::tl {

namespace {

// np.argmax / np.argmin: the first extreme value, or the first NaN.
template <class T>
int64_t np_argmax(const std::vector<T>& v) {
  if (v.empty()) throw ValueError("dpt: branching produced an empty segment (Scanpy fails here too)");
  int64_t best = 0;
  for (int64_t i = 0; i < static_cast<int64_t>(v.size()); ++i) {
    if (std::isnan(static_cast<double>(v[i]))) return i;
    if (v[i] > v[best]) best = i;
  }
  return best;
}
template <class T>
int64_t np_argmin(const std::vector<T>& v) {
  if (v.empty()) throw ValueError("dpt: branching produced an empty segment (Scanpy fails here too)");
  int64_t best = 0;
  for (int64_t i = 0; i < static_cast<int64_t>(v.size()); ++i) {
    if (std::isnan(static_cast<double>(v[i]))) return i;
    if (v[i] < v[best]) best = i;
  }
  return best;
}

int sign(float d) { return d > 0 ? 1 : (d < 0 ? -1 : 0); }

// Scanpy's OnFlySymMatrix over _get_dpt_row: rows computed once, on demand.
class DptDistanceRows {
 public:
  DptDistanceRows(const Array& basis, const Array& evals, std::span<const int32_t> labels)
      : basis_(basis), evals_(evals), labels_(labels) {}
  const std::vector<float>& row(int64_t i) {
    auto it = rows_.find(i);
    if (it == rows_.end()) it = rows_.emplace(i, dpt_distances_from(basis_, evals_, i, labels_)).first;
    return it->second;
  }
  float at(int64_t i, int64_t j) { return row(i)[j]; }
  // Dseg[local]: the row of seg[local] restricted to seg.
  std::vector<float> restricted(const std::vector<int64_t>& seg, int64_t local) {
    const std::vector<float>& r = row(seg[local]);
    std::vector<float> out(seg.size());
    for (size_t k = 0; k < seg.size(); ++k) out[k] = r[seg[k]];
    return out;
  }

 private:
  const Array& basis_;
  const Array& evals_;
  std::span<const int32_t> labels_;
  std::map<int64_t, std::vector<float>> rows_;
};

template <class T>
std::vector<T> pick(const std::vector<T>& v, const std::vector<int64_t>& idx) {
  std::vector<T> out(idx.size());
  for (size_t k = 0; k < idx.size(); ++k) out[k] = v[idx[k]];
  return out;
}

std::vector<int64_t> argsort_float(const std::vector<float>& v) {
  return numpy_argsort(std::vector<double>(v.begin(), v.end()));
}

struct Segments {
  std::vector<std::vector<int64_t>> segs;  // global cell indices, ascending
  std::vector<std::array<int64_t, 2>> tips;
  std::vector<bool> undecided;
};

class Brancher {
 public:
  Brancher(DptDistanceRows& d, int64_t min_group_size, bool allow_shift)
      : d_(d), min_group_size_(min_group_size), allow_shift_(allow_shift) {}

  // DPT.select_segment: (segment, three local tips) or nothing to split.
  std::optional<std::pair<int64_t, std::array<int64_t, 3>>> select_segment(const Segments& s) {
    const int64_t n_segs = static_cast<int64_t>(s.segs.size());
    std::vector<double> scores(static_cast<size_t>(n_segs), 0.0);
    std::vector<std::array<int64_t, 3>> tips3s(static_cast<size_t>(n_segs), {0, 0, 0});
    for (int64_t iseg = 0; iseg < n_segs; ++iseg) {
      const auto& seg = s.segs[iseg];
      if (s.tips[iseg][0] == -1) continue;
      int third_maximizer = -1;
      if (s.undecided[iseg]) {
        // a tip close to another segment's inner tip is not used for the triangle
        for (int64_t jseg = 0; jseg < n_segs; ++jseg) {
          if (jseg == iseg) continue;
          for (int itip = 0; itip < 2; ++itip) {
            const int64_t mine = s.tips[iseg][itip], other = s.tips[iseg][1 - itip];
            if (d_.at(s.tips[jseg][1], mine) < 0.5f * d_.at(other, mine)) third_maximizer = itip;
          }
        }
      }
      std::array<int64_t, 2> tips{};
      for (int t = 0; t < 2; ++t) {
        auto it = std::lower_bound(seg.begin(), seg.end(), s.tips[iseg][t]);
        if (it == seg.end() || *it != s.tips[iseg][t]) throw Error("dpt: a segment tip lies outside its segment");
        tips[t] = it - seg.begin();
      }
      std::vector<float> dseg = d_.restricted(seg, tips[0]);
      {
        const std::vector<float> d1 = d_.restricted(seg, tips[1]);
        for (size_t k = 0; k < dseg.size(); ++k) dseg[k] += d1[k];
      }
      if (std::none_of(dseg.begin(), dseg.end(), [](float v) { return std::isfinite(v); })) continue;
      const int64_t third = np_argmax(dseg);
      if (third_maximizer >= 0) {
        const std::vector<float> d3 = d_.restricted(seg, third);
        for (size_t k = 0; k < dseg.size(); ++k) dseg[k] += d3[k];
        const int64_t fourth = np_argmax(dseg);
        if (fourth != tips[0] && fourth != third) {
          tips[1] = fourth;
          const std::vector<float> d4 = d_.restricted(seg, tips[1]);
          for (size_t k = 0; k < dseg.size(); ++k) dseg[k] -= d4[k];
        } else {
          for (size_t k = 0; k < dseg.size(); ++k) dseg[k] -= d3[k];
        }
      }
      // added distance to the third tip relative to the tips' own distance
      float score = dseg[third] / d_.at(seg[tips[0]], seg[tips[1]]);
      if (static_cast<int64_t>(seg.size()) <= min_group_size_) score = 0;
      scores[iseg] = score;
      tips3s[iseg] = {tips[0], tips[1], third};
    }
    const int64_t best = np_argmax(scores);
    if (scores[best] == 0) return std::nullopt;
    return std::make_pair(best, tips3s[best]);
  }

  // DPT.__detect_branching_haghverdi16: cells before the Kendall-tau split
  // point in the ordering by distance from tips[0] (local indices).
  std::vector<int64_t> branch_from(const std::vector<int64_t>& seg, const std::array<int64_t, 3>& tips) {
    const std::vector<int64_t> idcs = argsort_float(d_.restricted(seg, tips[0]));
    const std::vector<float> a = pick(d_.restricted(seg, tips[1]), idcs);
    const std::vector<float> b = pick(d_.restricted(seg, tips[2]), idcs);
    const int64_t imax = kendall_tau_split(a, b);
    int64_t ibranch;
    if (static_cast<double>(imax) > 0.95 * static_cast<double>(idcs.size()) && allow_shift_) {
      // "everything" correlated: Scanpy shifts to a more conservative split
      ibranch = static_cast<int64_t>(0.95 * static_cast<double>(imax));
    } else {
      ibranch = imax + 1;
    }
    return std::vector<int64_t>(idcs.begin(), idcs.begin() + std::min<int64_t>(ibranch, idcs.size()));
  }

  // DPT.detect_branching + _detect_branching: split segment iseg in place.
  void detect_branching(Segments& s, int64_t iseg, const std::array<int64_t, 3>& tips3) {
    const std::vector<int64_t> seg = s.segs[iseg];
    const int64_t m = static_cast<int64_t>(seg.size());
    static constexpr int kPerm[3][3] = {{0, 1, 2}, {1, 2, 0}, {2, 0, 1}};
    std::vector<std::vector<int64_t>> branches;
    for (const auto& p : kPerm) branches.push_back(branch_from(seg, {tips3[p[0]], tips3[p[1]], tips3[p[2]]}));
    // cells claimed by more than one branch become 'undecided'
    std::vector<int> claims(static_cast<size_t>(m), 0);
    std::vector<std::vector<bool>> masks(3, std::vector<bool>(static_cast<size_t>(m), false));
    for (int k = 0; k < 3; ++k)
      for (int64_t c : branches[k]) masks[k][c] = true;
    for (int k = 0; k < 3; ++k)
      for (int64_t c = 0; c < m; ++c) claims[c] += masks[k][c];
    std::vector<std::vector<int64_t>> ssegs(3);
    std::vector<int64_t> undecided;
    for (int64_t c = 0; c < m; ++c) {
      if (claims[c] > 1) {
        undecided.push_back(c);
        continue;
      }
      for (int k = 0; k < 3; ++k)
        if (masks[k][c]) ssegs[k].push_back(c);
    }
    std::vector<std::array<int64_t, 2>> stips;
    for (int k = 0; k < 3; ++k) {
      const std::vector<float> dk = pick(d_.restricted(seg, tips3[k]), ssegs[k]);
      stips.push_back({tips3[k], ssegs[k][np_argmax(dk)]});
    }
    int64_t trunk;
    if (!undecided.empty()) {
      ssegs.push_back(undecided);
      const int64_t t0 = undecided[np_argmax(pick(d_.restricted(seg, undecided[0]), undecided))];
      const int64_t t1 = undecided[np_argmax(pick(d_.restricted(seg, t0), undecided))];
      stips.push_back({t0, t1});
      trunk = 3;
    } else {
      // the trunk is the branch closest to the two others
      int64_t closest[3][3] = {};
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
          if (i != j) closest[i][j] = ssegs[j][np_argmin(pick(d_.restricted(seg, stips[i][0]), ssegs[j]))];
      auto dloc = [&](int64_t a, int64_t b) { return d_.at(seg[a], seg[b]); };
      std::vector<double> added(3);
      added[0] = dloc(closest[1][0], closest[0][1]) + dloc(closest[2][0], closest[0][2]);
      added[1] = dloc(closest[0][1], closest[1][0]) + dloc(closest[2][1], closest[1][2]);
      added[2] = dloc(closest[1][2], closest[2][1]) + dloc(closest[0][2], closest[2][0]);
      trunk = np_argmin(added);
    }
    // back to global indices; the trunk replaces the segment, the rest are appended
    auto global = [&](const std::vector<int64_t>& local) {
      std::vector<int64_t> g(local.size());
      for (size_t k = 0; k < local.size(); ++k) g[k] = seg[local[k]];
      return g;
    };
    const int64_t n_new = static_cast<int64_t>(ssegs.size());
    s.segs[iseg] = global(ssegs[trunk]);
    s.tips[iseg] = {seg[stips[trunk][0]], seg[stips[trunk][1]]};
    for (int64_t k = 0; k < n_new; ++k) {
      if (k == trunk) continue;
      s.segs.push_back(global(ssegs[k]));
      s.tips.push_back({seg[stips[k][0]], seg[stips[k][1]]});
    }
    if (n_new == 4) s.undecided[iseg] = true;
    for (int64_t k = 0; k < n_new - 1; ++k) s.undecided.push_back(false);
  }

 private:
  DptDistanceRows& d_;
  int64_t min_group_size_;
  bool allow_shift_;
};

}  // namespace

double kendall_tau_b(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) throw ValueError("kendall tau: the sequences differ in length");
  const int64_t n = static_cast<int64_t>(a.size());
  if (n == 0) return std::nan("");
  for (int64_t i = 0; i < n; ++i)
    if (std::isnan(a[i]) || std::isnan(b[i])) return std::nan("");
  // scipy's integer pair counts, then tau_b = (con - dis) / sqrt(tot - xtie) / sqrt(tot - ytie)
  int64_t con_minus_dis = 0, xtie = 0, ytie = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      const int sa = sign(a[j] - a[i]), sb = sign(b[j] - b[i]);
      con_minus_dis += sa * sb;
      xtie += a[j] == a[i];
      ytie += b[j] == b[i];
    }
  const int64_t tot = n * (n - 1) / 2;
  if (xtie == tot || ytie == tot) return std::nan("");
  const double tau = static_cast<double>(con_minus_dis) / std::sqrt(static_cast<double>(tot - xtie)) /
                     std::sqrt(static_cast<double>(tot - ytie));
  return std::min(1.0, std::max(-1.0, tau));
}

int64_t kendall_tau_split(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) throw ValueError("dpt: kendall_tau_split needs sequences of equal length");
  constexpr int64_t kMinLength = 5;
  const int64_t n = static_cast<int64_t>(a.size());
  if (n - kMinLength - 1 <= kMinLength)
    throw ValueError("dpt: a segment of " + std::to_string(n) +
                     " cells is too small to detect a branching (Scanpy fails here too)");
  double pos_old = kendall_tau_b(a.subspan(0, kMinLength), b.subspan(0, kMinLength));
  double neg_old = kendall_tau_b(a.subspan(kMinLength), b.subspan(kMinLength));
  std::vector<double> corr;
  corr.reserve(static_cast<size_t>(n - 2 * kMinLength - 1));
  for (int64_t i = kMinLength; i < n - kMinLength - 1; ++i) {
    // concordance of the pairs (j, i) for j before / from i
    int64_t diff_pos = 0, diff_neg = 0;
    for (int64_t j = 0; j < i; ++j) diff_pos += sign(a[j] - a[i]) * sign(b[j] - b[i]);
    for (int64_t j = i; j < n; ++j) diff_neg += sign(a[j] - a[i]) * sign(b[j] - b[i]);
    // Scanpy's incremental updates (_kendall_tau_add / _kendall_tau_subtract)
    const double li = static_cast<double>(i);
    const double pos = pos_old + 2.0 / (li + 1) * (static_cast<double>(diff_pos) / li - pos_old);
    const double ln = static_cast<double>(n - i);
    const double neg = neg_old + 2.0 / (ln - 2) * (-static_cast<double>(diff_neg) / (ln - 1) + neg_old);
    pos_old = pos;
    neg_old = neg;
    corr.push_back(pos - neg);
  }
  return kMinLength + np_argmax(corr);
}

DptBranching dpt_branchings(const Array& eigen_basis, const Array& eigen_values, std::optional<int64_t> root,
                            std::span<const float> pseudotime, std::span<const int32_t> component_labels,
                            const DptBranchingOptions& opt) {
  const int64_t n = eigen_basis.ndim() == 2 ? eigen_basis.rows() : 0;
  if (n == 0) throw ValueError("dpt: no cells to detect branchings on");
  if (opt.n_branchings < 1) throw ValueError("dpt: n_branchings must be >= 1 to detect branchings");
  if (!(opt.min_group_size >= 0)) throw ValueError("dpt: min_group_size must be >= 0");
  if (root && !pseudotime.empty() && static_cast<int64_t>(pseudotime.size()) != n)
    throw ValueError("dpt: the pseudotime does not match the number of cells");
  const int64_t min_group_size = opt.min_group_size >= 1
                                     ? static_cast<int64_t>(opt.min_group_size)
                                     : static_cast<int64_t>(opt.min_group_size * static_cast<double>(n));
  DptDistanceRows d(eigen_basis, eigen_values, component_labels);
  Brancher brancher(d, min_group_size, opt.allow_kendall_tau_shift);

  Segments s;
  std::vector<int64_t> all(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) all[i] = i;
  const int64_t tip0 = np_argmax(d.row(root.value_or(0)));
  const int64_t tip1 = np_argmax(d.row(tip0));
  s.segs.push_back(all);
  s.tips.push_back({tip0, tip1});
  s.undecided.push_back(true);
  for (int ib = 0; ib < opt.n_branchings; ++ib) {
    const auto chosen = brancher.select_segment(s);
    if (!chosen) break;  // partitioning converged
    brancher.detect_branching(s, chosen->first, chosen->second);
  }

  DptBranching out;
  out.n_groups = static_cast<int32_t>(s.segs.size());
  out.groups.assign(static_cast<size_t>(n), 0);
  for (int32_t k = 0; k < out.n_groups; ++k)
    for (int64_t c : s.segs[k]) out.groups[c] = k;
  out.tips = s.tips;
  const bool have_pt = root.has_value() && !pseudotime.empty();
  if (have_pt) {
    for (auto& t : out.tips) {
      if (t[0] == -1) continue;
      const auto o = numpy_argsort({static_cast<double>(pseudotime[t[0]]), static_cast<double>(pseudotime[t[1]])});
      t = {t[o[0]], t[o[1]]};
    }
  }
  // order by segment (numpy's unstable argsort), then by pseudotime inside each
  std::vector<int64_t> indices = numpy_argsort(std::vector<double>(out.groups.begin(), out.groups.end()));
  for (int64_t k = 0; k + 1 < n; ++k)
    if (out.groups[indices[k + 1]] - out.groups[indices[k]] == 1) out.changepoints.push_back(k + 1);
  if (have_pt) {
    for (int32_t g = 0; g < out.n_groups; ++g) {
      std::vector<int64_t> positions;
      for (int64_t k = 0; k < n; ++k)
        if (out.groups[indices[k]] == g) positions.push_back(k);
      std::vector<double> pt(positions.size());
      std::vector<int64_t> cells(positions.size());
      for (size_t k = 0; k < positions.size(); ++k) {
        cells[k] = indices[positions[k]];
        pt[k] = pseudotime[cells[k]];
      }
      const std::vector<int64_t> o = numpy_argsort(pt);
      for (size_t k = 0; k < positions.size(); ++k) indices[positions[k]] = cells[o[k]];
    }
  }
  out.order_indices = indices;
  out.order.assign(static_cast<size_t>(n), 0);
  for (int64_t k = 0; k < n; ++k) out.order[indices[k]] = k;
  return out;
}

}  // namespace scanpp::tl
