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
- Several wardens in one grid: the single tour is cut into k closed routes, each from and back to
  its warden's own station, min-max balanced by a heuristic (route-first, cluster-second: cut points
  by binary search over several starting points and depot orders, then boundary moves), with the
  bound max(total / k, longest round trip from the nearest depot to one required edge or stop); total
  is the single optimum's bound with one depot, else the better of the T-join bound (required length
  + odd-node matching) and the cut LP with the depots as one root, or, door to door, the spanning
  tree of the stops with the depots merged.
- ``mode="buildings"``: a door-to-door tour through every building's access point, its
  representative point projected onto the nearest street edge (the edge split there, so distances
  are along-edge offsets plus network distances): exact (Held–Karp recursion) up to 9 stops, else
  nearest neighbour, 2-opt and Or-opt on network distances with its gap to the Held–Karp 1-tree
  bound.

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
from shapely.ops import substring

from gridkit.errors import GridkitWarning, InputDataError
from gridkit.io import source_name

__all__ = [
    "ROUTE_COLUMNS",
    "Network",
    "Tour",
    "access_points",
    "building_tour",
    "held_karp_bound",
    "patrol_routes",
    "postman_tour",
    "required_edges",
    "round_trip_bound",
    "routes_for_export",
    "rpp_lp_bound",
    "rural_postman_exact",
    "split_tour",
    "split_tour_depots",
    "subtour_bound",
    "tjoin_bound",
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
        nodes = np.array(list(graph.nodes), dtype=object)
        index = {n: i for i, n in enumerate(nodes)}
        xy = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)], dtype=float).reshape(-1, 2)
        eu, ev, length, geoms, names = [], [], [], [], []
        for u, v, data in graph.edges(data=True):
            a, b = index[u], index[v]
            geom = data.get("geometry")
            if geom is None:
                geom = shapely.LineString([xy[a], xy[b]])
            elif data.get("from_node", u) != u or (
                    "from_node" not in data and _starts_at(geom, xy[b]) and not _starts_at(geom, xy[a])):
                geom = geom.reverse()
            eu.append(a)
            ev.append(b)
            length.append(float(data.get("length", geom.length)))
            geoms.append(geom)
            name = data.get("name")
            names.append(" / ".join(map(str, name)) if isinstance(name, list) else name)
        self.graph = graph
        self._setup(graph.graph.get("crs"), nodes, xy, np.array(eu, dtype=np.int64), np.array(ev, dtype=np.int64),
                    np.array(length, dtype=float), np.array(geoms, dtype=object), np.array(names, dtype=object))

    @classmethod
    def from_arrays(cls, crs: object, nodes: np.ndarray, xy: np.ndarray, eu: np.ndarray, ev: np.ndarray,
                    length: np.ndarray, geoms: np.ndarray, names: np.ndarray) -> Network:
        """A network from node ids and coordinates and edge arrays (geometries oriented eu → ev)."""
        net = cls.__new__(cls)
        net.graph = None
        net._setup(crs, nodes, xy, eu, ev, length, geoms, names)
        return net

    def _setup(self, crs: object, nodes: np.ndarray, xy: np.ndarray, eu: np.ndarray, ev: np.ndarray,
               length: np.ndarray, geoms: np.ndarray, names: np.ndarray) -> None:
        self.crs = crs
        self.nodes, self.xy = nodes, xy
        self.index = {n: i for i, n in enumerate(nodes)}
        self.eu, self.ev, self.length, self.geoms, self.names = eu, ev, length, geoms, names
        n = len(self.nodes)
        pair = pd.DataFrame({"a": np.minimum(self.eu, self.ev), "b": np.maximum(self.eu, self.ev),
                             "len": self.length, "e": np.arange(len(self.eu))})
        best = pair[pair.a != pair.b].sort_values("len", kind="stable").drop_duplicates(["a", "b"])
        self.best_edge = dict(zip(zip(best.a, best.b, strict=True), best.e, strict=True))
        weight = np.maximum(best.len.to_numpy(), 1e-9)
        self.csr = sp.csr_matrix((np.concatenate([weight, weight]),
                                  (np.concatenate([best.a, best.b]), np.concatenate([best.b, best.a]))),
                                 shape=(n, n))
        _, self.component = connected_components(self.csr, directed=False)
        self._trees: dict[int, tuple[cKDTree, np.ndarray]] = {}
        self._edge_trees: dict[int, tuple[shapely.STRtree, np.ndarray]] = {}

    def edge_tree(self, component: int | None = None) -> tuple[shapely.STRtree, np.ndarray]:
        """STRtree over the edges (of one network component) and their edge indices, cached."""
        key = -1 if component is None else component
        if key not in self._edge_trees:
            edges = (np.arange(len(self.eu)) if component is None
                     else np.flatnonzero(self.component[self.eu] == component))
            self._edge_trees[key] = (shapely.STRtree(self.geoms[edges]), edges)
        return self._edge_trees[key]

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


