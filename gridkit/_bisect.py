"""Initial partition by recursive bisection of the atom graph.

A set of atoms is cut in two so that the two sides hold the weight of ``k1`` and ``k2`` grids. Five
orderings of the atoms are swept (four directions of the centroids and the Fiedler vector of the
cut-cost graph, which follows cheap street edges); along each, the prefix whose weight is within a
slack of the share and whose cut is cheapest is taken; both sides are made connected; the cheapest
candidate wins. Both halves are then cut again until every part is one grid.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, eigsh

_ANGLES = (0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4)


def recursive_bisection(
    cost: sp.csr_matrix, weights: np.ndarray, xy: np.ndarray, nodes: np.ndarray, k: int, *, tolerance: float
) -> list[np.ndarray]:
    """Split the connected set ``nodes`` into ``k`` connected parts of near-equal weight.

    Parameters
    ----------
    cost
        Symmetric cut cost between atoms (all atoms of the graph).
    weights
        Balancing weight per atom.
    xy
        Centroid coordinates per atom (metres).
    nodes
        The atoms to split (a connected set).
    k
        Number of parts.
    tolerance
        Relative balance tolerance, used for the slack of each cut.
    """
    if k <= 1 or len(nodes) <= 1:
        return [nodes]
    k = min(k, len(nodes))
    k1 = k // 2
    left, right = bisect(cost, weights, xy, nodes, share=k1 / k, slack=0.5 * tolerance / k, min_sizes=(k1, k - k1))
    return (recursive_bisection(cost, weights, xy, left, k1, tolerance=tolerance)
            + recursive_bisection(cost, weights, xy, right, k - k1, tolerance=tolerance))


def bisect(
    cost: sp.csr_matrix, weights: np.ndarray, xy: np.ndarray, nodes: np.ndarray, *, share: float, slack: float,
    min_sizes: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``nodes`` in two connected sides, the first holding ``share`` of the weight."""
    sub = cost[nodes][:, nodes].tocsr()
    w = weights[nodes]
    total = w.sum()
    best: tuple[float, np.ndarray] | None = None
    for order in _orderings(sub, xy[nodes]):
        side = _sweep(sub, w, order, share=share, slack=slack, min_sizes=min_sizes)
        side = _make_connected(sub, w, side)
        if side.all() or not side.any():
            continue
        imbalance = abs(w[side].sum() - share * total) / max(total, 1e-12)
        cut = float(sub[side][:, ~side].sum())
        score = cut * (1.0 + 10.0 * max(0.0, imbalance - slack) / max(slack, 1e-9))
        if best is None or score < best[0]:
            best = (score, side)
    if best is None:
        order = np.argsort(xy[nodes, 0], kind="stable")
        side = np.zeros(len(nodes), dtype=bool)
        side[order[: max(1, len(nodes) // 2)]] = True
        best = (0.0, _make_connected(sub, w, side))
    return nodes[best[1]], nodes[~best[1]]


def _orderings(sub: sp.csr_matrix, xy: np.ndarray) -> list[np.ndarray]:
    centred = xy - xy.mean(axis=0)
    cov = centred.T @ centred
    _, vectors = np.linalg.eigh(cov) if len(xy) > 1 else (None, np.eye(2))
    major = np.arctan2(vectors[1, -1], vectors[0, -1])
    orders = []
    for angle in _ANGLES:
        direction = np.array([np.cos(major + angle), np.sin(major + angle)])
        orders.append(np.lexsort((centred[:, 1], centred[:, 0], centred @ direction)))
    fiedler = _fiedler(sub)
    if fiedler is not None:
        orders.append(np.lexsort((centred[:, 0], fiedler)))
    return orders


def _fiedler(sub: sp.csr_matrix) -> np.ndarray | None:
    """Second eigenvector of the normalised Laplacian (None if it cannot be computed)."""
    n = sub.shape[0]
    if n < 3:
        return None
    laplacian = csgraph.laplacian(sub.astype(float), normed=True)
    try:
        if n <= 400:
            _, vectors = np.linalg.eigh(laplacian.toarray())
        else:
            _, vectors = eigsh(laplacian.tocsc(), k=2, sigma=-1e-3, which="LM", v0=np.ones(n))
            vectors = vectors[:, np.argsort(_)]
    except (ArpackError, ArpackNoConvergence, RuntimeError, np.linalg.LinAlgError):
        return None
    return vectors[:, 1]


def _sweep(
    sub: sp.csr_matrix, w: np.ndarray, order: np.ndarray, *, share: float, slack: float, min_sizes: tuple[int, int]
) -> np.ndarray:
    """Best prefix of ``order``: within ``slack`` of ``share`` of the weight, with the cheapest cut."""
    n = len(order)
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    coo = sp.triu(sub, k=1).tocoo()
    lo = np.minimum(pos[coo.row], pos[coo.col])
    hi = np.maximum(pos[coo.row], pos[coo.col])
    diff = np.zeros(n + 1)
    np.add.at(diff, lo + 1, coo.data)
    np.add.at(diff, hi + 1, -coo.data)
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


def _make_connected(sub: sp.csr_matrix, w: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Keep the heaviest piece of each side; hand the other pieces to the opposite side."""
    side = side.copy()
    for flag in (True, False):
        members = np.flatnonzero(side == flag)
        if len(members) <= 1:
            continue
        count, labels = csgraph.connected_components(sub[members][:, members], directed=False)
        if count == 1:
            continue
        mass = np.bincount(labels, weights=w[members], minlength=count) + 1e-9 * np.bincount(labels, minlength=count)
        keep = int(np.argmax(mass))
        side[members[labels != keep]] = not flag
    return side
