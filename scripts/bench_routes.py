"""Benchmark: gridkit's patrol routes against networkx ``eulerize``, the exact optimum and lower bounds.

Datasets: the sample district (partitioned by gridkit with its own targets; stations from the
full-time wardens of ``wardens.csv``) and Monaco (``../shared/data/osm/monaco.osm.pbf``: the 9 wards
at admin level 10 as communities, the 998 buildings inside them, the walking network read from the
PBF; partitioned by area with a target of 10,000 m², the 万米单元网格, since OSM has no household
counts; buildings carry 4 levels where OSM tags none).

Per dataset, one route per grid from the required node nearest the grid's centre:

* ``covered`` / ``closed``: every required street lies within 5 cm of the route line, and the
  route is one closed LineString (checked on geometry, not on gridkit's own bookkeeping);
* ``exact``: for grids whose required streets are connected, gridkit's length against an
  independent exact optimum (networkx Dijkstra + ``min_weight_matching`` on the odd nodes);
* ``eulerize``: networkx's ``eulerize`` on the required subgraph (matching on hop counts, only
  where the required streets are connected), as percent longer than gridkit;
* rural postman (disconnected required streets): up to 12 required edges gridkit solves exactly
  (Held–Karp recursion), and the table shows how much longer the minimum-spanning-tree heuristic
  would have been; above, the gap to gridkit's proven lower bound (the best of the odd-node matching,
  the pieces' 1-tree and the cut LP), and for comparison the gap to the first round's bound (without
  the LP);
* k wardens: the sample with its full-time wardens' stations (k = wardens per grid, each route from
  its warden's own station) and Monaco with 2 per grid, once from one depot (the node nearest the
  grid's centre) and once from two synthetic stations (the westmost and the eastmost building of the
  grid): gap of the longest route to max(total bound / k, longest round trip from the nearest depot);
* door-to-door (both datasets): access points are the buildings' projections on the nearest street
  edge (against the number of distinct nearest nodes, the first round's access rule); tours of up
  to 9 stops are exact, the others' gap to the Held–Karp 1-tree bound; and OR-Tools' default search
  (``PATH_CHEAPEST_ARC``, default local search, time limit 1 s per grid) on the same network
  distances.

Usage::

    python scripts/bench_routes.py [--datasets sample,monaco] [--out table.md]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import shapely

from gridkit.network import read_osm, street_graph
from gridkit.partition import partition
from gridkit.routes import (
    Network,
    _attach_stops,
    _choose_component,
    _connect_bound,
    _connect_pieces,
    _depot,
    _grid_access,
    _jobs,
    _pieces,
    patrol_routes,
    postman_tour,
    required_edges,
    tjoin_bound,
)
from gridkit.samples import load_sample

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
MONACO = SHARED / "osm" / "monaco.osm.pbf"


def load_case(name: str) -> dict:
    if name == "sample":
        s = load_sample()
        grids = partition(s.communities, s.buildings, s.streets).grids
        t0 = time.perf_counter()
        graph = street_graph(s.streets)
        stations = s.wardens[s.wardens["role"] == "full_time"]
        return {"grids": grids, "graph": graph, "graph_s": time.perf_counter() - t0, "stations": stations,
                "buildings": s.buildings, "k": None}
    mp = pyogrio.read_dataframe(MONACO, layer="multipolygons")
    wards = mp[mp["admin_level"] == "10"][["name", "geometry"]].reset_index(drop=True)
    wards["community_id"] = [f"MC{i + 1:02d}" for i in range(len(wards))]
    bld = mp[mp["building"].notna()][["other_tags", "geometry"]].reset_index(drop=True)
    inside = shapely.STRtree(wards.geometry.to_numpy()).query(shapely.point_on_surface(bld.geometry.to_numpy()),
                                                              predicate="within")[0]
    bld = bld.iloc[np.unique(inside)].reset_index(drop=True)
    levels = [re.search(r'"building:levels"=>"(\d+)"', t) for t in bld["other_tags"].fillna("")]
    bld["levels"] = [int(m.group(1)) if m else 4 for m in levels]
    bld["building_id"] = [f"B{i:05d}" for i in range(len(bld))]
    t0 = time.perf_counter()
    streets = read_osm(MONACO)
    graph = street_graph(streets)
    graph_s = time.perf_counter() - t0
    grids = partition(wards, bld[["building_id", "levels", "geometry"]], streets, by="area", target=10_000).grids
    return {"grids": grids, "graph": graph, "graph_s": graph_s, "stations": None, "buildings": bld, "k": 2}


def simple_graph(net: Network, edges: np.ndarray) -> nx.MultiGraph:
    g = nx.MultiGraph()
    for e in edges:
        g.add_edge(int(net.eu[e]), int(net.ev[e]), length=float(net.length[e]))
    return g


def exact_cpp(full: nx.Graph, req: nx.MultiGraph) -> float:
    """Independent exact Chinese Postman length: required length + min matching on network distances."""
    odd = [n for n, d in req.degree() if d % 2]
    base = sum(d["length"] for *_, d in req.edges(data=True))
    if not odd:
        return base
    k = nx.Graph()
    for a in odd:
        dist = nx.single_source_dijkstra_path_length(full, a, weight="length")
        k.add_weighted_edges_from((a, b, dist[b]) for b in odd if b != a)
    matching = nx.min_weight_matching(k)
    return base + sum(k[a][b]["weight"] for a, b in matching)


def eulerize_length(req: nx.MultiGraph) -> float:
    shortest = {}
    for u, v, d in req.edges(data=True):
        key = (min(u, v), max(u, v))
        shortest[key] = min(shortest.get(key, np.inf), d["length"])
    euler = nx.eulerize(req)
    total = 0.0
    for u, v, d in euler.edges(data=True):
        total += d.get("length", shortest[(min(u, v), max(u, v))])
    return total


def _route_depot(net: Network, line: shapely.LineString) -> int:
    """The node a route starts at (its first coordinate)."""
    node, _ = net.nearest(shapely.get_coordinates(line)[:1])
    return int(node[0])


def old_rpp_bound(net: Network, req: np.ndarray, depot: int) -> float:
    """The first round's rural postman bound: required length + max(odd-node matching, pieces' 1-tree)."""
    pieces = _pieces(net, req)
    _, gap = _connect_pieces(net, pieces)
    if not any(depot in p for p in pieces):
        dist = net.shortest([depot])[0][0]
        to_piece = np.array([dist[p].min() for p in pieces])
        gap = np.block([[gap, to_piece[:, None]], [to_piece[None, :], np.zeros((1, 1))]])
    req_len = float(net.length[req].sum())
    return max(tjoin_bound(net, req), req_len + _connect_bound(gap))


def check_streets(case: dict) -> tuple[dict, pd.DataFrame]:
    grids, graph = case["grids"], case["graph"]
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        routes = patrol_routes(grids, graph)
    seconds = time.perf_counter() - t0
    net = Network(graph)
    required, _ = required_edges(net, grids.to_crs(net.crs).geometry)
    full = nx.Graph()
    for e in range(len(net.eu)):
        a, b = int(net.eu[e]), int(net.ev[e])
        if a != b and (not full.has_edge(a, b) or full[a][b]["length"] > net.length[e]):
            full.add_edge(a, b, length=float(net.length[e]))
    metric = routes.to_crs(net.crs)
    covered = closed = 0
    exact_gap, euler_pct, euler_s, rpp_gap, rpp_exact, rpp_old = [], [], 0.0, [], [], []
    for line, grid_req, row in zip(metric.geometry, required, routes.itertuples(), strict=True):
        if len(grid_req) == 0 or line is None:
            continue
        comp = net.component[net.eu[grid_req]]
        main = pd.Series(net.length[grid_req]).groupby(comp).sum().idxmax()
        req = grid_req[comp == main]
        covered += bool(shapely.covered_by(net.geoms[req], line.buffer(0.05)).all())
        closed += bool(line.geom_type == "LineString" and line.is_closed)
        rg = simple_graph(net, req)
        if nx.is_connected(rg):
            best = exact_cpp(full, rg)
            exact_gap.append(row.length_m / best - 1)
            t1 = time.perf_counter()
            euler_pct.append(eulerize_length(rg) / row.length_m - 1)
            euler_s += time.perf_counter() - t1
        elif row.exact:  # rural, solved exactly by the recursion: how far would the MST heuristic be?
            depot = _route_depot(net, line)
            heuristic = postman_tour(net, req, depot, exact_up_to=0).length(net)
            rpp_exact.append(heuristic / row.length_m - 1)
        else:
            rpp_gap.append(row.gap)
            rpp_old.append(row.length_m / old_rpp_bound(net, req, _route_depot(net, line)) - 1)
    walked = routes[routes.length_m > 0]
    n = len(walked)
    stats = {
        "grids": len(grids), "routed": n, "connected": len(exact_gap), "rural exact": len(rpp_exact),
        "rural bound": len(rpp_gap),
        "empty": int((routes.length_m == 0).sum()),
        "street km": walked.street_length_m.sum() / 1000, "route km": walked.length_m.sum() / 1000,
        "covered": f"{covered}/{n}", "closed": f"{closed}/{n}",
        "max gap to exact": max(np.abs(exact_gap), default=0.0),
        "eulerize longer mean": float(np.mean(euler_pct)) if euler_pct else float("nan"),
        "eulerize longer max": max(euler_pct, default=float("nan")),
        "MST heuristic over exact (mean)": float(np.mean(rpp_exact)) if rpp_exact else float("nan"),
        "rural gap to bound mean": float(np.mean(rpp_gap)) if rpp_gap else float("nan"),
        "rural gap to bound max": max(rpp_gap, default=float("nan")),
        "same, round-1 bound (mean)": float(np.mean(rpp_old)) if rpp_old else float("nan"),
        "graph s": case["graph_s"], "routes s": seconds, "eulerize s": euler_s,
    }
    return stats, routes


def two_stations(case: dict) -> pd.DataFrame:
    """Synthetic stations for Monaco: the westmost and the eastmost building of every grid (2 wardens)."""
    grids, bld = case["grids"], case["buildings"].to_crs(case["grids"].crs)
    pts = shapely.point_on_surface(bld.geometry.to_numpy())
    bi, gi = shapely.STRtree(grids.geometry.to_numpy()).query(pts, predicate="within")
    frame = pd.DataFrame({"grid_id": grids["grid_id"].astype(str).to_numpy()[gi],
                          "x": shapely.get_x(pts[bi]), "y": shapely.get_y(pts[bi])}).drop_duplicates("x")
    ends = pd.concat([frame.loc[frame.groupby("grid_id").x.idxmin()], frame.loc[frame.groupby("grid_id").x.idxmax()]])
    ends = ends[ends.groupby("grid_id").x.transform("nunique") == 2].sort_values(["grid_id", "x"])
    ends["warden_id"] = ends["grid_id"] + np.where(ends.groupby("grid_id").cumcount() == 0, "-W", "-E")
    return gpd.GeoDataFrame(ends[["warden_id", "grid_id"]], geometry=gpd.points_from_xy(ends.x, ends.y),
                            crs=grids.crs)


def check_k(case: dict, stations: object = None) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        stations = case["stations"] if stations is None else stations
        routes = patrol_routes(case["grids"], case["graph"], stations=stations, wardens_per_grid=case["k"])
        seconds = time.perf_counter() - t0
    multi = routes[routes["method"].str.endswith("-k")].to_crs(case["graph"].graph["crs"])
    multi["start"] = [tuple(np.round(shapely.get_coordinates(g)[0], 1)) if g is not None else None
                      for g in multi.geometry]  # the depot each route starts from (metric, 0.1 m)
    per_grid = multi.groupby("grid_id").agg(longest=("length_m", "max"), bound=("lower_bound_m", "max"),
                                            k=("route_no", "max"), depots=("start", lambda v: v.dropna().nunique()))
    gap = per_grid.longest / per_grid.bound - 1
    return {"grids with k>1": len(per_grid), "wardens": len(multi), "routes walked": int((multi.length_m > 0).sum()),
            "mean k": per_grid.k.mean(), "grids with several depots": int((per_grid.depots > 1).sum()),
            "min-max gap mean": gap.mean(), "min-max gap max": gap.max(), "seconds": seconds}


def ortools_tour(dist: np.ndarray, seconds: float = 1.0) -> float:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2  # noqa: PLC0415 - bench-only peer

    n = len(dist)
    scaled = np.round(dist * 100).astype(np.int64)
    manager = pywrapcp.RoutingIndexManager(n, 1, 0)
    routing = pywrapcp.RoutingModel(manager)
    cb = routing.RegisterTransitCallback(lambda i, j: int(scaled[manager.IndexToNode(i), manager.IndexToNode(j)]))
    routing.SetArcCostEvaluatorOfAllVehicles(cb)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    solution = routing.SolveWithParameters(params)
    return solution.ObjectiveValue() / 100.0


def check_buildings(case: dict) -> dict:
    grids, graph = case["grids"], case["graph"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        routes = patrol_routes(grids, graph, mode="buildings", buildings=case["buildings"])
        seconds = time.perf_counter() - t0
    tours = routes[(routes["method"] == "tsp") & (routes.length_m > 0)]
    heuristic = tours[~tours.exact]
    hk_gap = heuristic.length_m / heuristic.lower_bound_m - 1
    net = Network(graph)
    crs = net.crs
    jobs = _jobs(net, grids.to_crs(crs), grids, None, True, 2.0, crs)
    _attach_stops(jobs, grids.to_crs(crs), case["buildings"], crs)
    by_grid = tours.set_index("grid_id")
    routes_m = tours.to_crs(crs)
    old_stops, matrices, on_route = [], [], 0
    for job in jobs:
        if job.grid_id not in by_grid.index:
            continue
        keep, _ = _choose_component(net, job)
        depot, _ = _depot(net, job, keep)
        comp = int(net.component[net.eu[keep[0]]]) if len(keep) else None
        old_stops.append(len(np.unique(net.nearest(job.stops, component=comp)[0])))  # round 1: nearest node
        split, stops = _grid_access(net, job, keep, depot)
        line = routes_m.loc[routes_m.grid_id == job.grid_id].geometry.iloc[0]
        on_route += int(shapely.dwithin(line, shapely.points(split.xy[stops]), 0.01).all())
        points = np.concatenate([[depot], stops[stops != depot]])
        matrices.append((job.grid_id, split.shortest(points)[0][:, points]))
    out = {"tours": len(tours), "every access point on the route": f"{on_route}/{len(tours)}",
           "access points mean": tours.n_stops.mean(),
           "nearest-node stops mean (round 1)": float(np.mean(old_stops)),
           "exact (<= 9 stops)": int(tours.exact.sum()),
           "gap to HK bound mean (others)": hk_gap.mean(), "gap to HK bound max (others)": hk_gap.max(),
           "seconds": seconds}
    try:
        import ortools  # noqa: F401, PLC0415
    except ImportError:
        return {**out, "OR-Tools": "not installed"}
    ours, theirs, ot_s = [], [], 0.0
    for grid_id, dist in matrices:
        if len(dist) < 2:
            continue
        t1 = time.perf_counter()
        theirs.append(ortools_tour(dist))
        ot_s += time.perf_counter() - t1
        ours.append(by_grid.loc[grid_id, "length_m"])
    ratio = np.array(ours) / np.array(theirs) - 1
    return {**out, "vs OR-Tools mean": ratio.mean(), "vs OR-Tools max": ratio.max(),
            "OR-Tools shorter on": f"{int((ratio > 1e-4).sum())}/{len(ratio)}", "OR-Tools s": ot_s}


def fmt(value: object) -> str:
    if isinstance(value, float):
        if 0 < abs(value) < 5e-4:
            return f"{value:.0e}"
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def table(rows: list[dict], title: str) -> str:
    frame = pd.DataFrame(rows)
    head = "| " + " | ".join(frame.columns) + " |"
    sep = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(fmt(v) for v in r) + " |" for r in frame.itertuples(index=False)]
    return "\n".join([f"**{title}**", "", head, sep, *body, ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="sample,monaco")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    streets, kmany, doors = [], [], []
    for name in args.datasets.split(","):
        if name == "monaco" and not MONACO.exists():
            print(f"skipping monaco: {MONACO} absent", file=sys.stderr)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            case = load_case(name)
        stats, _ = check_streets(case)
        streets.append({"data": name, **stats})
        kmany.append({"data": name, **check_k(case)})
        if name == "monaco":
            kmany.append({"data": "monaco, 2 stations", **check_k(case, two_stations(case))})
        doors.append({"data": name, **check_buildings(case)})
    text = "\n".join([table(streets, "Streets: one route per grid (gaps are shares: 0.01 = 1 %)"),
                      table(kmany, "Several wardens per grid (min-max)"),
                      table(doors, "Door-to-door tours (走访)")])
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
