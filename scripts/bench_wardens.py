"""Benchmark: gridkit's warden assignment, coverage and station siting against exact references, in one run.

Checks (one row each in the printed markdown table):

* ``assign one_per_grid``: :func:`gridkit.wardens.assign_wardens` on the sample district (its roster,
  its partition, the street graph of ``gridkit.network.street_graph``) against
  :func:`scipy.optimize.linear_sum_assignment` on the same cost matrix (walking metres from each
  full-time warden to each grid of the warden's community; other pairs forbidden);
* ``assign per_households:250`` and ``assign random capacities``: gridkit's transportation MILP
  (HiGHS) against :func:`networkx.max_flow_min_cost` on the same integer (millimetre) costs, seats and
  capacities; the sample instance is short of staff, so both fill the most seats first, then minimise
  distance;
* ``police clusters capacity 3``: under ``1+1+2`` officers of capacity 3 take connected clusters of up
  to three neighbouring grids (:func:`gridkit.wardens.assign_wardens`, a set-partitioning MILP over
  the listed clusters) against exhaustive enumeration of every choice of clusters for every officer
  (4 × 3 square grids, three officers), on the same straight-line costs;
* ``community team (free)``: the ``1+1+2`` community team of the sample placed by workload across
  communities (``team_same_community=False``), gridkit's MILP against :func:`networkx.max_flow_min_cost`
  on an independent convex-cost flow model (member → community arcs at walking millimetres; community
  → sink arcs rewarding the minimum and the target and charging above it);
* ``street km adds up``: the per-warden street km of the sample (boundary streets split half-and-half)
  summed, against the district's street length (the streets clipped to the grids, shapely);
* ``coverage vs brute force``: :func:`gridkit.coverage.coverage` (one multi-source Dijkstra pass)
  against a networkx Dijkstra from every building's node, on the sample (1,746 buildings, 163
  stations, 5 minutes);
* ``MCLP p=…``: :func:`gridkit.coverage.site_stations` (scipy milp, HiGHS) against spopt's ``MCLP``
  on the same distance matrix (5 minutes = 375 m), solved by pulp with HiGHS (``highspy``) and with
  CBC; gridkit's time is the whole call (network distances, model, solve), spopt's the model
  building and solve on the given matrix;
* ``coverage 100k``: 100,000 random buildings and 300 stations on the São Paulo OSM network
  (``../shared/data/r5py-sao-paulo/spo_osm.pbf`` read by ``gridkit.network.graph_from_osm``, when
  present) and on a synthetic 400 × 400 street lattice (160,000 nodes, 319,200 edges, random
  lengths 100–200 m per 100 m block side): graph → CSR conversion, the coverage pass (nearest station,
  and each building's own station: the straight-line nearest one, as a grid's warden would be), and
  both; the note gives the peak memory of the coverage call (tracemalloc, a separate run).

Usage::

    python scripts/bench_wardens.py [--out table.md]
"""

from __future__ import annotations

import argparse
import itertools
import time
import tracemalloc
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pulp
import shapely
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree
from spopt.locate import MCLP

from gridkit import network
from gridkit.coverage import _points_xy, coverage, distance_matrix, site_stations, street_matrix
from gridkit.crs import local_metric_crs
from gridkit.partition import partition
from gridkit.samples import load_sample
from gridkit.wardens import (
    TEAM_REQUIRED,
    _community_points,
    _solve_seats,
    _team_targets,
    assign_wardens,
    grid_street_length,
    neighbour_pairs,
    read_roster,
    staffing,
)

SAO_PAULO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "r5py-sao-paulo" / "spo_osm.pbf"
ROWS: list[dict] = []


def row(check: str, case: str, gridkit: float, peer: float | None, peer_name: str, seconds: float,
        peer_seconds: float | None, note: str = "", *, tol: float = 1e-6) -> None:
    equal = "n/a" if peer is None else ("yes" if abs(gridkit - peer) <= tol * max(1.0, abs(peer)) else "NO")
    ROWS.append({"check": check, "case": case, "gridkit": f"{gridkit:,.3f}".rstrip("0").rstrip("."),
                 "reference": "" if peer is None else f"{peer:,.3f}".rstrip("0").rstrip("."),
                 "reference is": peer_name, "equal": equal, "gridkit s": f"{seconds:.3f}",
                 "reference s": "" if peer_seconds is None else f"{peer_seconds:.3f}", "note": note})
    print(ROWS[-1], flush=True)


