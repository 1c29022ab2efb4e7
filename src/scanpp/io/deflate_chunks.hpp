#pragma once
// Deflate-compressed chunked datasets, compressed and decompressed on
// scanpp's threads with libdeflate instead of HDF5's filter pipeline (which
// runs zlib on one thread). Chunks travel through HDF5's direct chunk I/O
// (H5Dwrite_chunk / H5Dread_chunk, HDF5 >= 1.10.3) and the datasets carry the
// standard deflate filter, so h5py, anndata and HDF5 itself read them as
// ordinary gzip datasets, and scanpp reads theirs the same way.
#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "scanpp/io/hdf5.hpp"

struct libdeflate_compressor;

namespace scanpp::h5 {

// This thread's libdeflate compressor at `level` (0-9), made on first use
// and kept for the thread's life. Throws std::bad_alloc.
libdeflate_compressor* thread_compressor(int level);

// Fills the whole of `dset` from `data` (row-major, laid out exactly as the
// dataset's type, `elem_size` bytes per element). `dset` must be chunked with
// deflate as its only filter, or shuffle (of `elem_size` bytes) then
// deflate. Each chunk is compressed on its own at `level` (0-9), so the
// stored bytes do not depend on the thread count; partial edge chunks are
// padded with zeros, as HDF5 pads them with the fill value.
// A chunk of 128 KiB or more on which LZ77 matching gains nothing (dense
// floats: a probe of three 16 KiB slices decides, from the chunk's bytes
// alone) is written as literal-only Huffman deflate (io/huffman_deflate.hpp),
// ~10x cheaper for the same size; every other chunk, and every chunk at
// level 0, goes to libdeflate at `level`. Either way it is standard deflate.
void write_deflate_chunks(hid_t dset, const void* data, size_t elem_size, int level);

// Many datasets' chunks compressed on helper threads while the calling
// thread goes on with HDF5, which only one thread may call: creating the
// file's other objects, writing its strings through HDF5's own pipeline. On
// two cores the deflating of the numbers and HDF5's serial work overlap.
// The calling thread stores the chunks, dataset after dataset in the order
// queued, and compresses beside the helpers while it waits for them. Where
// chunks are stored in the file depends only on the datasets' sizes (when
// the queue exceeds its budget, add() stores the oldest first), and each
// chunk's bytes only on its values, exactly as write_deflate_chunks writes
// them: the file's bytes depend neither on the thread count nor on timing.
class DeflatePipeline {
 public:
  // Raw bytes queued but not yet stored beyond which add() stores the
  // oldest chunks before it returns (compressing them beside the helpers);
  // it also bounds the compressed chunks held in memory. On the PBMC
  // tutorial's file, 16 MiB writes as fast as 64 and peaks 15 MB lower
  // (X's compressed chunks would otherwise wait for the end).
  static constexpr size_t kDefaultBudget = size_t{16} << 20;
  // `helpers` threads besides the caller's; -1: scanpp's thread count less one.
  explicit DeflatePipeline(int helpers = -1, size_t budget = kDefaultBudget);
  // Stops the helpers; chunks not yet stored (after an error) are dropped.
  ~DeflatePipeline();
  DeflatePipeline(const DeflatePipeline&) = delete;
  DeflatePipeline& operator=(const DeflatePipeline&) = delete;

  // Queues the whole of `dset`, as write_deflate_chunks(dset, data,
  // elem_size, level) would write it; the pipeline keeps the handle open.
  // `data` must stay valid and unchanged until the chunks are stored (by a
  // later add() or finish()); `keep`, if the data is a temporary, owns it
  // and is released then.
  void add(Handle dset, const void* data, size_t elem_size, int level, std::shared_ptr<const void> keep = {});
  // Stores every queued chunk. Call before the file is closed.
  void finish();

 private:
  struct State;
  void store_next();
  std::unique_ptr<State> s_;
};

// Reads the whole of `dset` into `out` as `mem_type`, if the dataset is
// chunked with deflate, optionally preceded by shuffle, and nothing else; every
// chunk is stored; and its type is either `mem_type` itself with every value
// inside the chunk (numbers, enums, fixed strings, records of these) or a
// number HDF5 can convert to the number `mem_type`. Returns false, having read nothing, for any other
// dataset (other filters, fletcher32, missing chunks, strings, compounds), so
// that the caller falls back to H5Dread. A corrupt chunk is an InputError.
bool read_deflate_chunks(hid_t dset, hid_t mem_type, void* out, const Loc& where);

// Fills a 1-D resizable dataset (chunked, deflate its only filter, extent 0)
// from blocks of any size, as a streaming writer produces them: whole chunks
// are compressed in parallel and stored as they complete, the partial tail
// waits in memory for the next block. The stored chunks depend only on the
// values, not on how they were cut into blocks or on the thread count.
class DeflateAppender {
 public:
  DeflateAppender(hid_t dset, size_t elem_size, int level);
  // Appends n values (elem_size bytes each).
  void append(const void* data, int64_t n);
  // Stores the partial last chunk and sets the final extent. Call once.
  void finish();
  int64_t size() const { return total_; }

 private:
  void store(const std::vector<const std::byte*>& chunks, int64_t final_extent = -1);
  hid_t dset_;
  size_t elem_;
  int level_;
  int deflate_index_ = 0;
  int64_t chunk_ = 0;     // values per chunk
  int64_t stored_ = 0;    // whole chunks already in the file
  int64_t total_ = 0;     // values appended
  std::vector<std::byte> tail_;  // the values after the last whole chunk
};

// Rows [start, start + count) along the first axis, into `out` (row-major,
// shape count x the other axes), under the same conditions; a read under
// 256 KiB is also left to HDF5, whose chunk cache serves runs of small reads.
bool read_deflate_rows(hid_t dset, hid_t mem_type, int64_t start, int64_t count, void* out, const Loc& where);

// The deflate level in a dataset's creation properties, or -1 if it has none.
int deflate_level(hid_t dset);

}  // namespace scanpp::h5
