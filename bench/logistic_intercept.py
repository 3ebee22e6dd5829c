#!/usr/bin/env python3
"""regml against R glmnet on logistic lasso paths with an intercept and standardization (the
CLI's defaults), which the harness (no intercept, raw features) does not cover:

  digits3  the embedded 8x8 digits, digit 3 against the rest (1797 x 64, nearly separable)
  tall     100000 x 50 AR(1) features (rho 0.6), 10 true nonzeros, intercept 0.3
  uniform5000, uniform20000
           5000 x 500 and 20000 x 300 independent uniform features on [-0.5, 0.5]; y is 1
           where x0 + x3 + x10 plus Gaussian noise (0.3 times their standard deviation)
           exceeds its mean

  python3 bench/logistic_intercept.py [digits3] [tall] [uniform5000] [uniform20000]

regml runs `regml path` at its default (relative gap <= 1e-6 at every lambda) and reports its
in-process fit time; glmnet fits the same lambdas at thresh 1e-7 (its default), 1e-10 and
1e-14, timed in-process after a warm-up. Every fit's worst relative duality gap is computed
here from its coefficients: glmnet's objective with the penalty on standardized coefficients
(1/N standard deviations), the dual point from the probabilities with the intercept's
condition sum(y - p) = 0 restored by shifting the linear predictor (bisection), then scaled
into the L1 ball.
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import gaps

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
R_SCRIPT = r"""
suppressMessages({library(glmnet); library(jsonlite)})
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1]); y <- d$y; x <- as.matrix(d[, setdiff(names(d), "y")])
lam <- unlist(fromJSON(a[2]))
for (th in c(1e-7, 1e-10, 1e-14)) {
  invisible(glmnet(x, y, family = "binomial", lambda = lam[1:5], thresh = th))
  t0 <- proc.time()[["elapsed"]]
  f <- glmnet(x, y, family = "binomial", lambda = lam, thresh = th, maxit = 1e7)
  s <- proc.time()[["elapsed"]] - t0
  out <- list(seconds = s, intercepts = f$a0, coefficients = t(as.matrix(f$beta)))
  writeLines(toJSON(out, digits = NA), file.path(a[3], paste0("glmnet_", th, ".json")))
}
"""


def digits3():
    with gzip.open(os.path.join(ROOT, "crates", "regml", "data", "digits.csv.gz"), "rt") as f:
        d = np.genfromtxt(f, delimiter=",", skip_header=1)
    return d[:, :-1], (d[:, -1] == 3).astype(float)


def tall():
    rng = np.random.default_rng(5)
    n, p = 100000, 50
    x = np.empty((n, p))
    x[:, 0] = rng.standard_normal(n)
    for j in range(1, p):
        x[:, j] = 0.6 * x[:, j - 1] + 0.8 * rng.standard_normal(n)
    b = np.zeros(p)
    b[::5] = [1, -1, 0.8, -0.6, 0.5, -0.4, 0.3, -0.2, 0.15, -0.1]
    eta = 1.5 * (x @ b) + 0.3
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return np.round(x, 6), y


def uniform(n, p):
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, (n, p))
    lin = x[:, 0] + x[:, 3] + x[:, 10]
    lin = lin + 0.3 * lin.std() * rng.standard_normal(n)
    return np.round(x, 6), (lin > lin.mean()).astype(float)


def run(name, x, y, tmp):
    n, p = x.shape
    csv = os.path.join(tmp, f"{name}.csv")
    header = ",".join([f"x{j}" for j in range(p)] + ["y"])
    np.savetxt(csv, np.column_stack([x, y]), delimiter=",", header=header, comments="",
               fmt=["%.10g"] * p + ["%d"])
    out = os.path.join(tmp, f"{name}.regml.json")
    subprocess.run([os.path.join(ROOT, "target", "release", "regml"), "path", "--data", csv,
                    "--target", "y", "--family", "binomial", "--json", out],
                   check=True, stdout=subprocess.DEVNULL)
    fit = json.load(open(out))
    lam = fit["lambdas"]
    json.dump(lam, open(os.path.join(tmp, "lambdas.json"), "w"))
    r = os.path.join(tmp, "glmnet.R")
    open(r, "w").write(R_SCRIPT)
    subprocess.run(["Rscript", r, csv, os.path.join(tmp, "lambdas.json"), tmp], check=True)
    xs, sd = gaps.standardized(x)
    rows = [("regml", "default", fit["fit_seconds"], fit["intercepts"], fit["coefficients"])]
    for th in ["1e-07", "1e-10", "1e-14"]:
        g = json.load(open(os.path.join(tmp, f"glmnet_{th}.json")))
        rows.append(("glmnet", f"thresh {th}", g["seconds"][0], g["intercepts"],
                     g["coefficients"]))
    print(f"\n{name}: {n} x {p}, {len(lam)} lambdas\n")
    print("| contender | mode | time (s) | worst rel. gap |\n|---|---|---|---|")
    for who, mode, secs, a0, coefs in rows:
        worst = max(gaps.relative_gap_intercept("binomial", x, xs, sd, y, l, 1.0, a, np.array(c))
                    for l, a, c in zip(lam, a0, coefs))
        print(f"| {who} | {mode} | {secs:.3f} | {worst:.1e} |")


def main():
    which = sys.argv[1:] or ["digits3", "tall"]
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "regml-cli"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in which:
            x, y = {
                "digits3": digits3,
                "tall": tall,
                "uniform5000": lambda: uniform(5000, 500),
                "uniform20000": lambda: uniform(20000, 300),
            }[name]()
            run(name, x, y, tmp)


if __name__ == "__main__":
    main()
