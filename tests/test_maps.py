"""maps: grids_map and gridkit.map (incidents, hot spots, routes, wardens), offline pages."""

from __future__ import annotations

import base64
import json
import re
import shutil

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from gridkit._assets import ASSETS, PACKAGES, fetch_assets
from gridkit._maps_js import GridLabels, HeatStyle, TimeSlider, Title
from gridkit._maps_style import TIER_ORDER, grid_colouring, numeric_classes
from gridkit.errors import GridkitError
from gridkit.hotspots import hotspots, kde_surface
from gridkit.incidents import grid_stats, prepare_incidents
from gridkit.maps import CHANGE_COLOURS, LABELS, TIER_COLOURS, grids_map, save_map
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


def test_no_basemap_by_default_and_only_a_user_tile_template(sample_layers):
    grids = sample_layers[0]
    html = _html(gridkit_map(grids))
    assert "L.tileLayer" not in html
    with pytest.raises(GridkitError, match="tile URL template"):
        gridkit_map(grids, tiles="OpenStreetMap")
    template = "http://tiles.intranet.example/{z}/{x}/{y}.png"
    fmap = gridkit_map(grids, tiles=template, tiles_attribution="区政务网底图")
    assert template in _html(fmap)
    # GCJ-02 tiles: the grids are shifted for display by the GCJ-02 offset (some hundred metres in Chengdu)
    plain = _child(gridkit_map(grids, tiles=template), folium.Map) or fmap
    shifted = gridkit_map(grids, tiles=template, tiles_crs="gcj02")
    assert shifted.location[1] - plain.location[1] > 0.001
    with pytest.raises(GridkitError, match="tiles_crs"):
        gridkit_map(grids, tiles=template, tiles_crs="bd09x")


def test_map_is_offline_by_default(sample_layers):
    fmap = gridkit_map(sample_layers[0])
    assert fmap.gridkit_offline is True
    page = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", fmap._repr_html_()).group(1)).decode("utf-8")
    assert "cdn.jsdelivr" not in page
    assert "L.map(" in page


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


# --- readability: default layers, title, labels, heat scale, slider recolouring, categories -------


def _child(fmap: folium.Map, kind: type):
    found = [c for c in fmap._children.values() if isinstance(c, kind)]
    return found[0] if found else None


def _added(html: str, layer: str) -> bool:
    """The layer is put on the map when the page opens (folium omits ``addTo`` for show=False)."""
    return re.search(rf"\b{layer}\s*\.addTo\(\s*map_", html) is not None


def test_default_view_shows_grids_and_hot_spots_only(full_map):
    html = _html(full_map)
    names = {type(c).__name__: c.get_name() for c in full_map._children.values()}
    assert _added(html, names["FeatureGroup"])  # grids
    assert not _added(html, names["HeatMap"])
    layers = [c for c in full_map._children.values() if isinstance(c, folium.GeoJson)]
    shown = {c.layer_name: _added(html, c.get_name()) for c in layers}
    assert shown[LABELS["zh"]["hotspots"]]
    assert not shown[LABELS["zh"]["routes"]]
    assert not shown[LABELS["zh"]["wardens"]]
    assert not shown[LABELS["zh"]["kde"]]
    assert "L.control.layers" in html  # every layer stays a click away


def test_show_picks_the_layers_and_rejects_unknown_ones(sample_layers):
    grids, prepared, _, spots, routes, wardens = sample_layers
    fmap = gridkit_map(grids, prepared, spots, routes, wardens, show=("heat", "routes"))
    html = _html(fmap)
    heat = _child(fmap, folium.plugins.HeatMap)
    assert _added(html, heat.get_name())
    group = _child(fmap, folium.FeatureGroup)
    assert not _added(html, group.get_name())
    with pytest.raises(GridkitError, match="unknown layer 'hexes'"):
        gridkit_map(grids, show=("grids", "hexes"))
    # without grids the heat layer is the picture: shown by default
    alone = gridkit_map(incidents=prepared)
    assert _added(_html(alone), _child(alone, folium.plugins.HeatMap).get_name())


