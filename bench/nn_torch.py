"""Workload N1 in PyTorch: Fashion-MNIST, 784-512-256-10 ReLU MLP, dropout 0.3, Keras-style
L2 1e-5 on kernels (added to the loss as l2*sum w^2), AdamW(lr 1e-3, weight_decay 1e-2, no
decay on biases), batch 128, shuffled every epoch; Glorot-uniform kernels and zero biases as
in regml. Prints one JSON object: seconds per epoch (training steps only) and test accuracy.

Usage: python3 bench/nn_torch.py [--epochs 10] [--threads 2] [--seed 0]
"""
import argparse
import gzip
import json
import time

import numpy as np
import torch

DIR = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(prefix):
    x = idx(f"{DIR}/{prefix}-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255.0
    y = idx(f"{DIR}/{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    layers = [torch.nn.Linear(784, 512), torch.nn.Linear(512, 256), torch.nn.Linear(256, 10)]
    for l in layers:
        torch.nn.init.xavier_uniform_(l.weight)
        torch.nn.init.zeros_(l.bias)
    model = torch.nn.Sequential(
        layers[0], torch.nn.ReLU(), torch.nn.Dropout(0.3),
        layers[1], torch.nn.ReLU(), torch.nn.Dropout(0.3),
        layers[2],
    )
    kernels = [l.weight for l in layers]
    opt = torch.optim.AdamW(
        [{"params": kernels, "weight_decay": 1e-2},
         {"params": [l.bias for l in layers], "weight_decay": 0.0}],
        lr=1e-3,
    )
    l2 = 1e-5
    n = xtr.shape[0]
    times, losses = [], []
    for _ in range(a.epochs):
        model.train()
        perm = torch.randperm(n)
        t0 = time.perf_counter()
        total = 0.0
        for i in range(0, n, 128):
            b = perm[i : i + 128]
            opt.zero_grad(set_to_none=True)
            out = model(xtr[b])
            loss = torch.nn.functional.cross_entropy(out, ytr[b])
            loss = loss + l2 * sum((w * w).sum() for w in kernels)
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
        times.append(time.perf_counter() - t0)
        losses.append(total / n)
    model.eval()
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    print(json.dumps(dict(contender="pytorch", torch=torch.__version__, threads=a.threads,
                          epochs=a.epochs, epoch_seconds=times, loss=losses, test_accuracy=acc)))


if __name__ == "__main__":
    main()
