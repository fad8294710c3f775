"""Postman tours: the shortest closed walk from a depot that covers required street edges.

- Required edges connected and the depot on them (Chinese Postman): exact. The deadhead is a
  minimum T-join of the odd-degree nodes on the sparse street graph (:func:`~gridkit.routing.tjoin.min_tjoin`),
  and an Euler circuit gives the order.
- Required edges in several pieces, or the depot off them (rural postman): exact by dynamic programming
  up to ``exact_up_to`` required edges; above, the best of three constructions joined by trees of
  shortest paths between the pieces (Frederickson's tree-then-T-join; T-join-then-tree, the tree walked
  twice; T-join-then-tree, the tree walked once and a new T-join), each cleaned of deadhead that
  connectivity and parity do not need. ``lower_bound_m`` is then required length plus the larger of
  the T-join and the pieces' spanning tree (see :func:`~gridkit.routing.tjoin.piece_tree`).

Lengths are metres on the network's metric CRS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from gridkit.network import StreetNetwork
from gridkit.routing.budget import Deadline
from gridkit.routing.tjoin import min_tjoin, odd_nodes, piece_tree, required_pieces

__all__ = ["Tour", "euler_circuit", "postman_tour", "rural_postman_exact", "tour_length"]


def tour_length(net: StreetNetwork, walk: list[tuple[int, bool]]) -> float:
    """Length of a walk in metres."""
    if not walk:
        return 0.0
    return float(net.length[np.fromiter((e for e, _ in walk), dtype=np.int64, count=len(walk))].sum())


@dataclass
class Tour:
    """A closed walk from ``depot`` (node index) as (edge index, forward) steps, with its quality.

    ``lower_bound_m`` is a proven lower bound on the optimum (m) and ``bound_method`` says which
    bound gave it (``"optimal"`` when the walk is proven optimal).
    """

    depot: int
    walk: list[tuple[int, bool]] = field(default_factory=list)
    lower_bound_m: float = 0.0
    exact: bool = True
    method: str = "cpp"
    n_pieces: int = 1
    bound_method: str = "optimal"

    def length(self, net: StreetNetwork) -> float:
        """Length of the walk (m)."""
        return tour_length(net, self.walk)


def euler_circuit(net: StreetNetwork, steps: np.ndarray | list[int], depot: int) -> list[tuple[int, bool]]:
    """Euler circuit from ``depot`` over the multiset of edge indices ``steps`` (all degrees even, connected).

    Hierholzer's algorithm on adjacency lists (linear in the number of steps).
    """
    steps = np.asarray(steps, dtype=np.int64)
    m = len(steps)
    if m == 0:
        return []
    ends = np.concatenate([net.eu[steps], net.ev[steps]])
    order = np.argsort(ends, kind="stable")  # incidences grouped by node
    nodes, first = np.unique(ends[order], return_index=True)
    start = dict(zip(nodes.tolist(), first.tolist(), strict=True))
    stop = dict(zip(nodes.tolist(), np.append(first[1:], len(order)).tolist(), strict=True))
    inc = order.tolist()  # incidence j < m: step j seen from its eu end, else from its ev end
    other = np.concatenate([net.ev[steps], net.eu[steps]]).tolist()
    cursor = dict(start)
    used = [False] * m
    stack: list[tuple[int, int]] = [(int(depot), -1)]  # (node, incidence used to arrive)
    circuit: list[int] = []
    while stack:
        node, via = stack[-1]
        pos = cursor[node]
        end = stop[node]
        while pos < end and used[inc[pos] % m]:
            pos += 1
        cursor[node] = pos
        if pos == end:
            stack.pop()
            if via >= 0:
                circuit.append(via)
            continue
        j = inc[pos]
        used[j % m] = True
        stack.append((other[j], j))
    circuit.reverse()
    if len(circuit) != m:
        raise ValueError("the steps do not form one connected closed walk through the depot")
    out = []
    for j in circuit:
        e = int(steps[j % m])
        out.append((e, j < m))  # arrived over step j from its eu end: walked eu -> ev
    return out


def _connected_with(net: StreetNetwork, steps: np.ndarray, depot: int) -> bool:
    """True when the edge multiset is connected and touches ``depot``."""
    nodes, inv = np.unique(np.concatenate([net.eu[steps], net.ev[steps], [depot]]), return_inverse=True)
    m = len(steps)
    adj = sp.coo_matrix((np.ones(m), (inv[:m], inv[m: 2 * m])), shape=(len(nodes), len(nodes)))
    return connected_components(adj, directed=False)[0] == 1


def drop_redundant(net: StreetNetwork, required: np.ndarray, steps: np.ndarray, depot: int,
                   deadline: Deadline | None = None) -> np.ndarray:
    """Remove deadhead that parity and connectivity do not need from a closed-walk edge multiset.

    Passes over one edge beyond the first two are removed in pairs (parity kept, the edge still
    walked); then, longest first, a deadhead edge walked exactly twice is dropped when the rest stays
    connected and touches the depot.
    """
    count = np.bincount(steps, minlength=len(net.eu))
    is_req = np.zeros(len(net.eu), dtype=bool)
    is_req[required] = True
    count = np.where(count >= 3, 2 - count % 2, count)  # parity kept, the edge still walked
    twice = np.flatnonzero((count == 2) & ~is_req)
    for e in twice[np.argsort(-net.length[twice], kind="stable")]:
        if deadline is not None and deadline.expired():
            break
        count[e] = 0
        trial = np.repeat(np.arange(len(count)), count)
        if not _connected_with(net, trial, depot):
            count[e] = 2
    return np.repeat(np.arange(len(count)), count)


def rural_postman_exact(net: StreetNetwork, required: np.ndarray, depot: int) -> Tour:
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



def _cpp_with_depot(net: StreetNetwork, required: np.ndarray, depot: int) -> tuple[np.ndarray, bool]:
    """Chinese Postman steps (required + T-join); True when the depot lies on them (then optimal)."""
    steps = np.concatenate([required, min_tjoin(net, odd_nodes(net, required))])
    on = bool(np.isin(depot, net.eu[steps]) or np.isin(depot, net.ev[steps]))
    return steps, on


def _candidates(net: StreetNetwork, required: np.ndarray, pieces: list[np.ndarray], depot: int,
                tjoin0: np.ndarray) -> list[np.ndarray]:
    """Closed-walk edge multisets covering ``required`` and touching the depot (rural postman heuristics).

    Frederickson's (tree of the pieces, then a T-join), and the T-join first, its remaining pieces
    then joined by a tree walked twice, or walked once with a T-join of the tree's odd nodes.
    """
    with_depot = pieces if any(depot in set(p.tolist()) for p in pieces) else [*pieces, np.array([depot])]
    out = []
    tree, _, _ = piece_tree(net, with_depot)  # Frederickson: tree first, then the T-join
    joined = np.concatenate([required, tree])
    out.append(np.concatenate([joined, min_tjoin(net, odd_nodes(net, joined))]))
    first = np.concatenate([required, tjoin0])  # T-join first, then join what is still apart
    apart = required_pieces(net, first)
    if not any(depot in set(p.tolist()) for p in apart):
        apart = [*apart, np.array([depot])]
    if len(apart) == 1:
        out.append(first)
    else:
        tree2, _, _ = piece_tree(net, apart)
        out.append(np.concatenate([first, tree2, tree2]))
        out.append(np.concatenate([first, tree2, min_tjoin(net, odd_nodes(net, tree2))]))
    return [s.astype(np.int64) for s in out]


def postman_tour(net: StreetNetwork, required: np.ndarray, depot: int, *, exact_up_to: int = 12,
                 deadline: Deadline | None = None) -> Tour:
    """Shortest closed walk from ``depot`` covering every edge index in ``required``.

    Exact (Chinese Postman) when the required edges form one connected piece that the depot lies on
    or whose T-join reaches it. Otherwise (rural postman, or a depot off the streets) exact by
    :func:`rural_postman_exact` up to ``exact_up_to`` required edges; above, the best of the
    constructions in the module notes, with ``lower_bound_m`` a proven lower bound. All required
    edges must lie in the depot's network component. Memory is linear in the network.
    """
    required = np.asarray(required, dtype=np.int64)
    if len(required) == 0:
        return Tour(depot=depot, method="none")
    pieces = required_pieces(net, required)
    steps, on_walk = _cpp_with_depot(net, required, depot)
    req_len = float(net.length[required].sum())
    tjoin_len = float(net.length[steps[len(required):]].sum())
    if len(pieces) == 1 and on_walk:
        walk = euler_circuit(net, steps, depot)
        return Tour(depot=depot, walk=walk, lower_bound_m=tour_length(net, walk), exact=True, method="cpp")
    if len(required) <= exact_up_to:
        tour = rural_postman_exact(net, required, depot)
        tour.method, tour.n_pieces = ("cpp" if len(pieces) == 1 else "rpp"), len(pieces)
        return tour
    with_depot = pieces if any(depot in set(p.tolist()) for p in pieces) else [*pieces, np.array([depot])]
    _, tree_len, nearest_sum = piece_tree(net, with_depot)
    bounds = {"tjoin": tjoin_len, "pieces-tree": tree_len, "pieces-nearest": nearest_sum}
    bound_method = max(bounds, key=bounds.get)
    lower = req_len + bounds[bound_method]
    best = None
    for raw in _candidates(net, required, pieces, depot, steps[len(required):]):
        cand = drop_redundant(net, required, raw, depot, deadline)
        length = float(net.length[cand].sum())
        if best is None or length < best[0] - 1e-9:
            best = (length, cand)
    walk = euler_circuit(net, best[1], depot)
    length = tour_length(net, walk)
    exact = length <= lower + 1e-6 * max(1.0, lower)
    method = "cpp" if len(pieces) == 1 else "rpp"
    return Tour(depot=depot, walk=walk, lower_bound_m=length if exact else lower, exact=exact, method=method,
                n_pieces=len(pieces), bound_method="optimal" if exact else bound_method)