def test_title_names_the_district_span_and_counts(sample_layers):
    _grids, prepared, with_stats, spots, *_ = sample_layers
    zh = _child(gridkit_map(with_stats, prepared, spots, title="锦官街道"), Title)
    times = prepared.incidents["reported_at"].dt.tz_localize(None)
    assert zh.title == "锦官街道"
    assert f"{times.min():%Y-%m-%d} 至 {times.max():%Y-%m-%d}" in zh.subtitle
    assert f"{len(with_stats)} 个网格" in zh.subtitle
    assert f"{len(prepared.incidents):,} 起事件" in zh.subtitle
    hot = int((spots["significant"] & (spots["gi_z"] > 0)).sum())  # at the FDR level, as the summaries count
    assert f"{hot} 个显著热点" in zh.subtitle
    en = _child(gridkit_map(with_stats, prepared, spots, lang="en"), Title)
    assert en.title == "Grid incident map"
    assert f"{len(with_stats)} grids" in en.subtitle
    assert f"{hot} significant hot spots" in en.subtitle
    assert _child(gridkit_map(with_stats, subtitle=""), Title).subtitle == ""


def test_grid_labels_are_community_name_and_sequence(sample, sample_layers):
    grids = sample_layers[0]
    fmap = gridkit_map(grids, communities=sample.communities)
    assert _child(fmap, GridLabels) is not None
    html = _html(fmap)
    first = grids.iloc[0]
    name = sample.communities.set_index("community_id").loc[first["community_id"], "name"]
    assert shown(f"{name.removesuffix('社区')} {int(first['seq']):02d}", html)  # 锦里 01: reads at every zoom
    assert shown(name, html)  # the full community name is in the tooltip
    assert first["grid_id"] in html  # and so is the full code
    for village in sample.communities["name"]:
        assert shown(village, html)


def test_context_layers_come_from_the_users_data(sample, sample_layers):
    from gridkit._maps_page import ContextLayer, ZoomLabels  # noqa: PLC0415

    grids = sample_layers[0]
    fmap = gridkit_map(grids, communities=sample.communities, buildings=sample.buildings, streets=sample.streets)
    layers = {c.layer_name: c for c in fmap._children.values() if isinstance(c, ContextLayer | ZoomLabels)}
    zh = LABELS["zh"]
    assert len(layers[zh["buildings"]].paths) == int(sample.buildings.geom_type.isin(["Polygon"]).sum())
    assert len(layers[zh["streets"]].paths) >= len(sample.streets)
    names = {row[2] for row in layers[zh["street_names"]].rows}
    assert names == set(sample.streets["name"].dropna())
    assert all(16 <= row[3] <= 19 for row in layers[zh["street_names"]].rows)  # names from the zoom they fit
    assert len(layers[zh["communities"]].paths) == len(sample.communities)
    assert {row[2] for row in layers[zh["community_names"]].rows} == set(sample.communities["name"])
    assert layers[zh["office"]].paths
    html = _html(fmap)
    assert html.index(layers[zh["buildings"]].get_name()) < html.index("gridkit-grid")  # under the grids
    # streets without a name get no label, never a "nan"
    unnamed = sample.streets.assign(name=[None] * len(sample.streets))
    plain = gridkit_map(grids, streets=unnamed)
    assert not [c for c in plain._children.values() if isinstance(c, ZoomLabels) and c.layer_name == zh["street_names"]]
    assert "nan" not in json.dumps([c.rows for c in plain._children.values() if isinstance(c, ZoomLabels)])


def test_tier_legend_says_whether_tiers_are_relative_or_fixed(sample_layers):
    _grids, prepared, with_stats, *_ = sample_layers
    html = _html(gridkit_map(with_stats, prepared))
    assert shown("红: 排名前 10% 的网格", html)
    assert shown("相对分级", html)
    fixed = {"tiers": {"by": "per_100_households", "orange": 30, "red": 60}}
    stats = grid_stats(prepared, with_stats[["grid_id", "households", "geometry"]], sla=fixed)
    grids = with_stats.drop(columns=["tier"]).merge(stats[["grid_id"]].assign(tier=stats["tier"]), on="grid_id")
    en = _html(gridkit_map(grids, lang="en", sla=fixed))
    assert shown("red: Incidents per 100 households ≥ 60", en)
    assert shown("fixed thresholds", en)
    assert not shown("relative tiers", en)


