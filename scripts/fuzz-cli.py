#!/usr/bin/env python3
"""Random-input check of the `regml` command line (run on request; not part of the tests).

Usage (from the repository root, after `cargo build --release`):
  python3 scripts/fuzz-cli.py [SEED] [RUNS]      # defaults: seed 0, 200 runs
(REGML_BINARY=PATH tries another build.)

Each run writes a small random CSV (1-40 rows, 1-12 features, a weight, an offset and a fold
column; a binomial target of labels or, in some runs, of proportions in [0, 1]; values drawn
from ordinary numbers and edge values: 0, -0, subnormals, 1e150, 1e308, ...) and calls
`regml path`, `cv`, `fit` or `ridge-cv` on it with a random subset of the options (alpha,
lambdas, grid, standardization, intercept, weights, offset, penalty factors, bounds,
tolerance, max-iter, dfmax, pmax, exclude, class weights, trials; folds, seed, measure, fold
ids, alphas), sometimes saving the model and then calling `predict`, `assess` and `coef` on
it, and on a damaged copy of it (truncated, bytes overwritten, or fields dropped, replaced or
given odd entries).

A run fails when the program panics or exits with a status other than 0, 1 or 2 (on the
damaged model too), takes over 60 s, or succeeds with NaN or infinity in its printed table or
a missing (non-finite) number among the lambdas, coefficients, intercepts, deviance ratios,
gaps or CV curve of its JSON. Each failure is printed with its command line, and its CSV is
kept as fuzz-SEED-RUN.csv in the working directory (a damaged model that failed as
fuzz-SEED-RUN.model.json). The exit status is the number of failures (at most 100).
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.environ.get("REGML_BINARY", os.path.join(ROOT, "target", "release", "regml"))


ODD_VALUES = [None, True, False, 0, -1, 1.5, 1e308, -1e308, 5e-324, 2**64, -2**63, 10**400,
              "", "x", "NaN", [], [None], [1, 2], {}, {"a": 1}]


def damage(rng, raw):
    """A damaged copy of a model file's bytes: truncated, with bytes overwritten, or (as JSON)
    with fields dropped, replaced by odd values, or lists shortened, lengthened or given odd
    entries."""
    r = rng.random()
    if r < 0.15:
        return raw[:rng.randrange(len(raw))]
    if r < 0.3:
        b = bytearray(raw)
        for _ in range(rng.randint(1, 5)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    d = json.loads(raw)
    for _ in range(rng.randint(1, 3)):
        key = rng.choice(sorted(d))
        v, u = d[key], rng.random()
        if u < 0.3:
            d[key] = rng.choice(ODD_VALUES)
        elif u < 0.45:
            del d[key]
        elif isinstance(v, list) and v:
            i = rng.randrange(len(v))
            if u < 0.6:
                v.pop(i)
            elif u < 0.75:
                v.append(v[i])
            elif isinstance(v[i], list) and v[i]:
                v[i][rng.randrange(len(v[i]))] = rng.choice(ODD_VALUES)
            else:
                v[i] = rng.choice(ODD_VALUES)
        else:
            d[key] = rng.choice(ODD_VALUES)
    text = json.dumps(d)
    # Python writes out-of-range floats as Infinity/NaN, which JSON does not have
    return (text.replace("Infinity", "1e999") if rng.random() < 0.5 else text).encode()


def main():
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    rng = random.Random(seed)

    def num():
        if rng.random() < 0.6:
            return repr(rng.gauss(0, 1) * 10 ** rng.randint(-3, 3))
        return rng.choice(["0", "1", "-0", "2", "0.5", "-3", "7", "1e20", "4.9e-324",
                           "1e-320", "1e150", "-1e150", "1e149", "1e308"])

    options = [
        ("--alpha", lambda: rng.choice(["0", "1", "0.5", "1e-9", "0.999", "-1", "2", "nan"])),
        ("--lambda", lambda: ",".join(
            rng.choice(["0", "1", "1e-12", "1e5", "0.1", "-1", "1e300", "5e-324"])
            for _ in range(rng.randint(1, 4)))),
        ("--nlambda", lambda: rng.choice(["1", "2", "3", "0", "100", "1000"])),
        ("--lambda-min-ratio", lambda: rng.choice(["0", "1", "0.5", "1e-300", "2", "1e-8"])),
        ("--no-standardize", None),
        ("--no-intercept", None),
        ("--weights", lambda: "w"),
        ("--offset", lambda: "o"),
        ("--penalty-factor", lambda: rng.choice(["0", "1", "0,1", "x0=0", "x1=0,x2=inf", "2"])),
        ("--lower-limits", lambda: rng.choice(["0", "-1", "-0.001", "x0=0", "-inf"])),
        ("--upper-limits", lambda: rng.choice(["0", "1", "0.001", "x1=0", "inf"])),
        ("--tol", lambda: rng.choice(["1e-6", "1e-12", "1e-16", "0.1", "1"])),
        ("--max-iter", lambda: rng.choice(["1", "2", "10", "100000"])),
        ("--dfmax", lambda: rng.choice(["0", "1", "3"])),
        ("--pmax", lambda: rng.choice(["0", "1", "3"])),
        ("--exclude", lambda: rng.choice(["x0", "x0,x1", "y"])),
        ("--class-weight", lambda: rng.choice(["balanced", "none"])),
        ("--trials", lambda: rng.choice(["f", "w", "y"])),
    ]
    cv_options = [
        ("--folds", lambda: rng.choice(["2", "3", "10", "1", "500"])),
        ("--seed", lambda: str(rng.randint(0, 9))),
        ("--measure", lambda: rng.choice(["mse", "mae", "deviance", "class", "auc"])),
        ("--foldid", lambda: "f"),
        ("--alphas", lambda: rng.choice(["0,1", "0.5,1", "1"])),
        ("--no-stratify", None),
    ]
    failures = 0
    work = tempfile.mkdtemp(prefix="regml-fuzz-")
    data, model, out, damaged = (os.path.join(work, f)
                                 for f in ("d.csv", "m.json", "o.json", "x.json"))

    def failed(what, args, detail):
        nonlocal failures
        failures += 1
        print(f"{what}: {' '.join(args)}\n{detail[-1500:]}")
        with open(data) as src, open(f"fuzz-{seed}-{run}.csv", "w") as dst:
            dst.write(src.read())

    def model_command_fails(command, on):
        """Runs `regml COMMAND` on a saved model; reports a timeout, a panic or an exit status
        other than 0, 1 or 2 (`on` says which model) and returns whether there was one."""
        try:
            r = subprocess.run([BINARY] + command, capture_output=True, timeout=60)
        except subprocess.TimeoutExpired:
            failed(f"timeout{on}", [BINARY] + command, "")
            return True
        if r.returncode not in (0, 1, 2) or b"panicked" in r.stderr:
            failed(f"exit status {r.returncode}{on}", [BINARY] + command,
                   r.stderr.decode(errors="replace"))
            return True
        return False

    for run in range(runs):
        n, p, binomial = rng.randint(1, 40), rng.randint(1, 12), rng.random() < 0.5
        constant = rng.random() < 0.2
        # a binomial target of proportions in [0, 1] (with edge values) instead of labels
        shares = binomial and rng.random() < 0.3

        def share():
            return repr(rng.choice([0.0, 1.0, rng.random(), 5e-324, 1 - 2**-53, 0.5]))
        with open(data, "w") as f:
            f.write(",".join(["y"] + [f"x{j}" for j in range(p)] + ["w", "o", "f"]) + "\n")
            for _ in range(n):
                if shares:
                    y = share()
                else:
                    y = str(rng.randint(0, 1)) if binomial else num()
                xs = ["5" if constant and j == 0 else num() for j in range(p)]
                w = repr(abs(rng.gauss(1, 1))) if rng.random() > 0.05 else "0"
                f.write(",".join([y] + xs + [w, num(), str(rng.randint(1, 3))]) + "\n")
        command = rng.choice(["path", "cv", "fit", "ridge-cv"])
        args = [BINARY, command, "--data", data, "--target", "y"]
        if command != "ridge-cv":
            if binomial:
                args += ["--family", "binomial"]
            for name, value in rng.sample(options, rng.randint(0, 5)):
                args += [name] + ([value()] if value else [])
            if command == "cv":
                for name, value in rng.sample(cv_options, rng.randint(0, 3)):
                    args += [name] + ([value()] if value else [])
            if command == "fit" and "--lambda" not in args:
                args += ["--lambda", rng.choice(["0.1", "1e-3"])]
            args += ["--json", out]
            if rng.random() < 0.5:
                args += ["--save", model]
        for f in (out, model):
            if os.path.exists(f):
                os.remove(f)
        try:
            r = subprocess.run(args, capture_output=True, timeout=60)
        except subprocess.TimeoutExpired:
            failed("timeout", args, "")
            continue
        if r.returncode not in (0, 1, 2) or b"panicked" in r.stderr:
            failed(f"exit status {r.returncode}", args, r.stderr.decode(errors="replace"))
            continue
        if r.returncode != 0:
            continue
        if b"NaN" in r.stdout or b"inf" in r.stdout:
            failed("NaN or infinity printed", args, r.stdout.decode(errors="replace"))
        if os.path.exists(out):
            d = json.load(open(out))
            missing = [k for k in ("lambdas", "coefficients", "intercepts", "dev_ratio",
                                   "relative_gap", "cvm") if k in d and "null" in json.dumps(d[k])]
            if missing:
                failed(f"non-finite numbers in the JSON ({', '.join(missing)})", args, "")
        if os.path.exists(model):
            offset = ["--offset", "o"] if "--offset" in args else []

            def model_commands(path, assess_extra):
                """`predict`, `assess` and `coef` on the model file `path`."""
                return (["predict", "--model", path, "--data", data] + offset,
                        ["assess", "--model", path, "--data", data, "--target", "y"]
                        + offset + assess_extra,
                        ["coef", "--model", path])

            for extra in model_commands(model, rng.choice([[], ["--weights", "w"]])):
                extra += rng.choice([[], ["--s", "lambda.min"], ["--lambda", "0.01"]])
                model_command_fails(extra, "")
            # the same commands on a damaged copy of the model file
            with open(model, "rb") as f:
                damaged_bytes = damage(rng, f.read())
            with open(damaged, "wb") as f:
                f.write(damaged_bytes)
            for extra in model_commands(damaged, []):
                extra += rng.choice([[], ["--s", "lambda.1se"], ["--lambda", "0.5"]])
                if model_command_fails(extra, " on a damaged model"):
                    with open(f"fuzz-{seed}-{run}.model.json", "wb") as f:
                        f.write(damaged_bytes)
    shutil.rmtree(work)
    print(f"seed {seed}: {runs} runs, {failures} failures")
    sys.exit(min(failures, 100))


if __name__ == "__main__":
    main()
