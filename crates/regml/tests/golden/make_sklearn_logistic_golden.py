#!/usr/bin/env python3
"""Regenerates sklearn_logistic_golden.json: scikit-learn's LogisticRegression (lbfgs for the
l2 penalty, saga for the elastic net; tol 1e-12) on 200 rows of 5 features drawn here (seed 4),
for three (C, l1_ratio) settings: the data, coefficients and intercepts.

Usage (from the repository root):
  python3 crates/regml/tests/golden/make_sklearn_logistic_golden.py
"""
import json
import os
import warnings

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

warnings.filterwarnings("ignore")
rng = np.random.default_rng(4)
n, p = 200, 5
x = rng.standard_normal((n, p)) * np.array([1.0, 2.0, 0.5, 1.0, 3.0])
y = (x[:, 0] - 0.5 * x[:, 1] + rng.standard_normal(n) > 0.3).astype(int)
cases = []
for c, r in [(0.1, 0.0), (1.0, 0.0), (0.05, 0.5)]:
    clf = LogisticRegression(C=c, l1_ratio=r, solver="saga" if r > 0 else "lbfgs", tol=1e-12,
                             max_iter=1000000).fit(x, y)
    cases.append({"C": c, "l1_ratio": r, "coef": clf.coef_.ravel().tolist(),
                  "intercept": float(clf.intercept_[0])})
out = {"generator": f"scikit-learn {sklearn.__version__}", "x": x.tolist(), "y": y.tolist(),
       "cases": cases}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sklearn_logistic_golden.json")
with open(path, "w") as f:
    json.dump(out, f)
