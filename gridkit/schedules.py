"""Patrol and visit schedules (巡查走访排班): a calendar per warden from a programme's rules.

A :class:`ScheduleRule` says, for example, "every household 4 times a year" (Zhoushan), "key units
once a quarter", "daily 9-11 and 15-17 in pairs". :func:`schedule` turns it, the staffing plan (the
walkers of each grid: :attr:`gridkit.wardens.WardenPlan.links` without police) and the buildings of
each grid into

- ``calendar``: one row per warden, working day and activity (``patrol`` in each window, with the
  partner; ``visit``: the door-to-door tour of that day; ``key_unit``), with start, end and hours;
- ``visits``: one row per building and day of a visit (building, households visited that day, warden,
  date, round, ``complete`` on the day the building's last household of the round is visited; a
  building larger than a day's time spreads over several days);
- ``workload``: per warden, hours per week of patrol, visits and key units against the hours available;
- ``grids``: per grid, the hours the rules ask for in the year, the hours its walkers have, the rounds
  completed, and ``fits`` (False, with the reason, when the schedule does not fit the staff).

Method. A visit round covers every building of the grid once, in reading order (north→south rows,
west→east), costing ``households × minutes_per_household`` plus the walk of one pass along the grid's
patrol route (its ``minutes``, shared among the buildings; the door-to-door route passes every
door). Round ``r`` of ``n`` must fall in the ``r``-th ``n``-th of the working year; each working day
a walker spends what the patrol windows leave of ``hours_per_day`` on the round (a building too
large for what is left continues the next day), walkers of a grid in turn. Key
units (buildings whose ``use`` is a key use) get ``key_unit_minutes`` each, ``key_unit_visits`` times
a year at the start of each period. Paired patrols: grids' walkers are paired across neighbouring
grids of a community by a maximum matching (networkx), a pair walking one grid in the first window and
the other in the second; an unpaired walker is paired inside their own grid when it has two walkers,
otherwise the grid is reported as not fitting (no partner).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from gridkit.codes import reading_order
from gridkit.crs import local_metric_crs
from gridkit.errors import InputDataError
from gridkit.wardens import WardenPlan, neighbour_pairs

__all__ = ["ScheduleResult", "ScheduleRule", "schedule"]


@dataclass(frozen=True)
class ScheduleRule:
    """What the schedule must hold (defaults: Zhoushan's visits, GUIDE-style patrol windows).

    Attributes
    ----------
    year
        Calendar year scheduled.
    visits_per_household
        Door-to-door visits to every household per year (Zhoushan: at least 4).
    minutes_per_household
        Minutes a visit takes per household (a gridkit assumption, 10).
    key_unit_visits, key_unit_minutes, key_uses
        Visits per year to each key unit (4: once a quarter), minutes each, and the building uses
        that make a key unit.
    patrol_windows
        Daily patrol windows, ``"HH:MM-HH:MM"``.
    in_pairs
        Patrols walk in pairs.
    hours_per_day, workdays, holidays
        Working hours per day, working weekdays (0 = Monday) and days off (ISO dates).
    """

    year: int = 2025
    visits_per_household: int = 4
    minutes_per_household: float = 10.0
    key_unit_visits: int = 4
    key_unit_minutes: float = 30.0
    key_uses: tuple[str, ...] = ("school", "commercial", "public", "office")
    patrol_windows: tuple[str, ...] = ("09:00-11:00", "15:00-17:00")
    in_pairs: bool = True
    hours_per_day: float = 8.0
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    holidays: tuple[str, ...] = ()

    def windows(self) -> list[tuple[dt.time, dt.time, float]]:
        """The patrol windows as (start, end, hours)."""
        out = []
        for text in self.patrol_windows:
            try:
                a, b = (dt.time.fromisoformat(t.strip()) for t in str(text).split("-"))
            except ValueError as exc:
                raise InputDataError(f"patrol window {text!r} is not HH:MM-HH:MM", column="patrol_windows") from exc
            hours = (b.hour * 60 + b.minute - a.hour * 60 - a.minute) / 60
            if hours <= 0:
                raise InputDataError(f"patrol window {text!r} ends before it starts", column="patrol_windows")
            out.append((a, b, hours))
        return out

    def days(self) -> np.ndarray:
        """The working days of the year (``datetime64[D]``)."""
        days = np.arange(f"{self.year}-01-01", f"{self.year + 1}-01-01", dtype="datetime64[D]")
        weekday = (days.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 was a Thursday
        keep = np.isin(weekday, self.workdays) & ~np.isin(days, np.array(self.holidays, dtype="datetime64[D]"))
        return days[keep]


@dataclass
class ScheduleResult:
    """Calendar, building visits, workload per warden and fit per grid (see the module docstring)."""

    calendar: pd.DataFrame
    visits: pd.DataFrame
    workload: pd.DataFrame
    grids: pd.DataFrame
    summary: dict[str, object] = field(default_factory=dict)


def _walkers(plan: WardenPlan) -> dict[str, list[str]]:
    links = plan.links[plan.links["role"] != "police"]
    return {str(g): list(dict.fromkeys(part["warden_id"].astype(str))) for g, part in links.groupby("grid_id")}


def _pairs(grids: gpd.GeoDataFrame, walkers: dict[str, list[str]]) -> dict[str, tuple[str, str | None]]:
    """Per grid: (walker, partner) for the paired patrol, and which grid the pair walks second."""
    gid = grids["grid_id"].astype(str).to_numpy()
    cid = grids["community_id"].astype(str).to_numpy() if "community_id" in grids.columns else np.full(len(gid), "")
    single = {g for g in gid if len(walkers.get(g, [])) == 1}
    graph = nx.Graph()
    for i, j in neighbour_pairs(grids).tolist():
        if cid[i] == cid[j] and gid[i] in single and gid[j] in single:
            graph.add_edge(gid[i], gid[j])
    matched = nx.max_weight_matching(graph, maxcardinality=True)
    partner: dict[str, tuple[str, str | None]] = {}
    for a, b in matched:
        partner[a] = (walkers[a][0], walkers[b][0])
        partner[b] = (walkers[b][0], walkers[a][0])
    for g in gid:
        people = walkers.get(g, [])
        if g not in partner and people:
            partner[g] = (people[0], people[1] if len(people) > 1 else None)
    return partner


def _buildings(grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, assignment: pd.DataFrame) -> pd.DataFrame:
    crs = local_metric_crs(grids)
    where = assignment[["building_id", "grid_id"]].dropna()
    frame = buildings[["building_id", "households", *(["use"] if "use" in buildings.columns else [])]].copy()
    frame["point"] = shapely.point_on_surface(buildings.to_crs(crs).geometry.to_numpy())
    frame = frame.merge(where, on="building_id", how="inner")
    order = reading_order(frame["point"].to_numpy(), 60.0)
    return frame.iloc[order].drop(columns=["point"]).reset_index(drop=True)


def schedule(grids: gpd.GeoDataFrame, plan: WardenPlan, buildings: gpd.GeoDataFrame, assignment: pd.DataFrame, *,
             rule: ScheduleRule | None = None, routes: pd.DataFrame | None = None) -> ScheduleResult:
    """Build the year's patrol and visit calendar of every grid's walkers (see the module docstring).

    Parameters
    ----------
    grids
        Grids (``grid_id``, ``community_id``), any CRS.
    plan
        The staffing plan; its ``links`` (without police) name each grid's walkers.
    buildings, assignment
        Buildings (``building_id``, ``households``, ``use``) and ``building_id → grid_id``.
    rule
        The schedule rule (defaults :class:`ScheduleRule`).
    routes
        Patrol routes with ``grid_id`` and ``minutes`` (one pass); without them the walk is 0.

    Returns
    -------
    ScheduleResult

    Examples
    --------
    >>> result = schedule(grids, plan, buildings, assignment, rule=ScheduleRule())  # doctest: +SKIP
    >>> result.grids[~result.grids["fits"]]  # doctest: +SKIP
    """
    rule = rule or ScheduleRule()
    windows = rule.windows()
    days = rule.days()
    patrol_h = sum(h for *_, h in windows)
    visit_h_day = rule.hours_per_day - patrol_h
    if visit_h_day <= 0:
        raise InputDataError(f"patrol windows take {patrol_h:g} h of a {rule.hours_per_day:g} h day: no time left "
                             "for visits", column="patrol_windows")
    scheduled = set(grids["grid_id"].astype(str))
    walkers = {g: ps for g, ps in _walkers(plan).items() if g in scheduled}
    pairs = _pairs(grids, walkers) if rule.in_pairs else {}
    walk_min = routes.groupby(routes["grid_id"].astype(str))["minutes"].sum() \
        if routes is not None and len(routes) else pd.Series(dtype=float)
    homes = _buildings(grids, buildings, assignment)
    calendar: list[tuple] = []
    visits: list[tuple] = []
    fit_rows = []
    for g in grids["grid_id"].astype(str):
        people = walkers.get(g, [])
        mine = homes[homes["grid_id"].astype(str) == g]
        fit_rows.append(_grid_year(g, people, mine, rule, days, visit_h_day, float(walk_min.get(g, 0.0)),
                                   calendar, visits))
    _patrols(pairs, walkers, windows, days, rule.in_pairs, calendar, fit_rows)
    cal = pd.DataFrame(calendar, columns=["warden_id", "date", "grid_id", "activity", "start", "end", "hours",
                                          "partner_id", "buildings", "households"])
    cal = cal.sort_values(["warden_id", "date", "start"], ignore_index=True)
    vis = pd.DataFrame(visits, columns=["building_id", "grid_id", "households", "warden_id", "date", "round",
                                        "complete"])
    fits = pd.DataFrame(fit_rows)
    weeks = len(days) / max(len(rule.workdays), 1)
    work = cal.pivot_table(index="warden_id", columns="activity", values="hours", aggfunc="sum", fill_value=0.0)
    work = work.reindex(columns=["patrol", "visit", "key_unit"], fill_value=0.0) / weeks
    work.columns = [f"{c}_h_per_week" for c in work.columns]
    work["hours_per_week"] = work.sum(axis=1)
    work["available_h_per_week"] = rule.hours_per_day * len(rule.workdays)
    work["utilisation"] = work["hours_per_week"] / work["available_h_per_week"]
    summary = {"working_days": len(days), "grids": len(fits), "grids_fitting": int(fits["fits"].sum()),
               "households_visited_min_times": int(_min_times(vis, homes)),
               "hours_per_week_max": float(work["hours_per_week"].max()) if len(work) else 0.0}
    return ScheduleResult(calendar=cal, visits=vis, workload=work.reset_index(), grids=fits, summary=summary)


def _min_times(visits: pd.DataFrame, homes: pd.DataFrame) -> int:
    """The fewest visits any household-holding building got in the year (0 when one got none)."""
    with_homes = homes.loc[homes["households"] > 0, "building_id"]
    if with_homes.empty:
        return 0
    counts = visits[visits["complete"]].groupby("building_id").size().reindex(with_homes).fillna(0)
    return int(counts.min())


def _grid_year(g: str, people: Sequence[str], homes: pd.DataFrame, rule: ScheduleRule, days: np.ndarray,
               visit_h_day: float, walk_min: float, calendar: list, visits: list) -> dict[str, object]:
    """Schedule one grid's visit rounds and key units over the year; return its fit row."""
    households = homes["households"].to_numpy(float)
    is_key = homes["use"].isin(rule.key_uses).to_numpy() if "use" in homes.columns else np.zeros(len(homes), bool)
    visit_cost = households * rule.minutes_per_household / 60.0
    walk_share = walk_min / 60.0 / max(len(homes), 1)
    cost = np.where(households > 0, visit_cost + walk_share, 0.0)
    need_h = rule.visits_per_household * float(cost.sum()) + rule.key_unit_visits * is_key.sum() * \
        rule.key_unit_minutes / 60.0
    have_h = len(people) * visit_h_day * len(days)
    row: dict[str, object] = {"grid_id": g, "walkers": len(people), "households": int(households.sum()),
                              "key_units": int(is_key.sum()), "hours_needed": round(need_h, 1),
                              "hours_available": round(have_h, 1), "rounds_needed": rule.visits_per_household,
                              "rounds_done": 0, "fits": False, "reason": ""}
    if not people:
        row["reason"] = "no walker"
        return row
    bounds = np.linspace(0, len(days), rule.visits_per_household + 1).round().astype(int)
    used = np.zeros((len(people), len(days)))
    _key_units(g, people[0], int(is_key.sum()), rule, days, used, calendar)
    done = 0
    targets = np.flatnonzero(households > 0)
    per_household = rule.minutes_per_household / 60.0
    ids = homes["building_id"].to_numpy()
    for r in range(rule.visits_per_household):
        queue = list(targets)
        remaining = households.copy()  # households of each building still to visit this round
        for day in range(bounds[r], bounds[r + 1]):
            for w, person in enumerate(people):
                left = visit_h_day - used[w, day]
                hours, n_buildings, n_households = 0.0, 0, 0
                while queue and left - hours > 1e-9:
                    b = queue[0]
                    walk = walk_share if remaining[b] == households[b] else 0.0  # the walk once per building
                    room = int((left - hours - walk + 1e-9) // per_household) if per_household > 0 else remaining[b]
                    take = int(min(remaining[b], max(room, 0)))
                    if take == 0:
                        break
                    remaining[b] -= take
                    hours += walk + take * per_household
                    n_households += take
                    complete = remaining[b] == 0
                    visits.append((ids[b], g, take, person, str(days[day]), r + 1, bool(complete)))
                    if complete:
                        queue.pop(0)
                        n_buildings += 1
                if hours > 0:
                    used[w, day] += hours
                    calendar.append((person, str(days[day]), g, "visit", None, None, round(hours, 3), None,
                                     n_buildings, n_households))
            if not queue:
                break
        done += not queue
    row["rounds_done"] = done
    row["fits"] = done == rule.visits_per_household
    if not row["fits"]:
        row["reason"] = f"{done} of {rule.visits_per_household} visit rounds fit the walkers' time"
    return row


def _key_units(g: str, person: str, n_key: int, rule: ScheduleRule, days: np.ndarray, used: np.ndarray,
               calendar: list) -> None:
    """Key units on the first working day of each period, by the grid's first walker."""
    if not n_key:
        return
    hours = n_key * rule.key_unit_minutes / 60.0
    for day in np.linspace(0, len(days), rule.key_unit_visits + 1).round().astype(int)[:-1]:
        calendar.append((person, str(days[day]), g, "key_unit", None, None, hours, None, n_key, 0))
        used[0, day] += hours


def _patrols(pairs: dict[str, tuple[str, str | None]], walkers: dict[str, list[str]],
             windows: list[tuple[dt.time, dt.time, float]], days: np.ndarray, in_pairs: bool, calendar: list,
             fit_rows: list[dict[str, object]]) -> None:
    """Patrol rows: every walker, every working day, every window (with the partner when in pairs)."""
    fit = {row["grid_id"]: row for row in fit_rows}
    home = {p: g for g, ps in walkers.items() for p in ps}
    for g, people in walkers.items():
        partner = pairs.get(g, (people[0], None))[1] if in_pairs else None
        if in_pairs and partner is None and g in fit:
            fit[g]["fits"] = False
            fit[g]["reason"] = "; ".join(filter(None, [str(fit[g]["reason"]), "no partner for paired patrols"]))
        for person in people:
            for day in days:
                for k, (start, end, hours) in enumerate(windows):
                    # a cross-grid pair walks this grid in the first window, the partner's in the second
                    mate = partner if person == people[0] else people[0]
                    here = g
                    if in_pairs and partner is not None and partner not in people and k % 2 == 1:
                        here = home.get(partner, g)
                    calendar.append((person, str(day), here, "patrol", start.isoformat("minutes"),
                                     end.isoformat("minutes"), hours, mate if in_pairs else None, 0, 0))
