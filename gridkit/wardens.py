"""Staffing rules and the assignment of a warden roster to grids (网格员配置与分配).

Practice knows four ways to staff grids, and gridkit names them as *rules*:

- ``"one_per_grid"`` (一格一员): one full-time warden per grid;
- ``"per_households:N"`` (一格多员, 专兼结合): one warden seat per ``N`` households over the district,
  apportioned to grids by a workload index (at least one seat each), filled by full-time wardens
  (one seat each) and part-time wardens (``part_time_fte`` of a seat each, 0.5 by default);
- ``"1+1+2"``: one full-time warden per grid, one grid police officer usually shared by two
  neighbouring grids (an officer of capacity ``c`` may cover a connected cluster of up to ``c``
  neighbouring grids of one community), and the "2" at community level: the patrol team (part-time
  staff) and volunteers.

**Community team (1+1+2).** Every part-time person and volunteer is placed in one community (with its
grids listed). The requirement is documented in :data:`TEAM_REQUIRED`: at least **one patrol member
and one volunteer per community**, because the rule's "2" is a community-level patrol team and
volunteers, and a community with none has no community-level force at all; the roster in practice
holds several per community, so the minimum is a floor, not a staffing norm per household. Beyond
the minimum the team is *balanced by workload*: each team role's people are apportioned to
communities by the sum of their grids' workload (largest remainder, floor of the minimum) as
targets, and an exact MILP places everyone: the minimums first, then the smallest total deviation
from the targets, then the shortest walks. With ``same_community`` (the default) people stay in their
own community, so the balance only shows in the ``target`` column; ``team_same_community=False``
lets the team move to where the workload is.

**Workload index.** For each grid, ``workload = Σ_k a_k · x_k / mean(x_k)`` over the components
``k`` that are known: households (weight 0.4), population (0.2), street length inside the grid (0.2)
and incidents inside the grid (0.2); components that are absent or all zero are left out and the
weights of the others rescaled to sum to 1, so a grid of average load has workload 1. A street on a
boundary shared by two grids counts half towards each (:func:`grid_street_length`), so the grids'
street lengths, and the per-warden street km, add up to the district's.

**Apportionment.** With ``T = ceil(Σ households / N)`` seats for the district, grid ``g`` has the
quota ``q_g = T · workload_g / Σ workload``; it gets ``max(1, floor(q_g))`` seats and the seats left
over go one each to the grids with the largest remainders ``q_g − seats_g`` (Hamilton's largest
remainder method with a floor of one seat; the floor may raise the total above ``T``, and says so).

**Assignment.** Wardens go to grids minimising the total walking distance from the warden's home or
station to the grid's representative point, on the street graph when one is given (straight line
otherwise), respecting capacities (``capacity`` = the number of grids a person can serve) and roles,
and by default the warden's own community. The problem is solved exactly: with one seat per grid
and capacity one, as a rectangular linear assignment (:func:`scipy.optimize.linear_sum_assignment`);
otherwise as a transportation MILP with :func:`scipy.optimize.milp` (HiGHS). Grid police go to
connected clusters of neighbouring grids (a single grid, a pair, a connected triple, … up to the
officer's capacity; all such clusters are listed as candidate sets by :func:`connected_clusters`) in
a second exact MILP, and the community team in a third. Filling as many seats as possible comes
first, distance second; seats that stay empty are listed as unstaffed grids and summed in a
shortage table. ``optimal`` is True only when HiGHS proved every one of these optimal (and every
candidate cluster was listed).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp

from gridkit.coverage import StreetMatrix, _points_xy, distance_matrix, local_distances, street_matrix
from gridkit.crs import WGS84, local_metric_crs
from gridkit.errors import GridkitError, GridkitWarning, InputDataError
from gridkit.io import points_from_table, read_layer, source_name
from gridkit.roles import ROLES, is_grid_warden, normalise_roles
from gridkit.spatial import polygon_holding
from gridkit.staffing import parse_staffing_rule

__all__ = [
    "ROLES",
    "TEAM_REQUIRED",
    "TEAM_ROLES",
    "WORKLOAD_WEIGHTS",
    "WardenPlan",
    "assign_wardens",
    "building_wardens",
    "connected_clusters",
    "gini",
    "grid_incidents",
    "grid_street_length",
    "largest_remainder",
    "neighbour_pairs",
    "read_roster",
    "staffing",
]

#: Community-level team under ``1+1+2`` (the "2"): roster role → team role, and the minimum per community.
TEAM_ROLES = {"part_time": "patrol", "volunteer": "volunteer"}
TEAM_REQUIRED = {"patrol": 1, "volunteer": 1}
#: Default weights of the workload index components.
WORKLOAD_WEIGHTS = {"households": 0.4, "population": 0.2, "street_m": 0.2, "incidents": 0.2}
_DISTRICT_TOLERANCE_M = 1.0
#: A home or station farther outside the district than this (m) is a coordinate mistake, not an office
#: across the road: an error. Nearer ones are kept with a warning.
MAX_OUTSIDE_M = 2_000.0
_CLUSTER_LIMIT = 200_000  # connected police clusters listed at most
_BOUNDARY_TOL_M = 0.05  # boundary tolerance of the street-length split, metres


# ----------------------------------------------------------------------------------------- roster
def read_roster(
    source: str | Any,
    *,
    district: gpd.GeoDataFrame | None = None,
    crs: str | int | None = None,
    tolerance_m: float = _DISTRICT_TOLERANCE_M,
    max_outside_m: float = MAX_OUTSIDE_M,
) -> gpd.GeoDataFrame:
    """Read and check a warden roster.

    Parameters
    ----------
    source
        CSV path (``warden_id``, ``name``, ``role``, ``capacity``, optional ``community_id`` and a
        location as ``lon``/``lat`` or WKT ``geometry``), any vector file of points, a GeoDataFrame,
        or a plain DataFrame with ``lon``/``lat`` (EPSG:4326).
    district
        Polygons (communities or grids) the wardens must be in (within ``tolerance_m`` metres).
    crs
        CRS of coordinates that carry none (CSV default EPSG:4326).
    tolerance_m
        Distance outside ``district`` accepted without a word, metres.
    max_outside_m
        Distance outside ``district`` still accepted with a warning (a station in the street office
        across the road), metres; farther is an error (a coordinate mistake: swapped, wrong CRS).

    Returns
    -------
    geopandas.GeoDataFrame
        ``warden_id`` (str), ``name``, ``role`` (one of :data:`ROLES`), ``capacity`` (int, grids a
        person can serve), optional ``community_id``, point geometry; ``attrs['source']`` kept.

    Raises
    ------
    InputDataError
        Naming the file, row, warden and column: missing columns, missing or duplicate ids,
        unknown roles, capacity not a positive whole number, missing locations, locations outside
        the district.
    """
    gdf = _roster_frame(source, crs)
    src = source_name(gdf, "<roster>")
    for col in ("warden_id", "role", "capacity"):
        if col not in gdf.columns:
            raise InputDataError(f"roster has no column {col!r}; columns are {list(gdf.columns)}", source=src,
                                 column=col)
    ids = gdf["warden_id"]
    missing = ids.isna().to_numpy()
    if missing.any():
        raise InputDataError("missing warden id", source=src, row=int(missing.nonzero()[0][0]), column="warden_id")
    gdf["warden_id"] = ids.astype(str).str.strip()
    dup = gdf["warden_id"].duplicated().to_numpy()
    if dup.any():
        row = int(dup.nonzero()[0][0])
        first = int((gdf["warden_id"] == gdf["warden_id"].iloc[row]).to_numpy().nonzero()[0][0])
        raise InputDataError(f"duplicate warden id (first seen at row {first})", source=src, row=row,
                             feature=gdf["warden_id"].iloc[row], column="warden_id")
    gdf["role"] = normalise_roles(gdf["role"], source=src, ids=gdf["warden_id"])
    gdf["capacity"] = _capacities(gdf, src)
    if "name" not in gdf.columns:
        gdf["name"] = gdf["warden_id"]
    gdf["name"] = gdf["name"].astype(object).where(gdf["name"].notna(), gdf["warden_id"]).astype(str)
    _check_locations(gdf, src, district, tolerance_m, max_outside_m)
    keep = ["warden_id", "name", "role", "capacity"] + (["community_id"] if "community_id" in gdf.columns else [])
    rest = [c for c in gdf.columns if c not in keep and c != gdf.geometry.name]
    out = gpd.GeoDataFrame(gdf[keep + rest], geometry=gdf.geometry, crs=gdf.crs).reset_index(drop=True)
    out.attrs["source"] = src
    return out


def _roster_frame(source: Any, crs: str | int | None) -> gpd.GeoDataFrame:
    if isinstance(source, gpd.GeoDataFrame):
        return read_layer(source, label="roster", crs=crs)
    if isinstance(source, pd.DataFrame):
        gdf = points_from_table(source.copy(), crs=crs)
        if gdf is not None:
            gdf.attrs["source"] = source.attrs.get("source", "<roster DataFrame>")
            return gdf
        raise InputDataError("roster has no location: give lon/lat (or x/y) columns or a GeoDataFrame",
                             source=source.attrs.get("source", "<roster DataFrame>"))
    gdf = read_layer(source, label="roster", crs=crs)
    return gdf


def _capacities(gdf: pd.DataFrame, src: str) -> np.ndarray:
    values = pd.to_numeric(gdf["capacity"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values) | (values < 1) | (values != np.round(values))
    if bad.any():
        row = int(bad.nonzero()[0][0])
        raise InputDataError(f"capacity must be a whole number of grids ≥ 1, got {gdf['capacity'].iloc[row]!r}",
                             source=src, row=row, feature=gdf["warden_id"].iloc[row], column="capacity")
    return values.astype(int)


def _check_locations(gdf: gpd.GeoDataFrame, src: str, district: gpd.GeoDataFrame | None, tolerance_m: float,
                     max_outside_m: float = MAX_OUTSIDE_M) -> None:
    geoms = gdf.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        row = int(missing.nonzero()[0][0])
        raise InputDataError("missing location", source=src, row=row, feature=gdf["warden_id"].iloc[row])
    if district is None or len(district) == 0:
        return
    crs = local_metric_crs(district)
    area = shapely.union_all(district.to_crs(crs).geometry.to_numpy())
    points = gdf.geometry.to_crs(crs).to_numpy()
    away = shapely.distance(area, points)
    far = away > max_outside_m
    if far.any():
        row = int(far.nonzero()[0][0])
        raise InputDataError(
            f"location is {away[row] / 1000:.1f} km outside the district ({int(far.sum())} warden(s) farther than "
            f"{max_outside_m / 1000:g} km in all): a coordinate mistake? (lon/lat swapped, another CRS, GCJ-02 "
            "coordinates read as WGS 84)", source=src, row=row, feature=gdf["warden_id"].iloc[row])
    near = np.flatnonzero(away > tolerance_m)
    if len(near):
        shown = ", ".join(f"{gdf['warden_id'].iloc[r]} {away[r]:.0f} m" for r in near[:5])
        warnings.warn(f"{src}: {len(near)} warden(s) live or have their station outside the district, kept "
                      f"(within {max_outside_m / 1000:g} km): {shown}{' …' if len(near) > 5 else ''}",
                      GridkitWarning, stacklevel=4)


# --------------------------------------------------------------------------------------- staffing
def _parse_rule(rule: Any) -> tuple[str, float | None]:
    """The legacy kind of a rule (``one_per_grid``, ``per_households`` + N, ``1+1+2``), or ``rule``.

    Rules are data (:mod:`gridkit.staffing`); the three above keep this module's solvers, any other
    rule is assigned by :func:`gridkit.staffing_plan.assign_by_rule`.
    """
    spec = parse_staffing_rule(rule)
    return (spec.legacy, spec.per_households) if spec.legacy else ("rule", None)


def largest_remainder(quotas: np.ndarray, total: int, *, minimum: int = 1) -> np.ndarray:
    """Whole seats from fractional ``quotas`` summing to ``total`` (Hamilton), each at least ``minimum``.

    Each entry gets ``max(minimum, floor(q))``; the seats left to reach ``total`` go one each to the
    largest remainders ``q − seats`` (ties to the lower index). When the minimum alone exceeds
    ``total`` the result sums to more than ``total``.
    """
    quotas = np.asarray(quotas, dtype=float)
    seats = np.maximum(np.floor(quotas + 1e-9).astype(int), minimum)
    left = int(total) - int(seats.sum())
    if left > 0:
        order = np.lexsort((np.arange(len(quotas)), -(quotas - seats)))
        while left > 0:
            take = order[:left]
            seats[take] += 1
            left -= len(take)
    return seats


def grid_street_length(grids: gpd.GeoDataFrame, streets: gpd.GeoDataFrame | nx.Graph | None) -> np.ndarray:
    """Street length inside each grid, metres (0 when no streets are given).

    A street inside one grid counts towards that grid. A street *on* a boundary shared by two grids
    (common: grids are cut along streets) counts half towards each, so that the grids' lengths add
    up to the street length of the district (the streets clipped to the union of the grids). The
    split is measured along each street: every piece ``street ∩ grid`` is cut into its segments, each
    segment located on its street by the position of its midpoint, and every stretch of the street
    is divided equally among the grids whose (closed) polygon holds it; one grid: whole; a shared
    edge: half each. Grids are taken to tile the district (no overlaps); boundaries are read with a
    tolerance of ``_BOUNDARY_TOL_M`` (5 cm), so the total is the street length within 5 cm of the
    district.
    """
    if streets is None:
        return np.zeros(len(grids))
    crs = local_metric_crs(grids)
    polys = grids.to_crs(crs).geometry.to_numpy()
    if isinstance(streets, nx.Graph):
        lines = _graph_lines(streets)
        lines = gpd.GeoSeries(lines, crs=streets.graph.get("crs")).to_crs(crs).to_numpy()
    else:
        lines = shapely.get_parts(streets.to_crs(crs).geometry.to_numpy())
    lines = lines[shapely.length(lines) > 0] if len(lines) else lines
    if len(lines) == 0:
        return np.zeros(len(grids))
    # a street drawn along a boundary is numerically on either side of it (or on neither): each grid is
    # widened by a few centimetres, and the stretch two widened grids share is then split half-and-half
    polys = shapely.buffer(polys, _BOUNDARY_TOL_M)
    grid_idx, line_idx = shapely.STRtree(lines).query(polys, predicate="intersects")
    pieces = shapely.intersection(polys[grid_idx], lines[line_idx])
    lengths = shapely.length(pieces)
    out = np.zeros(len(grids))
    grids_per_line = np.bincount(line_idx, weights=lengths > 0, minlength=len(lines))
    alone = grids_per_line[line_idx] <= 1
    np.add.at(out, grid_idx[alone], lengths[alone])
    shared = np.flatnonzero(~alone & (lengths > 0))
    if len(shared):
        _split_shared(out, lines, pieces[shared], grid_idx[shared], line_idx[shared])
    return out


def _split_shared(out: np.ndarray, lines: np.ndarray, pieces: np.ndarray, grid_idx: np.ndarray,
                  line_idx: np.ndarray) -> None:
    """Add to ``out`` each grid's share of the streets that run through several grids (see above)."""
    parts, owner = shapely.get_parts(pieces, return_index=True)
    is_line = np.isin(shapely.get_type_id(parts), (1, 2)) & (shapely.length(parts) > 0)
    parts, owner = parts[is_line], owner[is_line]
    coords, part = shapely.get_coordinates(parts, return_index=True)
    seg = np.flatnonzero(part[:-1] == part[1:])
    a, b = coords[seg], coords[seg + 1]
    seg_len = np.hypot(*(b - a).T)
    piece = owner[part[seg]]
    mid = shapely.points((a + b) / 2)
    where = shapely.line_locate_point(lines[line_idx[piece]], mid)
    frame = pd.DataFrame({"line": line_idx[piece], "grid": grid_idx[piece], "lo": where - seg_len / 2,
                          "hi": where + seg_len / 2})
    for _, group in frame.groupby("line", sort=False):
        lo, hi, grid = group["lo"].to_numpy(), group["hi"].to_numpy(), group["grid"].to_numpy()
        cuts = np.unique(np.concatenate([lo, hi]))
        centre = (cuts[:-1] + cuts[1:]) / 2
        width = np.diff(cuts)
        inside = (lo[:, None] <= centre[None, :]) & (centre[None, :] <= hi[:, None])  # segment × stretch
        local, slot = np.unique(grid, return_inverse=True)
        holders = np.zeros((len(local), len(centre)), dtype=bool)
        seg_i, stretch = np.nonzero(inside)
        holders[slot[seg_i], stretch] = True
        count = holders.sum(axis=0)
        share = np.where(count > 0, width / np.maximum(count, 1), 0.0)
        out[local] += holders @ share


