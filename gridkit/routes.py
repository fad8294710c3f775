"""Patrol routes (巡查路线): the shortest closed walk that covers every street of a grid.

For each grid the streets to cover (the *required* edges) are the walking-graph edges whose midpoint
lies inside the grid and, with ``include_boundary``, the edges lying along its boundary. The route
starts and ends at the grid's depot: the warden's station snapped to the network, or the required
node nearest to the grid's representative point.

- Required edges connected: the exact Chinese Postman optimum. The odd-degree nodes are paired by a
  minimum-weight perfect matching on shortest-path metres over the whole walking network (networkx's
  blossom algorithm; above 40 odd nodes an LP with odd-set cuts picks a sparse set of pairs, the
  blossom runs on those, and reduced costs prove the result optimal on the complete graph), the
  pairing paths are walked twice, and an Euler circuit gives the order. A depot off the required
  edges enters the matching as two copies (exact: either it pairs two odd nodes through the depot,
  or it is a return trip to the nearest required node). networkx's ``eulerize`` matches on hop
  counts and is not length-optimal.
- Required edges in several pieces (rural postman): exact up to 12 required edges (a Held–Karp
  recursion over the order and direction of first passes); above, the pieces are joined along a
  minimum spanning tree of shortest paths, then as above, and the gap to a proven lower bound is
  reported (required length plus the larger of the odd-node matching and the Held–Karp bound on the
  distances between pieces).
- Several wardens in one grid: the single tour is cut into k closed routes from the depot, min-max
  balanced (route-first, cluster-second), with the bound max(single optimum / k, longest depot round
  trip to one required edge).
- ``mode="buildings"``: a door-to-door tour through every building's access node (its nearest network
  node), nearest neighbour, 2-opt and Or-opt on network distances, with its gap to the Held–Karp
  1-tree bound.

Lengths are metres, times minutes, on the graph's metric CRS; output geometries are in the grids' CRS.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree, shortest_path
from scipy.spatial import cKDTree

from gridkit.errors import GridkitWarning, InputDataError
from gridkit.io import source_name

__all__ = [
    "ROUTE_COLUMNS",
    "Network",
    "Tour",
    "building_tour",
    "held_karp_bound",
    "patrol_routes",
    "postman_tour",
    "required_edges",
    "round_trip_bound",
    "routes_for_export",
    "rural_postman_exact",
    "split_tour",
    "tour_length",
    "tsp_tour",
    "undirected",
]

ROUTE_COLUMNS = [
    "grid_id", "warden_id", "route_no", "mode", "method", "exact", "length_m", "minutes", "street_length_m",
    "deadhead_ratio", "lower_bound_m", "gap", "n_required", "n_stops", "station_snap_m", "unreachable_m",
    "street_names", "note", "geometry",
]


# --------------------------------------------------------------------------------------------------
# the network as arrays


class Network:
    """A walking graph as arrays for fast shortest paths (scipy) and walks of edge indices.

    Parameters
    ----------
    graph
        Undirected (Multi)Graph with node ``x``, ``y`` and edge ``length`` (metres) and optionally
        ``geometry`` and ``name``, such as :func:`gridkit.network.street_graph` returns.
    """

    def __init__(self, graph: nx.MultiGraph) -> None:
        self.graph = graph
        self.crs = graph.graph.get("crs")
        self.nodes = np.array(list(graph.nodes), dtype=object)
        self.index = {n: i for i, n in enumerate(self.nodes)}
        self.xy = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)], dtype=float).reshape(-1, 2)
        eu, ev, length, geoms, names = [], [], [], [], []
        for u, v, data in graph.edges(data=True):
            a, b = self.index[u], self.index[v]
            geom = data.get("geometry")
            if geom is None:
                geom = shapely.LineString([self.xy[a], self.xy[b]])
            elif data.get("from_node", u) != u or (
                    "from_node" not in data and _starts_at(geom, self.xy[b]) and not _starts_at(geom, self.xy[a])):
                geom = geom.reverse()
            eu.append(a)
            ev.append(b)
            length.append(float(data.get("length", geom.length)))
            geoms.append(geom)
            name = data.get("name")
            names.append(" / ".join(map(str, name)) if isinstance(name, list) else name)
        self.eu, self.ev = np.array(eu, dtype=np.int64), np.array(ev, dtype=np.int64)
        self.length = np.array(length, dtype=float)
        self.geoms = np.array(geoms, dtype=object)
        self.names = np.array(names, dtype=object)
        n = len(self.nodes)
        pair = pd.DataFrame({"a": np.minimum(self.eu, self.ev), "b": np.maximum(self.eu, self.ev),
                             "len": self.length, "e": np.arange(len(self.eu))})
        best = pair[pair.a != pair.b].sort_values("len").drop_duplicates(["a", "b"])
        self.best_edge = dict(zip(zip(best.a, best.b, strict=True), best.e, strict=True))
        weight = np.maximum(best.len.to_numpy(), 1e-9)
        self.csr = sp.csr_matrix((np.concatenate([weight, weight]),
                                  (np.concatenate([best.a, best.b]), np.concatenate([best.b, best.a]))),
                                 shape=(n, n))
        _, self.component = connected_components(self.csr, directed=False)
        self._trees: dict[int, tuple[cKDTree, np.ndarray]] = {}

    def shortest(self, sources: np.ndarray, *, limit: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
        """Distances (m) and predecessors from each of ``sources`` (node indices) to every node."""
        dist, pred = dijkstra(self.csr, directed=False, indices=np.asarray(sources, dtype=np.int64),
                              return_predecessors=True, limit=limit)
        return np.atleast_2d(dist), np.atleast_2d(pred)

    def path(self, pred_row: np.ndarray, source: int, target: int) -> list[tuple[int, bool]]:
        """The walk (edge index, forward) from ``source`` to ``target`` along a predecessor row."""
        nodes = [target]
        while nodes[-1] != source:
            prev = int(pred_row[nodes[-1]])
            if prev < 0:
                raise InputDataError("no path between two nodes of one network component")
            nodes.append(prev)
        nodes.reverse()
        return [self.step(a, b) for a, b in itertools.pairwise(nodes)]

    def step(self, a: int, b: int) -> tuple[int, bool]:
        """The shortest edge between adjacent nodes ``a`` and ``b``, as (edge index, forward)."""
        e = self.best_edge[(min(a, b), max(a, b))]
        return int(e), bool(self.eu[e] == a)

    def nearest(self, points_xy: np.ndarray, *, component: int | None = None,
                among: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node index (of one network component, or among given nodes) and distance (m)."""
        if among is not None:
            dist, idx = cKDTree(self.xy[among]).query(np.asarray(points_xy, dtype=float).reshape(-1, 2))
            return among[idx], np.asarray(dist)
        key = -1 if component is None else component
        if key not in self._trees:
            nodes = np.arange(len(self.nodes)) if component is None else np.flatnonzero(self.component == component)
            self._trees[key] = (cKDTree(self.xy[nodes]), nodes)
        tree, nodes = self._trees[key]
        dist, idx = tree.query(np.asarray(points_xy, dtype=float).reshape(-1, 2))
        return nodes[idx], np.asarray(dist)

    def walk_nodes(self, walk: list[tuple[int, bool]], start: int) -> np.ndarray:
        """Node index sequence of a walk starting at ``start`` (length len(walk) + 1)."""
        nodes = [start]
        for e, fwd in walk:
            nodes.append(int(self.ev[e] if fwd else self.eu[e]))
        return np.array(nodes, dtype=np.int64)

    def walk_line(self, walk: list[tuple[int, bool]]) -> shapely.LineString | None:
        """The walk as one continuous LineString (metric CRS), or None for an empty walk."""
        if not walk:
            return None
        parts = []
        for i, (e, fwd) in enumerate(walk):
            coords = shapely.get_coordinates(self.geoms[e])
            if not fwd:
                coords = coords[::-1]
            parts.append(coords if i == 0 else coords[1:])
        return shapely.LineString(np.concatenate(parts))

    def walk_names(self, walk: list[tuple[int, bool]]) -> list[str]:
        """Street names in walking order, consecutive repeats and unnamed edges left out."""
        names: list[str] = []
        for e, _ in walk:
            name = self.names[e]
            if name and (not names or names[-1] != name):
                names.append(str(name))
        return names


