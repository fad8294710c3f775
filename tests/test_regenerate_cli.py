"""``gridkit regenerate``: outputs, dry run, register round trip, exit codes; and the real-data runs (slow)."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
import pytest
from bench_regenerate import perturb
from synthetic import make_district
from typer.testing import CliRunner

import gridkit
from gridkit import io
from gridkit.cli import app
from gridkit.metrics import evaluate, hard_failures
from gridkit.regenerate import regenerate

ENV = {"COLUMNS": "400", "NO_COLOR": "1"}


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def squash(text: str) -> str:
    return "".join(str(text).split())


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A district, its plan written by ``gridkit partition`` and changed buildings, all as files."""
    folder = tmp_path_factory.mktemp("regen")
    d = make_district(5, 5, per_side=3, households=(5, 15), seed=7, lonlat=True)
    paths = {name: folder / f"{name}.geojson" for name in ("communities", "buildings", "streets", "changed")}
    io.write_geojson(d.communities, paths["communities"])
    io.write_geojson(d.buildings, paths["buildings"])
    io.write_geojson(d.streets, paths["streets"])
    io.write_geojson(perturb(d.communities, d.buildings, d.streets, seed=2), paths["changed"])
    paths["grids"], paths["assignment"] = folder / "grids.geojson", folder / "assignment.csv"
    result = invoke("partition", "--communities", paths["communities"], "--buildings", paths["buildings"],
                    "--streets", paths["streets"], "--target", 300, "--out", paths["grids"], "--assignment",
                    paths["assignment"], "--lang", "en")
    assert result.exit_code == 0, result.output
    return paths


def regen_args(files, buildings_key: str = "buildings") -> list[object]:
    return ["regenerate", "--previous", files["grids"], "--previous-assignment", files["assignment"],
            "--communities", files["communities"], "--buildings", files[buildings_key], "--streets",
            files["streets"], "--target", 300, "--lang", "en"]


def test_cli_unchanged_input_writes_the_same_plan(files, tmp_path):
    before = (files["grids"].read_bytes(), files["assignment"].read_bytes())
    out, links, report = tmp_path / "new.geojson", tmp_path / "new.csv", tmp_path / "changes.csv"
    result = invoke(*regen_args(files), "--out", out, "--assignment", links, "--report", report)
    assert result.exit_code == 0, result.output
    old, new = gpd.read_file(files["grids"]), gpd.read_file(out)
    assert new["grid_id"].tolist() == old["grid_id"].tolist()
    assert new.geometry.geom_equals_exact(old.geometry, tolerance=0).all()
    for col in ("households", "population", "area_m2", "deviation", "polsby_popper"):
        assert (new[col] == old[col]).all(), col
    assert (new["change"] == "kept").all()
    changes = pd.read_csv(report)
    assert (changes["change"] == "kept").all()
    assert changes["moved_in"].sum() == 0
    assert "churn0.0%" in squash(result.output)
    assert (tmp_path / "new.register.csv").exists()
    assert (files["grids"].read_bytes(), files["assignment"].read_bytes()) == before


def test_cli_dry_run_prints_the_report_and_writes_nothing(files, tmp_path):
    out, links, report = tmp_path / "new.geojson", tmp_path / "new.csv", tmp_path / "changes.csv"
    result = invoke(*regen_args(files, "changed"), "--out", out, "--assignment", links, "--report", report,
                    "--dry-run")
    assert result.exit_code == 0, result.output
    assert list(tmp_path.iterdir()) == []
    text = squash(result.output)
    assert "churn" in text
    assert "dryrun:nothingwritten" in text
    assert "adjusted" in text


def test_cli_dry_run_needs_no_outputs(files, tmp_path):
    result = invoke(*regen_args(files, "changed"), "--dry-run")
    assert result.exit_code == 0, result.output


