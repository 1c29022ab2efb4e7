#include "scanpp/io/deflate_chunks.hpp"

#include <libdeflate.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "scanpp/core/parallel.hpp"
#include "scanpp/io/huffman_deflate.hpp"

namespace scanpp::h5 {

// One per level: the chunk probe runs at level 4 beside the level asked.
libdeflate_compressor* thread_compressor(int level) {
  struct Free {
    void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
  };
  thread_local std::array<std::unique_ptr<libdeflate_compressor, Free>, 10> c;
  auto& slot = c[static_cast<size_t>(level)];
  if (!slot) {
    slot.reset(libdeflate_alloc_compressor(level));
    if (!slot) throw std::bad_alloc();
  }
  return slot.get();
}

namespace {

// Compressed chunks held between compressing (in parallel) and writing
// (HDF5 is not thread-safe, so one thread talks to it) are bounded by this.
constexpr size_t kBatchBytes = size_t{64} << 20;

// The chunk grid of a dataset.
struct Geometry {
  int rank = 0;
  std::vector<hsize_t> dims, chunk, grid;  // grid[k] = number of chunks along axis k
  size_t elem = 0;                         // bytes per element
  size_t chunk_elems = 1;
  int64_t n_chunks = 0;
  // Chunks span every axis but the first, so each chunk is one contiguous
  // run of the row-major array (how scanpp chunks; h5py may cut any axis).
  bool row_chunks = false;
  size_t row_bytes = 0;  // bytes of one index along axis 0 (row_chunks only)

