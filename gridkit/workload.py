"""Per-warden workload, and grids carrying the names a planner looks for.

:func:`warden_workload` gives one row per warden: the grids they serve, households, street km,
patrol-route minutes and incidents (each grid's load split by the warden's ``share`` of it, as
:func:`gridkit.wardens.assign_wardens` links them), with the overloaded flagged against the median
of their role (by the staffing's workload index). :func:`grids_for_people` adds the community
name, the wardens' names and the tier to the grids so an analyst opening the GeoPackage needs no
join.

Examples
--------
>>> plan = assign_wardens(grids, roster, graph=graph)                       # doctest: +SKIP
>>> warden_workload(plan, grids, routes=routes, incidents=prepared, streets=streets)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd

__all__ = ["OVERLOAD_FACTOR", "grids_for_people", "warden_workload"]

#: A warden is flagged as overloaded when their workload index is above this multiple of their role's median.
OVERLOAD_FACTOR = 1.25
_LOADS = ("households", "street_km", "route_minutes", "incidents")


def _route_minutes(routes: pd.DataFrame | None) -> pd.Series | None:
    if routes is None or "minutes" not in routes.columns or "grid_id" not in routes.columns:
        return None
    drawn = pd.DataFrame(routes)[["grid_id", "minutes"]].assign(grid_id=lambda t: t["grid_id"].astype(str))
    return drawn.groupby("grid_id")["minutes"].sum()


def warden_workload(plan: Any, grids: gpd.GeoDataFrame, *, routes: pd.DataFrame | None = None,
                    incidents: Any = None, streets: Any = None, factor: float = OVERLOAD_FACTOR) -> pd.DataFrame:
    """One row per warden with their load and an ``overloaded`` flag.

    The load of a grid is :func:`gridkit.wardens.staffing`'s workload index (households, street
    length and incidents, each against its mean over the grids, weighted; a mean grid is 1), split
    among the grid's wardens by their ``share``; one rule in one place with the staffing.

    Parameters
    ----------
    plan
        :class:`gridkit.wardens.WardenPlan` (``links``: warden, grid, ``share``; ``per_warden``
        and ``assignment`` for names and roles).
    grids
        The grids (``grid_id``, ``households``).
    routes
        Patrol routes with ``grid_id`` and ``minutes`` (route minutes split by share as well).
    incidents
        Incident points (prepared incidents or a table with lon/lat), counted per grid.
    streets
        Street lines or graph: street km inside each grid (boundary streets half and half).
    factor
        Overloaded: a workload index above ``factor`` × the median of the warden's role.

    Returns
    -------
    pandas.DataFrame
        ``warden_id``, ``name``, ``role``, ``community_id``, ``n_grids``, ``grids``, ``households``,
        ``street_km``, ``route_minutes``, ``incidents``, ``workload``, ``overloaded``.
    """
    from gridkit.wardens import staffing  # noqa: PLC0415

    points = getattr(incidents, "incidents", incidents)
    table = staffing(grids, "one_per_grid", incidents=points, streets=streets)
    per_grid = pd.DataFrame({"households": table["households"].to_numpy(float),
                             "street_km": table["street_m"].to_numpy(float) / 1000.0,
                             "incidents": table["incidents"].to_numpy(float),
                             "workload": table["workload"].to_numpy(float)},
                            index=table["grid_id"].astype(str).to_numpy())
    minutes = _route_minutes(routes)
    if minutes is not None:
        per_grid["route_minutes"] = minutes.reindex(per_grid.index).to_numpy()
    links = plan.links.assign(grid_id=plan.links["grid_id"].astype(str))
    joined = links.join(per_grid, on="grid_id")
    loads = [c for c in (*_LOADS, "workload") if c in joined.columns]
    weighted = joined[loads].mul(joined["share"].astype(float), axis=0).assign(warden_id=joined["warden_id"])
    totals = weighted.groupby("warden_id").sum(min_count=1)
    base = plan.per_warden[["warden_id", "role", "community_id", "n_grids", "grids"]]
    names = pd.DataFrame(plan.assignment)[["warden_id", "name"]].drop_duplicates("warden_id")
    out = base.merge(names, on="warden_id", how="left").merge(totals, left_on="warden_id", right_index=True,
                                                               how="left")
    median = out.groupby("role")["workload"].transform("median")
    out["overloaded"] = (out["workload"] > factor * median).fillna(False).astype(bool)
    order = ["warden_id", "name", "role", "community_id", "n_grids", "grids",
             *[c for c in _LOADS if c in out.columns], "workload", "overloaded"]
    return out[order].sort_values(["community_id", "warden_id"], kind="stable").reset_index(drop=True)


def grids_for_people(grids: gpd.GeoDataFrame, *, communities: pd.DataFrame | None = None, plan: Any = None,
                     stats: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """The grids with ``community_name``, ``warden_ids``, ``warden_names``, ``police_names`` and ``tier``.

    Names of the wardens seated in a grid are joined with "、" (police apart); ``tier`` and ``count``
    come from the whole-span statistics. Columns the grids already carry are kept as they are.
    """
    out = grids.copy()
    ids = out["grid_id"].astype(str)
    if communities is not None and {"community_id", "name"} <= set(communities.columns) and \
            "community_name" not in out.columns:
        lookup = dict(zip(communities["community_id"].astype(str), communities["name"], strict=False))
        out["community_name"] = out["community_id"].astype(str).map(lookup)
    if plan is not None:
        links = plan.links.assign(grid_id=plan.links["grid_id"].astype(str))
        names = pd.DataFrame(plan.assignment)[["warden_id", "name"]].drop_duplicates("warden_id")
        links = links.merge(names, on="warden_id", how="left")
        police = links["role"].astype(str) == "police"

        def joined(part: pd.DataFrame, col: str) -> pd.Series:
            return part.groupby("grid_id")[col].agg(lambda v: "、".join(str(x) for x in v if pd.notna(x)))

        out["warden_ids"] = ids.map(joined(links[~police], "warden_id"))
        out["warden_names"] = ids.map(joined(links[~police], "name"))
        out["police_names"] = ids.map(joined(links[police], "name"))
    if stats is not None and "tier" in stats.columns and "tier" not in out.columns:
        whole = stats[stats["period"].isna()] if "period" in stats.columns else stats
        table = whole.assign(grid_id=whole["grid_id"].astype(str)).set_index("grid_id")
        out["tier"] = ids.map(table["tier"]).astype(object)
        if "count" not in out.columns:
            out["incidents"] = ids.map(table["count"]).astype("Int64")
    return out