def test_red_means_one_thing_on_a_map():
    from gridkit._maps_style import DIVERGING, HEAT_GRADIENT, OUTLINE_COLOURS, ROLE_COLOURS, ROUTE_COLOUR  # noqa: PLC0415

    tiers = {TIER_COLOURS["red"], TIER_COLOURS["orange"], TIER_COLOURS["green"]}
    others = {*OUTLINE_COLOURS.values(), *ROLE_COLOURS.values(), ROUTE_COLOUR, *HEAT_GRADIENT.values(), *DIVERGING}
    assert not tiers & others

    def reddish(colour: str) -> bool:
        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        return r > 180 and g < 90 and b < 90

    assert not [c for c in others if reddish(c)]


def test_swapped_coordinates_raise_a_map_warning(sample_layers):
    grids, prepared, *_ = sample_layers
    points = prepared.incidents[["reported_at", "geometry"]].copy()
    swapped = points.set_geometry(gpd.points_from_xy(points.geometry.y, points.geometry.x), crs=4326)
    fmap = gridkit_map(grids, swapped)
    assert any("落在网格之外" in n for n in fmap.gridkit_notices)
    assert "gridkit-notice" in _html(fmap)
    assert gridkit_map(grids, points).gridkit_notices == []
    # nothing joined: every grid green only because no incident lies in any grid
    far = points.set_geometry(points.geometry.translate(0.5, 0.0))
    assert gridkit_map(grids, far, lang="en").gridkit_notices


def test_page_has_a_cjk_font_fallback_and_a_print_stylesheet(sample_layers, tmp_path):
    html = save_map(gridkit_map(sample_layers[0], paper="A3"), tmp_path / "a3.html").read_text(encoding="utf-8")
    assert "Noto Sans CJK SC" in html
    assert "Microsoft YaHei" in html
    assert "@media print" in html
    assert "size:A3 landscape" in html
    assert ".leaflet-control-layers" in html.rsplit("@media print", 1)[1]  # controls hidden on paper
    assert "gridkit-north" in html
    assert shown("制图日期", html)
    with pytest.raises(GridkitError, match="paper"):
        gridkit_map(sample_layers[0], paper="Letter")


def test_heat_radius_follows_the_kernel_bandwidth(sample_layers, full_map):
    _grids, prepared, *_ = sample_layers
    surface = kde_surface(prepared.incidents)
    fmap = gridkit_map(incidents=prepared, kde=surface)
    style = _child(fmap, HeatStyle)
    assert style.radius_m == pytest.approx(min(max(1.5 * surface.attrs["bandwidth_m"], 25.0), 400.0), abs=0.1)
    assert 0 < style.opacity < 1
    # without a kde surface the same rule runs on the points
    alone = _child(gridkit_map(incidents=prepared), HeatStyle)
    assert alone.radius_m == pytest.approx(style.radius_m, rel=0.05)


def _slider(fmap):
    return _child(fmap, TimeSlider)


def _decode(text: str) -> list[int]:
    return [ord(ch) - 48 for ch in text]


