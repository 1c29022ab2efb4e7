"""Reference numbers for Scanpy's legacy preprocessing API, written out step
by step in numpy/pandas the way Scanpy 1.11 computes them (Scanpy itself is not
installed here): normalize_per_cell, filter_genes_dispersion, recipe_zheng17
and recipe_seurat on the filtered PBMC 3k counts.

usage: legacy_preprocessing.py COUNTS_CSR.npz OUT.npz
"""
import sys

import numpy as np
import pandas as pd
import scipy.sparse as sp

MAD_SCALE = 0.6744897501960817  # statsmodels' robust.mad normalisation


def mean_var(X):
    """Scanpy's _get_mean_var: float64 E[x^2] - E[x]^2 with ddof=1."""
    if sp.issparse(X):
        mean = np.asarray(X.mean(axis=0, dtype=np.float64)).ravel()
        msq = np.asarray(X.multiply(X).mean(axis=0, dtype=np.float64)).ravel()
    else:
        mean = X.mean(axis=0, dtype=np.float64)
        msq = np.multiply(X, X).mean(axis=0, dtype=np.float64)
    n = X.shape[0]
    return mean, (msq - mean**2) * (n / (n - 1))


def row_sums(X):
    return np.ravel(np.asarray(X.sum(axis=1)))


def normalize_total(X, target_sum=None):
    counts = row_sums(X).astype(X.dtype)
    if target_sum is None:
        target_sum = np.median(counts[counts > 0])
    factor = counts / counts.dtype.type(target_sum)
    factor[factor == 0] = 1
    X = X.tocsr(copy=True)
    X.data /= np.repeat(factor, np.diff(X.indptr))
    return X


def normalize_per_cell(X, min_counts=1):
    counts = row_sums(X).astype(X.dtype)
    keep = counts >= min_counts
    X = X[keep].tocsr(copy=True)
    c = counts[keep].copy()
    after = np.median(c)
    c += c == 0
    c /= after
    X.data *= np.repeat(1 / c, np.diff(X.indptr))
    return X, counts, keep


def filter_genes_dispersion(X, flavor="seurat", min_disp=0.5, max_disp=None, min_mean=0.0125, max_mean=3,
                            n_bins=20, n_top_genes=None, log=True):
    means, var = mean_var(X)
    means[means == 0] = 1e-12
    disp = var / means
    if log:
        disp[disp == 0] = np.nan
        disp = np.log(disp)
        means = np.log1p(means)
    df = pd.DataFrame({"means": means, "dispersions": disp})
    if flavor == "seurat":
        df["mean_bin"] = pd.cut(df["means"], bins=n_bins)
        g = df.groupby("mean_bin")["dispersions"]
        avg, dev = g.mean(), g.std(ddof=1)
        one = dev.isnull()
        dev[one] = avg[one.values].values
        avg[one] = 0
        df["dispersions_norm"] = (df["dispersions"].values - avg[df["mean_bin"].values].values) / dev[
            df["mean_bin"].values].values
    else:
        df["mean_bin"] = pd.cut(df["means"], np.r_[-np.inf, np.percentile(df["means"], np.arange(10, 105, 5)), np.inf])
        g = df.groupby("mean_bin")["dispersions"]
        med = g.median()
        mad = g.apply(lambda a: np.median(np.abs(a - np.median(a))) / MAD_SCALE)
        df["dispersions_norm"] = np.abs(df["dispersions"].values - med[df["mean_bin"].values].values) / mad[
            df["mean_bin"].values].values
    z = df["dispersions_norm"].values.astype("float32")
    if n_top_genes is not None:
        z = z[~np.isnan(z)]
        z[::-1].sort()
        subset = df["dispersions_norm"].values >= z[n_top_genes - 1]
    else:
        max_disp = np.inf if max_disp is None else max_disp
        z[np.isnan(z)] = 0
        subset = np.logical_and.reduce((means > min_mean, means < max_mean, z > min_disp, z < max_disp))
    return subset, df["means"].values, df["dispersions"].values, df["dispersions_norm"].values.astype("float32")


def scale(X, max_value=None):
    X = X.toarray() if sp.issparse(X) else X.copy()
    mean, var = mean_var(X)
    std = np.sqrt(var)
    std[std == 0] = 1
    X -= mean
    X /= std
    if max_value is not None:
        X[X > max_value] = max_value
    return X


def log1p(X):
    X = X.copy()
    X.data = np.log1p(X.data)
    return X


def main():
    z = np.load(sys.argv[1])
    X = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"])).astype(np.float32)
    out = {}

    Xn, counts, keep = normalize_per_cell(X)
    out["npc_data"], out["npc_counts"], out["npc_keep"] = Xn.data, counts, keep

    norm = normalize_total(X, target_sum=1e4)
    for name, kw in {
        "seurat_log": dict(log=True),
        "seurat_nolog": dict(log=False),
        "seurat_top": dict(log=True, n_top_genes=800),
        "ranger_top": dict(flavor="cell_ranger", log=False, n_top_genes=1000),
    }.items():
        s, m, d, zn = filter_genes_dispersion(norm, **kw)
        out[f"fgd_{name}_subset"], out[f"fgd_{name}_means"] = s, m
        out[f"fgd_{name}_disp"], out[f"fgd_{name}_norm"] = d, zn

    # recipe_zheng17 (n_top_genes=1000, log=True)
    gene_keep = np.ravel(np.asarray(X.sum(axis=0))) >= 1
    Z = X[:, gene_keep]
    Z = normalize_total(Z)
    s, *_ = filter_genes_dispersion(Z, flavor="cell_ranger", n_top_genes=1000, log=False)
    Z = normalize_total(Z[:, s])
    out["zheng17_genes"] = np.flatnonzero(gene_keep)[s]
    out["zheng17_X"] = scale(log1p(Z))

    # recipe_seurat (log=True)
    cells = np.ravel(np.asarray((X > 0).sum(axis=1))) >= 200
    S = X[cells]
    genes = np.ravel(np.asarray((S > 0).sum(axis=0))) >= 3
    S = normalize_total(S[:, genes], target_sum=1e4)
    s, *_ = filter_genes_dispersion(S, min_mean=0.0125, max_mean=3, min_disp=0.5, log=False)
    out["seurat_genes"] = np.flatnonzero(genes)[s]
    out["seurat_X"] = scale(log1p(S[:, s]), max_value=10)
    np.savez(sys.argv[2], **out)


if __name__ == "__main__":
    main()
