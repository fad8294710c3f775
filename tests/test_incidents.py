"""Incidents: reading, the data-quality table, counts that add up, per-grid statistics and tiers, the CLI."""

from __future__ import annotations

import io as stdio

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from gridkit import io
from gridkit.cli import app
from gridkit.errors import GridkitError, GridkitWarning, InputDataError
from gridkit.incidents import (
    DEFAULT_CATEGORIES,
    STAGES,
    IncidentResult,
    grid_stats,
    join_grids,
    load_sla,
    prepare_incidents,
    read_incidents,
)

ENV = {"COLUMNS": "400", "NO_COLOR": "1"}


@pytest.fixture(scope="module")
def grids(sample_result):
    return sample_result.grids


@pytest.fixture(scope="module")
def prepared(sample, grids):
    return prepare_incidents(sample.folder / "incidents.csv", grids)


def _row(k: int, **over) -> dict:
    """One well-formed closed incident at 104.04 E 30.64 N (inside the sample district)."""
    base = pd.Timestamp("2025-03-03T08:00:00+08:00")
    row = {"incident_id": f"T{k:04d}", "lon": 104.0466, "lat": 30.6367, "category": "fire", "status": "closed"}
    for i, stage in enumerate(STAGES):
        row[f"{stage}_at"] = (base + pd.Timedelta(hours=2 * i)).isoformat()
    row.update(over)
    return row


def _csv(rows: list[dict], tmp_path, name="i.csv"):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


# --- the sample and its planted problems (data/samples/README.md) ------------------------------


def test_sample_counts_add_up(prepared, sample):
    c = prepared.counts
    assert c["read"] == len(sample.incidents)
    assert c["in_grids"] + c["outside"] + c["rejected"] == c["read"]
    assert len(prepared.incidents) == c["in_grids"] + c["outside"]
    assert prepared.incidents["grid_id"].notna().sum() == c["in_grids"]


def test_sample_planted_problems_are_listed(prepared, sample):
    q = prepared.quality
    by = q.groupby("problem").size().to_dict()
    # README: 3 closed without verification, 2 exact duplicates, 2 outside, 1 unknown category 'traffic'
    assert by.get("closed_without_verification") == 3
    assert by.get("duplicate") == 2
    assert by.get("outside_grids") == 2
    assert by.get("unknown_category") == 1
    traffic = sample.incidents.index[sample.incidents["category"] == "traffic"].tolist()
    assert q.loc[q.problem == "unknown_category", "row"].tolist() == traffic
    dup_ids = sample.incidents.loc[sample.incidents.duplicated(), "incident_id"].tolist()
    assert sorted(q.loc[q.problem == "duplicate", "incident_id"]) == sorted(dup_ids)
    assert set(q["action"]) <= {"rejected", "outside", "kept"}
    assert prepared.counts["rejected"] == (q["action"] == "rejected").sum()
    assert prepared.counts["outside"] == (q["action"] == "outside").sum()


def test_closed_without_verification_is_not_counted_closed(prepared):
    q = prepared.quality
    rows = q.loc[q.problem == "closed_without_verification", "row"]
    kept = prepared.incidents.set_index("row").loc[rows]
    assert (kept["status"] == "closed").all()
    assert not kept["closed_valid"].any()
    assert kept["hours_to_close"].isna().all()


def test_outside_points_lie_outside_every_grid(prepared, grids):
    outside = prepared.incidents[prepared.incidents["grid_id"].isna()]
    union = grids.to_crs(4326).union_all()
    assert not outside.geometry.intersects(union).any()
    inside = prepared.incidents[prepared.incidents["grid_id"].notna()].head(200)
    lookup = grids.set_index("grid_id").to_crs(4326).geometry
    assert all(lookup[g].intersects(p) for g, p in zip(inside["grid_id"], inside.geometry, strict=True))


def test_read_incidents_warns_and_drops_rejected(sample):
    with pytest.warns(GridkitWarning, match="3 incidents rejected"):
        gdf = read_incidents(sample.folder / "incidents.csv")
    assert len(gdf) == len(sample.incidents) - 3
    assert gdf.crs.to_epsg() == 4326
    assert str(gdf["reported_at"].dt.tz) in {"UTC+08:00", "+08:00"}


