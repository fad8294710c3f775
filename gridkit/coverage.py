"""Walking-distance coverage of buildings by stations, and the siting of stations.

A planner asks two questions of a warden roster: is every household within a short walk of a
warden's station (its own warden's, or any), and where should stations go so that as many
households as possible are. Both are answered on a street graph (an osmnx-style ``networkx`` graph:
``graph.graph['crs']`` a metric CRS, nodes with ``x``/``y`` in that CRS, edges with ``length`` in
metres), or with straight-line distances when no graph is given.

Distances are measured as *snap + network + snap*: a building's representative point and a
station's point are snapped to their nearest graph node (straight line, metres), and the network
distance between the two nodes is added. Coverage of every building by its nearest station is one
multi-source Dijkstra pass (:func:`scipy.sparse.csgraph.dijkstra` with ``min_only=True``) on a CSR
matrix built once from the graph, not a loop of single-source searches. The distance of each building
to its *own* station (``assignment=``) needs one search per station in use: they run as one
:func:`~scipy.sparse.csgraph.dijkstra` call per chunk of station nodes, each chunk's stations × nodes
table bounded to 64 MB and dropped once its buildings are read, so memory stays bounded however
many stations there are.

Station siting is solved exactly as a mixed-integer programme with :func:`scipy.optimize.milp`
(HiGHS): the maximal covering location problem (choose ``p`` stations covering the most households
within the walking threshold) or the location set covering problem (the fewest stations that cover
every building). The solver status is checked; the objective and the solver's bound are reported.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from gridkit.crs import local_metric_crs
from gridkit.errors import GridkitError, InputDataError
from gridkit.io import source_name
from gridkit.network import StreetNetwork

__all__ = [
    "CoverageResult",
    "InfeasibleCoverError",
    "SitingResult",
    "StreetMatrix",
    "coverage",
    "covering_matrix",
    "distance_matrix",
    "local_distances",
    "nearest_distances",
    "site_stations",
    "street_matrix",
    "threshold_metres",
]

_CELL_M = 1000.0  # stations in one square of this side (m) are searched together for own-station distances
_EPS = 1e-9  # a zero-length edge would be read as "no edge" by csgraph: give it a hair of length


class InfeasibleCoverError(GridkitError):
    """No choice of candidate stations covers every building; ``buildings`` lists those that prevent it."""

    def __init__(self, message: str, *, buildings: list[Any], **kwargs: Any) -> None:
        self.buildings = buildings
        super().__init__(message, **kwargs)


StreetMatrix = StreetNetwork  # the one street-graph-as-arrays type (gridkit.network); old name kept


def street_matrix(graph: nx.Graph | StreetNetwork) -> StreetNetwork:
    """The :class:`gridkit.network.StreetNetwork` of a street graph (done once, reused for every search).

    Parameters
    ----------
    graph
        ``networkx`` (Multi)Graph or (Multi)DiGraph with ``graph['crs']`` metric, node attributes
        ``x``/``y`` in that CRS and edge attribute ``length`` in metres (edges without one get the
        straight distance between their nodes), or a ready network. Direction is ignored.

    Returns
    -------
    StreetNetwork
    """
    if isinstance(graph, StreetNetwork):
        return graph
    return StreetNetwork.from_graph(graph)


def threshold_metres(*, minutes: float | None, metres: float | None, speed_kmh: float = 4.5) -> float:
    """Walking threshold in metres from ``metres`` or from ``minutes`` at ``speed_kmh`` (default 10 minutes)."""
    if minutes is not None and metres is not None:
        raise GridkitError("give either minutes or metres, not both")
    if speed_kmh <= 0:
        raise GridkitError(f"walking speed must be positive, got {speed_kmh} km/h")
    if metres is None:
        metres = (10.0 if minutes is None else float(minutes)) * speed_kmh * 1000.0 / 60.0
    if not np.isfinite(metres) or metres < 0:
        raise GridkitError(f"distance threshold must be a non-negative number of metres, got {metres}")
    return float(metres)


def _points_xy(gdf: gpd.GeoDataFrame, crs: pyproj.CRS) -> np.ndarray:
    """Representative points of ``gdf`` (points stay points) in ``crs`` as an ``n × 2`` array."""
    geoms = gdf.geometry
    if gdf.crs is None:
        raise InputDataError("layer has no CRS", source=source_name(gdf))
    geoms = geoms.to_crs(crs)
    values = geoms.to_numpy()
    missing = shapely.is_missing(values) | shapely.is_empty(values)
    if missing.any():
        row = int(missing.nonzero()[0][0])
        raise InputDataError("missing or empty geometry", source=source_name(gdf), row=row)
    points = shapely.point_on_surface(values)
    return shapely.get_coordinates(points).reshape(-1, 2)


def _metric_crs(graph: StreetMatrix | None, *layers: gpd.GeoDataFrame) -> pyproj.CRS:
    if graph is not None:
        return graph.crs
    return local_metric_crs(layers[0])


def _ids(gdf: pd.DataFrame, id_col: str | None, fallback: tuple[str, ...]) -> tuple[str, np.ndarray]:
    for col in ((id_col,) if id_col else fallback):
        if col in gdf.columns:
            return col, gdf[col].to_numpy()
    if id_col:
        raise InputDataError(f"no id column {id_col!r}", source=source_name(gdf), column=id_col)
    return "index", gdf.index.to_numpy()


def nearest_distances(
    graph: StreetMatrix | None, station_xy: np.ndarray, target_xy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distance in metres from each target to its nearest station, and which station (index), in one pass.

    With a graph, each station becomes a virtual node joined to its snap node by an edge as long as
    its snap distance, and one multi-source Dijkstra (``min_only=True``) labels every node with its
    nearest station; each target adds its own snap distance. Without a graph, straight lines.
    Unreachable targets get ``inf`` and station ``-1``.
    """
    n_targets = len(target_xy)
    if len(station_xy) == 0:
        return np.full(n_targets, np.inf), np.full(n_targets, -1)
    if graph is None:
        dist, idx = cKDTree(station_xy).query(target_xy)
        return dist, idx.astype(np.int64)
    s_node, s_snap = graph.snap(station_xy)
    t_node, t_snap = graph.snap(target_xy)
    n, k = graph.matrix.shape[0], len(station_xy)
    extra = sp.csr_matrix((np.maximum(s_snap, _EPS), (np.arange(n, n + k), s_node)), shape=(n + k, n + k))
    matrix = sp.bmat([[graph.matrix, None], [None, sp.csr_matrix((k, k))]], format="csr") + extra
    dist, _, source = dijkstra(matrix, directed=False, indices=np.arange(n, n + k), min_only=True,
                               return_predecessors=True)
    station = np.where(source[t_node] >= n, source[t_node] - n, -1)
    return dist[t_node] + t_snap, station.astype(np.int64)


