"""Exports for city GIS (fast, no database): formats, CRSs, Shapefile field names, atomic writes, CLI."""

from __future__ import annotations

import json
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from synthetic import CHENGDU_ORIGIN, CHENGDU_UTM
from typer.testing import CliRunner

from gridkit import io
from gridkit.chinacoords import gcj02_to_wgs84
from gridkit.cli import app
from gridkit.errors import GridkitError, GridkitWarning
from gridkit.export import (
    DBF_NAME_BYTES,
    DBF_TEXT_BYTES,
    SHAPEFILE_ABBREVIATIONS,
    export,
    gk3_epsg,
    gk3_zone,
    resolve_crs,
    shapefile_field_names,
)

LONG_TEXT = "锦官街道" + "、".join(f"第{i}号巷" for i in range(60))  # ~600 bytes of UTF-8


@pytest.fixture
def layers() -> dict[str, pd.DataFrame]:
    """Two grids (UTM 48N, one with a hole), a route with street-name lists, an aspatial table."""
    x, y = CHENGDU_ORIGIN
    outer = shapely.box(x, y, x + 400, y + 400, ccw=False)
    hole = shapely.box(x + 150, y + 150, x + 250, y + 250)
    grids = gpd.GeoDataFrame(
        {"grid_id": ["510107003001001", "510107003001002"], "community_id": ["C01", "C01"],
         "community_name": ["锦里社区", "锦里社区"], "households": [301, 299], "n_buildings": [12, 9],
         "polsby_popper": [0.61, 0.72], "note": [LONG_TEXT, None]},
        geometry=[shapely.Polygon(outer.exterior.coords, [hole.exterior.coords]),
                  shapely.box(x + 400, y, x + 800, y + 400)],
        crs=CHENGDU_UTM,
    )
    routes = gpd.GeoDataFrame(
        {"grid_id": ["510107003001001"], "street_names": [["锦里路", "天府大道北段"]], "length_m": [1234.5]},
        geometry=[shapely.LineString([(x, y), (x + 400, y), (x + 400, y + 400)])], crs=CHENGDU_UTM,
    )
    stats = pd.DataFrame({"grid_id": ["510107003001001", "510107003001002"], "incidents": [17, 4],
                          "share_within_tolerance": [1.0, 0.5]})
    return {"grids": grids, "routes": routes, "stats": stats}


def _no_hidden(folder) -> bool:
    return not [p.name for p in folder.rglob(".*")]


# ------------------------------------------------------------------------------- field names


def test_field_names_keep_short_and_abbreviate():
    cols = ["grid_id", "community_id", "households", "n_buildings", "polsby_popper", "very_long_name_a",
            "very_long_name_b", "very_long_", "社区名称", "社区网格员姓名"]
    names = shapefile_field_names(cols)
    assert names["grid_id"] == "grid_id"
    assert names["households"] == "households"  # exactly 10: kept
    assert names["community_id"] == "comm_id"
    assert names["n_buildings"] == "n_bldgs"
    assert names["very_long_"] == "very_long_"  # a short name is reserved before cut names
    assert names["very_long_name_a"] == "very_lon_2"
    assert names["very_long_name_b"] == "very_lon_3"
    assert names["社区名称"] == "社区名"  # 12 bytes > 10: cut at a character boundary (9 bytes)
    assert names["社区网格员姓名"] == "社区网"
    clash = shapefile_field_names(["社区名称", "社区名称甲", "ID", "id_long_name", "id"])
    assert clash["社区名称甲"] == "社区_2"  # "社区名" is taken: "_2" replaces its end
    assert clash["id"] == "id_2"  # DBF names are case-insensitive: "ID" came first


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("abcAB_xyz社区网格1"), min_size=1, max_size=16),
                        min_size=1, max_size=12, unique=True))
