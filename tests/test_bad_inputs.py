"""A catalogue of bad inputs as they come, each with a test: encodings, columns, coordinates, layers,
CSV shape, files, communities, counts and options, through the API (the CLI cases are in
``test_bad_inputs_cli.py``). Each gives a named error or a stated repair, and nothing is lost.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import run_partition
from synthetic import make_district

import gridkit
from gridkit import _validate, io
from gridkit.config import example_config, load_config
from gridkit.encodings import decode_text, detect_encoding
from gridkit.errors import GridkitError, GridkitWarning, InputDataError

SAMPLE_HOUSEHOLDS = 23_646


@pytest.fixture(scope="module")
def district():
    return make_district(3, 3, per_side=3, households=(5, 15), seed=2)


@pytest.fixture(scope="module")
def lonlat_district():
    """The same kind of district in EPSG:4326 (Chengdu)."""
    return make_district(3, 3, per_side=3, households=(5, 15), seed=2).to_crs("EPSG:4326")


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [str(w.message) for w in caught]


def _chinese_buildings(sample) -> gpd.GeoDataFrame:
    """The sample's buildings as a Chinese GIS writes them: 户数/人口 columns and Chinese ids."""
    out = sample.buildings.rename(columns={"households": "户数", "population": "人口"})
    out["building_id"] = [f"楼{i:05d}" for i in range(len(out))]
    return out


def _lonlat_table(gdf: gpd.GeoDataFrame, x: str = "lon", y: str = "lat") -> pd.DataFrame:
    points = gdf.geometry.representative_point()
    return gdf.drop(columns="geometry").assign(**{x: points.x, y: points.y})


# --------------------------------------------------------------------------------------- encodings
def test_gbk_csv_is_detected_and_announced(sample, tmp_path):
    path = tmp_path / "buildings.csv"
    _lonlat_table(_chinese_buildings(sample)).to_csv(path, index=False, encoding="gbk")
    layer, messages = _quiet(io.read_layer, path)
    assert layer["building_id"].iloc[0] == "楼00000"
    assert any("GBK/GB18030" in m and "buildings.csv" in m for m in messages)
    result, _caught = run_partition(sample.communities, path, sample.streets)
    assert result.grids["households"].sum() == SAMPLE_HOUSEHOLDS
    assert set(result.assignment["building_id"]) == set(layer["building_id"])


def test_utf8_with_bom_reads_cleanly(tmp_path):
    path = tmp_path / "b.csv"
    pd.DataFrame({"building_id": ["楼1"], "lon": [104.0], "lat": [30.6]}).to_csv(path, index=False,
                                                                             encoding="utf-8-sig")
    layer, messages = _quiet(io.read_layer, path)
    assert list(layer.columns)[:3] == ["building_id", "lon", "lat"]
    assert not any("encoding" in m for m in messages)


def _gbk_shapefile(sample, folder: Path, *, cpg: bool) -> Path:
    path = folder / "buildings.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _chinese_buildings(sample).to_file(path, engine="pyogrio", encoding="GBK")
    if not cpg:
        path.with_suffix(".cpg").unlink()
    return path


def test_gbk_shapefile_without_cpg_keeps_every_id(sample, tmp_path):
    """Read as ISO-8859-1 (GDAL's default) 楼00000 would become Â¥00000."""
    path = _gbk_shapefile(sample, tmp_path, cpg=False)
    naive = gpd.read_file(path, engine="pyogrio")
    assert naive.iloc[0, 0] == "Â¥00000"  # the fault this guards against
    layer, messages = _quiet(io.read_layer, path)
    assert layer["building_i"].iloc[0] == "楼00000"
    assert {"户数", "人口"} <= set(layer.columns)
    assert any("no .cpg" in m and "GBK/GB18030" in m for m in messages)
    result, _ = run_partition(sample.communities, path, sample.streets)
    assert result.grids["households"].sum() == SAMPLE_HOUSEHOLDS
    assert result.assignment["building_id"].str.startswith("楼").all()