def rpp_lp_bound(net: Network, required: np.ndarray, depot: int | np.ndarray, *, rounds: int = 40) -> float:
    """LP lower bound (m) on the rural postman tour from ``depot`` covering ``required``.

    With several depots (an array), a bound on the total length of closed walks, each from one of
    them, that together cover ``required``: the depots and the pieces holding them count as one.

    On the complete graph of the required edges' end nodes and the depot (shortest-path metres;
    pairs with a shortest path through another of these nodes left out, which changes nothing), the
    deadhead x ≥ 0 must cross every node set S at least r(S) times: 2 if S is a union of pieces
    (connected parts of the required edges, the depot a piece of its own when off them), 1 if S holds
    an odd number of odd-degree nodes. Cutting planes: start from single odd nodes and single pieces,
    add the node sets of the LP's support that violate a constraint (its components; the pieces'
    minimum cut, Stoer–Wagner), repeat. Every LP on the way is a relaxation, so the returned value
    (required length + LP deadhead) is a proven bound whenever the loop stops.
    """
    required = np.asarray(required, dtype=np.int64)
    depots = np.unique(np.atleast_1d(np.asarray(depot, dtype=np.int64)))
    terminals = np.unique(np.concatenate([net.eu[required], net.ev[required], depots]))
    nt = len(terminals)
    req_len = float(net.length[required].sum())
    if nt < 2:
        return req_len
    where = {int(t): i for i, t in enumerate(terminals)}
    dist = net.shortest(terminals)[0][:, terminals]
    piece = np.full(nt, -1, dtype=np.int64)
    for c, nodes in enumerate(_pieces(net, required)):
        piece[[where[int(v)] for v in nodes]] = c
    home = np.array([where[int(d)] for d in depots])
    for h in home:  # a depot off the required edges is a piece of its own
        if piece[h] < 0:
            piece[h] = piece.max() + 1
    piece[np.isin(piece, piece[home])] = piece[home[0]]  # the depots and their pieces are one root
    piece = np.unique(piece, return_inverse=True)[1]
    n_pieces = int(piece.max()) + 1
    odd = np.zeros(nt, dtype=bool)
    odd[[where[int(v)] for v in _odd_nodes(net, list(required))]] = True
    i, j = np.triu_indices(nt, 1)
    keep = np.isfinite(dist[i, j])
    if nt <= 400:  # a pair is dominated when a shortest path through a third node is as short
        tol = 1e-6 * max(1.0, float(np.nanmax(np.where(np.isfinite(dist), dist, 0.0))))
        for t in range(nt):
            through = dist[i, t] + dist[t, j]
            keep &= ~((through <= dist[i, j] + tol) & (i != t) & (j != t))
    pi, pj = i[keep], j[keep]
    cost = dist[pi, pj]
    cuts: list[tuple[np.ndarray, float]] = [(np.arange(nt) == v, 1.0) for v in np.flatnonzero(odd)]
    if n_pieces > 1:
        cuts += [(piece == c, 2.0) for c in range(n_pieces)]
    if not cuts:
        return req_len
    value = 0.0
    for _ in range(rounds):
        member = np.array([m for m, _ in cuts])
        a_ub = -(member[:, pi] ^ member[:, pj]).astype(float)
        res = linprog(cost, A_ub=sp.csr_matrix(a_ub), b_ub=-np.array([r for _, r in cuts]), bounds=(0, None),
                      method="highs")
        if res.status != 0:
            break
        value = max(value, float(res.fun))
        new = _violated_sets(nt, pi, pj, np.asarray(res.x), piece, n_pieces, odd)
        known = {m.tobytes() for m, _ in cuts}
        new = [(m, r) for m, r in new if m.tobytes() not in known]
        if not new:
            break
        cuts += new
    return req_len + value


