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


def relative_gap(family, x, y, lam, alpha, b, pf=None):
    """pf: penalty factors (glmnet's, rescaled here to sum to p as glmnet and regml do);
    features with pf 0 are unpenalized (gaussian only: the residual is projected off their
    columns for the dual point)."""
    n, p = x.shape
    l1, l2 = lam * alpha, lam * (1 - alpha)
    eta = x @ b
    w = np.ones(p) if pf is None else np.asarray(pf, dtype=float) * p / np.sum(pf)
    pen = l1 * (w * np.abs(b)).sum() + 0.5 * l2 * (w * b * b).sum()
    if pf is not None:
        if family != "gaussian" or alpha > 0:
            raise ValueError("penalty factors: gaussian ridge only")
        r = y - eta
        primal = 0.5 * (r @ r) / n + pen
        free = w == 0
        if free.any():
            a, *_ = np.linalg.lstsq(x[:, free], r, rcond=None)
            r = r - x[:, free] @ a
        s = x[:, ~free].T @ r / n
        dual = (r @ y) / n - 0.5 * (r @ r) / n - (s * s / (2 * l2 * w[~free])).sum()
        return max(primal - dual, 0.0) / primal
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


def _sigmoid(e):
    with np.errstate(over="ignore"):
        z = np.exp(-np.abs(e))
    return np.where(e >= 0, 1 / (1 + z), z / (1 + z))


def _intercept_shift(y, eta):
    # c with sum(y - sigmoid(eta + c)) = 0, by bisection (y has both classes)
    lo, hi = -1.0, 1.0
    while np.mean(y - _sigmoid(eta + lo)) < 0:
        lo *= 2
    while np.mean(y - _sigmoid(eta + hi)) > 0:
        hi *= 2
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if np.mean(y - _sigmoid(eta + mid)) > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def standardized(x):
    """Columns centered and scaled to unit 1/n standard deviation (constant ones left at 0),
    and the standard deviations: glmnet's standardize = TRUE."""
    mu, sd = x.mean(0), x.std(0)
    use = sd > 0
    xs = np.zeros_like(x)
    xs[:, use] = (x[:, use] - mu[use]) / sd[use]
    return xs, sd


def relative_gap_intercept(family, x, xs, sd, y, lam, alpha, b0, b):
    """Relative duality gap of a fit with an unpenalized intercept `b0` and the penalty on
    standardized coefficients `b * sd` (glmnet's defaults; `xs, sd` from `standardized(x)`,
    `b0, b` on the original scale; gaussian alpha < 1 as glmnet only for unit-variance y).

    gaussian: the primal at `(b0, b)`; the dual point and value of the centered problem in
    `xs` (the intercept's condition is that the dual point sums to zero).
    binomial: the primal at `(b0, b)`; the dual point from the probabilities with the
    intercept's condition sum(y - p) = 0 restored, by shifting the linear predictor or the
    probabilities (the larger dual value), then scaled into the L1 ball when alpha = 1.
    """
    bs = b * sd
    l1, l2 = lam * alpha, lam * (1 - alpha)
    pen = l1 * np.abs(bs).sum() + 0.5 * l2 * (bs @ bs)
    if family == "gaussian":
        # the dual value of the centered problem, D = P_c (1 - gap_c), against the primal at
        # the given intercept (>= P_c, equal when the intercept is optimal)
        yc = y - np.mean(y)
        rc = yc - xs @ bs
        centered = 0.5 * np.mean(rc * rc) + pen
        dual = centered * (1 - relative_gap("gaussian", xs, yc, lam, alpha, bs))
        r = y - b0 - x @ b
        primal = 0.5 * np.mean(r * r) + pen
        return max(primal - dual, 0.0) / primal
    n = x.shape[0]
    eta = b0 + x @ b
    primal = np.mean(np.logaddexp(0, eta) - y * eta) + pen
    p = _sigmoid(eta)
    # two dual points meet the intercept's condition: the linear predictor shifted, and
    # (when it stays in [0, 1]) the probabilities shifted uniformly; the better one counts
    candidates = [_sigmoid(eta + _intercept_shift(y, eta))]
    q = p + np.mean(y - p)
    if q.min() >= 0 and q.max() <= 1:
        candidates.append(q)
    dual = -np.inf
    for prob in candidates:
        s = xs.T @ (y - prob) / n
        t = 1.0 if l2 > 0 else min(1.0, l1 / max(np.abs(s).max(), 1e-300))
        d = -np.mean(_negent(y + t * (prob - y)))
        if l2 > 0:
            d -= _conj(t * s, l1, l2).sum()
        dual = max(dual, d)
    return max(primal - dual, 0.0) / primal
