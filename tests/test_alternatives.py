"""Alternative plans and locked grids: different good plans to choose from, agreed grids kept exactly."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import make_district
from typer.testing import CliRunner

import gridkit
from gridkit.alternatives import compare_plans
from gridkit.cli import app
from gridkit.errors import GridkitError, InputDataError
from gridkit.metrics import evaluate, hard_failures


@pytest.fixture(scope="module")
def district():
    return make_district(6, 6, per_side=3, households=(5, 15), seed=3)


@pytest.fixture(scope="module")
def plans(district):
    d = district
    return gridkit.partition(d.communities, d.buildings, d.streets, target=300, n_alternatives=3)


def test_alternatives_differ_and_each_holds_the_invariants(district, plans):
    d = district
    assert len(plans.alternatives) == 3
    assert plans.alternatives[0] is plans
    table = compare_plans(plans.alternatives, d.communities, d.buildings, d.streets)
    assert list(table["plan"]) == [0, 1, 2]
    assert table["households_elsewhere"].iloc[0] == 0.0
    assert (table["households_elsewhere"].iloc[1:] > 0.05).all()  # genuinely different plans
    for plan in plans.alternatives:
        metrics = evaluate(plan.grids, d.communities, d.buildings, plan.assignment, streets=d.streets)
        assert hard_failures(metrics) == []
        assert metrics.iloc[-1]["share_within_tolerance"] == 1.0


def test_default_plan_is_deterministic_and_seeds_differ(district, plans):
    d = district
    again = gridkit.partition(d.communities, d.buildings, d.streets, target=300)
    assert (again.assignment["grid_id"] == plans.assignment["grid_id"]).all()
    other = gridkit.partition(d.communities, d.buildings, d.streets, target=300, seed=1)
    assert (other.assignment["grid_id"] == plans.alternatives[1].assignment["grid_id"]).all()
    assert not (other.assignment["grid_id"] == plans.assignment["grid_id"]).all()


def test_bad_alternative_count_is_refused(district):
    d = district
    with pytest.raises(GridkitError, match="n_alternatives"):
        gridkit.partition(d.communities, d.buildings, d.streets, n_alternatives=0)


def test_locked_grids_are_kept_exactly(district, plans):
    d = district
    previous = plans.grids
    codes = list(previous["grid_id"].iloc[[0, 3]])
    result = gridkit.partition(d.communities, d.buildings, d.streets, target=300, locked=previous, locked_codes=codes)
    grids = result.grids.set_index("grid_id")
    old = previous.set_index("grid_id")
    for code in codes:
        assert grids.geometry[code].equals_exact(old.geometry[code], 0)
        assert bool(grids["locked"][code])
        before = set(plans.assignment.loc[plans.assignment["grid_id"] == code, "building_id"])
        after = set(result.assignment.loc[result.assignment["grid_id"] == code, "building_id"])
        assert before == after
    assert result.grids["grid_id"].is_unique
    assert result.assignment["building_id"].is_unique
    assert len(result.assignment) == len(d.buildings)
    metrics = evaluate(result.grids, d.communities, d.buildings, result.assignment, streets=d.streets)
    assert hard_failures(metrics) == []
    assert int(result.report["n_locked"].iloc[0]) == 2


def test_locked_column_selects_grids(district, plans):
    d = district
    previous = plans.grids.copy()
    previous["locked"] = False
    previous.loc[previous.index[1], "locked"] = True
    result = gridkit.partition(d.communities, d.buildings, d.streets, target=300, locked=previous)
    assert int(result.grids["locked"].sum()) == 1


def test_a_heavy_lock_is_reported_out_of_reach(district, plans):
    """Two neighbouring grids merged and locked hold twice the mean: the report says so and by how much."""
    d = district
    previous = plans.grids.to_crs(d.communities.crs)
    first = previous.iloc[0]
    touching = previous[previous.geometry.touches(first.geometry) | previous.geometry.intersects(first.geometry)]
    other = touching[touching["grid_id"] != first["grid_id"]].iloc[0]
    merged = previous.iloc[[0]].copy()
    merged["geometry"] = [first.geometry.union(other.geometry)]
    merged["locked"] = True
    result = gridkit.partition(d.communities, d.buildings, d.streets, target=300, locked=merged)
    row = result.report.iloc[0]
    assert row["status"] == "tolerance_unreachable_locked"
    assert "lock keeps it outside" in row["message"]
    metrics = evaluate(result.grids, d.communities, d.buildings, result.assignment)
    assert hard_failures(metrics) == []


def test_unknown_locked_code_names_it(district, plans):
    d = district
    with pytest.raises(InputDataError, match="NOPE"):
        gridkit.partition(d.communities, d.buildings, d.streets, locked=plans.grids, locked_codes=["NOPE"])
    assert np.isfinite(plans.grids["deviation"]).all()


def test_cli_writes_every_alternative_with_a_map(district, tmp_path):
    d = district
    paths = {}
    for name, layer in (("communities", d.communities), ("buildings", d.buildings), ("streets", d.streets)):
        paths[name] = tmp_path / f"{name}.gpkg"
        layer.to_file(paths[name], engine="pyogrio")
    out, links = tmp_path / "grids.geojson", tmp_path / "assignment.csv"
    result = CliRunner().invoke(app, ["partition", "--communities", str(paths["communities"]), "--buildings",
                                      str(paths["buildings"]), "--streets", str(paths["streets"]), "--out", str(out),
                                      "--assignment", str(links), "--target", "300", "--alternatives", "2",
                                      "--lang", "en"])
    assert result.exit_code == 0, result.output
    for i in (1, 2):
        assert (tmp_path / f"grids-alt{i}.geojson").exists()
        assert (tmp_path / f"grids-alt{i}.html").stat().st_size > 1000
        assert (tmp_path / f"assignment-alt{i}.csv").exists()
    table = (tmp_path / "grids-alternatives.csv").read_text(encoding="utf-8")
    assert "households_elsewhere" in table


def test_regenerate_keeps_locked_grids(district, plans):
    d = district
    previous = plans.grids.copy()
    code = str(previous["grid_id"].iloc[2])
    buildings = d.buildings.copy()
    buildings["households"] = (buildings["households"] * 1.3).round().astype("int64")  # everything grows
    result = gridkit.regenerate(previous, plans.assignment, d.communities, buildings, d.streets, target=300,
                                locked_codes=[code])
    grids = result.grids.set_index("grid_id")
    assert grids.geometry[code].equals_exact(previous.set_index("grid_id").geometry[code], 0)
    assert bool(grids["locked"][code])
    before = set(plans.assignment.loc[plans.assignment["grid_id"] == code, "building_id"])
    after = set(result.assignment.loc[result.assignment["grid_id"] == code, "building_id"])
    assert before == after
    assert result.grids["grid_id"].is_unique
    assert result.assignment["building_id"].is_unique
    assert len(result.assignment) == len(buildings)
    assert code in set(result.register["grid_id"])
    metrics = evaluate(result.grids, d.communities, buildings, result.assignment)
    assert hard_failures(metrics) == []
    assert result.summary["n_locked"] == 1
    assert 0 <= result.summary["churn"] <= 1


def test_locked_partition_keeps_the_other_options(district, plans):
    """Options beside the lock (here 4-digit sequences) reach the partition of the rest."""
    d = district
    code = plans.grids["grid_id"].iloc[0]
    result = gridkit.partition(d.communities, d.buildings, d.streets, target=300, locked=plans.grids,
                               locked_codes=[code], sequence_digits=4)
    free = result.grids[~result.grids["locked"].astype(bool)]
    assert len(free)
    assert free["grid_id"].str.fullmatch(r".*\D\d{4}|\d{16}").all()
