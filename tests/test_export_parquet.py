"""GeoParquet beside GeoPackage: exported layers read back with their CRS, tables as plain Parquet, inputs read."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely
from synthetic import CHENGDU_ORIGIN, CHENGDU_UTM

from gridkit import io
from gridkit.errors import InputDataError
from gridkit.export import export


@pytest.fixture
def layers():
    x, y = CHENGDU_ORIGIN
    grids = gpd.GeoDataFrame(
        {"grid_id": ["510107003001001", "510107003001002"], "community_name": ["锦里社区", "锦里社区"],
         "households": [301, 299], "street_names": [["锦里路", "天府大道"], []]},
        geometry=[shapely.box(x, y, x + 400, y + 400), shapely.box(x + 400, y, x + 800, y + 400)], crs=CHENGDU_UTM)
    stats = pd.DataFrame({"grid_id": ["510107003001001", "510107003001002"], "incidents": [17, 4]})
    return {"grids": grids, "stats": stats}


def test_geoparquet_round_trip_in_the_asked_crs(layers, tmp_path):
    written = export(layers, tmp_path, format="parquet", crs="cgcs2000-gk3")
    assert sorted(p.name for p in written) == ["grids.parquet", "stats.parquet"]
    grids = gpd.read_parquet(tmp_path / "grids.parquet")
    assert grids.crs.to_epsg() == 4523  # CGCS2000 3° Gauss-Krüger zone 35 (Chengdu, 104°E)
    assert grids["grid_id"].tolist() == layers["grids"]["grid_id"].tolist()
    assert grids["community_name"].tolist() == ["锦里社区", "锦里社区"]
    back = grids.to_crs(CHENGDU_UTM).geometry
    assert all(a.equals_exact(b, 1e-3) for a, b in zip(back, layers["grids"].geometry, strict=True))
    meta = json.loads(pq.read_metadata(tmp_path / "grids.parquet").metadata[b"geo"])
    assert meta["version"] == "1.1.0"
    assert meta["primary_column"] == "geometry"
    assert "covering" in meta["columns"]["geometry"]
    stats = pd.read_parquet(tmp_path / "stats.parquet")
    assert b"geo" not in (pq.read_metadata(tmp_path / "stats.parquet").metadata or {})
    pd.testing.assert_frame_equal(stats, layers["stats"], check_dtype=False)
    assert not [p.name for p in tmp_path.rglob(".*")]


def test_geoparquet_is_read_as_an_input(layers, tmp_path):
    export(layers, tmp_path, format="parquet")
    read = io.read_layer(tmp_path / "grids.parquet", label="grids")
    assert read.crs.to_epsg() == 4326
    assert len(read) == 2
    (tmp_path / "bad.parquet").write_text("not parquet", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"bad\.parquet"):
        io.read_layer(tmp_path / "bad.parquet", label="grids")


def test_a_parquet_file_name_is_refused_for_a_folder_format(layers, tmp_path):
    with pytest.raises(Exception, match="give a folder"):
        export(layers, tmp_path / "grids.parquet", format="parquet")
