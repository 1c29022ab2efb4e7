"""Compares two .h5ad files element by element as anndata reads them.

Exit code 0 when equal (values, dtypes, categories, uns tree), 1 otherwise.
"""
import sys
from collections.abc import Mapping
import warnings

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

warnings.simplefilter("ignore")
a, b = ad.read_h5ad(sys.argv[1]), ad.read_h5ad(sys.argv[2])
errors = []


def same(x, y, path):
    if isinstance(x, Mapping):
        if not isinstance(y, Mapping) or set(x) != set(y):
            errors.append(f"{path}: keys {sorted(x)} vs {sorted(y) if isinstance(y, Mapping) else y}")
            return
        for k in x:
            same(x[k], y[k], f"{path}/{k}")
    elif isinstance(x, pd.DataFrame):
        if not isinstance(y, pd.DataFrame):
            errors.append(f"{path}: dataframe vs {type(y)}")
            return
        try:
            pd.testing.assert_frame_equal(x, y, check_exact=True)
        except AssertionError as e:
            errors.append(f"{path}: {e}")
    elif sp.issparse(x):
        if not sp.issparse(y) or x.format != y.format or x.dtype != y.dtype or (x != y).nnz:
            errors.append(f"{path}: sparse differs")
    elif isinstance(x, np.ndarray):
        y = np.asarray(y)
        if x.dtype != y.dtype or x.shape != y.shape:
            errors.append(f"{path}: {x.dtype}{x.shape} vs {y.dtype}{y.shape}")
        elif x.dtype.names:
            for n in x.dtype.names:
                if not np.array_equal(x[n], y[n]):
                    errors.append(f"{path}: field {n}")
        elif not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            errors.append(f"{path}: values differ")
    else:
        if type(x) != type(y) or x != y:
            errors.append(f"{path}: {x!r} vs {y!r}")


same(a.obs, b.obs, "obs")
same(a.var, b.var, "var")
same(a.X, b.X, "X")
for slot in ["obsm", "varm", "obsp", "varp", "layers"]:
    same(dict(getattr(a, slot)), dict(getattr(b, slot)), slot)
same(a.uns, b.uns, "uns")
if (a.raw is None) != (b.raw is None):
    errors.append("raw presence")
elif a.raw is not None:
    same(a.raw.X, b.raw.X, "raw/X")
    same(a.raw.var, b.raw.var, "raw/var")
if errors:
    print("MISMATCH:\n" + "\n".join(errors))
    sys.exit(1)
print("identical")
