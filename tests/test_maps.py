"""maps.grids_map: a folium map with the grid codes and tooltips in Chinese or English."""

from __future__ import annotations

import json

import folium
import pytest

from gridkit.maps import LABELS, grids_map


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
