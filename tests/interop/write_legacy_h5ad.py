"""Writes .h5ad files in the layouts older anndata versions produced, with h5py
directly (Debian's anndata 0.8 cannot write them any more):

  v07: anndata 0.7 - no root attributes, dataframe 0.1.0, a categorical column
       stored as its codes with an object-reference attribute to __categories,
       uns entries without encoding attributes, raw as a group.
  v06: anndata <= 0.6 - obs/var as compound datasets with an 'index' field,
       categories in uns['<col>_categories'], raw as top-level raw.X / raw.var,
       X sparse with h5sparse_format / h5sparse_shape, neighbour graphs in uns.
"""
import sys

import h5py
import numpy as np

kind, out = sys.argv[1], sys.argv[2]
str_t = h5py.string_dtype("utf-8")
data = np.array([1.5, 2.0, 3.0], dtype=np.float32)
indices = np.array([0, 2, 1], dtype=np.int32)
indptr = np.array([0, 2, 2, 3], dtype=np.int64)


def frame_07(parent, name, index, columns=()):
    """An anndata 0.7 dataframe group (encoding 0.1.0) with a string index."""
    g = parent.create_group(name)
    g.attrs["encoding-type"] = "dataframe"
    g.attrs["encoding-version"] = "0.1.0"
    g.attrs["_index"] = "_index"
    g.attrs["column-order"] = np.array(list(columns), dtype=object) if columns else np.array([], dtype=np.float64)
    g.create_dataset("_index", data=np.array(index, dtype=object), dtype=str_t)
    return g


def csr_07(parent, name):
    g = parent.create_group(name)
    g.attrs["encoding-type"] = "csr_matrix"
    g.attrs["encoding-version"] = "0.1.0"
    g.attrs["shape"] = np.array([3, 3])
    g["data"], g["indices"], g["indptr"] = data, indices, indptr

with h5py.File(out, "w") as f:
    if kind == "v07":
        csr_07(f, "X")
        obs = frame_07(f, "obs", ["a", "b", "c"], ["louvain", "n"])
        cats = obs.create_group("__categories")
        c = cats.create_dataset("louvain", data=np.array(["x", "y"], dtype=object), dtype=str_t)
        c.attrs["ordered"] = False
        codes = obs.create_dataset("louvain", data=np.array([1, 0, 1], dtype=np.int8))
        codes.attrs["categories"] = c.ref
        obs["n"] = np.array([5, 6, 7], dtype=np.int64)
        frame_07(f, "var", ["g1", "g2", "g3"])
        uns = f.create_group("uns")
        nb = uns.create_group("neighbors").create_group("params")
        nb["n_neighbors"] = np.int64(15)
        nb["method"] = "umap"
        uns["colors"] = np.array(["#ff0000", "#00ff00"], dtype=object).astype(h5py.string_dtype())
        raw = f.create_group("raw")
        raw.attrs["encoding-type"] = "raw"
        raw.attrs["encoding-version"] = "0.1.0"
        csr_07(raw, "X")
        frame_07(raw, "var", ["g1", "g2", "g3"])
    else:
        x = f.create_group("X")
        x.attrs["h5sparse_format"] = b"csr"
        x.attrs["h5sparse_shape"] = np.array([3, 3])
        x["data"], x["indices"], x["indptr"] = data, indices, indptr
        obs_t = np.dtype([("index", "S8"), ("louvain", np.int64), ("n_genes", np.float32)])
        f["obs"] = np.array([(b"a", 1, 10.0), (b"b", 0, 20.0), (b"c", 1, 30.0)], dtype=obs_t)
        var_t = np.dtype([("index", "S8"), ("gene_ids", "S8")])
        f["var"] = np.array([(b"g1", b"E1"), (b"g2", b"E2"), (b"g3", b"E3")], dtype=var_t)
        f["uns/louvain_categories"] = np.array([b"x", b"y"])
        g = f.create_group("uns/neighbors/connectivities")
        g.attrs["h5sparse_format"] = b"csr"
        g.attrs["h5sparse_shape"] = np.array([3, 3])
        g["data"] = np.array([1.0, 1.0]); g["indices"] = np.array([1, 0], dtype=np.int32)
        g["indptr"] = np.array([0, 1, 2, 2], dtype=np.int64)
        rx = f.create_group("raw.X")
        rx.attrs["h5sparse_format"] = b"csr"
        rx.attrs["h5sparse_shape"] = np.array([3, 3])
        rx["data"], rx["indices"], rx["indptr"] = data, indices, indptr
        f["raw.var"] = np.array([(b"g1", b"E1"), (b"g2", b"E2"), (b"g3", b"E3")], dtype=var_t)
