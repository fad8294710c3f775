"""Benchmark: gridkit's patrol routes on dense real networks and against published instances.

Sections (each run in its own process, so its peak memory is its own; all in one run by default):

* ``dense``: Monaco's whole walking network (``../shared/data/osm/monaco.osm.pbf``) and the São Paulo
  roads PBF (``../shared/data/r5py-sao-paulo/spo_osm.pbf``), each cut into square grids of 250 m,
  500 m and 1,000 m (1x, 4x, 16x the area), plus one grid holding the whole network. One route per grid
  from the required node nearest its centre, with the default per-grid time budget of 2 s. Checked on
  geometry: every required street within 5 cm of the route line, every route one closed line. Exact:
  the length against an independent exact Chinese Postman (required length + an integer program for
  the T-join, HiGHS via scipy.milp, no matching code shared with gridkit) on every connected grid.
* ``kroutes``: min-max k routes on the CARP instance graphs (gdb, val, egl; all edges required, the
  depot at vertex 1, k = 2..9 on gdb, 2..5 on val and egl): the route-first cut of the single tour
  alone (the first-round code), then with gridkit's local search, against the bound
  max(Chinese Postman / k, longest round trip to one edge).
* ``rpp``: rural postman on 30 % random subsets of the gdb and val graphs against the exact integer
  program (:func:`carp.exact_rpp`), and gridkit's bound.
* ``tsp``: door-to-door tours: gridkit's tour (iterated 2-opt / Or-opt, 1 s), PyVRP (hybrid genetic
  search, 1 s) and OR-Tools (guided local search, 1 s) on TSPLIB instances of 51–105 stops, against
  the published optima.

Timings were taken on a shared machine (2 cores, other engineers' jobs running); peak memory is the
section process's maximum resident set size.

Usage::

    python scripts/bench_routes.py [--sections dense,kroutes,rpp,tsp] [--out table.md]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components, dijkstra

from gridkit.network import StreetNetwork, graph_from_osm
from gridkit.routing import odd_nodes, patrol_routes, required_edges

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
NETWORKS = {"monaco": SHARED / "osm" / "monaco.osm.pbf", "sao-paulo": SHARED / "r5py-sao-paulo" / "spo_osm.pbf"}


def peak_mb() -> float:
    """This process's peak resident memory (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def square_grids(net: StreetNetwork, size: float | None) -> gpd.GeoDataFrame:
    """Square grids of ``size`` metres over the network (those holding a street), or one grid for all."""
    x0, y0 = net.xy.min(axis=0) - 1
    x1, y1 = net.xy.max(axis=0) + 1
    if size is None:
        boxes = [shapely.box(x0, y0, x1, y1)]
    else:
        xs, ys = np.arange(x0, x1, size), np.arange(y0, y1, size)
        boxes = [shapely.box(x, y, x + size, y + size) for x in xs for y in ys]
    grids = gpd.GeoDataFrame({"grid_id": [f"G{i:04d}" for i in range(len(boxes))]}, geometry=boxes, crs=net.crs)
    mid = shapely.line_interpolate_point(net.geoms, 0.5, normalized=True)
    holding = np.unique(shapely.STRtree(boxes).query(mid, predicate="intersects")[1])
    return grids.iloc[holding].reset_index(drop=True)


def exact_tjoin_milp(net: StreetNetwork, terminals: np.ndarray, radius: float) -> float:
    """Independent exact T-join: min Σ l_e x_e, x_e ∈ {0, 1}, x(δ(v)) = 2 z_v + [v ∈ T] (HiGHS MILP).

    Only edges within ``radius`` metres of a terminal enter (any upper bound on the optimum will do:
    every path of an optimal T-join is shorter than the whole join).
    """
    if len(terminals) == 0:
        return 0.0
    near = dijkstra(net.matrix, directed=False, indices=terminals, min_only=True, limit=radius + 1.0)
    best = net.best_edges[np.isfinite(near[net.eu[net.best_edges]]) & np.isfinite(near[net.ev[net.best_edges]])]
    m, n = len(best), len(net.node_ids)
    inc = sp.coo_matrix((np.ones(2 * m), (np.concatenate([net.eu[best], net.ev[best]]), np.tile(np.arange(m), 2))),
                        shape=(n, m))
    a = sp.hstack([inc, -2 * sp.identity(n)]).tocsr()
    t = np.zeros(n)
    t[terminals] = 1
    upper = np.concatenate([np.ones(m), np.full(n, np.inf)])
    res = milp(np.concatenate([net.length[best], np.zeros(n)]), constraints=LinearConstraint(a, t, t),
               integrality=np.ones(m + n), bounds=Bounds(0, upper), options={"time_limit": 120})
    return float(res.fun) if res.status == 0 else float("nan")