def test_field_names_unique_short_deterministic(cols):
    names = shapefile_field_names(cols)
    assert list(names) == cols
    lowered = [n.lower() for n in names.values()]
    assert len(set(lowered)) == len(cols)
    assert all(0 < len(n.encode("utf-8")) <= DBF_NAME_BYTES for n in names.values())
    short = {c for c in cols if len(c.encode("utf-8")) <= DBF_NAME_BYTES}
    first_short = {c for c in short if [s.lower() for s in cols if s in short].count(c.lower()) == 1}
    assert all(names[c] == c for c in first_short)
    assert shapefile_field_names(cols) == names


# ----------------------------------------------------------------------------------------- CRS


def test_gk3_zone_choice_and_codes(layers):
    assert gk3_zone(104.06) == 35  # Chengdu: CM 105 E
    assert gk3_zone(116.4) == 39  # Beijing: CM 117 E
    assert gk3_epsg(35) == 4523
    assert gk3_epsg(35, cm_only=True) == 4544
    assert resolve_crs("cgcs2000-gk3", layers).label == "EPSG:4523"
    assert resolve_crs("cgcs2000-gk3-cm", layers).label == "EPSG:4544"
    assert resolve_crs("cgcs2000-gk3:35", layers).label == "EPSG:4523"
    assert resolve_crs("cgcs2000-gk3:105", layers).label == "EPSG:4544"
    assert resolve_crs("EPSG:4544", layers).label == "EPSG:4544"
    assert resolve_crs("cgcs2000", layers).crs.to_epsg() == 4490
    gcj = resolve_crs("gcj02", layers)
    assert gcj.label == "GCJ-02"
    assert gcj.crs.to_epsg() == 4326


@pytest.mark.parametrize("spec", ["cgcs2000-gk3:33", "cgcs2000-gk3:99", "EPSG:4529", "cgcs2000-gk3:24",
                                  "cgcs2000-gk3:106", "cgcs2000-gk3:abc", "EPSG:999999", "utm", "gcj03"])
def test_bad_or_unfitting_crs_refused(layers, spec, tmp_path):
    with pytest.raises(GridkitError) as info:
        export(layers, tmp_path, format="gpkg", crs=spec)
    assert spec.split(":")[-1].lower() in str(info.value).lower() or "zone" in str(info.value)
    assert not list(tmp_path.iterdir())


def test_gk3_refuses_data_outside_china(tmp_path):
    berlin = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(13.35, 52.53)], crs="EPSG:4326")
    with pytest.raises(GridkitError, match="outside the CGCS2000"):
        export({"p": berlin}, tmp_path, format="gpkg", crs="cgcs2000-gk3")


def test_gk3_coordinates_match_pyproj(layers, tmp_path):
    (path,) = export(layers, tmp_path / "gk.gpkg", format="gpkg", crs="cgcs2000-gk3")
    back = pyogrio.read_dataframe(path, layer="grids")
    assert back.crs.to_epsg() == 4523
    expected = layers["grids"].to_crs(4523)
    assert shapely.equals_exact(back.geometry.to_numpy(), expected.geometry.to_numpy(), 1e-6).all()
    minx = back.total_bounds[0]
    assert 35_000_000 < minx < 36_000_000  # the zone number prefixes the easting
    # areas in Gauss-Krüger are within ~1e-4 of the UTM areas (both conformal, small scale error)
    np.testing.assert_allclose(back.area, layers["grids"].area, rtol=2e-3)