def test_cli_change_then_register_is_read_back(files, tmp_path):
    """Run 1 writes grids and register; run 2 from run 1's files picks the register up beside the grids."""
    out, links, report = tmp_path / "v2.geojson", tmp_path / "v2.csv", tmp_path / "v2_changes.csv"
    first = invoke(*regen_args(files, "changed"), "--out", out, "--assignment", links, "--report", report)
    assert first.exit_code == 0, first.output
    register = pd.read_csv(tmp_path / "v2.register.csv", dtype=str)
    grids = gpd.read_file(out)
    assert set(grids["grid_id"]) <= set(register.loc[register["status"] == "active", "grid_id"])
    assert "change" in grids.columns
    # run 2: the previous plan is run 1's; a register that retires one of its codes is found and refused
    tampered = register.copy()
    tampered.loc[tampered["grid_id"] == grids["grid_id"].iloc[0], "status"] = "retired"
    tampered.to_csv(tmp_path / "v2.register.csv", index=False)
    second = invoke("regenerate", "--previous", out, "--previous-assignment", links, "--communities",
                    files["communities"], "--buildings", files["changed"], "--streets", files["streets"],
                    "--target", 300, "--dry-run", "--lang", "en")
    assert second.exit_code == 3, second.output
    assert "retired" in squash(second.output)


def test_cli_refuses_to_overwrite_the_previous_plan(files):
    result = invoke(*regen_args(files, "changed"), "--out", files["grids"], "--assignment", files["assignment"],
                    "--report", files["grids"].with_suffix(".csv"))
    assert result.exit_code == 2


def test_cli_without_outputs_or_dry_run_is_a_usage_error(files):
    assert invoke(*regen_args(files, "changed")).exit_code == 2


def test_cli_bad_previous_plan_exits_3_naming_the_row(files, tmp_path):
    links = pd.read_csv(files["assignment"], dtype=str)
    links.loc[3, "grid_id"] = "510107003001999"
    bad = tmp_path / "bad.csv"
    links.to_csv(bad, index=False)
    result = invoke("regenerate", "--previous", files["grids"], "--previous-assignment", bad, "--communities",
                    files["communities"], "--buildings", files["buildings"], "--dry-run", "--lang", "en")
    assert result.exit_code == 3
    text = squash(result.output)
    assert "510107003001999" in text
    assert "row3" in text
    assert "bad.csv" in text


def test_cli_help_has_an_example():
    result = invoke("regenerate", "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert "--dry-run" in result.output


# -- real data (slow) ----------------------------------------------------------------------------------------
def _change_run(communities, buildings, streets, target):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = gridkit.partition(communities, buildings, streets, target=target)
        changed = perturb(communities, buildings, streets, seed=0)
        after = regenerate(before.grids, before.assignment, communities, changed, streets, target=target)
    table = evaluate(after.grids, communities, changed, after.assignment, streets=streets)
    previous = evaluate(before.grids, communities, buildings, before.assignment, streets=streets)
    return after, table.iloc[-1], previous.iloc[-1]


@pytest.mark.slow
def test_sample_district_change_moves_few_households(sample):
    after, total, previous = _change_run(sample.communities, sample.buildings, sample.streets, None)
    assert after.summary["churn"] <= 0.15
    assert hard_failures(pd.DataFrame([total])) == []
    assert total["share_within_tolerance"] >= previous["share_within_tolerance"] - 0.05
    assert total["street_alignment"] >= previous["street_alignment"] - 0.05


@pytest.mark.slow
def test_moabit_change_moves_few_households(moabit):
    after, total, previous = _change_run(moabit["communities_cut"], moabit["buildings"], moabit["streets"], 300)
    assert after.summary["churn"] <= 0.15
    assert hard_failures(pd.DataFrame([total])) == []
    assert total["share_within_tolerance"] >= previous["share_within_tolerance"] - 0.02
    assert total["street_alignment"] >= previous["street_alignment"] - 0.03


@pytest.mark.slow
def test_moabit_whole_change_leaves_no_grid_outside(moabit):
    """Moabit as one community: a new building in a niche of a 326-household block could only leave that
    grid towards a grid another region held; the two regions are redrawn as one and every grid ends inside."""
    after, total, _ = _change_run(moabit["communities_whole"], moabit["buildings"], moabit["streets"], 300)
    assert after.summary["churn"] <= 0.15
    assert hard_failures(pd.DataFrame([total])) == []
    assert total["share_within_tolerance"] == 1.0
