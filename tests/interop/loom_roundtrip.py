#!/usr/bin/python3
"""Loom interop helper for tests/loom_test.cpp (run with Debian's /usr/bin/python3).

  loom_roundtrip.py modules
        exit 0 if anndata, loompy and h5py are installed, 3 if not (without importing them)
  loom_roundtrip.py [write DIR] [dump OUT.json FILE:OBS_NAMES:VAR_NAMES:SPARSE(0|1) ...]
        write: writes DIR/anndata.loom (anndata.write_loom), DIR/velocyto.loom
        (loompy.create with spliced/unspliced layers, CellID/Gene) and
        DIR/old.loom (spec-2 layout by h5py: fixed-length ASCII strings with
        XML character references, global attributes on the root).
        dump: validates each FILE with loompy's LoomValidator, reads it with
        anndata.read_loom and writes a JSON list of what anndata sees.
        Both in one process, because importing loompy (numba) takes seconds.
"""
import json
import sys
import warnings

warnings.simplefilter("ignore")


def modules():
    import importlib.util
    missing = [m for m in ("anndata", "h5py", "loompy") if importlib.util.find_spec(m) is None]
    if missing:
        print("missing:", *missing)
        sys.exit(3)


def _num(x):
    import math
    x = float(x)
    return None if math.isnan(x) else x


def _matrix(m):
    import numpy as np
    import scipy.sparse as sp
    kind = "csr" if sp.issparse(m) else "dense"
    d = m.toarray() if sp.issparse(m) else np.asarray(m)
    return {"kind": kind, "dtype": str(d.dtype), "shape": list(d.shape), "data": [_num(v) for v in d.ravel()]}


def _frame(df):
    cols = {}
    for k in df.columns:
        s = df[k]
        if s.dtype == object:
            cols[k] = {"dtype": "object", "values": [str(v) for v in s]}
        else:
            cols[k] = {"dtype": str(s.dtype), "values": [_num(v) for v in s]}
    return {"index": [str(i) for i in df.index], "index_name": df.index.name, "order": list(df.columns), "columns": cols}


def _mapping(m):
    import numpy as np
    out = {}
    for k, v in m.items():
        v = np.asarray(v)
        if v.dtype == object or v.dtype.kind in "SU":
            out[k] = {"dtype": "object", "shape": list(v.shape), "data": [str(x) for x in v.ravel()]}
        else:
            out[k] = {"dtype": str(v.dtype), "shape": list(v.shape), "data": [_num(x) for x in v.ravel()]}
    return out


def dump(out, specs):
    import anndata
    import loompy
    results = []
    for spec in specs:
        path, obs_names, var_names, sparse = spec.rsplit(":", 3)
        lv = loompy.LoomValidator()
        if not lv.validate(path):
            print("\n".join(lv.errors))
            sys.exit(1)
        a = anndata.read_loom(path, sparse=sparse == "1", obs_names=obs_names, var_names=var_names)
        results.append(_describe(a))
    with open(out, "w") as f:
        json.dump(results, f)


def _describe(a):
    return {
        "shape": [a.n_obs, a.n_vars],
        "X": _matrix(a.X),
        "layers": {k: _matrix(v) for k, v in a.layers.items()},
        "obs": _frame(a.obs),
        "var": _frame(a.var),
        "obsm": _mapping(a.obsm),
        "varm": _mapping(a.varm),
    }


def write(d):
    import anndata
    import h5py
    import loompy
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    rng = np.random.default_rng(7)
    n_obs, n_vars = 90, 70  # more than one 64 x 64 chunk on both axes
    dense = rng.poisson(0.4, size=(n_obs, n_vars)).astype(np.float32)
    obs = pd.DataFrame(
        {
            "n_counts": dense.sum(1).astype(np.int64),
            "frac": rng.random(n_obs),
            "is_doublet": rng.random(n_obs) < 0.3,
            "batch": pd.Categorical(rng.choice(["b1", "b2", "b3"], n_obs)),
            "label": [f"cell type {i % 4}" for i in range(n_obs)],
        },
        index=[f"cell{i}" for i in range(n_obs)],
    )
    var = pd.DataFrame(
        {"gene_ids": [f"ENSG{i:05d}" for i in range(n_vars)], "highly_variable": rng.random(n_vars) < 0.5,
         "dispersion": rng.normal(size=n_vars).astype(np.float32)},
        index=[f"Gene{i}" for i in range(n_vars)],
    )
    a = anndata.AnnData(
        sp.csr_matrix(dense), obs=obs, var=var, dtype=np.float32,
        layers={"counts": sp.csr_matrix(dense.astype(np.int32) * 3)},
        obsm={"X_pca": rng.normal(size=(n_obs, 3))}, varm={"PCs": rng.normal(size=(n_vars, 2)).astype(np.float32)},
    )
    a.write_loom(f"{d}/anndata.loom", write_obsm_varm=True)

    spliced = rng.poisson(1.0, size=(n_vars, n_obs)).astype(np.uint16)
    unspliced = rng.poisson(0.5, size=(n_vars, n_obs)).astype(np.uint16)
    loompy.create(
        f"{d}/velocyto.loom",
        {"": (spliced + unspliced).astype(np.float32), "spliced": spliced, "unspliced": unspliced},
        row_attrs={"Gene": np.array([f"G{i}" for i in range(n_vars)]), "Accession": np.array([f"A{i}" for i in range(n_vars)]),
                   "Chromosome": np.array(["chr1"] * n_vars)},
        col_attrs={"CellID": np.array([f"sample:{i}x" for i in range(n_obs)]), "Clusters": np.arange(n_obs) % 5,
                   "_X": rng.normal(size=n_obs), "embedding": rng.normal(size=(n_obs, 2))},
    )

    with h5py.File(f"{d}/old.loom", "w") as f:
        m = rng.integers(0, 4, size=(6, 4)).astype(np.float64)
        f.create_dataset("matrix", data=m, chunks=(6, 4), compression="gzip")
        ra = f.create_group("row_attrs")
        ra["Gene"] = np.array([b"Actb", b"Gapdh", b"Caf&#233;", b"A&amp;B", b"Sox2", b"Pou5f1"])
        ra["Selected"] = np.array([1, 0, 1, 1, 0, 1], dtype=np.int64)
        ca = f.create_group("col_attrs")
        ca["CellID"] = np.array([b"c1", b"c2", b"c&lt;3&gt;", b"c&#x4e2d;"])
        ca["Total"] = m.sum(0)
        f.create_group("layers")
        f.attrs["title"] = b"old style"
        f.attrs["LOOM_SPEC_VERSION"] = b"2.0.1"


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["modules"]:
        modules()
        sys.exit(0)
    if args[:1] == ["write"]:
        write(args[1])
        args = args[2:]
    if args[:1] == ["dump"]:
        dump(args[1], args[2:])
    elif args:
        sys.exit(f"unknown command {args[0]}")
