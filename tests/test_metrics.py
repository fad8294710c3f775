"""Metric definitions of GUIDE §4 on hand-made cases with known answers."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from synthetic import METRIC_CRS, METRIC_ORIGIN, make_district

import gridkit
from gridkit.metrics import coverage, deviations, hard_failures, polsby_popper, street_alignment

X, Y = METRIC_ORIGIN
COMMUNITY = shapely.box(X, Y, X + 200, Y + 100)
WEST = shapely.box(X, Y, X + 100, Y + 100)
EAST = shapely.box(X + 100, Y, X + 200, Y + 100)


def test_polsby_popper_of_a_square_is_pi_over_4():
    assert polsby_popper(np.array([WEST]))[0] == pytest.approx(math.pi / 4, rel=1e-12)


def test_polsby_popper_known_shapes():
    disc = shapely.Point(X, Y).buffer(50, quad_segs=256)
    strip = shapely.box(X, Y, X + 400, Y + 10)  # 4π·4000 / 820²
    values = polsby_popper(np.array([disc, strip, COMMUNITY]))
    assert values[0] == pytest.approx(1.0, abs=1e-4)
    assert values[1] == pytest.approx(4 * math.pi * 4000 / 820**2, rel=1e-12)
    assert values[2] == pytest.approx(4 * math.pi * 20000 / 600**2, rel=1e-12)


def test_deviations_relative_to_non_oversize_mean():
    dev = deviations(np.array([270.0, 300.0, 330.0, 900.0]), np.array([False, False, False, True]))
    np.testing.assert_allclose(dev, [-0.1, 0.0, 0.1, 2.0])
    np.testing.assert_allclose(deviations(np.array([100.0, 300.0])), [-0.5, 0.5])
    np.testing.assert_allclose(deviations(np.array([0.0, 0.0])), [0.0, 0.0])


def test_street_alignment_on_the_street():
    street = np.array([shapely.LineString([(X + 100, Y - 10), (X + 100, Y + 110)])])
    share, internal = street_alignment(np.array([WEST, EAST]), COMMUNITY, street)
    assert share == pytest.approx(1.0)
    assert internal == pytest.approx(100.0, abs=0.05)


def test_street_alignment_20m_from_any_street():
    street = np.array([shapely.LineString([(X + 120, Y - 10), (X + 120, Y + 110)])])
    share, internal = street_alignment(np.array([WEST, EAST]), COMMUNITY, street)
    assert share == 0.0
    assert internal == pytest.approx(100.0, abs=0.05)


def test_street_alignment_half_on_the_street():
    street = np.array([shapely.LineString([(X + 100, Y + 50), (X + 100, Y + 110)])])
    share, _ = street_alignment(np.array([WEST, EAST]), COMMUNITY, street)
    assert share == pytest.approx(0.55, abs=0.02)  # 50 m on the street plus 5 m within reach


def test_street_alignment_within_5m():
    near = np.array([shapely.LineString([(X + 104, Y - 10), (X + 104, Y + 110)])])
    far = np.array([shapely.LineString([(X + 106, Y - 10), (X + 106, Y + 110)])])
    assert street_alignment(np.array([WEST, EAST]), COMMUNITY, near)[0] == pytest.approx(1.0)
    assert street_alignment(np.array([WEST, EAST]), COMMUNITY, far)[0] == 0.0


def test_street_alignment_single_grid_is_nan():
    share, internal = street_alignment(np.array([COMMUNITY]), COMMUNITY, np.array([], dtype=object))
    assert math.isnan(share)
    assert internal == 0.0


def test_coverage_exact_tiling():
    assert coverage(np.array([WEST, EAST]), COMMUNITY) == (0.0, 0.0)


def test_coverage_overlap():
    wide_west = shapely.box(X, Y, X + 110, Y + 100)  # 10 m × 100 m over EAST
    gap, overlap = coverage(np.array([wide_west, EAST]), COMMUNITY)
    assert gap == pytest.approx(0.0, abs=1e-12)
    assert overlap == pytest.approx(1000 / 20000)


def test_coverage_gap():
    short_east = shapely.box(X + 100, Y, X + 200, Y + 90)  # 100 m × 10 m missing
    gap, overlap = coverage(np.array([WEST, short_east]), COMMUNITY)
    assert gap == pytest.approx(1000 / 20000)
    assert overlap == 0.0


# --------------------------------------------------------------------------------------------
# evaluate and hard_failures


@pytest.fixture
def plan():
    communities = gpd.GeoDataFrame({"community_id": ["C01"]}, geometry=[COMMUNITY], crs=METRIC_CRS)
    grids = gpd.GeoDataFrame(
        {"grid_id": ["C01-001", "C01-002"], "community_id": ["C01", "C01"], "households": [300, 280],
         "population": [800, 700], "oversize": [False, False]},
        geometry=[WEST, EAST], crs=METRIC_CRS,
    )
    points = [shapely.Point(X + 50, Y + 50), shapely.Point(X + 20, Y + 20), shapely.Point(X + 150, Y + 50)]
    buildings = gpd.GeoDataFrame(
        {"building_id": ["a", "b", "c"], "households": [200, 100, 280], "population": [500, 300, 700]},
        geometry=points, crs=METRIC_CRS,
    )
    assignment = pd.DataFrame({"building_id": ["a", "b", "c"], "grid_id": ["C01-001", "C01-001", "C01-002"]})
    streets = gpd.GeoDataFrame(geometry=[shapely.LineString([(X + 100, Y - 5), (X + 100, Y + 105)])],
                               crs=METRIC_CRS)
    return communities, grids, buildings, assignment, streets


def test_evaluate_good_plan(plan):
    communities, grids, buildings, assignment, streets = plan
    table = gridkit.evaluate(grids, communities, buildings, assignment, streets=streets)
    assert table["community_id"].tolist() == ["C01", "ALL"]
    row = table.iloc[0]
    assert row["n_grids"] == 2
    assert bool(row["conserved"])
    assert row["households_in"] == row["households_grids"] == 580
    assert row["population_in"] == row["population_grids"] == 1500
    assert row["coverage_gap"] == 0.0
    assert row["overlap"] == 0.0
    assert row["n_noncontiguous"] == 0
    assert row["max_abs_deviation"] == pytest.approx(10 / 290)
    assert row["share_within_tolerance"] == 1.0
    assert row["mean_polsby_popper"] == pytest.approx(math.pi / 4)
    assert row["street_alignment"] == pytest.approx(1.0)
    assert table.iloc[1]["unassigned_buildings"] == 0
    assert hard_failures(table) == []


def test_evaluate_in_lonlat_gives_the_same_numbers(plan):
    communities, grids, buildings, assignment, streets = plan
    metric = gridkit.evaluate(grids, communities, buildings, assignment, streets=streets)
    lonlat = gridkit.evaluate(grids.to_crs(4326), communities.to_crs(4326), buildings.to_crs(4326), assignment,
                              streets=streets.to_crs(4326))
    for col in ("households_grids", "n_grids", "conserved", "n_noncontiguous"):
        assert lonlat[col].tolist() == metric[col].tolist()
    assert lonlat["coverage_gap"].max() <= 1e-6
    assert lonlat["street_alignment"].iloc[0] == pytest.approx(1.0)


def test_hard_failures_gap(plan):
    communities, grids, *_ = plan
    table = gridkit.evaluate(grids.iloc[:1], communities)
    problems = hard_failures(table)
    assert any("coverage gap" in p for p in problems)
    assert table.iloc[0]["coverage_gap"] == pytest.approx(0.5)


def test_hard_failures_overlap(plan):
    communities, grids, *_ = plan
    grids = grids.copy()
    grids.loc[0, "geometry"] = shapely.box(X, Y, X + 120, Y + 100)
    problems = hard_failures(gridkit.evaluate(grids, communities))
    assert len(problems) == 1
    assert "overlap" in problems[0]


def test_hard_failures_non_contiguous(plan):
    communities, grids, *_ = plan
    grids = grids.copy()
    west_split = shapely.MultiPolygon([shapely.box(X, Y, X + 100, Y + 50), shapely.box(X, Y + 50.5, X + 100, Y + 100)])
    grids.loc[0, "geometry"] = west_split
    grids.loc[1, "geometry"] = shapely.union(EAST, shapely.box(X, Y + 50, X + 100, Y + 50.5))
    table = gridkit.evaluate(grids, communities)
    assert table.iloc[0]["n_noncontiguous"] == 1
    problems = hard_failures(table)
    assert problems == ["1 grid(s) not contiguous"]
    assert hard_failures(table, allowed_noncontiguous=1) == []


def test_hard_failures_conservation(plan):
    communities, grids, buildings, assignment, _ = plan
    grids = grids.copy()
    grids.loc[1, "households"] = 279
    table = gridkit.evaluate(grids, communities, buildings, assignment)
    assert not bool(table.iloc[-1]["conserved"])
    problems = hard_failures(table)
    assert len(problems) == 1
    assert "conservation" in problems[0]
    assert "579" in problems[0]
    assert "580" in problems[0]


def test_hard_failures_unassigned_building(plan):
    communities, grids, buildings, assignment, _ = plan
    table = gridkit.evaluate(grids, communities, buildings, assignment.iloc[:2])
    assert table.iloc[-1]["unassigned_buildings"] == 1
    assert any("conservation" in p for p in hard_failures(table))


def test_evaluate_oversize_grid_is_left_out_of_balance(plan):
    communities, grids, *_ = plan
    grids = grids.copy()
    third = shapely.box(X + 150, Y, X + 200, Y + 100)
    grids.loc[1, "geometry"] = shapely.box(X + 100, Y, X + 150, Y + 100)
    grids.loc[2] = ["C01-003", "C01", 900, 2000, True, third]
    grids.loc[0, "households"] = 280
    row = gridkit.evaluate(grids, communities).iloc[0]
    assert row["n_oversize"] == 1
    assert row["max_abs_deviation"] == 0.0
    assert row["share_within_tolerance"] == 1.0


def test_buildings_listed_outside_are_accounted_for_not_lost():
    """With outside="report" the assignment lists them; evaluate counts them apart, conservation holds."""
    d = make_district(2, 2, per_side=2, seed=3)
    stray = gpd.GeoDataFrame({"building_id": ["FAR"], "households": [40], "population": [90]},
                             geometry=[shapely.box(0, 0, 10, 10)], crs=d.buildings.crs)
    buildings = gpd.GeoDataFrame(pd.concat([d.buildings, stray], ignore_index=True), crs=d.buildings.crs)
    with pytest.warns(gridkit.GridkitWarning, match="outside every community"):
        result = gridkit.partition(d.communities, buildings, d.streets, target=40, outside="report")
    table = gridkit.evaluate(result.grids, d.communities, buildings, result.assignment)
    total = table.iloc[-1]
    assert total["buildings_outside"] == 1
    assert total["conserved"]
    assert hard_failures(table) == []
    # an assignment that silently lacks a building is still caught
    lossy = result.assignment[result.assignment["building_id"] != "B00000"]
    assert not gridkit.evaluate(result.grids, d.communities, buildings, lossy).iloc[-1]["conserved"]
