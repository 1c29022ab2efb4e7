"""gzip datasets between scanpp and h5py/anndata (tests/h5ad_gzip_test.cpp).

  gzip_interop.py against SCANPP.h5ad GOLDEN.h5ad
      SCANPP.h5ad is GOLDEN.h5ad read and rewritten by scanpp with gzip 4:
      every chunked numeric dataset must report gzip level 4 to h5py, and
      anndata must read the same values as from GOLDEN.
  gzip_interop.py pairs FILE LEVEL
      every dataset under /gz must equal its twin under /plain and report
      gzip at LEVEL.
  gzip_interop.py variants FILE
      writes gzip datasets as h5py makes them (shuffle, chunks cut on every
      axis, big-endian, missing chunks, fletcher32, ...), each with an
      uncompressed twin under /plain.
Prints one summary line; exits 1 with the problems listed otherwise.
"""
import sys

import h5py
import numpy as np


def fail(problems):
    print("\n".join(problems[:20]))
    sys.exit(1)


def same_array(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def against(scanpp_path, golden_path):
    import anndata
    import scipy.sparse as sp

    problems = []
    n_gzip = n_datasets = n_values = 0
    with h5py.File(scanpp_path, "r") as f, h5py.File(golden_path, "r") as g:
        def check_gzip(name, obj):
            nonlocal n_gzip
            if not isinstance(obj, h5py.Dataset) or obj.shape == () or obj.dtype.kind in "OS":
                return
            if obj.compression != "gzip" or obj.compression_opts != 4:
                problems.append(f"{name}: compression {obj.compression} {obj.compression_opts}")
            else:
                n_gzip += 1
        f.visititems(check_gzip)

        # Every numeric dataset of the golden file, by value, as h5py reads it.
        def compare(name, obj):
            nonlocal n_datasets, n_values
            if not isinstance(obj, h5py.Dataset) or obj.dtype.kind in "OS":
                return
            if name not in f:
                problems.append(f"{name}: missing")
                return
            want, got = obj[()], f[name][()]
            if want.dtype.names:
                if got.dtype.names != want.dtype.names:
                    problems.append(f"{name}: fields differ")
                    return
                ok = all(same_array(got[k], want[k]) if want.dtype[k].kind != "O"
                         else list(got[k]) == list(want[k]) for k in want.dtype.names)
            else:
                ok = same_array(got, want)
            if not ok:
                problems.append(f"{name}: values differ")
            n_datasets += 1
            n_values += np.asarray(want).size
        g.visititems(compare)
        gx = g["X"][()]
        graw = sp.csr_matrix((g["raw/X/data"][()], g["raw/X/indices"][()], g["raw/X/indptr"][()]),
                             shape=tuple(g["raw/X"].attrs["shape"]))
        gobs = [s.decode() if isinstance(s, bytes) else s for s in g["obs/_index"][()]]
    # anndata opens scanpp's file and sees the same matrices.
    a = anndata.read_h5ad(scanpp_path)
    if not same_array(a.X, gx):
        problems.append("anndata: X differs")
    if not sp.issparse(a.raw.X) or (a.raw.X != graw).nnz != 0:
        problems.append("anndata: raw.X differs")
    if list(a.obs_names) != gobs:
        problems.append("anndata: obs_names differ")
    if problems:
        fail(problems)
    print(f"OK {n_gzip} gzip-4 datasets; {n_datasets} golden numeric datasets ({n_values} values) equal")


def pairs(path, level):
    problems = []
    n = 0
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            nonlocal n
            if not isinstance(obj, h5py.Dataset):
                return
            twin = f["plain/" + name]
            if obj.compression != "gzip" or obj.compression_opts != level:
                problems.append(f"{name}: compression {obj.compression} {obj.compression_opts}")
            if twin.compression is not None:
                problems.append(f"plain/{name}: compressed")
            if not same_array(obj[()], twin[()]):
                problems.append(f"{name}: values differ from plain/{name}")
            n += 1
        f["gz"].visititems(visit)
    if problems:
        fail(problems)
    print(f"OK {n} gzip-{level} datasets equal their uncompressed twins")


def variants(path):
    i = np.arange(1000, dtype=np.int64)
    data = {
        # chunks cut on both axes, with partial chunks at both edges
        "gz2d": (np.sin(np.arange(50 * 13)).reshape(50, 13).astype(np.float32), dict(chunks=(7, 5), compression="gzip")),
        "gz_shuffle_f32": ((i % 37 * 0.25).astype(np.float32), dict(chunks=(300,), compression="gzip", shuffle=True)),
        "gz_shuffle_i64": ((i * 7919 % 1013).reshape(-1, 4)[:, :3].copy(),
                           dict(chunks=(64, 2), compression="gzip", compression_opts=9, shuffle=True)),
        "gz_be_f8": ((i[:100] * 1.5).astype(">f8"), dict(chunks=(32,), compression="gzip")),
        "gz_i32": ((i * 3).astype(np.int32), dict(chunks=(256,), compression="gzip", compression_opts=1)),
        "gz_bool": (i[:100] % 3 == 0, dict(chunks=(30,), compression="gzip")),
        "gz_chunk_over_extent": ((i[:10] * 0.5).astype(np.float32),
                                 dict(chunks=(64,), maxshape=(None,), compression="gzip")),
        "gz_rec": (np.array([(k * 0.5, k, b"g%d" % k) for k in range(200)],
                            dtype=[("s", "<f4"), ("n", "<i8"), ("name", "S6")]),
                   dict(chunks=(64,), compression="gzip")),
        # large enough for partial reads of rows to take the parallel path
        "gz_rows2d": (np.cos(np.arange(5000 * 40)).reshape(5000, 40).astype(np.float32),
                      dict(chunks=(100, 16), compression="gzip", shuffle=True)),
        "gz_rows1d": ((np.arange(200000) * 7 % 20011).astype(np.int32), dict(chunks=(8746,), compression="gzip")),
        # not for the fast path: HDF5 reads these
        "fletcher": ((i * 0.5).astype(np.float32), dict(chunks=(100,), compression="gzip", fletcher32=True)),
        "scaleoffset": ((i % 50).astype(np.int32), dict(chunks=(100,), compression="gzip", scaleoffset=0)),
    }
    with h5py.File(path, "w") as f:
        for name, (values, opts) in data.items():
            f.create_dataset("gz/" + name, data=values, **opts)
            f.create_dataset("plain/" + name, data=values)
        # chunks never written read as the fill value
        d = f.create_dataset("gz/missing_chunks", shape=(1000,), dtype=np.float32, chunks=(100,),
                             compression="gzip", fillvalue=7.5)
        d[:250] = np.arange(250, dtype=np.float32)
        full = np.full(1000, 7.5, dtype=np.float32)
        full[:250] = np.arange(250, dtype=np.float32)
        f.create_dataset("plain/missing_chunks", data=full)
    print(f"OK wrote {len(data) + 1} datasets")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "against":
        against(sys.argv[2], sys.argv[3])
    elif cmd == "pairs":
        pairs(sys.argv[2], int(sys.argv[3]))
    elif cmd == "variants":
        variants(sys.argv[2])
    else:
        sys.exit("unknown command " + cmd)
