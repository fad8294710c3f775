"""The offline map page in headless Chromium with the network off (slow: starts a browser).

Three page kinds: the grid map over the district's own streets, buildings and boundaries; the
incident map; the report preview. The incident page must draw the grid polygons, the heat canvas
(with pixels on it), the layer control, the
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
    assert report["layer_entries"] == 7  # community boundaries, office boundary, grids, kde, hot spots, heat, wardens
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


# --- the grid map over the district's own data, a map-level warning, the report preview ----------


def test_grid_map_draws_context_layers_labels_and_legend(sample, sample_result, tmp_path):
    grids = sample_result.grids
    fmap = gridkit_map(grids, communities=sample.communities, buildings=sample.buildings, streets=sample.streets,
                       title="锦官街道")
    page = save_map(fmap, tmp_path / "grid_map.html")
    report = browser.probe_page(page, screenshot=ARTIFACTS / "grid_map_context.png", size=(1400, 1000))
    assert report["errors"] == []
    assert report["paths"] == len(grids)  # grid polygons (context layers are canvases and take no mouse)
    assert report["context_canvases"] == 4  # buildings, streets, community and office boundaries
    assert report["context_labels"] == len(sample.communities)  # community names; street names wait for zoom 16
    labels = " ".join(report["label_texts"])
    assert "锦里 " in labels or "锦里" in labels  # grid labels read as community + number, not bare codes
    assert not any(t.isdigit() and len(t) > 4 for t in report["label_texts"])
    assert "等级" not in (report["legend_text"] or "")  # no tiers on a map without incidents
    assert "建筑轮廓" in report["legend_text"]
    assert report["layer_entries"] == 6  # buildings, streets, street names, communities, office, grids
    assert report["north_arrow"] == 1
    assert report["scale"] == 1
    assert report["tiles"] == 0
    assert report["notice"] is None


def test_swapped_coordinates_show_a_warning_on_the_page(layers, tmp_path):
    grids, prepared = layers
    points = prepared.incidents[["reported_at", "geometry"]].copy()
    import geopandas as gpd  # noqa: PLC0415

    swapped = points.set_geometry(gpd.points_from_xy(points.geometry.y, points.geometry.x), crs=4326)
    plain = grids.drop(columns=[c for c in grids.columns if c in {"tier", "count", "per_100_households"}])
    page = save_map(gridkit_map(plain, swapped, heat=False), tmp_path / "swapped.html")
    report = browser.probe_page(page, screenshot=ARTIFACTS / "incidents_map_swapped.png")
    assert report["errors"] == []
    assert "落在网格之外" in report["notice"]


def test_report_preview_page_draws_every_page(sample, sample_result, tmp_path):
    from gridkit.report import meeting_report  # noqa: PLC0415

    grids = sample_result.grids
    preview = tmp_path / "report.html"
    meeting_report(tmp_path / "report.pdf", grids, communities=sample.communities, buildings=sample.buildings,
                   streets=sample.streets, partition_report=sample_result.report, title="锦官街道", paper="A4",
                   preview=preview)
    report = browser.probe_page(preview, screenshot=ARTIFACTS / "report_preview.png", size=(1200, 1600))
    assert report["errors"] == []
    assert report["images"] >= 2 + len(sample.communities)
    assert report["images_drawn"] == report["images"]  # every page image decoded
    for name in sample.communities["name"]:
        assert name in report["body_text"]