  size_t chunk_bytes() const { return chunk_elems * elem; }
  void offset(int64_t c, hsize_t* off) const {
    for (int k = rank - 1; k >= 0; --k) {
      off[k] = static_cast<hsize_t>(c % static_cast<int64_t>(grid[k])) * chunk[k];
      c /= static_cast<int64_t>(grid[k]);
    }
  }
  bool is_full(const hsize_t* off) const {
    for (int k = 0; k < rank; ++k)
      if (off[k] + chunk[k] > dims[k]) return false;
    return true;
  }
};

std::optional<Geometry> geometry(hid_t dset, hid_t dcpl, size_t elem) {
  if (H5Pget_layout(dcpl) != H5D_CHUNKED) return std::nullopt;
  Handle space(H5Dget_space(dset));
  if (H5Sget_simple_extent_type(space) != H5S_SIMPLE) return std::nullopt;
  Geometry g;
  g.rank = H5Sget_simple_extent_ndims(space);
  if (g.rank < 1 || g.rank > H5S_MAX_RANK) return std::nullopt;
  g.dims.resize(static_cast<size_t>(g.rank));
  g.chunk.resize(static_cast<size_t>(g.rank));
  g.grid.resize(static_cast<size_t>(g.rank));
  H5Sget_simple_extent_dims(space, g.dims.data(), nullptr);
  if (H5Pget_chunk(dcpl, g.rank, g.chunk.data()) != g.rank) return std::nullopt;
  g.elem = elem;
  g.n_chunks = 1;
  g.row_chunks = true;
  size_t row = elem;
  for (int k = 0; k < g.rank; ++k) {
    if (g.chunk[k] == 0) return std::nullopt;
    g.grid[k] = (g.dims[k] + g.chunk[k] - 1) / g.chunk[k];
    g.n_chunks *= static_cast<int64_t>(g.grid[k]);
    g.chunk_elems *= static_cast<size_t>(g.chunk[k]);
    if (k > 0) {
      g.row_chunks = g.row_chunks && g.chunk[k] == g.dims[k];
      row *= static_cast<size_t>(g.dims[k]);
    }
  }
  g.row_bytes = row;
  // HDF5 limits a chunk to 4 GiB.
  if (g.chunk_bytes() >= (size_t{1} << 32)) return std::nullopt;
  return g;
}

// Row-major strides, in elements, of the whole array (astr) and of one
// chunk (cstr).
void element_strides(const Geometry& g, hsize_t* astr, hsize_t* cstr) {
  const int r = g.rank;
  astr[r - 1] = cstr[r - 1] = 1;
  for (int k = r - 2; k >= 0; --k) {
    astr[k] = astr[k + 1] * g.dims[k + 1];
    cstr[k] = cstr[k + 1] * g.chunk[k + 1];
  }
}

// Steps idx over the runs of a chunk (every axis but the last, odometer
// order); false after the last run.
bool next_run(hsize_t* idx, const hsize_t* ext, int r) {
  for (int k = r - 2; k >= 0; --k) {
    if (++idx[k] < ext[k]) return true;
    idx[k] = 0;
  }
  return false;
}

// Copies the part of the chunk at `off` that lies inside the row-major array
// `arr` into the chunk buffer `buf` (full chunk shape).
void gather_chunk(const Geometry& g, const hsize_t* off, const std::byte* arr, std::byte* buf) {
  const int r = g.rank;
  hsize_t ext[H5S_MAX_RANK];
  for (int k = 0; k < r; ++k) ext[k] = std::min(g.chunk[k], g.dims[k] - off[k]);
  if (g.row_chunks) {
    std::memcpy(buf, arr + off[0] * g.row_bytes, ext[0] * g.row_bytes);
    return;
  }
  // Strides in elements, then an odometer over every axis but the last.
  hsize_t astr[H5S_MAX_RANK], cstr[H5S_MAX_RANK], idx[H5S_MAX_RANK] = {};
  element_strides(g, astr, cstr);
  const size_t run = ext[r - 1] * g.elem;
  while (true) {
    hsize_t ai = off[r - 1], ci = 0;
    for (int k = 0; k < r - 1; ++k) {
      ai += (off[k] + idx[k]) * astr[k];
      ci += idx[k] * cstr[k];
    }
    std::memcpy(buf + ci * g.elem, arr + ai * g.elem, run);
    if (!next_run(idx, ext, r)) break;
  }
}

// HDF5's shuffle filter stores byte j of every element together; this puts
// them back (element size s, n bytes; a remainder that is not a whole element
// stays at the end).
void unshuffle(const std::byte* in, std::byte* out, size_t n, size_t s) {
  const size_t count = n / s;
  for (size_t j = 0; j < s; ++j) {
    const std::byte* src = in + j * count;
    for (size_t i = 0; i < count; ++i) out[i * s + j] = src[i];
  }
  std::memcpy(out + count * s, in + count * s, n - count * s);
}

// A growable byte buffer that does not zero what it does not need to.
struct Buffer {
  std::unique_ptr<std::byte[]> p;
  size_t cap = 0, size = 0;
  std::byte* reserve(size_t n) {
    if (n > cap) {
      p.reset(new std::byte[n]);
      cap = n;
    }
    return p.get();
  }
};

// Per-thread buffers: 0 gathers a chunk, 1 holds the probe's output, 2 a
// shuffled chunk.
Buffer& scratch(int which) {
  thread_local Buffer b[3];
  return b[which];
}

// The inverse of unshuffle: byte j of every element together, as HDF5's
// shuffle filter stores them.
void shuffle_bytes(const std::byte* in, std::byte* out, size_t n, size_t s) {
  const size_t count = n / s;
  for (size_t j = 0; j < s; ++j) {
    std::byte* dst = out + j * count;
    for (size_t i = 0; i < count; ++i) dst[i] = in[i * s + j];
  }
  std::memcpy(out + count * s, in + count * s, n - count * s);
}

struct DecompressorFree {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

// One decompressor per thread, kept for the life of the thread.
libdeflate_decompressor* decompressor() {
  thread_local std::unique_ptr<libdeflate_decompressor, DecompressorFree> d;
  if (!d) {
    d.reset(libdeflate_alloc_decompressor());
    if (!d) throw std::bad_alloc();
  }
  return d.get();
}

// f(i) for i in [0, n) on scanpp's threads; the exception of the lowest
// failing i is rethrown afterwards (exceptions must not leave an OpenMP region).
template <class F>
void parallel_chunks(int64_t n, F&& f) {
  std::mutex m;
  std::exception_ptr first;
  int64_t first_i = std::numeric_limits<int64_t>::max();
  parallel_blocks(n, 1, [&](int64_t a, int64_t) {
    try {
      f(a);
    } catch (...) {
      std::lock_guard<std::mutex> lock(m);
      if (a < first_i) {
        first_i = a;
        first = std::current_exception();
      }
    }
  });
  if (first) std::rethrow_exception(first);
}

struct Filters {
  bool ok = false;
  bool shuffle = false;
  int deflate_index = 0;  // position in the pipeline, for the chunk's filter mask
  size_t shuffle_elem = 0;
};

Filters filters_of(hid_t dcpl) {
  Filters f;
  const int n = H5Pget_nfilters(dcpl);
  if (n < 1 || n > 2) return f;
  H5Z_filter_t ids[2];
  size_t shuffle_elem = 0;
  for (int i = 0; i < n; ++i) {
    unsigned flags = 0, config = 0;
    unsigned cd[8] = {};
    size_t ncd = 8;
    ids[i] = H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &ncd, cd, 0, nullptr, &config);
    if (ids[i] == H5Z_FILTER_SHUFFLE && ncd >= 1) shuffle_elem = cd[0];
  }
  if (n == 1 && ids[0] == H5Z_FILTER_DEFLATE) {
    f.ok = true;
  } else if (n == 2 && ids[0] == H5Z_FILTER_SHUFFLE && ids[1] == H5Z_FILTER_DEFLATE) {
    f.ok = true;
    f.shuffle = true;
    f.deflate_index = 1;
    f.shuffle_elem = shuffle_elem;
  }
  return f;
}

bool plain_number(hid_t type) {
  const H5T_class_t c = H5Tget_class(type);
  return c == H5T_INTEGER || c == H5T_FLOAT;
}

// Whether a value of this type is stored in the chunk itself (numbers,
// fixed strings and records of them), not as references into HDF5's heap.
bool fixed_layout(hid_t type) {
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
    case H5T_FLOAT:
    case H5T_ENUM:
    case H5T_BITFIELD: return true;
    case H5T_STRING: return H5Tis_variable_str(type) <= 0;
    case H5T_COMPOUND: {
      const int n = H5Tget_nmembers(type);
      for (int i = 0; i < n; ++i) {
        Handle m(H5Tget_member_type(type, static_cast<unsigned>(i)));
        if (!fixed_layout(m)) return false;
      }
      return n >= 0;
    }
    default: return false;
  }
}

// Whether a chunk should skip LZ77 matching (io/huffman_deflate). On dense
// floats (scaled X, embeddings, fold changes) matching finds nothing, and
// libdeflate spends ~90% of its time looking: Huffman-only coding gives the
// same size (0.1% smaller on PBMC's X) ~10x faster. Integers, counts, strings
// and sorted or clipped values gain 2-8x from matching and keep it.
// The probe compresses three 16 KiB slices spread over the chunk both ways
// and takes Huffman-only only where matching saved nothing at all. A looser
// rule ("saves under 2-3%") would cost real size: on float64 values made
// from float32 (kNN distances) the probe sees a 0.3% gain where the whole
// chunk, with longer histories, gains 1.8%; and on inhomogeneous records
// (rank_genes_groups pvals) slices can miss most of a 40% gain.
// The probe runs at level 4 whatever the level asked: it only has to tell
// "matching helps" from "it does not" (level 1's greedy parser sits at a
// tie on dense floats, levels 5-9 are slower and tell the same). So every
// level 1-9 makes the same choice, from the chunk's bytes alone: the file
// never depends on the thread count or on how chunks were batched. Level 0
// stays stored, as asked; chunks under kProbeMinChunk always use libdeflate
// (the probe would cost as much as compressing, and they are a small part of
// any file).
constexpr size_t kProbeMinChunk = size_t{128} << 10;
constexpr size_t kProbeSlice = size_t{16} << 10;
constexpr size_t kProbeSlices = 3;
constexpr int kProbeLevel = 4;

bool huffman_suffices(const std::byte* src, size_t n, int level) {
  if (level == 0 || n < kProbeMinChunk) return false;
  libdeflate_compressor* c = thread_compressor(kProbeLevel);
  const size_t cap = libdeflate_zlib_compress_bound(c, kProbeSlice);
  std::byte* tmp = scratch(1).reserve(cap);
  size_t lz = 0, huff = 0;
  for (size_t s = 0; s < kProbeSlices; ++s) {
    const size_t off = (n - kProbeSlice) / (kProbeSlices - 1) * s;
    lz += libdeflate_zlib_compress(c, src + off, kProbeSlice, tmp, cap);
    huff += io::huffman_zlib_size(src + off, kProbeSlice);
    // Matching already saves 5%: the other slices could not make up for that
    // (where it finds nothing it costs ~0.2% more), so counts and indices
    // pay for one slice, not three (~1.5% of their compression time).
    if (lz * 20 < huff * 19) return false;
  }
  return lz >= huff;
}

// Compresses one chunk into `o`; a chunk deflate would not shrink is kept as
// it is, with the filter's bit set in the returned mask, as HDF5 does when an
// optional filter fails; every HDF5 reader honours the mask.
uint32_t compress_chunk(const std::byte* src, size_t n, int level, int deflate_index, Buffer& o) {
  std::byte* dst = o.reserve(n);
  if (huffman_suffices(src, n, level)) o.size = io::huffman_zlib_compress(src, n, dst, n);
  else o.size = libdeflate_zlib_compress(thread_compressor(level), src, n, dst, n);
  if (o.size != 0) return 0;
  std::memcpy(dst, src, n);
  o.size = n;
  return 1u << deflate_index;
}

// Compresses chunk c of the row-major array `arr` into `o`: gathered (or
// read in place when it is one whole run of the array), zero-padded at the
// edges, shuffled if the dataset shuffles, then deflated. Touches no HDF5
// state, so any thread may run it.
uint32_t deflate_one_chunk(const Geometry& g, const Filters& fl, const std::byte* arr, int64_t c, int level, Buffer& o) {
  const size_t cbytes = g.chunk_bytes();
  hsize_t off[H5S_MAX_RANK];
  g.offset(c, off);
  const std::byte* src;
  if (g.row_chunks && g.is_full(off)) {
    src = arr + off[0] * g.row_bytes;  // compress straight from the caller's array
  } else {
    std::byte* s = scratch(0).reserve(cbytes);
    if (!g.is_full(off)) std::memset(s, 0, cbytes);
    gather_chunk(g, off, arr, s);
    src = s;
  }
  if (fl.shuffle && fl.shuffle_elem > 1) {
    std::byte* t = scratch(2).reserve(cbytes);
    shuffle_bytes(src, t, cbytes, fl.shuffle_elem);
    src = t;
  }
  return compress_chunk(src, cbytes, level, fl.deflate_index, o);
}

// The chunk grid and filters of a dataset write_deflate_chunks can fill.
std::pair<Geometry, Filters> writable_layout(hid_t dset, size_t elem_size, int level, const char* who) {
  if (level < 0 || level > 9) throw ValueError("gzip level must be 0-9, got " + std::to_string(level));
  Handle dcpl(H5Dget_create_plist(dset));
  const auto g = geometry(dset, dcpl, elem_size);
  if (!g) throw Error(std::string(who) + ": the dataset is not chunked (or its chunks exceed 4 GiB)");
  const Filters fl = filters_of(dcpl);
  if (!fl.ok) throw Error(std::string(who) + ": the dataset's filters must be deflate, optionally after shuffle");
  if (fl.shuffle && fl.shuffle_elem != elem_size)
    throw Error(std::string(who) + ": the dataset shuffles elements of another size");
  return {*g, fl};
}

}  // namespace