def timed(func, *args, **kwargs):
    start = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - start


def bench_assignment(sample, grids, graph) -> None:
    roster = read_roster(sample.wardens, district=grids)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan, seconds = timed(assign_wardens, grids, roster, graph=graph)
    net = street_matrix(graph)
    cost = distance_matrix(net, _points_xy(roster, net.crs), _points_xy(grids, net.crs))
    same = roster["community_id"].to_numpy()[:, None] == grids["community_id"].to_numpy()[None, :]
    full = np.flatnonzero(roster["role"].to_numpy() == "full_time")
    masked = np.where(same, cost, 1e9)[full]
    (r, c), peer_seconds = timed(linear_sum_assignment, masked)
    peer = float(masked[r, c][masked[r, c] < 1e9].sum())
    row("assign one_per_grid", f"sample, {len(full)} full-time → {len(grids)} grids, streets", plan.objective, peer,
        "scipy linear_sum_assignment", seconds, peer_seconds, f"optimal={plan.optimal}; {plan.method}", tol=1e-9)

    table = staffing(grids, "per_households:250")
    staff = np.flatnonzero(np.isin(roster["role"].to_numpy(), ["full_time", "part_time"]))
    int_cost = np.where(same, np.round(cost * 1000), np.inf)[staff]
    capacity = roster["capacity"].to_numpy()[staff]
    seats = table["wardens"].to_numpy()
    _flow_row("assign per_households:250", f"sample, {len(staff)} staff, {seats.sum()} seats (short)", int_cost,
              capacity, seats)

    rng = np.random.default_rng(0)
    n_w, n_g = 300, 200
    xy_w, xy_g = rng.uniform(0, 5000, (n_w, 2)), rng.uniform(0, 5000, (n_g, 2))
    rand_cost = np.round(np.hypot(*(xy_w[:, None, :] - xy_g[None, :, :]).transpose(2, 0, 1)) * 1000)
    _flow_row("assign random capacities", f"{n_w} wardens (capacity 1–3) → {n_g} grids (1–2 seats)", rand_cost,
              rng.integers(1, 4, n_w), rng.integers(1, 3, n_g))


def _flow_row(check: str, case: str, cost: np.ndarray, capacity: np.ndarray, seats: np.ndarray) -> None:
    (pairs, optimal), seconds = timed(_solve_seats, cost, capacity, np.ones(len(capacity)), seats, 120.0)
    ours = sum(cost[w, g] for w, g in pairs) / 1000.0
    graph = nx.DiGraph()
    for w in range(cost.shape[0]):
        graph.add_edge("s", ("w", w), capacity=int(capacity[w]), weight=0)
        for g in np.flatnonzero(np.isfinite(cost[w])):
            graph.add_edge(("w", w), ("g", g), capacity=1, weight=int(cost[w, g]))
    for g in range(cost.shape[1]):
        graph.add_edge(("g", g), "t", capacity=int(seats[g]), weight=0)
    flow, peer_seconds = timed(nx.max_flow_min_cost, graph, "s", "t")
    peer = nx.cost_of_flow(graph, flow) / 1000.0
    filled = sum(flow[("g", g)]["t"] for g in range(cost.shape[1]))
    row(check, case, ours, peer, "networkx max_flow_min_cost", seconds, peer_seconds,
        f"seats filled {len(pairs)} vs {filled}; optimal={optimal}", tol=1e-9)


def _clusters_brute(pairs: np.ndarray, n: int, k: int) -> list[tuple[int, ...]]:
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(map(tuple, pairs))
    return [c for size in range(1, k + 1) for c in itertools.combinations(range(n), size)
            if nx.is_connected(graph.subgraph(c))]


