"""Door-to-door tours (走访): closed walks through the buildings' access points on the street.

- :func:`access_points`: each building's representative point projected onto its nearest street
  edge, the edge split there, so distances are along-edge offsets plus network distances.
- :func:`building_tour`: exact (Held–Karp recursion) up to 9 stops; above, :func:`tsp_tour` on the
  stops' network distances, with the Held–Karp bound (subtour LP up to 150 stops, 1-tree above).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring

from gridkit.network import StreetNetwork
from gridkit.routing.bounds import held_karp_bound, subtour_bound, terminal_distances
from gridkit.routing.budget import Deadline
from gridkit.routing.postman import Tour

__all__ = ["access_points", "building_tour", "exact_tsp", "tsp_tour"]


def tsp_tour(dist: np.ndarray, *, start: int = 0, kicks: int = 50, seed: int = 0,
             deadline: Deadline | None = None) -> list[int]:
    """A short closed tour through every row of ``dist`` from ``start`` (iterated local search).

    Nearest neighbour, then 2-opt and Or-opt to a local optimum; then ``kicks`` times a random
    double-bridge move followed by the same local search, keeping the best tour (deterministic for a
    given ``seed``). Returns the visiting order (a permutation of ``range(n)`` beginning with ``start``).
    """
    n = len(dist)
    if n <= 3:
        return [start, *[i for i in range(n) if i != start]]
    order = [start]
    free = np.ones(n, dtype=bool)
    free[start] = False
    for _ in range(n - 1):
        row = np.where(free, dist[order[-1]], np.inf)
        nxt = int(np.argmin(row))
        order.append(nxt)
        free[nxt] = False
    best = _local_search(dist, np.array(order))
    best_len = _cycle_length(dist, best)
    rng = np.random.default_rng(seed)
    for _ in range(kicks if n >= 8 else 0):
        if deadline is not None and deadline.expired():
            break
        p1, p2, p3 = np.sort(rng.choice(np.arange(1, n), size=3, replace=False))
        kicked = np.concatenate([best[:p1], best[p2:p3], best[p1:p2], best[p3:]])
        kicked = _local_search(dist, kicked)
        length = _cycle_length(dist, kicked)
        if length < best_len - 1e-9:
            best, best_len = kicked, length
    return best.tolist()


def _local_search(dist: np.ndarray, tour: np.ndarray) -> np.ndarray:
    while _two_opt(dist, tour) | _or_opt(dist, tour):
        pass
    return tour


def _cycle_length(dist: np.ndarray, tour: np.ndarray) -> float:
    return float(dist[tour, np.roll(tour, -1)].sum())


def _two_opt(dist: np.ndarray, tour: np.ndarray) -> bool:
    """Best-improvement 2-opt (in place, the start kept first); True if anything changed."""
    n = len(tour)
    changed = False
    lower = np.tril(np.ones((n - 1, n - 1), dtype=bool))
    while True:
        a, b = tour[:-1], tour[1:]  # edge before position i = 1..n-1
        c, d = tour[1:], np.roll(tour, -1)[1:]  # edge after position j = 1..n-1
        delta = (dist[a[:, None], c[None, :]] + dist[b[:, None], d[None, :]]
                 - dist[a, b][:, None] - dist[c, d][None, :])
        delta[lower] = np.inf  # j > i
        k = int(np.argmin(delta))
        if delta.flat[k] >= -1e-9:
            return changed
        i, j = divmod(k, n - 1)
        tour[i + 1: j + 2] = tour[i + 1: j + 2][::-1]
        changed = True


def _or_opt(dist: np.ndarray, tour: np.ndarray) -> bool:
    """Best move of one stretch of 1-3 stops (either way round) elsewhere, in place; True if it shortened."""
    n = len(tour)
    after_t = np.roll(tour, -1)
    edge = dist[tour, after_t]  # edge p: tour[p] -> tour[p + 1]
    pos = np.arange(n)[None, :]
    best = (-1e-9, None)
    for size in (1, 2, 3):
        starts = np.arange(1, n - size + 1)  # the start (position 0) never moves
        if len(starts) == 0:
            continue
        first, last = tour[starts], tour[starts + size - 1]
        prev, after = tour[starts - 1], tour[(starts + size) % n]
        gain = dist[prev, first] + dist[last, after] - dist[prev, after]
        fwd = dist[tour[None, :], first[:, None]] + dist[last[:, None], after_t[None, :]] - edge[None, :]
        rev = dist[tour[None, :], last[:, None]] + dist[first[:, None], after_t[None, :]] - edge[None, :]
        own = (pos >= starts[:, None] - 1) & (pos <= starts[:, None] + size - 1)
        cost = np.where(own, np.inf, np.minimum(fwd, rev)) - gain[:, None]
        k = int(np.argmin(cost))
        if cost.flat[k] < best[0]:
            r, p = divmod(k, n)
            best = (float(cost.flat[k]), (int(starts[r]), size, p, bool(rev[r, p] < fwd[r, p])))
    if best[1] is None:
        return False
    i, size, p, backwards = best[1]
    seg = tour[i: i + size][::-1] if backwards else tour[i: i + size].copy()
    rest = np.concatenate([tour[:i], tour[i + size:]])
    at = p if p < i else p - size  # insert after tour[p], now rest[at]
    tour[:] = np.concatenate([rest[: at + 1], seg, rest[at + 1:]])
    return True


def exact_tsp(dist: np.ndarray) -> tuple[list[int], float]:
    """Shortest closed tour from row 0 through every row (Held–Karp recursion, O(2^n n^2); n <= ~11)."""
    n = len(dist)
    if n <= 2:
        return list(range(n)), float(dist[0, 1] + dist[1, 0]) if n == 2 else 0.0
    m = n - 1
    inner = dist[1:, 1:]
    dp = np.full((1 << m, m), np.inf)
    parent = np.full((1 << m, m), -1, dtype=np.int64)
    dp[1 << np.arange(m), np.arange(m)] = dist[0, 1:]
    bits = 1 << np.arange(m)
    for mask in range(1, 1 << m):
        cur = dp[mask]
        free = np.flatnonzero((mask & bits) == 0)
        if len(free) == 0 or not np.isfinite(cur).any():
            continue
        total = cur[:, None] + inner[:, free]
        best_from = np.argmin(total, axis=0)
        best = total[best_from, np.arange(len(free))]
        nxt = mask | bits[free]
        better = best < dp[nxt, free]
        dp[nxt[better], free[better]] = best[better]
        parent[nxt[better], free[better]] = best_from[better]
    full = (1 << m) - 1
    finish = dp[full] + dist[1:, 0]
    last = int(np.argmin(finish))
    order, mask = [], full
    while last >= 0:
        order.append(last + 1)
        prev = int(parent[mask, last])
        mask &= ~(1 << last)
        last = prev
    return [0, *order[::-1]], float(finish.min())


def building_tour(net: StreetNetwork, stops: np.ndarray, depot: int, *, exact_up_to: int = 9,
                  subtour_up_to: int = 150, deadline: Deadline | None = None) -> Tour:
    """Closed walk from ``depot`` through every node index in ``stops`` (door-to-door, 走访).

    Up to ``exact_up_to`` stops besides the depot the shortest tour (Held–Karp recursion, ``exact``);
    above, :func:`tsp_tour` (iterated 2-opt and Or-opt) with the Held–Karp bound as ``lower_bound_m``:
    the subtour LP up to ``subtour_up_to`` stops (:func:`subtour_bound`), and the better of it and
    the 1-tree subgradient bound (:func:`held_karp_bound`).
    Distances are shortest paths on ``net`` (metres), e.g. a network split at the buildings' access
    points by :func:`access_points`.
    """
    points = np.unique(np.concatenate([[depot], np.asarray(stops, dtype=np.int64)]))
    points = np.concatenate([[depot], points[points != depot]])
    if len(points) == 1:
        return Tour(depot=depot, method="tsp")
    matrix = terminal_distances(net, points)
    if len(points) - 1 <= exact_up_to:
        order, best = exact_tsp(matrix)
        exact = True
    else:
        order = tsp_tour(matrix, start=0, deadline=deadline)
        exact = False
    walk: list[tuple[int, bool]] = []
    for a, b in zip(order, [*order[1:], order[0]], strict=True):
        if a != b:
            pred = net.shortest([int(points[a])], limit=float(matrix[a, b]) + 1.0)[1][0]
            walk += net.path(pred, int(points[a]), int(points[b]))
    if exact:
        bound, name = best, "optimal"
    else:
        upper = float(sum(matrix[a, b] for a, b in zip(order, [*order[1:], order[0]], strict=True)))
        bound, name = held_karp_bound(matrix, upper=upper, iterations=100), "held-karp-1tree"
        if len(matrix) <= subtour_up_to and (deadline is None or not deadline.expired()):
            lp = subtour_bound(matrix, deadline=deadline)
            if lp > bound:
                bound, name = lp, "subtour-lp"
    return Tour(depot=depot, walk=walk, lower_bound_m=bound, exact=exact, method="tsp", bound_method=name)


def access_points(net: StreetNetwork, points_xy: np.ndarray, *, component: int | None = None,
                  merge_m: float = 1.0) -> tuple[StreetNetwork, np.ndarray, np.ndarray]:
    """Access points of buildings on the street: each point projected onto its nearest street edge.

    Every point (e.g. a building's representative point) is projected onto the nearest edge (of one
    network component) with ``line_locate_point``; the edge is split there into two edges with
    their part of the geometry and of the length, so that shortest paths (the along-edge offsets plus
    the network distances between the edge's end nodes) and the route line reach the door. A
    projection within ``merge_m`` metres of an edge end is that end node; projections on one edge
    within ``merge_m`` of each other share one access point.

    Parameters
    ----------
    net
        The network (metric CRS).
    points_xy
        Array (n, 2) of x, y in the network's CRS (metres).
    component
        Network component to project onto (default: any edge).
    merge_m
        Tolerance in metres.

    Returns
    -------
    (Network, numpy.ndarray, numpy.ndarray)
        The split network (the original nodes keep their indices, original edge ``e`` keeps the
        first piece, new nodes and pieces are appended), the access node index of each point, and
        each point's straight distance to the street (m).
    """
    xy = np.asarray(points_xy, dtype=float).reshape(-1, 2)
    if len(xy) == 0 or len(net.eu) == 0:
        return net, np.empty(0, dtype=np.int64), np.empty(0)
    pts = shapely.points(xy)
    tree, edges = net.edge_tree(component)
    if len(edges) == 0:  # a component without edges (a lone node): project onto any edge
        tree, edges = net.edge_tree(None)
    (pi, ti), dist = tree.query_nearest(pts, all_matches=False, return_distance=True)
    order = np.argsort(pi, kind="stable")
    e, dist = edges[ti[order]], np.asarray(dist)[order]
    geom = net.geoms[e]
    glen = shapely.length(geom)
    t = shapely.line_locate_point(geom, pts)
    scale = np.where(glen > 0, net.length[e] / np.where(glen > 0, glen, 1.0), 0.0)
    s = t * scale
    node = np.full(len(xy), -1, dtype=np.int64)
    at_u = s <= merge_m
    at_v = ~at_u & (net.length[e] - s <= merge_m)
    node[at_u], node[at_v] = net.eu[e[at_u]], net.ev[e[at_v]]
    inner = np.flatnonzero(node < 0)
    if len(inner) == 0:
        return net, node, dist
    return _split_edges(net, e[inner], t[inner], inner, node, merge_m), node, dist


def _split_edges(net: StreetNetwork, edge_of: np.ndarray, along: np.ndarray, inner: np.ndarray, node: np.ndarray,
                 merge_m: float) -> StreetNetwork:
    """Split edges at points ``along`` (geometry units from eu) of ``edge_of``; set ``node[inner]`` in place."""
    n0 = len(net.nodes)
    new_xy: list[np.ndarray] = []
    eu, ev, length = list(net.eu), list(net.ev), list(net.length)
    geoms, names = list(net.geoms), list(net.names)
    frame = pd.DataFrame({"i": inner, "e": edge_of, "t": along}).sort_values(["e", "t"], kind="stable")
    for edge, group in frame.groupby("e", sort=True):
        line = net.geoms[edge]
        k = float(net.length[edge]) / max(line.length, 1e-12)  # metres per geometry unit
        clusters: list[tuple[float, list[int]]] = []  # (cut in geometry units, point indices)
        for i, ti_ in zip(group["i"], group["t"], strict=True):
            if clusters and (ti_ - clusters[-1][0]) * k <= merge_m:
                clusters[-1][1].append(int(i))
            else:
                clusters.append((float(ti_), [int(i)]))
        first_new = n0 + len(new_xy)
        for j, (cut, idx) in enumerate(clusters):
            node[idx] = first_new + j
            new_xy.append(shapely.get_coordinates(shapely.line_interpolate_point(line, cut))[0])
        bounds = [0.0, *(c for c, _ in clusters), line.length]
        ends = [int(net.eu[edge]), *range(first_new, first_new + len(clusters)), int(net.ev[edge])]
        for j, (a, b) in enumerate(itertools.pairwise(bounds)):
            piece = substring(line, a, b)
            if j == 0:
                ev[edge], length[edge], geoms[edge] = ends[1], (b - a) * k, piece
            else:
                eu.append(ends[j])
                ev.append(ends[j + 1])
                length.append((b - a) * k)
                geoms.append(piece)
                names.append(net.names[edge])
    nodes = np.empty(n0 + len(new_xy), dtype=object)
    nodes[:n0] = net.nodes
    nodes[n0:] = [-(i + 1) for i in range(len(new_xy))]
    split = StreetNetwork(net.crs, nodes, np.vstack([net.xy, np.array(new_xy)]),
                                np.array(eu, dtype=np.int64), np.array(ev, dtype=np.int64),
                                np.array(length, dtype=float), np.array(geoms, dtype=object),
                                np.array(names, dtype=object))
    return split