def _graph_lines(graph: nx.Graph) -> np.ndarray:
    lines = []
    for u, v, data in graph.edges(data=True):
        geom = data.get("geometry")
        if geom is None:
            a, b = graph.nodes[u], graph.nodes[v]
            geom = shapely.LineString([(a["x"], a["y"]), (b["x"], b["y"])])
        lines.append(geom)
    return np.array(lines, dtype=object)


def grid_incidents(grids: gpd.GeoDataFrame, incidents: pd.DataFrame | None) -> np.ndarray:
    """Number of incidents inside each grid (points, or a table with ``lon``/``lat``); zeros when None."""
    if incidents is None or len(incidents) == 0:
        return np.zeros(len(grids), dtype=int)
    if isinstance(incidents, gpd.GeoDataFrame):
        points = incidents.to_crs(grids.crs).geometry.to_numpy()
    else:
        if not {"lon", "lat"} <= set(incidents.columns):
            raise InputDataError("incidents need lon/lat columns or a geometry",
                                 source=source_name(incidents, "<incidents>"))
        pts = gpd.GeoSeries(gpd.points_from_xy(pd.to_numeric(incidents["lon"], errors="coerce"),
                                               pd.to_numeric(incidents["lat"], errors="coerce")), crs=WGS84)
        points = pts.to_crs(grids.crs).to_numpy()
    points = points[~(shapely.is_missing(points) | shapely.is_empty(points))]
    holding = polygon_holding(points, grids.geometry.to_numpy())  # a point on a shared boundary counts once
    counts = np.bincount(holding[holding >= 0], minlength=len(grids)).astype(int)
    left_out = len(incidents) - int(counts.sum())
    if left_out:
        warnings.warn(f"{left_out} of {len(incidents)} incidents have no location or lie outside every grid; "
                      "they are not counted in the workload", GridkitWarning, stacklevel=3)
    return counts


