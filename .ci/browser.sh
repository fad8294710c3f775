#!/usr/bin/env bash
# Headless Chromium for tests/test_browser.py, and the offline map assets (Leaflet, Leaflet.heat)
# from their npm packages. Idempotent: installs only what is missing.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # fonts-noto-cjk: Chinese labels in the screenshots (the test does not need them)
    apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
fi
chromium --version
if ! command -v npm >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
python -c "from gridkit._assets import asset_dir; print('offline map assets in', asset_dir())"
