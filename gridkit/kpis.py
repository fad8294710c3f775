"""Programme KPIs, monthly rankings and tier history (考核指标、排名与分级变化).

Per case, from :func:`gridkit.incidents.prepare_incidents`' frame and an optional event log
(``incident_events.csv``: ``incident_id``, ``event``, ``at``, ``value``):

- **closed**: closed after on-site verification (``closed_valid``);
- **on time** (timeliness, 及时率): closed within its category's time limit;
- **warned** (warning, 预警): past its time limit: closed late, or still open and older than the limit
  at the snapshot (an ``event = "warned"`` in the log counts as well);
- **reworked** (返工): a closed case with a ``reopened`` event after its closure;
- **rating** (群众满意度): the mean ``rated`` value (1-5) where the log carries one.

Per unit (grid, community or street) and month: ``registered``, ``closure_rate`` (closed /
registered), ``timeliness`` (on time / closed), ``warning_rate`` (warned / registered),
``rework_rate`` (reworked / closed), ``rating`` (mean over rated cases), and ``score``: 100 × the
weighted mean of closure, timeliness, 1 − warning rate, 1 − rework rate and (rating − 1) / 4, with
:data:`SCORE_WEIGHTS` (a gridkit choice: the programmes publish rankings, not their weights; weights
of a KPI the data lack are left out and the others rescaled). :func:`rankings` ranks units per month
within their group (Haidian groups streets as built-up, fringe and north). :func:`tier_history`
follows each grid's green/orange/red tier month by month and calls a fall from red to orange
*improving*.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridkit.errors import InputDataError
from gridkit.incidents import IncidentResult, assign_tiers, grid_stats, load_sla, period_labels
from gridkit.io import source_name

__all__ = ["SCORE_WEIGHTS", "TIER_ORDER", "KpiResult", "case_flags", "kpi_table", "programme_kpis", "rankings",
           "read_events", "tier_history"]

#: Weights of the composite score (a gridkit choice; a preset may set its own).
SCORE_WEIGHTS = {"closure_rate": 0.25, "timeliness": 0.25, "warning_rate": 0.15, "rework_rate": 0.15, "rating": 0.2}
#: Tier order, best first: a move to a lower index is an improvement.
TIER_ORDER = {"green": 0, "orange": 1, "red": 2}
_EVENTS = ("reopened", "rated", "warned")
_LEVELS = ("grid", "community", "street")


def read_events(source: str | os.PathLike[str] | pd.DataFrame) -> pd.DataFrame:
    """Read a case event log: ``incident_id``, ``event`` (reopened, rated, warned), ``at``, ``value``.

    Raises
    ------
    InputDataError
        Naming the file, row and column: a missing column, an unknown event, a time that is not a
        time, a rating that is not a number from 1 to 5.
    """
    frame = source.copy() if isinstance(source, pd.DataFrame) else pd.read_csv(source, dtype=str)
    src = source_name(frame, str(source) if not isinstance(source, pd.DataFrame) else "<events>")
    for col in ("incident_id", "event", "at"):
        if col not in frame.columns:
            raise InputDataError(f"event log has no column {col!r}", source=src, column=col)
    event = frame["event"].astype(str).str.strip().str.lower()
    bad = ~event.isin(_EVENTS)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputDataError(f"unknown event {frame['event'].iloc[row]!r}; events are {', '.join(_EVENTS)}",
                             source=src, row=row, column="event")
    at = pd.to_datetime(frame["at"], errors="coerce", utc=True)
    if at.isna().any():
        row = int(np.flatnonzero(at.isna().to_numpy())[0])
        raise InputDataError(f"not a time: {frame['at'].iloc[row]!r}", source=src, row=row, column="at")
    value = pd.to_numeric(frame.get("value"), errors="coerce") if "value" in frame.columns \
        else pd.Series(np.nan, index=frame.index)
    rated = event == "rated"
    wrong = rated & ~value.between(1, 5)
    if wrong.any():
        row = int(np.flatnonzero(wrong.to_numpy())[0])
        raise InputDataError(f"a rating must be a number from 1 to 5, got {frame['value'].iloc[row]!r}", source=src,
                             row=row, column="value")
    out = pd.DataFrame({"incident_id": frame["incident_id"].astype(str), "event": event, "at": at, "value": value})
    out.attrs["source"] = src
    return out


def case_flags(incidents: IncidentResult | pd.DataFrame, *, events: pd.DataFrame | None = None,
               sla: Mapping[str, Any] | str | None = None, as_of: Any = None) -> pd.DataFrame:
    """One row per case: ``grid_id``, ``month``, ``closed``, ``on_time``, ``warned``, ``reworked``, ``rating``."""
    frame = incidents.incidents if isinstance(incidents, IncidentResult) else incidents
    data = pd.DataFrame(frame.drop(columns=frame.geometry.name) if isinstance(frame, gpd.GeoDataFrame) else frame)
    limits = load_sla(sla)["time_limits_hours"]
    limit = data["category"].map(limits).fillna(limits["default"]).astype(float)
    stamps = [data[c].max() for c in data.columns if c.endswith("_at") and data[c].notna().any()]
    when = pd.Timestamp(as_of) if as_of is not None else max(stamps)
    age = (when - data["reported_at"]).dt.total_seconds() / 3600.0
    closed = data["closed_valid"].astype(bool)
    hours = data["hours_to_close"].astype(float)
    out = pd.DataFrame({"incident_id": data["incident_id"].astype(str).to_numpy(),
                        "grid_id": data["grid_id"].to_numpy(), "month": period_labels(data["reported_at"], "month"),
                        "category": data["category"].to_numpy(), "closed": closed.to_numpy(),
                        "on_time": (closed & (hours <= limit)).to_numpy(),
                        "warned": ((closed & (hours > limit)) | (~closed & (age > limit))).to_numpy()})
    out["reworked"] = False
    out["rating"] = np.nan
    if events is not None and len(events):
        closed_at = pd.to_datetime(data["closed_at"], utc=True)
        reopen = events[events["event"] == "reopened"].groupby("incident_id")["at"].max()
        after = out["incident_id"].map(reopen)
        out["reworked"] = (out["closed"] & after.notna() & (after.to_numpy() > closed_at.to_numpy())).to_numpy()
        warned = set(events.loc[events["event"] == "warned", "incident_id"])
        out["warned"] = out["warned"] | out["incident_id"].isin(warned)
        out["rating"] = out["incident_id"].map(events[events["event"] == "rated"].groupby("incident_id")["value"]
                                               .mean()).to_numpy()
    return out


def _unit_keys(cases: pd.DataFrame, grids: pd.DataFrame, communities: pd.DataFrame | None, level: str
               ) -> pd.Series:
    if level == "grid":
        return cases["grid_id"].astype(str)
    community = grids.set_index(grids["grid_id"].astype(str))["community_id"].astype(str)
    cid = cases["grid_id"].astype(str).map(community)
    if level == "community":
        return cid
    if communities is None or "code" not in communities.columns:
        return pd.Series("street", index=cases.index)
    street = communities.set_index(communities["community_id"].astype(str))["code"].astype(str).str[:9]
    return cid.map(street)


def kpi_table(cases: pd.DataFrame, grids: pd.DataFrame, *, communities: pd.DataFrame | None = None,
              level: str = "grid", weights: Mapping[str, float] | None = None,
              groups: Mapping[str, str] | None = None, group_by: str | None = None) -> pd.DataFrame:
    """KPIs per unit and month (see the module docstring).

    Parameters
    ----------
    cases
        :func:`case_flags`.
    grids
        ``grid_id``, ``community_id``.
    communities
        ``community_id`` (``code``: the street is its first 9 digits; ``group_by`` column).
    level
        ``"grid"``, ``"community"`` or ``"street"``.
    weights
        Score weights (default :data:`SCORE_WEIGHTS`).
    groups, group_by
        The ranking group: ``groups`` maps the value of the communities' ``group_by`` column to a group
        name (Haidian: 城区 built-up, 城乡结合部 fringe, 北部 north); units without one are ``all``.

    Returns
    -------
    pandas.DataFrame
        ``level``, ``unit``, ``month``, ``group``, ``registered``, ``closed``, ``on_time``,
        ``warned``, ``reworked``, ``rated``, ``closure_rate``, ``timeliness``, ``warning_rate``,
        ``rework_rate``, ``rating``, ``score`` (0-100).
    """
    if level not in _LEVELS:
        raise InputDataError(f"KPI level must be one of {', '.join(_LEVELS)}, not {level!r}", column="level")
    data = cases[cases["grid_id"].notna()].copy()
    data["unit"] = _unit_keys(data, grids, communities, level)
    data["rated"] = data["rating"].notna()
    g = data.groupby(["unit", "month"], sort=True)
    out = g[["closed", "on_time", "warned", "reworked", "rated"]].sum().astype(int)
    out.insert(0, "registered", g.size())
    out["rating"] = g["rating"].mean()
    out = out.reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["closure_rate"] = out["closed"] / out["registered"]
        out["timeliness"] = out["on_time"] / out["closed"].where(out["closed"] > 0)
        out["warning_rate"] = out["warned"] / out["registered"]
        out["rework_rate"] = out["reworked"] / out["closed"].where(out["closed"] > 0)
    out["score"] = _score(out, weights or SCORE_WEIGHTS)
    out.insert(0, "level", level)
    out.insert(3, "group", _groups(out["unit"], grids, communities, level, groups, group_by))
    columns = ["level", "unit", "month", "group", "registered", "closed", "on_time", "warned", "reworked", "rated",
               "closure_rate", "timeliness", "warning_rate", "rework_rate", "rating", "score"]
    return out[columns]


def _score(table: pd.DataFrame, weights: Mapping[str, float]) -> np.ndarray:
    good = {"closure_rate": table["closure_rate"], "timeliness": table["timeliness"],
            "warning_rate": 1 - table["warning_rate"], "rework_rate": 1 - table["rework_rate"],
            "rating": (table["rating"] - 1) / 4}
    total, weight = np.zeros(len(table)), np.zeros(len(table))
    for key, w in weights.items():
        if key not in good:
            raise InputDataError(f"unknown score weight {key!r}; KPIs are {', '.join(good)}", column="weights")
        value = good[key].to_numpy(float)
        known = np.isfinite(value)
        total += np.where(known, w * value, 0.0)
        weight += np.where(known, w, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.round(100 * total / np.where(weight > 0, weight, np.nan), 2)


def _groups(units: pd.Series, grids: pd.DataFrame, communities: pd.DataFrame | None, level: str,
            groups: Mapping[str, str] | None, group_by: str | None) -> pd.Series:
    if not groups or not group_by or communities is None:
        return pd.Series("all", index=units.index)
    if group_by not in communities.columns:
        raise InputDataError(f"[kpis] group_by = {group_by!r} is not a column of the communities", column=group_by)
    cid = communities["community_id"].astype(str)
    value = pd.Series(communities[group_by].astype(str).map(groups).fillna("all").to_numpy(), index=cid)
    if level == "grid":
        community = grids.set_index(grids["grid_id"].astype(str))["community_id"].astype(str)
        return units.map(community).map(value).fillna("all")
    if level == "community":
        return units.map(value).fillna("all")
    street = pd.Series(communities["code"].astype(str).str[:9].to_numpy(), index=cid) \
        if "code" in communities.columns else pd.Series("street", index=cid)
    by_street = value.groupby(street).agg(lambda s: s.mode().iloc[0])
    return units.map(by_street).fillna("all")


def rankings(kpis: pd.DataFrame, *, by: str = "score") -> pd.DataFrame:
    """Rank units per month within their group, best first (``rank`` 1; ties share the better rank)."""
    out = kpis.copy()
    out["rank"] = out.groupby(["level", "month", "group"])[by].rank(ascending=False, method="min")
    out["of"] = out.groupby(["level", "month", "group"])["unit"].transform("size")
    previous = out.sort_values("month").groupby(["level", "unit"])["rank"].shift()
    out["rank_change"] = previous.reindex(out.index) - out["rank"]  # positive: moved up
    return out.sort_values(["level", "month", "group", "rank"], ignore_index=True)


def tier_history(incidents: IncidentResult | pd.DataFrame, grids: gpd.GeoDataFrame, *,
                 sla: Mapping[str, Any] | str | None = None, key_persons: pd.Series | None = None,
                 key_person_weight: float = 0.0, tiers: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Each grid's tier month by month, and whether it improved (red → orange is ``improving``).

    Parameters
    ----------
    incidents, grids
        As :func:`gridkit.incidents.grid_stats`.
    sla
        Time limits and tiers.
    key_persons, key_person_weight
        Key persons per grid (``grid_id → n``) and their weight: the tier metric becomes
        ``per_100_households + key_person_weight × key persons per 100 households`` (Shibei grades by
        case load and key persons); weight 0 keeps the case load alone.
    tiers
        Tier thresholds over that metric (``{"orange": ..., "red": ...}``; numbers or percentiles).

    Returns
    -------
    pandas.DataFrame
        ``grid_id``, ``month``, ``count``, ``per_100_households``, ``key_persons``, ``risk``, ``tier``,
        ``previous_tier``, ``trend`` (``improving``, ``worsening``, ``steady`` or ``first``).
    """
    stats = grid_stats(incidents, grids, sla=sla, period="month")
    keys = pd.Series(key_persons if key_persons is not None else {}, dtype=float).rename(index=str)
    stats["key_persons"] = stats["grid_id"].astype(str).map(keys).fillna(0).astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_100 = 100 * stats["key_persons"] / stats["households"].where(stats["households"] > 0)
    stats["risk"] = stats["per_100_households"] + key_person_weight * per_100.fillna(0)
    spec = dict(load_sla(sla)["tiers"])
    spec.update(dict(tiers or {}))
    spec["by"] = "risk"
    tier = assign_tiers(stats.assign(count=stats["count"] + stats["key_persons"]), spec)
    out = stats[["grid_id", "period", "count", "per_100_households", "key_persons", "risk"]].rename(
        columns={"period": "month"})
    out["tier"] = tier.to_numpy()
    out = out.sort_values(["grid_id", "month"], ignore_index=True)
    out["previous_tier"] = out.groupby("grid_id")["tier"].shift()
    now = out["tier"].map(TIER_ORDER)
    before = out["previous_tier"].map(TIER_ORDER)
    out["trend"] = np.where(before.isna() | now.isna(), "first",
                            np.where(now < before, "improving", np.where(now > before, "worsening", "steady")))
    return out


