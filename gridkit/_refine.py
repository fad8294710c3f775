"""Local search on a partition of the atom graph: balance first, then cheaper, more compact cuts.

Three kinds of step, each keeping every grid connected and non-empty:

- diffusion: weight flows between neighbouring grids along the solution of the quotient graph's
  Laplacian system, carried by single boundary atoms, so it travels along chains of grids;
- recombination: a grid outside the tolerance is merged with one or two neighbours and the union is
  cut again (:func:`gridkit._bisect.bisect`), which frees grids that hang on a narrow link;
- refinement: the union of two neighbouring grids is re-cut where a cheaper balanced cut exists, then
  single boundary atoms move where that lowers the cut cost and keeps both grids inside the tolerance.
"""

from __future__ import annotations

import itertools
from collections import deque

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.sparse.linalg import spsolve

from gridkit._bisect import EdgeList, bisect, recursive_bisection


class Plan:
    """A partition under local search.

    Parameters
    ----------
    graph
        Cut costs between atoms.
    weights
        Balancing weight per atom.
    labels
        Grid of every atom (0..k-1).
    mean
        The balance target per grid (community weight / number of grids).
    tolerance
        Relative two-sided tolerance.
    rng
        Random generator (move order, spanning trees).
    frozen
        Per grid, True for grids that neither give nor take atoms (oversize grids).
    xy
        Centroid coordinates per atom (m).
    interior
        Per edge of ``graph``, True where the edge crosses the inside of a block (not a street).
    """

    def __init__(self, graph: EdgeList, weights: np.ndarray, labels: np.ndarray, *, mean: float,
                 tolerance: float, rng: np.random.Generator, xy: np.ndarray,
                 frozen: np.ndarray | None = None, interior: np.ndarray | None = None) -> None:
        self.graph = graph
        self.interior = np.ones(len(graph.cost), dtype=bool) if interior is None else interior
        matrix = graph.matrix()
        self.indptr, self.indices, self.data = matrix.indptr, matrix.indices, matrix.data
        self.weights = weights.astype(float)
        self.labels = labels.copy()
        self.xy = xy
        self.k = int(labels.max()) + 1 if len(labels) else 0
        self.grid_weight = np.bincount(labels, weights=self.weights, minlength=self.k)
        self.grid_size = np.bincount(labels, minlength=self.k)
        self.mean, self.tolerance, self.rng = mean, tolerance, rng
        self.lower, self.upper = mean * (1 - tolerance), mean * (1 + tolerance)
        self.frozen = np.zeros(self.k, dtype=bool) if frozen is None else np.asarray(frozen, dtype=bool)

    # -- single moves ------------------------------------------------------------------------
    def neighbours(self, atom: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.indptr[atom], self.indptr[atom + 1]
        return self.indices[lo:hi], self.data[lo:hi]

    def gain(self, atom: int, target: int) -> float:
        """Decrease of the cut cost if ``atom`` moves to grid ``target``."""
        nbrs, costs = self.neighbours(atom)
        labels = self.labels[nbrs]
        return float(costs[labels == target].sum() - costs[labels == self.labels[atom]].sum())

    def can_leave(self, atom: int) -> bool:
        """True if ``atom`` can leave its grid without emptying or disconnecting it."""
        grid = self.labels[atom]
        if self.grid_size[grid] <= 1:
            return False
        nbrs, _ = self.neighbours(atom)
        inside = nbrs[self.labels[nbrs] == grid]
        if len(inside) <= 1:
            return len(inside) == 1
        wanted = set(inside[1:].tolist())
        seen = {atom, int(inside[0])}
        queue = deque([int(inside[0])])
        while queue and wanted:
            node = queue.popleft()
            for other in self.indices[self.indptr[node]:self.indptr[node + 1]].tolist():
                if other not in seen and self.labels[other] == grid:
                    seen.add(other)
                    wanted.discard(other)
                    queue.append(other)
        return not wanted

    def move(self, atom: int, target: int) -> None:
        source = self.labels[atom]
        w = self.weights[atom]
        self.grid_weight[source] -= w
        self.grid_weight[target] += w
        self.grid_size[source] -= 1
        self.grid_size[target] += 1
        self.labels[atom] = target

    def _excess_of(self, w: float) -> float:
        return max(0.0, w - self.upper) + max(0.0, self.lower - w)

    def excess(self) -> np.ndarray:
        """How far each grid lies outside the tolerance (0 inside; 0 for frozen grids)."""
        w = self.grid_weight
        return np.where(self.frozen, 0.0, np.maximum(0.0, w - self.upper) + np.maximum(0.0, self.lower - w))

    def _cut_edges(self) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.labels[self.graph.row], self.labels[self.graph.col]
        keep = (a != b) & ~self.frozen[a] & ~self.frozen[b]
        return a[keep], b[keep]

    def grid_pairs(self) -> np.ndarray:
        """Pairs (a < b) of neighbouring grids that are not frozen."""
        a, b = self._cut_edges()
        if len(a) == 0:
            return np.empty((0, 2), dtype=np.int64)
        return np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1), axis=0)

    def grid_neighbours(self) -> dict[int, set[int]]:
        out: dict[int, set[int]] = {g: set() for g in range(self.k)}
        for a, b in self.grid_pairs().tolist():
            out[a].add(b)
            out[b].add(a)
        return out

    def _touching(self, source: int, target: int) -> np.ndarray:
        """Atoms of grid ``source`` with a neighbour in grid ``target``."""
        row, col = self.graph.row, self.graph.col
        a, b = self.labels[row], self.labels[col]
        return np.unique(np.concatenate([row[(a == source) & (b == target)], col[(b == source) & (a == target)]]))

    # -- diffusion -----------------------------------------------------------------------------
    def balance(self, *, rounds: int = 30) -> None:
        """Move weight along the diffusion flows between neighbouring grids until balanced or stuck."""
        for _ in range(rounds):
            if self.excess().max() <= 0:
                return
            moved = False
            for source, target, amount in self._diffusion_flows():
                moved |= self._transfer(source, target, amount)
            if not moved:
                return

    def _diffusion_flows(self) -> list[tuple[int, int, float]]:
        pairs = self.grid_pairs()
        if len(pairs) == 0:
            return []
        adjacency = sp.csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(self.k, self.k))
        adjacency = adjacency + adjacency.T
        laplacian = csgraph.laplacian(adjacency)
        surplus = np.where(self.frozen, 0.0, self.grid_weight - self.mean)
        _, component = csgraph.connected_components(adjacency, directed=False)
        surplus -= (np.bincount(component, weights=surplus) / np.bincount(component))[component]
        potential = spsolve((laplacian + 1e-9 * sp.identity(self.k)).tocsc(), surplus)
        flow = potential[pairs[:, 0]] - potential[pairs[:, 1]]
        out = [(int(a), int(b), float(f)) if f > 0 else (int(b), int(a), float(-f))
               for (a, b), f in zip(pairs.tolist(), flow.tolist(), strict=True)]
        return sorted((item for item in out if item[2] > 0.01 * self.tolerance * self.mean), key=lambda x: -x[2])

    def _transfer(self, source: int, target: int, amount: float) -> bool:
        """Move about ``amount`` of weight from grid ``source`` to its neighbour ``target``."""
        moved = False
        for _ in range(32):
            best, best_key = -1, None
            for atom in self._touching(source, target).tolist():
                w = self.weights[atom]
                if w <= 0 or w > 2 * amount:
                    continue
                key = (abs(amount - w) > amount, -self.gain(atom, target) / max(w, 1e-9))
                if (best_key is None or key < best_key) and self.can_leave(atom):
                    best, best_key = atom, key
            if best < 0:
                break
            self.move(best, target)
            amount -= self.weights[best]
            moved = True
            if amount <= 0:
                break
        return moved

    # -- recombination -------------------------------------------------------------------------
    def recombine(self, *, max_steps: int = 400) -> None:
        """Merge a grid outside the tolerance with one or two neighbours and cut the union again."""
        stuck: set[int] = set()
        for _ in range(max_steps):
            excess = self.excess()
            if stuck:
                excess[list(stuck)] = 0.0
            if excess.max() <= 0:
                return
            grid = int(np.argmax(excess))
            if not self._recombine_around(grid):
                stuck.add(grid)

    def _recombine_around(self, grid: int) -> bool:
        graph = self.grid_neighbours()
        heavy = self.grid_weight[grid] > self.upper
        nbrs = sorted(graph[grid], key=lambda h: self.grid_weight[h] if heavy else -self.grid_weight[h])
        if any(self._recut([grid, h]) for h in nbrs):
            return True
        triples = list(itertools.combinations(nbrs, 2))
        triples += [(a, b) for a in nbrs for b in sorted(graph[a]) if b != grid and b not in nbrs]
        return any(self._recut([grid, a, b]) for a, b in triples[:8])

    def _recut(self, grids: list[int]) -> bool:
        """Re-cut the union of ``grids``; keep the new cut if it lowers their total excess."""
        nodes = np.flatnonzero(np.isin(self.labels, grids))
        before = sum(self._excess_of(self.grid_weight[g]) for g in grids)
        if len(grids) == 2:
            parts = list(bisect(self.graph, self.weights, self.xy, nodes, share=0.5, slack=0.25 * self.tolerance,
                                min_sizes=(1, 1), rng=self.rng, trees=8))
        else:
            parts = recursive_bisection(self.graph, self.weights, self.xy, nodes, len(grids),
                                        tolerance=self.tolerance, rng=self.rng)
        if len(parts) != len(grids) or any(len(p) == 0 for p in parts):
            return False
        if sum(self._excess_of(self.weights[p].sum()) for p in parts) >= before - 1e-12:
            return False
        self._relabel(grids, parts)
        return True

    def _relabel(self, grids: list[int], parts: list[np.ndarray]) -> None:
        for g, part in zip(grids, parts, strict=True):
            self.labels[part] = g
            self.grid_weight[g] = self.weights[part].sum()
            self.grid_size[g] = len(part)

    # -- refinement ----------------------------------------------------------------------------
    def improve_pairs(self, *, passes: int = 3) -> None:
        """Re-cut the union of each pair of neighbouring grids where a cheaper balanced cut exists.

        Only pairs whose common boundary crosses the inside of a block (a cut edge dearer than its
        length on a street would be) are tried; after the first pass, only pairs next to a change.
        """
        changed = np.ones(self.k, dtype=bool)
        for _ in range(passes):
            touched = np.zeros(self.k, dtype=bool)
            for a, b in self._interior_pairs().tolist():
                if (changed[a] or changed[b]) and self._recut_cheaper(a, b):
                    touched[[a, b]] = True
            if not touched.any():
                return
            changed = touched

    def _interior_pairs(self) -> np.ndarray:
        a, b = self.labels[self.graph.row], self.labels[self.graph.col]
        interior = (a != b) & self.interior & ~self.frozen[a] & ~self.frozen[b]
        pairs = np.stack([np.minimum(a[interior], b[interior]), np.maximum(a[interior], b[interior])], axis=1)
        return np.unique(pairs, axis=0) if len(pairs) else pairs

    def _recut_cheaper(self, a: int, b: int) -> bool:
        nodes = np.flatnonzero((self.labels == a) | (self.labels == b))
        total = self.weights[nodes].sum()
        room = min(self.upper - total / 2, total / 2 - self.lower)
        if room < 0 or len(nodes) < 3 or total <= 0:
            return False
        sub = self.graph.induced(nodes)
        current = self.labels[nodes] == a
        left, _ = bisect(self.graph, self.weights, self.xy, nodes, share=0.5, slack=room / total,
                         min_sizes=(1, 1), rng=self.rng, trees=0, angles=4,
                         spectral=False)
        side = np.isin(nodes, left)
        w_left = self.weights[nodes[side]].sum()
        if not (self.lower <= w_left <= self.upper and self.lower <= total - w_left <= self.upper):
            return False
        if sub.cut(side) >= sub.cut(current) - 1e-9:
            return False
        if (side == current).sum() < (side != current).sum():  # keep each label where most atoms stay
            side = ~side
        self._relabel([a, b], [nodes[side], nodes[~side]])
        return True

    def _fits(self, source: int, target: int, w: float) -> bool:
        before = self._excess_of(self.grid_weight[source]) + self._excess_of(self.grid_weight[target])
        after = self._excess_of(self.grid_weight[source] - w) + self._excess_of(self.grid_weight[target] + w)
        return after <= before + 1e-9

    def refine(self, *, passes: int = 20) -> None:
        """Take cut-lowering single moves that keep both grids inside the tolerance, until none is left.

        Each pass ranks every (boundary atom, neighbouring grid) move by its gain, computed for all
        at once from the edge list, then takes them best first, checking each again as it comes.
        """
        n = len(self.labels)
        row = np.r_[self.graph.row, self.graph.col]
        col = np.r_[self.graph.col, self.graph.row]
        cost = np.r_[self.graph.cost, self.graph.cost]
        for _ in range(passes):
            mine, theirs = self.labels[row], self.labels[col]
            same = mine == theirs
            internal = np.bincount(row[same], weights=cost[same], minlength=n)
            cross = ~same & ~self.frozen[mine] & ~self.frozen[theirs]
            keys, inverse = np.unique(row[cross] * self.k + theirs[cross], return_inverse=True)
            gain = np.bincount(inverse.ravel(), weights=cost[cross], minlength=len(keys)) - internal[keys // self.k]
            order = np.argsort(-gain, kind="stable")
            order = order[gain[order] > 1e-9]
            improved = False
            for atom, target in zip((keys[order] // self.k).tolist(), (keys[order] % self.k).tolist(), strict=True):
                source = self.labels[atom]
                if source == target or self.gain(atom, target) <= 1e-9:
                    continue
                if self._fits(source, target, self.weights[atom]) and self.can_leave(atom):
                    self.move(atom, target)
                    improved = True
            if not improved:
                return
