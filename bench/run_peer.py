#!/usr/bin/env python3
"""Runs one Python contender on one problem: python3 run_peer.py CONTENDER MODE PROBLEM_ID OUTDIR

Loads the data, warms the solver up on the first 5 lambdas (JIT compilation, caches), then
times the whole 100-lambda path in-process (data loading excluded) and writes the
coefficients (one row per lambda) and the time.
MODE "default" uses the package's default tolerance, "tight" tol=1e-9, and "tol=X" the
tolerance X (the harness's matched mode tries a ladder of these).
"""
import json
import os
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))


def load(problem_id):
    name = problem_id.split("-")[0]
    meta = json.load(open(os.path.join(HERE, "data", f"{name}.json")))
    n, p = meta["n"], meta["p"]
    x = np.fromfile(os.path.join(HERE, "data", f"{name}.x.f64"), dtype="<f8").reshape(p, n).T
    y = np.fromfile(os.path.join(HERE, "data", f"{name}.y.f64"), dtype="<f8")
    prob = next(q for q in meta["problems"] if q["id"] == problem_id)
    return np.asfortranarray(x), y, prob


TOL = {
    "sklearn": {"default": 1e-4, "tight": 1e-9},
    "celer": {"default": 1e-4, "tight": 1e-9},
    "skglm": {"default": 1e-4, "tight": 1e-9},
}


def path_sklearn(x, y, prob, lambdas, tol):
    from sklearn.linear_model import LogisticRegression, enet_path

    if prob["family"] == "gaussian":
        _, coefs, _ = enet_path(x, y, l1_ratio=prob["alpha"], alphas=lambdas, tol=tol,
                                max_iter=100000)
        return coefs.T
    n = x.shape[0]
    clf = LogisticRegression(l1_ratio=prob["alpha"], solver="saga", fit_intercept=False,
                             warm_start=True, tol=tol, max_iter=10000)
    out = []
    for lam in lambdas:
        clf.set_params(C=1.0 / (n * lam))
        clf.fit(x, y)
        out.append(clf.coef_.ravel().copy())
    return np.array(out)


def path_celer(x, y, prob, lambdas, tol):
    from celer import celer_path

    if prob["family"] != "gaussian":
        raise NotImplementedError("celer has no elastic-net logistic path")
    _, coefs, _ = celer_path(x, y, "lasso", alphas=np.array(lambdas), l1_ratio=prob["alpha"],
                             tol=tol, prune=True, max_iter=100)
    return coefs.T


def path_skglm(x, y, prob, lambdas, tol):
    if prob["family"] == "gaussian":
        if prob["alpha"] == 1.0:
            from skglm import Lasso
            est = Lasso(tol=tol, fit_intercept=False, max_iter=100)
        else:
            from skglm import ElasticNet
            est = ElasticNet(l1_ratio=prob["alpha"], tol=tol, fit_intercept=False, max_iter=100)
        # returns (alphas, coefs, stopping criteria, n_iter)
        coefs = est.path(x, y, np.array(lambdas))[1]
        return coefs.T
    from skglm import GeneralizedLinearEstimator
    from skglm.datafits import Logistic
    from skglm.penalties import L1_plus_L2
    from skglm.solvers import ProxNewton

    ys = 2 * y - 1
    out = []
    w = None
    for lam in lambdas:
        est = GeneralizedLinearEstimator(
            datafit=Logistic(), penalty=L1_plus_L2(alpha=lam, l1_ratio=prob["alpha"]),
            solver=ProxNewton(tol=tol, fit_intercept=False, warm_start=True, max_iter=100))
        if w is not None:
            est.coef_ = w
        est.fit(x, ys)
        w = est.coef_.copy()
        out.append(w)
    return np.array(out)


RUN = {"sklearn": path_sklearn, "celer": path_celer, "skglm": path_skglm}


def main():
    contender, mode, problem_id, outdir = sys.argv[1:5]
    x, y, prob = load(problem_id)
    lambdas = prob["lambdas"]
    tol = float(mode[4:]) if mode.startswith("tol=") else TOL[contender][mode]
    fn = RUN[contender]
    fn(x, y, prob, lambdas[:5], tol)  # warm-up
    t0 = time.perf_counter()
    coefs = fn(x, y, prob, lambdas, tol)
    secs = time.perf_counter() - t0
    tag = f"{problem_id}.{contender}.{mode}"
    np.asarray(coefs, dtype="<f8").tofile(os.path.join(outdir, tag + ".coef.f64"))
    json.dump({"seconds": secs, "tol": tol}, open(os.path.join(outdir, tag + ".json"), "w"))


if __name__ == "__main__":
    main()
