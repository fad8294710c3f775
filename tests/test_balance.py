"""Oversize buildings, communities below the target, and the balancing measures (by=, target=, n_grids=)."""

from __future__ import annotations

import numpy as np
import pytest
from checks import assert_conserved, assert_plan, assert_seamless, assert_single_polygons, share_within
from conftest import run_partition
from synthetic import make_district, two_communities

import gridkit

# --------------------------------------------------------------------------------------------
# oversize


@pytest.fixture(scope="module")
def tower_run():
    """4×4 blocks (about 1,500 households) with one tower of 500 households (> 1.1 × 300)."""
    d = make_district(4, 4, per_side=3, households=(5, 15), seed=0)
    buildings = d.buildings.copy()
    buildings.loc[20, "households"] = 500
    result, caught = run_partition(d.communities, buildings, d.streets, target=300)
    return d, buildings, result, caught


def test_oversize_building_is_its_own_grid(tower_run):
    d, buildings, result, _ = tower_run
    grids = result.grids
    over = grids[grids["oversize"]]
    assert len(over) == 1
    tower_grid = result.assignment.set_index("building_id").loc["B00020", "grid_id"]
    assert over["grid_id"].iloc[0] == tower_grid
    assert over["n_buildings"].iloc[0] == 1
    assert over["households"].iloc[0] == 500
    assert_plan(result, d.communities, buildings)


def test_oversize_grid_not_counted_in_balance(tower_run):
    _, buildings, result, _ = tower_run
    grids = result.grids
    normal = grids[~grids["oversize"]]
    mean = normal["households"].mean()
    # deviations relative to the mean of the non-oversize grids only
    np.testing.assert_allclose(grids["deviation"], (grids["households"] - mean) / mean, atol=1e-9)
    assert abs(mean - 300) < 30
    report = result.report.iloc[0]
    assert report["n_oversize"] == 1
    assert report["n_grids"] == len(grids)
    assert report["max_abs_deviation"] == pytest.approx(normal["deviation"].abs().max())
    assert report["max_abs_deviation"] <= 0.1 + 1e-12  # the tower's +67 % is not in it
    assert share_within(result) == 1.0
    assert len(normal) == round((buildings["households"].sum() - 500) / 300)


def test_oversize_is_reported(tower_run):
    _, _, result, caught = tower_run
    assert "oversize" in result.report["message"].iloc[0]
    assert any(issubclass(w.category, gridkit.GridkitWarning) and "oversize" in str(w.message) for w in caught)


def test_building_just_inside_the_upper_bound_is_not_oversize():
    d = make_district(4, 4, per_side=3, households=(5, 15), seed=0)
    buildings = d.buildings.copy()
    buildings.loc[20, "households"] = 320  # < 1.1 × 300
    result, _ = run_partition(d.communities, buildings, d.streets, target=300)
    assert not result.grids["oversize"].any()


# --------------------------------------------------------------------------------------------
# small communities


def test_community_below_target_is_one_grid_with_a_warning():
    d = make_district(2, 2, per_side=3, households=(1, 5), seed=0)
    total = int(d.buildings["households"].sum())
    assert total < 0.9 * 300
    result, caught = run_partition(d.communities, d.buildings, d.streets, target=300)
    assert len(result.grids) == 1
    assert result.grids["households"].iloc[0] == total
    assert_seamless(result, d.communities)
    report = result.report.iloc[0]
    assert report["status"] == "below_target"
    assert "lower bound" in report["message"]
    warned = [w for w in caught if issubclass(w.category, gridkit.GridkitWarning)]
    assert warned
    assert "C01" in str(warned[0].message)


def test_empty_community_is_below_target():
    d = make_district(2, 2, per_side=3, households=(0, 0), seed=0)
    result, caught = run_partition(d.communities, d.buildings, d.streets, target=300)
    assert len(result.grids) == 1
    assert result.report["status"].iloc[0] == "below_target"
    assert any(issubclass(w.category, gridkit.GridkitWarning) for w in caught)


def test_per_community_target_column():
    """A ``target`` column overrides the global target for its community."""
    d = two_communities(seed=2)
    comm = d.communities.copy()
    comm["target"] = [150.0, 75.0]
    result, _ = run_partition(comm, d.buildings, d.streets, target=300)
    assert_plan(result, comm, d.buildings)
    report = result.report.set_index("community_id")
    for cid, target in (("C01", 150), ("C02", 75)):
        assert report.loc[cid, "n_grids"] == round(report.loc[cid, "households"] / target)


# --------------------------------------------------------------------------------------------
# measures


def test_by_population():
    d = make_district(6, 6, per_side=3, households=(5, 15), seed=3)
    result, _ = run_partition(d.communities, d.buildings, d.streets, by="population", target=1000)
    assert_plan(result, d.communities, d.buildings)
    grids = result.grids
    assert len(grids) == round(d.buildings["population"].sum() / 1000)
    mean = grids["population"].mean()
    np.testing.assert_allclose(grids["deviation"], (grids["population"] - mean) / mean, atol=1e-9)
    assert share_within(result) >= 0.95
    assert result.report["by"].iloc[0] == "population"


