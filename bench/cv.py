#!/usr/bin/env python3
"""Cross-validation end to end: `regml cv` against R's `cv.glmnet` with the same fold ids.

  python3 bench/cv.py [diabetes] [breast_cancer] [W1] [W4] [tall] [WRT] [WR] [--repeat K]
                      [--thresholds T1,T2,...]

Both run with their defaults, which are the same semantics: intercept, standardization, the
default 100-value lambda grid from the data, 10 folds (a fixed assignment, passed as a `fold`
column to regml's `--foldid` and as `foldid` to cv.glmnet), each fold fitting its own grid and
being evaluated at the full-data lambdas by interpolation, the default measure (mse or
deviance), lambda.min and lambda.1se. Each contender's time is the whole cross-validation
(all fold fits and the fit on all rows) measured in-process, data loading excluded: regml's
`fit_seconds`, glmnet's elapsed time around `cv.glmnet` after a warm-up call on a 5-lambda
grid. With `--repeat K` every contender runs K times in turn and the fastest is reported.

regml runs at its default (relative duality gap <= 1e-6 at every lambda of every fit); glmnet
at `thresh` 1e-7 (its default) and 1e-10, or at the thresholds given with `--thresholds`.
The accuracy column is the worst relative duality gap along the full-data path, recomputed
here from the coefficients (`gaps.py`, `relative_gap_intercept`), so every contender's fits
are judged by one evaluator; the next column leaves out the first lambda. On its default grid
glmnet returns all-zero coefficients at the first lambda of a ridge path (alpha < 0.001,
whose grid is anchored at alpha = 0.001), which is not the ridge solution there; regml
returns the solution.

Problems:
  diabetes       the embedded diabetes data (442 x 10), gaussian lasso
  breast_cancer  the embedded breast cancer data (569 x 30), binomial lasso
  W1             the harness's W1 data (10000 x 1000, rho 0.6), gaussian lasso
  W4             the harness's W4 data (5000 x 1000), binomial elastic net alpha 0.5
  tall           100000 x 50 logistic lasso (the `tall` problem of logistic_intercept.py)
  WRT, WR        the harness's ridge data (5000 x 1000 and 2000 x 2500, columns correlated
                 0.8), gaussian ridge (alpha 0); on request only
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import gaps
import logistic_intercept

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
THRESHOLDS = ["1e-07", "1e-10"]
R_SCRIPT = r"""
suppressMessages({library(glmnet); library(jsonlite)})
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1]); y <- d$y; fold <- d$fold
x <- as.matrix(d[, setdiff(names(d), c("y", "fold"))])
fam <- a[2]; alpha <- as.numeric(a[3]); th <- as.numeric(a[4])
run <- function(...) cv.glmnet(x, y, family = fam, alpha = alpha, foldid = fold, thresh = th,
                               maxit = 1e7, ...)
invisible(run(lambda = glmnet(x, y, family = fam, alpha = alpha)$lambda[1:5]))
t0 <- proc.time()[["elapsed"]]
f <- run()
s <- proc.time()[["elapsed"]] - t0
g <- f$glmnet.fit
out <- list(seconds = s, lambdas = f$lambda, intercepts = g$a0,
            coefficients = t(as.matrix(g$beta)), lambda_min = f$lambda.min,
            lambda_1se = f$lambda.1se)