def test_gbk_shapefile_with_encoding_given_or_cpg_present(sample, tmp_path):
    path = _gbk_shapefile(sample, tmp_path, cpg=False)
    layer, messages = _quiet(io.read_layer, path, encoding="gbk")
    assert layer["building_i"].iloc[0] == "楼00000"
    assert not any("encoding" in m for m in messages)
    (tmp_path / "with").mkdir()
    with_cpg = _gbk_shapefile(sample, tmp_path / "with", cpg=True)
    layer, messages = _quiet(io.read_layer, with_cpg)
    assert layer["building_i"].iloc[0] == "楼00000"
    assert not any("encoding" in m for m in messages)


def test_latin1_shapefile_without_cpg_is_left_as_the_dbf_default(tmp_path):
    path = tmp_path / "streets.shp"
    gdf = gpd.GeoDataFrame({"name": ["Müllerstraße", "Turmstraße"]},
                           geometry=[shapely.LineString([(0, 0), (1, 1)])] * 2, crs="EPSG:25833")
    gdf.to_file(path, engine="pyogrio", encoding="ISO-8859-1")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    layer, messages = _quiet(io.read_layer, path)
    assert layer["name"].tolist() == ["Müllerstraße", "Turmstraße"]
    assert any("ISO-8859-1" in m for m in messages)


def test_wrong_encoding_named_is_an_error_with_the_line(sample, tmp_path):
    path = tmp_path / "buildings.csv"
    _lonlat_table(_chinese_buildings(sample)).to_csv(path, index=False, encoding="gbk")
    with pytest.raises(InputDataError, match=r"not valid utf-8 at line 1 \(bytes ") as info:
        io.read_layer(path, encoding="utf-8")
    assert "buildings.csv" in str(info.value)
    with pytest.raises(InputDataError, match="unknown encoding 'gbkk'"):
        io.read_layer(path, encoding="gbkk")


def test_mixed_encodings_are_an_error_naming_the_line(tmp_path):
    path = tmp_path / "mixed.csv"
    rows = "building_id,name,lon,lat\n" + "".join(f"B{i},杏花巷{i}号,104.0,30.6\n" for i in range(5))
    path.write_bytes(rows.encode("utf-8") + "B9,锦官路,104.0,30.6\n".encode("gbk"))
    with pytest.raises(InputDataError, match=r"mixes encodings") as info:
        io.read_layer(path)
    assert "line 7" in str(info.value)


@pytest.mark.parametrize(("text", "encoding", "expected"), [
    ("楼00000,杏花巷7号,锦官路", "gbk", "gb18030"),
    ("楼00000,杏花巷7号,锦官路", "gb18030", "gb18030"),
    ("楼00000,杏花巷7号", "utf-8", "utf-8"),
    ("楼00000,杏花巷7号", "utf-8-sig", "utf-8-sig"),
    ("plain ascii", "ascii", "utf-8"),
])
def test_detect_encoding(text, encoding, expected):
    assert detect_encoding(text.encode(encoding)) == expected


def test_latin1_text_is_not_taken_for_chinese():
    data = "id,Straße\n1,Müllerstraße\n2,Turmstraße\n3,Alt-Moabit\n".encode("cp1252")
    with pytest.warns(GridkitWarning, match="not UTF-8"):
        decoded = decode_text(data, source="berlin.csv")
    assert "Müllerstraße" in decoded.text


# ----------------------------------------------------------------------------------------- columns
@pytest.mark.parametrize("key", ["households", "population", "building_id", "levels"])
def test_column_named_by_the_user_must_exist(sample, key):
    """A misspelt households column used to replace every count by footprint estimates (exit 0)."""
    with pytest.raises(InputDataError, match=r"has no column 'hh'") as info:
        _quiet(gridkit.partition, sample.communities, sample.buildings, sample.streets, columns={key: "hh"})
    assert f"named for {key}" in str(info.value)
    assert "buildings.geojson" in str(info.value)


def test_misspelt_column_suggests_the_right_one(sample):
    buildings = sample.buildings.rename(columns={"households": "Households_2024"})
    with pytest.raises(InputDataError, match=r"did you mean 'Households_2024'"):
        _quiet(gridkit.partition, sample.communities, buildings, sample.streets,
               columns={"households": "households_2024"})


def test_unknown_columns_key_is_an_error(sample):
    with pytest.raises(GridkitError, match=r"did you mean 'households'"):
        gridkit.partition(sample.communities, sample.buildings, columns={"househlds": "户数"})


