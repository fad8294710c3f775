"""``python -m gridkit._assets [DEST]``: fetch the offline map assets from npm."""

import sys

from gridkit._assets import fetch_assets

print(fetch_assets(sys.argv[1] if len(sys.argv) > 1 else None))