@dataclass
class KpiResult:
    """Everything the KPI stage produces, for exports, the map and the meeting report.

    Attributes
    ----------
    cases
        :func:`case_flags`.
    kpis
        :func:`kpi_table` rows of every level (``level`` column).
    rankings
        :func:`rankings` of ``kpis``.
    tiers
        :func:`tier_history`.
    latest
        One row per grid for the latest month: ``grid_id``, ``score``, ``rank``, ``of``, ``tier``,
        ``trend`` (join it to the grids for a map layer).
    """

    cases: pd.DataFrame
    kpis: pd.DataFrame
    rankings: pd.DataFrame
    tiers: pd.DataFrame
    latest: pd.DataFrame = field(default_factory=pd.DataFrame)


def programme_kpis(incidents: IncidentResult | pd.DataFrame, grids: gpd.GeoDataFrame, *,
                   communities: pd.DataFrame | None = None, events: pd.DataFrame | None = None,
                   sla: Mapping[str, Any] | str | None = None, weights: Mapping[str, float] | None = None,
                   groups: Mapping[str, str] | None = None, group_by: str | None = None,
                   key_persons: pd.Series | None = None, key_person_weight: float = 0.0,
                   tiers: Mapping[str, Any] | None = None) -> KpiResult:
    """KPIs and rankings at grid, community and street level, and the tier history, in one call.

    Examples
    --------
    >>> result = programme_kpis(prepared, grids, communities=communities,
    ...                         events=read_events("incident_events.csv"))  # doctest: +SKIP
    >>> result.rankings.query("level == 'community' and month == '2025-12'")  # doctest: +SKIP
    """
    cases = case_flags(incidents, events=events, sla=sla)
    kpis = pd.concat([kpi_table(cases, grids, communities=communities, level=level, weights=weights, groups=groups,
                                group_by=group_by) for level in _LEVELS], ignore_index=True)
    ranked = rankings(kpis)
    history = tier_history(incidents, grids, sla=sla, key_persons=key_persons, key_person_weight=key_person_weight,
                           tiers=tiers)
    month = history["month"].max() if len(history) else None
    latest = history[history["month"] == month][["grid_id", "tier", "trend"]]
    grid_rank = ranked[(ranked["level"] == "grid") & (ranked["month"] == month)][["unit", "score", "rank", "of"]]
    latest = latest.merge(grid_rank.rename(columns={"unit": "grid_id"}), on="grid_id", how="left")
    return KpiResult(cases=cases, kpis=kpis, rankings=ranked, tiers=history, latest=latest.reset_index(drop=True))
