"""Exit codes kept by every command: 2 usage, 3 bad input, 1 invariant failed, 4 internal error (the
traceback saved to a file, the message saying where), never a raw traceback on the console."""

from __future__ import annotations

import subprocess
import sys

import pytest
from test_cli import invoke, squash

from gridkit.cli import partition as partition_cli


def test_by_pop_is_a_usage_error(sample, tmp_path):
    folder = sample.folder
    for command in (["partition", "--out", tmp_path / "g.geojson", "--assignment", tmp_path / "a.csv"],
                    ["validate", folder / "communities.geojson"]):
        result = invoke(*command, "--communities", folder / "communities.geojson", "--buildings",
                        folder / "buildings.geojson", "--by", "pop", "--lang", "en")
        assert result.exit_code == 2, result.output
        assert "did you mean 'population'" in result.output
    assert not (tmp_path / "g.geojson").exists()


def test_internal_error_exits_4_with_the_traceback_in_a_file(sample, tmp_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(partition_cli, "_run_partition", broken)
    monkeypatch.setenv("GRIDKIT_CRASH_DIR", str(tmp_path / "crash"))
    folder = sample.folder
    result = invoke("partition", "--communities", folder / "communities.geojson", "--buildings",
                    folder / "buildings.geojson", "--out", tmp_path / "g.geojson", "--assignment", tmp_path / "a.csv",
                    "--lang", "en")
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output
    assert "internal error" in result.output
    saved = list((tmp_path / "crash").iterdir())
    assert len(saved) == 1
    assert squash(saved[0]) in squash(result.output)
    text = saved[0].read_text(encoding="utf-8")
    assert "Traceback" in text
    assert "ZeroDivisionError: a bug" in text


@pytest.mark.parametrize("case", ["ragged", "empty_communities"])
def test_crashes_of_real_users_end_as_named_errors(sample, tmp_path, case):
    """A ragged CSV row and an empty communities file: exit 3 naming the problem, no traceback."""
    folder = sample.folder
    communities, buildings = folder / "communities.geojson", folder / "buildings.geojson"
    if case == "ragged":
        buildings = tmp_path / "buildings.csv"
        buildings.write_text("building_id,lon,lat,households\nB1,104.07,30.67,5\nB2,104.07,30.67,5,9\n",
                             encoding="utf-8")
    else:
        communities = tmp_path / "communities.geojson"
        communities.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "gridkit.cli", "partition", "--communities", str(communities),
                          "--buildings", str(buildings), "--out", str(tmp_path / "g.geojson"), "--assignment",
                          str(tmp_path / "a.csv"), "--lang", "en"],
                         capture_output=True, text=True, timeout=300, check=False,
                         env={"GRIDKIT_CRASH_DIR": str(tmp_path / "crash"), "PATH": "/usr/bin:/bin",
                              "COLUMNS": "300"})
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert "input error" in run.stderr
    assert not (tmp_path / "crash").exists()