def test_slider_recolours_the_grids_by_the_tiers_of_each_month(sample_layers):
    grids, prepared, with_stats, spots, *_ = sample_layers
    slider = _slider(gridkit_map(with_stats, prepared, spots))
    payload = slider.grids
    monthly = grid_stats(prepared, grids, period="month")
    periods = sorted(monthly["period"].unique())
    assert slider.labels == periods
    ids = with_stats["grid_id"].astype(str).tolist()
    for k, period in enumerate(periods):
        part = monthly[monthly["period"] == period].set_index("grid_id")
        assert _decode(payload["codes"][k]) == [TIER_ORDER.index(part.loc[g, "tier"]) for g in ids]
        assert payload["values"]["count"][k] == [int(part.loc[g, "count"]) for g in ids]
        assert payload["values"]["overdue_open"][k] == [int(part.loc[g, "overdue_open"]) for g in ids]
        shares = [None if pd.isna(v) else round(float(v), 3) for v in part.loc[ids, "on_time_share"]]
        # numpy and Python round a tie in the third decimal differently: equal to 0.001
        got = payload["values"]["on_time_share"][k]
        assert [v is None for v in got] == [v is None for v in shares]
        assert all(abs(a - b) <= 1.001e-3 for a, b in zip(got, shares, strict=True) if a is not None)
    assert [TIER_COLOURS[t] for t in TIER_ORDER] == payload["palette"]
    assert payload["tierNames"][:3] == ["绿", "橙", "红"]
    # the heat slices add up: every point with a time is in one period
    assert slider.totals[0] == len(prepared.incidents)
    assert sum(slider.totals[1:]) == len(prepared.incidents)
    months = prepared.incidents["reported_at"].dt.tz_localize(None).dt.strftime("%Y-%m").value_counts()
    assert slider.totals[1:] == [int(months[p]) for p in periods]


def test_slider_reclassifies_a_metric_per_week(sample_layers):
    _grids, prepared, with_stats, *_ = sample_layers
    slider = _slider(gridkit_map(with_stats, prepared, column="per_100_households", lang="en", time_slider="week"))
    payload = slider.grids
    assert len(payload["codes"]) == len(slider.labels) == len(payload["legends"]) >= 50
    assert all(len(c) == len(with_stats) for c in payload["codes"])
    assert all(label in legend for label, legend in zip(slider.labels, payload["legends"], strict=True))
    assert "Incidents per 100 households" in payload["legendAll"]
    # a week's busiest grid is in its top class
    weekly = grid_stats(prepared, with_stats, period="week").set_index(["period", "grid_id"])["per_100_households"]
    first = slider.labels[0]
    values = [weekly.get((first, g), np.nan) for g in with_stats["grid_id"].astype(str)]
    top = int(np.nanargmax(values))
    codes = _decode(payload["codes"][0])
    assert codes[top] == max(c for c in codes if c >= 0)


def test_slider_counts_plain_points_by_grid(sample_layers):
    grids, prepared, *_ = sample_layers
    points = prepared.incidents[["reported_at", "geometry"]].copy()  # no lifecycle, no grid_id
    slider = _slider(gridkit_map(grids, points))
    monthly = prepared.incidents.dropna(subset=["grid_id"]).assign(
        month=lambda d: d["reported_at"].dt.tz_localize(None).dt.strftime("%Y-%m"))
    first = monthly[monthly["month"] == slider.labels[0]].groupby("grid_id").size()
    ids = grids["grid_id"].astype(str).tolist()
    assert slider.grids["values"]["count"][0] == [int(first.get(g, 0)) for g in ids]
    assert slider.grids["codes"] is not None  # coloured by the tiers of the month


def test_change_of_a_regenerated_plan_has_fixed_colours_and_names(sample_layers):
    grids = sample_layers[0].copy()
    kinds = ["kept", "adjusted", "split", "merged", "new"]
    grids["change"] = [kinds[i % 5] if i < 40 else "kept" for i in range(len(grids))]
    grids["related"] = None
    html = _html(gridkit_map(grids))  # change is the default colour when there is no tier
    for kind in kinds:
        assert CHANGE_COLOURS[kind] in html
    for word in ("保持", "调整", "拆分", "合并", "新增"):
        assert shown(word, html)
    kept = int((grids["change"] == "kept").sum())
    assert shown(f"保持 ({kept})", html)
    en = _html(gridkit_map(grids, column="change", lang="en"))
    assert shown(f"kept ({kept})", en)
    assert shown("merged (8)", en)
    assert not shown("保持", en)
    # the colours are the fixed ones whatever the order or the set of values
    only = grids.assign(change="split")
    fills = set(re.findall(r'"fillColor": "(#[0-9a-f]{6})"', _html(gridkit_map(only))))
    assert fills == {CHANGE_COLOURS["split"]}


