"""Initial partition by recursive bisection of the atom graph.

A set of atoms is cut in two so that the two sides hold the weight of ``k1`` and ``k2`` grids.
Candidates: sweeps along the two principal directions of the centroids and along the Fiedler vector of the
cut-cost graph (which follows cheap street edges), each made connected, and balanced cuts of random
spanning trees (connected by construction, as in ReCom). The candidate within the balance slack with
the cheapest cut wins. Both halves are cut again until every part is one grid.

Graphs are handled as edge lists (``row < col``) so that induced subgraphs, cut costs and side
components are numpy operations rather than sparse-matrix slicing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, eigsh


@dataclass
class EdgeList:
    """An undirected graph as edges ``row[i] < col[i]`` with a cost each, over ``n`` nodes."""

    row: np.ndarray
    col: np.ndarray
    cost: np.ndarray
    n: int

    @classmethod
    def from_matrix(cls, matrix: sp.spmatrix) -> EdgeList:
        """Edges of the upper triangle of a symmetric matrix."""
        upper = sp.triu(matrix, k=1).tocoo()
        keep = upper.data > 0
        return cls(upper.row[keep].astype(np.int64), upper.col[keep].astype(np.int64), upper.data[keep].astype(float),
                   matrix.shape[0])

    def induced(self, nodes: np.ndarray) -> EdgeList:
        """The subgraph on ``nodes``, renumbered 0..len(nodes)-1 in the order given."""
        local = np.full(self.n, -1, dtype=np.int64)
        local[nodes] = np.arange(len(nodes))
        r, c = local[self.row], local[self.col]
        keep = (r >= 0) & (c >= 0)
        return EdgeList(r[keep], c[keep], self.cost[keep], len(nodes))

    def _pattern(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR structure of the symmetric matrix, computed once: (indptr, indices, edge of each entry)."""
        cached = self.__dict__.get("_csr")
        if cached is None:
            src = np.concatenate([self.row, self.col])
            dst = np.concatenate([self.col, self.row])
            order = np.lexsort((dst, src))
            indptr = np.zeros(self.n + 1, dtype=np.int32)
            np.cumsum(np.bincount(src, minlength=self.n), out=indptr[1:])
            edge = np.concatenate([np.arange(len(self.row)), np.arange(len(self.row))])[order]
            cached = (indptr, dst[order].astype(np.int32), edge)
            self.__dict__["_csr"] = cached
        return cached

    def matrix(self, data: np.ndarray | None = None) -> sp.csr_matrix:
        """Symmetric CSR matrix of the edges (with ``data`` instead of the costs if given).

        The sparsity structure is built once per edge list and reused: only the values change
        between calls (random spanning trees draw new weights on the same graph many times).
        """
        values = self.cost if data is None else np.asarray(data, dtype=float)
        indptr, indices, edge = self._pattern()
        return sp.csr_matrix((values[edge], indices, indptr), shape=(self.n, self.n))

    def cut(self, side: np.ndarray) -> float:
        """Cost of the edges between ``side`` and the rest."""
        return float(self.cost[side[self.row] != side[self.col]].sum())

    def side_components(self, side: np.ndarray) -> np.ndarray:
        """Component label of every node within its own side (label propagation, pointer jumping)."""
        same = side[self.row] == side[self.col]
        row, col = self.row[same], self.col[same]
        label = np.arange(self.n)
        while True:
            low = np.minimum(label[row], label[col])
            new = label.copy()
            np.minimum.at(new, row, low)
            np.minimum.at(new, col, low)
            new = new[new]
            if np.array_equal(new, label):
                return label
            label = new


def recursive_bisection(
    graph: EdgeList, weights: np.ndarray, xy: np.ndarray, nodes: np.ndarray, k: int, *, tolerance: float,
    rng: np.random.Generator, vary: bool = False,
) -> list[np.ndarray]:
    """Split the connected set ``nodes`` into ``k`` connected parts of near-equal weight.

    Parameters
    ----------
    graph
        Cut costs between atoms (all atoms of the graph).
    weights
        Balancing weight per atom.
    xy
        Centroid coordinates per atom (m).
    nodes
        The atoms to split (a connected set).
    k
        Number of parts.
    tolerance
        Relative balance tolerance, used for the slack of each cut.
    rng
        Random generator for the spanning-tree candidates.
    vary
        Draw different good cuts from ``rng``: sweep directions turned by a random angle, random
        spanning-tree cuts among the candidates, and an odd count split either way. Off, the
        bisection is the same for every seed (the default plan).
    """
    if k <= 1 or len(nodes) <= 1:
        return [nodes]
    k = min(k, len(nodes))
    k1 = k // 2 if not (vary and k % 2 and rng.random() < 0.5) else k - k // 2
    left, right = bisect(graph, weights, xy, nodes, share=k1 / k, slack=0.5 * tolerance / k,
                         min_sizes=(k1, k - k1), rng=rng, trees=3 if vary else 0,
                         angle_offset=float(rng.uniform(0, np.pi)) if vary else 0.0)
    return (recursive_bisection(graph, weights, xy, left, k1, tolerance=tolerance, rng=rng, vary=vary)
            + recursive_bisection(graph, weights, xy, right, k - k1, tolerance=tolerance, rng=rng, vary=vary))


