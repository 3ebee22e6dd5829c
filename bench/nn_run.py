"""Benchmark N1: regml vs PyTorch on Fashion-MNIST (784-512-256-10 ReLU MLP, dropout 0.3,
L2 1e-5 on kernels, AdamW lr 1e-3 wd 1e-2, batch 128, 10 epochs, 2 threads), run one after
the other in the same session. Reports seconds per epoch (median over epochs, training steps
only) and test accuracy after the last epoch, and the ratio regml / PyTorch.

Setup: bash bench/install-peers.sh; cargo build --release
Usage: python3 bench/nn_run.py [--epochs 10] [--rounds 1] [--out bench/results/nn.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_regml(epochs, seed):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "n1.json")
        cmd = [
            os.path.join(ROOT, "target", "release", "regml"), "nn", "train",
            "--dataset", "fashion-mnist", "--layers", "512,256", "--activation", "relu",
            "--dropout", "0.3", "--l2", "1e-5", "--optimizer", "adamw", "--lr", "1e-3",
            "--weight-decay", "1e-2", "--epochs", str(epochs), "--batch-size", "128",
            "--validation-split", "0", "--threads", "2", "--seed", str(seed), "--quiet",
            "--json", out,
        ]
        env = dict(os.environ, RAYON_NUM_THREADS="2")
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
        with open(out) as f:
            j = json.load(f)
    return dict(
        contender="regml",
        epoch_seconds=[e["seconds"] for e in j["history"]["epochs"]],
        loss=[e["loss"] for e in j["history"]["epochs"]],
        test_accuracy=j["test_accuracy"],
    )


def run_torch(epochs, seed):
    cmd = [sys.executable, os.path.join(ROOT, "bench", "nn_torch.py"), "--epochs", str(epochs),
           "--threads", "2", "--seed", str(seed)]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "nn.json"))
    a = ap.parse_args()
    results = []
    for r in range(a.rounds):
        for run in (run_regml, run_torch):
            res = run(a.epochs, r)
            res["round"] = r
            res["median_epoch_seconds"] = statistics.median(res["epoch_seconds"])
            results.append(res)
            print(f"round {r} {res['contender']:>8}: {res['median_epoch_seconds']:.3f} s/epoch, "
                  f"test accuracy {res['test_accuracy']:.4f}", flush=True)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(results, f, indent=1)
    print("\n| contender | s/epoch (median) | test accuracy | ratio to PyTorch |")
    print("|---|---|---|---|")
    for r in range(a.rounds):
        ours = next(x for x in results if x["round"] == r and x["contender"] == "regml")
        torch = next(x for x in results if x["round"] == r and x["contender"] == "pytorch")
        for x in (ours, torch):
            ratio = x["median_epoch_seconds"] / torch["median_epoch_seconds"]
            print(f"| {x['contender']} (round {r}) | {x['median_epoch_seconds']:.3f} | "
                  f"{x['test_accuracy']:.4f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
