"""The offline map page in headless Chromium with the network off (slow: starts a browser).

The page must draw the grid polygons, the heat canvas (with pixels on it), the layer control, the
legend, the title, the grid codes and the time slider, load nothing from the network and log no
error; moving the slider to the first month must recolour the grids by that month's tiers (as
``grid_stats(period="month")`` computes them) and moving it back must restore the year's. The
screenshots are kept in ``test-artifacts/`` (git-ignored) for people to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gridkit.hotspots import hotspots, kde_surface
from gridkit.incidents import grid_stats, prepare_incidents
from gridkit.maps import LABELS, TIER_COLOURS, save_map
from gridkit.maps import map as gridkit_map

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
    # zh: every layer on; en: the default view (grids and hot spots, the rest in the layer control)
    show = ("grids", "hotspots", "heat", "wardens") if lang == "zh" else None
    fmap = gridkit_map(grids, prepared, spots, wardens=sample.wardens, kde=kde_surface(prepared.incidents),
                       lang=lang, offline=True, show=show, title="锦官街道" if lang == "zh" else None)
    page = save_map(fmap, tmp_path / f"map_{lang}.html")
    shot = ARTIFACTS / f"incidents_map_{lang}.png"
    report = browser.probe_page(page, screenshot=shot)
    assert report["errors"] == []
    # grid polygons and warden circles take the mouse (hot-spot outlines and community outlines do not)
    assert report["paths"] == len(grids) + (len(sample.wardens) if lang == "zh" else 0)
    assert len(report["grid_fills"]) == len(grids)
    assert report["heat_canvases"] == (1 if lang == "zh" else 0)
    if lang == "zh":
        assert report["heat_painted_samples"] > 1000  # the heat canvas is not blank
        assert 0 < report["slider_painted_samples"] < report["heat_painted_samples"]  # one month, less heat
    assert report["layer_control"] == 1
    assert report["layer_entries"] == 5  # grids, kde, hot spots, heat, wardens
    assert report["legend"] == 1
    assert report["time_slider"] == 1
    assert report["tiles"] == 0
    assert report["labels_shown"] >= len(grids) // 2  # grid codes where they fit
    assert ("锦官街道" if lang == "zh" else "Grid incident map") in report["title"]
    assert f"{len(grids)}" in report["title"]
    assert shot.exists()
    assert shot.stat().st_size > 10_000


def _tier_fills(tiers) -> list[str]:
    return [TIER_COLOURS.get(str(t), TIER_COLOURS["none"]) for t in tiers]


def test_time_slider_recolours_the_grids_by_the_months_tiers(layers, tmp_path):
    grids, prepared = layers
    page = save_map(gridkit_map(grids, prepared, offline=True), tmp_path / "slider.html")
    report = browser.probe_page(page, screenshot=ARTIFACTS / "incidents_map_first_month.png")
    assert report["errors"] == []
    monthly = grid_stats(prepared, grids, period="month")
    first = sorted(monthly["period"].unique())[0]
    tiers = monthly[monthly["period"] == first].set_index("grid_id")["tier"]
    ids = grids["grid_id"].astype(str)
    assert report["grid_fills"] == _tier_fills(grids["tier"])  # the whole year's tiers
    assert report["grid_fills_period"] == _tier_fills(tiers.reindex(ids))  # the first month's
    assert report["grid_fills_period"] != report["grid_fills"]
    assert report["grid_fills_back"] == report["grid_fills"]  # back to all: the year's colours again
    assert report["slider_caption"].startswith(f"时段: {first} (")
    # hovering a grid shows the month's count and tier; leaving it keeps the month's colour
    code = ids.iloc[0]
    tooltip = re.sub(r"\s+", "", report["hover_tooltip"])
    assert first in tooltip
    assert code in tooltip
    month = monthly[(monthly["period"] == first) & (monthly["grid_id"] == code)].iloc[0]
    assert f"事件数{month['count']}" in tooltip
    assert f"等级{LABELS['zh'][month['tier']]}" in tooltip
    assert report["hover_fill"] == report["grid_fills_period"][0]


def test_time_slider_reclassifies_a_metric_by_week(layers, tmp_path):
    grids, prepared = layers
    fmap = gridkit_map(grids, prepared, column="per_100_households", time_slider="week", lang="en", offline=True)
    report = browser.probe_page(save_map(fmap, tmp_path / "weekly.html"))
    assert report["errors"] == []
    assert report["grid_fills_period"] != report["grid_fills"]
    assert report["grid_fills_back"] == report["grid_fills"]
    week = report["slider_caption"].split(": ")[1].split(" ")[0]
    assert week in report["legend_period"]  # the legend shows the week's classes
    assert "Incidents per 100 households" in report["legend_period"]


def test_a_remote_script_would_be_caught(tmp_path):
    """The probe is not blind: a page that fetches from the network reports the failure."""
    page = tmp_path / "remote.html"
    page.write_text('<html><head><script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js">'
                    "</script></head><body><script>L.map</script></body></html>", encoding="utf-8")
    report = browser.probe_page(page)
    assert any("leaflet" in e or "L is not defined" in e for e in report["errors"])
