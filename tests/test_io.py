"""Reading layers and writing outputs: RFC 7946 GeoJSON, GeoPackage layers, atomic writes, CSV input."""

from __future__ import annotations

import json
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from synthetic import CHENGDU_ORIGIN, CHENGDU_UTM

from gridkit import io
from gridkit.errors import GridkitError


@pytest.fixture
def grids() -> gpd.GeoDataFrame:
    """Two grids near Chengdu in UTM 48N; the first with a hole, both with clockwise exteriors."""
    x, y = CHENGDU_ORIGIN
    outer = shapely.box(x, y, x + 100, y + 100, ccw=False)
    hole = shapely.box(x + 40, y + 40, x + 60, y + 60, ccw=True)
    first = shapely.Polygon(outer.exterior.coords, [hole.exterior.coords])
    second = shapely.box(x + 100, y, x + 200, y + 100, ccw=False)
    assert not shapely.is_ccw(first.exterior)
    return gpd.GeoDataFrame(
        {"grid_id": ["510107003001001", "510107003001002"], "households": [301, 299], "名称": ["一", "二"]},
        geometry=[first, second], crs=CHENGDU_UTM,
    )


def _no_temp_files(folder) -> bool:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


# --------------------------------------------------------------------------------------------
# GeoJSON


def test_geojson_is_rfc7946(grids, tmp_path):
    path = tmp_path / "grids.geojson"
    assert io.write_geojson(grids, path) == path
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["type"] == "FeatureCollection"
    assert "crs" not in raw
    assert len(raw["features"]) == 2
    for feature in raw["features"]:
        rings = feature["geometry"]["coordinates"]
        exterior = np.array(rings[0])
        # lon/lat order, near Chengdu (about 104.0 E, 30.7 N)
        assert ((exterior[:, 0] > 103.5) & (exterior[:, 0] < 104.5)).all()
        assert ((exterior[:, 1] > 30.4) & (exterior[:, 1] < 31.0)).all()
        assert shapely.is_ccw(shapely.LinearRing(exterior))
        for hole in rings[1:]:
            assert not shapely.is_ccw(shapely.LinearRing(hole))
    assert len(raw["features"][0]["geometry"]["coordinates"]) == 2  # the hole survived
    assert raw["features"][0]["properties"]["grid_id"] == "510107003001001"
    assert raw["features"][1]["properties"]["名称"] == "二"


def test_geojson_round_trip_keeps_geometry(grids, tmp_path):
    path = tmp_path / "grids.geojson"
    io.write_geojson(grids, path)
    back = io.read_layer(path).to_crs(CHENGDU_UTM)
    assert back.crs is not None
    # RFC 7946 recommends 7 decimals at most: a centimetre is the price
    for a, b in zip(back.geometry, grids.geometry, strict=True):
        assert a.symmetric_difference(b).area < 1.0
    assert back["households"].tolist() == [301, 299]


def test_geojson_without_crs_is_taken_as_lonlat(tmp_path):
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.box(104.0, 30.6, 104.001, 30.601)])
    path = io.write_geojson(frame, tmp_path / "x.geojson")
    raw = json.loads(path.read_text())
    assert "crs" not in raw
    coords = np.array(raw["features"][0]["geometry"]["coordinates"][0])
    assert coords[:, 0].min() == pytest.approx(104.0, abs=1e-9)
    assert coords[:, 1].max() == pytest.approx(30.601, abs=1e-9)


# --------------------------------------------------------------------------------------------
# GeoPackage


def test_gpkg_keeps_other_layers(grids, tmp_path):
    path = tmp_path / "plan.gpkg"
    io.write_gpkg(grids, path, layer="grids")
    io.write_gpkg(grids.iloc[:1], path, layer="old_grids")
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert layers == {"grids", "old_grids"}
    assert len(gpd.read_file(path, layer="grids")) == 2
    assert len(gpd.read_file(path, layer="old_grids")) == 1
    # rewriting a layer replaces it and still keeps the other one
    io.write_gpkg(grids.iloc[1:], path, layer="grids")
    assert {name for name, _ in pyogrio.list_layers(path)} == {"grids", "old_grids"}
    back = gpd.read_file(path, layer="grids")
    assert back["grid_id"].tolist() == ["510107003001002"]
    assert back.crs.to_epsg() == 32648
    assert _no_temp_files(tmp_path)


def test_write_layer_by_suffix(grids, tmp_path):
    assert io.write_layer(grids, tmp_path / "g.geojson").exists()
    assert io.write_layer(grids, tmp_path / "g.gpkg", layer="x").exists()
    assert {n for n, _ in pyogrio.list_layers(tmp_path / "g.gpkg")} == {"x"}
    csv = io.write_layer(grids, tmp_path / "g.csv")
    table = pd.read_csv(csv)
    assert "geometry" not in table.columns
    assert table["households"].tolist() == [301, 299]
    with pytest.raises(GridkitError, match="unsupported output format"):
        io.write_layer(grids, tmp_path / "g.kml")


def test_csv_is_utf8(tmp_path):
    path = io.write_csv(pd.DataFrame({"名称": ["锦里社区"], "n": [1]}), tmp_path / "t.csv")
    assert path.read_text(encoding="utf-8").splitlines() == ["名称,n", "锦里社区,1"]