int deflate_level(hid_t dset) {
  Handle dcpl(H5Dget_create_plist(dset));
  unsigned flags = 0, config = 0, cd[8] = {};
  size_t ncd = 8;
  if (H5Pget_nfilters(dcpl) <= 0) return -1;
  // H5Pget_filter_by_id2 reports a missing filter through HDF5's error stack, which scanpp silences.
  silence_errors();
  if (H5Pget_filter_by_id2(dcpl, H5Z_FILTER_DEFLATE, &flags, &ncd, cd, 0, nullptr, &config) < 0) return -1;
  return ncd >= 1 ? static_cast<int>(cd[0]) : -1;
}

void write_deflate_chunks(hid_t dset, const void* data, size_t elem_size, int level) {
  const auto [g, fl] = writable_layout(dset, elem_size, level, "write_deflate_chunks");
  if (g.n_chunks == 0) return;
  const size_t cbytes = g.chunk_bytes();
  const auto* arr = static_cast<const std::byte*>(data);
  const int64_t batch = std::clamp<int64_t>(static_cast<int64_t>(kBatchBytes / cbytes), 1, g.n_chunks);
  std::vector<Buffer> out(static_cast<size_t>(batch));
  std::vector<uint32_t> mask(static_cast<size_t>(batch));
  for (int64_t b0 = 0; b0 < g.n_chunks; b0 += batch) {
    const int64_t nb = std::min(batch, g.n_chunks - b0);
    parallel_chunks(nb, [&](int64_t i) {
      mask[static_cast<size_t>(i)] = deflate_one_chunk(g, fl, arr, b0 + i, level, out[static_cast<size_t>(i)]);
    });
    for (int64_t i = 0; i < nb; ++i) {
      hsize_t off[H5S_MAX_RANK];
      g.offset(b0 + i, off);
      const Buffer& o = out[static_cast<size_t>(i)];
      if (H5Dwrite_chunk(dset, H5P_DEFAULT, mask[static_cast<size_t>(i)], off, o.size, o.p.get()) < 0)
        throw Error("cannot write a compressed chunk (disk full?)");
    }
  }
}