def dense(name: str) -> list[dict]:
    t0 = time.perf_counter()
    graph = graph_from_osm(NETWORKS[name])
    net = StreetNetwork.from_graph(graph)
    graph_s = time.perf_counter() - t0
    rows = []
    for size in (250.0, 500.0, 1000.0, None):
        grids = square_grids(net, size)
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            routes = patrol_routes(grids, net)
        seconds = time.perf_counter() - t1
        required, _ = required_edges(net, grids.geometry)
        covered = closed = exact_ok = connected = 0
        worst = 0.0
        for line, grid_req, row in zip(routes.geometry, required, routes.itertuples(), strict=True):
            if line is None or len(grid_req) == 0:
                continue
            comp = net.component[net.eu[grid_req]]
            req = grid_req[comp == pd.Series(net.length[grid_req]).groupby(comp).sum().idxmax()]
            covered += bool(shapely.covered_by(net.geoms[req], line.buffer(0.05)).all())
            closed += bool(line.is_closed)
            pieces = connected_components(sp.coo_matrix(
                (np.ones(len(req)), (net.eu[req], net.ev[req])), shape=(len(net.node_ids),) * 2), directed=False)
            touched = np.unique(np.concatenate([net.eu[req], net.ev[req]]))
            if len(np.unique(pieces[1][touched])) == 1:
                connected += 1
                req_len = float(net.length[req].sum())
                best = req_len + exact_tjoin_milp(net, odd_nodes(net, req), radius=row.length_m - req_len)
                gap = row.length_m / best - 1
                worst = max(worst, abs(gap))
                exact_ok += bool(abs(gap) < 1e-6)
        walked = routes[routes.length_m > 0]
        rows.append({
            "network": name, "grid": "whole" if size is None else f"{size:.0f} m", "grids": len(grids),
            "routed": len(walked), "edges max": int(walked.n_required.max()), "covered": f"{covered}/{len(walked)}",
            "closed": f"{closed}/{len(walked)}", "exact (connected)": f"{exact_ok}/{connected}",
            "max gap to exact": worst, "s per grid median": float(walked.seconds.median()),
            "s per grid max": float(walked.seconds.max()), "over 2 s": int((walked.seconds > 2.0).sum()),
            "routes s": seconds, "graph s": graph_s, "peak MB": peak_mb(),
        })
    return rows


SECTIONS = {"dense": lambda: dense("monaco") + dense("sao-paulo")}


def fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1 else f"{value:,.1f}"
    return str(value)


def table(rows: list[dict], title: str) -> str:
    cols = list(rows[0])
    lines = [f"**{title}**", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="dense,kroutes,rpp,tsp")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # one section in this process: print its rows as JSON
        print(json.dumps(SECTIONS[args.child]()))
        return 0
    text = []
    for section in args.sections.split(","):
        if section == "dense" and not all(p.exists() for p in NETWORKS.values()):
            print("skipping dense: ../shared/data absent", file=sys.stderr)
            continue
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, __file__, "--child", section], capture_output=True, text=True,
                              check=True)
        rows = json.loads(done.stdout.strip().splitlines()[-1])
        text.append(table(rows, f"{section} ({time.perf_counter() - t0:.0f} s)"))
        print(text[-1], flush=True)
    if args.out:
        args.out.write_text("\n".join(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_routes_lit import LIT_SECTIONS

    SECTIONS.update(LIT_SECTIONS)
    raise SystemExit(main())
