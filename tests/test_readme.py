"""The README's Python quickstart runs as written (a README that lies is worse than none)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import folium

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_quickstart_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README has a Python quickstart"
    scope: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(blocks[0], str(README), "exec"), scope)
    assert isinstance(scope["fmap"], folium.Map)
    routes, grids = scope["routes"], scope["grids"]
    assert set(routes["grid_id"]) == set(grids["grid_id"])
    assert scope["plan"].optimal