def bench_police_clusters() -> None:
    rng = np.random.default_rng(3)
    size, n_x, n_y = 100.0, 4, 3
    cells = [shapely.box(400000 + i * size, 3380000 + j * size, 400000 + (i + 1) * size, 3380000 + (j + 1) * size)
             for j in range(n_y) for i in range(n_x)]
    grids = gpd.GeoDataFrame({"grid_id": [f"G{k}" for k in range(len(cells))], "households": 100}, geometry=cells,
                             crs="EPSG:32648")
    capacities = [3, 3, 2]
    n_g, n_p = len(cells), len(capacities)
    xy = rng.uniform([400000, 3380000], [400000 + n_x * size, 3380000 + n_y * size], size=(n_g + n_p, 2))
    roster = gpd.GeoDataFrame({"warden_id": [f"W{i}" for i in range(n_g + n_p)], "name": "x",
                               "role": ["full_time"] * n_g + ["police"] * n_p, "capacity": [1] * n_g + capacities},
                              geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:32648")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan, seconds = timed(assign_wardens, grids, roster, rule="1+1+2")
    police = plan.links[plan.links["role"] == "police"]
    g_xy = shapely.get_coordinates(grids.geometry.representative_point().to_numpy())
    cost = np.hypot(xy[n_g:, None, 0] - g_xy[None, :, 0], xy[n_g:, None, 1] - g_xy[None, :, 1])

    def brute() -> tuple[int, float]:
        groups = [(), *_clusters_brute(neighbour_pairs(grids), n_g, max(capacities))]
        group_cost = [[sum(cost[p, g] for g in grp) for grp in groups] for p in range(n_p)]
        best = (-1, 0.0)
        for choice in itertools.product(range(len(groups)), repeat=n_p):
            chosen = [groups[k] for k in choice]
            if any(len(grp) > capacities[p] for p, grp in enumerate(chosen)):
                continue
            covered = [g for grp in chosen for g in grp]
            if len(covered) != len(set(covered)):
                continue
            best = max(best, (len(covered), -sum(group_cost[p][k] for p, k in enumerate(choice))))
        return best[0], -best[1]

    (covered, best), peer_seconds = timed(brute)
    row("police clusters capacity 3", f"{n_x}×{n_y} grids, {n_p} officers (capacity 3, 3, 2)",
        float(police["distance_m"].sum()), best, "exhaustive enumeration", seconds, peer_seconds,
        f"grids covered {len(police)} vs {covered}; optimal={plan.optimal}")


def bench_team(sample, grids, graph) -> None:
    roster = read_roster(sample.wardens, district=grids)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan, seconds = timed(assign_wardens, grids, roster, rule="1+1+2", graph=graph, team_same_community=False)
    communities = staffing(grids, "1+1+2").attrs["community"]
    net = street_matrix(graph)
    members = roster[roster["role"].isin(["part_time", "volunteer"])].reset_index(drop=True)
    team_role = np.where(members["role"] == "part_time", "patrol", "volunteer")
    cost = np.round(distance_matrix(net, _points_xy(members, net.crs),
                                    _community_points(grids, communities, net.crs)) * 1000).astype(np.int64)
    targets = _team_targets(communities, pd.Series(team_role).value_counts().to_dict())
    big1 = int(cost.max() + 1) * len(members) + 1
    big2 = big1 * (2 * len(members) + 1) + 1

    def flow() -> tuple[float, int]:
        g = nx.DiGraph()
        for m in range(len(members)):
            g.add_edge("s", ("m", m), capacity=1, weight=0)
            for c in range(len(communities)):
                g.add_edge(("m", m), ("c", c, team_role[m]), capacity=1, weight=int(cost[m, c]))
        for c in range(len(communities)):
            for role, req in TEAM_REQUIRED.items():
                tgt = int(targets[role].iloc[c])
                g.add_edge(("c", c, role), ("r", c, role), capacity=req, weight=-big2 - big1)
                g.add_edge(("c", c, role), ("u", c, role), capacity=tgt - req, weight=-big1)
                g.add_edge(("c", c, role), ("o", c, role), capacity=len(members), weight=big1)
                for hop in ("r", "u", "o"):
                    g.add_edge((hop, c, role), "t", capacity=len(members), weight=0)
        result = nx.max_flow_min_cost(g, "s", "t")
        distance = sum(cost[m, c] * result[("m", m)][("c", c, team_role[m])]
                       for m in range(len(members)) for c in range(len(communities))) / 1000.0
        over = sum(result[("c", c, r)][("o", c, r)] for c in range(len(communities)) for r in TEAM_REQUIRED)
        return distance, over

    (peer, over), peer_seconds = timed(flow)
    assigned = plan.shortage[plan.shortage["role"].isin(list(TEAM_REQUIRED))]
    deviation = int((assigned["assigned"] - assigned["target"]).abs().sum())
    row("community team (free)", f"sample, {len(members)} patrol + volunteers → {len(communities)} communities, "
        "streets", plan.summary["team_distance_m"], peer, "networkx max_flow_min_cost", seconds, peer_seconds,
        f"deviation from workload targets {deviation} (flow: {over} above target); optimal={plan.optimal}", tol=1e-6)


def bench_street_km(sample, grids) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan, seconds = timed(assign_wardens, grids, read_roster(sample.wardens, district=grids),
                              streets=sample.streets)
    ours = float(plan.per_warden.loc[plan.per_warden["level"] == "grid", "street_km"].sum())
    crs = local_metric_crs(grids)
    start = time.perf_counter()
    polys = grids.to_crs(crs).geometry.to_numpy()
    lines = shapely.get_parts(sample.streets.to_crs(crs).geometry.to_numpy())
    district = shapely.buffer(shapely.union_all(polys), 0.05)
    total = float(shapely.length(shapely.intersection(lines, district)).sum()) / 1000
    peer_seconds = time.perf_counter() - start
    naive = float(sum(shapely.length(shapely.intersection(p, lines)).sum() for p in polys)) / 1000
    split = grid_street_length(grids, sample.streets).sum() / 1000
    row("street km adds up", f"sample, {len(grids)} grids, {len(lines)} streets", ours, total,
        "shapely: streets clipped to the district", seconds, peer_seconds,
        f"grids {split:,.3f} km; counting boundary streets twice gave {naive:,.3f} km", tol=1e-9)


def brute_nearest(graph: nx.MultiGraph, b_xy: np.ndarray, s_xy: np.ndarray) -> np.ndarray:
    net = street_matrix(graph)
    b_node, b_snap = net.snap(b_xy)
    s_node, s_snap = net.snap(s_xy)
    out = np.empty(len(b_xy))
    for k in range(len(b_xy)):
        lengths = nx.single_source_dijkstra_path_length(graph, net.node_ids[b_node[k]], weight="length")
        best = np.inf
        for i in range(len(s_xy)):
            d = lengths.get(net.node_ids[s_node[i]])
            if d is not None:
                best = min(best, d + s_snap[i])
        out[k] = best + b_snap[k]
    return out


def bench_coverage(sample, graph) -> None:
    roster = read_roster(sample.wardens)
    result, seconds = timed(coverage, sample.buildings, roster, graph, minutes=5)
    net = street_matrix(graph)
    b_xy, s_xy = _points_xy(sample.buildings, net.crs), _points_xy(roster, net.crs)
    brute, peer_seconds = timed(brute_nearest, graph, b_xy, s_xy)
    ours = result.buildings["nearest_m"].to_numpy()
    diff = float(np.max(np.abs(ours - brute)))
    covered_brute = int((brute <= result.summary["threshold_m"]).sum())
    row("coverage vs brute force", f"sample, {len(b_xy)} buildings, {len(s_xy)} stations, 5 min",
        result.summary["buildings_covered_any"], covered_brute, "networkx Dijkstra per building", seconds,
        peer_seconds, f"max |Δ distance| {diff:.2e} m; households covered {result.summary['share_households']:.3f}")


def bench_mclp(sample, graph) -> None:
    roster = read_roster(sample.wardens)
    net = street_matrix(graph)
    limit = 375.0
    dist = distance_matrix(net, _points_xy(roster, net.crs), _points_xy(sample.buildings, net.crs), limit=limit).T
    weights = sample.buildings["households"].to_numpy(dtype=float)
    finite = np.where(np.isfinite(dist), dist, 1e9)
    for p in (3, 6, 12):
        result, seconds = timed(site_stations, sample.buildings, roster, graph, p=p, metres=limit)
        for solver_name, solver in (("HiGHS", pulp.HiGHS(msg=False)), ("CBC", pulp.PULP_CBC_CMD(msg=False))):
            start = time.perf_counter()
            model = MCLP.from_cost_matrix(finite, weights, service_radius=limit, p_facilities=p)
            model.solve(solver)
            peer_seconds = time.perf_counter() - start
            peer = float(pulp.value(model.problem.objective))
            row(f"MCLP p={p}", f"sample, {len(weights)} buildings, {len(roster)} candidates, 5 min",
                result.objective, peer, f"spopt MCLP + pulp {solver_name}", seconds, peer_seconds,
                f"gridkit bound {result.bound:g}, optimal={result.optimal}")


def bench_scale(graph: nx.MultiGraph, label: str, *, n_buildings: int = 100_000, n_stations: int = 300) -> None:
    rng = np.random.default_rng(1)
    xy = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)])
    low, high = xy.min(axis=0), xy.max(axis=0)
    b_xy, s_xy = rng.uniform(low, high, (n_buildings, 2)), rng.uniform(low, high, (n_stations, 2))
    households = rng.integers(1, 60, n_buildings)
    buildings = gpd.GeoDataFrame({"building_id": np.arange(n_buildings), "households": households},
                                 geometry=gpd.points_from_xy(b_xy[:, 0], b_xy[:, 1]), crs=graph.graph["crs"])
    stations = gpd.GeoDataFrame({"station_id": np.arange(n_stations)},
                                geometry=gpd.points_from_xy(s_xy[:, 0], s_xy[:, 1]), crs=graph.graph["crs"])
    own = pd.Series(np.arange(n_stations)[cKDTree(s_xy).query(b_xy)[1]], index=np.arange(n_buildings))
    net, convert = timed(street_matrix, graph)
    result, seconds = timed(coverage, buildings, stations, net, minutes=10, assignment=own)
    tracemalloc.start()
    coverage(buildings, stations, net, minutes=10, assignment=own)
    peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    dense_mb = n_stations * graph.number_of_nodes() * 8 / 1e6
    row("coverage 100k", f"{label}: {graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges, "
        f"{n_buildings:,} buildings, {n_stations} stations, own + any", seconds, None, "", seconds, None,
        f"graph → CSR {convert:.2f} s, total {convert + seconds:.2f} s; peak {peak_mb:.0f} MB (a stations × nodes "
        f"table would be {dense_mb:.0f} MB); covered {result.summary['share_buildings']:.3f} by own, "
        f"{result.summary['share_buildings_any']:.3f} by any within {result.summary['threshold_m']:.0f} m")