def test_dataframe_and_path_give_the_same(sample, grids, prepared):
    from_frame = prepare_incidents(sample.incidents, grids)
    assert from_frame.counts == prepared.counts
    assert from_frame.incidents["grid_id"].fillna("-").tolist() == prepared.incidents["grid_id"].fillna("-").tolist()


def test_gcj02_and_bd09_coordinates_land_in_the_same_grids(sample, grids, prepared):
    chinacoords = pytest.importorskip("gridkit.chinacoords")
    table = sample.incidents.copy()
    lon, lat = chinacoords.wgs84_to_gcj02(table["lon"].to_numpy(), table["lat"].to_numpy())
    shifted = table.assign(lon=lon, lat=lat)
    assert np.hypot(shifted["lon"] - table["lon"], shifted["lat"] - table["lat"]).min() > 1e-3  # ~100s of m
    gcj = prepare_incidents(shifted, grids, coords="gcj02")
    assert gcj.incidents["grid_id"].fillna("-").tolist() == prepared.incidents["grid_id"].fillna("-").tolist()
    blon, blat = chinacoords.gcj02_to_bd09(lon, lat)
    bd = prepare_incidents(table.assign(lon=blon, lat=blat), grids, coords="bd09")
    assert bd.counts == prepared.counts
    # read as if WGS 84, the shifted points fall in other grids: the option matters
    wrong = prepare_incidents(shifted, grids)
    assert (wrong.incidents["grid_id"].fillna("-").to_numpy() != prepared.incidents["grid_id"].fillna("-")
            .to_numpy()).mean() > 0.2


# --- each problem on a small table -----------------------------------------------------------------


def test_each_problem_is_named(grids, tmp_path):
    rows = [
        _row(1),
        _row(2, category="矛盾纠纷"),                      # Chinese name of a known category: kept
        _row(3, category="parking"),                       # unknown category
        _row(4, status="lost"),                            # unknown status
        _row(5, handled_at="2025-03-03T07:00:00+08:00"),  # handled before reported: out of order
        _row(6, reported_at="yesterday"),                  # bad timestamp
        _row(7, lon=""),                                   # missing coordinate
        _row(7, category="dispute"),                       # same id, other values
        _row(8, lon=100.0, lat=20.0),                      # far outside
        _row(9, status="dispatched", handled_at="", verified_at="", closed_at=""),  # open, fine
        _row(10, dispatched_at=""),                        # stage skipped
    ]
    result = prepare_incidents(_csv(rows, tmp_path), grids)
    q = result.quality.set_index("row")
    assert q.loc[2, "problem"] == "unknown_category"
    assert "parking" in q.loc[2, "detail"]
    assert q.loc[3, "problem"] == "unknown_status"
    assert q.loc[4, "problem"] == "stages_out_of_order"
    assert q.loc[4, "action"] == "kept"
    assert q.loc[5, "problem"] == "bad_timestamp"
    assert q.loc[6, "problem"] == "bad_coordinates"
    assert q.loc[7, "problem"] == "duplicate_id"
    assert q.loc[8, "problem"] == "outside_grids"
    assert q.loc[10, "problem"] == "stage_missing"
    assert 0 not in q.index
    assert 1 not in q.index
    assert 9 not in q.index
    assert result.counts == {"read": 11, "in_grids": 5, "outside": 1, "rejected": 5, "flagged": 2}
    kept = result.incidents.set_index("row")
    assert kept.loc[1, "category"] == "dispute"
    assert np.isnan(kept.loc[4, "hours_to_close"])  # durations of a disordered case are not trusted
    assert kept.loc[0, "hours_to_close"] == pytest.approx(10.0)
    assert not kept.loc[9, "closed_valid"]


def test_status_is_inferred_without_a_status_column(grids, tmp_path):
    rows = [_row(1), _row(2, closed_at="", verified_at="")]
    table = pd.DataFrame(rows).drop(columns=["status"])
    result = prepare_incidents(table, grids)
    assert result.incidents["status"].tolist() == ["closed", "handled"]
    assert result.quality.empty


