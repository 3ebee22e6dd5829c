#!/usr/bin/env bash
# Installs what regenerating the golden fixtures needs (not needed by the tests themselves):
# R with glmnet and jsonlite from Debian, scikit-learn from PyPI.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq r-cran-glmnet r-cran-jsonlite
python3 -m pip install -q scikit-learn