writeLines(toJSON(out, digits = NA), a[5])
"""


def embedded(name, target):
    path = os.path.join(ROOT, "crates", "regml", "data", f"{name}.csv.gz")
    with gzip.open(path, "rt") as f:
        header = f.readline().strip().split(",")
        d = np.loadtxt(f, delimiter=",")
    k = header.index(target)
    return np.delete(d, k, axis=1), d[:, k]


def harness(name):
    meta = json.load(open(os.path.join(HERE, "data", f"{name}.json")))
    n, p = meta["n"], meta["p"]
    x = np.fromfile(os.path.join(HERE, "data", f"{name}.x.f64"), dtype="<f8").reshape(p, n).T
    y = np.fromfile(os.path.join(HERE, "data", f"{name}.y.f64"), dtype="<f8")
    return x, y


def problem(name):
    """(x, y, family, alpha)"""
    if name == "diabetes":
        return (*embedded("diabetes", "progression"), "gaussian", 1.0)
    if name == "breast_cancer":
        return (*embedded("breast_cancer", "benign"), "binomial", 1.0)
    if name == "W1":
        return (*harness("W1"), "gaussian", 1.0)
    if name == "W4":
        return (*harness("W4"), "binomial", 0.5)
    if name == "tall":
        return (*logistic_intercept.tall(), "binomial", 1.0)
    if name in ("WRT", "WR"):
        return (*harness(name), "gaussian", 0.0)
    raise SystemExit(f"unknown problem {name}")


def run_regml(csv, family, alpha, out):
    subprocess.run([os.path.join(ROOT, "target", "release", "regml"), "cv", "--data", csv,
                    "--target", "y", "--foldid", "fold", "--family", family,
                    "--alpha", repr(alpha), "--json", out], check=True,
                   stdout=subprocess.DEVNULL)
    fit = json.load(open(out))
    return {"seconds": fit["fit_seconds"], "lambdas": fit["lambdas"],
            "intercepts": fit["intercepts"], "coefficients": fit["coefficients"],
            "lambda_min": fit["lambda_min"], "lambda_1se": fit["lambda_1se"]}


def run_glmnet(script, csv, family, alpha, th, out):
    subprocess.run(["Rscript", script, csv, family, repr(alpha), th, out], check=True)
    fit = json.load(open(out))
    fit["seconds"] = fit["seconds"][0]
    fit["lambda_min"] = fit["lambda_min"][0]
    fit["lambda_1se"] = fit["lambda_1se"][0]
    return fit


def bench(name, repeat, tmp, thresholds):
    x, y, family, alpha = problem(name)
    n, p = x.shape
    fold = np.random.default_rng(0).permutation(n) % 10 + 1
    csv = os.path.join(tmp, f"{name}.csv")
    header = ",".join([f"x{j}" for j in range(p)] + ["y", "fold"])
    yfmt = "%d" if family == "binomial" else "%.17g"
    np.savetxt(csv, np.column_stack([x, y, fold]), delimiter=",", header=header, comments="",
               fmt=["%.17g"] * p + [yfmt, "%d"])
    script = os.path.join(tmp, "cv.R")
    open(script, "w").write(R_SCRIPT)
    contenders = [("regml", "default")] + [("glmnet", f"thresh {th}") for th in thresholds]
    best = {}
    for _ in range(repeat):
        for who, mode in contenders:
            out = os.path.join(tmp, f"{name}.{who}.json")
            if who == "regml":
                fit = run_regml(csv, family, alpha, out)
            else:
                fit = run_glmnet(script, csv, family, alpha, mode.split()[1], out)
            key = (who, mode)
            times = best.get(key, (None, []))[1] + [fit["seconds"]]
            if key not in best or fit["seconds"] < best[key][0]["seconds"]:
                best[key] = (fit, times)
            else:
                best[key] = (best[key][0], times)
    xs, sd = gaps.standardized(x)
    print(f"\n{name}: {n} x {p}, {family}, alpha {alpha}, 10 folds\n")
    print("| contender | mode | time (s) | all runs (s) | lambdas | worst rel. gap |"
          " from the 2nd lambda | lambda.min | lambda.1se | ratio to regml |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    base = best[("regml", "default")][0]["seconds"]
    for key in contenders:
        fit, times = best[key]
        g = [gaps.relative_gap_intercept(family, x, xs, sd, y, lam, alpha, a0, np.array(c))
             for lam, a0, c in zip(fit["lambdas"], fit["intercepts"], fit["coefficients"])]
        rest = f"{max(g[1:]):.2e}" if len(g) > 1 else "-"
        runs = " ".join(f"{t:.3f}" for t in times)
        print(f"| {key[0]} | {key[1]} | {fit['seconds']:.3f} | {runs} | {len(fit['lambdas'])} |"
              f" {max(g):.2e} | {rest} | {fit['lambda_min']:.6g} | {fit['lambda_1se']:.6g} |"
              f" {fit['seconds'] / base:.2f} |")


def main():
    args = sys.argv[1:]
    repeat = 1
    if "--repeat" in args:
        k = args.index("--repeat")
        repeat = max(1, int(args[k + 1]))
        del args[k: k + 2]
    thresholds = THRESHOLDS
    if "--thresholds" in args:
        k = args.index("--thresholds")
        thresholds = args[k + 1].split(",")
        del args[k: k + 2]
    which = args or ["diabetes", "breast_cancer", "W1", "W4", "tall"]
    missing = [w for w in which if w in ("W1", "W4", "WRT", "WR")
               and not os.path.exists(os.path.join(HERE, "data", f"{w}.json"))]
    if missing:
        subprocess.run([sys.executable, os.path.join(HERE, "gen_data.py"), *missing], check=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "regml-cli"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in which:
            bench(name, repeat, tmp, thresholds)


if __name__ == "__main__":
    main()
