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
#include <vector>

#include "scanpp/io/hdf5.hpp"

namespace scanpp::h5 {

// Fills the whole of `dset` from `data` (row-major, laid out exactly as the
// dataset's type, `elem_size` bytes per element). `dset` must be chunked with
// deflate as its only filter. Each chunk is compressed on its own at `level`
// (0-9), so the stored bytes do not depend on the thread count; partial edge
// chunks are padded with zeros, as HDF5 pads them with the fill value.
// A chunk of 128 KiB or more on which LZ77 matching gains nothing (dense
// floats: a probe of three 16 KiB slices decides, from the chunk's bytes
// alone) is written as literal-only Huffman deflate (io/huffman_deflate.hpp),
// ~10x cheaper for the same size; every other chunk, and every chunk at
// level 0, goes to libdeflate at `level`. Either way it is standard deflate.
void write_deflate_chunks(hid_t dset, const void* data, size_t elem_size, int level);

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
