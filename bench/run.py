#!/usr/bin/env python3
"""Benchmark harness: regml against R glmnet, scikit-learn, celer and skglm in one run.

Usage (from the repository root):
  bash bench/install-peers.sh          # once per machine
  python3 bench/run.py [W1 W2 W3 W4] [--only regml,glmnet,...] [--repeat K] [--no-matched]
                                       # generates missing data, runs everything, prints tables
                                       # (--no-matched: the peers at their defaults only)

Every contender solves the same problem (no intercept, no standardization, the same explicit
100-lambda grid), is warmed up, and is timed in-process around its path fit only. Its worst
relative duality gap along the path is computed by one shared evaluator (bench/gaps.py) from
the coefficients it returns. The ratio column is time / regml's time. With --repeat K every
contender runs K times, each in a fresh process, and its time is the fastest of the K (the
least disturbed by other load on a shared machine); all K times are kept in the JSON rows.
The K runs are taken in rounds: a first round over all contenders (which also calibrates the
matched tolerances), then K - 1 rounds that run each contender once in turn, so that a busy
spell of a shared machine lands on every contender, not on one. The worst gap reported is the
worst over all timed runs. A contender that fails in a later round keeps the times it has, with
the failure in its row's "later_error", and sits out the remaining rounds.

Modes: regml runs at its default tolerance (relative gap <= 1e-6 at every lambda), and
"glmnet-accuracy": at the worst relative gap glmnet's default reached in the first round (its
target tol set to that gap, rounded down to two digits), so that regml is at least as accurate
at every lambda as glmnet is at its worst. Each peer
runs at its package default and "matched": its tolerance ladder (LADDER) is tried from loose
to tight, one run each, and the loosest tolerance whose worst relative gap is <= 1e-6 is
the matched run (timed K times with --repeat K). A peer that does not get there on its whole
ladder is reported at its tightest tolerance with matched = false. Every ladder step is kept
in the JSON row (calibration).
Results go to bench/results/results.json and bench/results/results.md.
"""
import json
import os
import subprocess
import sys
import time

# The harness's own arithmetic (the gap evaluator) runs on one thread: a multithreaded BLAS
# keeps its worker threads spinning for a while after each call, and they would compete with
# the contender started next (set before numpy is imported).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gaps import relative_gap  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data")
OUT = os.path.join(HERE, "results")

CONTENDERS = [
    ("regml", "default"),
    ("glmnet", "default"),
    ("regml", "glmnet-accuracy"),
    ("glmnet", "matched"),
    ("sklearn", "default"),
    ("sklearn", "matched"),
    ("celer", "default"),
    ("celer", "matched"),
    ("skglm", "default"),
    ("skglm", "matched"),
]
# accuracy every contender is matched at: worst relative duality gap along the path
TARGET_GAP = 1e-6
# tolerances tried, loose to tight (glmnet: thresh; the others: tol)
LADDER = {
    "glmnet": [1e-9, 1e-10, 1e-11, 1e-12, 1e-13, 1e-14],
    "sklearn": [1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10],
    "celer": [1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10],
    "skglm": [1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10],
}
TIMEOUT = 900


def applicable(contender, prob):
    # penalty factors: regml and glmnet only
    if "penalty_factor" in prob and contender not in ("regml", "glmnet"):
        return False
    return not (contender == "celer" and prob["family"] != "gaussian")


def command(contender, mode, pid):
    if contender == "regml":
        return [os.path.join(ROOT, "target", "release", "examples", "bench_path"), pid, DATA, OUT,
                mode]
    if contender == "glmnet":
        return ["Rscript", os.path.join(HERE, "run_glmnet.R"), mode, pid, OUT]
    return [sys.executable, os.path.join(HERE, "run_peer.py"), contender, mode, pid, OUT]


def main():
    args = sys.argv[1:]
    only = None
    if "--only" in args:
        k = args.index("--only")
        only = set(args[k + 1].split(","))
        del args[k : k + 2]
    matched = "--no-matched" not in args
    args = [a for a in args if a != "--no-matched"]
    repeat = 1
    if "--repeat" in args:
        k = args.index("--repeat")
        repeat = max(1, int(args[k + 1]))
        del args[k : k + 2]
    which = args or ["W1", "W2", "W3", "W4"]
    os.makedirs(OUT, exist_ok=True)
    missing = [w for w in which if not os.path.exists(os.path.join(DATA, f"{w}.json"))]
    if missing:
        subprocess.run([sys.executable, os.path.join(HERE, "gen_data.py"), *missing], check=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "regml", "--example", "bench_path"],
                   cwd=ROOT, check=True)
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2", MKL_NUM_THREADS="2")
    results = []
    for w in which:
        meta = json.load(open(os.path.join(DATA, f"{w}.json")))
        n, p = meta["n"], meta["p"]
        x = np.fromfile(os.path.join(DATA, f"{w}.x.f64"), dtype="<f8").reshape(p, n).T
        y = np.fromfile(os.path.join(DATA, f"{w}.y.f64"), dtype="<f8")
        for prob in meta["problems"]:
            entries = [(c, m) for c, m in CONTENDERS
                       if applicable(c, prob) and not (only and c not in only)
                       and (matched or m != "matched")]
            entries = [e for e in entries
                       if e != ("regml", "glmnet-accuracy") or ("glmnet", "default") in entries]
            for row in run_problem(prob, entries, repeat, x, y, p, env):
                results.append(row)
                print(json.dumps(row), flush=True)
    json.dump(results, open(os.path.join(OUT, "results.json"), "w"), indent=1)
    md = table(results)
    open(os.path.join(OUT, "results.md"), "w").write(md)
    print(md)