struct DeflatePipeline::State {
  struct Job {
    Handle dset;
    Geometry g;
    Filters fl;
    const std::byte* data = nullptr;
    int level = 0;
    std::shared_ptr<const void> keep;
    std::vector<Buffer> out;
    std::vector<uint32_t> mask;
    std::vector<uint8_t> done;  // guarded by m
    std::exception_ptr error;   // the first chunk that failed; guarded by m
  };

  std::mutex m;
  std::condition_variable work, done;
  // Queued jobs, oldest first; a job leaves once all its chunks are stored
  // (a deque keeps the others where they are). Jobs are numbered from
  // `first`, the number of jobs gone.
  std::deque<Job> jobs;
  size_t first = 0;
  size_t claim_job = 0;     // the next chunk to compress: job number ...
  int64_t claim_chunk = 0;  // ... and chunk
  int64_t store_chunk = 0;  // the next chunk of jobs.front() to store
  size_t in_flight = 0;     // raw bytes claimed and not yet stored
  size_t queued = 0;        // raw bytes queued and not yet stored (caller's thread only)
  size_t budget = 0;
  bool stop = false;
  std::vector<std::thread> helpers;
  // Output buffers of stored chunks, for the next ones: reused, their pages
  // are not faulted in (and zeroed by the kernel) again for every chunk.
  std::vector<Buffer> spare;

