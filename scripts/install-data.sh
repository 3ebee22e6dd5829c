#!/usr/bin/env bash
# Installs the optional data sets: Fashion-MNIST (Debian package dataset-fashion-mnist, IDX
# files in /usr/share/datasets/fashion-mnist; Xiao, Rasul, Vollgraf 2017, MIT license).
# The test suite does not need it; `regml nn train --dataset fashion-mnist` and the N1
# benchmark do.
set -euo pipefail
if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "Fashion-MNIST is installed in /usr/share/datasets/fashion-mnist"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq dataset-fashion-mnist
echo "Fashion-MNIST installed in /usr/share/datasets/fashion-mnist"
