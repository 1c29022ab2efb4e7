// Wilcoxon rank-sum z-scores for tl.rank_genes_groups. Each gene is ranked
// once (average ranks for ties, 1-based, as scipy's rankdata): only the
// non-zero entries are sorted and the zeros enter as one tie block, so the
// cost is O(nnz log nnz) per gene rather than O(n log n).
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/rank_genes_groups_columns.hpp"
#include "scanpp/tl/rank_genes_groups_stats.hpp"

namespace scanpp::tl {

namespace {

struct Entry {
  double value;
  int32_t group;
};

// Ranks of one gene over a set of n cells of which `entries` are the
// non-zeros: adds each entry's rank to sums[entry.group] and returns the
// average rank of the zero block and the tie term sum(t^3 - t).
struct RankPass {
  double zero_rank = 0;
  double tie_term = 0;
};

RankPass rank_entries(std::vector<Entry>& entries, int64_t n, std::vector<double>& sums) {
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.value < b.value; });
  const int64_t nnz = static_cast<int64_t>(entries.size());
  const int64_t zeros = n - nnz;
  const int64_t neg = std::partition_point(entries.begin(), entries.end(), [](const Entry& e) { return e.value < 0; }) -
                      entries.begin();
  RankPass r;
  r.zero_rank = static_cast<double>(neg) + 0.5 * (static_cast<double>(zeros) + 1);
  const double tz = static_cast<double>(zeros);
  r.tie_term = tz * tz * tz - tz;
  for (int64_t s = 0; s < nnz;) {
    int64_t e = s + 1;
    while (e < nnz && entries[e].value == entries[s].value) ++e;
    const int64_t start = s + (s >= neg ? zeros : 0);
    const double len = static_cast<double>(e - s);
    // scipy: 0.5 * (count[dense] + count[dense - 1] + 1)
    const double rank = 0.5 * (static_cast<double>(start + (e - s)) + static_cast<double>(start) + 1);
    for (int64_t k = s; k < e; ++k) sums[entries[k].group] += rank;
    r.tie_term += len * len * len - len;
    s = e;
  }
  return r;
}

// float32 data (the usual case): value and group packed in one 64-bit key
// whose unsigned order is the value order, so the sort moves 8-byte integers.
uint64_t pack(double value, int32_t group) {
  const uint32_t bits = std::bit_cast<uint32_t>(static_cast<float>(value));
  const uint32_t key = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
  return (static_cast<uint64_t>(key) << 32) | static_cast<uint32_t>(group);
}

// Sorts keys by their upper 32 bits (the value; the order among equal values
// does not matter to the ranks): LSD radix sort in 8-bit digits, skipping
// digits all keys share, for the thousands of non-zeros a gene has in large
// data; std::sort below that.
void sort_by_value(std::vector<uint64_t>& keys, std::vector<uint64_t>& tmp) {
  const size_t n = keys.size();
  if (n < 512) {
    std::sort(keys.begin(), keys.end());
    return;
  }
  std::array<std::array<uint32_t, 256>, 4> count{};
  for (uint64_t k : keys)
    for (int d = 0; d < 4; ++d) ++count[d][(k >> (32 + 8 * d)) & 0xFF];
  tmp.resize(n);
  uint64_t* src = keys.data();
  uint64_t* dst = tmp.data();
  for (int d = 0; d < 4; ++d) {
    auto& c = count[d];
    if (c[(src[0] >> (32 + 8 * d)) & 0xFF] == n) continue;  // one digit value: nothing to do
    uint32_t sum = 0;
    for (auto& v : c) {
      const uint32_t t = v;
      v = sum;
      sum += t;
    }
    for (size_t i = 0; i < n; ++i) dst[c[(src[i] >> (32 + 8 * d)) & 0xFF]++] = src[i];
    std::swap(src, dst);
  }
  if (src != keys.data()) std::copy(src, src + n, keys.data());
}

RankPass rank_packed(std::vector<uint64_t>& keys, std::vector<uint64_t>& tmp, int64_t n, std::vector<double>& sums) {
  sort_by_value(keys, tmp);
  const int64_t nnz = static_cast<int64_t>(keys.size());
  const int64_t zeros = n - nnz;
  // Keys below 0x80000000 << 32 are negative values.
  const int64_t neg = std::lower_bound(keys.begin(), keys.end(), uint64_t{0x80000000u} << 32) - keys.begin();
  RankPass r;
  r.zero_rank = static_cast<double>(neg) + 0.5 * (static_cast<double>(zeros) + 1);
  const double tz = static_cast<double>(zeros);
  r.tie_term = tz * tz * tz - tz;
  for (int64_t s = 0; s < nnz;) {
    const uint64_t v = keys[s] >> 32;
    int64_t e = s + 1;
    while (e < nnz && (keys[e] >> 32) == v) ++e;
    const int64_t start = s + (s >= neg ? zeros : 0);
    const double len = static_cast<double>(e - s);
    const double rank = 0.5 * (static_cast<double>(start + (e - s)) + static_cast<double>(start) + 1);
    for (int64_t k = s; k < e; ++k) sums[static_cast<uint32_t>(keys[k])] += rank;
    r.tie_term += len * len * len - len;
    s = e;
  }
  return r;
}

