"""The one-command pipeline: configuration checks before any work, targets per community type, outputs
published only when every stage succeeded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from gridkit.cli import app
from gridkit.cli.run import ITEMS_ZH
from gridkit.config import example_config, load_config
from gridkit.errors import GridkitError
from gridkit.pipeline import run_pipeline
from gridkit.samples import sample_dir

runner = CliRunner()


@pytest.fixture
def district(tmp_path: Path) -> Path:
    """A folder with the sample data and the example configuration, as ``gridkit init`` leaves it."""
    data = tmp_path / "sample-data"
    data.mkdir()
    for item in sample_dir().iterdir():
        if item.suffix in {".geojson", ".csv"}:
            shutil.copyfile(item, data / item.name)
    (tmp_path / "gridkit.toml").write_text(example_config("sample-data"), encoding="utf-8")
    return tmp_path / "gridkit.toml"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_example_configuration_loads_with_absolute_inputs(district: Path) -> None:
    cfg = load_config(district)
    assert Path(cfg["inputs"]["buildings"]).is_absolute()
    assert cfg["partition"]["targets"] == {"default": 300, "village": 200}
    assert cfg["outputs"]["folder"] == str((district.parent / "gridkit-out").resolve())


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("tolerance = 0.1", "tolerence = 0.1", "did you mean 'tolerance'"),
    ("[staffing]", "[staffin]", "did you mean 'staffing'"),
    ('by = "households"', 'by = "housholds"', "did you mean 'households'"),
    ("tolerance = 0.1", 'tolerance = "10%"', "must be float"),
    ('type_column = "kind"', 'type_column = "knd"', "did you mean 'kind'"),
    ("# households = \"hh\"", 'households = "househlds"', "did you mean 'households'"),
    ("sample-data/streets.geojson", "sample-data/no-streets.geojson", "file not found"),
])
def test_bad_configuration_names_key_file_or_column(district: Path, old: str, new: str, expected: str) -> None:
    _edit(district, old, new)
    with pytest.raises(GridkitError, match=expected) as info:
        load_config(district)
    assert str(district) in str(info.value)


def test_cli_rejects_bad_configuration_before_any_work(district: Path) -> None:
    _edit(district, "tolerance = 0.1", "tolerence = 0.1")
    result = runner.invoke(app, ["run", str(district), "--lang", "en"])
    assert result.exit_code == 3
    assert "tolerance" in result.output
    assert not (district.parent / "gridkit-out").exists()


def test_run_applies_targets_by_type_and_publishes_outputs(district: Path) -> None:
    result = run_pipeline(load_config(district))
    grids = result.results["grids"]
    report = result.results["report"].set_index("community_id")
    targets = result.results["communities"].set_index("community_id")["target"]
    assert targets["C05"] == 200
    assert targets["C01"] == 300
    for cid in ("C01", "C05"):
        assert abs(report.loc[cid, "k_planned"] - report.loc[cid, "households"] / targets[cid]) <= 1
    assert not result.problems
    names = {p.name for p in result.outputs}
    assert {"grids.geojson", "gridkit.gpkg", "grids.shp", "grids.cpg", "assignment.csv", "metrics.csv",
            "wardens_assignment.csv", "coverage.csv", "grid_stats.csv", "incident_quality.csv", "map.html"} <= names
    assert set(result.summary["stage"]) == {"partition", "wardens", "coverage", "routes", "incidents"}
    missing = set(result.summary["item"]) - set(ITEMS_ZH)
    assert not missing, f"summary items without a Chinese label: {missing}"
    counts = result.results["incidents"].counts
    assert counts["read"] == counts["in_grids"] + counts["outside"] + counts["rejected"]
    page = (district.parent / "gridkit-out" / "map.html").read_text(encoding="utf-8")
    assert "<script src=\"http" not in page, "the offline page loads nothing from the network"
    written = json.loads((district.parent / "gridkit-out" / "grids.geojson").read_text(encoding="utf-8"))
    assert len(written["features"]) == len(grids)
    assignment = pd.read_csv(district.parent / "gridkit-out" / "assignment.csv", dtype=str)
    assert len(assignment) == 1746
    assert not list(district.parent.glob(".gridkit-out-*")), "the staging folder is removed"


def test_failed_run_leaves_the_previous_outputs(district: Path) -> None:
    run_pipeline(load_config(district))
    grids = district.parent / "gridkit-out" / "grids.geojson"
    before = grids.read_bytes()
    buildings = district.parent / "sample-data" / "buildings.geojson"
    data = json.loads(buildings.read_text(encoding="utf-8"))
    data["features"][5]["properties"]["households"] = -4
    buildings.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(GridkitError, match="households"):
        run_pipeline(load_config(district))
    assert grids.read_bytes() == before
    assert not list(district.parent.glob(".gridkit-out-*"))


def test_init_then_run_from_the_cli(tmp_path: Path) -> None:
    config = tmp_path / "gridkit.toml"
    assert runner.invoke(app, ["init", str(config), "--lang", "en"]).exit_code == 0
    assert (tmp_path / "sample-data" / "buildings.geojson").exists()
    again = runner.invoke(app, ["init", str(config)])
    assert again.exit_code == 2, "an existing configuration is not overwritten without --force"
    result = runner.invoke(app, ["run", str(config)])
    assert result.exit_code == 0, result.output
    assert "partition" in result.output


def test_run_regenerates_from_a_previous_plan(district: Path) -> None:
    """With a previous plan the partition stage regenerates: codes kept, churn and changes reported."""
    first = run_pipeline(load_config(district))
    previous = district.parent / "previous"
    previous.mkdir()
    for name in ("grids.geojson", "assignment.csv"):
        shutil.copyfile(district.parent / "gridkit-out" / name, previous / name)
    buildings = district.parent / "sample-data" / "buildings.geojson"
    data = json.loads(buildings.read_text(encoding="utf-8"))
    for feature in data["features"][:60]:  # a few buildings fill up
        feature["properties"]["households"] = round(feature["properties"]["households"] * 1.5)
    buildings.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    _edit(district, '# previous_grids = "previous/grids.geojson"\n# previous_assignment = "previous/assignment.csv"',
          'previous_grids = "previous/grids.geojson"\nprevious_assignment = "previous/assignment.csv"')
    second = run_pipeline(load_config(district))
    changes = second.results["changes"]
    assert not second.problems
    assert 0 < changes.summary["churn"] <= 0.15
    kept = set(first.results["grids"]["grid_id"]) & set(second.results["grids"]["grid_id"])
    assert len(kept) >= 0.8 * len(first.results["grids"]), "most codes survive"
    out = district.parent / "gridkit-out"
    assert (out / "changes.csv").exists()
    assert (out / "grids.register.csv").exists()
    assert "churn" in set(second.summary["item"])


def test_previous_plan_inside_the_output_folder_is_refused(district: Path) -> None:
    run_pipeline(load_config(district))
    _edit(district, '# previous_grids = "previous/grids.geojson"\n# previous_assignment = "previous/assignment.csv"',
          'previous_grids = "gridkit-out/grids.geojson"\nprevious_assignment = "gridkit-out/assignment.csv"')
    with pytest.raises(GridkitError, match="would be overwritten"):
        run_pipeline(load_config(district))


def test_previous_grids_without_assignment_is_refused(district: Path) -> None:
    _edit(district, '# previous_grids = "previous/grids.geojson"', 'previous_grids = "sample-data/communities.geojson"')
    with pytest.raises(GridkitError, match="go together"):
        load_config(district)
