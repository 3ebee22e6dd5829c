#!/usr/bin/env python3
"""Splits scikit-learn's W1 path time into its parts (run after bench/gen_data.py W1).

For each W1 problem at the tolerance the harness matched (lasso tol=1e-7, elastic net 1e-6),
times three things in one process, three times each after a warm-up: enet_path as the harness
calls it (it computes the Gram matrix X'X itself, since n > p), the Gram matrix and X'y alone
(numpy / OpenBLAS), and enet_path given that Gram matrix and X'y (coordinate descent only).
"""
import json
import os
import time

import numpy as np
from sklearn.linear_model import enet_path

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def main():
    meta = json.load(open(os.path.join(DATA, "W1.json")))
    n, p = meta["n"], meta["p"]
    x = np.fromfile(os.path.join(DATA, "W1.x.f64")).reshape(p, n).T  # column-major
    y = np.fromfile(os.path.join(DATA, "W1.y.f64"))
    for prob in meta["problems"]:
        lam, a = prob["lambdas"], prob["alpha"]
        tol = 1e-7 if a == 1 else 1e-6
        enet_path(x, y, l1_ratio=a, alphas=lam[:5], tol=tol, max_iter=100000)
        full, gram, cd = [], [], []
        for _ in range(3):
            t0 = time.perf_counter()
            enet_path(x, y, l1_ratio=a, alphas=lam, tol=tol, max_iter=100000)
            full.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            g, xy = x.T @ x, x.T @ y
            gram.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            enet_path(x, y, l1_ratio=a, alphas=lam, tol=tol, max_iter=100000, precompute=g,
                      Xy=xy, check_input=False)
            cd.append(time.perf_counter() - t0)
        fmt = lambda v: " ".join(f"{t:.3f}" for t in v)  # noqa: E731
        print(f"{prob['id']} tol={tol}: enet_path {fmt(full)} s | X'X and X'y {fmt(gram)} s"
              f" | enet_path given them {fmt(cd)} s")


if __name__ == "__main__":
    main()