def run_problem(prob, entries, repeat, x, y, p, env):
    """Runs every contender on one problem: a first round that also calibrates the matched
    tolerances, then `repeat - 1` rounds taking the contenders in turn, so that a busy spell
    of a shared machine falls on all of them rather than on one."""
    pid, lams = prob["id"], prob["lambdas"]

    def once(contender, m):
        subprocess.run(command(contender, m, pid), check=True, env=env,
                       timeout=TIMEOUT, capture_output=True, text=True)
        tag = f"{pid}.{contender}.{m}"
        info = json.load(open(os.path.join(OUT, tag + ".json")))
        coefs = np.fromfile(os.path.join(OUT, tag + ".coef.f64"), dtype="<f8")
        coefs = coefs.reshape(len(lams), p)
        g = [relative_gap(prob["family"], x, y, lam, prob["alpha"], coefs[k],
                          prob.get("penalty_factor"))
             for k, lam in enumerate(lams)]
        return info["seconds"], g, info.get("tol", info.get("thresh"))

    def attempt(row, run):
        t0 = time.time()
        try:
            return run()
        except subprocess.TimeoutExpired:
            row.update(error=f"timeout after {TIMEOUT} s")
        except subprocess.CalledProcessError as e:
            row.update(error=(e.stderr or "").strip().splitlines()[-1:] or ["failed"])
        except RuntimeError as e:
            row.update(error=str(e))
        finally:
            row["wall"] = row.get("wall", 0.0) + time.time() - t0
        return None

    rows, state = [], []
    for contender, mode in entries:
        row = {"problem": pid, "contender": contender, "mode": mode}

        def first(contender=contender, mode=mode, row=row):
            if mode == "glmnet-accuracy":
                # regml at the worst gap glmnet's default reached in this round
                ref = next((st for (c, m), st in zip(entries, state)
                            if (c, m) == ("glmnet", "default")), None)
                if ref is None:
                    raise RuntimeError("needs the glmnet default run")
                tol = float(f"{ref[2]:.1e}")
                tol = tol if tol <= ref[2] else float(f"{ref[2] * 0.95:.1e}")
                row.update(reference_gap=ref[2])
                m = f"tol={tol:g}"
                return m, once(contender, m)
            if mode != "matched":
                return mode, once(contender, mode)
            calibration = []
            for tol in LADDER[contender]:
                m = f"tol={tol:g}"
                secs, g, used = once(contender, m)
                calibration.append({"tol": tol, "seconds": secs, "worst_gap": float(max(g))})
                if max(g) <= TARGET_GAP:
                    break
            row.update(calibration=calibration, matched=bool(max(g) <= TARGET_GAP))
            return m, (secs, g, used)

        got = attempt(row, first)
        rows.append(row)
        # (mode argument, times, worst gap of any timed run, last gaps, tolerance used)
        state.append(None if got is None else
                     [got[0], [got[1][0]], max(got[1][1]), got[1][1], got[1][2]])
    for _ in range(repeat - 1):
        for (contender, _), row, st in zip(entries, rows, state):
            if st is None or "later_error" in row:
                continue
            got = attempt(row, lambda: once(contender, st[0]))
            if got is None:
                # the first round's result stands; this contender sits out the other rounds
                row["later_error"] = row.pop("error")
                continue
            st[1].append(got[0])
            st[2] = max(st[2], max(got[1]))
            st[3] = got[1]
    for row, st in zip(rows, state):
        if st is None:
            continue
        _, times, worst, last, used = st
        row.update(tol=used, seconds=min(times), all_seconds=times, worst_gap=float(worst),
                   median_gap=float(np.median(last)))
    return rows


def table(results):
    lines = []
    for pid in dict.fromkeys(r["problem"] for r in results):
        rows = [r for r in results if r["problem"] == pid]
        base = next((r.get("seconds") for r in rows
                     if (r["contender"], r["mode"]) == ("regml", "default")), None)
        lines.append(f"\n{pid}\n")
        lines.append("| contender | mode | tolerance | time (s) | worst rel. gap | ratio to regml |")
        lines.append("|---|---|---|---|---|---|")
        for r in rows:
            if "seconds" not in r:
                lines.append(f"| {r['contender']} | {r['mode']} | - | - | {r.get('error')} | - |")
                continue
            ratio = r["seconds"] / base if base else float("nan")
            mode = r["mode"] if r.get("matched", True) else f"{r['mode']} (not reached)"
            lines.append(f"| {r['contender']} | {mode} | {r['tol']:g} | {r['seconds']:.3f} | "
                         f"{r['worst_gap']:.1e} | {ratio:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
