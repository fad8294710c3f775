"""The ``gridkit`` command: partition, validate, demo, languages, exit codes, and the installed entry point."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from synthetic import make_district
from typer.testing import CliRunner

from gridkit import io
from gridkit.cli import app

ENV = {"COLUMNS": "400", "NO_COLOR": "1"}  # long paths on one line


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def squash(text: str) -> str:
    """Output without any whitespace: rich wraps long lines (even inside a path) to the terminal width."""
    return "".join(str(text).split())


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A 4×4-block community written as GeoJSON files (EPSG:32650 with a "crs" member)."""
    folder = tmp_path_factory.mktemp("inputs")
    d = make_district(4, 4, per_side=3, households=(5, 15), seed=1)
    paths = {}
    for name in ("communities", "buildings", "streets"):
        paths[name] = folder / f"{name}.geojson"
        pyogrio.write_dataframe(getattr(d, name), paths[name], driver="GeoJSON")
    paths["district"] = d
    return paths


@pytest.fixture(scope="module")
def partitioned(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    grids, assignment, report = out / "grids.geojson", out / "assignment.csv", out / "report.csv"
    result = invoke("partition", "--communities", inputs["communities"], "--buildings", inputs["buildings"],
                    "--streets", inputs["streets"], "--target", "300", "--out", grids,
                    "--assignment", assignment, "--report", report, "--lang", "en")
    return result, grids, assignment, report


def test_partition_writes_grids_assignment_and_report(inputs, partitioned):
    result, grids, assignment, report = partitioned
    assert result.exit_code == 0, result.output
    d = inputs["district"]
    layer = gpd.read_file(grids)
    assert layer.crs.to_epsg() == 4326
    assert len(layer) == round(d.buildings["households"].sum() / 300)
    assert layer["households"].sum() == d.buildings["households"].sum()
    assert layer["grid_id"].str.fullmatch(r"510107003001\d{3}").all()
    table = pd.read_csv(assignment, dtype=str)
    assert len(table) == len(d.buildings)
    assert set(table["grid_id"]) == set(layer["grid_id"])
    rep = pd.read_csv(report)
    assert rep["community_id"].tolist() == ["C01"]
    assert rep["n_grids"].iloc[0] == len(layer)
    assert "wrote" in result.output
    assert "C01" in result.output


@pytest.fixture(scope="module")
def partitioned_gpkg(inputs, tmp_path_factory):
    """The same plan written as a GeoPackage (the communities' CRS, full precision)."""
    out = tmp_path_factory.mktemp("out_gpkg")
    grids, assignment = out / "plan.gpkg", out / "assignment.csv"
    result = invoke("partition", "--communities", inputs["communities"], "--buildings", inputs["buildings"],
                    "--streets", inputs["streets"], "--out", grids, "--assignment", assignment)
    return result, grids, assignment


def test_partition_to_gpkg(inputs, partitioned, partitioned_gpkg):
    result, out, _ = partitioned_gpkg
    assert result.exit_code == 0, result.output
    assert [name for name, _ in pyogrio.list_layers(out)] == ["grids"]
    layer = gpd.read_file(out, layer="grids")
    assert layer.crs.to_epsg() == 32650  # the communities' CRS
    # the same plan as the GeoJSON one (same seed)
    geojson = gpd.read_file(partitioned[1])
    assert layer["grid_id"].tolist() == geojson["grid_id"].tolist()
    assert layer["households"].tolist() == geojson["households"].tolist()
    assert "已写出" in result.output  # Chinese messages by default


def test_validate_good_output(inputs, partitioned_gpkg):
    _, grids, assignment = partitioned_gpkg
    for lang, word in (("en", "all hard invariants hold"), ("zh", "全部硬性指标通过")):
        result = invoke("validate", grids, "--communities", inputs["communities"], "--buildings",
                        inputs["buildings"], "--assignment", assignment, "--streets", inputs["streets"],
                        "--lang", lang)
        assert result.exit_code == 0, result.output
        assert word in result.output


def test_validate_accepts_partition_geojson_output(inputs, partitioned):
    """`gridkit validate` accepts the GeoJSON `gridkit partition` wrote (lon/lat, precision kept)."""
    _, grids, assignment, _ = partitioned
    result = invoke("validate", grids, "--communities", inputs["communities"], "--buildings",
                    inputs["buildings"], "--assignment", assignment, "--lang", "en")
    assert result.exit_code == 0, result.output


def test_validate_writes_metrics(inputs, partitioned_gpkg, tmp_path):
    _, grids, assignment = partitioned_gpkg
    out = tmp_path / "metrics.csv"
    result = invoke("validate", grids, "--communities", inputs["communities"], "--buildings", inputs["buildings"],
                    "--assignment", assignment, "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert table["community_id"].tolist() == ["C01", "ALL"]
    assert bool(table["conserved"].iloc[-1])
    assert table["coverage_gap"].max() <= 1e-6


def test_validate_tampered_grids_exit_1(inputs, partitioned_gpkg, tmp_path):
    _, grids, _ = partitioned_gpkg
    tampered = tmp_path / "tampered.gpkg"
    io.write_gpkg(gpd.read_file(grids, layer="grids").iloc[1:], tampered, layer="grids")  # drop one grid
    result = invoke("validate", tampered, "--communities", inputs["communities"], "--lang", "en")
    assert result.exit_code == 1, result.output
    assert "hard invariants failed" in result.output
    assert "coverage gap" in result.output
    assert "conservation" not in result.output


def test_validate_tampered_households_exit_1(inputs, partitioned_gpkg, tmp_path):
    _, grids, assignment = partitioned_gpkg
    layer = gpd.read_file(grids, layer="grids")
    layer.loc[0, "households"] += 1
    tampered = tmp_path / "tampered.gpkg"
    io.write_gpkg(layer, tampered, layer="grids")
    result = invoke("validate", tampered, "--communities", inputs["communities"], "--buildings",
                    inputs["buildings"], "--assignment", assignment, "--lang", "en")
    assert result.exit_code == 1
    assert "conservation" in result.output
    assert "coverage gap" not in result.output


def test_bad_input_exits_3_naming_the_file(inputs, tmp_path):
    d = inputs["district"]
    bad = d.buildings.copy()
    bad.loc[4, "households"] = -3
    path = tmp_path / "bad_buildings.geojson"
    pyogrio.write_dataframe(bad, path, driver="GeoJSON")
    for lang, word in (("en", "input error"), ("zh", "输入错误")):
        result = invoke("partition", "--communities", inputs["communities"], "--buildings", path,
                        "--out", tmp_path / "g.geojson", "--assignment", tmp_path / "a.csv", "--lang", lang)
        assert result.exit_code == 3, result.output
        text = squash(result.output)
        assert squash(path) in text
        assert "'B00004'" in text
        assert "row4" in text or "第4行" in text
        assert "'households'" in text
        assert squash(word) in text
    assert not (tmp_path / "g.geojson").exists()


def test_missing_file_exits_3(inputs, tmp_path):
    missing = tmp_path / "nope.geojson"
    result = invoke("validate", missing, "--communities", inputs["communities"], "--lang", "en")
    assert result.exit_code == 3
    assert squash(missing) in squash(result.output)
    assert "does not exist" in result.output


def test_wrong_usage_exits_2():
    assert invoke("partition").exit_code == 2
    assert invoke("no-such-command").exit_code == 2


def test_help_mentions_examples():
    result = invoke("--help")
    assert result.exit_code == 0
    assert "Example" in result.output
    assert "gridkit demo --out demo" in result.output
    commands = [c.name for c in app.registered_commands]
    assert {"partition", "validate", "demo", "run", "init", "regenerate", "wardens", "coverage", "stations",
            "routes", "incidents", "map", "export"} <= set(commands)
    for command in commands:
        assert command in result.output
        sub = invoke(command, "--help")
        assert sub.exit_code == 0
        assert "Example" in sub.output


# --------------------------------------------------------------------------------------------
# demo (the slowest command: run once)


def test_demo_writes_every_output(sample, tmp_path):
    """One test (the demo partitions the whole sample, so it runs once, on one worker)."""
    out = tmp_path / "demo"
    result = invoke("demo", "--out", out, "--lang", "en")
    assert result.exit_code == 0, result.output
    names = {"grids.geojson", "assignment.csv", "metrics.csv", "report.csv", "map.html", "wardens_assignment.csv",
             "coverage.csv", "grid_stats.csv", "incident_quality.csv"}
    assert names <= {p.name for p in out.iterdir()}
    for stage in ("wardens", "coverage", "routes", "incidents"):
        assert stage in result.output
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    grids = gpd.read_file(out / "grids.geojson")
    assert "crs" not in json.loads((out / "grids.geojson").read_text(encoding="utf-8"))
    assert len(gpd.read_file(out / "gis" / "gpkg" / "gridkit.gpkg", layer="grids")) == len(grids)
    assert (out / "gis" / "shp" / "grids.cpg").read_text().strip().upper() in {"UTF-8", "UTF8"}
    assert grids["households"].sum() == sample.buildings["households"].sum()
    assignment = pd.read_csv(out / "assignment.csv", dtype=str)
    assert len(assignment) == len(sample.buildings)
    metrics = pd.read_csv(out / "metrics.csv")
    assert metrics["community_id"].tolist() == ["C01", "C02", "C03", "C04", "C05", "ALL"]
    assert bool(metrics["conserved"].iloc[-1])
    assert metrics["coverage_gap"].max() <= 1e-6
    report = pd.read_csv(out / "report.csv")
    assert report["community_id"].tolist() == ["C01", "C02", "C03", "C04", "C05"]
    html = (out / "map.html").read_text(encoding="utf-8")
    assert grids["grid_id"].iloc[0] in html
    assert "Grid code" in html  # --lang en
    assert "gridkit metrics" in result.output
    # both grid files written by the demo pass validation
    for grids_file in ("gis/gpkg/gridkit.gpkg", "grids.geojson"):
        check = invoke("validate", out / grids_file, "--communities", sample.folder / "communities.geojson",
                       "--buildings", sample.folder / "buildings.geojson", "--assignment", out / "assignment.csv",
                       "--lang", "en")
        assert check.exit_code == 0, (grids_file, check.output)


# --------------------------------------------------------------------------------------------
# the installed entry point


def _entry_point() -> str:
    beside = Path(sys.executable).with_name("gridkit")
    found = str(beside) if beside.exists() else shutil.which("gridkit")
    assert found, "the gridkit console script is not installed (pip install -e .)"
    return found


def test_installed_entry_point_partitions(inputs, tmp_path):
    grids, assignment = tmp_path / "grids.geojson", tmp_path / "assignment.csv"
    run = subprocess.run(
        [_entry_point(), "partition", "--communities", str(inputs["communities"]), "--buildings",
         str(inputs["buildings"]), "--streets", str(inputs["streets"]), "--out", str(grids), "--assignment",
         str(assignment), "--lang", "en"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "wrote" in run.stderr
    assert len(gpd.read_file(grids)) >= 4
    assert len(pd.read_csv(assignment)) == len(inputs["district"].buildings)
    bad = subprocess.run([_entry_point(), "validate", str(tmp_path / "missing.geojson"), "--communities",
                          str(inputs["communities"])], capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 3