def test_missing_columns_are_errors_naming_them(grids, tmp_path):
    table = pd.DataFrame([_row(1)]).drop(columns=["category"])
    with pytest.raises(InputDataError, match="'category'"):
        prepare_incidents(table, grids)
    with pytest.raises(InputDataError, match="does not exist"):
        prepare_incidents(tmp_path / "nope.csv", grids)
    with pytest.raises(GridkitError, match="coords must be one of wgs84, gcj02, bd09"):  # an option, checked once
        prepare_incidents(pd.DataFrame([_row(1)]), grids, coords="mercator")


def test_custom_categories(grids):
    table = pd.DataFrame([_row(1, category="parking"), _row(2, category="noise")])
    result = prepare_incidents(table, grids, categories={"parking": ("停车", "Parking"), "noise": "噪声"})
    assert result.counts["rejected"] == 0
    stats = grid_stats(result, grids, categories={"parking": ("停车", "Parking"), "noise": "噪声"})
    assert {"count_parking", "count_noise"} <= set(stats.columns)


@st.composite
def messy_tables(draw):
    n = draw(st.integers(1, 30))
    rows = []
    for k in range(n):
        kind = draw(st.sampled_from(["ok", "ok", "cat", "status", "dup", "far", "time", "nocoord", "order"]))
        row = _row(k, lon=104.03 + 0.02 * draw(st.floats(0, 1)), lat=30.63 + 0.015 * draw(st.floats(0, 1)))
        if kind == "cat":
            row["category"] = "x"
        elif kind == "status":
            row["status"] = ""
        elif kind == "dup" and rows:
            row = dict(rows[-1])
        elif kind == "far":
            row["lon"] = 105.5
        elif kind == "time":
            row["closed_at"] = "2025-13-45"
        elif kind == "nocoord":
            row["lat"] = "n/a"
        elif kind == "order":
            row["registered_at"] = "2025-01-01T00:00:00+08:00"
        rows.append(row)
    return rows


@given(messy_tables())
def test_counts_always_add_up(grids, rows):
    buffer = stdio.StringIO()
    pd.DataFrame(rows).to_csv(buffer, index=False)
    buffer.seek(0)
    table = pd.read_csv(buffer, dtype=str, keep_default_na=False, na_values=[""])
    result = prepare_incidents(table, grids)
    c = result.counts
    assert c["read"] == len(rows)
    assert c["in_grids"] + c["outside"] + c["rejected"] == c["read"]
    q = result.quality
    rejected_rows = set(q.loc[q.action == "rejected", "row"])
    assert len(rejected_rows) == c["rejected"] == (q.action == "rejected").sum()  # one reason per rejected row
    assert rejected_rows.isdisjoint(result.incidents["row"])
    assert set(result.incidents["row"]) | rejected_rows == set(range(len(rows)))


# --- statistics ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stats(prepared, grids):
    return grid_stats(prepared, grids)


def test_stats_one_row_per_grid_and_counts_conserved(stats, prepared, grids):
    assert sorted(stats["grid_id"]) == sorted(grids["grid_id"])
    assert stats["count"].sum() == prepared.counts["in_grids"]
    cats = [f"count_{c}" for c in DEFAULT_CATEGORIES]
    assert (stats[cats].sum(axis=1) == stats["count"]).all()
    assert (stats["open"] + stats["closed"] == stats["count"]).all()
    assert (stats["overdue_open"] <= stats["open"]).all()
    with_hh = stats["households"] > 0
    assert np.allclose(stats.loc[with_hh, "per_100_households"],
                       100 * stats.loc[with_hh, "count"] / stats.loc[with_hh, "households"])