def test_gcj02_shift_in_chengdu(layers, tmp_path):
    plain = export(layers, tmp_path / "wgs", format="geojson")
    shifted = export(layers, tmp_path / "gcj", format="geojson", crs="gcj02")
    a = json.loads(plain[0].read_text(encoding="utf-8"))
    b = json.loads(shifted[0].read_text(encoding="utf-8"))
    assert b["features"][0]["properties"]["coord_sys"] == "GCJ-02"
    assert "crs" not in b
    pa = np.array(a["features"][1]["geometry"]["coordinates"][0])
    pb = np.array(b["features"][1]["geometry"]["coordinates"][0])
    lat = pa[:, 1].mean()
    metres = np.hypot((pb[:, 0] - pa[:, 0]) * 111_320 * np.cos(np.radians(lat)), (pb[:, 1] - pa[:, 1]) * 110_574)
    assert (metres > 150).all()
    assert (metres < 800).all()
    # and it is exactly the GCJ-02 of the WGS 84 vertices: back-converting gives them again
    lon, lat_back = gcj02_to_wgs84(pb[:, 0], pb[:, 1])
    np.testing.assert_allclose(np.column_stack([lon, lat_back]), pa, atol=1e-8)


# -------------------------------------------------------------------------------------- GeoJSON


def test_geojson_rfc7946_lists_and_tables(layers, tmp_path):
    paths = export(layers, tmp_path, format="geojson")
    assert [p.name for p in paths] == ["grids.geojson", "routes.geojson", "stats.geojson"]
    grids = json.loads(paths[0].read_text(encoding="utf-8"))
    assert "crs" not in grids
    rings = grids["features"][0]["geometry"]["coordinates"]
    assert shapely.is_ccw(shapely.LinearRing(rings[0]))
    assert not shapely.is_ccw(shapely.LinearRing(rings[1]))
    assert grids["features"][0]["properties"]["note"] == LONG_TEXT
    routes = json.loads(paths[1].read_text(encoding="utf-8"))
    assert routes["features"][0]["properties"]["street_names"] == ["锦里路", "天府大道北段"]
    stats = json.loads(paths[2].read_text(encoding="utf-8"))
    assert [f["geometry"] for f in stats["features"]] == [None, None]
    assert _no_hidden(tmp_path)


def test_geojson_other_crs_refused_unless_asked(layers, tmp_path):
    with pytest.raises(GridkitError, match="RFC 7946"):
        export(layers, tmp_path / "a", format="geojson", crs="EPSG:4490")
    assert not (tmp_path / "a").exists() or not list((tmp_path / "a").iterdir())
    paths = export(layers, tmp_path / "b", format="geojson", crs="cgcs2000-gk3", geojson_crs_member=True)
    raw = json.loads(paths[0].read_text(encoding="utf-8"))
    assert "4523" in json.dumps(raw["crs"])
    assert pyogrio.read_dataframe(paths[0]).crs.to_epsg() == 4523


# ----------------------------------------------------------------------------------- GeoPackage


def test_gpkg_one_file_one_layer_each_and_replaced_whole(layers, tmp_path):
    (path,) = export(layers, tmp_path, format="gpkg", crs="EPSG:4490")
    assert path == tmp_path / "gridkit.gpkg"
    listed = {name: geom for name, geom in pyogrio.list_layers(path)}
    assert listed == {"grids": "Polygon", "routes": "LineString", "stats": None}
    grids = pyogrio.read_dataframe(path, layer="grids")
    assert grids.crs.to_epsg() == 4490
    assert grids["community_name"].tolist() == ["锦里社区", "锦里社区"]
    assert grids["note"].iloc[0] == LONG_TEXT
    routes = pyogrio.read_dataframe(path, layer="routes")
    assert routes["street_names"].iloc[0] == "锦里路; 天府大道北段"
    export({"grids": layers["grids"]}, tmp_path, format="gpkg")
    assert [name for name, _ in pyogrio.list_layers(path)] == ["grids"]  # no stale layers
    assert _no_hidden(tmp_path)


# ------------------------------------------------------------------------------------ Shapefile


