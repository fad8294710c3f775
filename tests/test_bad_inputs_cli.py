"""The catalogue of bad inputs at the command line, as a careless user types them, and the rosters and
incidents as they come (roles by their Chinese and English names, stations across the road, GBK files).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from gridkit import io
from gridkit.cli import app
from gridkit.crs import local_metric_crs
from gridkit.errors import GridkitWarning, InputDataError
from gridkit.incidents import read_incidents
from gridkit.roles import ROLES, is_grid_warden, normalise_role, normalise_roles
from gridkit.spatial import polygon_holding
from gridkit.wardens import assign_wardens, building_wardens, grid_incidents, read_roster

ENV = {"COLUMNS": "400", "NO_COLOR": "1"}
SAMPLE_HOUSEHOLDS = 23_646


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def squash(text: str) -> str:
    return "".join(str(text).split())


@pytest.fixture(scope="module")
def paths(sample):
    return {name: sample.folder / f"{name}.geojson" for name in ("communities", "buildings", "streets")}


def _partition(paths, tmp_path, *options, buildings=None):
    out, links = tmp_path / "grids.geojson", tmp_path / "assignment.csv"
    result = invoke("partition", "--communities", paths["communities"], "--buildings", buildings or paths["buildings"],
                    "--streets", paths["streets"], "--out", out, "--assignment", links, "--lang", "en", *options)
    return result, out, links


def _gbk_shapefile(sample, folder: Path) -> Path:
    buildings = sample.buildings.rename(columns={"households": "户数", "population": "人口"})
    buildings["building_id"] = [f"楼{i:05d}" for i in range(len(buildings))]
    path = folder / "jianzhu.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        buildings.to_file(path, engine="pyogrio", encoding="GBK")
    path.with_suffix(".cpg").unlink()
    return path


# ------------------------------------------------------------------------------------ partition CLI
def test_cli_misspelt_households_column_is_an_input_error(paths, tmp_path):
    result, out, _ = _partition(paths, tmp_path, "--households-col", "hh")
    assert result.exit_code == 3
    assert "didyoumean'households'?" in squash(result.output)
    assert not out.exists()  # nothing written from estimates


def test_cli_gbk_shapefile_without_cpg(sample, paths, tmp_path):
    shp = _gbk_shapefile(sample, tmp_path)
    result, out, links = _partition(paths, tmp_path, buildings=shp)
    assert result.exit_code == 0, result.output
    text = squash(result.output)
    assert "GBK/GB18030" in text
    assert "using'户数'ashouseholds" in text
    assignment = pd.read_csv(links, dtype=str)
    assert assignment["building_id"].iloc[0] == "楼00000"
    assert gpd.read_file(out)["households"].sum() == SAMPLE_HOUSEHOLDS


def test_cli_encoding_option(sample, paths, tmp_path):
    shp = _gbk_shapefile(sample, tmp_path)
    result, _, links = _partition(paths, tmp_path, "--encoding", "gbk", buildings=shp)
    assert result.exit_code == 0, result.output
    assert "GBK/GB18030" not in result.output
    assert pd.read_csv(links, dtype=str)["building_id"].iloc[0] == "楼00000"
    bad, _, _ = _partition(paths, tmp_path, "--encoding", "utf-8", buildings=shp)
    assert bad.exit_code == 3
    assert "notvalidutf-8" in squash(bad.output)


@pytest.mark.parametrize(("option", "value", "hint"), [
    ("--outside", "eror", "didyoumean'error'"),
    ("--by", "pop", "didyoumean'population'"),
    ("--overlapping", "clipp", "didyoumean'clip'"),
    ("--lang", "cn", ""),
])
def test_cli_choice_options_are_usage_errors(paths, tmp_path, option, value, hint):
    result, out, _ = _partition(paths, tmp_path, option, value)
    assert result.exit_code == 2
    assert hint in squash(result.output)
    assert not out.exists()


def test_cli_defaults_are_not_silent(paths, tmp_path):
    out, links = tmp_path / "g.geojson", tmp_path / "a.csv"
    result = invoke("partition", "--communities", paths["communities"], "--buildings", paths["buildings"],
                    "--out", out, "--assignment", links, "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "gridswillnotfollowstreets" in squash(result.output)


def test_cli_swapped_lonlat_csv(sample, paths, tmp_path):
    points = sample.buildings.geometry.representative_point()
    csv = tmp_path / "b.csv"
    sample.buildings.drop(columns="geometry").assign(lat=points.x, lon=points.y).to_csv(csv, index=False)
    result, _, _ = _partition(paths, tmp_path, buildings=csv)
    assert result.exit_code == 3
    text = squash(result.output)
    assert "lookswapped" in text
    assert "outside" not in text


def test_cli_overlapping_communities(sample, tmp_path):
    communities = sample.communities.copy()
    metric = local_metric_crs(communities)
    grown = communities.to_crs(metric)
    grown.loc[1, "geometry"] = grown.geometry.iloc[1].buffer(30)
    path = tmp_path / "communities.geojson"
    grown.to_crs(communities.crs).to_file(path, engine="pyogrio")
    out, links = tmp_path / "g.geojson", tmp_path / "a.csv"
    base = ["partition", "--communities", path, "--buildings", sample.folder / "buildings.geojson",
            "--streets", sample.folder / "streets.geojson", "--out", out, "--assignment", links, "--lang", "en"]
    refused = invoke(*base)
    assert refused.exit_code == 3
    assert "'C02'" in refused.output
    assert "overlap" in refused.output
    clipped = invoke(*base, "--overlapping", "clip")
    assert clipped.exit_code == 0, clipped.output
    assert "clippedininputorder" in squash(clipped.output)
    assert gpd.read_file(out)["households"].sum() == SAMPLE_HOUSEHOLDS


def test_cli_validate_checks_the_columns_it_is_told(sample, sample_result, tmp_path):
    grids = tmp_path / "grids.geojson"
    io.write_geojson(sample_result.grids, grids)
    result = invoke("validate", grids, "--communities", sample.folder / "communities.geojson",
                    "--community-id-col", "sq_id", "--lang", "en")
    assert result.exit_code == 3
    assert "hasnocolumn'sq_id'" in squash(result.output)


# ------------------------------------------------------------------------------------------ rosters
@pytest.mark.parametrize(("written", "role"), [
    ("full_time", "full_time"), ("Warden", "full_time"), ("grid warden", "full_time"), ("网格员", "full_time"),
    ("专职网格员", "full_time"), ("兼职网格员", "part_time"), ("part-time", "part_time"), ("巡防队员", "part_time"),
    ("网格警", "police"), ("民警", "police"), ("Police Officer", "police"), ("志愿者", "volunteer"),
    ("Volunteers", "volunteer"),
])
def test_roles_by_their_chinese_and_english_names(written, role):
    assert normalise_role(written) == role


def test_unknown_role_names_the_row_and_the_closest(sample):
    roster = sample.wardens.copy()
    roster.loc[5, "role"] = "voluntere"
    with pytest.raises(InputDataError, match=r"unknown role 'voluntere'; did you mean 'volunteer'") as info:
        read_roster(roster)
    assert "row 5" in str(info.value)
    assert normalise_roles(pd.Series(["网格员", "志愿者"])).tolist() == ["full_time", "volunteer"]
    assert set(ROLES) == {"full_time", "part_time", "police", "volunteer"}


def _moved(roster: pd.DataFrame, row: int, metres: float) -> pd.DataFrame:
    out = roster.copy()
    out.loc[row, "lat"] = out.loc[row, "lat"] + metres / 111_320
    return out


def test_station_across_the_road_is_kept_with_a_warning(sample, sample_result):
    roster = sample.wardens.copy()
    north = sample_result.grids.to_crs(4326).total_bounds[3]
    roster.loc[3, "lat"] = north + 264 / 111_320
    with pytest.warns(GridkitWarning, match=r"outside the district, kept") as caught:
        checked = read_roster(roster, district=sample_result.grids)
    assert len(checked) == len(roster)
    assert any(roster.loc[3, "warden_id"] in str(w.message) for w in caught)


def test_station_kilometres_away_is_a_coordinate_mistake(sample, sample_result):
    roster = sample.wardens.copy()
    roster.loc[3, ["lon", "lat"]] = [roster.loc[3, "lat"], roster.loc[3, "lon"]]  # swapped: 30.6, 104.0
    with pytest.raises(InputDataError, match=r"km outside the district.*coordinate mistake") as info:
        read_roster(roster.assign(lat=roster["lat"].clip(upper=89)), district=sample_result.grids)
    assert "row 3" in str(info.value)


def test_roster_with_chinese_roles_staffs_like_the_english_one(sample, sample_result):
    names = {"full_time": "专职网格员", "part_time": "兼职网格员", "police": "网格警", "volunteer": "志愿者"}
    chinese = sample.wardens.assign(role=sample.wardens["role"].map(names))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        a = assign_wardens(sample_result.grids, read_roster(chinese, district=sample_result.grids))
        b = assign_wardens(sample_result.grids, read_roster(sample.wardens, district=sample_result.grids))
    assert a.assignment["grid_id"].tolist() == b.assignment["grid_id"].tolist()


def test_one_rule_for_a_buildings_warden(sample, sample_result):
    """From the plan or from its CSV, a building's warden is a grid warden of its grid, never police."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        plan = assign_wardens(sample_result.grids, read_roster(sample.wardens, district=sample_result.grids),
                              rule="1+1+2")
    from_plan = building_wardens(sample_result.assignment, plan)
    from_table = building_wardens(sample_result.assignment, plan.assignment)
    roles = plan.assignment.set_index("warden_id")["role"]
    for table in (from_plan, from_table):
        served = table["warden_id"].dropna()
        assert len(served) > 0.9 * len(table)
        assert is_grid_warden(roles.loc[served.to_numpy()]).all()
    # the same grid gets a warden of that grid in both
    grid_of = plan.links.groupby("warden_id")["grid_id"].agg(set)
    for table in (from_plan, from_table):
        sample_rows = table.dropna(subset=["warden_id"]).iloc[::97]
        assert all(g in grid_of[w] for g, w in zip(sample_rows["grid_id"], sample_rows["warden_id"], strict=True))


