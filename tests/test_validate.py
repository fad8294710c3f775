"""``validate`` judges the plan, not the file's attributes: the hand edits a planner makes in QGIS fail,
naming the grid (and the building); overlapping communities fail; ``check-inputs`` reports every check."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from conftest import run_partition
from synthetic import METRIC_CRS, make_district
from test_cli import invoke, squash

from gridkit.crs import local_metric_crs
from gridkit.metrics import evaluate, hard_failures
from gridkit.preflight import check_inputs
from gridkit.validate import PROBLEM_COLUMNS, validate_plan


def _metric(grids):
    return grids.to_crs(local_metric_crs(grids))


def _merge_two(grids, community="C01"):
    """Two neighbouring grids dissolved into one, as QGIS's "merge selected features" does: the first
    keeps its attributes (now stale), the second is gone."""
    metric = _metric(grids)
    mine = metric.index[metric["community_id"] == community]
    a = mine[0]
    shared = [shapely.length(shapely.intersection(metric.geometry[a].boundary, metric.geometry[i].boundary))
              for i in mine[1:]]
    b = mine[1:][int(np.argmax(shared))]
    merged = grids.copy()
    merged.loc[a, "geometry"] = shapely.union(grids.geometry[a], grids.geometry[b])
    return merged.drop(index=b).reset_index(drop=True), grids["grid_id"][a], grids["grid_id"][b]


def test_sample_plan_passes(sample, sample_result):
    for links in (sample_result.assignment, None):  # by the assignment, and by location
        found = validate_plan(sample_result.grids, sample.communities, sample.buildings, links)
        assert found.ok, found.errors
        assert list(found.problems.columns) == PROBLEM_COLUMNS
        grids = found.grids.set_index("grid_id")
        stated = sample_result.grids.set_index("grid_id")
        assert (grids["households"] == stated["households"]).all()
        assert int(grids["households"].sum()) == 23_646


def test_merged_grids_fail_on_balance_recomputed_from_buildings(sample, sample_result):
    merged, kept, gone = _merge_two(sample_result.grids)
    found = validate_plan(merged, sample.communities, sample.buildings)  # no assignment: by location
    assert not found.ok
    balance = found.errors[found.errors["check"] == "balance"]
    assert balance["grid_id"].tolist() == [kept]
    assert balance["value"].iloc[0] > 0.5
    stale = found.errors[found.errors["check"] == "stale_attribute"]
    assert kept in set(stale["grid_id"])
    recount = found.grids.set_index("grid_id").loc[kept, "households"]
    before = sample_result.grids.set_index("grid_id")["households"]
    assert recount == before[kept] + before[gone]
    # with the old assignment the buildings of the deleted grid point at a grid that is gone
    found = validate_plan(merged, sample.communities, sample.buildings, sample_result.assignment)
    unknown = found.errors[found.errors["check"] == "unknown_grid"]
    assert unknown["grid_id"].tolist() == [gone]
    assert int(unknown["value"].iloc[0]) == int((sample_result.assignment["grid_id"] == gone).sum())


def test_thirty_buildings_moved_in_the_assignment(sample, sample_result):
    links = sample_result.assignment.copy()
    rng = np.random.default_rng(7)
    rows = rng.choice(len(links), 30, replace=False)
    codes = sample_result.grids["grid_id"].tolist()
    moved_to = [codes[(codes.index(g) + 5) % len(codes)] for g in links.loc[rows, "grid_id"]]
    links.loc[rows, "grid_id"] = moved_to
    found = validate_plan(sample_result.grids, sample.communities, sample.buildings, links)
    wrong = found.errors[found.errors["check"] == "building_not_in_grid"]
    assert sorted(wrong["building_id"]) == sorted(links.loc[rows, "building_id"])
    assert dict(zip(wrong["building_id"], wrong["grid_id"], strict=True)) == dict(
        zip(links.loc[rows, "building_id"], moved_to, strict=True))
    assert wrong["message"].str.contains("m outside it, in grid").all()
    assert (wrong["value"] > 0).all()
    assert wrong[["lon", "lat"]].notna().all().all()


def _overlapping_plan():
    """Two communities overlapping by one block column, each partitioned on its own."""
    left = make_district(3, 3, seed=1, community_id="C01", code="510107003001")
    right = make_district(3, 3, seed=2, community_id="C02", code="510107003002")
    shift = 200.0  # the communities are 300 m wide: 100 m overlap
    move = {"communities": right.communities, "buildings": right.buildings, "streets": right.streets}
    moved = {k: v.set_geometry(v.geometry.translate(shift, 0)) for k, v in move.items()}
    moved["buildings"]["building_id"] = "R" + moved["buildings"]["building_id"]
    a, _ = run_partition(left.communities, left.buildings, left.streets, target=150)
    b, _ = run_partition(moved["communities"], moved["buildings"], moved["streets"], target=150)
    grids = gpd.GeoDataFrame(pd.concat([a.grids, b.grids], ignore_index=True), crs=METRIC_CRS)
    communities = gpd.GeoDataFrame(pd.concat([left.communities, moved["communities"]], ignore_index=True),
                                   crs=METRIC_CRS)
    buildings = gpd.GeoDataFrame(pd.concat([left.buildings, moved["buildings"]], ignore_index=True), crs=METRIC_CRS)
    assignment = pd.concat([a.assignment, b.assignment], ignore_index=True)
    return grids, communities, buildings, assignment


def test_overlapping_communities_fail_validation():
    grids, communities, buildings, assignment = _overlapping_plan()
    table = evaluate(grids, communities, buildings, assignment)
    assert table["overlap"].max() <= 1e-6  # within each community the grids are seamless ...
    assert table["overlap_other_communities"].iloc[-1] > 0.2  # ... but across communities they are not
    assert any("different communities overlap" in p for p in hard_failures(table))
    found = validate_plan(grids, communities, buildings, assignment)
    overlap = found.errors[found.errors["check"] == "overlap"]
    assert len(overlap) >= 3
    assert set(overlap["grid_id"].str[:12]) == {"510107003001"}  # each C01 grid named with the C02 grid it overlaps
    assert set(overlap["other"].str[:12]) == {"510107003002"}
    assert (overlap["value"] > 100).all()
    # grids reaching outside their own community are named too once a community is clipped
    table = check_inputs(communities, buildings)
    assert "communities 'C01' and 'C02' overlap by 30,000 m²" in " ".join(table["message"])


def test_gap_contiguity_and_outside_community(fine_district, fine_result):
    d, grids = fine_district, fine_result.grids
    dropped = grids.iloc[1:].reset_index(drop=True)
    found = validate_plan(dropped, d.communities, d.buildings, fine_result.assignment)
    gap = found.errors[found.errors["check"] == "gap"]
    assert gap["community_id"].tolist() == ["C01"]
    assert gap["value"].iloc[0] == pytest.approx(grids.geometry.iloc[0].area, rel=1e-6)
    assert set(found.errors["check"]) >= {"gap", "unknown_grid"}
    # a detached crumb on one grid; another grid grown 30 m across the community's edge
    edited = grids.copy()
    far = shapely.box(*grids.geometry.iloc[-1].bounds).centroid.buffer(0.3)
    edited.loc[0, "geometry"] = shapely.union(grids.geometry.iloc[0], far)
    edge = d.communities.geometry.iloc[0].boundary
    grown = next(i for i in range(1, len(grids)) if grids.geometry.iloc[i].boundary.intersection(edge).length > 1)
    edited.loc[grown, "geometry"] = grids.geometry.iloc[grown].buffer(30, join_style="mitre")
    found = validate_plan(edited, d.communities, d.buildings, fine_result.assignment)
    checks = found.errors.groupby("check")["grid_id"].apply(set).to_dict()
    assert checks["not_contiguous"] == {grids["grid_id"].iloc[0]}
    assert checks["outside_community"] == {grids["grid_id"].iloc[grown]}
    named = checks["overlap"] | set(found.errors.loc[found.errors["check"] == "overlap", "other"])
    assert grids["grid_id"].iloc[grown] in named


def test_validate_cli_report_names_grids(tmp_path, sample, sample_result):
    merged, kept, _ = _merge_two(sample_result.grids)
    path = tmp_path / "edited.geojson"
    pyogrio.write_dataframe(merged, path, driver="GeoJSON")
    report = tmp_path / "problems.csv"
    result = invoke("validate", path, "--communities", sample.folder / "communities.geojson", "--buildings",
                    sample.folder / "buildings.geojson", "--report", report, "--lang", "en")
    assert result.exit_code == 1, result.output
    assert kept in squash(result.output)
    table = pd.read_csv(report, dtype={"grid_id": str})
    assert {"severity", "check", "grid_id", "building_id", "message", "lon", "lat"} <= set(table.columns)
    assert kept in set(table.loc[table["check"] == "balance", "grid_id"])
    zh = invoke("validate", path, "--communities", sample.folder / "communities.geojson", "--buildings",
                sample.folder / "buildings.geojson", "--report", report)
    assert zh.exit_code == 1
    assert "偏离社区平均" in pd.read_csv(report, encoding="utf-8-sig")["message"].str.cat()


def test_check_inputs_cli(tmp_path, sample):
    folder = sample.folder
    good = invoke("check-inputs", "--communities", folder / "communities.geojson", "--buildings",
                  folder / "buildings.geojson", "--streets", folder / "streets.geojson", "--wardens",
                  folder / "wardens.csv", "--incidents", folder / "incidents.csv", "--lang", "en")
    assert good.exit_code == 0, good.output
    assert "all input checks pass" in good.output
    _, communities, buildings, _ = _overlapping_plan()
    comm_path, bld_path = tmp_path / "c.geojson", tmp_path / "b.geojson"
    pyogrio.write_dataframe(communities, comm_path, driver="GeoJSON")
    outside = buildings.copy()
    outside.loc[0, "geometry"] = shapely.affinity.translate(outside.geometry.iloc[0], -500, 0)
    pyogrio.write_dataframe(outside, bld_path, driver="GeoJSON")
    report = tmp_path / "checks.csv"
    bad = invoke("check-inputs", "--communities", comm_path, "--buildings", bld_path, "--report", report,
                 "--lang", "en")
    assert bad.exit_code == 3, bad.output
    table = pd.read_csv(report)
    errors = table[table["status"] == "error"]
    assert set(errors["layer"]) == {"communities", "buildings"}  # both found in one run
    assert "'C01' and 'C02'" in errors["message"].str.cat()
    assert "'B00000'" in errors["message"].str.cat()


def test_assignment_written_by_excel_in_gbk_is_read(tmp_path, sample, sample_result):
    """An assignment CSV saved by Excel on a Chinese Windows (GBK) is decoded, not a crash."""
    links = sample_result.assignment.copy()
    links["备注"] = "已核实"  # a note column in Chinese, as planners add
    path = tmp_path / "assignment.csv"
    path.write_bytes(links.to_csv(index=False).encode("gbk"))
    found = validate_plan(sample_result.grids, sample.communities, sample.buildings, path)
    assert found.errors.empty, found.errors