def test_stats_of_one_grid_by_hand(stats, prepared):
    gid = stats.sort_values("count").iloc[-1]["grid_id"]
    mine = prepared.incidents[prepared.incidents["grid_id"] == gid]
    limits = load_sla(None)["time_limits_hours"]
    closed = mine[mine["closed_valid"]]
    hours = (closed["closed_at"] - closed["reported_at"]).dt.total_seconds() / 3600
    on_time = (hours <= closed["category"].map(limits)).mean()
    row = stats.set_index("grid_id").loc[gid]
    assert row["count"] == len(mine)
    assert row["median_hours_to_close"] == pytest.approx(hours.median())
    assert row["on_time_share"] == pytest.approx(on_time)
    assert row["count_fire"] == (mine["category"] == "fire").sum()


def test_stats_by_month_cover_every_grid_and_month(prepared, grids, stats):
    monthly = grid_stats(prepared, grids, period="month")
    assert len(monthly) == len(grids) * 12
    assert monthly.groupby("grid_id")["count"].sum().sort_index().tolist() == \
        stats.set_index("grid_id")["count"].sort_index().tolist()
    assert sorted(monthly["period"].unique())[0] == "2025-01"


def test_stats_by_week_use_local_time(grids):
    # 2025-03-10 01:00 +08:00 is Monday in Chengdu but still Sunday in UTC: the local week counts
    table = pd.DataFrame([_row(1, reported_at="2025-03-10T01:00:00+08:00", registered_at="", dispatched_at="",
                               handled_at="", verified_at="", closed_at="", status="reported")])
    weekly = grid_stats(prepare_incidents(table, grids), grids, period="week")
    assert weekly.loc[weekly["count"] > 0, "period"].tolist() == ["2025-03-10"]


def test_tiers_follow_fixed_thresholds(prepared, grids, tmp_path):
    sla = tmp_path / "sla.toml"
    sla.write_text('[time_limits_hours]\ndefault = 96\nfire = 12\n[tiers]\nby = "count"\norange = 120\nred = 160\n',
                   encoding="utf-8")
    table = grid_stats(prepared, grids, sla=sla)
    expect = np.where(table["count"] >= 160, "red", np.where(table["count"] >= 120, "orange", "green"))
    assert (table["tier"].to_numpy() == expect).all()
    strict = grid_stats(prepared, grids, sla=sla, thresholds={"by": "count", "orange": 0.5, "red": 1})
    assert set(strict.loc[strict["count"] > 0, "tier"]) == {"red"}
    # a shorter fire limit cannot raise the on-time share
    loose = grid_stats(prepared, grids)
    assert table["on_time"].sum() != loose["on_time"].sum()


def test_default_tiers_are_percentiles(stats):
    metric = stats["per_100_households"]
    red = metric >= metric.quantile(0.9)
    assert (stats.loc[red & (stats["count"] > 0), "tier"] == "red").all()
    assert set(stats["tier"]) <= {"green", "orange", "red", "none"}