def test_chinese_column_names_are_recognised(sample):
    result, caught = run_partition(sample.communities, _chinese_buildings(sample), sample.streets)
    messages = [str(w.message) for w in caught]
    assert result.grids["households"].sum() == SAMPLE_HOUSEHOLDS  # real counts, not estimates
    assert result.grids["population"].sum() == sample.buildings["population"].sum()
    assert any("using '户数' as households" in m for m in messages)
    assert not any("estimated from footprint" in m for m in messages)


def test_chinese_community_columns_are_recognised(sample):
    communities = sample.communities.rename(columns={"name": "名称", "code": "社区编码"})
    result, caught = run_partition(communities, sample.buildings, sample.streets)
    assert result.grids["grid_id"].tolist() == run_partition(sample.communities, sample.buildings,
                                                              sample.streets)[0].grids["grid_id"].tolist()
    assert any("using '社区编码' as code" in str(w.message) for w in caught)


def test_no_households_column_and_no_levels_names_the_column(sample):
    buildings = sample.buildings.rename(columns={"households": "hh_count"}).drop(columns="levels")
    with pytest.raises(InputDataError, match=r"no households column") as info:
        _quiet(gridkit.partition, sample.communities, buildings, sample.streets)
    assert "'hh_count'" in str(info.value)
    assert "--households-col" in str(info.value)


def test_no_households_column_estimates_all_and_says_so(sample):
    buildings = sample.buildings.drop(columns=["households", "population"])
    result, caught = run_partition(sample.communities, buildings, sample.streets)
    assert any("households missing for all 1746 buildings (no households column)" in str(w.message) for w in caught)
    assert result.assignment["estimated"].all()


def test_lonlat_in_chinese_column_names(sample, tmp_path):
    path = tmp_path / "b.csv"
    _lonlat_table(sample.buildings, "经度", "纬度").to_csv(path, index=False)
    result, _ = run_partition(sample.communities, path, sample.streets)
    assert result.grids["households"].sum() == SAMPLE_HOUSEHOLDS


def test_csv_without_coordinates_names_what_works(tmp_path):
    path = tmp_path / "b.csv"
    pd.DataFrame({"building_id": ["B1"], "东": [104.0], "北": [30.6]}).to_csv(path, index=False)
    with pytest.raises(InputDataError) as info:
        io.read_layer(path)
    text = str(info.value)
    assert "经度/纬度" in text
    assert "'东'" in text
    assert "x_col" not in text  # an option neither the CLI nor partition() offers


# ------------------------------------------------------------------------------------- coordinates
def test_swapped_lonlat_csv_is_diagnosed(sample, tmp_path):
    path = tmp_path / "b.csv"
    _lonlat_table(sample.buildings, "lat", "lon").to_csv(path, index=False)
    with pytest.raises(InputDataError, match="look swapped") as info:
        io.read_layer(path)
    assert "row 0" in str(info.value)


def test_swapped_axes_in_a_layer_are_diagnosed_not_reported_outside():
    """Berlin: (52.5, 13.4) is a valid lon/lat too, so the axes are tested by swapping them back."""
    d = make_district(3, 3, per_side=2, households=(5, 15), seed=0)
    communities = d.communities.set_crs("EPSG:32633", allow_override=True).to_crs("EPSG:4326")
    buildings = d.buildings.set_crs("EPSG:32633", allow_override=True).to_crs("EPSG:4326")
    swapped = buildings.set_geometry(buildings.geometry.map(
        lambda g: shapely.transform(g, lambda xy: xy[:, ::-1])))
    with pytest.raises(InputDataError, match="look swapped") as info:
        _quiet(gridkit.partition, communities, swapped, target=100)
    assert "outside='report'" not in str(info.value)


def test_swapped_axes_beyond_90_degrees_in_a_layer(sample):
    swapped = sample.buildings.set_geometry(sample.buildings.geometry.map(
        lambda g: shapely.transform(g, lambda xy: xy[:, ::-1])))
    with pytest.raises(InputDataError, match="latitude first") as info:
        _quiet(gridkit.partition, sample.communities, swapped, sample.streets)
    assert "outside='report'" not in str(info.value)


