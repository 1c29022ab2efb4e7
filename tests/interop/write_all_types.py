"""Writes an .h5ad with every element type anndata 0.8 produces.

scanpp's interop test reads it back and checks each value; the values here
are the expected ones the C++ test asserts.
"""
import sys
import warnings

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

warnings.simplefilter("ignore")

out = sys.argv[1]
compression = sys.argv[2] if len(sys.argv) > 2 else None

X = sp.csr_matrix(np.array([[1.5, 0, 2], [0, 0, 0], [0, 3, 0], [4, 5.25, 0]], dtype=np.float32))
obs = pd.DataFrame(
    {
        "n": np.array([1, 2, 3, 4], dtype=np.int32),
        "f": np.array([0.5, np.nan, 2.5, -1.0]),
        "flag": np.array([True, False, True, True]),
        "uniq": ["a", "b", "c", "d"],
        "cat": pd.Categorical(["x", "y", "x", "z"]),
        "ord": pd.Categorical(["lo", "hi", "lo", None], categories=["lo", "hi"], ordered=True),
        "nint": pd.array([1, None, 3, 4], dtype="Int64"),
        "nbool": pd.array([True, False, None, True], dtype="boolean"),
        "numcat": pd.Categorical([10, 20, 10, 10]),
    },
    index=["c1", "c2", "c3", "c4"],
)
var = pd.DataFrame({"gene_ids": ["E1", "E2", "E3"], "u8": np.array([1, 2, 255], dtype=np.uint8)},
                   index=pd.Index(["g1", "g2", "g3"], name="symbol"))
a = ad.AnnData(X=X, obs=obs, var=var, dtype=np.float32)
a.obsm["X_pca"] = np.arange(8, dtype=np.float32).reshape(4, 2)
a.obsm["df"] = pd.DataFrame({"u": [1.0, 2.0, 3.0, 4.0]}, index=a.obs_names)
a.varm["PCs"] = np.array([[1.0], [2.0], [3.0]])
a.obsp["distances"] = sp.csr_matrix(np.array([[0, 1, 0, 0], [2, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
a.layers["counts"] = np.array([[1, 0, 2], [0, 0, 0], [0, 3, 0], [4, 5, 0]], dtype=np.int64)
a.layers["csc"] = sp.csc_matrix(X)
a.uns["neighbors"] = {"params": {"n_neighbors": 15, "method": "umap", "flag": True, "ratio": 0.5}}
a.uns["colors"] = np.array(["#ff0000", "#00ff00"], dtype=object)
a.uns["ints"] = np.array([3, 1, 2], dtype=np.int16)
a.uns["matrix"] = np.array([[1.0, 2.0], [3.0, 4.0]])
a.uns["rec"] = np.rec.fromarrays(
    [np.array(["g1", "g2"], dtype=object), np.array([0.5, 0.25], dtype=np.float32)], names=["0", "1"]
)
a.uns["pts"] = pd.DataFrame({"0": [0.1, 0.2, 0.3]}, index=["g1", "g2", "g3"])
a.uns["text"] = "hello"
a.raw = a
a.write_h5ad(out, compression=compression)
