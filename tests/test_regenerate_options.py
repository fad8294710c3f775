"""``regenerate`` takes the options of ``partition``: column names, buildings outside, balance by population or area."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import shapely
from bench_regenerate import perturb
from checks import assert_conserved, assert_points_in_assigned_grid, assert_seamless, assert_single_polygons
from synthetic import make_district, two_communities
from typer.testing import CliRunner

import gridkit
from gridkit.cli import app
from gridkit.errors import InputDataError
from gridkit.regenerate import regenerate

TARGET = 300


def quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


@pytest.fixture(scope="module")
def district():
    return make_district(5, 5, per_side=3, households=(5, 15), seed=11)


@pytest.fixture(scope="module")
def before(district):
    d = district
    return quiet(gridkit.partition, d.communities, d.buildings, d.streets, target=TARGET, seed=0)


@pytest.fixture(scope="module")
def changed(district):
    d = district
    return perturb(d.communities, d.buildings, d.streets, seed=2)


@pytest.fixture(scope="module")
def after(before, district, changed):
    d = district
    return quiet(regenerate, before.grids, before.assignment, d.communities, changed, d.streets, target=TARGET)


# -- columns -------------------------------------------------------------------------------------------------
RENAME_BUILDINGS = {"building_id": "bid", "households": "hh", "population": "pop"}
RENAME_COMMUNITIES = {"community_id": "sq_id"}


def test_user_column_names_give_the_same_plan(before, district, changed, after):
    d = district
    comm = d.communities.rename(columns=RENAME_COMMUNITIES)
    bld = changed.rename(columns=RENAME_BUILDINGS)
    columns = {**RENAME_BUILDINGS, **RENAME_COMMUNITIES}
    renamed = quiet(regenerate, before.grids, before.assignment, comm, bld, d.streets, target=TARGET,
                    columns=columns)
    assert renamed.grids["grid_id"].tolist() == after.grids["grid_id"].tolist()
    assert renamed.grids["households"].tolist() == after.grids["households"].tolist()
    assert renamed.assignment["grid_id"].tolist() == after.assignment["grid_id"].tolist()
    assert renamed.summary["churn"] == after.summary["churn"]


def test_a_wrong_column_name_is_named_in_the_error(before, district, changed):
    bld = changed.rename(columns={"households": "hh"})
    with pytest.raises(InputDataError, match="hhx"):
        quiet(regenerate, before.grids, before.assignment, district.communities, bld, district.streets,
              target=TARGET, columns={"households": "hhx"})


# -- buildings outside every community ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def with_stray(district, changed):
    _, miny, maxx, _ = shapely.total_bounds(district.communities.geometry.to_numpy())
    stray = changed.iloc[[0]].copy()
    stray["building_id"] = "STRAY1"
    stray["households"] = 40
    stray["geometry"] = [shapely.box(maxx + 50, miny, maxx + 70, miny + 20)]
    return pd.concat([changed, stray], ignore_index=True).set_geometry("geometry", crs=changed.crs)


def test_building_outside_is_an_error_by_default(before, district, with_stray):
    with pytest.raises(InputDataError, match="outside every community") as info:
        quiet(regenerate, before.grids, before.assignment, district.communities, with_stray, district.streets,
              target=TARGET)
    assert "STRAY1" in str(info.value)


def test_building_outside_is_listed_not_lost(before, district, with_stray, after):
    d = district
    with pytest.warns(gridkit.errors.GridkitWarning, match="outside every community"):
        result = regenerate(before.grids, before.assignment, d.communities, with_stray, d.streets, target=TARGET,
                            outside="report")
    row = result.assignment.set_index("building_id").loc["STRAY1"]
    assert row["status"] == "outside_communities"
    assert pd.isna(row["grid_id"])
    assert pd.isna(row["community_id"])
    assert result.summary["buildings_outside"] == 1
    # the others are placed as without it, and every household is in a grid or listed outside
    inside = result.assignment[result.assignment["status"] == "assigned"]
    assert len(inside) == len(with_stray) - 1
    assert result.grids["households"].sum() + 40 == int(with_stray["households"].sum())
    assert result.grids["grid_id"].tolist() == after.grids["grid_id"].tolist()
    assert result.summary["churn"] == after.summary["churn"]


# -- by population and by area -------------------------------------------------------------------------------
def test_by_population_keeps_the_invariants_and_moves_few(district, changed):
    d = district
    plan = quiet(gridkit.partition, d.communities, d.buildings, d.streets, by="population", target=800, seed=0)
    result = quiet(regenerate, plan.grids, plan.assignment, d.communities, changed, d.streets, by="population",
                   target=800)
    assert_conserved(result, changed)
    assert_seamless(result, d.communities)
    assert_single_polygons(result)
    assert_points_in_assigned_grid(result, changed)
    assert result.summary["churn"] <= 0.15
    # balanced by persons: the deviation is measured on population
    normal = result.grids[~result.grids["oversize"]]
    mean = normal["population"].mean()
    np.testing.assert_allclose(normal["deviation"], normal["population"] / mean - 1, atol=1e-9)
    unchanged = quiet(regenerate, plan.grids, plan.assignment, d.communities, d.buildings, d.streets,
                      by="population", target=800)
    assert (unchanged.grids["change"] == "kept").all()
    assert unchanged.summary["churn"] == 0.0


@pytest.fixture(scope="module")
def pair():
    return two_communities(seed=5)


@pytest.fixture(scope="module")
def area_plan(pair):
    return quiet(gridkit.partition, pair.communities, pair.buildings, pair.streets, by="area", target=15_000, seed=0)


def test_by_area_a_change_of_buildings_keeps_every_grid(pair, area_plan):
    changed = perturb(pair.communities, pair.buildings, pair.streets, seed=3)
    result = quiet(regenerate, area_plan.grids, area_plan.assignment, pair.communities, changed, pair.streets,
                   by="area", target=15_000)
    assert (result.grids["change"] == "kept").all()
    assert result.summary["churn"] == 0.0
    assert_conserved(result, changed)
    assert_points_in_assigned_grid(result, changed)


def test_by_area_a_changed_boundary_is_redrawn_balanced_by_area(pair, area_plan):
    comm = pair.communities.copy()
    strip = shapely.box(pair.xs[3], pair.ys[0], pair.xs[4], pair.ys[-1])
    comm.loc[0, "geometry"] = shapely.union(comm.geometry.iloc[0], strip)
    comm.loc[1, "geometry"] = shapely.difference(comm.geometry.iloc[1], strip)
    result = quiet(regenerate, area_plan.grids, area_plan.assignment, comm, pair.buildings, pair.streets, by="area",
                   target=15_000)
    assert_seamless(result, comm)
    assert_conserved(result, pair.buildings)
    assert_single_polygons(result)
    for cid, grids in result.grids.groupby("community_id"):
        area = grids["area_m2"].to_numpy()
        assert np.abs(area / area.mean() - 1).max() <= 0.1 + 1e-9, cid
        np.testing.assert_allclose(grids["deviation"], area / area.mean() - 1, atol=1e-6)
    assert sum("redrawn whole" in r for r in result.summary["repairs"]) == 2
    # C01 grew by a column of blocks: it holds more grids of about the same size
    grown = (result.grids["community_id"] == "C01").sum()
    assert grown > (area_plan.grids["community_id"] == "C01").sum()


# -- CLI ---------------------------------------------------------------------------------------------------
def test_cli_takes_partitions_column_and_outside_options(before, district, with_stray, tmp_path):
    d = district
    paths = {name: tmp_path / f"{name}.geojson" for name in ("previous", "communities", "buildings", "streets")}
    gridkit.io.write_geojson(before.grids, paths["previous"])
    gridkit.io.write_geojson(d.communities.rename(columns=RENAME_COMMUNITIES), paths["communities"])
    gridkit.io.write_geojson(with_stray.rename(columns=RENAME_BUILDINGS), paths["buildings"])
    gridkit.io.write_geojson(d.streets, paths["streets"])
    links = tmp_path / "assignment.csv"
    gridkit.io.write_csv(before.assignment, links)
    out, new_links, report = tmp_path / "new.geojson", tmp_path / "new.csv", tmp_path / "changes.csv"
    args = ["regenerate", "--previous", str(paths["previous"]), "--previous-assignment", str(links),
            "--communities", str(paths["communities"]), "--buildings", str(paths["buildings"]),
            "--streets", str(paths["streets"]), "--target", str(TARGET), "--out", str(out), "--assignment",
            str(new_links), "--report", str(report), "--community-id-col", "sq_id", "--building-id-col", "bid",
            "--households-col", "hh", "--population-col", "pop", "--lang", "en"]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 3, refused.output
    assert "STRAY1" in refused.output
    done = CliRunner().invoke(app, [*args, "--outside", "report"])
    assert done.exit_code == 0, done.output
    table = pd.read_csv(new_links, dtype=str)
    assert table.set_index("building_id").loc["STRAY1", "status"] == "outside_communities"
    assert "outside every community" in done.output