def undirected(graph: nx.Graph) -> nx.MultiGraph:
    """Walking view of a graph: a directed (osmnx) graph's two directions of one street become one edge.

    Reciprocal edges with the same length (to 0.1 m) are merged; an undirected graph is returned as is.
    """
    if not graph.is_directed():
        return graph
    out = nx.MultiGraph(**graph.graph)
    out.add_nodes_from(graph.nodes(data=True))
    seen: set[tuple] = set()
    for u, v, data in graph.edges(data=True):
        key = (min(u, v), max(u, v), round(float(data.get("length", 0.0)), 1))
        if key in seen:
            continue
        seen.add(key)
        out.add_edge(u, v, **{**data, "from_node": u})
    return out


def _starts_at(geom: shapely.LineString, xy: np.ndarray) -> bool:
    start = shapely.get_coordinates(shapely.get_point(geom, 0))[0]
    return bool(np.hypot(*(start - xy)) < 1e-6)


def tour_length(net: Network, walk: list[tuple[int, bool]]) -> float:
    """Length of a walk in metres."""
    return float(sum(net.length[e] for e, _ in walk))


# --------------------------------------------------------------------------------------------------
# one closed walk covering required edges


@dataclass
class Tour:
    """A closed walk from ``depot`` (node index) as (edge index, forward) steps, with its quality."""

    depot: int
    walk: list[tuple[int, bool]] = field(default_factory=list)
    lower_bound_m: float = 0.0
    exact: bool = True
    method: str = "cpp"
    n_pieces: int = 1

    def length(self, net: Network) -> float:
        """Length of the walk (m)."""
        return tour_length(net, self.walk)


def _min_matching(dist: np.ndarray, *, blossom_up_to: int = 40) -> list[tuple[int, int]]:
    """Minimum-weight perfect matching of the rows of a symmetric distance matrix (inf = no edge).

    Exact either way: up to ``blossom_up_to`` rows networkx's blossom algorithm on the complete graph;
    above, the matching LP on a sparse set of pairs grown by column generation, solved as an integer
    program (HiGHS), proven optimal on the complete graph by reduced costs (see ``_lp_matching``).
    """
    n = len(dist)
    if n == 0:
        return []
    if n == 2:
        if not np.isfinite(dist[0, 1]):
            raise InputDataError("no perfect matching: required streets lie in unconnected parts of the network")
        return [(0, 1)]
    if n > blossom_up_to:
        pairs = _lp_matching(dist)
        if pairs is not None:
            return pairs
    return _blossom(dist)


def _blossom(dist: np.ndarray) -> list[tuple[int, int]]:
    n = len(dist)
    finite = np.isfinite(dist)
    big = float(dist[finite].max()) + 1.0 if finite.any() else 1.0
    g = nx.Graph()
    i, j = np.triu_indices(n, 1)
    ok = finite[i, j]
    g.add_weighted_edges_from(zip(i[ok].tolist(), j[ok].tolist(), (big - dist[i[ok], j[ok]]).tolist(), strict=True))
    matching = nx.max_weight_matching(g, maxcardinality=True)
    if 2 * len(matching) != n:
        raise InputDataError("no perfect matching: required streets lie in unconnected parts of the network")
    return [(int(a), int(b)) for a, b in matching]


