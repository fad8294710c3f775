"""``gridkit wardens``, ``coverage`` and ``stations`` on the sample district: outputs, messages, exit codes."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gridkit import io
from gridkit.cli import app

ENV = {"COLUMNS": "400", "NO_COLOR": "1"}


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def squash(text: str) -> str:
    return "".join(str(text).split())


@pytest.fixture(scope="module")
def files(sample, sample_result, tmp_path_factory):
    folder = tmp_path_factory.mktemp("wardens")
    paths = {"grids": folder / "grids.geojson", "assignment": folder / "assignment.csv"}
    io.write_geojson(sample_result.grids, paths["grids"])
    io.write_csv(sample_result.assignment, paths["assignment"])
    for name in ("buildings.geojson", "streets.geojson", "wardens.csv", "incidents.csv"):
        paths[name.split(".")[0]] = sample.folder / name
    return paths


def test_wardens_command_writes_the_assignment(files, tmp_path):
    out, staffed = tmp_path / "wardens_assignment.csv", tmp_path / "grids_staffed.geojson"
    per = tmp_path / "per_warden.csv"
    result = invoke("wardens", "--grids", files["grids"], "--roster", files["wardens"], "--out", out,
                    "--grids-out", staffed, "--per-warden", per, "--streets", files["streets"],
                    "--incidents", files["incidents"], "--lang", "en")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype=str)
    assert len(table) == 163
    assert (table["status"] == "grid").sum() == 82
    grids = io.read_layer(staffed)
    assert grids["staffed"].all()
    assert grids["warden_ids"].notna().all()
    report = pd.read_csv(per)
    assert report["street_km"].gt(0).all()
    assert report["incidents"].sum() > 0
    assert "provenoptimal" in squash(result.output)


def test_short_roster_is_reported_and_strict_fails(files, tmp_path):
    out = tmp_path / "a.csv"
    relaxed = invoke("wardens", "--grids", files["grids"], "--roster", files["wardens"], "--rule", "1+1+2",
                     "--out", out, "--lang", "en")
    assert relaxed.exit_code == 0, relaxed.output
    text = squash(relaxed.output)
    assert "shortage" in text
    assert "gridsnotfullystaffed(54)" in text
    strict = invoke("wardens", "--grids", files["grids"], "--roster", files["wardens"], "--rule", "1+1+2",
                    "--out", out, "--strict", "--lang", "en")
    assert strict.exit_code == 1


def test_bad_roster_exits_3_naming_the_row(files, tmp_path):
    roster = pd.read_csv(files["wardens"], dtype=str)
    roster.loc[10, "warden_id"] = roster.loc[3, "warden_id"]
    path = tmp_path / "bad.csv"
    roster.to_csv(path, index=False)
    result = invoke("wardens", "--grids", files["grids"], "--roster", path, "--out", tmp_path / "x.csv",
                    "--lang", "en")
    assert result.exit_code == 3
    assert "duplicatewardenid" in squash(result.output)
    assert "row10" in squash(result.output)
    assert not (tmp_path / "x.csv").exists()


def test_coverage_command_on_streets(files, tmp_path):
    out, lost = tmp_path / "coverage.csv", tmp_path / "uncovered.geojson"
    result = invoke("coverage", "--grids", files["grids"], "--buildings", files["buildings"], "--stations",
                    files["wardens"], "--streets", files["streets"], "--minutes", 5, "--out", out,
                    "--uncovered", lost, "--lang", "en")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert len(table) == 1746
    assert table["assigned_station"].notna().all()
    assert (table["assigned_m"] >= table["nearest_m"] - 1e-6).all()
    uncovered = io.read_layer(lost)
    assert len(uncovered) == (~table["covered"]).sum()


def test_stations_command_max_and_full_cover(files, tmp_path):
    out = tmp_path / "stations.geojson"
    result = invoke("stations", "--buildings", files["buildings"], "--candidates", files["wardens"],
                    "--streets", files["streets"], "--p", 5, "--minutes", 10, "--out", out, "--lang", "en")
    assert result.exit_code == 0, result.output
    assert len(io.read_layer(out)) == 5
    assert "provenoptimal" in squash(result.output)
    short = invoke("stations", "--buildings", files["buildings"], "--candidates", files["wardens"],
                   "--streets", files["streets"], "--full-cover", "--metres", 60, "--out", tmp_path / "s.geojson",
                   "--lang", "en")
    assert short.exit_code == 1
    assert "nofullcover" in squash(short.output)
    both = invoke("stations", "--buildings", files["buildings"], "--candidates", files["wardens"], "--p", 3,
                  "--full-cover", "--out", tmp_path / "t.geojson")
    assert both.exit_code == 2


@pytest.mark.slow
def test_stations_and_coverage_read_osm(tmp_path):
    """--osm reads an OSM PBF (Monaco) through gridkit.network.graph_from_osm."""
    pbf = Path(__file__).resolve().parents[2] / "shared" / "data" / "osm" / "monaco.osm.pbf"
    if not pbf.exists():
        pytest.skip(f"{pbf} absent")
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(7.415, 7.435, 200), rng.uniform(43.728, 43.745, 200)
    buildings = gpd.GeoDataFrame({"building_id": [f"B{i}" for i in range(200)], "households": rng.integers(1, 40, 200)},
                                 geometry=gpd.points_from_xy(lon, lat), crs=4326)
    io.write_geojson(buildings, tmp_path / "b.geojson")
    pd.DataFrame({"candidate_id": [f"C{i}" for i in range(15)], "lon": rng.uniform(7.415, 7.435, 15),
                  "lat": rng.uniform(43.728, 43.745, 15)}).to_csv(tmp_path / "c.csv", index=False)
    result = invoke("stations", "--buildings", tmp_path / "b.geojson", "--candidates", tmp_path / "c.csv", "--osm", pbf,
                    "--p", 3, "--minutes", 5, "--out", tmp_path / "s.geojson", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert len(io.read_layer(tmp_path / "s.geojson")) == 3
    stations = pd.DataFrame({"station_id": ["S1"], "lon": [7.425], "lat": [43.737]})
    stations.to_csv(tmp_path / "st.csv", index=False)
    reach = invoke("coverage", "--buildings", tmp_path / "b.geojson", "--stations", tmp_path / "st.csv", "--osm", pbf,
                   "--metres", 800, "--out", tmp_path / "cov.csv", "--lang", "en")
    assert reach.exit_code == 0, reach.output
    assert len(pd.read_csv(tmp_path / "cov.csv")) == 200


def test_team_rule_places_the_community_team(files, tmp_path):
    out, per = tmp_path / "team.csv", tmp_path / "per.csv"
    result = invoke("wardens", "--grids", files["grids"], "--roster", files["wardens"], "--rule", "1+1+2",
                    "--out", out, "--per-warden", per, "--team-free", "--lang", "en")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype=str)
    team = table[table["role"].isin(["part_time", "volunteer"])]
    assert (team["status"] == "community").all()
    assert team["team_community"].notna().all()
    assert team["team_grids"].str.contains(";").all()
    report = pd.read_csv(per, dtype={"community_id": str})
    assert set(report["level"]) == {"grid", "police", "community"}
    assert "communitypatrolteamandvolunteers:66/66→5communities" in squash(result.output)