def test_a_text_column_gets_a_categorical_legend(sample_layers):
    grids = sample_layers[0]
    html = _html(gridkit_map(grids, column="community_id", lang="en"))
    for community in grids["community_id"].unique():
        assert community in html
    assert html.count("gridkit-legend-block") >= 1


def test_hot_spots_on_grids_go_into_the_grid_tooltips(full_map, sample_layers):
    spots = sample_layers[3]
    html = _html(full_map)
    assert shown(LABELS["zh"]["gi_z"], html)
    hot = spots[spots["gi_bin"] != 0]
    for code in hot["grid_id"]:
        assert code in html
    assert '"interactive": false' in html  # the outlines do not hide the grid tooltips


def test_grids_without_codes_or_crs_still_map(sample_layers):
    grids = sample_layers[0].to_crs(4326)[["households", "geometry"]].set_crs(None, allow_override=True)
    fmap = gridkit_map(grids, column="households", lang="en")
    assert _child(fmap, GridLabels) is None
    assert shown("Households", _html(fmap))


@given(st.lists(st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(float("nan"))), min_size=1, max_size=60),
       st.sampled_from(["count", "deviation", "on_time_share"]))
def test_numeric_classes_are_ordered_and_cover_every_value(values, column):
    values = np.array(values, dtype=float)
    codes, edges = numeric_classes(values, column)
    finite = np.isfinite(values)
    assert (codes[~finite] == -1).all()
    if not finite.any():
        return
    n = len(edges) - 1
    assert 1 <= n <= 5
    assert ((codes[finite] >= 0) & (codes[finite] < n)).all()
    order = np.argsort(values[finite], kind="stable")
    assert (np.diff(codes[finite][order]) >= 0).all()  # a larger value never falls in a lower class
    if column == "deviation":  # symmetric about 0: 0 sits in the middle class
        assert edges[0] == -edges[-1]
    colouring = grid_colouring(pd.DataFrame({column: values}), column, LABELS["en"])
    assert len(colouring.palette) == len(colouring.names) == n
    assert sum(1 for f in colouring.fills if f == "#bdbdbd") >= int((~finite).sum())


def test_gridkit_map_is_the_maps_function_loaded_on_use():
    import gridkit  # noqa: PLC0415
    from gridkit import map as from_import  # noqa: PLC0415
    from gridkit.maps import map as district_map  # noqa: PLC0415

    assert gridkit.map is district_map
    assert from_import is district_map
    with pytest.raises(AttributeError):
        _ = gridkit.no_such_thing


def test_a_city_gets_one_page_per_street_office_and_an_index(sample, sample_layers, tmp_path):
    from gridkit.maps import save_office_maps  # noqa: PLC0415

    grids, prepared, *_ = sample_layers
    offices = sample.communities.assign(street_office=["东", "东", "西", "西", "西"])
    pages = save_office_maps(tmp_path / "city", grids, prepared, communities=offices, streets=sample.streets,
                             limit_mb=15)
    assert sorted(p.name for p in pages) == ["东.html", "西.html"]
    index = (tmp_path / "city" / "index.html").read_text(encoding="utf-8")
    assert "东.html" in index
    assert "西.html" in index
    east = set(offices.loc[offices["street_office"] == "东", "community_id"])
    page = pages[0].read_text(encoding="utf-8")
    for row in grids.itertuples():
        assert (row.grid_id in page) == (row.community_id in east)
    assert all(p.stat().st_size < 15e6 for p in [*pages, tmp_path / "city" / "index.html"])
    assert "cdn.jsdelivr" not in page  # offline like every page
    # without an office column, a 15-digit code names its street (6 district + 3 street digits)
    from gridkit._maps_city import office_keys  # noqa: PLC0415

    assert set(office_keys(grids)) == {"510107003"}
