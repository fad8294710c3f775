"""maps: grids_map and gridkit.map (incidents, hot spots, routes, wardens), offline pages."""

from __future__ import annotations

import base64
import json
import re
import shutil

import folium
import geopandas as gpd
import pytest
import shapely

from gridkit._assets import ASSETS, PACKAGES, fetch_assets
from gridkit.errors import GridkitError
from gridkit.hotspots import hotspots, kde_surface
from gridkit.incidents import grid_stats, prepare_incidents
from gridkit.maps import LABELS, grids_map, offline_html, save_map
from gridkit.maps import map as gridkit_map


@pytest.fixture(scope="module")
def fine_grids(fine_result):
    return fine_result.grids


def _html(fmap: folium.Map) -> str:
    return fmap.get_root().render()


def shown(text: str, html: str) -> bool:
    """``text`` is in the page, as is or JSON-escaped (folium writes the tooltip aliases as JSON)."""
    return text in html or json.dumps(text)[1:-1] in html


def test_map_holds_codes_and_chinese_tooltips(fine_grids):
    fmap = grids_map(fine_grids)
    assert isinstance(fmap, folium.Map)
    html = _html(fmap)
    for code in fine_grids["grid_id"]:
        assert code in html
    for field in ("grid_id", "community_id", "households", "population", "area_m2", "deviation"):
        assert shown(LABELS["zh"][field], html), field
    assert shown("网格编码", html)
    assert shown("户数", html)
    assert not shown("Grid code", html)


def test_map_in_english(fine_grids):
    html = _html(grids_map(fine_grids, lang="en"))
    assert shown("Grid code", html)
    assert shown("Households", html)
    assert not shown("网格编码", html)
    assert fine_grids["grid_id"].iloc[-1] in html


def test_map_is_drawn_in_lonlat_over_the_grids(fine_grids):
    fmap = grids_map(fine_grids)
    bounds = fine_grids.to_crs(4326).total_bounds
    lat, lon = fmap.location
    assert bounds[1] < lat < bounds[3]
    assert bounds[0] < lon < bounds[2]
    assert 0 < lon < 180  # lon/lat, not metres


def test_map_without_tiles_needs_no_network(fine_grids):
    html = _html(grids_map(fine_grids))
    assert "tile.openstreetmap.org" not in html


def test_map_of_the_sample_by_households(sample_result):
    html = _html(grids_map(sample_result.grids, column="households", lang="en"))
    assert "510107003005001" in html
    assert "Households" in html


# --- gridkit.map: incidents, hot spots, routes, wardens, offline pages ---------------------------



@pytest.fixture(scope="module")
def sample_layers(sample, sample_result):
    grids = sample_result.grids
    prepared = prepare_incidents(sample.folder / "incidents.csv", grids)
    stats = grid_stats(prepared, grids)
    with_stats = grids.merge(stats.drop(columns=["households"]), on="grid_id")
    spots = hotspots(with_stats, "count")
    centres = grids.to_crs(32648).geometry.representative_point()
    routes = gpd.GeoDataFrame(
        {"grid_id": grids["grid_id"].iloc[:3], "warden_id": ["W001", "W002", "W003"],
         "length_m": [1200.0, 900.5, 700.0], "minutes": [15.0, 11.2, 9.0]},
        geometry=[shapely.LineString([c, shapely.Point(c.x + 200, c.y + 100)]) for c in centres.iloc[:3]], crs=32648)
    wardens = sample.wardens.head(20).assign(grid_id=grids["grid_id"].iloc[0])
    return grids, prepared, with_stats, spots, routes, wardens


@pytest.fixture(scope="module")
def full_map(sample_layers):
    grids, prepared, _, spots, routes, wardens = sample_layers
    return gridkit_map(grids, prepared, spots, routes, wardens, kde=kde_surface(prepared.incidents), offline=True)


def test_full_map_has_every_layer_in_chinese(full_map, sample_layers):
    html = _html(full_map)
    for key in ("grids", "heat", "hotspots", "kde", "routes", "wardens", "tier", "per_100_households",
                "on_time_share", "gi_z", "period", "full_time"):
        assert shown(LABELS["zh"][key], html), key
    assert "L.heatLayer" in html
    assert "gridkit-time-slider" in html
    assert "2025-12" in html
    assert "gridkit-legend" in html
    assert "L.control.layers" in html
    assert "W002" in html
    assert "1200" in html
    assert not shown("Hot spots", html)


def test_map_colours_grids_by_tier(full_map, sample_layers):
    with_stats = sample_layers[2]
    html = _html(full_map)
    for tier, colour in (("red", "#d73027"), ("orange", "#fd8d3c"), ("green", "#1a9850")):
        if (with_stats["tier"] == tier).any():
            assert colour in html


def test_map_in_english_by_a_metric(sample_layers):
    _grids, prepared, with_stats, spots, *_ = sample_layers
    html = _html(gridkit_map(with_stats, prepared, spots, column="per_100_households", lang="en", time_slider="week"))
    assert shown("Incidents per 100 households", html)
    assert shown("Hot spots (Gi*)", html)
    assert not shown("网格编码", html)
    assert re.search(r'"2025-\d\d-\d\d"', html)  # weeks labelled by their Monday


def test_offline_page_needs_no_network(full_map, tmp_path):
    path = save_map(full_map, tmp_path / "map.html")
    html = path.read_text(encoding="utf-8")
    # nothing is loaded from elsewhere (the attribution's link to leafletjs.com is only followed on a click)
    assert not re.findall(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="(?:https?:)?//', html)
    assert not re.findall(r'url\((?:["\']?)(?:https?:)?//', html)
    assert "cdn.jsdelivr" not in html
    assert "code.jquery" not in html
    assert "L.tileLayer" not in html
    assert "BSD-2-Clause" in html  # the licence of the inlined assets travels with them
    assert html.count("<script") >= 3
    assert len(html) < 15_000_000


def test_offline_refuses_a_remote_basemap(sample_layers):
    online = gridkit_map(sample_layers[0], tiles="OpenStreetMap")
    assert "tile.openstreetmap.org" in _html(online)
    with pytest.raises(GridkitError, match="offline"):
        offline_html(online)
    assert "tile.openstreetmap.org" not in _html(gridkit_map(sample_layers[0], tiles="OpenStreetMap", offline=True))


def test_nothing_to_map_is_an_error():
    with pytest.raises(GridkitError, match="nothing to map"):
        gridkit_map()


def test_offline_map_shows_offline_in_jupyter(sample_layers):
    fmap = gridkit_map(sample_layers[0], offline=True)
    shown_html = fmap._repr_html_()
    page = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", shown_html).group(1)).decode("utf-8")
    assert "cdn.jsdelivr" not in page
    assert "L.map(" in page


@pytest.mark.slow
def test_assets_come_from_the_npm_packages(tmp_path):
    if shutil.which("npm") is None:
        pytest.skip("npm not installed")
    folder = fetch_assets(tmp_path / "assets")
    for name in ASSETS:
        assert (folder / name).stat().st_size > 0, name
    assert f"Leaflet {PACKAGES['leaflet']}" in (folder / "leaflet.js").read_text(encoding="utf-8")[:300]
    assert "Redistribution" in (folder / "LICENSE-leaflet.heat.txt").read_text(encoding="utf-8")