def test_by_area_on_a_uniform_grid():
    d = make_district(4, 4, per_side=3, households=(5, 15), seed=0)
    result, _ = run_partition(d.communities, d.buildings, d.streets, by="area", target=20_000)
    assert_plan(result, d.communities, d.buildings)
    grids = result.grids
    assert len(grids) == 8  # 160,000 m² / 20,000 m²
    area = grids["area_m2"].to_numpy()
    assert area.sum() == pytest.approx(160_000, rel=1e-9)
    assert np.abs(area / area.mean() - 1).max() <= 0.1
    np.testing.assert_allclose(grids["deviation"], area / area.mean() - 1, atol=1e-9)


def test_by_area_default_target_is_10000_m2():
    d = make_district(3, 3, per_side=2, households=(5, 15), seed=0)
    result, _ = run_partition(d.communities, d.buildings, d.streets, by="area")
    assert len(result.grids) == 9
    np.testing.assert_allclose(result.grids["area_m2"], 10_000, rtol=0.1)


def test_mixed_measure():
    d = make_district(4, 4, per_side=3, households=(5, 15), seed=0)
    target = {"households": 300, "area": 32_000}
    result, _ = run_partition(d.communities, d.buildings, d.streets, by={"households": 0.5, "area": 0.5},
                              target=target)
    assert_plan(result, d.communities, d.buildings)
    grids = result.grids
    mix = 0.5 * grids["households"] / 300 + 0.5 * grids["area_m2"] / 32_000
    total_mix = 0.5 * d.buildings["households"].sum() / 300 + 0.5 * 160_000 / 32_000
    assert len(grids) == round(total_mix)
    np.testing.assert_allclose(grids["deviation"], mix / mix.mean() - 1, atol=1e-9)
    assert share_within(result) >= 0.95
    assert "households" in result.report["by"].iloc[0]
    assert "area" in result.report["by"].iloc[0]


def test_mixed_measure_needs_a_target_mapping():
    d = make_district(2, 2)
    with pytest.raises(gridkit.GridkitError, match="mapping"):
        gridkit.partition(d.communities, d.buildings, d.streets, by={"households": 0.5, "area": 0.5}, target=300)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"by": "rooms"}, "by must be"),
    ({"by": {"households": -1.0, "area": 2.0}}, "by must be"),
    ({"target": 0}, "target must be positive"),
    ({"tolerance": 1.5}, "tolerance"),
    ({"tolerance": 0}, "tolerance"),
])
def test_bad_options_raise(kwargs, match):
    d = make_district(2, 2)
    with pytest.raises(gridkit.GridkitError, match=match):
        gridkit.partition(d.communities, d.buildings, d.streets, **kwargs)


@pytest.mark.parametrize("k", [1, 3, 7])
def test_n_grids_forces_the_count(k):
    d = make_district(4, 4, per_side=3, households=(5, 15), seed=0)
    result, _ = run_partition(d.communities, d.buildings, d.streets, n_grids=k)
    assert len(result.grids) == k
    assert result.report["k_planned"].iloc[0] == k
    assert_conserved(result, d.buildings)
    assert_seamless(result, d.communities)
    assert_single_polygons(result)
    assert share_within(result) >= 0.95


def test_n_grids_per_community_mapping():
    d = two_communities(seed=3)
    result, _ = run_partition(d.communities, d.buildings, d.streets, n_grids={"C01": 2, "C02": 4})
    counts = result.grids.groupby("community_id").size().to_dict()
    assert counts == {"C01": 2, "C02": 4}
    assert_plan(result, d.communities, d.buildings)


def test_n_grids_does_not_make_ordinary_buildings_oversize():
    d = make_district(4, 4, per_side=3, households=(5, 15), seed=0)
    buildings = d.buildings.copy()
    buildings.loc[20, "households"] = 400  # 1,901 households in 2 grids: mean about 950
    result, _ = run_partition(d.communities, buildings, d.streets, n_grids=2)
    assert len(result.grids) == 2
    assert not result.grids["oversize"].any()
    assert result.grids["deviation"].abs().max() <= 0.1


def test_community_between_whole_grids_says_no_count_fits():
    """About 1.4 grids' worth of households: one grid (the nearest count), and the report says why."""
    d = make_district(2, 2, per_side=3, households=(14, 14), seed=0)  # 36 buildings × 14 = 504 households
    result, caught = run_partition(d.communities, d.buildings, d.streets, target=360)
    row = result.report.iloc[0]
    assert row["n_grids"] == 1
    assert "no whole number of grids fits the target" in row["message"]
    assert any("no whole number" in str(w.message) and issubclass(w.category, gridkit.GridkitWarning)
               for w in caught)
    assert_plan(result, d.communities, d.buildings)


def test_assignment_flags_estimated_households():
    d = make_district(2, 2, per_side=2, households=(10, 10), seed=1)
    buildings = d.buildings.copy()
    buildings["households"] = buildings["households"].astype("float")
    buildings.loc[[0, 3], "households"] = np.nan
    buildings["levels"] = 4
    result, caught = run_partition(d.communities, buildings, d.streets, target=40)
    flags = result.assignment.set_index("building_id")["estimated"]
    assert flags[["B00000", "B00003"]].all()
    assert not flags.drop(["B00000", "B00003"]).any()
    assert any(issubclass(w.category, gridkit.GridkitWarning) and "estimated" in str(w.message) for w in caught)