def test_buildings_really_outside_suggest_the_report_option(district):
    far = district.buildings.copy()
    far.loc[0, "geometry"] = shapely.affinity.translate(far.geometry.iloc[0], 5_000, 0)
    with pytest.raises(InputDataError, match=r"outside='report'") as info:
        _quiet(gridkit.partition, district.communities, far, district.streets, target=100)
    assert "'B00000'" in str(info.value)
    assert "1 of 81 buildings" in str(info.value)


def test_projected_coordinates_read_as_lonlat(tmp_path):
    path = tmp_path / "b.csv"
    pd.DataFrame({"building_id": ["B1"], "x": [406_000.0], "y": [3_393_000.0]}).to_csv(path, index=False)
    with pytest.raises(InputDataError, match="crs="):
        io.read_layer(path)


# ----------------------------------------------------------------------------- layers, files, CSV
def test_empty_layer_names_the_layer(district, tmp_path):
    path = tmp_path / "district.gpkg"
    district.communities.to_file(path, layer="shequ", engine="pyogrio")
    district.buildings.iloc[:0].to_file(path, layer="jianzhu", engine="pyogrio")
    with pytest.raises(InputDataError, match=r"buildings layer 'jianzhu' has no features") as info:
        _quiet(gridkit.partition, io.read_layer(path, layer="shequ"), io.read_layer(path, layer="jianzhu"))
    assert "district.gpkg" in str(info.value)
    with pytest.raises(InputDataError, match=r"the communities layer.*has no features"):
        _quiet(gridkit.partition, district.communities.iloc[:0], district.buildings)


def test_ragged_csv_row_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("building_id,lon,lat\nB1,104.0,30.6\nB2,104.0,30.6,7\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"line 3") as info:
        io.read_layer(path)
    assert "b.csv" in str(info.value)


@pytest.mark.parametrize("content", [b"", b"\n"])
def test_empty_csv_is_an_error(tmp_path, content):
    path = tmp_path / "b.csv"
    path.write_bytes(content)
    with pytest.raises(InputDataError, match="empty"):
        io.read_layer(path)


def test_folder_given_for_a_table(tmp_path):
    (tmp_path / "b.csv").mkdir()
    with pytest.raises(InputDataError, match="folder"):
        io.read_table(tmp_path / "b.csv")


# ------------------------------------------------------------------------------------- communities
def _overlapping(district):
    communities = district.communities.copy()
    first = communities.geometry.iloc[0]
    _x0, y0, x1, y1 = first.bounds
    second = shapely.box(x1 - 50, y0, x1 + 250, y1)  # overlaps the first by a 50 m strip
    return gpd.GeoDataFrame({"community_id": ["C01", "C02"], "name": ["一", "二"]},
                            geometry=[first, second], crs=communities.crs)


def test_overlapping_communities_are_an_error_naming_both(district):
    with pytest.raises(InputDataError, match=r"'C01' and 'C02' overlap by [\d,]+ m²") as info:
        _quiet(gridkit.partition, _overlapping(district), district.buildings, district.streets, target=100,
               outside="report")
    assert "overlapping='clip'" in str(info.value)


def test_overlapping_communities_clipped_in_input_order(district):
    communities = _overlapping(district)
    result, caught = run_partition(communities, district.buildings, district.streets, target=100,
                                   outside="report", overlapping="clip")
    assert any("clipped in input order" in str(w.message) for w in caught)
    grids = result.grids.to_crs(district.metric_crs)
    union = shapely.union_all(grids.geometry.to_numpy())
    assert abs(grids.area.sum() - union.area) < 1e-3  # no grid overlaps another
    inside = result.assignment["status"] == "assigned"
    assert result.grids["households"].sum() == district.buildings.loc[inside.to_numpy(), "households"].sum()
    strip = shapely.box(*communities.geometry.iloc[0].bounds).intersection(communities.geometry.iloc[1])
    in_strip = district.buildings.geometry.representative_point().within(strip).to_numpy()
    assert in_strip.any()
    assert (result.assignment.loc[in_strip, "community_id"] == "C01").all()  # the first listed keeps it


def test_rounding_slivers_between_communities_are_not_overlaps(district):
    communities = district.communities.copy()
    first = communities.geometry.iloc[0]
    _x0, y0, x1, y1 = first.bounds
    neighbour = shapely.box(x1 - 1e-4, y0, x1 + 300, y1)  # 0.1 mm
    layer = gpd.GeoDataFrame({"community_id": ["C01", "C02"]}, geometry=[first, neighbour], crs=communities.crs)
    checked = _validate.communities(layer)
    assert len(checked) == 2


# ------------------------------------------------------------------------------------------ counts
@pytest.mark.parametrize("value", [1e30, 2.0**63, 5_000_000])
def test_absurd_counts_are_an_error_not_an_overflow(district, value):
    buildings = district.buildings.copy()
    buildings["households"] = buildings["households"].astype(float)
    buildings.loc[4, "households"] = value
    with pytest.raises(InputDataError, match="not plausible") as info:
        _quiet(gridkit.partition, district.communities, buildings, district.streets, target=100)
    assert "'B00004'" in str(info.value)
    assert "column 'households'" in str(info.value)


# ----------------------------------------------------------------------------------------- options
@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"outside": "eror"}, "did you mean 'error'"),
    ({"outside": "Report"}, "did you mean 'report'"),
    ({"overlapping": "clipp"}, "did you mean 'clip'"),
    ({"by": "pop"}, "did you mean 'population'"),
    ({"tolerance": 1.5}, "tolerance must be a number between 0 and 1"),
    ({"tolerance": 10}, "tolerance must be a number between 0 and 1"),
])
def test_options_are_checked_at_the_boundary(district, kwargs, expected):
    with pytest.raises(GridkitError, match=expected):
        gridkit.partition(district.communities, district.buildings, district.streets, **kwargs)


