#!/usr/bin/env python3
"""Replay of Scanpy 1.11's pp.combat with covariates (scanpy/preprocessing/_combat.py:
_design_matrix, _standardize_data, combat, _it_sol) in numpy/pandas, for
tests/combat_covariates_test.cpp. Scanpy itself is not installed here, so its
formulas are re-implemented step by step.

usage: combat_covariates.py X.f64 N P obs.csv KEY OUT.npy [COVARIATE ...]

X.f64 holds the cells x genes matrix as raw little-endian float64; obs.csv
the obs columns (KEY and the covariates; a column named in --numeric form
"name:num" is read as float, the others as strings -> categories, as
anndata's sanitize_anndata makes them). Writes the corrected matrix to OUT.npy
and prints "scanpy_design_rank R C": the rank and width of the design matrix
exactly as Scanpy's patsy formula builds it (first categorical covariate with
all its levels), which is singular whenever a categorical covariate is given.
The corrected matrix uses treatment coding for every categorical covariate
(see src/scanpp/pp/combat.hpp).
"""
import sys

import numpy as np
import pandas as pd
from numpy import linalg as la


def one_hot(col, levels, prefix):
    return {f"{prefix}[{lvl}]": (col == lvl).astype(float).to_numpy() for lvl in levels}


def design_matrix(model, batch_key, batch_levels, full_first):
    """Scanpy's _design_matrix: batch one-hot, then the non-numeric covariates
    as patsy dummies, then the numeric covariates. full_first=True codes the
    first categorical covariate with all its levels, as patsy's "~ 0 + ..." does."""
    design = pd.DataFrame(one_hot(model[batch_key], batch_levels, f"C(Q('{batch_key}'))"), index=model.index)
    rest = model.drop([batch_key], axis=1)
    numerical = rest.select_dtypes("number").columns.array
    other = [c for c in rest.columns.array if c not in numerical]
    for k, c in enumerate(other):
        col = rest[c]
        levels = list(col.cat.categories)
        keep = levels if (full_first and k == 0) else levels[1:]
        for lvl in keep:
            design[f"Q('{c}')[T.{lvl}]"] = (col == lvl).astype(float).to_numpy()
    for c in numerical:
        design[c] = rest[c]
    return design


def standardize(model, data, batch_key, design):
    batch_items = model.groupby(batch_key, observed=True).groups.items()
    batch_levels, batch_info = zip(*batch_items)
    n_batch = len(batch_info)
    n_batches = np.array([len(v) for v in batch_info])
    n_array = float(sum(n_batches))
    b_hat = np.dot(np.dot(la.inv(np.dot(design.T, design)), design.T), data.T)
    grand_mean = np.dot((n_batches / n_array).T, b_hat[:n_batch, :])
    var_pooled = (data - np.dot(design, b_hat).T) ** 2
    var_pooled = np.dot(var_pooled, np.ones((int(n_array), 1)) / int(n_array))
    stand_mean = np.dot(grand_mean.T.reshape((len(grand_mean), 1)), np.ones((1, int(n_array))))
    tmp = np.array(design.copy())
    tmp[:, :n_batch] = 0
    stand_mean += np.dot(tmp, b_hat).T
    s_data = np.where(
        var_pooled == 0, 0, ((data - stand_mean) / np.dot(np.sqrt(var_pooled), np.ones((1, int(n_array)))))
    )
    return pd.DataFrame(s_data, index=data.index, columns=data.columns), var_pooled, stand_mean


def it_sol(s_data, g_hat, d_hat, g_bar, t2, a, b, conv=0.0001):
    n = (1 - np.isnan(s_data)).sum(axis=1)
    g_old = g_hat.copy()
    d_old = d_hat.copy()
    change = 1
    g_new, d_new = g_old, d_old
    while change > conv:
        g_new = (t2 * n * g_hat + d_old * g_bar) / (t2 * n + d_old)
        sum2 = s_data - g_new.reshape((g_new.shape[0], 1)) @ np.ones((1, s_data.shape[1]))
        sum2 = (sum2**2).sum(axis=1)
        d_new = (0.5 * sum2 + b) / (n / 2.0 + a - 1.0)
        change = max((abs(g_new - g_old) / g_old).max(), (abs(d_new - d_old) / d_old).max())
        g_old, d_old = g_new, d_new
    return g_new, d_new


def aprior(d):
    m, s2 = d.mean(), d.var()
    return (2 * s2 + m**2) / s2


def bprior(d):
    m, s2 = d.mean(), d.var()
    return (m * s2 + m**3) / s2


def combat(X, obs, key, covariates):
    data = pd.DataFrame(X.T, index=[f"g{j}" for j in range(X.shape[1])], columns=obs.index)
    model = obs[[key, *covariates]]
    batch_info = model.groupby(key, observed=True).indices
    n_batch = len(batch_info)
    n_batches = np.array([len(v) for v in batch_info.values()])
    n_array = float(sum(n_batches))
    levels = list(batch_info.keys())

    scanpy_design = design_matrix(model, key, levels, full_first=True)
    rank = la.matrix_rank(scanpy_design.to_numpy())
    print(f"scanpy_design_rank {rank} {scanpy_design.shape[1]}")

    design = design_matrix(model, key, levels, full_first=False)
    s_data, var_pooled, stand_mean = standardize(model, data, key, design)
    batch_design = design[design.columns[:n_batch]]
    gamma_hat = (la.inv(batch_design.T @ batch_design) @ batch_design.T @ s_data.T).to_numpy()
    delta_hat = [s_data.iloc[:, idx].var(axis=1) for idx in batch_info.values()]
    gamma_bar = gamma_hat.mean(axis=1)
    t2 = gamma_hat.var(axis=1)
    a_prior = list(map(aprior, delta_hat))
    b_prior = list(map(bprior, delta_hat))
    gamma_star, delta_star = [], []
    for i, idx in enumerate(batch_info.values()):
        g, d = it_sol(s_data.iloc[:, idx].values, gamma_hat[i], delta_hat[i].values, gamma_bar[i], t2[i],
                      a_prior[i], b_prior[i])
        gamma_star.append(g)
        delta_star.append(d)
    bayesdata = s_data
    gamma_star = np.array(gamma_star)
    delta_star = np.array(delta_star)
    for j, idx in enumerate(batch_info.values()):
        dsq = np.sqrt(delta_star[j, :]).reshape((-1, 1))
        denom = np.dot(dsq, np.ones((1, n_batches[j])))
        numer = np.array(bayesdata.iloc[:, idx] - np.dot(batch_design.iloc[idx], gamma_star).T)
        bayesdata.iloc[:, idx] = numer / denom
    vpsq = np.sqrt(var_pooled).reshape((len(var_pooled), 1))
    bayesdata = bayesdata * np.dot(vpsq, np.ones((1, int(n_array)))) + stand_mean
    return bayesdata.to_numpy().T


def main():
    xpath, n, p, obspath, key, out, *covs = sys.argv[1:]
    n, p = int(n), int(p)
    X = np.fromfile(xpath, dtype="<f8").reshape(n, p)
    names = [c.split(":")[0] for c in covs]
    numeric = {c.split(":")[0] for c in covs if c.endswith(":num")}
    obs = pd.read_csv(obspath, index_col=0, dtype=str, keep_default_na=False)
    for c in obs.columns:
        # anndata's sanitize_anndata: strings become categories (sorted).
        obs[c] = obs[c].astype(float) if c in numeric else pd.Categorical(obs[c])
    np.save(out, combat(X, obs, key, names))


if __name__ == "__main__":
    main()