double tie_factor(double tie_term, int64_t n) {
  const double size = static_cast<double>(n);
  if (n < 2) return 1.0;
  return 1.0 - tie_term / (size * size * size - size);
}

}  // namespace

std::vector<double> wilcoxon_scores(const Element& x, std::span<const int32_t> codes, int n_groups, int reference,
                                    bool tie_correct) {
  detail::ColumnSource src(x);
  if (static_cast<int64_t>(codes.size()) != src.n_cells())
    throw ValueError("rank_genes_groups: one group code per cell is needed");
  if (reference >= n_groups) throw ValueError("rank_genes_groups: reference group out of range");
  const int64_t n_genes = src.n_genes(), n_cells = src.n_cells();
  std::vector<int64_t> sizes(static_cast<size_t>(n_groups), 0);
  for (int32_t c : codes)
    if (c >= 0) ++sizes[c];
  std::vector<double> scores(static_cast<size_t>(n_groups * n_genes), 0.0);
  const bool f32 = src.is_float32();

  parallel_blocks(n_genes, src.block_size(), [&](int64_t a, int64_t b) {
    detail::ColumnBlock blk;
    src.extract(a, b, blk);
    std::vector<Entry> entries;
    std::vector<uint64_t> keys, tmp;
    // Slot n_groups collects cells of no group (only ranked in the vs-rest case).
    std::vector<double> sums(static_cast<size_t>(n_groups + 1));
    std::vector<int64_t> nnz(static_cast<size_t>(n_groups + 1));
    for (int64_t j = a; j < b; ++j) {
      const int64_t lo = blk.ptr[j - a], hi = blk.ptr[j - a + 1];
      if (reference < 0) {
        entries.clear();
        keys.clear();
        std::fill(nnz.begin(), nnz.end(), 0);
        for (int64_t e = lo; e < hi; ++e) {
          const int32_t c = codes[blk.cells[e]];
          const int32_t g = c >= 0 ? c : n_groups;
          if (f32) keys.push_back(pack(blk.values[e], g));
          else entries.push_back({blk.values[e], g});
          ++nnz[g];
        }
        std::fill(sums.begin(), sums.end(), 0.0);
        const RankPass r = f32 ? rank_packed(keys, tmp, n_cells, sums) : rank_entries(entries, n_cells, sums);
        const double tc = tie_correct ? tie_factor(r.tie_term, n_cells) : 1.0;
        const double nc = static_cast<double>(n_cells);
        for (int g = 0; g < n_groups; ++g) {
          const double na = static_cast<double>(sizes[g]);
          const double rank_sum = sums[g] + r.zero_rank * (na - static_cast<double>(nnz[g]));
          const double sd = std::sqrt(tc * na * (nc - na) * (nc + 1) / 12.0);
          double z = (rank_sum - na * (nc + 1) / 2.0) / sd;
          if (std::isnan(z)) z = 0;
          scores[static_cast<size_t>(g * n_genes + j)] = z;
        }
      } else {
        for (int g = 0; g < n_groups; ++g) {
          if (g == reference) continue;
          entries.clear();
          keys.clear();
          std::fill(nnz.begin(), nnz.end(), 0);
          for (int64_t e = lo; e < hi; ++e) {
            const int32_t c = codes[blk.cells[e]];
            if (c == g || c == reference) {
              if (f32) keys.push_back(pack(blk.values[e], c));
              else entries.push_back({blk.values[e], c});
              ++nnz[c];
            }
          }
          std::fill(sums.begin(), sums.end(), 0.0);
          const int64_t n = sizes[g] + sizes[reference];
          const RankPass r = f32 ? rank_packed(keys, tmp, n, sums) : rank_entries(entries, n, sums);
          const double tc = tie_correct ? tie_factor(r.tie_term, n) : 1.0;
          const double na = static_cast<double>(sizes[g]), ma = static_cast<double>(sizes[reference]);
          const double rank_sum = sums[g] + r.zero_rank * (na - static_cast<double>(nnz[g]));
          const double sd = std::sqrt(tc * na * ma * (na + ma + 1) / 12.0);
          double z = (rank_sum - na * ((na + ma + 1) / 2.0)) / sd;
          if (std::isnan(z)) z = 0;
          scores[static_cast<size_t>(g * n_genes + j)] = z;
        }
      }
    }
  });
  return scores;
}

}  // namespace scanpp::tl