def distance_matrix(
    graph: StreetMatrix | None, station_xy: np.ndarray, target_xy: np.ndarray, *, limit: float = np.inf
) -> np.ndarray:
    """Dense ``stations × targets`` distance matrix in metres (snap + network + snap); ``inf`` past ``limit``.

    One multi-source Dijkstra call (one row per distinct station node), optionally cut at ``limit``.
    """
    if len(station_xy) == 0 or len(target_xy) == 0:
        return np.full((len(station_xy), len(target_xy)), np.inf)
    if graph is None:
        diff = station_xy[:, None, :] - target_xy[None, :, :]
        out = np.hypot(diff[..., 0], diff[..., 1])
        out[out > limit] = np.inf
        return out
    s_node, s_snap = graph.snap(station_xy)
    t_node, t_snap = graph.snap(target_xy)
    unique, inverse = np.unique(s_node, return_inverse=True)
    network = dijkstra(graph.matrix, directed=False, indices=unique, limit=limit)
    out = network[inverse][:, t_node] + s_snap[:, None] + t_snap[None, :]
    out[out > limit] = np.inf
    return out


def local_distances(
    graph: StreetMatrix | None, station_xy: np.ndarray, target_xy: np.ndarray, *, limit: float
) -> np.ndarray:
    """Dense ``stations × targets`` walking distances (m) up to ``limit``, searched on the nearby streets only.

    A walk of at most ``limit`` metres from a station to a target never leaves the nodes within
    ``limit / 2`` (straight line) of one of its two ends, so the search runs on the streets within
    ``limit / 2`` of the box around the stations and targets: exact up to ``limit`` (``inf`` past it)
    at a cost that depends on the size of that neighbourhood, not of the whole city.

    Parameters
    ----------
    graph
        The street matrix (None: straight lines).
    station_xy, target_xy
        Coordinates (m, ``graph.crs``).
    limit
        Longest walk (m); must be finite.
    """
    if not np.isfinite(limit):
        raise GridkitError("local_distances needs a finite limit")
    n_s, n_t = len(station_xy), len(target_xy)
    if n_s == 0 or n_t == 0:
        return np.full((n_s, n_t), np.inf)
    if graph is None:
        out = np.hypot(*(station_xy[:, None, :] - target_xy[None, :, :]).transpose(2, 0, 1))
        out[out > limit] = np.inf
        return out
    s_node, s_snap = graph.snap(station_xy)
    t_node, t_snap = graph.snap(target_xy)
    ends = np.vstack([graph.xy[s_node], graph.xy[t_node]])
    low, high = ends.min(axis=0) - limit / 2, ends.max(axis=0) + limit / 2
    centre, radius = (low + high) / 2, float(np.hypot(*(high - low)) / 2)
    near = np.asarray(graph._tree.query_ball_point(centre, radius), dtype=np.int64)  # the tree snap built
    box = near[np.all((graph.xy[near] >= low) & (graph.xy[near] <= high), axis=1)]
    nodes = np.unique(np.concatenate([box, s_node, t_node]))
    sub = graph.matrix[nodes][:, nodes]
    unique, inverse = np.unique(np.searchsorted(nodes, s_node), return_inverse=True)
    network = dijkstra(sub, directed=False, indices=unique, limit=limit)
    out = network[inverse][:, np.searchsorted(nodes, t_node)] + s_snap[:, None] + t_snap[None, :]
    out[out > limit] = np.inf
    return out