def _solve_lp(dist: np.ndarray, pairs: np.ndarray, odd_sets: list[np.ndarray]) -> tuple | None:
    """Perfect-matching LP on ``pairs`` with odd-set cuts x(E(S)) <= (|S| - 1) / 2.

    Returns (cost, node duals y, cut duals u <= 0, x), or None when infeasible.
    """
    n, m = len(dist), len(pairs)
    rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
    cols = np.concatenate([np.arange(m), np.arange(m)])
    incidence = sp.csr_matrix((np.ones(2 * m), (rows, cols)), shape=(n, m))
    cost = dist[pairs[:, 0], pairs[:, 1]]
    a_ub = b_ub = None
    if odd_sets:
        member = np.zeros((len(odd_sets), n), dtype=bool)
        for r, nodes in enumerate(odd_sets):
            member[r, nodes] = True
        a_ub = sp.csr_matrix((member[:, pairs[:, 0]] & member[:, pairs[:, 1]]).astype(float))
        b_ub = np.array([(len(nodes) - 1) / 2 for nodes in odd_sets])
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=incidence, b_eq=np.ones(n), bounds=(0, None), method="highs")
    if res.status != 0:
        return None
    cut = np.asarray(res.ineqlin.marginals) if odd_sets else np.empty(0)
    return float(res.fun), np.asarray(res.eqlin.marginals), cut, np.asarray(res.x)


def _reduced_costs(work: np.ndarray, y: np.ndarray, cut: np.ndarray, odd_sets: list[np.ndarray]) -> np.ndarray:
    reduced = work - y[:, None] - y[None, :]
    if odd_sets:
        member = np.zeros((len(odd_sets), len(work)))
        for r, nodes in enumerate(odd_sets):
            member[r, nodes] = 1.0
        reduced -= (member.T * cut) @ member
    return reduced


def _odd_components(n: int, pairs: np.ndarray, x: np.ndarray) -> list[np.ndarray]:
    """Node sets of the odd connected components of the LP's fractional edges (violated odd sets)."""
    frac = pairs[(x > 1e-6) & (x < 1 - 1e-6)]
    if len(frac) == 0:
        return []
    adj = sp.coo_matrix((np.ones(len(frac)), (frac[:, 0], frac[:, 1])), shape=(n, n))
    _, label = connected_components(adj, directed=False)
    used = np.unique(frac)
    sets = []
    for c in np.unique(label[used]):
        nodes = used[label[used] == c]
        if len(nodes) % 2 == 1 and len(nodes) >= 3:
            sets.append(nodes)
    return sets


def _widen(chosen: np.ndarray, work: np.ndarray, finite: np.ndarray, k: int) -> None:
    n = len(work)
    near = np.argsort(work, axis=1)[:, : min(k, n - 1)]
    chosen[np.repeat(np.arange(n), near.shape[1]), near.ravel()] = True
    chosen &= finite
    chosen |= chosen.T
    np.fill_diagonal(chosen, False)


def _sparse_blossom(dist: np.ndarray, chosen: np.ndarray) -> tuple[list[tuple[int, int]], float] | None:
    """Blossom algorithm on the chosen pairs only: (pairs, cost) or None when no perfect matching."""
    try:
        pairs = _blossom(np.where(chosen, dist, np.inf))
    except InputDataError:
        return None
    return pairs, float(sum(dist[a, b] for a, b in pairs))


def _lp_matching(dist: np.ndarray, *, k: int = 8, rounds: int = 60) -> list[tuple[int, int]] | None:
    """Exact minimum perfect matching for many rows: LP with cuts, sparse blossom, reduced-cost proof.

    1. Solve the matching LP on each row's ``k`` nearest pairs; add every pair of negative reduced
       cost, and an odd-set cut for every odd cycle of half edges, until neither is left (or
       ``rounds`` pass): the LP value is a lower bound for the complete graph.
    2. Blossom algorithm on the chosen pairs only (sparse, fast), cost C. Any perfect matching costs
       at least the LP value plus the reduced costs of its pairs, so a pair with reduced cost above
       C - LP cannot be in a better one: add the pairs below it, solve again, and the result is
       optimal on the complete graph.

    Returns None when a step fails (the caller falls back to the blossom algorithm).
    """
    n = len(dist)
    finite = np.isfinite(dist)
    work = np.where(finite, dist, np.inf)
    np.fill_diagonal(work, np.inf)
    chosen = np.zeros((n, n), dtype=bool)
    _widen(chosen, work, finite, k)
    tol = 1e-7 * max(1.0, float(np.nanmax(np.where(finite, dist, 0.0))))
    odd_sets: list[np.ndarray] = []
    proof = None  # (LP value, reduced costs) of the last LP with no pair of negative reduced cost
    for _ in range(rounds):
        pairs = np.argwhere(np.triu(chosen, 1))
        lp = _solve_lp(dist, pairs, odd_sets)
        if lp is None:  # no fractional perfect matching on these pairs yet: widen
            k *= 2
            _widen(chosen, work, finite, k)
            continue
        lower, y, cut, x = lp
        reduced = _reduced_costs(work, y, cut, odd_sets)
        violated = (reduced < -tol) & ~chosen
        if violated.any():
            chosen |= violated | violated.T
            continue
        proof = (lower, reduced)
        new_sets = _odd_components(n, pairs, x)
        if not new_sets:
            break
        odd_sets += new_sets
    if proof is None:
        return None
    lower, reduced = proof
    best = _sparse_blossom(dist, chosen)
    if best is None:
        return None
    extra = (reduced <= best[1] - lower + tol) & ~chosen
    if extra.any():
        chosen |= extra | extra.T
        best = _sparse_blossom(dist, chosen)
        if best is None:
            return None
    return [(int(a), int(b)) for a, b in best[0]]


