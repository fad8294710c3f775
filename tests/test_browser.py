"""The offline map page in headless Chromium with the network off (slow: starts a browser).

The page must draw the grid polygons, the heat canvas (with pixels on it), the layer control, the
legend and the time slider, load nothing from the network and log no error. A screenshot is kept
in ``test-artifacts/`` (git-ignored) for people to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gridkit.hotspots import hotspots, kde_surface
from gridkit.incidents import grid_stats, prepare_incidents
from gridkit.maps import map as gridkit_map
from gridkit.maps import save_map

browser = pytest.importorskip("incidents_browser", reason="scripts/incidents_browser.py not importable")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(browser.chromium() is None, reason="chromium not installed (bash .ci/browser.sh)")]

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="module")
def layers(sample, sample_result):
    grids = sample_result.grids
    prepared = prepare_incidents(sample.folder / "incidents.csv", grids)
    with_stats = grids.merge(grid_stats(prepared, grids).drop(columns=["households"]), on="grid_id")
    return with_stats, prepared


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_offline_page_draws_in_headless_chromium(layers, sample, tmp_path, lang):
    grids, prepared = layers
    spots = hotspots(grids, "count")
    fmap = gridkit_map(grids, prepared, spots, wardens=sample.wardens, kde=kde_surface(prepared.incidents),
                       lang=lang, offline=True)
    page = save_map(fmap, tmp_path / f"map_{lang}.html")
    shot = ARTIFACTS / f"incidents_map_{lang}.png"
    report = browser.probe_page(page, screenshot=shot)
    assert report["errors"] == []
    # grid polygons + hot-spot polygons + warden circles are SVG paths
    assert report["paths"] >= 2 * len(grids) + len(sample.wardens)
    assert report["heat_canvases"] == 1
    assert report["heat_painted_samples"] > 1000  # the heat canvas is not blank
    assert report["layer_control"] == 1
    assert report["layer_entries"] == 5  # grids, kde, hot spots, heat, wardens
    assert report["legend"] == 1
    assert report["time_slider"] == 1
    assert report["tiles"] == 0
    assert shot.exists()
    assert shot.stat().st_size > 10_000


def test_a_remote_script_would_be_caught(tmp_path):
    """The probe is not blind: a page that fetches from the network reports the failure."""
    page = tmp_path / "remote.html"
    page.write_text('<html><head><script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js">'
                    "</script></head><body><script>L.map</script></body></html>", encoding="utf-8")
    report = browser.probe_page(page)
    assert any("leaflet" in e or "L is not defined" in e for e in report["errors"])
