#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need (fonts for PNG plots,
# Chromium and ChromeDriver for the explorer's end-to-end test), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo test --workspace --release