@pytest.mark.parametrize("kwargs", [{"outside": "eror"}, {"by": "floors"}])
def test_regenerate_checks_the_same_options(district, kwargs):
    with pytest.raises(GridkitError, match="must be one of"):
        gridkit.regenerate(district.communities, pd.DataFrame(), district.communities, district.buildings, **kwargs)


def test_one_list_of_choices():
    assert _validate.CHOICES["outside"] == ("error", "report")
    assert set(_validate.CHOICES) >= {"outside", "overlapping", "by", "lang", "coords", "period"}


def test_defaults_are_not_silent(district):
    _, caught = run_partition(district.communities, district.buildings)
    messages = [str(w.message) for w in caught]
    assert any("grids will not follow streets" in m for m in messages)
    assert any("no target given: the default of 300 households per grid" in m for m in messages)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('outside = "report"', 'outside = "eror"', "did you mean 'error'"),
    ('overlapping = "clip"', 'overlapping = "clipp"', "did you mean 'clip'"),
    ('# encoding = "gbk"', 'encoding = "gbkk"', "unknown encoding"),
    ('# households = "hh"', 'households = "hh"', "did you mean 'households'"),
])
def test_configuration_options_and_columns(sample, tmp_path, old, new, expected):
    text = example_config(str(sample.folder))
    text = text.replace("# outside = ", "outside = ").replace("# overlapping = ", "overlapping = ")
    assert old in text
    (tmp_path / "gridkit.toml").write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(InputDataError, match=expected):
        load_config(tmp_path / "gridkit.toml")


def test_configuration_reads_columns_of_a_gbk_shapefile(sample, tmp_path):
    _gbk_shapefile(sample, tmp_path, cpg=False)
    text = example_config(str(sample.folder)).replace(f'buildings = "{sample.folder}/buildings.geojson"',
                                                      'buildings = "buildings.shp"')
    text = text.replace('# households = "hh"', 'households = "户数"')
    (tmp_path / "gridkit.toml").write_text(text, encoding="utf-8")
    cfg = load_config(tmp_path / "gridkit.toml")
    assert cfg.columns["households"] == "户数"


def test_check_lonlat_allows_valid_coordinates():
    io.check_lonlat(np.array([104.0, -179.9]), np.array([30.6, 89.9]), crs="EPSG:4326")
    io.check_lonlat(np.array([406_000.0]), np.array([3_393_000.0]), crs="EPSG:32648")