def _pieces(net: Network, required: np.ndarray) -> list[np.ndarray]:
    """Node-index sets of the connected pieces of the required edges."""
    nodes, inv = np.unique(np.concatenate([net.eu[required], net.ev[required]]), return_inverse=True)
    m = len(required)
    adj = sp.coo_matrix((np.ones(m), (inv[:m], inv[m:])), shape=(len(nodes), len(nodes)))
    n_comp, label = connected_components(adj, directed=False)
    return [nodes[label == c] for c in range(n_comp)]


def _connect_pieces(net: Network, pieces: list[np.ndarray]) -> tuple[list[tuple[int, bool]], np.ndarray]:
    """Walks joining the pieces along a minimum spanning tree of shortest paths; and their distances.

    Returns the joining walks (each walked once) and the matrix of shortest distances (m) between
    pieces.
    """
    m = len(pieces)
    gap = np.zeros((m, m))
    ends: dict[tuple[int, int], tuple[int, int]] = {}
    preds = []
    for i, nodes in enumerate(pieces):
        dist, pred, src = dijkstra(net.csr, directed=False, indices=nodes, return_predecessors=True,
                                   min_only=True)
        preds.append((pred, src))
        for j, other in enumerate(pieces):
            if i != j:
                k = int(np.argmin(dist[other]))
                gap[i, j] = dist[other][k]
                ends[(i, j)] = (int(src[other[k]]), int(other[k]))
    tree = minimum_spanning_tree(sp.csr_matrix(np.where(gap > 0, gap, 1e-9) * (1 - np.eye(m)))).tocoo()
    walks: list[tuple[int, bool]] = []
    for i, j in zip(tree.row, tree.col, strict=True):
        source, target = ends[(int(i), int(j))]
        walks.extend(net.path(preds[int(i)][0], source, target))
    return walks, gap


def _connect_bound(gap: np.ndarray) -> float:
    """Lower bound (m) on the deadhead that joins pieces, from the matrix of distances between them.

    Contract every piece to a point: the deadhead becomes a closed walk through all of them, at least
    the shortest tour of the contracted metric, itself at least its Held–Karp 1-tree bound and at least
    the sum over pieces of the distance to the nearest other piece.
    """
    m = len(gap)
    if m < 2:
        return 0.0
    closure = shortest_path(sp.csr_matrix(np.maximum(gap, 1e-9) * (1 - np.eye(m))), directed=False)
    nearest = np.where(np.eye(m, dtype=bool), np.inf, closure).min(axis=1)
    return max(float(nearest.sum()), held_karp_bound(closure))


def _euler(net: Network, steps: list[int], depot: int) -> list[tuple[int, bool]]:
    """Euler circuit from ``depot`` over the multiset of edge indices ``steps`` (all degrees even)."""
    if not steps:
        return []
    h = nx.MultiGraph()
    for i, e in enumerate(steps):
        h.add_edge(int(net.eu[e]), int(net.ev[e]), key=i, e=e)
    walk = []
    for a, _b, k in nx.eulerian_circuit(h, source=depot, keys=True):
        e = steps[k]
        walk.append((e, bool(net.eu[e] == a)))
    return walk


def _odd_nodes(net: Network, steps: list[int]) -> np.ndarray:
    ends = np.concatenate([net.eu[steps], net.ev[steps]])
    nodes, count = np.unique(ends, return_counts=True)
    return nodes[count % 2 == 1]


