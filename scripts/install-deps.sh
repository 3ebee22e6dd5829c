#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain. Reference values from R glmnet,
# scikit-learn and PyTorch are committed as small fixture files, so no peer is needed.
# - fonts (Debian fonts-dejavu-core): text in PNG plots is drawn with the system's fonts.
set -euo pipefail
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "need root to run: $*" >&2; return 1; fi
}

apt_install() {
    command -v apt-get >/dev/null || { echo "not a Debian system: install $* by hand" >&2; return 1; }
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

if ! find /usr/share/fonts /usr/local/share/fonts -name '*.ttf' -o -name '*.otf' 2>/dev/null | grep -q .; then
    apt_install fonts-dejavu-core
fi

# - Chromium and its WebDriver (Debian chromium, chromium-driver): the explorer's end-to-end
#   test drives `regml explore` in headless Chromium.
if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
    apt_install chromium chromium-driver
fi

# - `script` (Debian bsdutils, part of every Debian install): the CLI's progress-bar test runs
#   `regml` on a pseudo-terminal.
if ! command -v script >/dev/null; then
    apt_install bsdutils
fi