def test_bad_sla_is_an_input_error(tmp_path):
    bad = tmp_path / "sla.toml"
    bad.write_text("[time_limits_hours]\nfire = -3\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="positive"):
        load_sla(bad)
    bad.write_text("[time_limits_hours\n", encoding="utf-8")
    with pytest.raises(InputDataError, match="TOML"):
        load_sla(bad)


def test_overdue_open_at_a_given_time(grids):
    table = pd.DataFrame([_row(1, status="dispatched", handled_at="", verified_at="", closed_at="")])
    result = prepare_incidents(table, grids)
    early = grid_stats(result, grids, as_of="2025-03-03T20:00:00+08:00")
    late = grid_stats(result, grids, as_of="2025-03-05T20:00:00+08:00")  # fire: 24 h limit
    assert early["overdue_open"].sum() == 0
    assert late["overdue_open"].sum() == 1


def test_result_unpacks_and_join_grids_alone(prepared, grids):
    incidents, quality = prepared
    assert isinstance(prepared, IncidentResult)
    assert len(quality) == len(prepared.quality)
    joined, outside = join_grids(incidents.drop(columns=["grid_id"]), grids)
    assert len(outside) == prepared.counts["outside"]
    assert isinstance(joined, gpd.GeoDataFrame)


# --- command line --------------------------------------------------------------------------------


def test_cli_incidents_writes_stats_quality_and_hotspots(sample, grids, tmp_path):
    grids_path = io.write_geojson(grids, tmp_path / "grids.geojson")
    out, issues, spots = tmp_path / "stats.csv", tmp_path / "issues.csv", tmp_path / "hs.geojson"
    run = CliRunner().invoke(app, ["incidents", "--incidents", str(sample.folder / "incidents.csv"), "--grids",
                                   str(grids_path), "--out", str(out), "--quality-out", str(issues),
                                   "--hotspots-out", str(spots), "--lang", "en"], env=ENV)
    assert run.exit_code == 0, run.output
    table = pd.read_csv(out, dtype={"grid_id": str})
    assert len(table) == len(grids)
    assert table["count"].sum() == len(sample.incidents) - 2 - 1 - 2
    assert len(pd.read_csv(issues)) == 8
    assert "gi_z" in gpd.read_file(spots).columns
    assert "in grids" in run.output
    strict = CliRunner().invoke(app, ["incidents", "--incidents", str(sample.folder / "incidents.csv"), "--grids",
                                      str(grids_path), "--out", str(out), "--strict"], env=ENV)
    assert strict.exit_code == 1
    missing = CliRunner().invoke(app, ["incidents", "--incidents", str(tmp_path / "no.csv"), "--grids",
                                       str(grids_path), "--out", str(out)], env=ENV)
    assert missing.exit_code == 3
    assert "no.csv" in "".join(missing.output.split())


def test_geojson_incidents_read_like_csv(sample, grids, prepared, tmp_path):
    table = sample.incidents
    gdf = gpd.GeoDataFrame(table.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(table["lon"], table["lat"]),
                           crs=4326)
    path = tmp_path / "incidents.geojson"
    gdf.to_file(path, driver="GeoJSON")
    result = prepare_incidents(path, grids)
    assert result.counts == prepared.counts
    assert result.quality["problem"].tolist() == prepared.quality["problem"].tolist()


def test_grids_without_households_are_tiered_by_count(prepared, grids):
    with pytest.warns(GridkitWarning, match="households"):
        table = grid_stats(prepared, grids.drop(columns=["households"]))
    assert table["per_100_households"].isna().all()
    top = table.sort_values("count").iloc[-1]
    assert top["tier"] == "red"


def test_cli_map_writes_an_offline_page(sample, grids, tmp_path):
    grids_path = io.write_geojson(grids, tmp_path / "grids.geojson")
    out = tmp_path / "map.html"
    run = CliRunner().invoke(app, ["map", "--grids", str(grids_path), "--incidents",
                                   str(sample.folder / "incidents.csv"), "--wardens",
                                   str(sample.folder / "wardens.csv"), "--offline", "--lang", "en", "--out", str(out)],
                             env=ENV)
    assert run.exit_code == 0, run.output
    html = out.read_text(encoding="utf-8")
    assert "cdn.jsdelivr" not in html
    for text in ("L.heatLayer", "Hot spots (Gi*)", "Wardens"):
        assert text in html
    assert grids["grid_id"].iloc[0] in html


def test_cli_incidents_to_geojson_by_month(sample, grids, tmp_path):
    grids_path = io.write_geojson(grids, tmp_path / "grids.geojson")
    out = tmp_path / "stats.geojson"
    run = CliRunner().invoke(app, ["incidents", "--incidents", str(sample.folder / "incidents.csv"), "--grids",
                                   str(grids_path), "--out", str(out), "--period", "month"], env=ENV)
    assert run.exit_code == 0, run.output
    layer = gpd.read_file(out)
    assert len(layer) == 12 * len(grids)
    assert {"tier", "period", "count"} <= set(layer.columns)


def test_time_limits_accept_category_names_and_name_near_misses():
    from gridkit.incidents import load_sla  # noqa: PLC0415

    limits = load_sla({"time_limits_hours": {"矛盾纠纷": 72, "Fire": 12, "noise": 10}})["time_limits_hours"]
    assert limits["dispute"] == 72
    assert limits["fire"] == 12
    assert limits["noise"] == 10, "a custom category keeps its own code"
    with pytest.raises(InputDataError, match="did you mean 'dispute'"):
        load_sla({"time_limits_hours": {"disputes": 72}})
