#!/usr/bin/env bash
# Install Debian's Chromium for the web app's browser tests (Playwright drives the system browser;
# a Playwright browser download does not work everywhere). Idempotent: does nothing if present.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    echo "chromium already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then
    SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
echo "chromium installed"
