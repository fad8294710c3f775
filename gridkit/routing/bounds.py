"""Lower bounds on patrol routes: evidence of quality, never on the critical path.

Every bound here is valid whenever it returns (each LP on the way is a relaxation), uses memory
linear in the grid's streets or capped by a constant, and respects a time budget:

- :func:`tjoin_bound`: required length plus the minimum T-join of its odd nodes (sparse, exact);
  a bound on any set of closed walks covering the streets, whatever the depots.
- :func:`rpp_lp_bound`: the rural postman cut LP on at most ``max_terminals`` end nodes (else None).
- :func:`round_trip_bound`: the longest round trip to one required edge from its nearest depot.
- :func:`forest_bound`, :func:`held_karp_bound`, :func:`subtour_bound`: for door-to-door tours.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components, dijkstra

from gridkit.network import StreetNetwork
from gridkit.routing.budget import Deadline
from gridkit.routing.tjoin import min_tjoin, odd_nodes, required_pieces

__all__ = ["forest_bound", "held_karp_bound", "prim", "round_trip_bound", "rpp_lp_bound", "subtour_bound",
           "terminal_distances", "tjoin_bound"]


def terminal_distances(net: StreetNetwork, terminals: np.ndarray, *, chunk: int = 16) -> np.ndarray:
    """Shortest distances (m) between the given nodes, computed in chunks (memory chunk × nodes)."""
    terminals = np.asarray(terminals, dtype=np.int64)
    out = np.empty((len(terminals), len(terminals)))
    for i in range(0, len(terminals), chunk):
        rows = dijkstra(net.matrix, directed=False, indices=terminals[i: i + chunk])
        out[i: i + chunk] = np.atleast_2d(rows)[:, terminals]
    return out


def tjoin_bound(net: StreetNetwork, required: np.ndarray) -> float:
    """Required length plus the minimum T-join of its odd-degree nodes (m).

    A lower bound on the total length of any set of closed walks covering ``required`` (their union
    has every degree even, so its extra passes form a T-join of the odd nodes), whatever the depots.
    """
    required = np.asarray(required, dtype=np.int64)
    if len(required) == 0:
        return 0.0
    join = min_tjoin(net, odd_nodes(net, required))
    return float(net.length[required].sum() + net.length[join].sum())


def rpp_lp_bound(net: StreetNetwork, required: np.ndarray, depot: int | np.ndarray, *, rounds: int = 40,  # noqa: PLR0912
                 max_terminals: int = 150, deadline: Deadline | None = None) -> float | None:
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
    if nt > max_terminals or (deadline is not None and deadline.expired()):
        return None
    where = {int(t): i for i, t in enumerate(terminals)}
    dist = terminal_distances(net, terminals)
    piece = np.full(nt, -1, dtype=np.int64)
    for c, nodes in enumerate(required_pieces(net, required)):
        piece[[where[int(v)] for v in nodes]] = c
    home = np.array([where[int(d)] for d in depots])
    for h in home:  # a depot off the required edges is a piece of its own
        if piece[h] < 0:
            piece[h] = piece.max() + 1
    piece[np.isin(piece, piece[home])] = piece[home[0]]  # the depots and their pieces are one root
    piece = np.unique(piece, return_inverse=True)[1]
    n_pieces = int(piece.max()) + 1
    odd = np.zeros(nt, dtype=bool)
    odd[[where[int(v)] for v in odd_nodes(net, required)]] = True
    i, j = np.triu_indices(nt, 1)
    keep = np.isfinite(dist[i, j])
    if nt <= max_terminals:  # a pair is dominated when a shortest path through a third node is as short
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
        if deadline is not None and deadline.expired():
            break
        limit = {} if deadline is None else {"time_limit": max(0.05, deadline.left())}
        res = linprog(cost, A_ub=sp.csr_matrix(a_ub), b_ub=-np.array([r for _, r in cuts]), bounds=(0, None),
                      method="highs", options=limit)
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



def round_trip_bound(net: StreetNetwork, required: np.ndarray, depot: int | np.ndarray) -> float:
    """Longest round trip to walk one required edge from its nearest depot (m).

    A lower bound on the longest of k routes: some route walks the edge and returns to its depot.
    ``depot`` is one node index or an array of them (one per route).
    """
    if len(required) == 0:
        return 0.0
    d = net.shortest(np.unique(np.atleast_1d(depot)))[0]
    trip = d[:, net.eu[required]] + d[:, net.ev[required]] + net.length[required][None, :]
    return float(trip.min(axis=0).max())



def forest_bound(net: StreetNetwork, stops: np.ndarray, depots: np.ndarray) -> float:
    """Minimum spanning tree of the stops with all depots merged into one node (m).

    A lower bound on the total length of closed walks from the depots that visit every stop: their
    union joins every stop to some depot.
    """
    depots = np.unique(depots)
    stops = np.setdiff1d(np.asarray(stops, dtype=np.int64), depots)
    if len(stops) == 0:
        return 0.0
    dist = terminal_distances(net, np.concatenate([stops, depots]))
    matrix = np.zeros((len(stops) + 1, len(stops) + 1))
    matrix[1:, 1:] = dist[: len(stops), : len(stops)]
    matrix[0, 1:] = matrix[1:, 0] = dist[: len(stops), len(stops):].min(axis=1)
    return prim(matrix)[0]



def prim(w: np.ndarray) -> tuple[float, np.ndarray]:
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
        cost, degree = prim(w[1:, 1:])
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



def subtour_bound(dist: np.ndarray, *, rounds: int = 100, deadline: Deadline | None = None) -> float:
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
        if deadline is not None and deadline.expired():
            break
        limit = {} if deadline is None else {"time_limit": max(0.05, deadline.left())}
        res = linprog(cost, A_ub=a_ub, b_ub=-2.0 * np.ones(len(cuts)) if cuts else None, A_eq=a_eq,
                      b_eq=2.0 * np.ones(n), bounds=(0, 1), method="highs", options=limit)
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

