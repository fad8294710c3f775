"""Regenerating grids after a data change (动态调整): identity, invariants, code rules, bad previous plans."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from bench_regenerate import perturb
from checks import (
    assert_buildings_whole,
    assert_conserved,
    assert_points_in_assigned_grid,
    assert_seamless,
    assert_single_polygons,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from synthetic import make_district, two_communities

import gridkit
from gridkit.errors import GridkitError
from gridkit.metrics import evaluate, hard_failures
from gridkit.regenerate import CHANGES, regenerate

TARGET = 300


def quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


def assert_valid(result, communities, buildings) -> None:
    assert_conserved(result, buildings)
    assert_seamless(result, communities)
    assert_single_polygons(result)
    assert_points_in_assigned_grid(result, buildings)
    assert_buildings_whole(result, buildings)
    assert result.grids["grid_id"].is_unique
    assert set(result.grids["change"]) <= set(CHANGES) - {"retired"}


@pytest.fixture(scope="module")
def district():
    """6×6 blocks of 100 m, 9 buildings of 5–15 households each (about 11 grids of 300)."""
    return make_district(6, 6, per_side=3, households=(5, 15), seed=3)


@pytest.fixture(scope="module")
def before(district):
    d = district
    return quiet(gridkit.partition, d.communities, d.buildings, d.streets, target=TARGET, seed=0)


def regen(before, district, buildings, **kwargs):
    d = district
    kwargs.setdefault("target", TARGET)
    return quiet(regenerate, before.grids, before.assignment, d.communities, buildings, d.streets, **kwargs)


# -- no change in, no change out ---------------------------------------------------------------------------
def test_unchanged_input_gives_the_identical_plan(before, district):
    result = regen(before, district, district.buildings)
    old, new = before.grids, result.grids
    assert new["grid_id"].tolist() == old["grid_id"].tolist()
    assert new.geometry.geom_equals_exact(old.geometry, tolerance=0).all()
    for col in ("households", "population", "n_buildings", "area_m2", "deviation", "polsby_popper", "seq"):
        assert (new[col].to_numpy() == old[col].to_numpy()).all(), col
    assert (new["change"] == "kept").all()
    assert result.summary["churn"] == 0.0
    assert result.summary["households_moved"] == 0
    merged = before.assignment.merge(result.assignment, on="building_id", suffixes=("_old", "_new"))
    assert len(merged) == len(district.buildings)
    assert (merged["grid_id_old"] == merged["grid_id_new"]).all()
    assert (result.report["change"] == "kept").all()
    assert (result.report["moved_in"] == 0).all()
    assert (result.report["moved_out"] == 0).all()
    assert (result.register["status"] == "active").all()


def test_unchanged_input_through_files_is_identical(before, district, tmp_path):
    grids_path, links_path = tmp_path / "grids.geojson", tmp_path / "assignment.csv"
    gridkit.io.write_geojson(before.grids, grids_path)
    gridkit.io.write_csv(before.assignment, links_path)
    stamp = (grids_path.read_bytes(), links_path.read_bytes())
    d = district
    result = quiet(regenerate, grids_path, links_path, d.communities, d.buildings, d.streets, target=TARGET)
    back = gpd.read_file(grids_path)
    assert result.grids["grid_id"].tolist() == back["grid_id"].tolist()
    assert result.grids.geometry.geom_equals_exact(back.geometry, tolerance=0).all()
    assert result.summary["churn"] == 0.0
    assert (grids_path.read_bytes(), links_path.read_bytes()) == stamp  # previous files never modified


# -- after a change: the invariants, few households moved ---------------------------------------------------
@pytest.fixture(scope="module")
def changed(district):
    d = district
    return perturb(d.communities, d.buildings, d.streets, seed=1)


@pytest.fixture(scope="module")
def after(before, district, changed):
    return regen(before, district, changed)


def test_perturbation_is_the_one_asked_for(district, changed):
    old = district.buildings.set_index("building_id")
    new = changed.set_index("building_id")
    both = old.index.intersection(new.index)
    assert len(old) - len(both) == round(0.02 * len(old))  # demolished
    differs = (old.loc[both, "households"] != new.loc[both, "households"]).sum()
    assert 0 < differs <= round(0.10 * len(old))
    was, now = old.loc[both, "households"], new.loc[both, "households"]
    assert ((now >= 0.7 * was - 0.5) & (now <= 1.3 * was + 0.5)).all()  # ±30 %, rounded to whole households
    added = new.loc[new.index.difference(old.index), "households"].sum()
    assert added == round(0.05 * old["households"].sum())
    again = perturb(district.communities, district.buildings, district.streets, seed=1)
    assert again.geometry.geom_equals_exact(changed.geometry, tolerance=0).all()


def test_after_change_every_invariant_holds(after, before, district, changed):
    assert_valid(after, district.communities, changed)
    table = evaluate(after.grids, district.communities, changed, after.assignment, streets=district.streets)
    assert hard_failures(table) == []
    assert table.iloc[-1]["share_within_tolerance"] == 1.0
    previous = evaluate(before.grids, district.communities, district.buildings, before.assignment,
                        streets=district.streets)
    assert table.iloc[-1]["street_alignment"] >= previous.iloc[-1]["street_alignment"] - 0.05


def test_after_change_few_households_move(after, before, changed):
    s = after.summary
    assert 0 < s["churn"] <= 0.15
    # the churn is what the assignment says: households of continuing buildings whose code changed
    old = before.assignment.set_index("building_id")["grid_id"]
    new = after.assignment.set_index("building_id")["grid_id"]
    hh = changed.set_index("building_id")["households"]
    both = old.index.intersection(new.index)
    moved = both[(old.loc[both] != new.loc[both]).to_numpy()]
    assert s["churn"] == pytest.approx(hh.loc[moved].sum() / hh.loc[both].sum())
    assert s["n_kept"] >= 1


def test_kept_grids_keep_code_geometry_and_buildings(after, before):
    kept = after.grids[after.grids["change"] == "kept"]
    old = before.grids.set_index("grid_id")
    for row in kept.itertuples():
        assert row.geometry.equals_exact(old.loc[row.grid_id, "geometry"], 0)
    moved = after.assignment[after.assignment["moved"]]
    assert not moved["grid_id"].isin(kept["grid_id"]).any()
    assert not moved["previous_grid_id"].isin(kept["grid_id"]).any()


def test_report_accounts_for_every_household(after, before, changed):
    report = after.report
    assert set(report["grid_id"]) == set(after.grids["grid_id"]) | set(before.grids["grid_id"])
    assert report["moved_in"].sum() == report["moved_out"].sum() == after.summary["households_moved"]
    current = report[report["change"] != "retired"].set_index("grid_id")
    assert (current.loc[after.grids["grid_id"], "households_after"].to_numpy()
            == after.grids["households"].to_numpy()).all()
    assert report["households_after"].sum() == changed["households"].sum()
    assert report["buildings_removed"].sum() == after.summary["buildings_removed"] == round(0.02 * 324)


# -- code rules -----------------------------------------------------------------------------------------------
def _compound(grid_geom: shapely.Geometry, crs, households: int, n: int, prefix: str) -> gpd.GeoDataFrame:
    """``n`` small buildings at the centre of ``grid_geom`` holding ``households`` in all."""
    centre = shapely.point_on_surface(grid_geom)
    xs = centre.x + np.arange(n) * 0.2
    boxes = [shapely.box(x - 0.05, centre.y - 0.05, x + 0.05, centre.y + 0.05) for x in xs]
    boxes = [b if grid_geom.contains(b) else shapely.point_on_surface(grid_geom).buffer(0.04, quad_segs=1)
             for b in boxes]
    share = np.full(n, households // n)
    share[: households - share.sum()] += 1
    return gpd.GeoDataFrame({"building_id": [f"{prefix}{i:03d}" for i in range(n)], "households": share,
                             "population": share * 2}, geometry=boxes, crs=crs)


def _with(buildings: gpd.GeoDataFrame, extra: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.concat([buildings, extra.to_crs(buildings.crs)], ignore_index=True),
                            crs=buildings.crs)


@pytest.fixture(scope="module")
def split_run(before, district):
    """A compound of a whole grid's worth of households is built inside the first grid."""
    metric = before.grids.to_crs(before.crs)
    first = metric.iloc[0]
    extra = _compound(first.geometry, before.crs, int(first["households"]), 12, "TOWER")
    buildings = _with(district.buildings, extra)
    return regen(before, district, buildings), buildings, first["grid_id"]