def staffing(
    grids: gpd.GeoDataFrame,
    rule: str = "one_per_grid",
    *,
    incidents: pd.DataFrame | None = None,
    streets: gpd.GeoDataFrame | nx.Graph | None = None,
    weights: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Staff required per grid under a staffing rule, from a workload index (see the module docstring).

    Parameters
    ----------
    grids
        Grid polygons with ``grid_id``, ``households`` and optionally ``population``,
        ``community_id`` (any CRS).
    rule
        ``"one_per_grid"``, ``"per_households:N"`` or ``"1+1+2"``.
    incidents
        Incident points (GeoDataFrame, or a table with ``lon``/``lat``) counted into the workload.
    streets
        Street lines or a street graph; street length inside each grid counts into the workload.
    weights
        Workload weights by component (defaults :data:`WORKLOAD_WEIGHTS`).

    Returns
    -------
    pandas.DataFrame
        One row per grid: ``grid_id``, ``community_id``, ``households``, ``population``,
        ``street_m``, ``incidents``, ``workload`` (mean 1), ``quota`` (fractional seats),
        ``wardens`` (warden seats; a part-time warden fills ``part_time_fte`` of one), ``police``
        (police seats: 1 per grid under ``1+1+2``, an officer usually covering two neighbouring grids).
        ``attrs``: ``rule``, ``seats_total``, ``seats_from_rule`` and, under ``1+1+2``, ``community``:
        per community ``grids``, ``grid_ids``, ``households``, ``workload`` (sum over its grids),
        ``police`` (``ceil(grids / 2)`` officers), ``patrol`` and ``volunteers`` (the minimum of
        :data:`TEAM_REQUIRED`, one each).
    """
    kind, per = _parse_rule(rule)
    if kind == "rule":
        raise GridkitError(f"{rule!r} is a programme rule: its seats are gridkit.staffing.required_seats")
    if "grid_id" not in grids.columns:
        raise InputDataError("grids have no column 'grid_id'", source=source_name(grids, "<grids>"), column="grid_id")
    n = len(grids)
    households = _column(grids, "households")
    table = pd.DataFrame({
        "grid_id": grids["grid_id"].to_numpy(),
        "community_id": grids["community_id"].to_numpy() if "community_id" in grids.columns else None,
        "households": households,
        "population": _column(grids, "population"),
        "street_m": grid_street_length(grids, streets),
        "incidents": grid_incidents(grids, incidents),
    })
    table["workload"] = _workload(table, weights or WORKLOAD_WEIGHTS)
    if kind == "per_households":
        seats_from_rule = max(1, math.ceil(float(households.sum()) / per - 1e-9))
        quota = seats_from_rule * table["workload"].to_numpy() / max(table["workload"].sum(), 1e-12)
        table["quota"] = quota
        table["wardens"] = largest_remainder(quota, seats_from_rule, minimum=1)
    else:
        seats_from_rule = n
        table["quota"] = 1.0
        table["wardens"] = np.ones(n, dtype=int)
    table["police"] = np.ones(n, dtype=int) if kind == "1+1+2" else np.zeros(n, dtype=int)
    table.attrs.update(rule=rule, kind=kind, seats_total=int(table["wardens"].sum()), seats_from_rule=seats_from_rule)
    if kind == "1+1+2":
        table.attrs["community"] = _community_table(table)
    return table


def _column(grids: pd.DataFrame, col: str) -> np.ndarray:
    if col not in grids.columns:
        return np.zeros(len(grids))
    values = pd.to_numeric(grids[col], errors="coerce").fillna(0).to_numpy(dtype=float)
    return np.maximum(values, 0.0)


def _community_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per community under ``1+1+2``: grids, police officers, the team required and the community's load."""
    key = table["community_id"].astype(object).where(table["community_id"].notna(), "")
    grouped = table.assign(_c=key).groupby("_c", sort=False)
    out = pd.DataFrame({
        "community_id": grouped["community_id"].first(),
        "grids": grouped.size(),
        "grid_ids": grouped["grid_id"].agg(lambda s: ";".join(map(str, s))),
        "households": grouped["households"].sum(),
        "workload": grouped["workload"].sum(),
    }).reset_index(drop=True)
    out["police"] = np.ceil(out["grids"] / 2).astype(int)
    out["patrol"] = TEAM_REQUIRED["patrol"]
    out["volunteers"] = TEAM_REQUIRED["volunteer"]
    return out


def _workload(table: pd.DataFrame, weights: dict[str, float]) -> np.ndarray:
    parts, total = np.zeros(len(table)), 0.0
    for col, weight in weights.items():
        values = table[col].to_numpy(dtype=float)
        mean = values.mean() if len(values) else 0.0
        if weight <= 0 or mean <= 0:
            continue
        parts += weight * values / mean
        total += weight
    return parts / total if total > 0 else np.ones(len(table))


# ------------------------------------------------------------------------------------- assignment
@dataclass
class WardenPlan:
    """Who goes where, how loaded each person is, and what is missing.

    Attributes
    ----------
    assignment
        One row per roster member (GeoDataFrame of their points, roster CRS): ``warden_id``,
        ``name``, ``role``, ``capacity``, ``community_id``, ``grid_id`` (the grid, or ``;``-joined
        grids), ``n_grids``, ``distance_m`` (total walk, metres), ``status`` (``grid``,
        ``community`` or ``spare``), ``lon``/``lat`` (EPSG:4326); under ``1+1+2`` also
        ``team_community`` and ``team_grids`` (``;``-joined) for the community team.
    links
        One row per (person, grid): ``warden_id``, ``role``, ``grid_id``, ``distance_m``, ``share``
        (the seat share the person fills there).
    per_warden
        Per person with grids: ``level`` (``grid``, ``police`` or ``community``), ``community_id``,
        ``n_grids``, ``grids``, ``households``, ``population``, ``street_km``, ``incidents`` (a grid's
        load split among its wardens by seat share; police carry their grids whole; the community
        team splits its community's totals evenly), ``distance_m``.
    grids
        The grids (GeoDataFrame, input CRS) with the staffing table's columns (see :func:`staffing`)
        and ``filled``, ``shortage``, ``police_filled``, ``police_shortage``, ``staffed``,
        ``warden_ids``, ``police_ids``.
    unstaffed
        Grids with an empty seat (warden or police), and what is missing.
    shortage
        Per community and role (``warden``, ``police``, and under ``1+1+2`` ``patrol`` and
        ``volunteer``): ``required``, ``target`` (the workload-balanced team size; = required
        otherwise), ``available`` (living in the community), ``assigned``, ``shortage``.
    objective
        Total walking distance of the grid-level assignment (wardens and police), metres; the
        community team's is ``summary['team_distance_m']``.
    optimal
        Whether every sub-problem was solved to proven optimality.
    method
        The solver(s) used.
    summary
        Min, max, mean and Gini of households per grid warden (police aside), Gini of street km and
        incidents per grid warden; counts of people, grids and seats; ``team_*`` under ``1+1+2``.
    team
        Under ``1+1+2``, one row per part-time person and volunteer: ``warden_id``, ``name``, ``role``,
        ``team_role`` (``patrol``/``volunteer``), ``home_community``, ``community_id`` (where placed;
        None when no community is in reach), ``grids``, ``distance_m`` (to the community's
        representative point).
    """

    assignment: pd.DataFrame
    links: pd.DataFrame
    per_warden: pd.DataFrame
    grids: pd.DataFrame
    unstaffed: pd.DataFrame
    shortage: pd.DataFrame
    objective: float
    optimal: bool
    method: str
    summary: dict[str, Any] = field(default_factory=dict)
    team: pd.DataFrame = field(default_factory=pd.DataFrame)


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative ``values`` (0 equal, → 1 concentrated); 0 for empty or all-zero."""
    x = np.sort(np.asarray(values, dtype=float))
    if len(x) == 0 or x.sum() <= 0:
        return 0.0
    n = len(x)
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum()))


def neighbour_pairs(grids: gpd.GeoDataFrame, *, min_shared_m: float = 2.0) -> np.ndarray:
    """Pairs ``(i, j)``, ``i < j``, of grids (row positions) sharing a boundary of at least ``min_shared_m`` metres."""
    crs = local_metric_crs(grids)
    polys = grids.to_crs(crs).geometry.to_numpy()
    halo = shapely.buffer(polys, 0.5)
    i, j = shapely.STRtree(halo).query(halo, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    overlap = shapely.area(shapely.intersection(halo[i], halo[j]))  # ≈ 1 m × shared length
    keep = overlap >= min_shared_m
    return np.column_stack([i[keep], j[keep]]).astype(np.int64)


def _big(cost: np.ndarray, slots: int) -> float:
    finite = cost[np.isfinite(cost)]
    top = float(finite.max()) if len(finite) else 1.0
    return (top + 1.0) * max(slots, 1) + 1.0


def _solve_lsa(cost: np.ndarray) -> tuple[list[tuple[int, int]], bool]:
    """Rectangular assignment; forbidden (inf) pairs cost more than any real assignment set."""
    big = _big(cost, min(cost.shape))
    rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, big))
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if np.isfinite(cost[r, c])], True


def _solve_seats(cost: np.ndarray, capacity: np.ndarray, share: np.ndarray, seats: np.ndarray,
                 time_limit: float) -> tuple[list[tuple[int, int]], bool]:
    """Transportation MILP: x_wg binary, Σ_g x_wg ≤ cap_w, Σ_w share_w x_wg + s_g = seats_g, min cost + BIG·Σ s."""
    w_idx, g_idx = np.nonzero(np.isfinite(cost))
    n_w, n_g, n_x = cost.shape[0], cost.shape[1], len(w_idx)
    if n_x == 0:
        return [], True
    big = _big(cost, int(capacity.sum()))
    c = np.concatenate([cost[w_idx, g_idx], np.full(n_g, big)])
    per_warden = sp.csr_matrix((np.ones(n_x), (w_idx, np.arange(n_x))), shape=(n_w, n_x + n_g))
    per_grid = sp.hstack([sp.csr_matrix((share[w_idx], (g_idx, np.arange(n_x))), shape=(n_g, n_x)),
                          sp.identity(n_g, format="csr")], format="csr")
    seats = seats.astype(float)
    res = milp(c, integrality=np.concatenate([np.ones(n_x), np.zeros(n_g)]),
               bounds=Bounds(np.zeros(n_x + n_g), np.concatenate([np.ones(n_x), seats])),
               constraints=[LinearConstraint(per_warden, lb=-np.inf, ub=capacity.astype(float)),
                            LinearConstraint(per_grid, lb=seats, ub=seats)],
               options={"time_limit": time_limit, "mip_rel_gap": 1e-9})
    if res.x is None:
        raise GridkitError(f"warden assignment: the MILP solver found no solution ({res.message})")
    chosen = np.flatnonzero(res.x[:n_x] > 0.5)
    return [(int(w_idx[k]), int(g_idx[k])) for k in chosen], res.status == 0


def connected_clusters(pairs: np.ndarray, n: int, max_size: int, *,
                       limit: int = _CLUSTER_LIMIT) -> list[tuple[int, ...]]:
    """Every connected set of 1 to ``max_size`` grids in the neighbour graph ``pairs`` (``n`` grids).

    Each set is listed once, as sorted grid positions, smallest first (ESU enumeration: a set grows from
    its smallest grid only through neighbours larger than it, taking each neighbour once). Raises
    :class:`GridkitError` when there are more than ``limit`` sets (the caller then uses smaller ones).
    """
    neighbours: list[set[int]] = [set() for _ in range(n)]
    for i, j in np.asarray(pairs, dtype=np.int64).reshape(-1, 2).tolist():
        neighbours[i].add(j)
        neighbours[j].add(i)
    out: list[tuple[int, ...]] = []

    def grow(members: list[int], extension: set[int], near: set[int], root: int) -> None:
        out.append(tuple(sorted(members)))
        if len(out) > limit:
            raise GridkitError(f"more than {limit} connected clusters of up to {max_size} grids")
        if len(members) == max_size:
            return
        extension = set(extension)
        while extension:
            w = extension.pop()
            new = {u for u in neighbours[w] if u > root and u not in near}
            grow([*members, w], extension | new, near | new, root)

    for v in range(n):
        start = {u for u in neighbours[v] if u > v}
        grow([v], start, start | {v}, v)
    return out


def _police_clusters(grids: gpd.GeoDataFrame, max_size: int) -> tuple[list[tuple[int, ...]], bool]:
    """Connected clusters (same community) of up to ``max_size`` grids; False when cut short at 3."""
    pairs = _same_community_pairs(grids)
    if max_size <= 3:
        return connected_clusters(pairs, len(grids), max_size), True
    try:
        return connected_clusters(pairs, len(grids), max_size, limit=_CLUSTER_LIMIT), True
    except GridkitError:
        warnings.warn(f"too many connected clusters of up to {max_size} grids to list (more than "
                      f"{_CLUSTER_LIMIT}); police take clusters of at most 3 grids, and the result is not proven "
                      "optimal", GridkitWarning, stacklevel=4)
        return connected_clusters(pairs, len(grids), 3), False


def _solve_police(cost: np.ndarray, capacity: np.ndarray, clusters: list[tuple[int, ...]],
                  time_limit: float) -> tuple[list[tuple[int, int]], bool]:
    """Each officer takes one cluster of connected grids, no larger than the officer's capacity; cover most grids.

    Variables z_pk (officer p takes cluster k) and shortage s_g; every grid is covered once or counted
    short: Σ_{p, k ∋ g} z_pk + s_g = 1; each officer takes at most one cluster; minimise distance
    (sum over the cluster's grids) + BIG · Σ s.
    """
    n_p, n_g = cost.shape
    if n_p == 0 or not clusters:
        return [], True
    size = np.array([len(k) for k in clusters])
    member_g = np.concatenate([np.asarray(k, dtype=np.int64) for k in clusters])
    member_k = np.repeat(np.arange(len(clusters)), size)
    incidence = sp.csr_matrix((np.ones(len(member_g)), (member_k, member_g)), shape=(len(clusters), n_g))
    finite = np.isfinite(cost)
    group_cost = (incidence @ np.where(finite, cost, 0.0).T).T  # officer × cluster
    reachable = (incidence @ (~finite).T.astype(float)).T == 0
    allowed = reachable & (size[None, :] <= capacity[:, None])
    cols_p, cols_group = np.nonzero(allowed)
    n_z = len(cols_p)
    if n_z == 0:
        return [], True
    cover = sp.hstack([incidence[cols_group].T.tocsr(), sp.identity(n_g, format="csr")], format="csr")
    one_each = sp.csr_matrix((np.ones(n_z), (cols_p, np.arange(n_z))), shape=(n_p, n_z + n_g))
    big = _big(cost, int(np.minimum(capacity, size.max()).sum()))
    res = milp(np.concatenate([group_cost[cols_p, cols_group], np.full(n_g, big)]),
               integrality=np.concatenate([np.ones(n_z), np.zeros(n_g)]), bounds=Bounds(0, 1),
               constraints=[LinearConstraint(cover, lb=np.ones(n_g), ub=np.ones(n_g)),
                            LinearConstraint(one_each, lb=-np.inf, ub=np.ones(n_p))],
               options={"time_limit": time_limit, "mip_rel_gap": 1e-9})
    if res.x is None:
        raise GridkitError(f"police assignment: the MILP solver found no solution ({res.message})")
    out = []
    for z in np.flatnonzero(res.x[:n_z] > 0.5):
        out.extend((int(cols_p[z]), int(g)) for g in clusters[cols_group[z]])
    return out, res.status == 0


def _community_points(grids: gpd.GeoDataFrame, communities: pd.DataFrame, crs: Any) -> np.ndarray:
    """A representative point (``crs``, metres) of the union of each community's grids."""
    key = grids["community_id"].astype(object).where(grids["community_id"].notna(), "") \
        if "community_id" in grids.columns else pd.Series("", index=grids.index)
    polys = grids.to_crs(crs).geometry.to_numpy()
    shapes = [shapely.union_all(polys[(key == (cid if pd.notna(cid) else "")).to_numpy()])
              for cid in communities["community_id"]]
    return shapely.get_coordinates(shapely.point_on_surface(np.array(shapes, dtype=object))).reshape(-1, 2)


def _team_targets(communities: pd.DataFrame, available: dict[str, int]) -> pd.DataFrame:
    """Balanced team size per community and team role (the targets).

    The available people of each team role are apportioned to communities by community workload
    (largest remainder), each community at least :data:`TEAM_REQUIRED`.
    """
    out = {}
    weight = communities["workload"].to_numpy(dtype=float)
    weight = weight if weight.sum() > 0 else np.ones(len(weight))
    for team_role, minimum in TEAM_REQUIRED.items():
        total = int(available.get(team_role, 0))
        out[team_role] = largest_remainder(total * weight / weight.sum(), total, minimum=minimum)
    return pd.DataFrame(out, index=communities.index)


def _solve_team(cost: np.ndarray, member_role: np.ndarray, targets: pd.DataFrame,
                time_limit: float) -> tuple[np.ndarray, bool]:
    """Every team member to one community: required minimum first, then the balanced targets, then distance.

    Variables x_mc (member m to community c, where ``cost`` is finite), per (community, team role) a
    shortage u ≥ required − assigned and deviations d⁺ − d⁻ = assigned − target; each member with a
    community in reach goes to exactly one. Minimise BIG₂·Σu + BIG₁·Σ(d⁺ + d⁻) + Σ distance, so that no
    balance gain is paid for with a community below its minimum, and no distance with balance.
    Returns the community of each member (−1: none in reach) and whether HiGHS proved optimality.
    """
    n_m, n_c = cost.shape
    where = np.full(n_m, -1, dtype=np.int64)
    m_idx, c_idx = np.nonzero(np.isfinite(cost))
    if len(m_idx) == 0:
        return where, True
    roles = list(TEAM_REQUIRED)
    n_x, n_k = len(m_idx), n_c * len(roles)
    k_of = c_idx * len(roles) + np.array([roles.index(r) for r in member_role])[m_idx]  # (community, role) slot
    req = np.tile([TEAM_REQUIRED[r] for r in roles], n_c).astype(float)
    tgt = targets[roles].to_numpy(dtype=float).ravel()
    big1 = _big(cost, n_m)
    big2 = big1 * (2 * n_m + 1) + 1.0
    # columns: x (n_x) | u (n_k) | d+ (n_k) | d- (n_k)
    eye = sp.identity(n_k, format="csr")
    count = sp.csr_matrix((np.ones(n_x), (k_of, np.arange(n_x))), shape=(n_k, n_x))
    zero = sp.csr_matrix((n_k, n_k))
    short = sp.hstack([count, eye, zero, zero], format="csr")  # Σx + u ≥ req
    balance = sp.hstack([count, zero, -eye, eye], format="csr")  # Σx − d+ + d- = target
    reach = np.bincount(m_idx, minlength=n_m) > 0
    rows = np.flatnonzero(reach)
    pos = np.full(n_m, -1)
    pos[rows] = np.arange(len(rows))
    one = sp.hstack([sp.csr_matrix((np.ones(n_x), (pos[m_idx], np.arange(n_x))), shape=(len(rows), n_x)),
                     sp.csr_matrix((len(rows), 3 * n_k))], format="csr")
    c = np.concatenate([cost[m_idx, c_idx], np.full(n_k, big2), np.full(2 * n_k, big1)])
    res = milp(c, integrality=np.concatenate([np.ones(n_x), np.zeros(3 * n_k)]),
               bounds=Bounds(np.zeros(n_x + 3 * n_k), np.concatenate([np.ones(n_x), np.full(3 * n_k, np.inf)])),
               constraints=[LinearConstraint(short, lb=req, ub=np.inf), LinearConstraint(balance, lb=tgt, ub=tgt),
                            LinearConstraint(one, lb=1.0, ub=1.0)],
               options={"time_limit": time_limit, "mip_rel_gap": 1e-9})
    if res.x is None:
        raise GridkitError(f"community team assignment: the MILP solver found no solution ({res.message})")
    chosen = np.flatnonzero(res.x[:n_x] > 0.5)
    where[m_idx[chosen]] = c_idx[chosen]
    return where, res.status == 0


def _assign_team(grids: gpd.GeoDataFrame, roster: gpd.GeoDataFrame, table: pd.DataFrame, net: StreetMatrix | None,
                 crs: Any, same_community: bool, time_limit: float) -> tuple[pd.DataFrame, bool]:
    """The community-level team (patrol = part-time, and volunteers) of ``1+1+2``, one community each."""
    communities = table.attrs["community"]
    members = np.flatnonzero(roster["role"].isin(list(TEAM_ROLES)).to_numpy())
    team_role = roster["role"].to_numpy()[members]
    team_role = np.array([TEAM_ROLES[r] for r in team_role], dtype=object)
    cost = distance_matrix(net, _points_xy(roster.iloc[members], crs), _community_points(grids, communities, crs))
    if same_community and "community_id" in roster.columns and "community_id" in grids.columns:
        home = roster["community_id"].astype(str).to_numpy()[members]
        cost = np.where(home[:, None] == communities["community_id"].astype(str).to_numpy()[None, :], cost, np.inf)
    reach = np.isfinite(cost).any(axis=1)
    available = pd.Series(team_role[reach]).value_counts().to_dict()
    targets = _team_targets(communities, available)
    where, optimal = _solve_team(cost, team_role, targets, time_limit)
    has = where >= 0
    team = pd.DataFrame({
        "w": members, "warden_id": roster["warden_id"].to_numpy()[members], "role": roster["role"].to_numpy()[members],
        "team_role": team_role,
        "home_community": roster["community_id"].to_numpy()[members] if "community_id" in roster.columns else None,
        "c": where,
        "community_id": np.where(has, communities["community_id"].to_numpy()[np.maximum(where, 0)], None),
        "grids": np.where(has, communities["grid_ids"].to_numpy()[np.maximum(where, 0)], None),
        "distance_m": np.where(has, cost[np.arange(len(members)), np.maximum(where, 0)], np.nan),
    })
    team.attrs["targets"] = targets
    return team, optimal


def assign_wardens(
    grids: gpd.GeoDataFrame,
    roster: gpd.GeoDataFrame | pd.DataFrame | str,
    *,
    rule: str = "one_per_grid",
    graph: nx.Graph | StreetMatrix | None = None,
    incidents: pd.DataFrame | None = None,
    streets: gpd.GeoDataFrame | nx.Graph | None = None,
    part_time_fte: float = 0.5,
    same_community: bool = True,
    team_same_community: bool | None = None,
    time_limit: float = 60.0,
    max_walk_m: float | None = None,
) -> WardenPlan:
    """Assign a roster to grids under a staffing rule, minimising total walking distance, exactly.

    Parameters
    ----------
    grids
        Grid polygons (``grid_id``, ``households``, optional ``population``, ``community_id``).
    roster
        A roster (path, DataFrame or GeoDataFrame); read and checked with :func:`read_roster`
        against the grids as the district.
    rule
        Staffing rule (see :func:`staffing`). ``one_per_grid`` and ``1+1+2`` fill grid seats with
        full-time wardens only; ``per_households:N`` with full-time and part-time wardens.
    graph
        Street graph (osmnx-style, metric, edge ``length`` in m); straight lines when None.
    incidents, streets
        Optional, for the workload index and the per-warden report.
    part_time_fte
        Seat share a part-time warden fills under ``per_households`` (0.5: two make one seat).
    same_community
        Keep wardens (and police) in their own ``community_id`` when roster and grids both have one.
    team_same_community
        Under ``1+1+2``, keep the community-level team (part-time patrol, volunteers) in their own
        community (default: as ``same_community``). False lets the team go where the workload is:
        each community gets at least :data:`TEAM_REQUIRED` (one patrol member and one volunteer),
        then as close to its workload share of the team as the roster allows, then the shortest walks.
    time_limit
        Time limit per MILP, seconds; a run stopped by it reports ``optimal=False``.
    max_walk_m
        With ``same_community``, the longest walk (m) from a person's location to a grid (or the
        community, for the team) that is matched; default per community twice the diagonal of the
        box around its people and grids, plus 1 km. Each community is then solved on its own, with
        Dijkstra only from its people on the streets near it (:func:`gridkit.coverage.local_distances`),
        so time and memory grow linearly with the city. Without ``same_community`` every person may
        go to every grid, and a dense people × grids table is built (fine for a district, not a city).

    Returns
    -------
    WardenPlan
        A :class:`GridkitWarning` is issued when seats stay empty (see ``unstaffed`` and ``shortage``).
    """
    if not 0 < part_time_fte <= 1:
        raise GridkitError(f"part_time_fte must be in (0, 1], got {part_time_fte}")
    if _parse_rule(rule)[0] == "rule":  # a programme rule given as data (gridkit.staffing)
        from gridkit.staffing_plan import assign_by_rule  # noqa: PLC0415 - it builds on this module

        return assign_by_rule(grids, roster, rule, graph=graph, streets=streets, incidents=incidents,
                              same_community=same_community, time_limit=time_limit)
    roster = read_roster(roster, district=grids)
    table = staffing(grids, rule, incidents=incidents, streets=streets)
    kind = table.attrs["kind"]
    net = None if graph is None else street_matrix(graph)
    crs = net.crs if net is not None else local_metric_crs(grids)
    blocked = same_community and "community_id" in roster.columns and "community_id" in grids.columns
    team_apart = same_community if team_same_community is None else team_same_community
    links: list[tuple[int, int, float, float]] = []
    optimal, methods = True, set()
    places: list[tuple[np.ndarray, np.ndarray]] = []
    roster_xy, grid_xy = _points_xy(roster, crs), _points_xy(grids, crs)
    for r_rows, g_rows in _blocks(roster, grids, blocked):
        if blocked:
            limit = _walk_limit(max_walk_m, roster_xy[r_rows], grid_xy[g_rows])
            cost = local_distances(net, roster_xy[r_rows], grid_xy[g_rows], limit=limit)
        else:
            cost = distance_matrix(net, roster_xy[r_rows], grid_xy[g_rows])
        found, block_optimal, method = _solve_block(grids.iloc[g_rows], roster.iloc[r_rows], table.iloc[g_rows],
                                                    cost, kind=kind, part_time_fte=part_time_fte,
                                                    time_limit=time_limit)
        links += [(int(r_rows[w]), int(g_rows[g]), share, float(cost[w, g])) for w, g, share in found]
        optimal = optimal and block_optimal
        methods.add(method)
        places.append((r_rows, g_rows))
    method = " / ".join(sorted(methods)) + (" per community" if blocked else "")
    team = None
    if kind == "1+1+2":
        if blocked and team_apart:
            team = _assign_team_blocks(grids, roster, table, net, crs, places, max_walk_m)
        else:
            team, team_optimal = _assign_team(grids, roster, table, net, crs, team_apart, time_limit)
            optimal = optimal and team_optimal
        method += " + community team milp (HiGHS)"
    return _plan(grids, roster, table, links, optimal=optimal, method=method, part_time_fte=part_time_fte,
                 team=team)


def _blocks(roster: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, blocked: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """(roster rows, grid rows) of each community (grids' order), or one block of everything."""
    if not blocked:
        return [(np.arange(len(roster)), np.arange(len(grids)))]
    people = pd.Series(np.arange(len(roster))).groupby(roster["community_id"].astype(str).to_numpy()).indices
    places = pd.Series(np.arange(len(grids))).groupby(grids["community_id"].astype(str).to_numpy(), sort=False).indices
    return [(np.sort(people.get(cid, np.empty(0, dtype=np.int64))), np.sort(rows)) for cid, rows in places.items()]


def _walk_limit(max_walk_m: float | None, people_xy: np.ndarray, place_xy: np.ndarray) -> float:
    """The longest walk matched in one community (m): given, or twice the diagonal of its box plus 1 km."""
    if max_walk_m is not None:
        if not max_walk_m > 0:
            raise GridkitError(f"max_walk_m must be positive, got {max_walk_m}")
        return float(max_walk_m)
    points = np.vstack([people_xy, place_xy])
    if len(points) == 0:
        return 1000.0
    return float(2 * np.hypot(*(points.max(axis=0) - points.min(axis=0))) + 1000.0)


def _solve_block(grids: gpd.GeoDataFrame, roster: gpd.GeoDataFrame, table: pd.DataFrame, cost: np.ndarray, *,
                 kind: str, part_time_fte: float, time_limit: float) -> tuple[list[tuple[int, int, float]], bool, str]:
    """Grid wardens (and police under ``1+1+2``) of one block; (person, grid, seat share) in block positions."""
    roles = roster["role"].to_numpy()
    capacity = roster["capacity"].to_numpy()
    seat_roles = ("full_time", "part_time") if kind == "per_households" else ("full_time",)
    staff = np.flatnonzero(np.isin(roles, seat_roles))
    share = np.where(roles[staff] == "part_time", part_time_fte, 1.0)
    seats = table["wardens"].to_numpy()
    if (capacity[staff] == 1).all() and (share == 1).all() and (seats == 1).all():
        pairs, optimal = _solve_lsa(cost[staff])
        method = "linear_sum_assignment"
    else:
        pairs, optimal = _solve_seats(cost[staff], capacity[staff], share, seats, time_limit)
        method = "milp (HiGHS)"
    found = [(int(staff[w]), g, float(share[w])) for w, g in pairs]
    if kind == "1+1+2":
        police = np.flatnonzero(roles == "police")
        clusters, listed_all = _police_clusters(grids.reset_index(drop=True),
                                                int(capacity[police].max()) if len(police) else 1)
        police_links, police_optimal = _solve_police(cost[police], capacity[police], clusters, time_limit)
        found += [(int(police[p]), g, 1.0) for p, g in police_links]
        optimal = optimal and police_optimal and listed_all
        method += " + police clusters milp (HiGHS)"
    return found, optimal, method


def _assign_team_blocks(grids: gpd.GeoDataFrame, roster: gpd.GeoDataFrame, table: pd.DataFrame,
                        net: StreetMatrix | None, crs: Any, places: list[tuple[np.ndarray, np.ndarray]],
                        max_walk_m: float | None) -> pd.DataFrame:
    """The community team when it stays in its own community: each member in reach goes there (no choice left).

    The balanced targets are those of :func:`_team_targets` over the whole district, for the report.
    """
    communities = table.attrs["community"]
    row_of = {str(c): i for i, c in enumerate(communities["community_id"])}
    members = np.flatnonzero(roster["role"].isin(list(TEAM_ROLES)).to_numpy())
    where = np.full(len(members), -1, dtype=np.int64)
    distance = np.full(len(members), np.nan)
    position = np.full(len(roster), -1, dtype=np.int64)
    position[members] = np.arange(len(members))
    people_xy = _points_xy(roster, crs)
    for r_rows, g_rows in places:
        mine = r_rows[position[r_rows] >= 0]
        if len(mine) == 0 or len(g_rows) == 0:
            continue
        c = row_of[str(grids["community_id"].iloc[g_rows[0]])]
        point = _community_points(grids.iloc[g_rows], communities.iloc[[c]], crs)
        limit = _walk_limit(max_walk_m, people_xy[mine], _points_xy(grids.iloc[g_rows], crs))
        cost = local_distances(net, people_xy[mine], point, limit=limit)[:, 0]
        reach = np.isfinite(cost)
        where[position[mine[reach]]] = c
        distance[position[mine[reach]]] = cost[reach]
    team_role = np.array([TEAM_ROLES[r] for r in roster["role"].to_numpy()[members]], dtype=object)
    has = where >= 0
    targets = _team_targets(communities, pd.Series(team_role[has]).value_counts().to_dict())
    team = pd.DataFrame({
        "w": members, "warden_id": roster["warden_id"].to_numpy()[members], "role": roster["role"].to_numpy()[members],
        "team_role": team_role, "home_community": roster["community_id"].to_numpy()[members], "c": where,
        "community_id": np.where(has, communities["community_id"].to_numpy()[np.maximum(where, 0)], None),
        "grids": np.where(has, communities["grid_ids"].to_numpy()[np.maximum(where, 0)], None),
        "distance_m": distance,
    })
    team.attrs["targets"] = targets
    return team


def _same_community_pairs(grids: gpd.GeoDataFrame) -> np.ndarray:
    pairs = neighbour_pairs(grids)
    if "community_id" in grids.columns and len(pairs):
        cid = grids["community_id"].astype(str).to_numpy()
        pairs = pairs[cid[pairs[:, 0]] == cid[pairs[:, 1]]]
    return pairs


def _plan(grids: gpd.GeoDataFrame, roster: gpd.GeoDataFrame, table: pd.DataFrame,
          links: list[tuple[int, int, float, float]], *, optimal: bool, method: str,
          part_time_fte: float, team: pd.DataFrame | None = None) -> WardenPlan:
    grid_ids = table["grid_id"].to_numpy()
    link = pd.DataFrame(links, columns=["w", "g", "share", "distance_m"]).astype(
        {"w": int, "g": int, "share": float, "distance_m": float})
    # staff first, then police, each by person and grid, whatever the order the blocks were solved in
    police_first = roster["role"].to_numpy()[link["w"].to_numpy()] == "police"
    link = link.iloc[np.lexsort((link["g"].to_numpy(), link["w"].to_numpy(), police_first))].reset_index(drop=True)
    link["warden_id"] = roster["warden_id"].to_numpy()[link["w"]]
    link["role"] = roster["role"].to_numpy()[link["w"]]
    link["grid_id"] = grid_ids[link["g"]]
    link = link[["w", "g", "share", "warden_id", "role", "grid_id", "distance_m"]]
    is_police = link["role"].to_numpy() == "police"
    table = table.copy()
    filled = np.bincount(link.loc[~is_police, "g"], weights=link.loc[~is_police, "share"], minlength=len(table))
    police_n = np.bincount(link.loc[is_police, "g"], minlength=len(table))
    table["filled"] = filled
    table["shortage"] = np.maximum(table["wardens"].to_numpy() - filled, 0.0)
    table["police_filled"] = police_n
    table["police_shortage"] = np.maximum(table["police"].to_numpy() - police_n, 0)
    table["staffed"] = (table["shortage"] <= 1e-9) & (table["police_shortage"] == 0)
    for column, police in (("warden_ids", False), ("police_ids", True)):
        chosen = link.loc[is_police == police]
        joined = chosen.groupby("g", sort=True)["warden_id"].agg(";".join)
        table[column] = joined.reindex(np.arange(len(table)), fill_value="").to_numpy()
    assignment = _assignment_table(roster, link, table, team)
    per_warden = _per_warden(link, table, is_police)
    if team is not None:
        per_warden = pd.concat([per_warden, _per_team_member(team, table)], ignore_index=True)
    shortage = _shortage(roster, table, link, part_time_fte, team)
    unstaffed = table.loc[~table["staffed"], ["grid_id", "community_id", "households", "wardens", "filled",
                                              "shortage", "police", "police_filled", "police_shortage"]]
    grid_staff = per_warden[per_warden["level"] == "grid"]
    hh = grid_staff["households"].to_numpy(dtype=float)
    summary = {"rule": table.attrs.get("rule"), "wardens": len(roster), "assigned": int(link["w"].nunique()),
               "grids": len(table), "grids_staffed": int(table["staffed"].sum()),
               "seats": float(table["wardens"].sum()), "seats_filled": float(filled.sum()),
               "households_min": float(hh.min()) if len(hh) else 0.0,
               "households_max": float(hh.max()) if len(hh) else 0.0,
               "households_mean": float(hh.mean()) if len(hh) else 0.0, "households_gini": gini(hh),
               "street_km_gini": gini(grid_staff["street_km"].to_numpy()),
               "incidents_gini": gini(grid_staff["incidents"].to_numpy()),
               "distance_mean_m": float(link["distance_m"].mean()) if len(link) else 0.0}
    if team is not None:
        summary.update(team_members=len(team), team_assigned=int((team["c"] >= 0).sum()),
                       team_required=float(shortage.loc[shortage["role"].isin(list(TEAM_REQUIRED)), "required"].sum()),
                       team_distance_m=float(team["distance_m"].sum()))
    objective = float(link["distance_m"].sum())
    if len(unstaffed) or (shortage["shortage"] > 0).any():
        warnings.warn(_shortage_message(unstaffed, shortage), GridkitWarning, stacklevel=3)
    staffed = gpd.GeoDataFrame(
        pd.concat([grids.drop(columns=[c for c in table.columns if c in grids.columns and c != "grid_id"])
                   .reset_index(drop=True), table.drop(columns=["grid_id"])], axis=1),
        geometry=grids.geometry.name, crs=grids.crs)
    staffed.attrs.update(table.attrs)
    return WardenPlan(assignment=assignment, links=link.drop(columns=["w", "g"]), per_warden=per_warden,
                      grids=staffed, unstaffed=unstaffed.reset_index(drop=True), shortage=shortage,
                      objective=objective, optimal=optimal, method=method, summary=summary,
                      team=_team_table(team, roster))


def _team_table(team: pd.DataFrame | None, roster: gpd.GeoDataFrame) -> pd.DataFrame:
    columns = ["warden_id", "name", "role", "team_role", "home_community", "community_id", "grids", "distance_m"]
    if team is None:
        return pd.DataFrame(columns=columns)
    out = team.assign(name=roster["name"].to_numpy()[team["w"].to_numpy()])
    return out[columns].reset_index(drop=True)


def _assignment_table(roster: gpd.GeoDataFrame, link: pd.DataFrame, table: pd.DataFrame,
                      team: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    by_warden = link.groupby("warden_id")
    out = pd.DataFrame({"warden_id": roster["warden_id"], "name": roster["name"], "role": roster["role"],
                        "capacity": roster["capacity"]})
    out["community_id"] = roster["community_id"].to_numpy() if "community_id" in roster.columns else None
    out["grid_id"] = out["warden_id"].map(by_warden["grid_id"].agg(lambda s: ";".join(map(str, s))))
    out["n_grids"] = out["warden_id"].map(by_warden.size()).fillna(0).astype(int)
    out["distance_m"] = out["warden_id"].map(by_warden["distance_m"].sum())
    out["status"] = np.where(out["n_grids"] > 0, "grid", "spare")
    if team is not None:  # the community-level team: its community and that community's grids
        placed = team[team["c"] >= 0].set_index("warden_id")
        out["team_community"] = out["warden_id"].map(placed["community_id"])
        out["team_grids"] = out["warden_id"].map(placed["grids"])
        out.loc[out["team_community"].notna().to_numpy(), "status"] = "community"
        out["distance_m"] = out["distance_m"].fillna(out["warden_id"].map(placed["distance_m"]))
    lonlat = shapely.get_coordinates(roster.geometry.to_crs(WGS84).to_numpy())
    out["lon"], out["lat"] = lonlat[:, 0], lonlat[:, 1]
    return gpd.GeoDataFrame(out, geometry=roster.geometry.to_numpy(), crs=roster.crs)


def _per_warden(link: pd.DataFrame, table: pd.DataFrame, is_police: np.ndarray) -> pd.DataFrame:
    # a grid's load is split among its wardens by seat share; police carry their grids whole
    fill = table["filled"].to_numpy()
    frac = np.where(is_police, 1.0, link["share"].to_numpy() / np.maximum(fill[link["g"].to_numpy()], 1e-12))
    g = link["g"].to_numpy()
    loads = pd.DataFrame({"warden_id": link["warden_id"], "role": link["role"], "grid_id": link["grid_id"],
                          "distance_m": link["distance_m"]})
    for col in ("households", "population", "incidents"):
        loads[col] = table[col].to_numpy()[g] * frac
    loads["street_km"] = table["street_m"].to_numpy()[g] * frac / 1000.0
    grouped = loads.groupby(["warden_id", "role"], sort=False)
    out = grouped[["households", "population", "street_km", "incidents", "distance_m"]].sum()
    out.insert(0, "grids", grouped["grid_id"].agg(lambda s: ";".join(map(str, s))))
    out.insert(0, "n_grids", grouped.size())
    out = out.reset_index()
    out.insert(2, "level", np.where(out["role"] == "police", "police", "grid"))
    community = pd.Series(table["community_id"].to_numpy()[g], index=link.index).groupby(link["warden_id"]).first()
    out.insert(3, "community_id", out["warden_id"].map(community).to_numpy())
    return out


def _per_team_member(team: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The community team's load: the community's totals split evenly among the team members placed there."""
    placed = team[team["c"] >= 0]
    key = table["community_id"].astype(object).where(table["community_id"].notna(), "")
    totals = table.assign(street_km=table["street_m"] / 1000.0, _c=key).groupby("_c", sort=False)[
        ["households", "population", "street_km", "incidents"]].sum()
    cid = placed["community_id"].astype(object).where(placed["community_id"].notna(), "")
    size = cid.map(cid.value_counts()).to_numpy(dtype=float)
    out = pd.DataFrame({"warden_id": placed["warden_id"].to_numpy(), "role": placed["role"].to_numpy(),
                        "level": "community", "community_id": placed["community_id"].to_numpy(),
                        "n_grids": placed["grids"].str.count(";").to_numpy() + 1, "grids": placed["grids"].to_numpy()})
    for col in ("households", "population", "street_km", "incidents"):
        out[col] = totals[col].reindex(cid).to_numpy() / size
    out["distance_m"] = placed["distance_m"].to_numpy()
    return out


def _shortage(roster: gpd.GeoDataFrame, table: pd.DataFrame, link: pd.DataFrame,
              part_time_fte: float, team: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per community and role: required, target, available and assigned people (warden seats in seats).

    Wardens: seats required and filled; police (``1+1+2``): ``ceil(grids / 2)`` officers required, and
    short by the officers it would take, two grids each, to cover the grids still without one; the
    community team (``1+1+2``): ``patrol`` and ``volunteer`` rows, :data:`TEAM_REQUIRED` each, with the
    workload-balanced ``target`` (see :func:`assign_wardens`).
    """
    rows = []
    has_cid = "community_id" in table.columns and table["community_id"].notna().any()
    communities = table["community_id"].unique() if has_cid else [None]
    kind = table.attrs.get("kind")
    roles = roster["role"].to_numpy()
    seat_value = np.where(roles == "full_time", 1.0, 0.0) + np.where(
        (roles == "part_time") & (kind == "per_households"), part_time_fte, 0.0)
    police_used = link.loc[link["role"] == "police"].groupby("w")["g"].first()
    grid_key = table["community_id"].astype(str).to_numpy() if has_cid else np.zeros(len(table), dtype=object)
    home_key = roster["community_id"].astype(str).to_numpy() if has_cid and "community_id" in roster.columns \
        else None
    of_grid = pd.Series(np.arange(len(table))).groupby(grid_key).indices
    of_home = pd.Series(np.arange(len(roster))).groupby(home_key).indices if home_key is not None else None
    used = np.zeros(len(roster), dtype=bool)
    used[police_used.index.to_numpy(dtype=np.int64)] = True
    team_home = _team_home_index(team, roster) if team is not None else None
    everyone = np.arange(len(roster))
    for cid in communities:
        key = str(cid) if has_cid else 0
        in_c = of_grid.get(key, np.empty(0, dtype=np.int64))
        r_in = everyone if of_home is None else of_home.get(key, np.empty(0, dtype=np.int64))
        required, filled = table["wardens"].to_numpy()[in_c].sum(), table["filled"].to_numpy()[in_c].sum()
        rows.append({"community_id": cid, "role": "warden", "required": float(required), "target": float(required),
                     "available": float(seat_value[r_in].sum()), "assigned": float(filled),
                     "shortage": float(max(required - filled, 0))})
        if kind == "1+1+2":
            officers = math.ceil(len(in_c) / 2)
            grids_without = int(table["police_shortage"].to_numpy()[in_c].sum())
            rows.append({"community_id": cid, "role": "police", "required": float(officers),
                         "target": float(officers), "available": float((roles[r_in] == "police").sum()),
                         "assigned": float(used[r_in].sum()), "shortage": float(math.ceil(grids_without / 2))})
        if team is not None:
            rows.extend(_team_rows(team, table, cid, r_in, team_home))
    return pd.DataFrame(rows, columns=["community_id", "role", "required", "target", "available", "assigned",
                                       "shortage"])


def _team_home_index(team: pd.DataFrame, roster: gpd.GeoDataFrame) -> dict[str, Any]:
    """Lookups for :func:`_team_rows`: community row by id, team rows by roster row, counts per (community, role)."""
    position = np.full(len(roster), -1, dtype=np.int64)
    position[team["w"].to_numpy()] = np.arange(len(team))
    placed = team.loc[team["c"] >= 0]
    counts = placed.groupby(["c", "team_role"]).size().to_dict()
    return {"position": position, "counts": counts}


def _team_rows(team: pd.DataFrame, table: pd.DataFrame, cid: Any, r_in: np.ndarray,
               index: dict[str, Any]) -> list[dict[str, Any]]:
    communities = table.attrs["community"]
    targets = team.attrs["targets"]
    if "row_of" not in index:
        index["row_of"] = {str(c): i for i, c in enumerate(communities["community_id"])}
    c = index["row_of"].get(str(cid), 0)
    home = index["position"][r_in]
    home_roles = team["team_role"].to_numpy()[home[home >= 0]]
    rows = []
    for team_role, minimum in TEAM_REQUIRED.items():
        assigned = int(index["counts"].get((c, team_role), 0))
        rows.append({"community_id": cid, "role": team_role, "required": float(minimum),
                     "target": float(targets[team_role].iloc[c]), "available": float((home_roles == team_role).sum()),
                     "assigned": float(assigned), "shortage": float(max(minimum - assigned, 0))})
    return rows


def _shortage_message(unstaffed: pd.DataFrame, shortage: pd.DataFrame) -> str:
    short = shortage[shortage["shortage"] > 0]
    parts = [f"{row.community_id} {row.role}: {row.shortage:g} short ({row.available:g} available for "
             f"{row.required:g} required)" for row in short.itertuples()]
    ids = unstaffed["grid_id"].astype(str).tolist()
    shown = ", ".join(ids[:15]) + (" …" if len(ids) > 15 else "")
    return f"roster too small for the rule: {len(ids)} grid(s) not fully staffed ({shown}); " + "; ".join(parts)


def building_wardens(building_assignment: pd.DataFrame, plan: WardenPlan | pd.DataFrame) -> pd.DataFrame:
    """Map each building to its grid's warden: the nearest grid warden (full-time or part-time) of the grid.

    The one rule for which warden serves a building (:func:`gridkit.roles.is_grid_warden`); police
    officers and volunteers are nobody's own warden. Without distances (a plan read back from a
    CSV), the first grid warden listed for the grid.

    Parameters
    ----------
    building_assignment
        ``building_id`` → ``grid_id`` (as :func:`gridkit.partition.partition` returns).
    plan
        A :class:`WardenPlan`, or its ``assignment`` table as written by ``gridkit wardens``
        (``warden_id``, ``role``, ``grid_id``, grids of one person joined by ``;``).

    Returns
    -------
    pandas.DataFrame
        ``building_id``, ``grid_id``, ``warden_id`` (None where the grid has no warden); usable as
        ``assignment=`` of :func:`gridkit.coverage.coverage`.
    """
    links = plan.links if isinstance(plan, WardenPlan) else _links_from_table(plan)
    staff = links[is_grid_warden(links["role"])]
    if "distance_m" in staff.columns:
        staff = staff.sort_values("distance_m", kind="stable")
    first = staff.drop_duplicates("grid_id").set_index("grid_id")["warden_id"]
    out = building_assignment[["building_id", "grid_id"]].copy()
    out["warden_id"] = out["grid_id"].map(first)
    return out


def _links_from_table(table: pd.DataFrame) -> pd.DataFrame:
    """(warden, grid) rows from an assignment table whose ``grid_id`` joins a person's grids with ``;``."""
    for col in ("warden_id", "role", "grid_id"):
        if col not in table.columns:
            raise InputDataError(f"warden assignment has no column {col!r}", source=source_name(table, "<plan>"),
                                 column=col)
    rows = table[table["grid_id"].notna()].copy()
    rows["grid_id"] = rows["grid_id"].astype(str).str.split(";")
    rows = rows.explode("grid_id")
    rows["grid_id"] = rows["grid_id"].str.strip()
    rows["warden_id"] = rows["warden_id"].astype(str)
    return rows[rows["grid_id"] != ""].reset_index(drop=True)
