"""Reads a Cell Ranger v1/v2 folder the way scanpy 1.11's read_10x_mtx does
(anndata.read_mtx + genes.tsv + barcodes.tsv, names made unique) and compares
it with an .h5ad that scanpp converted from the same folder.

Exit code 0 when X, obs_names, var_names and var['gene_ids'] are identical.
"""
import sys
import warnings

import anndata as ad
import numpy as np
import pandas as pd

warnings.simplefilter("ignore")
folder, h5ad = sys.argv[1], sys.argv[2]
ref = ad.read_mtx(folder + "/matrix.mtx").T
genes = pd.read_csv(folder + "/genes.tsv", header=None, sep="\t")
ref.var_names = genes[1].values
ref.var["gene_ids"] = genes[0].values
ref.obs_names = pd.read_csv(folder + "/barcodes.tsv", header=None)[0].values
ref.var_names_make_unique()
ref.X = ref.X.tocsr()

ours = ad.read_h5ad(h5ad)
errors = []
if ours.shape != ref.shape:
    errors.append(f"shape {ours.shape} vs {ref.shape}")
else:
    if ours.X.dtype != np.float32:
        errors.append(f"X dtype {ours.X.dtype}")
    if (ours.X != ref.X).nnz:
        errors.append("X values differ")
    if not (ours.obs_names == ref.obs_names).all():
        errors.append("obs_names differ")
    if not (ours.var_names == ref.var_names).all():
        errors.append("var_names differ")
    if not (ours.var["gene_ids"].values == ref.var["gene_ids"].values).all():
        errors.append("gene_ids differ")
if errors:
    print("MISMATCH: " + "; ".join(errors))
    sys.exit(1)
print(f"identical: {ours.shape}, nnz {ours.X.nnz}")