def test_shapefile_utf8_mapping_and_round_trip(layers, tmp_path):
    paths = export(layers, tmp_path, format="shp", crs="cgcs2000-gk3")
    assert [p.name for p in paths] == ["grids.shp", "routes.shp", "stats.dbf"]
    for name in ("grids", "routes", "stats"):
        assert (tmp_path / f"{name}.cpg").read_text().strip() == "UTF-8"
        assert (tmp_path / f"{name}.fields.csv").exists()
    assert (tmp_path / "grids.prj").exists()
    assert not (tmp_path / "stats.shp").exists()
    mapping = pd.read_csv(tmp_path / "grids.fields.csv", dtype=str)
    assert set(mapping.columns) == {"shapefile_field", "column", "part", "parts"}
    assert all(len(f.encode("utf-8")) <= DBF_NAME_BYTES for f in mapping["shapefile_field"])
    back = pyogrio.read_dataframe(paths[0])
    assert back.crs.to_epsg() == 4523
    fields = dict(zip(mapping["column"] + "#" + mapping["part"], mapping["shapefile_field"], strict=True))
    assert back[fields["community_name#1"]].tolist() == ["锦里社区", "锦里社区"]
    assert back[fields["households#1"]].tolist() == [301, 299]
    assert back[fields["polsby_popper#1"]].tolist() == pytest.approx([0.61, 0.72])
    # long text continues in note_2, note_3 ...: nothing cut off, no character split
    parts = mapping[mapping["column"] == "note"].sort_values("part")["shapefile_field"].tolist()
    assert len(parts) >= 2
    assert parts[1] == "note_2"
    joined = "".join(back.loc[0, f] or "" for f in parts)
    assert joined == LONG_TEXT
    assert all(len((back.loc[0, f] or "").encode("utf-8")) <= DBF_TEXT_BYTES for f in parts)
    assert back.loc[1, parts[0]] is None or pd.isna(back.loc[1, parts[0]])
    routes = pyogrio.read_dataframe(paths[1])
    assert routes["streets"].iloc[0] == "锦里路; 天府大道北段"
    stats = pyogrio.read_dataframe(paths[2])
    assert stats["share_tol"].tolist() == [1.0, 0.5]
    assert _no_hidden(tmp_path)


def test_shapefile_rewrite_is_atomic(layers, tmp_path):
    export({"grids": layers["grids"]}, tmp_path, format="shp")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    (tmp_path / "grids.qix").write_bytes(b"stale spatial index")
    x, y = CHENGDU_ORIGIN
    mixed = gpd.GeoDataFrame({"grid_id": ["a", "b"]}, geometry=[shapely.Point(x, y), shapely.box(x, y, x + 1, y + 1)],
                             crs=CHENGDU_UTM)
    with pytest.raises(Exception):  # noqa: B017, PT011 - GDAL refuses points and polygons in one Shapefile
        export({"grids": mixed}, tmp_path, format="shp")
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != "grids.qix"}
    assert after == before
    assert _no_hidden(tmp_path)
    # a good rewrite replaces the whole set and drops the stale index
    smaller = layers["grids"].iloc[:1]
    export({"grids": smaller}, tmp_path, format="shp")
    assert not (tmp_path / "grids.qix").exists()
    assert len(pyogrio.read_dataframe(tmp_path / "grids.shp")) == 1


# ------------------------------------------------------------------------------------------ CSV