  // Whether a chunk can be claimed; skips past jobs fully claimed. Helpers
  // stay within `budget` bytes of the chunk being stored, so that memory
  // stays bounded however far HDF5's side lags.
  bool claimable() {
    if (claim_job < first) {  // the job it pointed at was fully claimed, and has been stored since
      claim_job = first;
      claim_chunk = 0;
    }
    while (claim_job < first + jobs.size() && claim_chunk >= jobs[claim_job - first].g.n_chunks) {
      ++claim_job;
      claim_chunk = 0;
    }
    return claim_job < first + jobs.size() && (in_flight == 0 || in_flight < budget);
  }

  // Claims the next chunk (lock held), compresses it (lock released), marks it done.
  void compress_next(std::unique_lock<std::mutex>& lk) {
    Job& j = jobs[claim_job - first];
    const int64_t c = claim_chunk++;
    in_flight += j.g.chunk_bytes();
    Buffer& o = j.out[static_cast<size_t>(c)];
    if (!spare.empty()) {
      o = std::move(spare.back());
      spare.pop_back();
    }
    lk.unlock();
    std::exception_ptr err;
    uint32_t mask = 0;
    try {
      mask = deflate_one_chunk(j.g, j.fl, j.data, c, j.level, o);
    } catch (...) {
      err = std::current_exception();
    }
    lk.lock();
    j.mask[static_cast<size_t>(c)] = mask;
    if (err && !j.error) j.error = err;
    j.done[static_cast<size_t>(c)] = 1;
    done.notify_all();
  }

  void helper() {
    std::unique_lock<std::mutex> lk(m);
    while (true) {
      work.wait(lk, [&] { return stop || claimable(); });
      if (stop) return;
      compress_next(lk);
    }
  }
};

DeflatePipeline::DeflatePipeline(int helpers, size_t budget) : s_(std::make_unique<State>()) {
  s_->budget = std::max<size_t>(budget, 1);
  const int n = helpers >= 0 ? helpers : num_threads() - 1;
  for (int i = 0; i < n; ++i) {
    try {
      s_->helpers.emplace_back([st = s_.get()] { st->helper(); });
    } catch (const std::system_error&) {
      break;  // no thread to spare: fewer helpers, the same bytes
    }
  }
}

DeflatePipeline::~DeflatePipeline() {
  {
    std::lock_guard<std::mutex> lk(s_->m);
    s_->stop = true;
  }
  s_->work.notify_all();
  for (auto& t : s_->helpers) t.join();
}

void DeflatePipeline::add(Handle dset, const void* data, size_t elem_size, int level, std::shared_ptr<const void> keep) {
  auto [g, fl] = writable_layout(dset, elem_size, level, "DeflatePipeline");
  if (g.n_chunks == 0) return;
  State::Job j;
  j.dset = std::move(dset);
  j.g = std::move(g);
  j.fl = fl;
  j.data = static_cast<const std::byte*>(data);
  j.level = level;
  j.keep = std::move(keep);
  const size_t n = static_cast<size_t>(j.g.n_chunks);
  j.out.resize(n);
  j.mask.assign(n, 0);
  j.done.assign(n, 0);
  const size_t bytes = n * j.g.chunk_bytes();
  {
    std::lock_guard<std::mutex> lk(s_->m);
    s_->jobs.push_back(std::move(j));
  }
  s_->work.notify_all();
  // Stored at points fixed by the sizes alone, so the file's layout does not
  // depend on how fast the helpers were.
  s_->queued += bytes;
  while (s_->queued > s_->budget && !s_->jobs.empty()) store_next();
}

void DeflatePipeline::finish() {
  while (!s_->jobs.empty()) store_next();
}

