"""Whole-plan outputs: a failed, interrupted or killed run leaves the previous plan whole and consistent.

Faults are injected at every named point of the publish (``GRIDKIT_FAULT=fail:<point>``) and real
``gridkit`` subprocesses are killed there (``kill:<point>`` sends SIGKILL to itself mid-publish).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from synthetic import make_district
from test_cli import invoke

from gridkit import publish
from gridkit.config import load_config
from gridkit.pipeline import run_pipeline
from gridkit.publish import check_manifest, manifest_path, publish_files, publish_folder


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("publish-inputs")
    d = make_district(4, 4, per_side=3, households=(5, 15), seed=2)
    paths = {}
    for name in ("communities", "buildings", "streets"):
        paths[name] = folder / f"{name}.geojson"
        pyogrio.write_dataframe(getattr(d, name), paths[name], driver="GeoJSON")
    return paths


def _partition_args(inputs, out: Path, target: int, *, report: bool = True) -> list[str]:
    args = ["partition", "--communities", inputs["communities"], "--buildings", inputs["buildings"],
            "--streets", inputs["streets"], "--target", str(target), "--out", out / "grids.geojson",
            "--assignment", out / "assignment.csv", "--lang", "en"]
    return [str(a) for a in args] + (["--report", str(out / "report.csv")] if report else [])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _assert_whole(folder: Path, manifest_name: str = "grids.plan.json") -> dict:
    """Every file the manifest names is there with its checksum; nothing is half-published."""
    manifest = folder / manifest_name
    assert check_manifest(manifest) == []
    return json.loads(manifest.read_text(encoding="utf-8"))


@pytest.fixture
def plan_a(inputs, tmp_path):
    """A published partition (target 300), the previous plan of every test."""
    out = tmp_path / "plan"
    result = invoke(*_partition_args(inputs, out, 300))
    assert result.exit_code == 0, result.output
    return out, _snapshot(out)


def test_partition_writes_one_plan_with_a_manifest(plan_a):
    out, files = plan_a
    manifest = _assert_whole(out)
    assert set(manifest["files"]) == {"grids", "assignment", "report"}
    assert manifest["files"]["grids"]["path"] == "grids.geojson"
    assert manifest["files"]["assignment"]["sha256"] == publish.file_checksum(out / "assignment.csv")
    assert _hidden(out) == []
    assert set(files) == {"grids.geojson", "assignment.csv", "report.csv", "grids.plan.json"}


def test_a_rerun_removes_the_files_it_no_longer_writes(inputs, plan_a):
    out, _ = plan_a
    result = invoke(*_partition_args(inputs, out, 150, report=False))
    assert result.exit_code == 0, result.output
    assert not (out / "report.csv").exists(), "the previous plan's report would disagree with the new grids"
    assert set(_assert_whole(out)["files"]) == {"grids", "assignment"}
    assert _hidden(out) == []


@pytest.mark.parametrize("point", ["staged", "replaced-one", "before-manifest"])
def test_injected_failure_keeps_the_previous_plan(inputs, plan_a, point):
    out, before = plan_a
    result = CliEnv(GRIDKIT_FAULT=f"fail:{point}").invoke(*_partition_args(inputs, out, 150, report=False))
    assert result.exit_code == 4, result.output  # an OSError inside gridkit: internal error, no traceback shown
    assert "Traceback" not in result.output
    assert _snapshot(out) == before, "byte for byte the previous plan"
    assert _hidden(out) == []


def test_failure_after_the_commit_keeps_the_new_plan(inputs, plan_a):
    out, before = plan_a
    result = CliEnv(GRIDKIT_FAULT="fail:committed").invoke(*_partition_args(inputs, out, 150))
    assert result.exit_code == 4
    assert _snapshot(out)["grids.geojson"] != before["grids.geojson"]
    _assert_whole(out)
    assert _hidden(out) == []


def test_killed_after_the_commit_the_new_plan_stands(inputs, plan_a):
    out, before = plan_a
    killed = _gridkit(_partition_args(inputs, out, 150), GRIDKIT_FAULT="kill:committed")
    assert killed.returncode == -9, killed.stderr
    assert _hidden(out), "backups and the journal are left by the kill"
    assert publish.recover_files(out / "grids.plan.json") == \
        "finished the cleanup of a run interrupted after it published"
    assert _hidden(out) == []
    _assert_whole(out)
    assert _snapshot(out)["grids.geojson"] != before["grids.geojson"]


class CliEnv:
    """``invoke`` with extra environment variables (CliRunner sets them for the call only)."""

    def __init__(self, **env: str) -> None:
        self.env = env

    def invoke(self, *args: str):
        from typer.testing import CliRunner  # noqa: PLC0415

        from gridkit.cli import app  # noqa: PLC0415

        return CliRunner().invoke(app, list(args), env={"COLUMNS": "400", "NO_COLOR": "1", **self.env})


def _gridkit(args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gridkit.cli", *args], capture_output=True, text=True,
                          timeout=300, check=False, env={**os.environ, **env})


@pytest.mark.parametrize("point", ["replaced-one", "before-manifest"])
def test_killed_partition_is_rolled_back(inputs, plan_a, point):
    """SIGKILL in the middle of the publish: the files are mixed until the next start, which restores
    the previous plan; validate meanwhile says the plan was interrupted."""
    out, before = plan_a
    killed = _gridkit(_partition_args(inputs, out, 150, report=False), GRIDKIT_FAULT=f"kill:{point}")
    assert killed.returncode == -9, killed.stderr
    problems = check_manifest(out / "grids.plan.json")
    assert ("error", "interrupted", str(out / "grids.plan.json")) in problems
    check = invoke("validate", out / "grids.geojson", "--communities", inputs["communities"], "--buildings",
                   inputs["buildings"], "--assignment", out / "assignment.csv", "--lang", "en")
    assert check.exit_code == 1
    assert "interrupted" in check.output
    # the next run that writes this plan first restores the previous one; here it fails before publishing
    failed = CliEnv(GRIDKIT_FAULT="fail:staged").invoke(*_partition_args(inputs, out, 150))
    assert failed.exit_code == 4
    assert _snapshot(out) == before
    assert _hidden(out) == []
    _assert_whole(out)


def test_output_under_a_regular_file_is_a_usage_error(inputs, tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("not a folder", encoding="utf-8")
    result = invoke(*_partition_args(inputs, blocker, 300))
    assert result.exit_code == 2, result.output
    assert "is a file, not a folder" in result.output
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_publish_files_rolls_back_on_an_exception(tmp_path):
    target = tmp_path / "a.csv"
    target.write_text("old\n", encoding="utf-8")

    def write_then_fail() -> None:
        with publish_files({"a": target, "b": tmp_path / "b.csv"}, manifest=tmp_path / "a.plan.json",
                           command="test") as staged:
            staged["a"].write_text("new\n", encoding="utf-8")
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        write_then_fail()
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]
    assert manifest_path(tmp_path / "grids.gpkg").name == "grids.plan.json"


# --------------------------------------------------------------------------------------------
# gridkit run: the output folder is published by one folder exchange


@pytest.fixture
def config(inputs, tmp_path):
    path = tmp_path / "gridkit.toml"
    lines = ["[district]", 'name = "test"', 'lang = "en"', "[inputs]"]
    lines += [f'{name} = "{inputs[name].as_posix()}"' for name in ("communities", "buildings", "streets")]
    lines += ["[partition]", "target = 300", "[routes]", "enabled = false",
              "[outputs]", 'folder = "out"', 'formats = ["csv", "geojson"]', "map = false"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_run_publishes_a_folder_with_plan_json_keeping_the_users_files(config):
    folder = config.parent / "out"
    run_pipeline(load_config(config))
    manifest = _assert_whole(folder, "plan.json")
    assert "gis/csv/grids.csv" in manifest["files"]
    (folder / "my notes.txt").write_text("keep me", encoding="utf-8")
    config.write_text(config.read_text(encoding="utf-8").replace('["csv", "geojson"]', '["geojson"]'),
                      encoding="utf-8")
    run_pipeline(load_config(config))
    assert not (folder / "gis" / "csv").exists(), "outputs this run does not write are gone"
    assert (folder / "my notes.txt").read_text(encoding="utf-8") == "keep me"
    assert "my notes.txt" not in _assert_whole(folder, "plan.json")["files"]
    assert _hidden(config.parent) == []


@pytest.mark.parametrize("point", ["folder-staged", "folder-between"])
def test_killed_run_leaves_the_previous_folder_whole(config, point):
    folder = config.parent / "out"
    run_pipeline(load_config(config))
    before = _tree(folder)
    config.write_text(config.read_text(encoding="utf-8").replace("target = 300", "target = 150"), encoding="utf-8")
    killed = _gridkit(["run", str(config)], GRIDKIT_FAULT=f"kill:{point}")
    assert killed.returncode == -9, killed.stderr
    if point == "folder-staged":
        assert _tree(folder) == before  # the swap had not started: nothing visible changed
    assert _hidden(config.parent), "the killed run's staging (or the moved-aside plan) is still there"
    assert publish.recover_folder(folder) is not None  # what the next start does first
    assert _tree(folder) == before
    assert _hidden(config.parent) == []
    _assert_whole(folder, "plan.json")
    run_pipeline(load_config(config))
    after = _assert_whole(folder, "plan.json")
    assert after["plan_id"] != json.loads(before["plan.json"])["plan_id"]


def test_publish_folder_failure_leaves_nothing(tmp_path):
    folder = tmp_path / "out"
    with publish_folder(folder, command="test") as staging:
        (staging / "a.txt").write_text("one", encoding="utf-8")

    def write_then_fail() -> None:
        with publish_folder(folder, command="test") as again:
            (again / "a.txt").write_text("two", encoding="utf-8")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert (folder / "a.txt").read_text(encoding="utf-8") == "one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert pd.Series(sorted(p.name for p in folder.iterdir())).tolist() == ["a.txt", "plan.json"]


def test_a_plan_failing_its_invariants_does_not_replace_the_good_one(config, inputs, tmp_path):
    """Overlapping communities (here: the community given twice) give a plan with overlapping grids:
    gridkit run exits 1 and writes it beside the good plan, which stays as it was."""
    folder = config.parent / "out"
    run_pipeline(load_config(config))
    before = _tree(folder)
    import geopandas as gpd  # noqa: PLC0415

    communities = gpd.read_file(inputs["communities"])
    twice = pd.concat([communities, communities.assign(community_id="C02", code="510107003002")], ignore_index=True)
    doubled = tmp_path / "doubled.geojson"
    pyogrio.write_dataframe(gpd.GeoDataFrame(twice, crs=communities.crs), doubled, driver="GeoJSON")
    config.write_text(config.read_text(encoding="utf-8").replace(inputs["communities"].as_posix(), doubled.as_posix()),
                      encoding="utf-8")
    result = CliEnv().invoke("run", str(config), "--lang", "en")
    if result.exit_code == 3:  # overlapping communities refused as bad input: nothing was published either
        assert "overlap" in result.output
    else:
        assert result.exit_code == 1, result.output
        assert "different communities overlap" in result.output
        assert (config.parent / "out.failed" / "plan.json").exists()
    assert _tree(folder) == before