def test_who_walks_the_routes():
    assert is_grid_warden(["full_time", "兼职网格员", "police", "志愿者", "网格员"]).tolist() == \
        [True, True, False, False, True]


def test_cli_wardens_with_chinese_roles_and_a_station_across_the_road(sample, sample_result, tmp_path):
    grids = tmp_path / "grids.geojson"
    io.write_geojson(sample_result.grids, grids)
    names = {"full_time": "网格员", "part_time": "兼职", "police": "民警", "volunteer": "志愿者"}
    roster = sample.wardens.assign(role=sample.wardens["role"].map(names))
    roster.loc[0, "lat"] = sample_result.grids.to_crs(4326).total_bounds[3] + 200 / 111_320
    path = tmp_path / "名册.csv"
    roster.to_csv(path, index=False, encoding="gbk")
    out = tmp_path / "wardens.csv"
    result = invoke("wardens", "--grids", grids, "--roster", path, "--out", out, "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "outsidethedistrict,kept" in squash(result.output)
    assert set(pd.read_csv(out)["role"]) == {"full_time", "part_time", "police", "volunteer"}


# ---------------------------------------------------------------------------------------- incidents
def test_gbk_incidents_csv(sample, tmp_path):
    events = sample.incidents.head(200).copy()
    events["category"] = np.where(np.arange(len(events)) % 2, "环境卫生", "矛盾纠纷")
    path = tmp_path / "事件.csv"
    events.to_csv(path, index=False, encoding="gbk")
    with pytest.warns(GridkitWarning, match="GBK/GB18030"):
        read = read_incidents(path)
    assert len(read) == 200  # none rejected: the Chinese categories decoded and recognised
    expected = np.where(np.arange(len(events)) % 2, "sanitation", "dispute")
    assert read["category"].tolist() == expected.tolist()


def test_incidents_with_swapped_lonlat(sample, tmp_path):
    events = sample.incidents.head(20).rename(columns={"lon": "lat", "lat": "lon"})
    path = tmp_path / "events.csv"
    events.to_csv(path, index=False)
    with pytest.raises(InputDataError, match="look swapped"):
        read_incidents(path)


def test_points_holding_rule_on_a_shared_edge():
    """A point on the edge two grids share goes to the first, wherever it is asked (one rule)."""
    grids = gpd.GeoDataFrame({"grid_id": ["A", "B"]}, geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
                             crs="EPSG:32648")
    point = gpd.GeoDataFrame(geometry=[shapely.Point(1, 0.5)], crs="EPSG:32648")
    assert polygon_holding(point.geometry.to_numpy(), grids.geometry.to_numpy()).tolist() == [0]
    assert grid_incidents(grids, point).tolist() == [1, 0]
