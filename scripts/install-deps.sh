#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain. The tests need nothing else:
# reference values from R glmnet and scikit-learn are committed as small fixture files.
set -euo pipefail
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)" >&2; exit 1; }
