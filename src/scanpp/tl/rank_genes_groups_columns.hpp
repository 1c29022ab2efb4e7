#pragma once
// Gene-wise access to a cells x genes matrix for tl.rank_genes_groups. Every
// statistic of the ranking is a per-gene quantity, so the work is cut into
// fixed blocks of genes: each block's non-zero entries are gathered (in cell
// order) from CSR, CSC or dense storage, and blocks run in parallel with
// results that do not depend on the thread count.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <span>
#include <vector>

#include "scanpp/core/element.hpp"

namespace scanpp::tl::detail {

// The non-zero entries of genes [first, first + n_genes()), gene by gene,
// cells increasing within a gene.
struct ColumnBlock {
  int64_t first = 0;
  std::vector<int64_t> ptr;     // n_genes() + 1 offsets into cells/values
  std::vector<int32_t> cells;
  std::vector<double> values;
  int64_t n_genes() const { return static_cast<int64_t>(ptr.size()) - 1; }
};

// A float32 value and a group packed in one 64-bit key whose unsigned order
// is the value order (value bits above, group below), and back.
inline uint64_t pack_key(float value, int32_t group) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint32_t key = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
  return (static_cast<uint64_t>(key) << 32) | static_cast<uint32_t>(group);
}
inline float key_value(uint64_t k) {
  const uint32_t key = static_cast<uint32_t>(k >> 32);
  return std::bit_cast<float>((key & 0x80000000u) ? (key & 0x7FFFFFFFu) : ~key);
}
inline int32_t key_group(uint64_t k) { return static_cast<int32_t>(static_cast<uint32_t>(k)); }

// The non-zeros of genes [first, first + n_genes()) as packed keys (float32
// data only), gene by gene, cells increasing within a gene.
struct KeyBlock {
  std::vector<int64_t> ptr;
  std::vector<uint64_t> keys;
};

// Reads gene blocks from a matrix held elsewhere (it must outlive this).
class ColumnSource {
 public:
  // x: 2-D Array or SparseMatrix of a numeric dtype. Throws ValueError otherwise.
  explicit ColumnSource(const Element& x);
  int64_t n_cells() const { return n_cells_; }
  int64_t n_genes() const { return n_genes_; }
  // The stored values are float32 (Scanpy squares them in float32).
  bool is_float32() const { return float32_; }
  // Fills `out` with the non-zeros of genes [a, b); thread-safe.
  void extract(int64_t a, int64_t b, ColumnBlock& out) const;
  // The same entries as keys pack_key(value, group[cell]) (is_float32()
  // only): half the bytes of a ColumnBlock and no per-entry look-up of the
  // cell's group later. scratch is reused between calls.
  void extract_keys(int64_t a, int64_t b, std::span<const int32_t> group, KeyBlock& out, ColumnBlock& scratch) const;
  // Genes per parallel block: depends on the matrix shape only (never on the
  // thread count). Large blocks keep the per-row binary searches of a CSR
  // matrix (one cache miss per row and block) rare; 32 blocks keep threads busy.
  int64_t block_size() const { return std::clamp<int64_t>((n_genes_ + 31) / 32, 64, 1024); }

 private:
  void index_blocks();
  const Array* dense_ = nullptr;
  const SparseMatrix* sparse_ = nullptr;
  bool sorted_ = true;
  bool float32_ = false;
  // CSR with sorted indices: non-zeros per gene as a prefix sum, and for each
  // row where each gene block starts (n_rows x (n_blocks + 1) offsets), so
  // that a block is gathered in one pass without searching the rows.
  std::vector<int64_t> col_start_;
  std::vector<int64_t> cuts_;
  int64_t n_blocks_ = 0;  // CSR minor indices sorted within each row
  int64_t n_cells_ = 0, n_genes_ = 0;
};

}  // namespace scanpp::tl::detail
