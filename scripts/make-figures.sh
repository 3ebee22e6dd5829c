#!/usr/bin/env bash
# Regenerates the example figures in docs/figures/ (all from embedded or simulated data, with
# fixed seeds). Usage: bash scripts/make-figures.sh [svg|png]
set -euo pipefail
cd "$(dirname "$0")/.."
fmt="${1:-svg}"
out=docs/figures
mkdir -p "$out"
cargo build --release --quiet
regml=target/release/regml
$regml path --dataset diabetes --plot "$out/path-diabetes.$fmt" >/dev/null
$regml path --dataset breast_cancer --family binomial --alpha 0.5 --xvar norm \
    --plot "$out/path-breast-cancer-norm.$fmt" >/dev/null
$regml cv --dataset diabetes --plot "$out/cv-diabetes.$fmt" >/dev/null
$regml nn train --dataset digits --layers 64 --epochs 40 --l1 1e-3 --l1-mode proximal \
    --validation-split 0.2 --patience 5 --seed 0 --quiet \
    --plot "$out/history-digits.$fmt" --plot-weights "$out/weights-digits.$fmt" >/dev/null
for demo in polynomial geometry sparsity overfitting; do
    $regml demo "$demo" --format "$fmt" --out "$out" >/dev/null
done
$regml demo polynomial --basis legendre --format "$fmt" --out "$out/legendre" >/dev/null
if [ -d /usr/share/datasets/fashion-mnist ]; then
    $regml demo overfitting --dataset fashion-mnist --format "$fmt" --out "$out" >/dev/null
else
    echo "Fashion-MNIST missing (sudo bash scripts/install-data.sh): overfitting-curves-fashion-mnist not redrawn" >&2
fi
ls "$out"