def bisect(
    graph: EdgeList, weights: np.ndarray, xy: np.ndarray, nodes: np.ndarray, *, share: float, slack: float,
    min_sizes: tuple[int, int], rng: np.random.Generator, trees: int = 6, angles: int = 2, spectral: bool = True,
    angle_offset: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``nodes`` in two connected sides, the first holding ``share`` of the weight.

    The candidate with the cheapest cut within ``slack`` (a share of the total weight) wins;
    when none is within it, the one closest to the share.
    """
    sub = graph.induced(nodes)
    w = weights[nodes]
    total = max(w.sum(), 1e-12)
    candidates = []
    candidates += [_make_connected(sub, w, _sweep(sub, w, order, share=share, slack=slack, min_sizes=min_sizes))
                   for order in _orderings(sub, xy[nodes], angles, spectral=spectral, offset=angle_offset)]
    if len(nodes) >= 3 and trees:
        candidates += tree_cuts(sub, w, share=share, slack=slack, rng=rng, trees=trees)
    best: tuple[tuple[float, float], np.ndarray] | None = None
    for side in candidates:
        if side.all() or not side.any():
            continue
        key = (max(0.0, abs(w[side].sum() - share * total) / total - slack), sub.cut(side))
        if best is None or key < best[0]:
            best = (key, side)
    if best is None:
        order = np.argsort(xy[nodes, 0], kind="stable")
        side = np.zeros(len(nodes), dtype=bool)
        side[order[: max(1, len(nodes) // 2)]] = True
        best = ((0.0, 0.0), _make_connected(sub, w, side))
    return nodes[best[1]], nodes[~best[1]]


def tree_cuts(
    sub: EdgeList, w: np.ndarray, *, share: float, slack: float, rng: np.random.Generator, trees: int
) -> list[np.ndarray]:
    """Balanced cuts of random spanning trees of the connected graph ``sub`` (as in ReCom).

    Cutting one edge of a spanning tree splits the graph into two connected sides; for each tree
    the (at most three) best balanced edges are kept. The trees are minimum spanning trees of
    random edge weights (Kruskal over a random edge order), built in plain Python on the edge list:
    the graphs cut here are the two or three grids of a recombination, tens to hundreds of atoms,
    where building and validating a sparse matrix per tree cost several times the tree itself.
    """
    n = sub.n
    total = max(w.sum(), 1e-12)
    out: list[np.ndarray] = []
    rows, cols = sub.row.tolist(), sub.col.tolist()
    weights = w.astype(float).tolist()
    for _ in range(trees):
        root = int(rng.integers(n))
        grown = _random_tree(rows, cols, n, rng.permutation(len(rows)).tolist(), root, weights)
        if grown is None:
            break  # not connected
        order, below, size = grown
        pos = np.empty(n, dtype=np.int64)
        pos[order] = np.arange(n)
        gap = np.minimum(np.abs(below - share * total), np.abs(total - below - share * total)) / total
        gap[root] = np.inf
        for v in np.argsort(gap, kind="stable")[:3]:
            if gap[v] > slack and out:
                break
            side = (pos >= pos[v]) & (pos < pos[v] + size[v])  # the subtree of v, contiguous in DFS order
            if abs(below[v] - share * total) > abs(total - below[v] - share * total):
                side = ~side
            out.append(side)
    return out


def _random_tree(rows: list[int], cols: list[int], n: int, edge_order: list[int], root: int,
                 weights: list[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Spanning tree taking edges in ``edge_order`` (Kruskal), rooted at ``root``.

    Returns the DFS preorder (every subtree contiguous), the weight and node count below every
    node, or None when the graph is not connected.
    """
    uf = list(range(n))
    adj: list[list[int]] = [[] for _ in range(n)]
    count = 0
    for e in edge_order:
        a, b = rows[e], cols[e]
        while uf[a] != a:
            uf[a] = uf[uf[a]]
            a = uf[a]
        while uf[b] != b:
            uf[b] = uf[uf[b]]
            b = uf[b]
        if a == b:
            continue
        uf[a] = b
        adj[rows[e]].append(cols[e])
        adj[cols[e]].append(rows[e])
        count += 1
        if count == n - 1:
            break
    if count < n - 1:
        return None
    parent = [-1] * n
    seen = [False] * n
    seen[root] = True
    order, stack = [], [root]
    while stack:  # in a tree, marking on push gives a preorder with contiguous subtrees
        v = stack.pop()
        order.append(v)
        for u in adj[v]:
            if not seen[u]:
                seen[u] = True
                parent[u] = v
                stack.append(u)
    below, size = list(weights), [1] * n
    for v in reversed(order[1:]):
        below[parent[v]] += below[v]
        size[parent[v]] += size[v]
    return np.asarray(order, dtype=np.int64), np.asarray(below), np.asarray(size, dtype=np.int64)


def _orderings(sub: EdgeList, xy: np.ndarray, angles: int, *, spectral: bool, offset: float = 0.0) -> list[np.ndarray]:
    """Sweep orders: ``angles`` directions from the principal axis (turned by ``offset``), and the Fiedler vector."""
    centred = xy - xy.mean(axis=0)
    cov = centred.T @ centred
    major = 0.5 * np.arctan2(2 * cov[0, 1], cov[0, 0] - cov[1, 1])  # principal axis of a 2×2 covariance
    orders = []
    for angle in np.arange(angles) * np.pi / max(angles, 1):
        direction = np.array([np.cos(major + offset + angle), np.sin(major + offset + angle)])
        orders.append(np.lexsort((centred[:, 1], centred[:, 0], centred @ direction)))
    fiedler = _fiedler(sub) if spectral else None
    if fiedler is not None:
        orders.append(np.lexsort((centred[:, 0], fiedler)))
    return orders


def _fiedler(sub: EdgeList) -> np.ndarray | None:
    """Second eigenvector of the normalised Laplacian (None if it cannot be computed)."""
    n = sub.n
    if n < 24 or len(sub.cost) == 0:
        return None
    laplacian = csgraph.laplacian(sub.matrix(), normed=True)
    try:
        values, vectors = eigsh(laplacian.tocsc(), k=2, sigma=-1e-3, which="LM", v0=np.ones(n))
    except (ArpackError, ArpackNoConvergence, RuntimeError):
        return None
    return vectors[:, int(np.argsort(values)[1])]


def _sweep(
    sub: EdgeList, w: np.ndarray, order: np.ndarray, *, share: float, slack: float, min_sizes: tuple[int, int]
) -> np.ndarray:
    """Best prefix of ``order``: within ``slack`` of ``share`` of the weight, with the cheapest cut."""
    n = len(order)
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    lo, hi = np.minimum(pos[sub.row], pos[sub.col]), np.maximum(pos[sub.row], pos[sub.col])
    diff = np.bincount(lo + 1, weights=sub.cost, minlength=n + 1) - np.bincount(hi + 1, weights=sub.cost,
                                                                                minlength=n + 1)
    cut = np.cumsum(diff)[1:]  # cut[t-1] = cut cost of the prefix of length t
    prefix = np.cumsum(w[order])
    total = prefix[-1] if n else 0.0
    lengths = np.arange(1, n + 1)
    allowed = (lengths >= min_sizes[0]) & (lengths <= n - min_sizes[1])
    if not allowed.any():
        allowed = (lengths >= 1) & (lengths <= n - 1)
    gap = np.abs(prefix - share * total) / max(total, 1e-12)
    within = allowed & (gap <= slack)
    if within.any():
        t = int(np.flatnonzero(within)[np.argmin(cut[within])]) + 1
    else:
        candidates = np.flatnonzero(allowed)
        t = int(candidates[np.lexsort((cut[candidates], gap[candidates]))[0]]) + 1
    side = np.zeros(n, dtype=bool)
    side[order[:t]] = True
    return side


def _make_connected(sub: EdgeList, w: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Keep the heaviest piece of each side; hand the other pieces to the opposite side."""
    side = side.copy()
    for flag in (True, False):
        labels = sub.side_components(side)
        members = side == flag
        pieces = np.unique(labels[members])
        if len(pieces) <= 1:
            continue
        mass = np.bincount(labels[members], weights=w[members] + 1e-9, minlength=labels.max() + 1)
        keep = int(np.argmax(mass))
        side[members & (labels != keep)] = not flag
    return side
