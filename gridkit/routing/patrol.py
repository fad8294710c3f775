"""Patrol routes (巡查路线) for every grid: the public :func:`patrol_routes` on top of the routing package.

For each grid the streets to cover (the *required* edges) are the walking-graph edges whose midpoint
lies inside the grid and, with ``include_boundary``, the edges lying along its boundary. The route
starts and ends at the grid's depot: the warden's station snapped to the network, or the required
node nearest to the grid's representative point. Each grid has a time budget: a grid whose optional
steps (bounds, local search) run out of time still gets its route, with the fact in its ``note``.

Lengths are metres, times minutes, on the graph's metric CRS; output geometries are in the grids' CRS.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridkit.errors import GridkitWarning, InputDataError
from gridkit.io import source_name
from gridkit.network import StreetNetwork
from gridkit.routing.bounds import forest_bound, round_trip_bound, rpp_lp_bound, tjoin_bound
from gridkit.routing.budget import Deadline
from gridkit.routing.postman import Tour, postman_tour, tour_length
from gridkit.routing.split import improve_routes, serving_steps, split_tour_depots
from gridkit.routing.tours import access_points, building_tour
from gridkit.spatial import polygon_holding, representative_points

__all__ = ["FAR_STATION_M", "ROUTE_COLUMNS", "patrol_routes", "required_edges", "routes_for_export"]

FAR_STATION_M = 1000.0  # a station farther than this from every street is named in its route's note

ROUTE_COLUMNS = [
    "grid_id", "warden_id", "route_no", "mode", "method", "exact", "length_m", "minutes", "street_length_m",
    "deadhead_ratio", "lower_bound_m", "bound", "gap", "n_required", "n_stops", "station_snap_m", "unreachable_m",
    "seconds", "street_names", "note", "geometry",
]


def required_edges(net: StreetNetwork, grids_metric: gpd.GeoSeries, *, include_boundary: bool = True,
                   boundary_m: float = 2.0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Edge indices inside each grid and along its boundary.

    An edge is *on the boundary* when it lies within ``boundary_m`` metres of the grid's outline
    along its whole length, and *inside* when its midpoint lies in the grid and it is not on the
    boundary. Returns (required per grid, boundary per grid); with ``include_boundary`` the required
    set includes the boundary edges.
    """
    geoms = grids_metric.to_numpy()
    n = len(geoms)
    if len(net.geoms) == 0:
        empty = [np.empty(0, dtype=np.int64) for _ in range(n)]
        return empty, empty
    mid = shapely.line_interpolate_point(net.geoms, 0.5, normalized=True)
    gi, ei = shapely.STRtree(mid).query(geoms, predicate="intersects")
    outline = shapely.buffer(shapely.boundary(geoms), boundary_m)
    bi, be = shapely.STRtree(net.geoms).query(outline, predicate="contains")
    inside = [set() for _ in range(n)]
    border = [set() for _ in range(n)]
    for g, e in zip(gi, ei, strict=True):
        inside[g].add(int(e))
    for g, e in zip(bi, be, strict=True):
        border[g].add(int(e))
    required, boundary = [], []
    for g in range(n):
        interior = inside[g] - border[g]
        chosen = interior | border[g] if include_boundary else interior
        required.append(np.array(sorted(chosen), dtype=np.int64))
        boundary.append(np.array(sorted(border[g]), dtype=np.int64))
    return required, boundary