void DeflatePipeline::store_next() {
  State& s = *s_;
  std::unique_lock<std::mutex> lk(s.m);
  State::Job& j = s.jobs.front();
  const int64_t c = s.store_chunk;
  // Compress beside the helpers rather than wait for them.
  while (!j.done[static_cast<size_t>(c)]) {
    if (s.claimable()) s.compress_next(lk);
    else s.done.wait(lk);
  }
  if (j.error) std::rethrow_exception(j.error);
  lk.unlock();
  hsize_t off[H5S_MAX_RANK];
  j.g.offset(c, off);
  Buffer& o = j.out[static_cast<size_t>(c)];
  if (H5Dwrite_chunk(j.dset, H5P_DEFAULT, j.mask[static_cast<size_t>(c)], off, o.size, o.p.get()) < 0)
    throw Error("cannot write a compressed chunk (disk full?)");
  const size_t cbytes = j.g.chunk_bytes();
  s.queued -= cbytes;
  std::optional<State::Job> gone;
  lk.lock();
  // Kept for reuse while few; the in-flight budget bounds how many are in use.
  if (o.cap > 0 && s.spare.size() < 8) s.spare.push_back(std::move(o));
  o = Buffer();
  s.in_flight -= cbytes;
  if (++s.store_chunk == j.g.n_chunks) {
    gone.emplace(std::move(j));  // its handle closes outside the lock
    s.jobs.pop_front();
    ++s.first;
    s.store_chunk = 0;
  }
  lk.unlock();
  s.work.notify_all();
}

DeflateAppender::DeflateAppender(hid_t dset, size_t elem_size, int level)
    : dset_(dset), elem_(elem_size), level_(level) {
  if (level < 0 || level > 9) throw ValueError("gzip level must be 0-9, got " + std::to_string(level));
  Handle dcpl(H5Dget_create_plist(dset));
  const auto g = geometry(dset, dcpl, elem_size);
  const Filters fl = filters_of(dcpl);
  if (!g || g->rank != 1 || g->dims[0] != 0 || !fl.ok || fl.shuffle)
    throw Error("DeflateAppender: the dataset must be 1-D, empty, chunked, with deflate as its only filter");
  deflate_index_ = fl.deflate_index;
  chunk_ = static_cast<int64_t>(g->chunk[0]);
  tail_.reserve(static_cast<size_t>(chunk_) * elem_);
}

void DeflateAppender::store(const std::vector<const std::byte*>& chunks, int64_t final_extent) {
  const size_t cbytes = static_cast<size_t>(chunk_) * elem_;
  const int64_t batch = std::max<int64_t>(1, static_cast<int64_t>(kBatchBytes / cbytes));
  std::vector<Buffer> out(static_cast<size_t>(std::min<int64_t>(batch, static_cast<int64_t>(chunks.size()))));
  std::vector<uint32_t> mask(out.size());
  for (size_t b0 = 0; b0 < chunks.size(); b0 += out.size()) {
    const int64_t nb = static_cast<int64_t>(std::min(out.size(), chunks.size() - b0));
    parallel_chunks(nb, [&](int64_t i) {
      mask[static_cast<size_t>(i)] =
          compress_chunk(chunks[b0 + static_cast<size_t>(i)], cbytes, level_, deflate_index_, out[static_cast<size_t>(i)]);
    });
    // The extent must cover a chunk before it is written; the last one sets
    // the final extent first, since shrinking would rewrite the edge chunk.
    hsize_t extent = static_cast<hsize_t>(final_extent >= 0 ? final_extent : (stored_ + nb) * chunk_);
    if (H5Dset_extent(dset_, &extent) < 0) throw Error("cannot extend a dataset (disk full?)");
    for (int64_t i = 0; i < nb; ++i) {
      hsize_t off = static_cast<hsize_t>((stored_ + i) * chunk_);
      const Buffer& o = out[static_cast<size_t>(i)];
      if (H5Dwrite_chunk(dset_, H5P_DEFAULT, mask[static_cast<size_t>(i)], &off, o.size, o.p.get()) < 0)
        throw Error("cannot write a compressed chunk (disk full?)");
    }
    stored_ += nb;
  }
}

void DeflateAppender::append(const void* data, int64_t n) {
  if (n <= 0) return;
  const auto* src = static_cast<const std::byte*>(data);
  const size_t cbytes = static_cast<size_t>(chunk_) * elem_;
  std::vector<const std::byte*> whole;
  int64_t used = 0;
  // Top up the waiting tail first; it is stored with the block's chunks.
  if (!tail_.empty()) {
    const int64_t need = chunk_ - static_cast<int64_t>(tail_.size() / elem_);
    used = std::min(need, n);
    tail_.insert(tail_.end(), src, src + static_cast<size_t>(used) * elem_);
    if (tail_.size() == cbytes) whole.push_back(tail_.data());
  }
  for (; n - used >= chunk_; used += chunk_) whole.push_back(src + static_cast<size_t>(used) * elem_);
  store(whole);
  if (tail_.size() == cbytes) tail_.clear();
  tail_.insert(tail_.end(), src + static_cast<size_t>(used) * elem_, src + static_cast<size_t>(n) * elem_);
  total_ += n;
}