def _households(gdf: pd.DataFrame, column: str | None) -> np.ndarray:
    if column and column in gdf.columns:
        values = pd.to_numeric(gdf[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            row = int(bad.nonzero()[0][0])
            raise InputDataError("households must be a non-negative number", source=source_name(gdf), row=row,
                                 column=column)
        return values
    return np.ones(len(gdf))


@dataclass
class CoverageResult:
    """Coverage of buildings by stations within a walking threshold.

    Attributes
    ----------
    buildings
        One row per building: ``building_id``, ``households``, ``nearest_station``, ``nearest_m``,
        ``covered_any`` (nearest station within the threshold) and, when an assignment was given,
        ``assigned_station``, ``assigned_m``, ``covered_assigned``; ``covered`` is the headline flag
        (assigned station when given, else any station). Distances in metres.
    summary
        ``threshold_m``, counts and shares of buildings and households covered (any, assigned).
    uncovered
        The buildings not covered (headline flag), as a GeoDataFrame in the input CRS.
    """

    buildings: pd.DataFrame
    summary: dict[str, Any]
    uncovered: gpd.GeoDataFrame


def coverage(
    buildings: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    graph: nx.Graph | StreetMatrix | None = None,
    *,
    minutes: float | None = None,
    metres: float | None = None,
    speed_kmh: float = 4.5,
    assignment: pd.DataFrame | pd.Series | None = None,
    building_id_col: str = "building_id",
    station_id_col: str | None = None,
    households_col: str | None = "households",
) -> CoverageResult:
    """Share of households and buildings within a walk of their own (or of any) station.

    Parameters
    ----------
    buildings
        Polygons or points, any CRS; measured from their representative point.
    stations
        Station points (a warden roster as read by :func:`gridkit.wardens.read_roster`, or any points).
    graph
        Street graph (osmnx-style, metric CRS, edge ``length`` in metres) or a :class:`StreetMatrix`;
        None for straight-line distances in the local metric CRS.
    minutes, metres
        The threshold: a walk of ``minutes`` at ``speed_kmh`` or ``metres`` (default 10 minutes).
    speed_kmh
        Walking speed, km/h (default 4.5).
    assignment
        Optional building → station mapping: a Series indexed by building id, or a DataFrame with the
        building id column and the station id column. Buildings mapped to no station count as not
        covered by their own station; own-station distances beyond four times the threshold are
        reported as ``inf`` (the search stops there).
    building_id_col, station_id_col
        Id columns (station id defaults to ``station_id`` or ``warden_id``).
    households_col
        Households column of ``buildings`` (each building counts 1 when absent).

    Returns
    -------
    CoverageResult
    """
    limit = threshold_metres(minutes=minutes, metres=metres, speed_kmh=speed_kmh)
    net = None if graph is None else street_matrix(graph)
    crs = _metric_crs(net, buildings)
    b_col, b_ids = _ids(buildings, building_id_col, ("building_id",))
    s_col, s_ids = _ids(stations, station_id_col, ("station_id", "warden_id", "candidate_id"))
    b_xy, s_xy = _points_xy(buildings, crs), _points_xy(stations, crs)
    households = _households(buildings, households_col)
    dist, nearest = nearest_distances(net, s_xy, b_xy)
    table = pd.DataFrame({
        b_col: b_ids,
        "households": households,
        "nearest_station": np.where(nearest >= 0, s_ids[np.maximum(nearest, 0)], None) if len(s_ids) else None,
        "nearest_m": dist,
        "covered_any": dist <= limit,
    })
    headline = "covered_any"
    if assignment is not None:
        mapped = _assigned_stations(assignment, b_col, s_col)
        own = pd.Series(b_ids).map(mapped).to_numpy()
        table["assigned_station"] = own
        table["assigned_m"] = _own_distances(net, s_ids, s_xy, b_xy, own, limit)
        table["covered_assigned"] = table["assigned_m"].to_numpy() <= limit
        headline = "covered_assigned"
    table["covered"] = table[headline].to_numpy()
    summary = _summary(table, limit, has_assignment=assignment is not None)
    uncovered = buildings.loc[~table["covered"].to_numpy()].copy()
    return CoverageResult(buildings=table, summary=summary, uncovered=uncovered)


def _assigned_stations(assignment: pd.DataFrame | pd.Series, b_col: str, s_col: str) -> pd.Series:
    if isinstance(assignment, pd.Series):
        return assignment
    for col in (s_col, "station_id", "warden_id"):
        if b_col in assignment.columns and col in assignment.columns:
            return assignment.drop_duplicates(b_col).set_index(b_col)[col]
    raise InputDataError(f"assignment needs columns {b_col!r} and {s_col!r}", source=source_name(assignment))


def _own_distances(net: StreetMatrix | None, s_ids: np.ndarray, s_xy: np.ndarray, b_xy: np.ndarray,
                   own: np.ndarray, limit: float, *, cell_m: float = _CELL_M) -> np.ndarray:
    """Distance of each building to its own station, metres (``inf`` beyond ``4 × limit`` or unreachable).

    Stations are taken a square of ``cell_m`` metres at a time; each square's stations are searched
    together with :func:`local_distances` (cut at ``4 × limit``) on the streets near them and their
    buildings only, so time and memory grow with the number of stations, not stations × city.
    """
    out = np.full(len(b_xy), np.inf)
    position = {sid: i for i, sid in enumerate(s_ids)}
    station_of = np.array([position.get(sid, -1) if not pd.isna(sid) else -1 for sid in own], dtype=np.int64)
    has = station_of >= 0
    if not has.any():
        return out
    if net is None:
        out[has] = np.hypot(*(s_xy[station_of[has]] - b_xy[has]).T)
        return out
    rows = np.flatnonzero(has)
    station = station_of[rows]
    cell = np.floor(s_xy[station] / cell_m).astype(np.int64)
    groups = pd.DataFrame({"x": cell[:, 0], "y": cell[:, 1]}).groupby(["x", "y"], sort=True).indices
    for idx in groups.values():
        b = rows[idx]
        mine = np.unique(station[idx])
        dist = local_distances(net, s_xy[mine], b_xy[b], limit=max(limit * 4, 1.0))
        out[b] = dist[np.searchsorted(mine, station[idx]), np.arange(len(idx))]
    return out


def _summary(table: pd.DataFrame, limit: float, *, has_assignment: bool) -> dict[str, Any]:
    households = table["households"].to_numpy(dtype=float)
    total_h = float(households.sum())
    out: dict[str, Any] = {"threshold_m": limit, "buildings": len(table), "households": total_h}
    flags = [("any", "covered_any")] + ([("assigned", "covered_assigned")] if has_assignment else [])
    for name, col in flags:
        flag = table[col].to_numpy(dtype=bool)
        out[f"buildings_covered_{name}"] = int(flag.sum())
        out[f"households_covered_{name}"] = float(households[flag].sum())
        out[f"share_buildings_{name}"] = float(flag.mean()) if len(flag) else 1.0
        out[f"share_households_{name}"] = float(households[flag].sum() / total_h) if total_h else 1.0
    headline = "assigned" if has_assignment else "any"
    out["share_buildings"] = out[f"share_buildings_{headline}"]
    out["share_households"] = out[f"share_households_{headline}"]
    out["uncovered"] = int(len(table) - out[f"buildings_covered_{headline}"])
    return out


def covering_matrix(
    buildings: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    graph: nx.Graph | StreetMatrix | None = None,
    *,
    limit_m: float,
) -> sp.csr_matrix:
    """Sparse boolean ``buildings × candidates`` matrix: True where the walk is at most ``limit_m`` metres."""
    net = None if graph is None else street_matrix(graph)
    crs = _metric_crs(net, buildings)
    dist = distance_matrix(net, _points_xy(candidates, crs), _points_xy(buildings, crs), limit=limit_m)
    return sp.csr_matrix(np.isfinite(dist).T)


@dataclass
class SitingResult:
    """Stations chosen among candidates by an exact MILP (HiGHS).

    Attributes
    ----------
    selected
        The chosen candidates (GeoDataFrame, input CRS) with ``households_covered`` (households for
        which this is the nearest chosen station within reach).
    problem
        ``"max_cover"`` (p stations, most households covered) or ``"set_cover"`` (fewest stations,
        everyone covered).
    status, optimal
        The solver's message and whether it proved optimality.
    objective, bound
        Objective value (households covered, or stations used) and the solver's dual bound.
    buildings
        Per building: ``covered`` and ``station`` (nearest chosen candidate within reach, or None).
    summary
        Counts and shares of buildings and households covered, threshold, solve seconds.
    """

    selected: gpd.GeoDataFrame
    problem: str
    status: str
    optimal: bool
    objective: float
    bound: float
    buildings: pd.DataFrame
    summary: dict[str, Any]


def site_stations(
    buildings: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    graph: nx.Graph | StreetMatrix | None = None,
    *,
    p: int | None = None,
    full_cover: bool = False,
    minutes: float | None = 10,
    metres: float | None = None,
    speed_kmh: float = 4.5,
    building_id_col: str = "building_id",
    candidate_id_col: str | None = None,
    households_col: str | None = "households",
    time_limit: float = 120.0,
) -> SitingResult:
    """Choose stations among candidates: maximal covering (``p``) or set covering (``full_cover``).

    Maximal covering: maximise Σ households_j · y_j subject to y_j ≤ Σ_{i reaches j} x_i and
    Σ x_i = p, x and y binary. Set covering: minimise Σ x_i subject to Σ_{i reaches j} x_i ≥ 1 for every
    building j. A candidate reaches a building when the walk (snap + network + snap) is at most the
    threshold. Solved with :func:`scipy.optimize.milp` (HiGHS); the status must be optimal.

    Parameters
    ----------
    buildings
        Polygons or points, any CRS, with a households column (each counts 1 when absent).
    candidates
        Candidate station points, any CRS.
    graph
        Street graph (osmnx-style, metric) or None for straight lines.
    p
        Number of stations to open (maximal covering).
    full_cover
        Fewest stations that cover every building (set covering). Exactly one of ``p`` and
        ``full_cover`` must be given.
    minutes, metres, speed_kmh
        The walking threshold (default 10 minutes at 4.5 km/h = 750 m).
    building_id_col, candidate_id_col, households_col
        Column names (candidate id defaults to ``candidate_id``, ``station_id`` or ``warden_id``).
    time_limit
        Solver time limit in seconds; a run that stops on it is reported with ``optimal=False``.

    Returns
    -------
    SitingResult

    Raises
    ------
    InfeasibleCoverError
        With ``full_cover``, when some buildings have no candidate within reach (listed).
    """
    if (p is None) == (not full_cover):
        raise GridkitError("give either p (maximal covering) or full_cover=True (set covering)")
    limit = threshold_metres(minutes=None if metres is not None else minutes, metres=metres, speed_kmh=speed_kmh)
    b_col, b_ids = _ids(buildings, building_id_col, ("building_id",))
    c_col, c_ids = _ids(candidates, candidate_id_col, ("candidate_id", "station_id", "warden_id"))
    if len(candidates) == 0:
        raise InputDataError("no candidate stations", source=source_name(candidates))
    households = _households(buildings, households_col)
    net = None if graph is None else street_matrix(graph)
    crs = _metric_crs(net, buildings)
    dist = distance_matrix(net, _points_xy(candidates, crs), _points_xy(buildings, crs), limit=limit).T
    reach = sp.csr_matrix(np.isfinite(dist))
    start = time.perf_counter()
    if full_cover:
        lonely = np.asarray(reach.sum(axis=1)).ravel() == 0
        if lonely.any():
            ids = list(b_ids[lonely])
            shown = ", ".join(map(str, ids[:20])) + (" …" if len(ids) > 20 else "")
            raise InfeasibleCoverError(
                f"no full cover within {limit:.0f} m: {len(ids)} building(s) have no candidate station within "
                f"reach: {shown}", buildings=ids, source=source_name(buildings), column=b_col)
        x, res = _solve_set_cover(reach, time_limit)
    else:
        if not 1 <= int(p) <= len(candidates):
            raise GridkitError(f"p must be between 1 and the number of candidates ({len(candidates)}), got {p}")
        x, res = _solve_max_cover(reach, households, int(p), time_limit)
    seconds = time.perf_counter() - start
    chosen = np.flatnonzero(x > 0.5)
    return _siting_result(candidates, (b_col, b_ids, c_col, c_ids), households, dist, chosen, res,
                          problem="set_cover" if full_cover else "max_cover", limit=limit, seconds=seconds)


def _solve_set_cover(reach: sp.csr_matrix, time_limit: float) -> tuple[np.ndarray, Any]:
    n_b, n_c = reach.shape
    res = milp(np.ones(n_c), integrality=np.ones(n_c), bounds=Bounds(0, 1),
               constraints=[LinearConstraint(reach.astype(float), lb=np.ones(n_b), ub=np.inf)],
               options={"time_limit": time_limit})
    _check(res)
    return res.x, res


def _solve_max_cover(reach: sp.csr_matrix, households: np.ndarray, p: int, time_limit: float) -> tuple[np.ndarray, Any]:
    n_c = reach.shape[1]
    # only buildings some candidate reaches can be covered; the others stay out of the model
    reachable = np.flatnonzero(np.asarray(reach.sum(axis=1)).ravel() > 0)
    sub = reach[reachable]
    m = len(reachable)
    cost = np.concatenate([np.zeros(n_c), -households[reachable]])
    link = sp.hstack([-sub.astype(float), sp.identity(m, format="csr")], format="csr")  # y_j - Σ x_i ≤ 0
    count = sp.csr_matrix(np.concatenate([np.ones(n_c), np.zeros(m)])[None, :])
    res = milp(cost, integrality=np.concatenate([np.ones(n_c), np.zeros(m)]), bounds=Bounds(0, 1),
               constraints=[LinearConstraint(link, lb=-np.inf, ub=np.zeros(m)),
                            LinearConstraint(count, lb=p, ub=p)],
               options={"time_limit": time_limit})
    _check(res)
    return res.x[:n_c], res


def _check(res: Any) -> None:
    if res.x is None:
        raise GridkitError(f"station siting: the MILP solver found no solution ({res.message})")


def _siting_result(candidates: gpd.GeoDataFrame, ids: tuple[str, np.ndarray, str, np.ndarray],
                   households: np.ndarray, dist: np.ndarray, chosen: np.ndarray, res: Any, *, problem: str,
                   limit: float, seconds: float) -> SitingResult:
    b_col, b_ids, c_col, c_ids = ids
    sub = dist[:, chosen] if len(chosen) else np.full((len(b_ids), 1), np.inf)
    best = np.argmin(sub, axis=1)
    best_d = sub[np.arange(len(b_ids)), best]
    covered = np.isfinite(best_d)
    station = np.where(covered, c_ids[chosen][best] if len(chosen) else None, None)
    table = pd.DataFrame({b_col: b_ids, "households": households, "covered": covered, "station": station,
                          "distance_m": best_d})
    selected = candidates.iloc[chosen].copy()
    served = table.loc[covered].groupby("station")["households"].sum()
    selected["households_covered"] = selected[c_col].map(served).fillna(0.0).to_numpy() if c_col != "index" \
        else served.reindex(selected.index).fillna(0.0).to_numpy()
    objective = float(len(chosen)) if problem == "set_cover" else float(households[covered].sum())
    bound = getattr(res, "mip_dual_bound", None)
    bound = float(abs(bound)) if bound is not None and np.isfinite(bound) else float("nan")
    total_h = float(households.sum())
    summary = {"problem": problem, "threshold_m": limit, "stations": len(chosen), "buildings": len(b_ids),
               "buildings_covered": int(covered.sum()), "households": total_h,
               "households_covered": float(households[covered].sum()),
               "share_households": float(households[covered].sum() / total_h) if total_h else 1.0,
               "share_buildings": float(covered.mean()) if len(covered) else 1.0,
               "gap": float(getattr(res, "mip_gap", np.nan) or 0.0), "seconds": seconds}
    return SitingResult(selected=selected, problem=problem, status=str(res.message), optimal=res.status == 0,
                        objective=objective, bound=bound, buildings=table, summary=summary)