# --------------------------------------------------------------------------------------------
# atomic writes


def test_failed_write_leaves_the_good_file_unchanged_unsupported_type(grids, tmp_path):
    path = tmp_path / "grids.gpkg"
    io.write_gpkg(grids, path, layer="grids")
    before = path.read_bytes()
    bad = grids.copy()
    bad["z"] = [1 + 2j, 3j]  # complex numbers: no GeoPackage field type
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever pyogrio raises, the file must survive
        io.write_gpkg(bad, path, layer="grids")
    assert path.read_bytes() == before
    assert _no_temp_files(tmp_path)
    assert len(gpd.read_file(path, layer="grids")) == 2


@pytest.mark.parametrize(("suffix", "writer"), [
    (".geojson", io.write_geojson),
    (".gpkg", lambda g, p: io.write_gpkg(g, p, layer="grids")),
])
def test_failed_write_midway_leaves_the_good_file_unchanged(grids, tmp_path, monkeypatch, suffix, writer):
    path = tmp_path / f"grids{suffix}"
    writer(grids, path)
    before = path.read_bytes()
    seen = []

    def broken(df, target, **kwargs):
        seen.append(target)
        with open(target, "wb") as half:  # the temporary file is created and half written …
            half.write(b"{\"type\": \"FeatureCollection\", \"feat")
        raise OSError("disk full")  # … then the write fails

    monkeypatch.setattr(pyogrio, "write_dataframe", broken)
    with pytest.raises(OSError, match="disk full"):
        writer(grids, path)
    assert seen
    assert os.fspath(seen[0]) != os.fspath(path)  # the writer never wrote over the target itself
    assert path.read_bytes() == before
    assert _no_temp_files(tmp_path)


def test_failed_csv_write_leaves_no_temp_file(tmp_path, monkeypatch):
    path = io.write_csv(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
    before = path.read_bytes()

    def broken(self, target, **kwargs):
        with open(target, "w") as half:
            half.write("a\n")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        io.write_csv(pd.DataFrame({"a": [2]}), path)
    assert path.read_bytes() == before
    assert _no_temp_files(tmp_path)


def test_atomic_path_creates_the_folder(tmp_path):
    target = tmp_path / "new" / "deeper" / "x.txt"
    with io.atomic_path(target) as tmp:
        assert tmp.parent == target.parent
        tmp.write_text("done")
        assert not target.exists()
    assert target.read_text() == "done"


# --------------------------------------------------------------------------------------------
# reading


def test_read_csv_with_lonlat_columns(tmp_path):
    path = tmp_path / "buildings.csv"
    path.write_text("building_id,households,Lon,Lat\nB1,10,104.06,30.66\nB2,0,104.07,30.67\n", encoding="utf-8")
    layer = io.read_layer(path)
    assert layer.crs.to_epsg() == 4326
    assert layer.geom_type.tolist() == ["Point", "Point"]
    assert layer.geometry.x.tolist() == [104.06, 104.07]
    assert layer.geometry.y.tolist() == [30.66, 30.67]
    assert layer["households"].tolist() == [10, 0]
    assert layer.attrs["source"] == str(path)


def test_read_csv_with_named_xy_columns_and_crs(tmp_path):
    path = tmp_path / "pts.csv"
    x, y = CHENGDU_ORIGIN
    path.write_text(f"id,east,north\n1,{x},{y}\n", encoding="utf-8")
    layer = io.read_layer(path, x_col="east", y_col="north", crs=CHENGDU_UTM)
    assert layer.crs.to_epsg() == 32648
    assert (layer.geometry.x.iloc[0], layer.geometry.y.iloc[0]) == (x, y)


def test_read_csv_with_wkt_geometry(tmp_path):
    path = tmp_path / "buildings.csv"
    square = shapely.box(104.06, 30.66, 104.0601, 30.6601)
    pd.DataFrame({"building_id": ["B1"], "households": [5], "geometry": [square.wkt]}).to_csv(path, index=False)
    layer = io.read_layer(path, crs="EPSG:4326")
    assert layer.geom_type.tolist() == ["Polygon"]
    assert layer.geometry.iloc[0].equals(square)
    assert "geometry" in layer.columns
    assert layer["building_id"].tolist() == ["B1"]


def test_read_csv_with_bad_wkt(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("building_id,wkt\nB1,POLYGON ((0 0, 1\n", encoding="utf-8")
    with pytest.raises(GridkitError) as info:
        io.read_layer(path, crs="EPSG:4326")
    assert str(path) in str(info.value)
    assert info.value.column == "wkt"


def test_read_layer_of_a_frame_names_it(grids):
    layer = io.read_layer(grids, label="grids")
    assert layer.attrs["source"] == "<grids GeoDataFrame>"
    assert layer is not grids
    assert io.source_name(layer) == "<grids GeoDataFrame>"


def test_read_gpkg_layer(grids, tmp_path):
    path = tmp_path / "plan.gpkg"
    io.write_gpkg(grids, path, layer="a")
    io.write_gpkg(grids.iloc[:1], path, layer="b")
    assert len(io.read_layer(path, layer="b")) == 1
    assert io.read_layer(path, layer="a").attrs["source"] == str(path)
