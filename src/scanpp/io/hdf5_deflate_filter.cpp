#include "scanpp/io/hdf5_deflate_filter.hpp"

#include <hdf5.h>
#include <libdeflate.h>

#include <new>

#include "scanpp/io/deflate_chunks.hpp"

// HDF5's internal registration and its built-in deflate class, as 1.10 to
// 1.14 declare them (H5Zprivate.h). Weak: a build without them still links,
// and HDF5 keeps zlib. Resolved in the HDF5 scanpp is linked to, statically
// or not, never in another copy loaded in the process.
extern "C" {
herr_t H5Z_register(const H5Z_class2_t* cls) __attribute__((weak));
extern const H5Z_class2_t H5Z_DEFLATE[1] __attribute__((weak));
}

namespace scanpp::h5 {

namespace {

// HDF5's own deflate filter, kept for decompression (zlib's inflate, exactly
// as before: reads do not change).
H5Z_func_t g_hdf5_deflate = nullptr;

// The H5Z_func_t contract: on compression, replace *buf (allocated by HDF5)
// with a new buffer of *buf_size bytes holding the result and return its
// length; 0 reports failure (for an optional filter, as deflate is, HDF5
// then stores the chunk unfiltered and flags it in the chunk's mask).
size_t libdeflate_filter(unsigned flags, size_t cd_nelmts, const unsigned cd_values[], size_t nbytes,
                         size_t* buf_size, void** buf) {
  if (flags & H5Z_FLAG_REVERSE) return g_hdf5_deflate(flags, cd_nelmts, cd_values, nbytes, buf_size, buf);
  if (cd_nelmts != 1 || cd_values[0] > 9) return 0;
  libdeflate_compressor* c = nullptr;
  try {  // nothing may be thrown through HDF5's C code
    c = thread_compressor(static_cast<int>(cd_values[0]));
  } catch (const std::bad_alloc&) {
    return 0;
  }
  const size_t cap = libdeflate_zlib_compress_bound(c, nbytes);
  void* out = H5allocate_memory(cap, false);
  if (!out) return 0;
  const size_t n = libdeflate_zlib_compress(c, *buf, nbytes, out, cap);
  if (n == 0) {
    H5free_memory(out);
    return 0;
  }
  H5free_memory(*buf);
  *buf = out;
  *buf_size = cap;
  return n;
}

bool install() {
  if (H5open() < 0) return false;  // HDF5 registers its built-in filters here
  // The internal signatures are trusted only on the releases known to have them.
  unsigned major = 0, minor = 0, release = 0;
  if (H5get_libversion(&major, &minor, &release) < 0 || major != 1 || minor < 10 || minor > 14) return false;
  const H5Z_class2_t* builtin = H5Z_DEFLATE;
  if (builtin == nullptr || H5Z_register == nullptr || builtin->version != H5Z_CLASS_T_VERS ||
      builtin->id != H5Z_FILTER_DEFLATE || !builtin->filter || !builtin->encoder_present || !builtin->decoder_present)
    return false;
  g_hdf5_deflate = builtin->filter;
  // Everything else as HDF5's own, the name too: files record it.
  static H5Z_class2_t cls;
  cls = *builtin;
  cls.filter = &libdeflate_filter;
  return H5Z_register(&cls) >= 0;
}

}  // namespace

bool use_libdeflate_in_hdf5_deflate_filter() {
  static const bool installed = install();
  return installed;
}

}  // namespace scanpp::h5