def test_csv_points_wkt_and_tables(layers, tmp_path):
    x, y = CHENGDU_ORIGIN
    wardens = gpd.GeoDataFrame({"warden_id": ["W001"], "name": ["张三"]}, geometry=[shapely.Point(x, y)],
                               crs=CHENGDU_UTM)
    paths = export({**layers, "wardens": wardens}, tmp_path, format="csv")
    assert [p.name for p in paths] == ["grids.csv", "routes.csv", "stats.csv", "wardens.csv"]
    assert all(p.with_suffix(".csvt").exists() for p in paths)
    assert (tmp_path / "grids.csvt").read_text(encoding="utf-8").strip() == (
        '"String","String","String","Integer64","Integer64","Real","String","WKT","String"')
    assert (tmp_path / "wardens.csvt").read_text(encoding="utf-8").strip() == (
        '"String","String","CoordX","CoordY","String"')
    info = pyogrio.read_info(paths[0], layer="grids")  # GDAL reads the types: codes stay text
    assert dict(zip(info["fields"], info["dtypes"], strict=True))["grid_id"] == "object"
    assert dict(zip(info["fields"], info["dtypes"], strict=True))["households"] == "int64"
    table = pd.read_csv(paths[3], dtype=str)
    assert list(table.columns) == ["warden_id", "name", "lon", "lat", "coord_sys"]
    assert table["name"].iloc[0] == "张三"
    assert table["coord_sys"].iloc[0] == "EPSG:4326"
    expected = wardens.to_crs(4326).geometry.iloc[0]
    assert float(table["lon"].iloc[0]) == pytest.approx(expected.x, abs=1e-12)
    # gridkit reads its own CSV back (WKT column; the CRS is the coord_sys column)
    grids = io.read_layer(paths[0], crs=pd.read_csv(paths[0])["coord_sys"].iloc[0])
    assert grids.crs.to_epsg() == 4326
    assert shapely.equals_exact(grids.geometry.to_numpy(), layers["grids"].to_crs(4326).geometry.to_numpy(),
                                1e-9).all()
    assert pd.read_csv(paths[1])["street_names"].iloc[0] == "锦里路; 天府大道北段"
    gk = export({"wardens": wardens}, tmp_path / "gk", format="csv", crs="cgcs2000-gk3")
    assert {"x", "y"} <= set(pd.read_csv(gk[0]).columns)


# --------------------------------------------------------------------------------- all, errors


def test_all_formats(layers, tmp_path):
    paths = export(layers, tmp_path, format="all", crs="gcj02")
    names = sorted(str(p.relative_to(tmp_path)) for p in paths)
    assert names == ["csv/grids.csv", "csv/routes.csv", "csv/stats.csv", "geojson/grids.geojson",
                     "geojson/routes.geojson", "geojson/stats.geojson", "gridkit.gpkg", "shp/grids.shp",
                     "shp/routes.shp", "shp/stats.dbf"]
    with pytest.warns(GridkitWarning, match="GeoJSON not written"):
        paths = export(layers, tmp_path / "gk", format="all", crs="cgcs2000-gk3")
    assert not (tmp_path / "gk" / "geojson").exists()


def test_bad_requests(layers, tmp_path):
    with pytest.raises(GridkitError, match="unknown export format 'kml'"):
        export(layers, tmp_path, format="kml")
    with pytest.raises(GridkitError, match="nothing to export"):
        export({}, tmp_path)
    with pytest.raises(GridkitError, match="cannot be a file name"):
        export({"../grids": layers["grids"]}, tmp_path)
    with pytest.raises(GridkitError, match="not a DataFrame"):
        export({"grids": [1, 2]}, tmp_path)
    with pytest.raises(GridkitError, match="no CRS"):
        export({"grids": layers["grids"].set_crs(None, allow_override=True)}, tmp_path)
    with pytest.raises(GridkitError, match="give a folder"):
        export(layers, tmp_path / "x.geojson", format="geojson")
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------------------ CLI


