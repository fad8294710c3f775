"""Staffing rules as data (gridkit.staffing) and their exact assignment (gridkit.staffing_plan)."""

from __future__ import annotations

import itertools
import warnings
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridkit.errors import GridkitError, InputDataError
from gridkit.samples import sample_dir
from gridkit.staffing import (
    BUILTIN_RULES,
    RoleRule,
    StaffingRule,
    parse_staffing_rule,
    required_seats,
    rule_from_mapping,
)
from gridkit.staffing_plan import assign_by_rule, read_staff
from gridkit.wardens import assign_wardens

CRS = "EPSG:32648"


def square_grids(n_x: int, n_y: int, size: float = 100.0, community: str = "C1") -> gpd.GeoDataFrame:
    cells = [shapely.box(400000 + i * size, 3380000 + j * size, 400000 + (i + 1) * size, 3380000 + (j + 1) * size)
             for j in range(n_y) for i in range(n_x)]
    return gpd.GeoDataFrame({"grid_id": [f"G{k}" for k in range(len(cells))], "community_id": community,
                             "households": np.arange(len(cells)) * 10 + 100}, geometry=cells, crs=CRS)


def people(rows: list[tuple[str, str, int, float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"warden_id": [r[0] for r in rows], "role": [r[1] for r in rows],
                             "capacity": [r[2] for r in rows], "community_id": "C1"},
                            geometry=[shapely.Point(400000 + r[3], 3380000 + r[4]) for r in rows], crs=CRS)


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        return fn(*args, **kwargs), [str(w.message) for w in caught]


def test_classic_rules_are_data_and_keep_their_names():
    assert parse_staffing_rule("one_per_grid").legacy == "one_per_grid"
    assert parse_staffing_rule("一格一员").legacy == "one_per_grid"
    rule = parse_staffing_rule("per_households:250")
    assert (rule.legacy, rule.per_households) == ("per_households", 250.0)
    team = parse_staffing_rule("1+1+2")
    assert team.legacy == "1+1+2"
    assert team.role("police").shared == 2
    assert {r.per for r in team.roles} == {"grid", "community"}
    for name in ("zhoushan_team", "dongcheng_supervisor", "siming_tiers", "yichang_manager", "shibei_1+1+2"):
        assert name in BUILTIN_RULES
        assert parse_staffing_rule(name).legacy is None
    with pytest.raises(GridkitError, match="unknown staffing rule"):
        parse_staffing_rule("two_per_grid")


def test_rule_from_a_configuration_table_is_checked():
    rule = rule_from_mapping({"rule": "mine", "roles": {
        "worker": {"roster_roles": ["专职网格员"], "patrols": True},
        "police": {"roster_roles": ["police"], "shared": 2, "reports_to": "worker"}}})
    assert rule.role("worker").roster_roles == ("full_time",)
    assert rule.role("police").reports_to == "worker"
    with pytest.raises(InputDataError, match="unknown key"):
        rule_from_mapping({"roles": {"worker": {"roster_role": ["full_time"]}}})
    with pytest.raises(InputDataError, match="per = 'street'"):
        rule_from_mapping({"roles": {"worker": {"roster_roles": "full_time", "per": "street"}}})
    with pytest.raises(InputDataError, match="needs n"):
        rule_from_mapping({"roles": {"worker": {"roster_roles": ["full_time"], "per": "households"}}})
    with pytest.raises(InputDataError, match="reports_to = 'boss'"):
        rule_from_mapping({"roles": {"worker": {"roster_roles": ["full_time"], "reports_to": "boss"}}})
    with pytest.raises(InputDataError, match="roster role 'wizard'"):
        rule_from_mapping({"roles": {"worker": {"roster_roles": ["wizard"]}}})


def test_required_seats_per_grid_households_cells_and_community():
    grids = pd.DataFrame({"grid_id": ["a", "b", "c"], "community_id": ["X", "X", "Y"], "households": [250, 301, 600]})
    rule = StaffingRule("r", (RoleRule("w", ("full_time",), per="households", n=300),
                              RoleRule("s", ("supervisor",), per="cells", n=12),
                              RoleRule("t", ("volunteer",), per="community", count=2, max_count=5),
                              RoleRule("m", ("mediator",), count=1, max_count=2)))
    seats = required_seats(grids, rule, cells_per_grid={"a": 5, "b": 8, "c": 12})
    w = seats[seats["role"] == "w"].set_index("unit")["minimum"]
    assert w.to_dict() == {"a": 1, "b": 2, "c": 2}
    s = seats[seats["role"] == "s"].set_index("unit")["minimum"]
    assert s.to_dict() == {"X": 2, "Y": 1}  # ceil(13 / 12), ceil(12 / 12)
    t = seats[seats["role"] == "t"]
    assert t[["minimum", "maximum"]].drop_duplicates().to_numpy().tolist() == [[2, 5]]
    m = seats[seats["role"] == "m"]
    assert set(m["maximum"]) == {2}
    with pytest.raises(GridkitError, match="unit cells"):
        required_seats(grids, rule)


def test_generic_engine_reproduces_the_classic_solvers_on_the_sample(sample, sample_result):
    grids = sample_result.grids
    classic = replace(parse_staffing_rule("one_per_grid"), legacy=None)
    generic, _ = quiet(assign_by_rule, grids, sample.wardens, classic)
    legacy, _ = quiet(assign_wardens, grids, sample.wardens, rule="one_per_grid")
    assert generic.optimal
    assert generic.summary["grids_staffed"] == legacy.summary["grids_staffed"]
    assert generic.objective == pytest.approx(legacy.objective, rel=1e-9)  # linear_sum_assignment's optimum
    shibei, _ = quiet(assign_by_rule, grids, sample.wardens, "shibei_1+1+2")
    team, _ = quiet(assign_wardens, grids, sample.wardens, rule="1+1+2")
    police = [p.links.loc[p.links["role"] == "police"] for p in (shibei, team)]
    assert len(police[0]) == len(police[1])  # grids covered by an officer
    assert police[0]["distance_m"].sum() == pytest.approx(police[1]["distance_m"].sum(), rel=1e-9)
    # every officer covers a connected pair or a single grid of one community, never more than two
    assert shibei.links[shibei.links["role"] == "police"].groupby("warden_id").size().max() <= 2


def test_assign_wardens_hands_programme_rules_to_the_engine(sample, sample_result):
    plan, _ = quiet(assign_wardens, sample_result.grids, [sample_dir() / "wardens.csv",
                                                                  sample_dir() / "staff.csv"], rule="siming_tiers")
    assert plan.method.startswith("rule milp")
    team = plan.team
    heads = team[team["rule_role"] == "grid_head"]
    workers = team[team["rule_role"] == "grid_worker"]
    assistants = team[team["rule_role"] == "assistant"]
    assert set(heads["role"]) == {"community_cadre"}
    # every worker reports to a head whose grids include the worker's grid; every assistant to a worker
    head_grids = {w: set(g.split(";")) for w, g in zip(heads["warden_id"], heads["grids"], strict=True)}
    for row in workers[workers["reports_to_id"] != ""].itertuples():
        assert row.grids in head_grids[row.reports_to_id.split(";")[0]]
    worker_grid = dict(zip(workers["warden_id"], workers["grids"], strict=True))
    for row in assistants[assistants["reports_to_id"] != ""].itertuples():
        assert worker_grid[row.reports_to_id.split(";")[0]] == row.grids
    assert (team.loc[team["role"] == "community_cadre", "duties"] == "safety_officer").all()
    assert heads.groupby("warden_id")["grids"].first().str.count(";").max() <= 2  # ≤ 3 grids each


def _brute_force(grids, roster, rule):
    """Lexicographic optimum by enumeration: fewest empty minimum seats, most seats, least distance."""
    spec = rule.roles[0]
    xy = np.array([[p.x, p.y] for p in roster.geometry])
    centres = shapely.get_coordinates(grids.geometry.representative_point().to_numpy())
    dist = np.hypot(*(xy[:, None, :] - centres[None, :, :]).transpose(2, 0, 1))
    options = [None, *range(len(grids))]
    best = None
    for choice in itertools.product(options, repeat=len(roster)):
        filled = np.zeros(len(grids))
        for g in choice:
            if g is not None:
                filled[g] += 1
        if (filled > spec.upper).any():
            continue
        key = (np.maximum(spec.count - filled, 0).sum(), -filled.sum(),
               sum(dist[p, g] for p, g in enumerate(choice) if g is not None))
        best = key if best is None or key < best else best
    return best


def test_exact_against_enumeration_with_ranges_and_a_short_roster():
    grids = square_grids(3, 1)
    roster = people([("A", "mediator", 1, 20, 50), ("B", "mediator", 1, 50, 60), ("C", "volunteer", 1, 280, 40),
                     ("D", "mediator", 1, 150, 10)])
    rule = StaffingRule("r", (RoleRule("mediator", ("mediator", "volunteer"), count=1, max_count=2),))
    plan, _ = quiet(assign_by_rule, grids, roster, rule)
    short, most, walk = _brute_force(grids, roster, rule)
    assert plan.shortage["shortage"].sum() == short == 0
    assert plan.shortage["seats_filled"].sum() == -most == 4
    assert plan.objective == pytest.approx(walk)


def test_shared_post_covers_neighbouring_pairs_and_reports_the_shortage():
    grids = square_grids(4, 1)
    roster = people([("W1", "full_time", 1, 50, 50), ("P1", "police", 2, 100, 50)])
    rule = StaffingRule("r", (RoleRule("worker", ("full_time",), patrols=True),
                              RoleRule("police", ("police",), shared=2)))
    plan, messages = quiet(assign_by_rule, grids, roster, rule)
    police = plan.links[plan.links["role"] == "police"]["grid_id"].tolist()
    assert sorted(police) in (["G0", "G1"], ["G1", "G2"])  # a connected pair next to the officer
    short = plan.shortage.set_index("role")
    assert short.loc["worker", "shortage"] == 3
    assert short.loc["police", "shortage"] == 1  # two grids without an officer: one more officer of two grids
    assert any("roster too small" in m for m in messages)
    assert len(plan.unstaffed) == 3


def test_read_staff_names_row_and_role():
    frame = pd.DataFrame({"warden_id": ["a", "b"], "role": ["medic", "astronaut"], "lon": [104.04, 104.04],
                          "lat": [30.64, 30.64]})
    with pytest.raises(InputDataError, match="unknown role 'astronaut'") as info:
        read_staff(frame)
    assert info.value.row == 1
    frame["role"] = ["医生", "教师"]
    frame["capacity"] = [1, 0]
    with pytest.raises(InputDataError, match="capacity"):
        read_staff(frame)
    staff = read_staff(sample_dir() / "staff.csv")
    assert set(staff["role"]) >= {"community_cadre", "township_official", "medic", "teacher", "supervisor",
                                  "mediator", "assistant"}
    with pytest.raises(InputDataError, match="two rosters"):
        read_staff([sample_dir() / "staff.csv", sample_dir() / "staff.csv"])