def _stations_frame(stations: pd.DataFrame | gpd.GeoDataFrame, grids: gpd.GeoDataFrame,
                    crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Stations as points in ``crs`` with ``warden_id`` and ``grid_id`` (joined by location if absent)."""
    source = source_name(stations, "<stations>")
    if not isinstance(stations, gpd.GeoDataFrame):
        lower = {c.lower(): c for c in stations.columns}
        if not {"lon", "lat"} <= lower.keys():
            raise InputDataError("stations need a geometry or lon/lat columns", source=source)
        lon = pd.to_numeric(stations[lower["lon"]], errors="coerce")
        lat = pd.to_numeric(stations[lower["lat"]], errors="coerce")
        bad = np.flatnonzero(lon.isna().to_numpy() | lat.isna().to_numpy())
        if len(bad):
            raise InputDataError("station has no valid lon/lat", source=source, row=int(bad[0]), column="lon")
        stations = gpd.GeoDataFrame(stations.copy(), geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    if stations.crs is None:
        raise InputDataError("stations have no CRS", source=source)
    if "warden_id" not in stations:
        raise InputDataError("stations need a warden_id column", source=source, column="warden_id")
    st = stations.to_crs(crs).copy()
    st["geometry"] = shapely.point_on_surface(st.geometry.to_numpy())
    st["warden_id"] = st["warden_id"].astype(str)
    if "grid_id" not in st:
        st["grid_id"] = None
    known = set(grids["grid_id"].astype(str))
    given = st["grid_id"].notna().to_numpy()
    st.loc[given, "grid_id"] = st.loc[given, "grid_id"].astype(str)
    unknown = given & ~st["grid_id"].isin(known).to_numpy()
    if unknown.any():
        warnings.warn(f"{int(unknown.sum())} station(s) name a grid_id not among the grids "
                      f"(e.g. {st['grid_id'].to_numpy()[unknown][0]!r}); they are left out", GridkitWarning,
                      stacklevel=3)
        st = st[~unknown]
        given = given[~unknown]
    if (~given).any():  # the grid containing the station, else the nearest one
        grid_m = grids[["grid_id", "geometry"]].to_crs(crs).reset_index(drop=True)
        points = st.geometry.to_numpy()[~given]
        nearest = shapely.STRtree(grid_m.geometry.to_numpy()).query_nearest(points, all_matches=False,
                                                                            return_distance=True)
        (pi, gi), dist = nearest
        order = np.argsort(pi)
        ids = grid_m["grid_id"].astype(str).to_numpy()[gi[order]]
        st.loc[~given, "grid_id"] = ids
        outside = int((dist > 0).sum())
        if outside:
            warnings.warn(f"{outside} station(s) lie outside every grid; each joins the nearest grid",
                          GridkitWarning, stacklevel=3)
    st["grid_id"] = st["grid_id"].astype(str)
    return st.sort_values(["grid_id", "warden_id"], kind="stable")


@dataclass
class _GridJob:
    grid_id: str
    required: np.ndarray
    note: list[str]
    wardens: list[str | None]
    station_xy: np.ndarray | None  # (wardens, 2): each warden's station, metric CRS
    rep_xy: np.ndarray
    stops: np.ndarray | None = None  # buildings: representative points (x, y, metric CRS)


def _choose_component(net: StreetNetwork, job: _GridJob) -> tuple[np.ndarray, float]:
    """Keep the required edges of the network component with most required length; report the rest."""
    if len(job.required) == 0:
        return job.required, 0.0
    comp = net.component[net.eu[job.required]]
    totals = pd.Series(net.length[job.required]).groupby(comp).sum()
    main = int(totals.idxmax())
    keep = job.required[comp == main]
    lost = float(net.length[job.required[comp != main]].sum())
    if lost > 0:
        job.note.append(f"{lost:.0f} m of streets not connected to the rest of the network left out")
    return keep, lost


def _depots(net: StreetNetwork, job: _GridJob, keep: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Depot node index and station snap distance (m; NaN without a station) of each of ``k`` routes.

    Route i starts at warden i's own station snapped to the network (the component of the required
    streets); routes beyond the stations given start at the first station; without stations, every
    route starts at the required node nearest to the grid's representative point.
    """
    comp = int(net.component[net.eu[keep[0]]]) if len(keep) else None
    if job.station_xy is not None and len(job.station_xy):
        node, dist = net.nearest(job.station_xy, component=comp)
        pick = np.where(np.arange(k) < len(node), np.arange(k), 0)
        return node[pick].astype(np.int64), dist[pick].astype(float)
    if len(keep):
        nodes = np.unique(np.concatenate([net.eu[keep], net.ev[keep]]))
        node, _ = net.nearest(job.rep_xy, among=nodes)
    else:
        node, _ = net.nearest(job.rep_xy)
    return np.full(k, int(node[0]), dtype=np.int64), np.full(k, np.nan)


def _depot(net: StreetNetwork, job: _GridJob, keep: np.ndarray) -> tuple[int, float]:
    """Depot node index of the first route and the station's snap distance (NaN without a station)."""
    node, dist = _depots(net, job, keep, 1)
    return int(node[0]), float(dist[0])


def patrol_routes(
    grids: gpd.GeoDataFrame,
    graph: nx.MultiGraph | StreetNetwork,
    *,
    stations: pd.DataFrame | gpd.GeoDataFrame | None = None,
    include_boundary: bool = True,
    speed_kmh: float = 4.5,
    mode: Literal["streets", "buildings"] = "streets",
    buildings: gpd.GeoDataFrame | None = None,
    wardens_per_grid: int | dict[str, int] | None = None,
    boundary_m: float = 2.0,
    time_budget_s: float | None = 2.0,
) -> gpd.GeoDataFrame:
    """Patrol routes for every grid: shortest closed walks from the station along every street.

    Parameters
    ----------
    grids
        Grid polygons with ``grid_id`` (any CRS).
    graph
        Walking graph from :func:`gridkit.network.street_graph` (metric CRS in ``graph.graph['crs']``),
        or its :class:`gridkit.network.StreetNetwork`. A graph in a geographic CRS is refused.
    stations
        Wardens' stations: points (GeoDataFrame) or a table with ``lon``/``lat`` (EPSG:4326), with
        ``warden_id`` and optionally ``grid_id`` (otherwise the grid holding, or nearest to, the
        point). Each warden of a grid (by ``warden_id``) gets one of the grid's k min-max balanced
        routes, from and back to the warden's own station (see :func:`~gridkit.routing.split.improve_routes`).
        A station more than :data:`FAR_STATION_M` from every street is named in the row's ``note``.
    include_boundary
        Also cover the streets along the grid's outline (within ``boundary_m`` metres).
    speed_kmh
        Walking speed for ``minutes``.
    mode
        ``"streets"`` (cover every street) or ``"buildings"`` (visit every building's access point).
    buildings
        Buildings (polygons or points, any CRS) for ``mode="buildings"``.
    wardens_per_grid
        Routes per grid (an int, or a mapping grid_id → int); default the number of stations in the
        grid, or 1.
    boundary_m
        Tolerance (m) for an edge to count as lying along the grid's outline.
    time_budget_s
        Seconds per grid for the optional steps (lower bounds, local search of k routes, tour
        improvement); the route itself is always returned, and a grid that ran over says so in its
        ``note``. None: no limit.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per grid and warden, columns :data:`ROUTE_COLUMNS`, geometry in the grids' CRS: the
        route as one continuous, closed LineString (None when a grid has no street to walk, with a
        ``note``). ``lower_bound_m`` is a proven lower bound (on the longest route when k > 1),
        ``bound`` names it, ``gap`` is length / bound - 1, ``seconds`` the grid's routing time.
        ``street_names`` is a list; see :func:`routes_for_export` for files.

    Examples
    --------
    >>> from gridkit.network import street_graph
    >>> from gridkit.samples import load_sample
    >>> s = load_sample()
    >>> grids = s.communities.rename(columns={"community_id": "grid_id"}).iloc[:1]
    >>> routes = patrol_routes(grids, street_graph(s.streets))
    >>> bool(routes.geometry.iloc[0].is_closed)
    True
    """
    _check_inputs(grids, graph, mode, buildings, speed_kmh)
    net = graph if isinstance(graph, StreetNetwork) else StreetNetwork.from_graph(graph)
    crs = pyproj.CRS.from_user_input(net.crs)
    grids_m = grids.to_crs(crs) if grids.crs is not None else grids.set_crs(crs)
    jobs = _jobs(net, grids_m, grids, stations, include_boundary, boundary_m, crs)
    if mode == "buildings":
        _attach_stops(jobs, grids_m, buildings, crs)
    rows = []
    for job, k in zip(jobs, _route_counts(jobs, wardens_per_grid), strict=True):
        deadline = Deadline(time_budget_s)
        try:
            grid_rows = _grid_rows(net, job, k, mode, speed_kmh, deadline)
        except InputDataError as exc:  # this grid cannot be routed: say why, route the others
            job.note.append(f"not routed: {exc}")
            grid_rows = [_row(net, job, [], 1, Tour(depot=0, method="none"), np.nan, 0.0, speed_kmh, mode, 0)]
        if time_budget_s is not None and deadline.elapsed() > time_budget_s:
            over = (f"time budget of {time_budget_s:g} s exceeded ({deadline.elapsed():.1f} s): "
                    "bounds or improvement cut short")
            for row in grid_rows:
                row["note"] = "; ".join(filter(None, [row["note"], over]))
        for row in grid_rows:
            row["seconds"] = deadline.elapsed()
        rows.extend(grid_rows)
    empty = [r["grid_id"] for r in rows if r["geometry"] is None and r["route_no"] == 1]
    if empty:
        warnings.warn(f"{len(empty)} grid(s) have no street to walk: {', '.join(sorted(set(empty))[:10])}",
                      GridkitWarning, stacklevel=2)
    table = pd.DataFrame(rows, columns=ROUTE_COLUMNS)
    out = gpd.GeoDataFrame(table, geometry="geometry", crs=crs)
    return out.to_crs(grids.crs) if grids.crs is not None else out


def _check_inputs(grids: gpd.GeoDataFrame, graph: object, mode: str, buildings: object, speed_kmh: float) -> None:
    """Refuse bad options and grids once, at the boundary, naming the row."""
    if mode not in {"streets", "buildings"}:
        raise InputDataError(f"mode must be 'streets' or 'buildings', not {mode!r}")
    if mode == "buildings" and buildings is None:
        raise InputDataError("mode='buildings' needs buildings")
    if "grid_id" not in grids:
        raise InputDataError("grids need a grid_id column", source=source_name(grids), column="grid_id")
    if speed_kmh <= 0:
        raise InputDataError("speed_kmh must be positive")
    bad = np.flatnonzero(grids.geometry.isna().to_numpy() | grids.geometry.is_empty.to_numpy())
    if len(bad):
        raise InputDataError("grid has no geometry", source=source_name(grids, "<grids>"), row=int(bad[0]),
                             feature=grids["grid_id"].iloc[bad[0]], column="geometry")
    if not isinstance(graph, StreetNetwork) and graph.number_of_nodes() == 0:
        raise InputDataError("the street graph is empty: no street to route along")


def _jobs(net: StreetNetwork, grids_m: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, stations: object,
          include_boundary: bool, boundary_m: float, crs: pyproj.CRS) -> list[_GridJob]:
    required, boundary = required_edges(net, grids_m.geometry, include_boundary=include_boundary,
                                        boundary_m=boundary_m)
    st = _stations_frame(stations, grids, crs) if stations is not None else None
    rep = shapely.get_coordinates(shapely.point_on_surface(grids_m.geometry.to_numpy()))
    jobs = []
    for g, grid_id in enumerate(grids["grid_id"].astype(str)):
        note: list[str] = []
        req = required[g]
        if len(req) == 0 and len(boundary[g]):
            req = boundary[g]
            note.append("no street inside the grid: its boundary streets are walked")
        wardens: list[str | None] = [None]
        station_xy = None
        if st is not None:
            mine = st[st["grid_id"] == grid_id]
            if len(mine):
                wardens = mine["warden_id"].tolist()
                station_xy = shapely.get_coordinates(mine.geometry.to_numpy())
            else:
                note.append("no station in this grid: route starts at the node nearest its centre")
        jobs.append(_GridJob(grid_id, req, note, wardens, station_xy, rep[g]))
    return jobs


def _route_counts(jobs: list[_GridJob], wardens_per_grid: int | dict[str, int] | None) -> list[int]:
    counts = []
    for job in jobs:
        if isinstance(wardens_per_grid, dict):
            k = int(wardens_per_grid.get(job.grid_id, len(job.wardens)))
        elif wardens_per_grid is not None:
            k = int(wardens_per_grid)
        else:
            k = len(job.wardens)
        counts.append(max(1, k))
    return counts


def _attach_stops(jobs: list[_GridJob], grids_m: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
                  crs: pyproj.CRS) -> None:
    """Representative point (metric x, y) of every building, grouped by the grid holding it.

    The grid is :func:`gridkit.spatial.polygon_holding`'s (covers; the lowest grid position on a shared
    boundary), the same rule as every other stage, so a building on a grid's edge is not dropped.
    """
    if buildings.crs is None:
        raise InputDataError("buildings have no CRS", source=source_name(buildings, "<buildings>"))
    points = representative_points(buildings.to_crs(crs).geometry.to_numpy())
    holder = polygon_holding(points, grids_m.geometry.to_numpy())
    xy = np.column_stack([shapely.get_x(points), shapely.get_y(points)]) if len(points) else np.empty((0, 2))
    for g, job in enumerate(jobs):
        job.stops = xy[holder == g].reshape(-1, 2)


def _grid_access(net: StreetNetwork, job: _GridJob, keep: np.ndarray, depot: int) -> tuple[StreetNetwork, np.ndarray]:
    """The network split at the access points of a grid's buildings (see :func:`access_points`)."""
    comp = int(net.component[net.eu[keep[0]]]) if len(keep) else int(net.component[depot])
    split, node, dist = access_points(net, job.stops, component=comp)
    job.note.append(f"{len(job.stops)} buildings reach the street at {len(np.unique(node))} access points "
                    f"(median {np.median(dist):.0f} m from the street)")
    return split, np.unique(node)


def _buildings_tour(net: StreetNetwork, job: _GridJob, keep: np.ndarray, depot: int, deadline: Deadline) -> tuple:
    """Door-to-door tour of one grid: (split network, tour, serving steps, stop nodes)."""
    net, stop_nodes = _grid_access(net, job, keep, depot)
    tour = building_tour(net, stop_nodes, depot, deadline=deadline)
    stops = set(stop_nodes.tolist())
    seen: set[int] = set()
    serving = np.zeros(len(tour.walk), dtype=bool)
    for i, n in enumerate(net.walk_nodes(tour.walk, depot)[1:]):
        if int(n) in stops and int(n) not in seen:
            seen.add(int(n))
            serving[i] = True
    return net, tour, serving, stop_nodes


def _k_bound(net: StreetNetwork, tour: Tour, depots: np.ndarray, keep: np.ndarray, stop_nodes: np.ndarray | None,
             deadline: Deadline) -> tuple[float, str]:
    """max(total / k, farthest round trip from the nearest depot): a lower bound on the longest route."""
    k = len(depots)
    one_depot = len(np.unique(depots)) == 1
    if stop_nodes is not None:
        far = 2.0 * float(net.shortest(np.unique(depots))[0][:, stop_nodes].min(axis=0).max())
        total, name = (tour.lower_bound_m, "tour") if one_depot else (forest_bound(net, stop_nodes, depots), "forest")
    else:
        far = round_trip_bound(net, keep, depots)
        if one_depot:
            total, name = tour.lower_bound_m, tour.bound_method
        else:
            total, name = tjoin_bound(net, keep), "tjoin"
            lp = rpp_lp_bound(net, keep, depots, deadline=deadline)
            if lp is not None and lp > total:
                total, name = lp, "cut-lp"
    if far >= total / k:
        return far, "round-trip"
    return total / k, f"{name}/k"


def _best_split(net: StreetNetwork, tour: Tour, depots: np.ndarray, serving: np.ndarray,
                keep: np.ndarray | None, deadline: Deadline) -> list[list[tuple[int, bool]]]:
    """Routes from their depots: route first, cluster second, then local search.

    The best cut of the single tour planned from each distinct depot, then
    :func:`~gridkit.routing.split.improve_routes` moves required edges between the routes.
    """
    walks = split_tour_depots(net, tour, depots, serving)
    if keep is None:
        return walks
    best = max(tour_length(net, w) for w in walks)
    for other in np.unique(depots):
        if int(other) == tour.depot or deadline.expired():
            continue
        alt = postman_tour(net, keep, int(other), deadline=deadline)
        alt_walks = split_tour_depots(net, alt, depots, serving_steps(alt.walk, set(keep.tolist())))
        longest = max(tour_length(net, w) for w in alt_walks)
        if longest < best - 1e-9:
            walks, best = alt_walks, longest
    return improve_routes(net, walks, depots, keep, deadline=deadline)


def _grid_rows(net: StreetNetwork, job: _GridJob, k: int, mode: str, speed_kmh: float,
               deadline: Deadline) -> list[dict]:
    """The route rows of one grid (k of them, one per warden, each from the warden's own station)."""
    keep, lost = _choose_component(net, job)
    depots, snaps = _depots(net, job, keep, k)
    depot = int(depots[0])
    stop_nodes = None
    if mode == "buildings" and job.stops is not None and len(job.stops):
        net, tour, serving, stop_nodes = _buildings_tour(net, job, keep, depot, deadline)
    else:
        if mode == "buildings":
            job.note.append("no building in this grid: its streets are walked instead")
        tour = postman_tour(net, keep, depot, deadline=deadline)
        serving = serving_steps(tour.walk, set(keep.tolist()))
    n_stops = 0 if stop_nodes is None else len(stop_nodes)
    if not tour.walk:
        job.note.append("every building is reached at the start node" if n_stops
                        else "no street inside or on the boundary of this grid")
        return [_row(net, job, [], 1, tour, snaps[0], lost, speed_kmh, mode, n_stops)]
    if not tour.exact and tour.method == "rpp" and stop_nodes is None and not deadline.expired():
        lp = rpp_lp_bound(net, keep, depot, deadline=deadline)
        if lp is not None and lp > tour.lower_bound_m:
            tour.lower_bound_m, tour.bound_method = lp, "cut-lp"
    walks = _best_split(net, tour, depots, serving, keep if stop_nodes is None else None, deadline) if k > 1 \
        else [tour.walk]
    if k > 1:
        bound, name = _k_bound(net, tour, depots, keep, stop_nodes, deadline)
        tour = Tour(depot=depot, walk=tour.walk, lower_bound_m=bound, exact=False, method=f"{tour.method}-k",
                    n_pieces=tour.n_pieces, bound_method=name)
        made = sum(1 for w in walks if w)
        if made < k:
            job.note.append(f"{k} wardens but the streets make only {made} routes")
    rows = []
    longest = max(tour_length(net, w) for w in walks)
    remaining = set(keep.tolist())
    for i, walk in enumerate(walks):
        mine = remaining & {e for e, _ in walk}  # each street counted for the first route that walks it
        remaining -= mine
        rows.append(_row(net, job, walk, i + 1, tour, snaps[i], lost, speed_kmh, mode, n_stops,
                         served=None if n_stops else mine))
        if k > 1 and walk:  # the bound is on the longest route: its gap is the grid's
            rows[-1]["gap"] = max(0.0, longest / tour.lower_bound_m - 1.0) if tour.lower_bound_m > 0 else 0.0
    return rows


def _row(net: StreetNetwork, job: _GridJob, walk: list[tuple[int, bool]], route_no: int, tour: Tour,
         snap: float, lost: float, speed_kmh: float, mode: str, n_stops: int,
         served: set[int] | None = None) -> dict:
    length = tour_length(net, walk)
    edges = {e for e, _ in walk}
    street = float(net.length[sorted(edges & served)].sum()) if served is not None else float(
        net.length[sorted(edges)].sum())
    warden = job.wardens[route_no - 1] if route_no - 1 < len(job.wardens) else None
    bound = tour.lower_bound_m
    note = list(job.note)
    if np.isfinite(snap) and snap > FAR_STATION_M:
        note.append(f"station of warden {warden} is {snap:,.0f} m from the nearest street node of the network")
    return {
        "grid_id": job.grid_id, "warden_id": warden, "route_no": route_no, "mode": mode,
        "method": tour.method, "exact": bool(tour.exact and len(walk) > 0), "length_m": length,
        "minutes": length / (speed_kmh * 1000.0 / 60.0), "street_length_m": street,
        "deadhead_ratio": length / street if street > 0 else float("nan"),
        "lower_bound_m": bound if walk else 0.0, "bound": tour.bound_method if walk else "",
        "gap": max(0.0, length / bound - 1.0) if walk and bound > 0 else 0.0,
        "n_required": len(edges & served) if served is not None else 0, "n_stops": n_stops,
        "station_snap_m": snap, "unreachable_m": lost, "seconds": 0.0, "street_names": net.walk_names(walk),
        "note": "; ".join(note), "geometry": net.walk_line(walk),
    }


def routes_for_export(routes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Copy of ``routes`` fit for GeoJSON/GPKG: ``street_names`` joined with " / "."""
    out = routes.copy()
    out["street_names"] = [" / ".join(v) if isinstance(v, list | tuple) else (v or "") for v in out["street_names"]]
    return out