def test_cli_export(layers, tmp_path):
    io.write_geojson(layers["grids"], tmp_path / "grids.geojson")
    io.write_geojson(layers["routes"].assign(street_names="锦里路"), tmp_path / "routes.geojson")
    layers["stats"].to_csv(tmp_path / "stats.csv", index=False)
    pd.DataFrame({"warden_id": ["W001"], "name": ["张三"], "lon": [104.06], "lat": [30.66]}).to_csv(
        tmp_path / "staffing.csv", index=False)
    pd.DataFrame({"building_id": ["B001"], "grid_id": ["510107003001001"]}).to_csv(tmp_path / "a.csv", index=False)
    runner = CliRunner()
    args = ["export", "--grids", str(tmp_path / "grids.geojson"), "--routes", str(tmp_path / "routes.geojson"),
            "--stats", str(tmp_path / "stats.csv"), "--assignment", str(tmp_path / "a.csv"),
            "--staffing", str(tmp_path / "staffing.csv"),
            "--format", "all", "--crs", "cgcs2000-gk3", "--out", str(tmp_path / "out"), "--lang", "en"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "EPSG:4523" in result.output
    stats = pyogrio.read_dataframe(tmp_path / "out" / "gridkit.gpkg", layer="stats")
    assert stats["grid_id"].tolist() == ["510107003001001", "510107003001002"]  # ids stay text
    assert pyogrio.read_dataframe(tmp_path / "out" / "gridkit.gpkg", layer="assignment")["building_id"][0] == "B001"
    assert (tmp_path / "out" / "shp" / "grids.cpg").exists()
    staff = pyogrio.read_dataframe(tmp_path / "out" / "gridkit.gpkg", layer="staffing")
    assert list(staff.columns) == ["warden_id", "name", "geometry"]  # lon/lat became the geometry
    assert staff.crs.to_epsg() == 4523
    assert staff["name"][0] == "张三"
    bad_format = runner.invoke(app, [*args[:-6], "--format", "kml", "--out", str(tmp_path / "o2")])
    assert bad_format.exit_code == 2
    bad_zone = runner.invoke(app, [*args[:-6], "--format", "gpkg", "--crs", "cgcs2000-gk3:30", "--out",
                                   str(tmp_path / "o3")])
    assert bad_zone.exit_code == 3
    assert "zone 30" in bad_zone.output
    missing = runner.invoke(app, ["export", "--grids", str(tmp_path / "nope.geojson"), "--out", str(tmp_path)])
    assert missing.exit_code == 3
    assert os.path.exists(tmp_path / "out" / "gridkit.gpkg")


def test_abbreviations_fit_and_are_distinct():
    values = list(SHAPEFILE_ABBREVIATIONS.values())
    assert all(len(v.encode("utf-8")) <= DBF_NAME_BYTES for v in values)
    assert len({v.lower() for v in values}) == len(values)
    assert all(len(k.encode("utf-8")) > DBF_NAME_BYTES for k in SHAPEFILE_ABBREVIATIONS)


def test_csv_replaces_stale_coordinate_columns(tmp_path):
    """A roster's own lon/lat (WGS 84) must not sit beside x/y written in Gauss-Krüger metres."""
    roster = gpd.GeoDataFrame({"warden_id": ["W1", "W2"], "lon": [104.05, 104.06], "lat": [30.65, 30.66]},
                              geometry=gpd.points_from_xy([104.05, 104.06], [30.65, 30.66]), crs=4326)
    (path,) = [p for p in export({"staffing": roster}, tmp_path, format="csv", crs="cgcs2000-gk3")
               if p.suffix == ".csv"]
    table = pd.read_csv(path)
    assert "lon" not in table.columns
    assert "lat" not in table.columns
    assert table["x"].between(35_000_000, 36_000_000).all(), "GK zone 35 eastings carry the zone number"


def test_excel_csv_starts_with_a_byte_order_mark_and_still_reads(tmp_path):
    grids = gpd.GeoDataFrame({"grid_id": ["510107003001001"], "name": ["锦里社区一网格"]},
                             geometry=[shapely.box(104.05, 30.65, 104.06, 30.66)], crs=4326)
    (plain,) = [p for p in export({"grids": grids}, tmp_path / "plain", format="csv") if p.suffix == ".csv"]
    (excel,) = [p for p in export({"grids": grids}, tmp_path / "excel", format="csv", excel=True)
                if p.suffix == ".csv"]
    assert not plain.read_bytes().startswith(b"\xef\xbb\xbf")
    assert excel.read_bytes().startswith(b"\xef\xbb\xbf")
    table = pyogrio.read_dataframe(excel)
    assert "grid_id" in table.columns
    assert table["name"].iloc[0] == "锦里社区一网格"