void DeflateAppender::finish() {
  if (!tail_.empty()) {
    tail_.resize(static_cast<size_t>(chunk_) * elem_, std::byte{0});  // padding, as HDF5 pads edge chunks
    store({tail_.data()}, total_);
    tail_.clear();
  }
}

namespace {

// Copies rows [lo, hi) of the chunk at `off` (decompressed, full chunk shape)
// into `out`, which holds rows [r0, ...) of the array.
void scatter_rows(const Geometry& g, const hsize_t* off, const std::byte* chunk, std::byte* out, hsize_t r0,
                  hsize_t lo, hsize_t hi) {
  const int r = g.rank;
  if (g.row_chunks) {
    std::memcpy(out + (lo - r0) * g.row_bytes, chunk + (lo - off[0]) * g.row_bytes, (hi - lo) * g.row_bytes);
    return;
  }
  hsize_t ext[H5S_MAX_RANK], astr[H5S_MAX_RANK], cstr[H5S_MAX_RANK], idx[H5S_MAX_RANK] = {};
  for (int k = 0; k < r; ++k) ext[k] = std::min(g.chunk[k], g.dims[k] - off[k]);
  ext[0] = hi - lo;
  element_strides(g, astr, cstr);
  // Along axis 0 both sides start at row lo; the last axis is one memcpy.
  const size_t run = ext[r - 1] * g.elem;
  while (true) {
    hsize_t ai = (lo - r0 + idx[0]) * astr[0], ci = (lo - off[0] + idx[0]) * cstr[0];
    if (r > 1) {
      ai += off[r - 1];
      for (int k = 1; k < r - 1; ++k) {
        ai += (off[k] + idx[k]) * astr[k];
        ci += idx[k] * cstr[k];
      }
    }
    std::memcpy(out + ai * g.elem, chunk + ci * g.elem, run);
    if (!next_run(idx, ext, r)) break;
  }
}

// Rows [r0, r1) along axis 0 of a deflate dataset into `out`; see read_deflate_chunks.
bool read_rows_impl(hid_t dset, hid_t mem_type, int64_t first, int64_t count, size_t min_bytes, void* out,
                    const Loc& where) {
  Handle dcpl(H5Dget_create_plist(dset));
  if (H5Pget_layout(dcpl) != H5D_CHUNKED) return false;
  const Filters fl = filters_of(dcpl);
  if (!fl.ok) return false;
  Handle ftype(H5Dget_type(dset));
  if (!fixed_layout(ftype)) return false;
  const size_t fsize = H5Tget_size(ftype), msize = H5Tget_size(mem_type);
  // Identical types copy as bytes; numbers of another width or byte order
  // are converted by HDF5 afterwards.
  const bool same = H5Tequal(ftype, mem_type) > 0;
  if (!same && !(plain_number(ftype) && plain_number(mem_type))) return false;
  if (fl.shuffle && fl.shuffle_elem != fsize) return false;
  const auto g = geometry(dset, dcpl, fsize);
  if (!g || g->n_chunks == 0) return false;
  const hsize_t r0 = first < 0 ? 0 : static_cast<hsize_t>(first);
  const hsize_t r1 = count < 0 ? g->dims[0] : r0 + static_cast<hsize_t>(count);
  if (r1 > g->dims[0] || r1 <= r0) return false;
  size_t n_elems = static_cast<size_t>(r1 - r0);
  for (int k = 1; k < g->rank; ++k) n_elems *= static_cast<size_t>(g->dims[k]);
  if (n_elems * fsize < min_bytes) return false;

  // The chunks that hold those rows: a band of the grid along axis 0.
  int64_t per_band = 1;
  for (int k = 1; k < g->rank; ++k) per_band *= static_cast<int64_t>(g->grid[k]);
  const int64_t c_first = static_cast<int64_t>(r0 / g->chunk[0]) * per_band;
  const int64_t c_end = static_cast<int64_t>((r1 - 1) / g->chunk[0] + 1) * per_band;
  const int64_t n_read = c_end - c_first;

  // Where each chunk is, checked before anything is read: a chunk never
  // written (fill value) is left to H5Dread.
  std::vector<hsize_t> stored(static_cast<size_t>(n_read));
  for (int64_t i = 0; i < n_read; ++i) {
    hsize_t off[H5S_MAX_RANK];
    g->offset(c_first + i, off);
    unsigned m = 0;
    haddr_t addr = HADDR_UNDEF;
    hsize_t size = 0;
    if (H5Dget_chunk_info_by_coord(dset, off, &m, &addr, &size) < 0 || addr == HADDR_UNDEF || size == 0) return false;
    stored[static_cast<size_t>(i)] = size;
  }

  // Decompressed values land in the file's type; HDF5 converts them after.
  std::unique_ptr<std::byte[]> tmp;
  std::byte* dst = static_cast<std::byte*>(out);
  if (!same && msize < fsize) {
    tmp.reset(new std::byte[n_elems * fsize]);
    dst = tmp.get();
  }
  const size_t cbytes = g->chunk_bytes();
  std::vector<Buffer> in;
  std::vector<uint32_t> masks;
  for (int64_t b0 = 0; b0 < n_read;) {
    // A batch of stored chunks up to kBatchBytes (at least one).
    int64_t b1 = b0;
    size_t bytes = 0;
    while (b1 < n_read && (b1 == b0 || bytes + stored[static_cast<size_t>(b1)] <= kBatchBytes))
      bytes += stored[static_cast<size_t>(b1++)];
    const int64_t nb = b1 - b0;
    if (static_cast<int64_t>(in.size()) < nb) in.resize(static_cast<size_t>(nb));
    masks.assign(static_cast<size_t>(nb), 0);
    for (int64_t i = 0; i < nb; ++i) {
      hsize_t off[H5S_MAX_RANK];
      g->offset(c_first + b0 + i, off);
      Buffer& b = in[static_cast<size_t>(i)];
      b.size = stored[static_cast<size_t>(b0 + i)];
      if (H5Dread_chunk(dset, H5P_DEFAULT, off, &masks[static_cast<size_t>(i)], b.reserve(b.size)) < 0)
        where.fail("cannot read a chunk (truncated or corrupt file?)");
    }
    parallel_chunks(nb, [&](int64_t i) {
      const int64_t c = c_first + b0 + i;
      hsize_t off[H5S_MAX_RANK];
      g->offset(c, off);
      const hsize_t lo = std::max(off[0], r0), hi = std::min({off[0] + g->chunk[0], g->dims[0], r1});
      const Buffer& b = in[static_cast<size_t>(i)];
      const uint32_t m = masks[static_cast<size_t>(i)];
      const bool deflated = !(m & (1u << fl.deflate_index));
      const bool shuffled = fl.shuffle && !(m & 1u) && fsize > 1;
      // A whole chunk of a row-chunked dataset goes straight to its place.
      const bool direct = g->row_chunks && g->is_full(off) && lo == off[0] && hi == off[0] + g->chunk[0] && !shuffled;
      std::byte* target = direct ? dst + (off[0] - r0) * g->row_bytes : scratch(0).reserve(cbytes);
      if (deflated) {
        size_t got = 0;
        if (libdeflate_zlib_decompress(decompressor(), b.p.get(), b.size, target, cbytes, &got) != LIBDEFLATE_SUCCESS ||
            got != cbytes)
          where.fail("chunk " + std::to_string(c) + " is not a valid deflate stream of the chunk's size (corrupt file?)");
      } else {
        if (b.size != cbytes) where.fail("chunk " + std::to_string(c) + " has the wrong size (corrupt file?)");
        std::memcpy(target, b.p.get(), cbytes);
      }
      if (direct) return;
      const std::byte* chunk = target;
      if (shuffled) {
        std::byte* u = scratch(1).reserve(cbytes);
        unshuffle(target, u, cbytes, fsize);
        chunk = u;
      }
      scatter_rows(*g, off, chunk, dst, r0, lo, hi);
    });
    b0 = b1;
  }
  if (!same) {
    if (H5Tconvert(ftype, mem_type, n_elems, dst, nullptr, H5P_DEFAULT) < 0)
      where.fail("cannot convert the stored values to the type asked for");
    if (tmp) std::memcpy(out, dst, n_elems * msize);
  }
  return true;
}

}  // namespace

bool read_deflate_chunks(hid_t dset, hid_t mem_type, void* out, const Loc& where) {
  return read_rows_impl(dset, mem_type, -1, -1, 0, out, where);
}

bool read_deflate_rows(hid_t dset, hid_t mem_type, int64_t start, int64_t count, void* out, const Loc& where) {
  // A small read is left to HDF5, whose chunk cache serves neighbouring
  // small reads from one decompression.
  return read_rows_impl(dset, mem_type, start, count, size_t{256} << 10, out, where);
}

}  // namespace scanpp::h5
