#!/usr/bin/env bash
# Installs the peers the benchmark compares against (not needed by the tests):
# R glmnet from Debian; scikit-learn, skglm, celer, numpy and PyTorch from PyPI; Fashion-MNIST.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! Rscript -e "library(glmnet); library(jsonlite)" >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq r-cran-glmnet r-cran-jsonlite
fi
python3 -m pip install -q numpy scikit-learn skglm celer
# PyTorch for the network benchmark N1 (several GB with its CUDA libraries), and its data
python3 -m pip install -q torch
bash "$(dirname "$0")/../scripts/install-data.sh"
