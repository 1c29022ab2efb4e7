"""Reads an .h5ad that scanpp wrote after tl.rank_genes_groups (wilcoxon,
pts=True) and tl.filter_rank_genes_groups, with Debian's anndata 0.8, and
checks what Scanpy users rely on:

* uns['rank_genes_groups'] holds params and record arrays whose fields are
  the group names, with Scanpy's dtypes (names object, scores and
  logfoldchanges float32, pvals and pvals_adj float64);
* a DataFrame built from them as sc.get.rank_genes_groups_df does matches
  Scanpy's golden table (argv[2], gzip CSV) gene by gene;
* pts / pts_rest are genes x groups DataFrames equal to the fractions of
  expressing cells computed here from raw.X with numpy;
* uns['rank_genes_groups_filtered'] keeps exactly the genes that pass
  Scanpy's filter rule, recomputed here independently.

Usage: check_rank_genes_groups.py FILE.h5ad GOLDEN.csv.gz
Exit code 0 when everything matches; otherwise prints what differs and exits 1.
"""
import sys
import warnings

import anndata as ad
import numpy as np
import pandas as pd

warnings.simplefilter("ignore")
a = ad.read_h5ad(sys.argv[1])
gold = pd.read_csv(sys.argv[2])
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


r = a.uns["rank_genes_groups"]
params = r["params"]
check(params["groupby"] == "leiden", f"params groupby {params['groupby']}")
check(params["method"] == "wilcoxon", f"params method {params['method']}")
check(params["reference"] == "rest", f"params reference {params['reference']}")
check(bool(params["use_raw"]) is True, f"params use_raw {params['use_raw']}")
check(params["corr_method"] == "benjamini-hochberg", f"params corr_method {params['corr_method']}")

groups = list(a.obs["leiden"].cat.categories)
want = {"names": "O", "scores": "float32", "logfoldchanges": "float32", "pvals": "float64", "pvals_adj": "float64"}
for key, dt in want.items():
    rec = r[key]
    check(list(rec.dtype.names) == groups, f"{key} fields {rec.dtype.names}")
    for g in groups:
        check(rec.dtype[g] == np.dtype(dt), f"{key}[{g}] dtype {rec.dtype[g]}")
    check(rec.shape == (a.raw.n_vars,), f"{key} shape {rec.shape}")

# sc.get.rank_genes_groups_df, as Scanpy 1.11 builds it.
cols = list(want)
d = pd.concat([pd.DataFrame(r[c])[groups] for c in cols], axis=1, names=[None, "group"], keys=cols)
d = d.stack(level=1).reset_index()
d["group"] = pd.Categorical(d["group"], categories=groups)
d = d.sort_values(["group", "level_0"]).drop(columns="level_0").reset_index(drop=True)
check(list(d.columns) == ["group"] + cols, f"df columns {list(d.columns)}")
check(len(d) == len(gold), f"df rows {len(d)} vs golden {len(gold)}")
m = d.merge(gold.astype({"group": str}), on=["group", "names"], suffixes=("", "_gold"))
check(len(m) == len(gold), f"matched {len(m)} of {len(gold)} golden rows")
for c in ["scores", "logfoldchanges"]:
    dev = np.max(np.abs(m[c] - m[c + "_gold"]) / np.maximum(np.abs(m[c + "_gold"]), 1e-3))
    check(dev < 1e-4, f"{c} max rel dev {dev:.2e}")
    print(f"{c}: max rel dev {dev:.2e}")
for c in ["pvals", "pvals_adj"]:
    a_, b_ = np.maximum(m[c], 1e-300), np.maximum(m[c + "_gold"], 1e-300)
    dev = np.max(np.abs(a_ - b_) / b_)
    check(dev < 1e-4, f"{c} max rel dev {dev:.2e}")
    print(f"{c}: max rel dev {dev:.2e}")
top = d.groupby("group").head(25)
gtop = gold.astype({"group": str}).groupby("group").head(25)
check(list(top["names"]) == list(gtop["names"]), "top-25 names differ from Scanpy's")

# pts / pts_rest: fractions of expressing cells, genes x groups.
X = a.raw.X.tocsc()
labels = a.obs["leiden"].to_numpy()
for key in ["pts", "pts_rest"]:
    df = r[key]
    check(isinstance(df, pd.DataFrame), f"{key} is {type(df)}")
    check(list(df.columns) == groups, f"{key} columns {list(df.columns)}")
    check(list(df.index) == list(a.raw.var_names), f"{key} index")
for g in groups:
    inside = labels == g
    nz_in = np.asarray((X[inside] != 0).sum(axis=0)).ravel() / inside.sum()
    nz_out = np.asarray((X[~inside] != 0).sum(axis=0)).ravel() / (~inside).sum()
    check(np.allclose(r["pts"][g].to_numpy(), nz_in, rtol=0, atol=1e-12), f"pts[{g}]")
    check(np.allclose(r["pts_rest"][g].to_numpy(), nz_out, rtol=0, atol=1e-12), f"pts_rest[{g}]")

# filter_rank_genes_groups with Scanpy's defaults, recomputed with numpy.
f = a.uns["rank_genes_groups_filtered"]
kept_total = 0
for g in groups:
    names = pd.Series(r["names"][g])
    idx = a.raw.var_names.get_indexer(names)
    inside = labels == g
    sub = X[:, idx]
    frac_in = np.asarray((sub[inside] != 0).sum(axis=0)).ravel() / inside.sum()
    frac_out = np.asarray((sub[~inside] != 0).sum(axis=0)).ravel() / (~inside).sum()
    m_in = np.asarray(sub[inside].mean(axis=0), dtype=np.float64).ravel()
    m_out = np.asarray(sub[~inside].mean(axis=0), dtype=np.float64).ravel()
    lfc = np.log2((np.expm1(m_in) + 1e-9) / (np.expm1(m_out) + 1e-9))
    keep = (frac_in > 0.25) & (frac_out < 0.5) & (lfc > 1)
    got = pd.Series(f["names"][g]).astype(str)
    expect = names.where(keep, "nan").astype(str)
    # The stored float32 fold changes decide genes within rounding of the cut-off.
    near = np.abs(lfc - 1) < 1e-5
    bad = ((got != expect) & ~near).sum()
    check(bad == 0, f"filtered names of group {g}: {bad} differ")
    kept_total += int(keep.sum())
print(f"filter keeps {kept_total} gene-group pairs")

if errors:
    print("\n".join(errors))
    sys.exit(1)
print("rank_genes_groups interop OK")
