#!/usr/bin/env bash
# The meeting report's needs: a CJK font for matplotlib (fonts-noto-cjk, fonts-wqy-zenhei) and
# poppler-utils (pdftoppm, pdftotext, pdfinfo) for tests/test_report.py. Idempotent.
set -euo pipefail
missing=()
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
[ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || missing+=(fonts-noto-cjk)
[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || missing+=(fonts-wqy-zenhei)
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
pdftoppm -v 2>&1 | head -1
