"""Literature sections of ``bench_routes.py``: min-max k routes, rural postman and tours on published instances."""

from __future__ import annotations

import resource
import time

import numpy as np
from carp import DATA, exact_rpp, read_carp, read_tsplib

from gridkit.routing import (
    Deadline,
    improve_routes,
    postman_tour,
    round_trip_bound,
    rpp_lp_bound,
    serving_steps,
    split_tour_depots,
    tour_length,
    tsp_tour,
)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def carp_files(family: str) -> list:
    if family == "gdb":
        return sorted((DATA / "carp").glob("gdb*.dat"), key=lambda p: int(p.stem[3:]))
    if family == "val":
        return sorted((DATA / "carp").glob("[0-9]*.dat"), key=lambda p: (int(p.stem[:-1]), p.stem[-1]))
    return sorted((DATA / "carp").glob("egl-*.dat"))


def kroutes() -> list[dict]:
    rows = []
    for family, ks in (("gdb", range(2, 10)), ("val", range(2, 6)), ("egl", range(2, 6))):
        old_gap, new_gap, at_bound, seconds, covered = [], [], 0, [], 0
        for path in carp_files(family):
            net, depot = read_carp(path)
            req = np.arange(len(net.eu))
            tour = postman_tour(net, req, depot)
            far = round_trip_bound(net, req, depot)
            serving = serving_steps(tour.walk, set(req.tolist()))
            for k in ks:
                depots = np.full(k, depot)
                walks = split_tour_depots(net, tour, depots, serving)
                t0 = time.perf_counter()
                better = improve_routes(net, walks, depots, req, deadline=Deadline(2.0))
                seconds.append(time.perf_counter() - t0)
                bound = max(tour.length(net) / k, far)
                old_gap.append(max(tour_length(net, w) for w in walks) / bound - 1)
                new_gap.append(max(tour_length(net, w) for w in better) / bound - 1)
                at_bound += new_gap[-1] < 1e-9
                covered += set(req.tolist()) <= {e for w in better for e, _ in w}
        rows.append({"family": family, "cases": len(new_gap), "k": f"{min(ks)}..{max(ks)}",
                     "first-round cut: gap to bound mean": float(np.mean(old_gap)),
                     "gridkit: gap to bound mean": float(np.mean(new_gap)),
                     "gridkit: gap max": float(np.max(new_gap)), "gridkit at the bound": at_bound,
                     "all edges covered": f"{covered}/{len(new_gap)}", "s mean": float(np.mean(seconds)),
                     "s max": float(np.max(seconds)), "peak MB": peak_mb()})
    return rows


def rpp() -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for family in ("gdb", "val"):
        gaps, bound_gaps, unsolved, cases, lp_s = [], [], 0, 0, []
        for path in carp_files(family):
            net, depot = read_carp(path)
            for _ in range(3):
                req = np.flatnonzero(rng.random(len(net.eu)) < 0.3)
                if len(req) < 3:
                    continue
                cases += 1
                best = exact_rpp(net, req, depot, time_limit=20.0)
                tour = postman_tour(net, req, depot, exact_up_to=0)  # the heuristic, not the small exact DP
                t0 = time.perf_counter()
                lp = rpp_lp_bound(net, req, depot, deadline=Deadline(2.0))
                lp_s.append(time.perf_counter() - t0)
                bound = max(tour.lower_bound_m, lp or 0.0)
                if best is None:
                    unsolved += 1
                    continue
                gaps.append(tour.length(net) / best - 1)
                bound_gaps.append(1 - bound / best)
        rows.append({"family": family, "instances": cases, "exact MILP solved": cases - unsolved,
                     "gridkit over exact mean": float(np.mean(gaps)), "gridkit over exact max": float(np.max(gaps)),
                     "optimal": int(np.sum(np.array(gaps) < 1e-9)),
                     "bound under exact mean": float(np.mean(bound_gaps)),
                     "bound s max": float(np.max(lp_s)), "peak MB": peak_mb()})
    return rows


def pyvrp_tour(dist: np.ndarray, seconds: float) -> float:
    from pyvrp import Model  # noqa: PLC0415 - bench-only peer
    from pyvrp.stop import MaxRuntime  # noqa: PLC0415

    model = Model()
    model.add_vehicle_type(num_available=1)
    locations = [model.add_location(x=0, y=0) for _ in range(len(dist))]
    model.add_depot(locations[0])
    for loc in locations[1:]:
        model.add_client(loc)
    for i, a in enumerate(locations):
        for j, b in enumerate(locations):
            if i != j:
                model.add_edge(a, b, distance=int(dist[i, j]))
    result = model.solve(stop=MaxRuntime(seconds), display=False, seed=0)
    return float(result.best.distance())


def ortools_tour(dist: np.ndarray, seconds: float) -> float:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2  # noqa: PLC0415 - bench-only peer

    table = dist.astype(np.int64).tolist()
    manager = pywrapcp.RoutingIndexManager(len(dist), 1, 0)
    routing = pywrapcp.RoutingModel(manager)
    cb = routing.RegisterTransitCallback(lambda i, j: table[manager.IndexToNode(i)][manager.IndexToNode(j)])
    routing.SetArcCostEvaluatorOfAllVehicles(cb)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    return float(routing.SolveWithParameters(params).ObjectiveValue())


def tsp() -> list[dict]:
    rows = []
    for name in ("eil51", "berlin52", "st70", "eil76", "pr76", "rat99", "kroA100", "kroC100", "kroD100", "rd100",
                 "eil101", "lin105"):
        dist, best = read_tsplib(name)
        t0 = time.perf_counter()
        order = tsp_tour(dist, kicks=10_000, deadline=Deadline(1.0))
        ours_s = time.perf_counter() - t0
        ours = float(dist[order, np.roll(order, -1)].sum())
        rows.append({"instance": name, "stops": len(dist), "optimum": best, "gridkit": ours,
                     "gridkit gap": ours / best - 1, "gridkit s": ours_s,
                     "PyVRP 1 s gap": pyvrp_tour(dist, 1.0) / best - 1,
                     "OR-Tools GLS 1 s gap": ortools_tour(dist, 1.0) / best - 1, "peak MB": peak_mb()})
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("gridkit gap", "gridkit s", "PyVRP 1 s gap",
                                                               "OR-Tools GLS 1 s gap")}
    rows.append({"instance": "mean", **mean})
    return rows


LIT_SECTIONS = {"kroutes": kroutes, "rpp": rpp, "tsp": tsp}
