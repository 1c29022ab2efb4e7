"""Reads an .h5ad written by scanpp's example writer with anndata and checks every value.

Exit code 0 when everything matches; otherwise prints what differs and exits 1.
"""
import sys
import warnings

import anndata as ad
import numpy as np
import pandas as pd

warnings.simplefilter("ignore")
a = ad.read_h5ad(sys.argv[1])
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


check(a.shape == (4, 3), f"shape {a.shape}")
check(list(a.obs_names) == ["c1", "c2", "c3", "c4"], "obs_names")
check(list(a.var_names) == ["g1", "g2", "g3"], "var_names")
X = a.X.toarray()
check(a.X.dtype == np.float32, f"X dtype {a.X.dtype}")
check(np.array_equal(X, [[1.5, 0, 2], [0, 0, 0], [0, 3, 0], [4, 5.25, 0]]), f"X {X}")
check(a.obs["n"].dtype == np.int32 and list(a.obs["n"]) == [1, 2, 3, 4], "obs n")
f = a.obs["f"].to_numpy()
check(np.isnan(f[1]) and f[0] == 0.5 and f[3] == -1, "obs f")
check(a.obs["flag"].dtype == bool and list(a.obs["flag"]) == [True, False, True, True], f"obs flag {a.obs['flag'].dtype}")
check(list(a.obs["uniq"]) == ["a", "b", "c", "d"], "obs uniq")
check(isinstance(a.obs["cat"].dtype, pd.CategoricalDtype) and list(a.obs["cat"]) == ["x", "y", "x", "z"], "obs cat")
o = a.obs["ord"]
check(o.cat.ordered and list(o.cat.categories) == ["lo", "hi"] and pd.isna(o.iloc[3]) and o.iloc[1] == "hi", "obs ord")
ni = a.obs["nint"]
check(str(ni.dtype) == "Int64" and pd.isna(ni.iloc[1]) and ni.iloc[2] == 3, f"obs nint {ni.dtype}")
nb = a.obs["nbool"]
check(str(nb.dtype) == "boolean" and pd.isna(nb.iloc[2]) and bool(nb.iloc[0]), f"obs nbool {nb.dtype}")
check(list(a.var["gene_ids"]) == ["E1", "E2", "E3"], "var gene_ids")
check(np.array_equal(a.obsm["X_pca"], np.arange(1, 9, dtype=np.float32).reshape(4, 2)), "obsm X_pca")
check(a.varm["PCs"].dtype == np.float64 and a.varm["PCs"][2, 0] == 3.0, "varm PCs")
d = a.obsp["distances"].toarray()
check(d[0, 1] == 1 and d[1, 0] == 2 and d.sum() == 3, "obsp distances")
check(np.array_equal(a.layers["counts"], X), "layers counts")
p = a.uns["neighbors"]["params"]
check(p["n_neighbors"] == 15 and p["method"] == "umap" and bool(p["flag"]) is True, f"uns neighbors {p}")
check(list(a.uns["colors"]) == ["#ff0000", "#00ff00"], "uns colors")
rec = a.uns["rec"]
check(list(rec["0"]) == ["g1", "g2"] and rec["1"].dtype == np.float32 and rec["1"][1] == 0.25, f"uns rec {rec}")
pts = a.uns["pts"]
check(isinstance(pts, pd.DataFrame) and list(pts.index) == ["g1", "g2", "g3"] and pts["0"].iloc[2] == 0.3, "uns pts")
check("none" not in a.uns, "None dropped")
check(a.raw is not None and a.raw.shape == (4, 3) and np.array_equal(a.raw.X.toarray(), X), "raw")
if errors:
    print("MISMATCH: " + "; ".join(errors))
    sys.exit(1)
print("anndata", ad.__version__, "read every element")
