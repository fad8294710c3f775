"""Bad input ends in a GridkitError (a ValueError) naming the file, the feature/row and the column."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import run_partition
from synthetic import make_district

import gridkit
from gridkit import _validate
from gridkit.errors import InputDataError


@pytest.fixture
def district():
    return make_district(2, 2, per_side=3, households=(5, 15), seed=0)


def _write(gdf: gpd.GeoDataFrame, path) -> str:
    gdf.to_file(path, driver="GeoJSON", engine="pyogrio")
    return str(path)


def _error(communities, buildings, streets=None, **kwargs) -> gridkit.GridkitError:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(gridkit.GridkitError) as info:
            gridkit.partition(communities, buildings, streets, target=300, **kwargs)
    assert isinstance(info.value, ValueError)
    return info.value


def _set(gdf, row, column, value):
    out = gdf.copy()
    if column in out.columns and not isinstance(value, type(out[column].iloc[0])):
        out[column] = out[column].astype(object)
    out.loc[row, column] = value
    return out


# --------------------------------------------------------------------------------------------
# buildings: one case per defect, checked in memory and from a file


def _bowtie(gdf, row):
    x0, y0, x1, y1 = gdf.geometry.iloc[row].bounds
    return _set(gdf, row, "geometry", shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)]))


BUILDING_DEFECTS = {
    # name: (make the defect, row named, feature named, column named, words in the message)
    "duplicate id": (lambda g: _set(g, 3, "building_id", "B00001"), 3, "B00001", "building_id", "duplicate"),
    "negative households": (lambda g: _set(g, 3, "households", -2), 3, "B00003", "households", "non-negative"),
    "non-numeric households": (lambda g: _set(g, 4, "households", "abc"), 4, "B00004", "households", "abc"),
    "fractional households": (lambda g: _set(g, 5, "households", 2.5), 5, "B00005", "households", "2.5"),
    "negative population": (lambda g: _set(g, 6, "population", -1), 6, "B00006", "population", "non-negative"),
    "bow-tie polygon": (lambda g: _bowtie(g, 2), 2, "B00002", "geometry", "cannot be repaired"),
    "outside every community": (
        lambda g: _set(g, 7, "geometry", shapely.affinity.translate(g.geometry.iloc[7], 1000, 0)),
        7, "B00007", "geometry", "outside every community"),
}


@pytest.mark.parametrize("defect", list(BUILDING_DEFECTS))
def test_building_defect_in_memory(district, defect):
    make, row, feature, column, words = BUILDING_DEFECTS[defect]
    error = _error(district.communities, make(district.buildings), district.streets)
    message = str(error)
    assert "<buildings GeoDataFrame>" in message
    assert f"row {row}" in message
    assert repr(feature) in message
    assert f"column {column!r}" in message
    assert words in message
    assert (error.row, error.feature, error.column) == (row, feature, column)


@pytest.mark.parametrize("defect", list(BUILDING_DEFECTS))
def test_building_defect_in_a_file(district, defect, tmp_path):
    make, row, feature, column, words = BUILDING_DEFECTS[defect]
    path = _write(make(district.buildings), tmp_path / "buildings.geojson")
    communities = _write(district.communities, tmp_path / "communities.geojson")
    error = _error(communities, path)
    message = str(error)
    assert path in message
    assert error.source == path
    assert f"row {row}" in message
    assert repr(feature) in message
    assert f"column {column!r}" in message
    assert words in message


def test_bad_count_message_shows_the_value_plainly(district):
    message = str(_error(district.communities, _set(district.buildings, 3, "households", -2), district.streets))
    assert "np.float64" not in message
    assert "-2" in message


def test_missing_id_column_suggests_the_closest_name(district, tmp_path):
    buildings = district.buildings.rename(columns={"building_id": "buildingid"})
    error = _error(district.communities, buildings, district.streets)
    assert "did you mean 'buildingid'" in str(error)
    assert error.column == "building_id"
    path = _write(buildings, tmp_path / "b.geojson")
    error = _error(district.communities, path, district.streets)
    assert path in str(error)
    assert "did you mean 'buildingid'" in str(error)


def test_missing_community_id_column(district):
    communities = district.communities.rename(columns={"community_id": "communityid"})
    error = _error(communities, district.buildings, district.streets)
    assert "<communities GeoDataFrame>" in str(error)
    assert "'community_id'" in str(error)
    assert "did you mean 'communityid'" in str(error)


def test_missing_column_without_close_name_lists_the_columns(district):
    buildings = district.buildings.rename(columns={"building_id": "zzz"})
    error = _error(district.communities, buildings, district.streets)
    assert "columns are" in str(error)
    assert "'zzz'" in str(error)


def test_custom_column_names(district):
    buildings = district.buildings.rename(columns={"building_id": "bid", "households": "hh"})
    communities = district.communities.rename(columns={"community_id": "sq"})
    result, _ = run_partition(communities, buildings, district.streets, target=100,
                              columns={"building_id": "bid", "households": "hh", "community_id": "sq"})
    assert result.grids["households"].sum() == district.buildings["households"].sum()
    assert set(result.assignment["building_id"]) == set(buildings["bid"])


def test_missing_crs(district):
    buildings = district.buildings.set_crs(None, allow_override=True)
    error = _error(district.communities, buildings, district.streets)
    assert "<buildings GeoDataFrame>" in str(error)
    assert "no CRS" in str(error)


def test_missing_crs_in_a_csv_file(district, tmp_path):
    path = tmp_path / "buildings.csv"
    frame = pd.DataFrame(district.buildings.drop(columns="geometry"))
    frame["wkt"] = district.buildings.geometry.to_wkt()
    frame.to_csv(path, index=False)
    error = _error(district.communities, str(path), district.streets)
    assert str(path) in str(error)
    assert "no CRS" in str(error)
    # with crs= given explicitly the same file reads
    layer = gridkit.io.read_layer(path, crs=district.buildings.crs)
    assert layer.crs == district.buildings.crs


def test_csv_without_coordinates(district, tmp_path):
    path = tmp_path / "buildings.csv"
    pd.DataFrame(district.buildings.drop(columns="geometry")).to_csv(path, index=False)
    error = _error(district.communities, str(path), district.streets)
    assert str(path) in str(error)
    assert "no coordinates" in str(error)


def test_csv_with_bad_coordinate_names_row_and_column(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("building_id,households,lon,lat\nA,3,104.06,30.66\nB,4,abc,30.67\n", encoding="utf-8")
    with pytest.raises(InputDataError) as info:
        gridkit.io.read_layer(path)
    assert str(path) in str(info.value)
    assert info.value.row == 1
    assert info.value.column == "lon"


@pytest.mark.parametrize("which", ["communities", "buildings", "streets"])
def test_file_that_does_not_exist(district, tmp_path, which):
    missing = str(tmp_path / f"no_such_{which}.geojson")
    args = {"communities": district.communities, "buildings": district.buildings, "streets": district.streets}
    args[which] = missing
    error = _error(args["communities"], args["buildings"], args["streets"])
    assert missing in str(error)
    assert "does not exist" in str(error)
    assert which in str(error)


def test_unreadable_file(district, tmp_path):
    path = tmp_path / "buildings.geojson"
    path.write_text("this is not geojson", encoding="utf-8")
    error = _error(district.communities, str(path), district.streets)
    assert str(path) in str(error)


@pytest.mark.parametrize("code", ["51010700300", "5101070030011", "5101070030AB"])
def test_community_code_not_12_digits(district, code, tmp_path):
    communities = district.communities.copy()
    communities["code"] = [code]
    error = _error(communities, district.buildings, district.streets)
    assert "<communities GeoDataFrame>" in str(error)
    assert "'C01'" in str(error)
    assert "row 0" in str(error)
    assert "column 'code'" in str(error)
    assert "12 digits" in str(error)
    path = _write(communities, tmp_path / "communities.geojson")
    assert path in str(_error(path, district.buildings, district.streets))


def test_duplicate_community_ids(district):
    communities = pd.concat([district.communities, district.communities], ignore_index=True)
    communities["code"] = ["510107003001", "510107003002"]
    error = _error(gpd.GeoDataFrame(communities, crs=district.communities.crs), district.buildings)
    assert "duplicate" in str(error)
    assert "row 1" in str(error)
    assert "column 'community_id'" in str(error)


def test_bad_community_target(district):
    communities = district.communities.copy()
    communities["target"] = [-5]
    error = _error(communities, district.buildings, district.streets)
    assert "column 'target'" in str(error)


def test_street_layer_with_polygons_is_an_error(district):
    streets = district.streets.copy()
    streets.loc[0, "geometry"] = shapely.box(0, 0, 1, 1)
    error = _error(district.communities, district.buildings, streets)
    assert "row 0" in str(error)
    assert "'S000'" in str(error)
    assert "column 'geometry'" in str(error)


# --------------------------------------------------------------------------------------------
# repairs and reports instead of errors


def test_repairable_geometry_is_repaired_with_a_warning(district):
    """A ring touching itself (an inverted hole) is repaired, and a warning names it (the README promises)."""
    buildings = district.buildings.copy()
    x0, y0, x1, y1 = buildings.geometry.iloc[3].bounds
    box_area = (x1 - x0) * (y1 - y0)
    mx = (x0 + x1) / 2
    touching = shapely.Polygon([(x0, y0), (x1, y0), (x1, y1), (mx, y1), (mx + 1, y1 - 3), (mx - 1, y1 - 3),
                                (mx, y1), (x0, y1)])
    assert not touching.is_valid
    x0, y0, x1, y1 = buildings.geometry.iloc[4].bounds
    duplicated = shapely.Polygon([(x0, y0), (x1, y0), (x1, y0), (x1, y1), (x0, y1)])
    buildings.loc[3, "geometry"] = touching
    buildings.loc[4, "geometry"] = duplicated
    result, caught = run_partition(district.communities, buildings, district.streets, target=300)
    repairs = [str(w.message) for w in caught if "repaired" in str(w.message)]
    assert len(repairs) == 1
    assert "repaired 1 invalid polygon" in repairs[0]
    assert "'B00003'" in repairs[0]
    assert "area unchanged" in repairs[0]
    assigned = result.assignment.set_index("building_id")
    assert assigned.loc["B00003", "status"] == "assigned"
    assert result.grids["households"].sum() == buildings["households"].sum()
    with pytest.warns(gridkit.GridkitWarning, match="repaired 1 invalid polygon"):
        repaired = _validate.repair_geometry(buildings, id_col="building_id", kinds=("Polygon", "MultiPolygon"))
    assert repaired.is_valid.all()
    assert repaired.iloc[3].area == pytest.approx(box_area - 3.0, rel=1e-9)  # the 2 m × 3 m notch is a hole
    assert repaired.iloc[4].equals(duplicated)


def test_outside_report_lists_the_building(district):
    buildings = district.buildings.copy()
    buildings.loc[7, "geometry"] = shapely.affinity.translate(buildings.geometry.iloc[7], 1000, 0)
    result, caught = run_partition(district.communities, buildings, district.streets, target=300, outside="report")
    row = result.assignment.set_index("building_id").loc["B00007"]
    assert row["status"] == "outside_communities"
    assert pd.isna(row["grid_id"])
    assert (result.assignment.drop(index=7)["status"] == "assigned").all()
    assert any(issubclass(w.category, gridkit.GridkitWarning) and "outside every community" in str(w.message)
               for w in caught)
    inside = buildings.drop(index=7)
    assert result.grids["households"].sum() == inside["households"].sum()
    assert result.grids["n_buildings"].sum() == len(inside)


def test_missing_households_estimated_from_levels(district):
    buildings = district.buildings.copy()
    buildings["households"] = buildings["households"].astype(float)
    buildings.loc[[2, 5], "households"] = np.nan
    buildings["levels"] = 6
    with pytest.warns(UserWarning, match="households missing for 2 buildings"):
        checked = _validate.buildings(buildings)
    assert checked["estimated"].tolist() == [i in (2, 5) for i in range(len(buildings))]
    footprint = buildings.geometry.area.to_numpy()
    expected = np.rint(footprint * 6 * 0.8 / 75).astype(int)
    assert checked.loc[[2, 5], "households"].tolist() == expected[[2, 5]].tolist()
    given = buildings["households"].drop(index=[2, 5]).astype(int)
    assert checked["households"].drop(index=[2, 5]).tolist() == given.tolist()
    result, caught = run_partition(district.communities, buildings, district.streets, target=100)
    assert any("estimated" in str(w.message) for w in caught)
    assert result.grids["households"].sum() == given.sum() + expected[[2, 5]].sum()


def test_estimate_warning_is_a_gridkit_warning(district):
    buildings = district.buildings.copy()
    buildings["households"] = buildings["households"].astype(float)
    buildings.loc[2, "households"] = np.nan
    buildings["levels"] = 6
    with pytest.warns(gridkit.GridkitWarning):
        _validate.buildings(buildings)


def test_missing_households_without_levels_is_an_error(district):
    buildings = district.buildings.copy()
    buildings["households"] = buildings["households"].astype(float)
    buildings.loc[5, "households"] = np.nan
    error = _error(district.communities, buildings, district.streets)
    assert "row 5" in str(error)
    assert "'B00005'" in str(error)
    assert "column 'households'" in str(error)
    assert "levels" in str(error)


def test_missing_population_is_estimated_with_a_warning(district):
    buildings = district.buildings.drop(columns="population")
    with pytest.warns(UserWarning, match="population missing"):
        checked = _validate.buildings(buildings)
    assert checked["population"].tolist() == np.rint(buildings["households"] * 2.62).astype(int).tolist()
    assert checked["estimated"].all()
