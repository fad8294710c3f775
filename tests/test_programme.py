"""Unit cells, KPIs and rankings, schedules (issue 16), each checked on values a planner would check."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import shapely

from gridkit.cells import cell_counts, unit_cells
from gridkit.crs import local_metric_crs
from gridkit.errors import InputDataError
from gridkit.incidents import prepare_incidents
from gridkit.kpis import case_flags, kpi_table, programme_kpis, rankings, read_events, tier_history
from gridkit.samples import sample_dir
from gridkit.schedules import ScheduleRule, schedule
from gridkit.wardens import assign_wardens


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def few_grids(sample_result):
    """Six grids of the old quarter (C01) and one of the village (C05) with their buildings."""
    grids = sample_result.grids
    pick = pd.concat([grids[grids["community_id"] == "C01"].head(6), grids[grids["community_id"] == "C05"].head(1)])
    return pick.reset_index(drop=True)


def test_unit_cells_nest_exactly_and_extend_the_grid_code(sample, sample_result, few_grids):
    where = sample_result.assignment
    buildings = sample.buildings[sample.buildings["building_id"].isin(
        where.loc[where["grid_id"].isin(few_grids["grid_id"]), "building_id"])]
    cells, cell_of = quiet(unit_cells, few_grids, buildings, sample.streets)
    crs = local_metric_crs(few_grids)
    grid_geom = few_grids.to_crs(crs).set_index("grid_id").geometry
    for gid, part in cells.to_crs(crs).groupby("grid_id"):
        union = shapely.union_all(part.geometry.to_numpy())
        area = grid_geom[gid].area
        assert abs(union.area - area) / area < 1e-6                      # no gap
        assert (part.area.sum() - union.area) / area < 1e-6             # no overlap
        assert shapely.difference(union, grid_geom[gid]).area / area < 1e-6  # nothing outside its grid
    assert (cells["cell_id"].str[:15] == cells["grid_id"]).all()
    assert cells["cell_id"].str.fullmatch(r"\d{18}").all()
    assert cells["cell_id"].is_unique
    # households conserved from grids to cells, and every building in the cell of its own grid
    assert cells.groupby("grid_id")["households"].sum().to_dict() == few_grids.set_index("grid_id")[
        "households"].to_dict()
    joined = cell_of.merge(where[["building_id", "grid_id"]], on="building_id", suffixes=("", "_grid"))
    assert (joined["grid_id"] == joined["grid_id_grid"]).all()
    normal = cells[~cells["oversize"].astype(bool)]
    assert normal["area_m2"].median() == pytest.approx(10_000, rel=0.35)
    assert cell_counts(cells).sum() == len(cells)


def _cases():
    times = pd.to_datetime(["2025-01-05 08:00", "2025-01-10 08:00", "2025-01-20 08:00", "2025-02-02 08:00"]) \
        .tz_localize("Asia/Shanghai")
    return pd.DataFrame({
        "incident_id": ["a", "b", "c", "d"], "grid_id": ["g1", "g1", "g2", "g2"],
        "category": ["fire", "fire", "dispute", "dispute"], "reported_at": times,
        "closed_at": [times[0] + pd.Timedelta(hours=10), times[1] + pd.Timedelta(hours=30),
                      times[2] + pd.Timedelta(hours=50), pd.NaT],
        "closed_valid": [True, True, True, False], "hours_to_close": [10.0, 30.0, 50.0, np.nan]})


def test_case_flags_and_kpis_by_hand():
    events = read_events(pd.DataFrame({"incident_id": ["a", "c", "c"], "event": ["reopened", "rated", "rated"],
                                       "at": ["2025-01-07T00:00:00+08:00", "2025-01-23T00:00:00+08:00",
                                              "2025-01-24T00:00:00+08:00"], "value": ["", "4", "2"]}))
    flags = case_flags(_cases(), events=events, as_of="2025-03-01T00:00:00+08:00")
    # fire limit 24 h: a on time, b late (a warning); dispute 120 h: c on time; d open 27 days: warned
    assert flags["on_time"].tolist() == [True, False, True, False]
    assert flags["warned"].tolist() == [False, True, False, True]
    assert flags["reworked"].tolist() == [True, False, False, False]
    assert flags["rating"].iloc[2] == 3.0
    grids = pd.DataFrame({"grid_id": ["g1", "g2"], "community_id": ["X", "X"]})
    kpis = kpi_table(flags, grids).set_index(["unit", "month"])
    g1 = kpis.loc[("g1", "2025-01")]
    assert (g1["registered"], g1["closure_rate"], g1["timeliness"], g1["warning_rate"], g1["rework_rate"]) == \
        (2, 1.0, 0.5, 0.5, 0.5)
    assert np.isnan(g1["rating"])
    # score without a rating: weights rescaled over the four known KPIs
    assert g1["score"] == pytest.approx(100 * (0.25 * 1 + 0.25 * 0.5 + 0.15 * 0.5 + 0.15 * 0.5) / 0.8, abs=0.01)
    ranked = rankings(kpi_table(flags, grids, level="community"))
    assert ranked["rank"].tolist() == [1.0, 1.0]
    with pytest.raises(InputDataError, match="rating"):
        read_events(pd.DataFrame({"incident_id": ["a"], "event": ["rated"], "at": ["2025-01-01"], "value": ["9"]}))
    with pytest.raises(InputDataError, match="unknown event"):
        read_events(pd.DataFrame({"incident_id": ["a"], "event": ["closed"], "at": ["2025-01-01"]}))


def test_tier_history_calls_red_to_orange_improving(sample_result):
    grids = sample_result.grids.head(4)[["grid_id", "community_id", "households", "geometry"]].copy()
    grids["households"] = 100
    month = {"2025-01": [6, 3, 0, 1], "2025-02": [3, 6, 0, 1]}  # grid 0 falls from red to orange, grid 1 rises
    rows = []
    for m, counts in month.items():
        for g, n in enumerate(counts):
            rows += [{"incident_id": f"{m}-{g}-{k}", "grid_id": grids["grid_id"].iloc[g], "category": "other",
                      "reported_at": pd.Timestamp(f"{m}-10 09:00", tz="Asia/Shanghai"), "closed_valid": True,
                      "hours_to_close": 5.0} for k in range(n)]
    data = pd.DataFrame(rows)
    history = tier_history(data, grids, tiers={"orange": 3, "red": 5})
    g0 = history[history["grid_id"] == grids["grid_id"].iloc[0]]
    assert g0["tier"].tolist() == ["red", "orange"]
    assert g0["trend"].tolist() == ["first", "improving"]
    g1 = history[history["grid_id"] == grids["grid_id"].iloc[1]]
    assert g1["trend"].tolist() == ["first", "worsening"]
    # key persons raise the risk: 3 key persons per 100 households at weight 1 make grid 3 orange
    keyed = tier_history(data, grids, tiers={"orange": 3, "red": 5}, key_persons={grids["grid_id"].iloc[3]: 3},
                         key_person_weight=1.0)
    assert keyed[keyed["grid_id"] == grids["grid_id"].iloc[3]]["tier"].tolist() == ["orange", "orange"]


def test_programme_kpis_on_the_sample_rank_within_groups(sample, sample_result):
    prepared = quiet(prepare_incidents, sample_dir() / "incidents.csv", sample_result.grids)
    events = read_events(sample_dir() / "incident_events.csv")
    groups = {"old_quarter": "built-up", "high_rise": "built-up", "mixed": "built-up", "work_unit": "fringe",
              "village": "north"}
    result = programme_kpis(prepared, sample_result.grids, communities=sample.communities, events=events,
                            groups=groups, group_by="kind")
    december = result.rankings[(result.rankings["level"] == "community") & (result.rankings["month"] == "2025-12")]
    assert sorted(december.groupby("group")["of"].first().to_dict().items()) == [("built-up", 3), ("fringe", 1),
                                                                                ("north", 1)]
    assert set(december.loc[december["group"] == "built-up", "rank"]) <= {1.0, 2.0, 3.0}
    cases = result.cases
    assert 0.02 < cases["reworked"].sum() / cases["closed"].sum() < 0.06  # 3-6 % reopened in the sample
    assert cases["rating"].between(1, 5).all() or cases["rating"].isna().any()
    assert set(result.latest.columns) >= {"grid_id", "tier", "trend", "score", "rank"}
    assert len(result.latest) == len(sample_result.grids)


def test_schedule_visits_every_household_and_names_grids_that_do_not_fit(sample, sample_result, few_grids):
    plan = quiet(assign_wardens, sample_result.grids, sample.wardens, rule="one_per_grid")
    where = sample_result.assignment
    rule = ScheduleRule(visits_per_household=4, patrol_windows=("09:00-11:00", "15:00-17:00"), in_pairs=True)
    result = schedule(few_grids, plan, sample.buildings, where, rule=rule)
    visits = result.visits
    homes = where.merge(sample.buildings[["building_id", "households"]], on="building_id")
    homes = homes[homes["grid_id"].isin(few_grids["grid_id"]) & (homes["households"] > 0)]
    times = visits[visits["complete"]].groupby("building_id").size().reindex(homes["building_id"]).fillna(0)
    # every household of a building in every round: households visited add up per building and round
    per_round = visits.groupby(["building_id", "round"])["households"].sum()
    size = homes.set_index("building_id")["households"]
    assert (per_round.to_numpy() == size.reindex(per_round.index.get_level_values(0)).to_numpy()).all()
    staffed = set(plan.links["grid_id"]) & set(few_grids["grid_id"])
    assert staffed
    mine = homes["grid_id"].isin(staffed).to_numpy()
    assert (times.to_numpy()[mine] >= 4).all()
    # each round falls in its quarter of the working year, and no walker works more than the day allows
    days = rule.days()
    quarter = np.searchsorted(np.linspace(0, len(days), 5).round()[1:-1], np.searchsorted(days, visits["date"]
                              .to_numpy().astype("datetime64[D]")), side="right") + 1
    assert (quarter == visits["round"].to_numpy()).all()
    per_day = result.calendar.groupby(["warden_id", "date"])["hours"].sum()
    assert per_day.max() <= rule.hours_per_day + 1e-9
    patrols = result.calendar[result.calendar["activity"] == "patrol"]
    assert set(patrols["start"]) == {"09:00", "15:00"}
    alone = set(patrols.loc[patrols["partner_id"].isna(), "grid_id"])
    assert alone == {few_grids["grid_id"].iloc[-1]}  # the village grid has no neighbour among these: no partner
    reason = result.grids.set_index("grid_id")["reason"]
    assert all("no partner" in reason[g] for g in alone)
    assert result.workload["patrol_h_per_week"].to_numpy() == pytest.approx(np.full(len(result.workload), 20.0))
    # four visits a year of an hour per household do not fit a day of 4 free hours
    heavy = schedule(few_grids, plan, sample.buildings, where, rule=ScheduleRule(minutes_per_household=120,
                                                                                    in_pairs=False))
    assert not heavy.grids["fits"].all()
    assert heavy.grids.loc[~heavy.grids["fits"], "reason"].str.contains("visit rounds").all()
    with pytest.raises(InputDataError, match="no time left"):
        schedule(few_grids, plan, sample.buildings, where, rule=ScheduleRule(hours_per_day=4))
