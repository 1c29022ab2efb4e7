"""h5py/anndata read scanpp's gzip file whose dense X is stored in
literal-only Huffman deflate (tests/huffman_deflate_test.cpp).

  huffman_deflate_interop.py FILE.h5ad X_SCALED.npy COUNTS_CSR.npz

/X must equal X_SCALED exactly and /raw/X the CSR counts, both as h5py reads
them (HDF5's own deflate filter, zlib) and as anndata reads them; /X must
report gzip level 4. Prints "OK ..." or the problems, exiting 1.
"""
import sys

import h5py
import numpy as np
import scipy.sparse as sp


def main(path, x_path, counts_path):
    problems = []
    want_x = np.load(x_path)
    want_c = sp.load_npz(counts_path).tocsr()
    with h5py.File(path, "r") as f:
        x = f["X"]
        if x.compression != "gzip" or x.compression_opts != 4:
            problems.append(f"X: compression {x.compression} {x.compression_opts}")
        got = x[()]
        if got.dtype != want_x.dtype or not np.array_equal(got, want_x):
            problems.append("X: values differ (h5py)")
        for k in ("data", "indices", "indptr"):
            a, b = f["raw/X/" + k][()], getattr(want_c, k)
            if not np.array_equal(a, b):
                problems.append(f"raw/X/{k}: values differ (h5py)")
    import anndata

    ad = anndata.read_h5ad(path)
    if not np.array_equal(np.asarray(ad.X), want_x):
        problems.append("X: values differ (anndata)")
    raw = ad.raw.X
    if raw.shape != want_c.shape or (raw != want_c).nnz != 0:
        problems.append("raw.X: values differ (anndata)")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"OK X {want_x.shape} raw.X nnz {want_c.nnz}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
