#pragma once
// HDF5's own deflate filter, compressing with libdeflate instead of zlib.
//
// scanpp deflates numeric chunks itself (io/deflate_chunks.hpp), but
// variable-length strings can only go through HDF5's filter pipeline: HDF5
// turns each string into a reference to its global heap as it writes, and
// only then are the chunks of references deflated, with zlib, on the one
// thread that talks to HDF5. On the PBMC tutorial's file (rank_genes_groups'
// names, the obs/var string columns) zlib was ~25% of that thread's string
// work; libdeflate at the same level is ~3x faster and gives a standard
// zlib stream of about the same size.
//
// HDF5's public H5Zregister refuses to replace a built-in filter, so this
// uses the library's internal registration (H5Z_register, which replaces an
// entry with the same id) and keeps HDF5's own function for decompression.
// Both symbols are weak references: where they are missing (another HDF5
// build), nothing changes and HDF5 keeps zlib.
namespace scanpp::h5 {

// Installs the filter (once per process; later calls return the first
// answer). Returns whether HDF5 now compresses deflate chunks with libdeflate.
bool use_libdeflate_in_hdf5_deflate_filter();

}  // namespace scanpp::h5
