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
  lengths 100–200 m per 100 m block side): graph → CSR conversion, the coverage pass, and both.

Usage::

    python scripts/bench_wardens.py [--out table.md]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pulp
from scipy.optimize import linear_sum_assignment
from spopt.locate import MCLP

from gridkit import network
from gridkit.coverage import _points_xy, coverage, distance_matrix, site_stations, street_matrix
from gridkit.partition import partition
from gridkit.samples import load_sample
from gridkit.wardens import _solve_seats, assign_wardens, read_roster, staffing

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
    net, convert = timed(street_matrix, graph)
    result, seconds = timed(coverage, buildings, stations, net, minutes=10)
    row("coverage 100k", f"{label}: {graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges, "
        f"{n_buildings:,} buildings, {n_stations} stations", seconds, None, "", seconds, None,
        f"graph → CSR {convert:.2f} s, total {convert + seconds:.2f} s; covered "
        f"{result.summary['share_buildings']:.3f} of buildings within {result.summary['threshold_m']:.0f} m")


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
