#pragma once
// Per-gene sums over a matrix that arrives in row blocks, added in exactly
// the order pp::detail::column_accumulate uses for the whole matrix in
// memory: rows grouped into chunks of row_block_size(n_total), each chunk
// summed from zero in row order, chunk totals added in chunk order. So a
// backed computation gives the in-memory bits for any block size and any
// thread count (a chunk that straddles two blocks carries its partial sums
// over).
#include <cstdint>
#include <vector>

#include "scanpp/core/parallel.hpp"
#include "scanpp/pp/detail/rows.hpp"

namespace scanpp::pp::backed_detail {

class OrderedColumnSums {
 public:
  // n_total: rows the whole stream will have; width: slots per column * n_cols.
  OrderedColumnSums(int64_t n_total, size_t width)
      : n_(n_total), chunk_(detail::row_block_size(n_total)), width_(width), out_(width, 0.0) {}

  // Adds rows [first, first + m) of the stream (continuing where the previous
  // call stopped): f(local_row, slots) adds one row's contribution.
  template <class RowFn>
  void add_rows(int64_t m, int64_t first, RowFn&& f) {
    if (first != next_) throw Error("OrderedColumnSums: rows must arrive in order");
    const int64_t end = first + m;
    if (end > n_) throw Error("OrderedColumnSums: more rows than announced");
    // Segments of this block cut at chunk boundaries; only the first may continue a chunk.
    std::vector<int64_t> cuts{first};
    for (int64_t c = (first / chunk_ + 1) * chunk_; c < end; c += chunk_) cuts.push_back(c);
    cuts.push_back(end);
    const int64_t nseg = static_cast<int64_t>(cuts.size()) - 1;
    std::vector<std::vector<double>> parts(static_cast<size_t>(nseg));
    const bool continues = first % chunk_ != 0;
    parallel_blocks(nseg, 1, [&](int64_t s, int64_t) {
      std::vector<double> slots;
      if (s == 0 && continues) slots = std::move(carry_);
      else slots.assign(width_, 0.0);
      for (int64_t r = cuts[static_cast<size_t>(s)]; r < cuts[static_cast<size_t>(s) + 1]; ++r) f(r - first, slots.data());
      parts[static_cast<size_t>(s)] = std::move(slots);
    });
    for (int64_t s = 0; s < nseg; ++s) {
      const int64_t seg_end = cuts[static_cast<size_t>(s) + 1];
      auto& part = parts[static_cast<size_t>(s)];
      if (seg_end % chunk_ == 0 || seg_end == n_) {
        for (size_t j = 0; j < width_; ++j) out_[j] += part[j];
      } else {
        carry_ = std::move(part);  // the last segment, unfinished
      }
    }
    next_ = end;
  }

  // Adds the rows of `v` (a detail::CsrRows/DenseRows view of rows
  // [first, first + v.n_rows)) with acc(col, value, slots) per stored value.
  template <class Rows, class Acc>
  void add(const Rows& v, int64_t first, Acc&& acc) {
    add_rows(v.n_rows, first, [&](int64_t r, double* slots) { v.row(r, [&](int64_t c, auto x) { acc(c, x, slots); }); });
  }

  // The sums once every row has been added.
  const std::vector<double>& result() const {
    if (next_ != n_) throw Error("OrderedColumnSums: not every row was added");
    return out_;
  }

 private:
  int64_t n_, chunk_;
  size_t width_;
  int64_t next_ = 0;
  std::vector<double> out_, carry_;
};

}  // namespace scanpp::pp::backed_detail
