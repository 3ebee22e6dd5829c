#!/usr/bin/env python3
"""Regenerate the embedded datasets in this folder from scikit-learn's bundled copies.

Each output is a gzipped CSV with a header row: feature columns first, the target last.
Usage: python3 crates/regml/data/make_datasets.py   (needs scikit-learn)
"""
import gzip
import io
import os

import numpy as np
from sklearn import datasets

OUT = os.path.dirname(os.path.abspath(__file__))


def write(name, header, x, y, fmt_x, fmt_y):
    buf = io.StringIO()
    buf.write(",".join(header) + "\n")
    for row, target in zip(x, y):
        buf.write(",".join(fmt_x(v) for v in row) + "," + fmt_y(target) + "\n")
    path = os.path.join(OUT, name + ".csv.gz")
    # mtime=0 keeps the output byte-identical between runs
    with open(path, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, compresslevel=9) as g:
            g.write(buf.getvalue().encode())
    print(path, x.shape)


def num(v):
    return repr(float(v)) if float(v) != int(v) else str(int(v))


d = datasets.load_diabetes(scaled=False)
write("diabetes", ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "progression"],
      d.data, d.target, num, num)

b = datasets.load_breast_cancer()
names = [n.replace(" ", "_") for n in b.feature_names]
write("breast_cancer", names + ["benign"], b.data, b.target, num, num)

g = datasets.load_digits()
names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
write("digits", names + ["digit"], g.data.astype(np.int64), g.target, num, num)