def test_split_keeps_the_code_on_the_larger_part(split_run, before, district):
    result, buildings, parent = split_run
    assert_valid(result, district.communities, buildings)
    report = result.report.set_index("grid_id")
    assert report.loc[parent, "change"] == "split"
    children = report[report["related"].str.contains(f"split from {parent}")]
    assert len(children) >= 1
    assert (children["change"] == "split").all()
    # the code stays on the part holding more of the parent's households
    stay = result.assignment[result.assignment["previous_grid_id"] == parent]
    kept_share = stay.groupby("grid_id").size()
    assert kept_share.idxmax() == parent
    # new codes are the next sequence numbers, never a previous code
    seqs = before.grids["seq"].max() + np.arange(1, len(children) + 1)
    assert sorted(result.grids.loc[result.grids["grid_id"].isin(children.index), "seq"]) == list(seqs)
    assert not set(children.index) & set(before.grids["grid_id"])
    assert result.summary["n_split"] == 1 + len(children)
    assert len(result.grids) == len(before.grids) + len(children)
    assert result.summary["churn"] <= 0.15


@pytest.fixture(scope="module")
def merge_run(before, district):
    """Most of one grid is demolished: what is left is too small for a grid of its own."""
    grid = before.grids.iloc[len(before.grids) // 2]["grid_id"]
    members = before.assignment.loc[before.assignment["grid_id"] == grid, "building_id"]
    gone = members.iloc[: int(0.85 * len(members))]
    buildings = district.buildings[~district.buildings["building_id"].isin(gone)].reset_index(drop=True)
    return regen(before, district, buildings), buildings, grid


def test_merge_keeps_one_code_and_retires_the_other(merge_run, before, district):
    result, buildings, grid = merge_run
    assert_valid(result, district.communities, buildings)
    report = result.report.set_index("grid_id")
    retired = report[report["change"] == "retired"]
    assert len(retired) == 1
    code = retired.index[0]
    assert code not in set(result.grids["grid_id"])
    into = retired.loc[code, "note"].removeprefix("merged into ")
    assert report.loc[into, "change"] == "merged"
    register = result.register.set_index("grid_id")
    assert register.loc[code, "status"] == "retired"
    assert (register.loc[result.grids["grid_id"], "status"] == "active").all()
    assert len(result.grids) == len(before.grids) - 1
    assert grid in set(report.index)


def test_retired_code_is_never_reused(merge_run, district):
    """Run 2 starts from run 1 and its register; the grid that splits takes a code after every one used."""
    first, buildings, _ = merge_run
    retired = set(first.register.loc[first.register["status"] == "retired", "grid_id"])
    metric = first.grids.to_crs(first.crs)
    big = metric.iloc[0]
    extra = _compound(big.geometry, first.crs, 2 * int(big["households"]), 24, "NEWTOWER")
    more = _with(buildings, extra)
    second = quiet(regenerate, first.grids, first.assignment, district.communities, more, district.streets,
                   target=TARGET, register=first.register)
    new_codes = set(second.grids["grid_id"]) - set(first.grids["grid_id"])
    assert new_codes
    assert not new_codes & retired
    used = first.register["seq"].max()
    assert min(second.grids.loc[second.grids["grid_id"].isin(new_codes), "seq"]) == used + 1
    assert retired <= set(second.register.loc[second.register["status"] == "retired", "grid_id"])
    # without the register the retired sequence would be free again; with it, a plan naming it is refused
    bad = first.grids.copy()
    bad.loc[0, "grid_id"] = sorted(retired)[0]
    links = first.assignment.replace({"grid_id": {first.grids["grid_id"].iloc[0]: sorted(retired)[0]}})
    with pytest.raises(GridkitError, match="retired"):
        quiet(regenerate, bad, links, district.communities, more, district.streets, target=TARGET,
              register=first.register)


# -- communities -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pair():
    return two_communities(seed=4)


@pytest.fixture(scope="module")
def pair_before(pair):
    return quiet(gridkit.partition, pair.communities, pair.buildings, pair.streets, target=200, seed=0)


def test_changed_community_boundary_redraws_that_community(pair, pair_before):
    """The boundary street moves one block east: C01 grows, C02 shrinks; both are redrawn, codes kept where possible."""
    comm = pair.communities.copy()
    x = pair.xs
    left, right = comm.geometry.iloc[0], comm.geometry.iloc[1]
    strip = shapely.box(x[3], pair.ys[0], x[4], pair.ys[-1])
    comm.loc[0, "geometry"] = shapely.union(left, strip)
    comm.loc[1, "geometry"] = shapely.difference(right, strip)
    result = quiet(regenerate, pair_before.grids, pair_before.assignment, comm, pair.buildings, pair.streets,
                   target=200)
    assert_valid(result, comm, pair.buildings)
    assert len(result.summary["repairs"]) == 2
    c01 = result.grids[result.grids["community_id"] == "C01"]
    assert (c01["change"] != "kept").all()  # the grown community is redrawn whole
    assert set(result.grids["grid_id"]) & set(pair_before.grids["grid_id"])
    moved_over = result.assignment[result.assignment["community_id"] != result.assignment["previous_grid_id"]
                                   .str[:12].map({"510107003001": "C01", "510107003002": "C02"})]
    assert len(moved_over) > 0
    assert moved_over["grid_id"].str.startswith("510107003001").all()


def test_new_community_gets_new_grids_and_a_gone_one_is_retired(pair, pair_before):
    comm = pair.communities.copy()
    comm.loc[1, "community_id"] = "C03"
    comm.loc[1, "code"] = "510107003003"
    result = quiet(regenerate, pair_before.grids, pair_before.assignment, comm, pair.buildings, pair.streets,
                   target=200)
    assert_valid(result, comm, pair.buildings)
    c01 = result.grids[result.grids["community_id"] == "C01"]
    assert (c01["change"] == "kept").all()
    c03 = result.grids[result.grids["community_id"] == "C03"]
    assert (c03["change"] == "new").all()
    assert c03["grid_id"].str.startswith("510107003003").all()
    retired = result.report[result.report["change"] == "retired"]
    assert set(retired["grid_id"]) == set(pair_before.grids.loc[pair_before.grids["community_id"] == "C02", "grid_id"])
    assert (result.register.set_index("grid_id").loc[list(retired["grid_id"]), "status"] == "retired").all()


# -- bad previous plans -------------------------------------------------------------------------------------
def test_duplicated_codes_are_refused(before, district):
    bad = before.grids.copy()
    bad.loc[1, "grid_id"] = bad.loc[0, "grid_id"]
    with pytest.raises(GridkitError, match=r"appears more than once.*|.*row 1"):
        quiet(regenerate, bad, before.assignment, district.communities, district.buildings, district.streets)


def test_assignment_naming_an_unknown_grid_is_refused(before, district):
    links = before.assignment.copy()
    links.loc[5, "grid_id"] = "999999999999999"
    with pytest.raises(GridkitError, match="999999999999999") as info:
        quiet(regenerate, before.grids, links, district.communities, district.buildings, district.streets)
    assert "row 5" in str(info.value)


def test_assignment_of_another_district_is_refused(before, district):
    links = before.assignment.copy()
    links["building_id"] = "X" + links["building_id"]
    with pytest.raises(GridkitError, match="not in the buildings layer"):
        quiet(regenerate, before.grids, links, district.communities, district.buildings, district.streets)


def test_missing_columns_are_refused(before, district):
    with pytest.raises(GridkitError, match="grid_id"):
        quiet(regenerate, before.grids.drop(columns="grid_id"), before.assignment, district.communities,
              district.buildings, district.streets)
    with pytest.raises(GridkitError, match="building_id"):
        quiet(regenerate, before.grids, before.assignment.drop(columns="building_id"), district.communities,
              district.buildings, district.streets)


def test_grid_crossing_the_community_boundary_is_repaired_and_said(before, district):
    """A previous grid that reaches 30 m beyond the community: the community is redrawn, the report says so."""
    bad = before.grids.copy()
    bad.loc[0, "geometry"] = bad.geometry.iloc[0].buffer(30, join_style="mitre")
    result = quiet(regenerate, bad, before.assignment, district.communities, district.buildings, district.streets,
                   target=TARGET)
    assert_valid(result, district.communities, district.buildings)
    assert any("differs from the union of its previous grids" in r for r in result.summary["repairs"])
    assert result.summary["churn"] <= 0.5


def test_unknown_measure_is_refused(before, district):
    with pytest.raises(GridkitError, match="by must be"):
        quiet(regenerate, before.grids, before.assignment, district.communities, district.buildings, by="floors")


# -- property: any change of the kind keeps every invariant -------------------------------------------
@settings(max_examples=6)
@given(seed=st.integers(0, 10_000), rows=st.integers(3, 5), jitter=st.sampled_from([0.0, 0.2]))
def test_any_change_keeps_every_invariant(seed, rows, jitter):
    d = make_district(rows, 5, per_side=3, households=(5, 20), jitter=jitter, seed=seed)
    plan = quiet(gridkit.partition, d.communities, d.buildings, d.streets, target=TARGET, seed=0)
    changed = perturb(d.communities, d.buildings, d.streets, seed=seed, changed=0.2, added=0.1, removed=0.05)
    result = quiet(regenerate, plan.grids, plan.assignment, d.communities, changed, d.streets, target=TARGET)
    assert_valid(result, d.communities, changed)
    assert result.register["grid_id"].is_unique
    # every previous code is either still in use or retired, never lost
    status = result.register.set_index("grid_id")["status"]
    current = set(result.grids["grid_id"])
    for code in plan.grids["grid_id"]:
        assert (code in current) == (status[code] == "active")
    again = quiet(regenerate, result.grids, result.assignment, d.communities, changed, d.streets, target=TARGET,
                  register=result.register)
    assert again.summary["churn"] == 0.0
    assert (again.grids["change"] == "kept").all()
