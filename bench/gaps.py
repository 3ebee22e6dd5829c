"""One evaluator of relative duality gaps for every contender (no intercept, raw features).

Objective (glmnet / scikit-learn scaling):
  gaussian: 1/(2n) ||y - X b||^2 + lam * (alpha |b|_1 + (1 - alpha)/2 |b|^2)
  binomial: 1/n sum log(1 + exp(x_i'b)) - y_i x_i'b + same penalty, y in {0, 1}
Dual point: the scaled residual (gaussian) or scaled y - p (binomial), scaled down just enough
to be feasible when alpha = 1. Relative gap = (P - D) / P.
"""
import numpy as np


def _conj(s, l1, l2):
    # h*(s) for h(b) = l1 |b| + l2/2 b^2 (l2 > 0), elementwise
    return np.maximum(np.abs(s) - l1, 0.0) ** 2 / (2 * l2)


def _negent(q):
    q = np.clip(q, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(q > 0, q * np.log(q), 0.0)
        b = np.where(q < 1, (1 - q) * np.log1p(-q), 0.0)
    return a + b


def relative_gap(family, x, y, lam, alpha, b):
    n = x.shape[0]
    l1, l2 = lam * alpha, lam * (1 - alpha)
    eta = x @ b
    pen = l1 * np.abs(b).sum() + 0.5 * l2 * (b @ b)
    if family == "gaussian":
        r = y - eta
        primal = 0.5 * (r @ r) / n + pen
        s = x.T @ r / n
        t = 1.0 if l2 > 0 else min(1.0, l1 / max(np.abs(s).max(), 1e-300))
        dual = t * (r @ y) / n - 0.5 * t * t * (r @ r) / n
    else:
        prob = 1 / (1 + np.exp(-eta))
        primal = np.mean(np.logaddexp(0, eta) - y * eta) + pen
        s = x.T @ (y - prob) / n
        t = 1.0 if l2 > 0 else min(1.0, l1 / max(np.abs(s).max(), 1e-300))
        dual = -np.mean(_negent(y + t * (prob - y)))
    if l2 > 0:
        dual -= _conj(t * s, l1, l2).sum()
    return max(primal - dual, 0.0) / primal