def _violated_sets(nt: int, pi: np.ndarray, pj: np.ndarray, x: np.ndarray, piece: np.ndarray, n_pieces: int,
                   odd: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """Node sets (boolean masks) crossed less than required by the LP solution x on pairs (pi, pj)."""
    out: list[tuple[np.ndarray, float]] = []
    used = x > 1e-7
    support = sp.coo_matrix((np.ones(int(used.sum())), (pi[used], pj[used])), shape=(nt, nt))
    n_comp, label = connected_components(support, directed=False)
    for c in range(n_comp):  # nothing crosses a component: parity and connectivity checked on it
        mask = label == c
        if mask.all():
            continue
        if odd[mask].sum() % 2 == 1:
            out.append((mask, 1.0))
    if n_pieces > 1:  # pieces contracted: the lightest cut between them (Stoer–Wagner)
        g = nx.Graph()
        g.add_nodes_from(range(n_pieces))
        for a, b, w in zip(piece[pi[used]], piece[pj[used]], x[used], strict=True):
            if a != b:
                g.add_edge(int(a), int(b), weight=g.get_edge_data(int(a), int(b), {"weight": 0.0})["weight"] + w)
        if not nx.is_connected(g):
            for comp in nx.connected_components(g):
                out.append((np.isin(piece, list(comp)), 2.0))
        else:
            cut, (side, _) = nx.stoer_wagner(g)
            if cut < 2.0 - 1e-6:
                out.append((np.isin(piece, list(side)), 2.0))
    return out


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
        lower = max(req_len + max(t_join, connect), rpp_lp_bound(net, required, depot))
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
    if k <= 1 or len(tour.walk) == 0:
        return [tour.walk]
    return [w for w in split_tour_depots(net, tour, np.full(k, tour.depot), serving) if w]


def split_tour_depots(net: Network, tour: Tour, depots: np.ndarray, serving: np.ndarray, *,
                      rotations: int = 6) -> list[list[tuple[int, bool]]]:
    """Cut ``tour`` into closed walks, walk i from and back to ``depots[i]``, keeping the longest short.

    A heuristic for min-max routes with different depots (route-first, cluster-second): the single
    closed walk is cut between its serving steps into at most k consecutive stretches, each walked
    from its warden's depot (shortest path to the stretch's first serving step, the stretch, shortest
    path back). For several starting points on the (cyclic) walk (``rotations`` evenly spaced ones,
    and the ends of the 2k longest deadhead stretches between serving steps) and several orders of the depots
    along it (all orders up to 3 depots; above, the depots sorted by their nearest point on the walk
    and its cyclic shifts both ways), a binary search on the longest route with a greedy cut gives
    the stretches; then each boundary between neighbouring stretches is moved to where the longer
    of the two is shortest, while that helps.

    Parameters
    ----------
    net, tour
        The network and the single closed walk (from ``tour.depot``).
    depots
        Node index of each route's depot (one per warden; repeats allowed).
    serving
        Boolean per step of ``tour.walk``: True where the step serves something (first pass over a
        required edge, or arrival at a stop).

    Returns
    -------
    list
        One walk per depot, in the order of ``depots``; a walk is empty when the tour has fewer
        serving stretches than depots.
    """
    depots = np.asarray(depots, dtype=np.int64)
    k, walk = len(depots), tour.walk
    idx = np.flatnonzero(serving)
    if k == 0:
        return []
    if len(walk) == 0 or len(idx) == 0:
        return [list(walk) if i == 0 else [] for i in range(k)]
    uniq, inv = np.unique(depots, return_inverse=True)
    dist, pred = net.shortest(uniq)
    m, n_serve = len(walk), len(idx)
    nodes = net.walk_nodes(walk, tour.depot)
    node2 = np.concatenate([nodes[:-1], nodes])  # the walk twice: stretches may wrap around
    lengths = net.length[[e for e, _ in walk]]
    cum = np.concatenate([[0.0], np.cumsum(np.concatenate([lengths, lengths]))])
    idx2 = np.concatenate([idx, idx + m])
    best: tuple[float, np.ndarray, list[tuple[int, int]], tuple[int, ...]] | None = None
    gaps = cum[idx2[1: n_serve + 1]] - cum[idx2[:n_serve] + 1]  # deadhead after each serving step
    starts = np.concatenate([np.linspace(0, n_serve, max(1, rotations), endpoint=False).astype(int),
                             (np.argsort(-gaps, kind="stable")[: 2 * k] + 1) % n_serve])
    for r in np.unique(starts):
        pos = idx2[r: r + n_serve]
        arrays = (node2[pos], node2[pos + 1], cum[pos], cum[pos + 1])
        for order in _depot_orders(dist, inv, node2[pos]):
            segs = _minmax_cut(dist, inv[list(order)], *arrays)
            segs = _shift_boundaries(dist, inv[list(order)], segs, *arrays)
            value = max(_stretch_cost(dist, inv[order[j]], a, b, *arrays) for j, (a, b) in enumerate(segs))
            if best is None or value < best[0] - 1e-9:
                best = (value, pos, segs, order)
    _, pos, segs, order = best
    doubled = walk + walk
    routes: list[list[tuple[int, bool]]] = [[] for _ in range(k)]
    for j, (a, b) in enumerate(segs):
        row = int(inv[order[j]])
        home = int(uniq[row])
        first, last = int(node2[pos[a]]), int(node2[pos[b] + 1])
        out = net.path(pred[row], home, first)
        back = [(e, not fwd) for e, fwd in reversed(net.path(pred[row], home, last))]
        routes[order[j]] = out + doubled[pos[a]: pos[b] + 1] + back
    return routes


def _depot_orders(dist: np.ndarray, inv: np.ndarray, start_nodes: np.ndarray) -> list[tuple[int, ...]]:
    """Orders of the routes (warden indices) to try along the walk, distinct in their depots."""
    k = len(inv)
    if k <= 3:
        candidates = list(itertools.permutations(range(k)))
    else:
        along = np.argmin(dist[inv][:, start_nodes], axis=1)  # nearest point of the walk per depot
        base = list(np.argsort(along, kind="stable"))
        candidates = [tuple(int(x) for x in np.roll(base, -i)) for i in range(k)]
        candidates += [tuple(int(x) for x in np.roll(base[::-1], -i)) for i in range(k)]
    seen, out = set(), []
    for order in candidates:
        key = tuple(int(inv[i]) for i in order)
        if key not in seen:
            seen.add(key)
            out.append(tuple(order))
    return out


def _stretch_cost(dist: np.ndarray, row: int, a: int, b: int, st_node: np.ndarray, en_node: np.ndarray,
                  st_c: np.ndarray, en_c: np.ndarray) -> float:
    return float(dist[row, st_node[a]] + en_c[b] - st_c[a] + dist[row, en_node[b]])


def _minmax_cut(dist: np.ndarray, rows: np.ndarray, st_node: np.ndarray, en_node: np.ndarray,
                st_c: np.ndarray, en_c: np.ndarray) -> list[tuple[int, int]]:
    """Stretches (a, b) of serving steps, stretch j from depot row ``rows[j]``: binary search + greedy."""
    n = len(st_node)

    def greedy(limit: float) -> list[tuple[int, int]] | None:
        segs, a = [], 0
        for row in rows:
            if a >= n:
                break
            cost = dist[row, st_node[a]] + en_c[a:] - st_c[a] + dist[row, en_node[a:]]
            bad = np.flatnonzero(cost > limit)
            if len(bad) and bad[0] == 0:
                return None
            b = a + (int(bad[0]) - 1 if len(bad) else n - 1 - a)
            segs.append((a, b))
            a = b + 1
        return segs if a >= n else None

    hi = float(dist[rows[0], st_node[0]] + en_c[-1] - st_c[0] + dist[rows[0], en_node[-1]])
    best = greedy(hi) or [(0, n - 1)]
    lo = 0.0
    for _ in range(40):
        if hi - lo < max(0.5, 1e-4 * hi):
            break
        mid = (lo + hi) / 2
        segs = greedy(mid)
        if segs is not None:
            hi, best = mid, segs
        else:
            lo = mid
    return best


def _shift_boundaries(dist: np.ndarray, rows: np.ndarray, segs: list[tuple[int, int]], st_node: np.ndarray,
                      en_node: np.ndarray, st_c: np.ndarray, en_c: np.ndarray) -> list[tuple[int, int]]:
    """Move each boundary between neighbouring stretches to where the longer of the two is shortest."""
    segs = list(segs)
    for _ in range(3 * len(segs)):
        moved = False
        for j in range(len(segs) - 1):
            (a, b), (_, d) = segs[j], segs[j + 1]
            cut = np.arange(a, d)  # stretch j ends at cut, j + 1 starts at cut + 1
            left = dist[rows[j], st_node[a]] + en_c[cut] - st_c[a] + dist[rows[j], en_node[cut]]
            right = dist[rows[j + 1], st_node[cut + 1]] + en_c[d] - st_c[cut + 1] + dist[rows[j + 1], en_node[d]]
            worse = np.maximum(left, right)
            i = int(np.argmin(worse))
            if worse[i] < worse[b - a] - 1e-9:
                segs[j], segs[j + 1] = (a, int(cut[i])), (int(cut[i]) + 1, d)
                moved = True
        if not moved:
            break
    return segs


def _serving_edges(walk: list[tuple[int, bool]], required: set[int]) -> np.ndarray:
    seen: set[int] = set()
    serving = np.zeros(len(walk), dtype=bool)
    for i, (e, _) in enumerate(walk):
        if e in required and e not in seen:
            seen.add(e)
            serving[i] = True
    return serving


def round_trip_bound(net: Network, required: np.ndarray, depot: int | np.ndarray) -> float:
    """Longest round trip to walk one required edge from its nearest depot (m).

    A lower bound on the longest of k routes: some route walks the edge and returns to its depot.
    ``depot`` is one node index or an array of them (one per route).
    """
    if len(required) == 0:
        return 0.0
    d = net.shortest(np.unique(np.atleast_1d(depot)))[0]
    trip = d[:, net.eu[required]] + d[:, net.ev[required]] + net.length[required][None, :]
    return float(trip.min(axis=0).max())


def tjoin_bound(net: Network, required: np.ndarray) -> float:
    """Required length plus the minimum matching of its odd-degree nodes on network distances (m).

    A lower bound on the total length of any set of closed walks covering ``required`` (their union
    has every degree even, so its extra edges join the odd nodes in pairs), whatever the depots.
    """
    required = np.asarray(required, dtype=np.int64)
    if len(required) == 0:
        return 0.0
    odd = _odd_nodes(net, list(required))
    total = float(net.length[required].sum())
    if len(odd) == 0:
        return total
    dist, _ = net.shortest(odd)
    return total + float(sum(dist[a, odd[b]] for a, b in _min_matching(dist[:, odd])))


def _forest_bound(net: Network, stops: np.ndarray, depots: np.ndarray) -> float:
    """Minimum spanning tree of the stops with all depots merged into one node (m).

    A lower bound on the total length of closed walks from the depots that visit every stop: their
    union joins every stop to some depot.
    """
    depots = np.unique(depots)
    stops = np.setdiff1d(np.asarray(stops, dtype=np.int64), depots)
    if len(stops) == 0:
        return 0.0
    dist = net.shortest(stops)[0]
    matrix = np.zeros((len(stops) + 1, len(stops) + 1))
    matrix[1:, 1:] = dist[:, stops]
    matrix[0, 1:] = matrix[1:, 0] = dist[:, depots].min(axis=1)
    return _prim(matrix)[0]


# --------------------------------------------------------------------------------------------------
# door-to-door tours (TSP on network distances)


def tsp_tour(dist: np.ndarray, *, start: int = 0, kicks: int = 50, seed: int = 0) -> list[int]:
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


def _prim(w: np.ndarray) -> tuple[float, np.ndarray]:
    """Minimum spanning tree of a dense symmetric matrix (Prim, O(n^2)): its cost and node degrees."""
    n = len(w)
    degree = np.zeros(n)
    if n <= 1:
        return 0.0, degree
    inside = np.zeros(n, dtype=bool)
    inside[0] = True
    best = w[0].copy()
    link = np.zeros(n, dtype=np.int64)
    cost = 0.0
    for _ in range(n - 1):
        j = int(np.argmin(np.where(inside, np.inf, best)))
        cost += float(best[j])
        degree[j] += 1
        degree[link[j]] += 1
        inside[j] = True
        closer = w[j] < best
        best = np.where(closer, w[j], best)
        link = np.where(closer, j, link)
    return cost, degree


def held_karp_bound(dist: np.ndarray, *, iterations: int = 300, upper: float | None = None) -> float:
    """Held–Karp 1-tree lower bound (m) on the shortest closed tour through all rows of ``dist``.

    Subgradient ascent on node penalties; node 0 is the special node of the 1-tree. With ``upper``
    (the length of a known tour) the steps follow Polyak's rule, λ (upper - value) / |g|², with λ
    halved after 15 steps without progress; otherwise a geometrically shrinking step.
    """
    n = len(dist)
    if n <= 1:
        return 0.0
    if n == 2:
        return 2.0 * float(dist[0, 1])
    pi = np.zeros(n)
    best = 0.0
    step = float(np.median(dist[np.isfinite(dist) & (dist > 0)])) if n > 2 else 1.0
    lam, stall = 2.0, 0
    for it in range(iterations):
        w = dist + pi[:, None] + pi[None, :]
        cost, degree = _prim(w[1:, 1:])
        degree = np.concatenate([[0.0], degree])
        two = np.argsort(w[0, 1:])[:2] + 1
        cost += float(w[0, two].sum())
        degree[0] = 2
        degree[two] += 1
        value = cost - 2.0 * float(pi.sum())
        if value > best + 1e-9:
            best, stall = value, 0
        else:
            stall += 1
        sub_grad = degree - 2
        norm2 = float((sub_grad ** 2).sum())
        if norm2 == 0:
            break
        if upper is not None and upper > value:
            if stall >= 15:
                lam, stall = lam / 2, 0
            if lam < 1e-4 or upper - best < 1e-6 * upper:
                break
            t = lam * (upper - value) / norm2
        else:
            t = step * (0.95 ** it) / max(1.0, np.sqrt(norm2))
        pi += t * sub_grad
    return best


def subtour_bound(dist: np.ndarray, *, rounds: int = 100) -> float:
    """Subtour-elimination LP lower bound (m) on the shortest closed tour through all rows of ``dist``.

    The Held–Karp bound computed as the LP itself (HiGHS) rather than by subgradient ascent: x on
    the pairs, 0 ≤ x ≤ 1, every row of degree 2, cutting planes x(δ(S)) ≥ 2 for the components of the
    LP's support and its minimum cut (Stoer–Wagner) until none is violated. ``dist`` must be a
    metric (shortest paths), so that the shortest closed walk is a Hamiltonian cycle. Each LP on the
    way is a relaxation: the value returned is a bound even if the rounds run out.
    """
    n = len(dist)
    if n <= 2:
        return 2.0 * float(dist[0, 1]) if n == 2 else 0.0
    i, j = np.triu_indices(n, 1)
    cost = dist[i, j]
    pairs = np.arange(len(i))
    a_eq = sp.csr_matrix((np.ones(2 * len(i)), (np.concatenate([i, j]), np.concatenate([pairs, pairs]))),
                         shape=(n, len(i)))
    cuts: list[np.ndarray] = []
    value = 0.0
    for _ in range(rounds):
        a_ub = sp.csr_matrix(-np.array([(m[i] ^ m[j]) for m in cuts], dtype=float)) if cuts else None
        res = linprog(cost, A_ub=a_ub, b_ub=-2.0 * np.ones(len(cuts)) if cuts else None, A_eq=a_eq,
                      b_eq=2.0 * np.ones(n), bounds=(0, 1), method="highs")
        if res.status != 0:
            break
        value = max(value, float(res.fun))
        x = np.asarray(res.x)
        used = x > 1e-9
        g = nx.Graph()
        g.add_nodes_from(range(n))
        g.add_weighted_edges_from(zip(i[used].tolist(), j[used].tolist(), x[used].tolist(), strict=True))
        if not nx.is_connected(g):
            new = [np.isin(np.arange(n), list(c)) for c in nx.connected_components(g)]
        else:
            cut, (side, _) = nx.stoer_wagner(g)
            if cut >= 2.0 - 1e-6:
                break
            new = [np.isin(np.arange(n), list(side))]
        cuts += new
    return value


def _tsp_exact(dist: np.ndarray) -> tuple[list[int], float]:
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


def building_tour(net: Network, stops: np.ndarray, depot: int, *, exact_up_to: int = 9,
                  subtour_up_to: int = 150) -> Tour:
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
    dist, pred = net.shortest(points)
    matrix = dist[:, points]
    if len(points) - 1 <= exact_up_to:
        order, best = _tsp_exact(matrix)
        exact = True
    else:
        order = tsp_tour(matrix, start=0)
        exact = False
    walk: list[tuple[int, bool]] = []
    for a, b in zip(order, [*order[1:], order[0]], strict=True):
        walk += net.path(pred[a], int(points[a]), int(points[b]))
    if exact:
        bound = best
    else:
        upper = float(sum(matrix[a, b] for a, b in zip(order, [*order[1:], order[0]], strict=True)))
        bound = held_karp_bound(matrix, upper=upper, iterations=100)
        if len(matrix) <= subtour_up_to:
            bound = max(bound, subtour_bound(matrix))
    return Tour(depot=depot, walk=walk, lower_bound_m=bound, exact=exact, method="tsp")


def access_points(net: Network, points_xy: np.ndarray, *, component: int | None = None,
                  merge_m: float = 1.0) -> tuple[Network, np.ndarray, np.ndarray]:
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


def _split_edges(net: Network, edge_of: np.ndarray, along: np.ndarray, inner: np.ndarray, node: np.ndarray,
                 merge_m: float) -> Network:
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
    split = Network.from_arrays(net.crs, nodes, np.vstack([net.xy, np.array(new_xy)]),
                                np.array(eu, dtype=np.int64), np.array(ev, dtype=np.int64),
                                np.array(length, dtype=float), np.array(geoms, dtype=object),
                                np.array(names, dtype=object))
    return split


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
    station_xy: np.ndarray | None  # (wardens, 2): each warden's station, metric CRS
    rep_xy: np.ndarray
    stops: np.ndarray | None = None  # buildings: representative points (x, y, metric CRS)


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


def _depots(net: Network, job: _GridJob, keep: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
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


def _depot(net: Network, job: _GridJob, keep: np.ndarray) -> tuple[int, float]:
    """Depot node index of the first route and the station's snap distance (NaN without a station)."""
    node, dist = _depots(net, job, keep, 1)
    return int(node[0]), float(dist[0])


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
        point). Each warden of a grid (by ``warden_id``) gets one of the grid's k min-max balanced
        routes, from and back to the warden's own station (see :func:`split_tour_depots`); the
        single tour is planned from the first station.
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
        _attach_stops(jobs, grids_m, buildings, crs)
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
    """Representative point (metric x, y) of every building, grouped by the grid containing it."""
    points = shapely.point_on_surface(buildings.to_crs(crs).geometry.to_numpy())
    bi, gi = shapely.STRtree(grids_m.geometry.to_numpy()).query(points, predicate="within")
    order = np.argsort(bi, kind="stable")
    bi, gi = bi[order], gi[order]
    first = np.unique(bi, return_index=True)[1]
    bi, gi = bi[first], gi[first]
    xy = shapely.get_coordinates(points)
    for g, job in enumerate(jobs):
        job.stops = xy[bi[gi == g]].reshape(-1, 2)


def _grid_access(net: Network, job: _GridJob, keep: np.ndarray, depot: int) -> tuple[Network, np.ndarray]:
    """The network split at the access points of a grid's buildings (see :func:`access_points`)."""
    comp = int(net.component[net.eu[keep[0]]]) if len(keep) else int(net.component[depot])
    split, node, dist = access_points(net, job.stops, component=comp)
    job.note.append(f"{len(job.stops)} buildings reach the street at {len(np.unique(node))} access points "
                    f"(median {np.median(dist):.0f} m from the street)")
    return split, np.unique(node)


def _buildings_tour(net: Network, job: _GridJob, keep: np.ndarray, depot: int) -> tuple:
    """Door-to-door tour of one grid: (split network, tour, serving steps, stop nodes)."""
    net, stop_nodes = _grid_access(net, job, keep, depot)
    tour = building_tour(net, stop_nodes, depot)
    stops = set(stop_nodes.tolist())
    seen: set[int] = set()
    serving = np.zeros(len(tour.walk), dtype=bool)
    for i, n in enumerate(net.walk_nodes(tour.walk, depot)[1:]):
        if int(n) in stops and int(n) not in seen:
            seen.add(int(n))
            serving[i] = True
    return net, tour, serving, stop_nodes


def _k_bound(net: Network, tour: Tour, depots: np.ndarray, keep: np.ndarray, stop_nodes: np.ndarray | None) -> float:
    """max(total / k, farthest round trip from the nearest depot): a lower bound on the longest route."""
    k = len(depots)
    if stop_nodes is not None:
        far = 2.0 * float(net.shortest(np.unique(depots))[0][:, stop_nodes].min(axis=0).max())
        total = tour.lower_bound_m if len(np.unique(depots)) == 1 else _forest_bound(net, stop_nodes, depots)
    else:
        far = round_trip_bound(net, keep, depots)
        total = tour.lower_bound_m if len(np.unique(depots)) == 1 else max(tjoin_bound(net, keep),
                                                                             rpp_lp_bound(net, keep, depots))
    return max(total / k, far)


def _best_split(net: Network, tour: Tour, depots: np.ndarray, serving: np.ndarray,
                keep: np.ndarray | None) -> list[list[tuple[int, bool]]]:
    """Routes from their depots: the best cut of the single tour planned from each distinct depot.

    With street routes (``keep`` given) and several depots, the postman tour (an Euler circuit, one
    of many of equal length) is also planned from each other depot, and the split with the shortest
    longest route is kept.
    """
    walks = split_tour_depots(net, tour, depots, serving)
    if keep is None:
        return walks
    best = max(tour_length(net, w) for w in walks)
    for other in np.unique(depots):
        if int(other) == tour.depot:
            continue
        alt = postman_tour(net, keep, int(other))
        alt_walks = split_tour_depots(net, alt, depots, _serving_edges(alt.walk, set(keep.tolist())))
        longest = max(tour_length(net, w) for w in alt_walks)
        if longest < best - 1e-9:
            walks, best = alt_walks, longest
    return walks


def _grid_rows(net: Network, job: _GridJob, k: int, mode: str, speed_kmh: float) -> list[dict]:
    """The route rows of one grid (k of them, one per warden, each from the warden's own station)."""
    keep, lost = _choose_component(net, job)
    depots, snaps = _depots(net, job, keep, k)
    depot = int(depots[0])
    stop_nodes = None
    if mode == "buildings" and job.stops is not None and len(job.stops):
        net, tour, serving, stop_nodes = _buildings_tour(net, job, keep, depot)
    else:
        if mode == "buildings":
            job.note.append("no building in this grid: its streets are walked instead")
        tour = postman_tour(net, keep, depot)
        serving = _serving_edges(tour.walk, set(keep.tolist()))
    n_stops = 0 if stop_nodes is None else len(stop_nodes)
    if not tour.walk:
        job.note.append("every building is reached at the start node" if n_stops
                        else "no street inside or on the boundary of this grid")
        return [_row(net, job, [], 1, tour, snaps[0], lost, speed_kmh, mode, n_stops)]
    walks = _best_split(net, tour, depots, serving, keep if stop_nodes is None else None) if k > 1 else [tour.walk]
    if k > 1:
        tour = Tour(depot=depot, walk=tour.walk, lower_bound_m=_k_bound(net, tour, depots, keep, stop_nodes),
                    exact=False, method=f"{tour.method}-k", n_pieces=tour.n_pieces)
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