def rural_postman_exact(net: Network, required: np.ndarray, depot: int) -> Tour:
    """Exact rural postman tour by dynamic programming over the order of first passes (few edges only).

    The optimal closed walk is the required edges, each first walked in some order and direction,
    joined by shortest paths: a Held–Karp recursion over (edges done, last edge, direction), in
    O(2^m m^2) for m required edges. Use for m up to about 12.
    """
    required = np.asarray(required, dtype=np.int64)
    m = len(required)
    start = np.empty(2 * m, dtype=np.int64)  # slot 2i: edge i walked eu -> ev; 2i + 1: ev -> eu
    start[0::2], start[1::2] = net.eu[required], net.ev[required]
    end = np.empty(2 * m, dtype=np.int64)
    end[0::2], end[1::2] = net.ev[required], net.eu[required]
    terminals = np.unique(np.concatenate([start, [depot]]))
    where = {int(t): i for i, t in enumerate(terminals)}
    dist, pred = net.shortest(terminals)
    closure = dist[:, terminals]
    s_idx = np.array([where[int(v)] for v in start])
    e_idx = np.array([where[int(v)] for v in end])
    d0 = where[int(depot)]
    length = np.repeat(net.length[required], 2)
    step = closure[e_idx][:, s_idx] + length[None, :]  # from slot (after it) to slot (walked)
    full = (1 << m) - 1
    dp = np.full((full + 1, 2 * m), np.inf)
    parent = np.full((full + 1, 2 * m), -1, dtype=np.int64)
    for i in range(m):
        dp[1 << i, 2 * i: 2 * i + 2] = closure[d0, s_idx[2 * i: 2 * i + 2]] + length[2 * i: 2 * i + 2]
    for mask in range(1, full + 1):
        cur = dp[mask]
        if not np.isfinite(cur).any():
            continue
        total = cur[:, None] + step
        best_from = np.argmin(total, axis=0)
        best = total[best_from, np.arange(2 * m)]
        for f in range(m):
            if mask >> f & 1:
                continue
            nxt = mask | (1 << f)
            for slot in (2 * f, 2 * f + 1):
                if best[slot] < dp[nxt, slot]:
                    dp[nxt, slot] = best[slot]
                    parent[nxt, slot] = best_from[slot]
    finish = dp[full] + closure[e_idx, d0]
    slot = int(np.argmin(finish))
    order = []
    mask = full
    while slot >= 0:
        order.append(slot)
        prev = int(parent[mask, slot])
        mask &= ~(1 << (slot // 2))
        slot = prev
    order.reverse()
    walk: list[tuple[int, bool]] = []
    here = int(depot)
    for slot in order:
        walk += net.path(pred[where[here]], here, int(start[slot]))
        walk.append((int(required[slot // 2]), slot % 2 == 0))
        here = int(end[slot])
    walk += net.path(pred[where[here]], here, int(depot))
    return Tour(depot=depot, walk=walk, lower_bound_m=float(finish.min()), exact=True, method="rpp")


def postman_tour(net: Network, required: np.ndarray, depot: int, *, exact_up_to: int = 12) -> Tour:  # noqa: PLR0915
    """Shortest closed walk from ``depot`` covering every edge index in ``required``.

    Exact (Chinese Postman) when the required edges form one connected piece. Otherwise (rural
    postman) exact by :func:`rural_postman_exact` up to ``exact_up_to`` required edges; above, the
    pieces are joined along a minimum spanning tree and ``lower_bound_m`` is a proven lower bound.
    All required edges must lie in the depot's network component.
    """
    required = np.asarray(required, dtype=np.int64)
    if len(required) == 0:
        return Tour(depot=depot, method="none")
    req_len = float(net.length[required].sum())
    pieces = _pieces(net, required)
    on_required = any(depot in p for p in pieces)
    steps = [int(e) for e in required]
    lower = req_len
    if len(pieces) > 1 and len(required) <= exact_up_to:
        return rural_postman_exact(net, required, depot)
    dist_dep, pred_dep = net.shortest([depot])
    if len(pieces) > 1:
        join_walk, gap = _connect_pieces(net, pieces)
        steps += [e for e, _ in join_walk]
        if not on_required:  # the depot is one more place to reach
            to_piece = np.array([dist_dep[0, p].min() for p in pieces])
            gap = np.block([[gap, to_piece[:, None]], [to_piece[None, :], np.zeros((1, 1))]])
        connect = _connect_bound(gap)
        odd_r = _odd_nodes(net, list(required))
        dist_r, _ = net.shortest(odd_r)
        pairs = _min_matching(dist_r[:, odd_r])
        t_join = float(sum(dist_r[a, odd_r[b]] for a, b in pairs))
        lower = req_len + max(t_join, connect)
    odd = _odd_nodes(net, steps)
    span = float(net.length[steps].sum())
    sources = odd
    dist, pred = net.shortest(sources, limit=span + 1.0) if len(odd) else (np.empty((0, len(net.nodes))), None)
    terminals = list(range(len(odd)))
    matrix = dist[:, odd] if len(odd) else np.empty((0, 0))
    on_walk = depot in set(net.eu[steps]) | set(net.ev[steps])
    if not on_walk:  # depot enters as two copies: paired together = return trip to the nearest node
        walk_nodes = np.unique(np.concatenate([net.eu[steps], net.ev[steps]]))
        near = walk_nodes[np.argmin(dist_dep[0, walk_nodes])]
        to_dep = dist_dep[0, odd]
        size = len(odd) + 2
        full = np.full((size, size), np.inf)
        full[: len(odd), : len(odd)] = matrix
        full[-2:, : len(odd)] = to_dep
        full[: len(odd), -2:] = to_dep[:, None]
        full[-2, -1] = full[-1, -2] = 2.0 * dist_dep[0, near]
        matrix = full
        terminals += [-1, -1]
    for a, b in _min_matching(matrix):
        ta, tb = terminals[a], terminals[b]
        if ta == -1 and tb == -1:
            path = net.path(pred_dep[0], depot, int(near))
            steps += [e for e, _ in path] * 2
        elif ta == -1 or tb == -1:
            t = tb if ta == -1 else ta
            steps += [e for e, _ in net.path(pred_dep[0], depot, int(odd[t]))]
        else:
            steps += [e for e, _ in net.path(pred[ta], int(odd[ta]), int(odd[tb]))]
    walk = _euler(net, steps, depot)
    length = tour_length(net, walk)
    if len(pieces) == 1:
        return Tour(depot=depot, walk=walk, lower_bound_m=length, exact=True, method="cpp")
    return Tour(depot=depot, walk=walk, lower_bound_m=lower, exact=False, method="rpp", n_pieces=len(pieces))


# --------------------------------------------------------------------------------------------------
# k wardens: cut one tour into k balanced closed routes


def split_tour(net: Network, tour: Tour, k: int, serving: np.ndarray) -> list[list[tuple[int, bool]]]:
    """Cut ``tour`` into at most ``k`` closed walks from its depot, minimising the longest.

    Parameters
    ----------
    net, tour
        The network and the single closed walk.
    k
        Number of routes wanted.
    serving
        Boolean per step of ``tour.walk``: True where the step serves something (first pass over a
        required edge, or arrival at a stop). Each route keeps the steps between its first and last
        serving step and walks the shortest paths from and back to the depot.
    """
    walk, depot = tour.walk, tour.depot
    if k <= 1 or len(walk) == 0:
        return [walk]
    dist_dep, pred_dep = net.shortest([depot])
    d = dist_dep[0]
    nodes = net.walk_nodes(walk, depot)
    cum = np.concatenate([[0.0], np.cumsum(net.length[[e for e, _ in walk]])])
    idx = np.flatnonzero(serving)
    # cut only between serving steps: segment = serving steps idx[a..b]
    start_node, end_node = nodes[idx], nodes[idx + 1]
    start_c, end_c = cum[idx], cum[idx + 1]

    def greedy(limit: float) -> list[tuple[int, int]] | None:
        segs, a = [], 0
        while a < len(idx):
            cost = d[start_node[a]] + end_c[a:] - start_c[a] + d[end_node[a:]]
            fits = np.flatnonzero(cost <= limit)
            if len(fits) == 0 or fits[0] != 0:
                return None
            # longest prefix that fits (cost is not monotone: take the last b with all before fitting)
            bad = np.flatnonzero(cost > limit)
            b = a + (int(bad[0]) - 1 if len(bad) else len(cost) - 1)
            segs.append((a, b))
            a = b + 1
        return segs

    lo, hi = 0.0, float(cum[-1]) + 2 * float(d[nodes].max()) + 1.0
    best = greedy(hi)
    for _ in range(50):
        mid = (lo + hi) / 2
        segs = greedy(mid)
        if segs is not None and len(segs) <= k:
            hi, best = mid, segs
        else:
            lo = mid
        if hi - lo < 0.05:
            break
    routes = []
    for a, b in best or []:
        inner = walk[idx[a]: idx[b] + 1]
        out = net.path(pred_dep[0], depot, int(start_node[a]))
        back = [(e, not fwd) for e, fwd in reversed(net.path(pred_dep[0], depot, int(end_node[b])))]
        routes.append(out + inner + back)
    return routes


def _serving_edges(walk: list[tuple[int, bool]], required: set[int]) -> np.ndarray:
    seen: set[int] = set()
    serving = np.zeros(len(walk), dtype=bool)
    for i, (e, _) in enumerate(walk):
        if e in required and e not in seen:
            seen.add(e)
            serving[i] = True
    return serving


def round_trip_bound(net: Network, required: np.ndarray, depot: int) -> float:
    """Longest depot round trip to walk one required edge: a lower bound on the longest of k routes (m)."""
    if len(required) == 0:
        return 0.0
    d = net.shortest([depot])[0][0]
    a, b = d[net.eu[required]], d[net.ev[required]]
    return float((np.minimum(a, b) + np.maximum(a, b) + net.length[required]).max()) if len(required) else 0.0


# --------------------------------------------------------------------------------------------------
# door-to-door tours (TSP on network distances)


def tsp_tour(dist: np.ndarray, *, start: int = 0) -> list[int]:
    """A short closed tour through every row of ``dist`` from ``start``: nearest neighbour, 2-opt, Or-opt.

    Returns the visiting order (a permutation of ``range(n)`` beginning with ``start``).
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
    tour = np.array(order)
    while _two_opt(dist, tour) | _or_opt(dist, tour):
        pass
    return tour.tolist()


def _two_opt(dist: np.ndarray, tour: np.ndarray) -> bool:
    """Reverse stretches of ``tour`` (in place) while that shortens it; True if anything changed."""
    n = len(tour)
    changed, improved = False, True
    while improved:
        improved = False
        for i in range(1, n - 1):
            a, b = tour[i - 1], tour[i]
            c = tour[i + 1:]
            dnext = tour[np.r_[i + 2: n, 0]][: len(c)]
            delta = dist[a, c] + dist[b, dnext] - dist[a, b] - dist[c, dnext]
            j = int(np.argmin(delta))
            if delta[j] < -1e-9:
                tour[i: i + 2 + j] = tour[i: i + 2 + j][::-1]
                improved = changed = True
    return changed


def _or_opt(dist: np.ndarray, tour: np.ndarray) -> bool:
    """Move one stretch of 1-3 stops (either way round) elsewhere if that shortens ``tour`` (in place)."""
    n = len(tour)
    for size in (1, 2, 3):
        for i in range(1, n - size + 1):
            seg = tour[i: i + size]
            prev, nxt = tour[i - 1], tour[(i + size) % n]
            gain = dist[prev, seg[0]] + dist[seg[-1], nxt] - dist[prev, nxt]
            rest = np.concatenate([tour[:i], tour[i + size:]])
            a, b = rest, np.roll(rest, -1)
            fwd = dist[a, seg[0]] + dist[seg[-1], b] - dist[a, b]
            rev = dist[a, seg[-1]] + dist[seg[0], b] - dist[a, b]
            j_f, j_r = int(np.argmin(fwd)), int(np.argmin(rev))
            cost, j, piece = (fwd[j_f], j_f, seg) if fwd[j_f] <= rev[j_r] else (rev[j_r], j_r, seg[::-1])
            if cost < gain - 1e-9:
                tour[:] = np.concatenate([rest[: j + 1], piece, rest[j + 1:]])
                if tour[0] != rest[0]:  # keep the start first
                    tour[:] = np.roll(tour, -int(np.flatnonzero(tour == rest[0])[0]))
                return True
    return False


def held_karp_bound(dist: np.ndarray, *, iterations: int = 200) -> float:
    """Held–Karp 1-tree lower bound (m) on the shortest closed tour through all rows of ``dist``.

    Subgradient ascent on node penalties; node 0 is the special node of the 1-tree.
    """
    n = len(dist)
    if n <= 1:
        return 0.0
    if n == 2:
        return 2.0 * float(dist[0, 1])
    pi = np.zeros(n)
    best = 0.0
    step = float(np.median(dist[np.isfinite(dist) & (dist > 0)])) if n > 2 else 1.0
    for it in range(iterations):
        w = dist + pi[:, None] + pi[None, :]
        sub = w[1:, 1:]
        shift = float(sub.min()) - 1.0  # scipy drops zero and cannot take negative weights: shift them
        tree = minimum_spanning_tree(sp.csr_matrix((sub - shift) * (1 - np.eye(n - 1)))).tocoo()
        degree = np.zeros(n)
        np.add.at(degree, tree.row + 1, 1)
        np.add.at(degree, tree.col + 1, 1)
        cost = float(sub[tree.row, tree.col].sum())
        two = np.argsort(w[0, 1:])[:2] + 1
        cost += float(w[0, two].sum())
        degree[0] = 2
        degree[two] += 1
        value = cost - 2.0 * float(pi.sum())
        best = max(best, value)
        sub_grad = degree - 2
        if not sub_grad.any():
            break
        t = step * (0.95 ** it) / max(1.0, float(np.sqrt((sub_grad ** 2).sum())))
        pi += t * sub_grad
    return best


def building_tour(net: Network, stops: np.ndarray, depot: int) -> Tour:
    """Closed walk from ``depot`` through every node index in ``stops`` (door-to-door, 走访)."""
    points = np.unique(np.concatenate([[depot], stops]))
    points = np.concatenate([[depot], points[points != depot]])
    if len(points) == 1:
        return Tour(depot=depot, method="tsp")
    dist, pred = net.shortest(points)
    matrix = dist[:, points]
    order = tsp_tour(matrix, start=0)
    walk: list[tuple[int, bool]] = []
    for a, b in zip(order, [*order[1:], order[0]], strict=True):
        walk += net.path(pred[a], int(points[a]), int(points[b]))
    bound = held_karp_bound(matrix)
    return Tour(depot=depot, walk=walk, lower_bound_m=bound, exact=False, method="tsp")


# --------------------------------------------------------------------------------------------------
# grids, stations and the routes table


def required_edges(net: Network, grids_metric: gpd.GeoSeries, *, include_boundary: bool = True,
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
    station_xy: np.ndarray | None
    rep_xy: np.ndarray
    stops: np.ndarray | None = None


def _choose_component(net: Network, job: _GridJob) -> tuple[np.ndarray, float]:
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


def _depot(net: Network, job: _GridJob, keep: np.ndarray) -> tuple[int, float]:
    """Depot node index and the station's snap distance (NaN without a station)."""
    comp = int(net.component[net.eu[keep[0]]]) if len(keep) else None
    if job.station_xy is not None:
        node, dist = net.nearest(job.station_xy, component=comp)
        return int(node[0]), float(dist[0])
    if len(keep):
        nodes = np.unique(np.concatenate([net.eu[keep], net.ev[keep]]))
        node, _ = net.nearest(job.rep_xy, among=nodes)
        return int(node[0]), float("nan")
    node, _ = net.nearest(job.rep_xy)
    return int(node[0]), float("nan")


def patrol_routes(
    grids: gpd.GeoDataFrame,
    graph: nx.MultiGraph,
    *,
    stations: pd.DataFrame | gpd.GeoDataFrame | None = None,
    include_boundary: bool = True,
    speed_kmh: float = 4.5,
    mode: str = "streets",
    buildings: gpd.GeoDataFrame | None = None,
    wardens_per_grid: int | dict[str, int] | None = None,
    boundary_m: float = 2.0,
) -> gpd.GeoDataFrame:
    """Patrol routes for every grid: shortest closed walks from the station along every street.

    Parameters
    ----------
    grids
        Grid polygons with ``grid_id`` (any CRS).
    graph
        Walking graph from :func:`gridkit.network.street_graph` (metric CRS in ``graph.graph['crs']``).
    stations
        Wardens' stations: points (GeoDataFrame) or a table with ``lon``/``lat`` (EPSG:4326), with
        ``warden_id`` and optionally ``grid_id`` (otherwise the grid containing, or nearest to, the
        point). All wardens of one grid start from the grid's first station (by ``warden_id``); each
        gets one of the grid's k balanced routes.
    include_boundary
        Also cover the streets along the grid's outline (within ``boundary_m`` metres).
    speed_kmh
        Walking speed for ``minutes``.
    mode
        ``"streets"`` (cover every street) or ``"buildings"`` (visit every building's access node).
    buildings
        Buildings (polygons or points, any CRS) for ``mode="buildings"``.
    wardens_per_grid
        Routes per grid (an int, or a mapping grid_id → int); default the number of stations in the
        grid, or 1.
    boundary_m
        Tolerance (m) for an edge to count as lying along the grid's outline.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per grid and warden, columns :data:`ROUTE_COLUMNS`, geometry in the grids' CRS: the
        route as one continuous, closed LineString (None when a grid has no street to walk, with a
        ``note``). ``street_names`` is a list; see :func:`routes_for_export` for files.
    """
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
    net = Network(undirected(graph))
    if len(net.nodes) == 0:
        raise InputDataError("the street graph is empty: no street to route along")
    crs = pyproj.CRS.from_user_input(net.crs) if net.crs is not None else None
    grids_m = grids.to_crs(crs) if crs is not None else grids
    jobs = _jobs(net, grids_m, grids, stations, include_boundary, boundary_m, crs)
    if mode == "buildings":
        _attach_stops(net, jobs, grids_m, buildings, crs)
    rows = []
    for job, k in zip(jobs, _route_counts(jobs, wardens_per_grid), strict=True):
        rows.extend(_grid_rows(net, job, k, mode, speed_kmh))
    empty = [r["grid_id"] for r in rows if r["geometry"] is None and r["route_no"] == 1]
    if empty:
        warnings.warn(f"{len(empty)} grid(s) have no street to walk: {', '.join(sorted(set(empty))[:10])}",
                      GridkitWarning, stacklevel=2)
    table = pd.DataFrame(rows, columns=ROUTE_COLUMNS)
    out = gpd.GeoDataFrame(table, geometry="geometry", crs=crs)
    return out.to_crs(grids.crs) if grids.crs is not None and crs is not None else out


def _jobs(net: Network, grids_m: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, stations: object,
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
                station_xy = shapely.get_coordinates(mine.geometry.iloc[0])
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


def _attach_stops(net: Network, jobs: list[_GridJob], grids_m: gpd.GeoDataFrame,
                  buildings: gpd.GeoDataFrame, crs: pyproj.CRS) -> None:
    """Access node of every building, grouped by the grid containing its representative point."""
    points = shapely.point_on_surface(buildings.to_crs(crs).geometry.to_numpy())
    bi, gi = shapely.STRtree(grids_m.geometry.to_numpy()).query(points, predicate="within")
    order = np.argsort(bi, kind="stable")
    bi, gi = bi[order], gi[order]
    first = np.unique(bi, return_index=True)[1]
    bi, gi = bi[first], gi[first]
    for g, job in enumerate(jobs):
        mine = points[bi[gi == g]]
        if len(mine) == 0:
            job.stops = np.empty(0, dtype=np.int64)
            continue
        comp = None
        if len(job.required):
            comp = int(pd.Series(net.length[job.required]).groupby(net.component[net.eu[job.required]]).sum()
                       .idxmax())
        node, _ = net.nearest(shapely.get_coordinates(mine), component=comp)
        job.stops = np.unique(node)


def _grid_rows(net: Network, job: _GridJob, k: int, mode: str, speed_kmh: float) -> list[dict]:
    """The route rows of one grid (k of them, one per warden)."""
    keep, lost = _choose_component(net, job)
    depot, snap = _depot(net, job, keep)
    if mode == "buildings" and job.stops is not None and len(job.stops):
        tour = building_tour(net, job.stops, depot)
        stops = set(job.stops.tolist())
        nodes = net.walk_nodes(tour.walk, depot)
        seen: set[int] = set()
        serving = np.zeros(len(tour.walk), dtype=bool)
        for i, n in enumerate(nodes[1:]):
            if int(n) in stops and int(n) not in seen:
                seen.add(int(n))
                serving[i] = True
        n_stops = len(stops)
        rt = 2.0 * float(net.shortest([depot])[0][0][list(stops)].max())
    else:
        if mode == "buildings":
            job.note.append("no building in this grid: its streets are walked instead")
        tour = postman_tour(net, keep, depot)
        serving = _serving_edges(tour.walk, set(keep.tolist()))
        n_stops = 0
        rt = round_trip_bound(net, keep, depot)
    if not tour.walk:
        job.note.append("every building is reached at the start node" if n_stops
                        else "no street inside or on the boundary of this grid")
        return [_row(net, job, [], 1, tour, snap, lost, speed_kmh, mode, n_stops)]
    walks = split_tour(net, tour, k, serving) if k > 1 else [tour.walk]
    if k > 1:
        bound = max(tour.lower_bound_m / k, rt)
        tour = Tour(depot=depot, walk=tour.walk, lower_bound_m=bound, exact=False, method=f"{tour.method}-k",
                    n_pieces=tour.n_pieces)
        if len(walks) < k:
            job.note.append(f"{k} wardens but the streets make only {len(walks)} routes")
    rows = []
    longest = max(tour_length(net, w) for w in walks)
    remaining = set(keep.tolist())
    for i, walk in enumerate(walks):
        mine = remaining & {e for e, _ in walk}  # each street counted for the first route that walks it
        remaining -= mine
        rows.append(_row(net, job, walk, i + 1, tour, snap, lost, speed_kmh, mode, n_stops,
                         served=None if n_stops else mine))
        if k > 1:  # the bound is on the longest route: its gap is the grid's
            rows[-1]["gap"] = max(0.0, longest / tour.lower_bound_m - 1.0) if tour.lower_bound_m > 0 else 0.0
    for i in range(len(walks), k):  # wardens left without a route still get their row
        rows.append(_row(net, job, [], i + 1, tour, snap, lost, speed_kmh, mode, n_stops, served=set()))
    return rows


def _row(net: Network, job: _GridJob, walk: list[tuple[int, bool]], route_no: int, tour: Tour,
         snap: float, lost: float, speed_kmh: float, mode: str, n_stops: int,
         served: set[int] | None = None) -> dict:
    length = tour_length(net, walk)
    edges = {e for e, _ in walk}
    street = float(net.length[sorted(edges & served)].sum()) if served is not None else float(
        net.length[sorted(edges)].sum())
    warden = job.wardens[route_no - 1] if route_no - 1 < len(job.wardens) else None
    bound = tour.lower_bound_m
    return {
        "grid_id": job.grid_id, "warden_id": warden, "route_no": route_no, "mode": mode,
        "method": tour.method, "exact": bool(tour.exact and len(walk) > 0), "length_m": length,
        "minutes": length / (speed_kmh * 1000.0 / 60.0), "street_length_m": street,
        "deadhead_ratio": length / street if street > 0 else float("nan"),
        "lower_bound_m": bound if walk else 0.0,
        "gap": max(0.0, length / bound - 1.0) if walk and bound > 0 else 0.0,
        "n_required": len(edges & served) if served is not None else 0, "n_stops": n_stops,
        "station_snap_m": snap, "unreachable_m": lost, "street_names": net.walk_names(walk),
        "note": "; ".join(job.note), "geometry": net.walk_line(walk),
    }


def routes_for_export(routes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Copy of ``routes`` fit for GeoJSON/GPKG: ``street_names`` joined with " / "."""
    out = routes.copy()
    out["street_names"] = [" / ".join(v) if isinstance(v, list | tuple) else (v or "") for v in out["street_names"]]
    return out
