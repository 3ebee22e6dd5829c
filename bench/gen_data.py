#!/usr/bin/env python3
"""Generates the benchmark workloads W1-W4 (REFERENCE.md) into bench/data/, and on request
W4T: tall logistic regression, n = 100000, p = 50, lasso down to 1e-3 lambda_max (not a
reference workload; it covers the common case of many rows and few features), and W4C:
logistic elastic net (alpha 0.5) on n = 1500, p = 1200 equicorrelated features (every pair
correlated 0.8), down to 1e-2 lambda_max (not a reference workload; strongly correlated
columns with nearly as many features as rows slow coordinate descent down the most). Two
ridge workloads (alpha = 0, not reference workloads), also on request, on equicorrelated
features (every pair 0.8): WR, n = 2000 rows and p = 2500 features, and WRT, n = 5000 and
p = 1000; both down to 1e-2 lambda_max, where lambda_max is glmnet's ridge anchor (the
lasso's divided by 0.001). WR and WRT also hold a second problem, WR-ridgefree and
WRT-ridgefree: every tenth feature unpenalized (penalty factor 0), lambda_max after their
least-squares fit.

Features: AR(1) correlation rho^|i-j| between columns, then centered and scaled to unit
(1/N) variance. Gaussian: y = X beta + noise at SNR 3, centered, unit variance. Logistic:
labels from a logistic model with sd(eta) = 2. beta has k = 20 nonzeros of alternating sign.
Every contender gets the same explicit lambda grid, so all do the same work:
lambda_k = lambda_max * ratio^(k/99), k = 0..99, no intercept, no standardization.
"""
import json
import os
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def design(rng, n, p, rho, equi=False):
    """AR(1) columns (correlation rho^|i-j|), or with equi every pair correlated rho."""
    x = np.empty((n, p), order="F")
    if equi:
        common = rng.standard_normal(n)
        for j in range(p):
            x[:, j] = np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.standard_normal(n)
    else:
        x[:, 0] = rng.standard_normal(n)
        s = np.sqrt(1 - rho * rho)
        for j in range(1, p):
            x[:, j] = rho * x[:, j - 1] + s * rng.standard_normal(n)
    x -= x.mean(axis=0)
    x /= x.std(axis=0)
    return np.asfortranarray(x)


def beta_of(p, k):
    b = np.zeros(p)
    idx = np.linspace(0, p - 1, k).astype(int)
    b[idx] = [(1 if t % 2 == 0 else -1) * (1 + t / k) for t in range(k)]
    return b


def grid(lmax, ratio, m=100):
    return [lmax * ratio ** (i / (m - 1)) for i in range(m)]


def write(name, x, y, problems):
    os.makedirs(OUT, exist_ok=True)
    x.T.astype("<f8").tofile(os.path.join(OUT, f"{name}.x.f64"))  # column-major
    y.astype("<f8").tofile(os.path.join(OUT, f"{name}.y.f64"))
    meta = {"name": name, "n": x.shape[0], "p": x.shape[1], "problems": problems}
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(meta, f)
    print(name, x.shape, [q["id"] for q in problems])


def gaussian(name, n, p, rho, ratio, alphas, seed, equi=False, free_every=None):
    """With free_every, each alpha also gets a problem "<name>-<kind>free" with every
    free_every-th feature unpenalized (penalty factor 0, the others 1)."""
    rng = np.random.default_rng(seed)
    x = design(rng, n, p, rho, equi)
    signal = x @ beta_of(p, 20)
    y = signal + rng.standard_normal(n) * np.sqrt(signal.var() / 3.0)
    y -= y.mean()
    y /= y.std()
    probs = []
    for a in alphas:
        # glmnet anchors a ridge grid at alpha = 0.001
        lmax = np.abs(x.T @ y).max() / (n * max(a, 1e-3))
        kind = "lasso" if a == 1 else "ridge" if a == 0 else "enet"
        probs.append({"id": f"{name}-{kind}", "family": "gaussian",
                      "alpha": a, "lambdas": grid(lmax, ratio)})
        if free_every:
            pf = np.where(np.arange(p) % free_every == 0, 0.0, 1.0)
            free = pf == 0
            # lambda_max after the unpenalized fit, penalty factors rescaled to sum to p
            coef, *_ = np.linalg.lstsq(x[:, free], y, rcond=None)
            g = np.abs(x[:, ~free].T @ (y - x[:, free] @ coef))
            lmax = (g / (pf[~free] * p / pf.sum())).max() / (n * max(a, 1e-3))
            probs.append({"id": f"{name}-{kind}free", "family": "gaussian", "alpha": a,
                          "lambdas": grid(lmax, ratio), "penalty_factor": pf.tolist()})
    write(name, x, y, probs)


def logistic(name, n, p, rho, ratio, alpha, seed, equi=False):
    rng = np.random.default_rng(seed)
    x = design(rng, n, p, rho, equi)
    eta = x @ beta_of(p, 20)
    eta *= 2.0 / eta.std()
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    lmax = np.abs(x.T @ (y - 0.5)).max() / (n * alpha)
    kind = "lasso" if alpha == 1 else "enet"
    write(name, x, y, [{"id": f"{name}-logistic-{kind}", "family": "binomial", "alpha": alpha,
                        "lambdas": grid(lmax, ratio)}])


if __name__ == "__main__":
    which = set(sys.argv[1:]) or {"W1", "W2", "W3", "W4"}
    if "W1" in which:
        gaussian("W1", 10000, 1000, 0.6, 1e-3, [1.0, 0.5], 1)
    if "W2" in which:
        gaussian("W2", 100, 10000, 0.6, 1e-2, [1.0, 0.5], 2)
    if "W3" in which:
        gaussian("W3", 1000, 1000, 0.6, 1e-3, [1.0], 3)
    if "W4" in which:
        logistic("W4", 5000, 1000, 0.6, 1e-3, 0.5, 4)
    if "W4T" in which:
        logistic("W4T", 100000, 50, 0.6, 1e-3, 1.0, 5)
    if "WR" in which:
        gaussian("WR", 2000, 2500, 0.8, 1e-2, [0.0], 7, equi=True, free_every=10)
    if "WRT" in which:
        gaussian("WRT", 5000, 1000, 0.8, 1e-2, [0.0], 8, equi=True, free_every=10)
    if "W4C" in which:
        logistic("W4C", 1500, 1200, 0.8, 1e-2, 0.5, 6, equi=True)
