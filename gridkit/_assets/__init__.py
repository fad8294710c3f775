"""Third-party browser assets for offline maps: Leaflet and Leaflet.heat from their npm packages.

The files are kept in ``gridkit/_assets/vendor/`` (208 KB, shipped as package data) so that a fresh
install draws offline maps with no network and no npm. :func:`fetch_assets` refreshes them with
``npm pack`` from the npm registry at the pinned versions below (``python -m gridkit._assets``) and
writes them there, or, when the package folder is not writable, to ``$GRIDKIT_ASSETS`` or
``~/.cache/gridkit/assets``. :func:`asset_text` finds them there and fetches them once when they are
missing and ``npm`` is at hand.

Licences: Leaflet 1.9.4 (BSD-2-Clause, © Vladimir Agafonkin, CloudMade), Leaflet.heat 0.2.0
(BSD-2-Clause, © Vladimir Agafonkin; bundles simpleheat, BSD-2-Clause). Their LICENSE files are
written beside the assets and inlined as comments into offline pages.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from gridkit.errors import GridkitError

__all__ = ["ASSETS", "PACKAGES", "asset_dir", "asset_text", "fetch_assets"]

#: npm package -> version (pinned).
PACKAGES = {"leaflet": "1.9.4", "leaflet.heat": "0.2.0"}
#: asset name -> (npm package, path inside the package tarball).
ASSETS = {
    "leaflet.js": ("leaflet", "package/dist/leaflet.js"),
    "leaflet.css": ("leaflet", "package/dist/leaflet.css"),
    "images/layers.png": ("leaflet", "package/dist/images/layers.png"),
    "images/layers-2x.png": ("leaflet", "package/dist/images/layers-2x.png"),
    "images/marker-icon.png": ("leaflet", "package/dist/images/marker-icon.png"),
    "images/marker-icon-2x.png": ("leaflet", "package/dist/images/marker-icon-2x.png"),
    "images/marker-shadow.png": ("leaflet", "package/dist/images/marker-shadow.png"),
    "LICENSE-leaflet.txt": ("leaflet", "package/LICENSE"),
    "leaflet-heat.js": ("leaflet.heat", "package/dist/leaflet-heat.js"),
    "LICENSE-leaflet.heat.txt": ("leaflet.heat", "package/LICENSE"),
}

_HERE = Path(__file__).resolve().parent


def _candidates() -> list[Path]:
    found = [_HERE / "vendor"]
    if os.environ.get("GRIDKIT_ASSETS"):
        found.insert(0, Path(os.environ["GRIDKIT_ASSETS"]))
    found.append(Path.home() / ".cache" / "gridkit" / "assets")
    return found


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in ASSETS)


def asset_dir(*, fetch: bool = True) -> Path:
    """The folder holding every asset; fetched with npm when none does and ``fetch`` is true."""
    for folder in _candidates():
        if _complete(folder):
            return folder
    if not fetch:
        raise GridkitError("offline map assets are missing; run `python -m gridkit._assets` (needs npm)")
    return fetch_assets()


def fetch_assets(dest: str | os.PathLike[str] | None = None) -> Path:
    """Take the assets from their npm packages (``npm pack``) and write them to ``dest``.

    ``dest`` defaults to the first writable of ``$GRIDKIT_ASSETS``, ``gridkit/_assets/vendor`` and
    ``~/.cache/gridkit/assets``. Returns the folder written.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise GridkitError("offline map assets are missing and npm is not installed to fetch them "
                           f"(npm packages {', '.join(f'{k}@{v}' for k, v in PACKAGES.items())})")
    targets = [Path(dest)] if dest is not None else _candidates()
    with tempfile.TemporaryDirectory(prefix="gridkit-assets-") as tmp:
        specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
        done = subprocess.run([npm, "pack", "--silent", *specs], cwd=tmp, capture_output=True, text=True,
                              timeout=300, check=False)
        if done.returncode != 0:
            raise GridkitError(f"npm pack {' '.join(specs)} failed: {done.stderr.strip()[-500:]}")
        tarballs = {name: Path(tmp) / f"{name}-{version}.tgz" for name, version in PACKAGES.items()}
        files: dict[str, bytes] = {}
        for asset, (package, member) in ASSETS.items():
            with tarfile.open(tarballs[package]) as tar:
                handle = tar.extractfile(member)
                if handle is None:
                    raise GridkitError(f"{member} not found in npm package {package}")
                files[asset] = handle.read()
    for folder in targets:
        try:
            (folder / "images").mkdir(parents=True, exist_ok=True)
            for asset, content in files.items():
                (folder / asset).write_bytes(content)
        except OSError:
            continue
        return folder
    raise GridkitError("no writable folder for the offline map assets; set GRIDKIT_ASSETS")


def asset_text(name: str) -> str:
    """The text of one asset; ``leaflet.css`` comes with its images inlined as data URIs."""
    folder = asset_dir()
    text = (folder / name).read_text(encoding="utf-8")
    if name.endswith(".css"):
        def inline(match: re.Match[str]) -> str:
            path = folder / match.group(1)
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            return f"url(data:image/png;base64,{data})"

        text = re.sub(r"url\((images/[\w.-]+\.png)\)", inline, text)
    return text


def licence_banner() -> str:
    """A short comment naming the assets, their versions and licences."""
    return (f"Leaflet {PACKAGES['leaflet']} and Leaflet.heat {PACKAGES['leaflet.heat']} (with simpleheat): "
            "BSD-2-Clause, (c) Vladimir Agafonkin, CloudMade. Taken from their npm packages by gridkit.")