def lattice(side: int, step: float = 100.0, seed: int = 0) -> nx.MultiGraph:
    rng = np.random.default_rng(seed)
    graph = nx.MultiGraph(crs="EPSG:32648")
    ids = np.arange(side * side).reshape(side, side)
    graph.add_nodes_from((int(ids[i, j]), {"x": 400000.0 + i * step, "y": 3380000.0 + j * step})
                         for i in range(side) for j in range(side))
    right = zip(ids[:-1, :].ravel().tolist(), ids[1:, :].ravel().tolist(), strict=True)
    up = zip(ids[:, :-1].ravel().tolist(), ids[:, 1:].ravel().tolist(), strict=True)
    edges = list(right) + list(up)
    lengths = rng.uniform(step, 2 * step, len(edges))
    graph.add_edges_from((u, v, {"length": float(w)}) for (u, v), w in zip(edges, lengths, strict=True))
    return graph


def markdown(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(str(v) for v in values) + " |" for values in frame.itertuples(index=False)]
    return "\n".join(lines)


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    sample = load_sample()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grids = partition(sample.communities, sample.buildings, sample.streets).grids
    graph = network.street_graph(sample.streets)
    bench_assignment(sample, grids, graph)
    bench_police_clusters()
    bench_team(sample, grids, graph)
    bench_street_km(sample, grids)
    bench_coverage(sample, graph)
    bench_mclp(sample, graph)
    if SAO_PAULO.exists():
        bench_scale(network.graph_from_osm(SAO_PAULO), "São Paulo OSM")
    bench_scale(lattice(400), "synthetic 400×400 lattice")
    table = markdown(pd.DataFrame(ROWS))
    print(table)
    if args.out:
        args.out.write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    _main()
