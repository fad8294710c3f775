"""Local search on a partition of the atom graph: balance first, then cheaper, more compact cuts.

Moves are single boundary atoms passing to a neighbouring grid. A move never empties a grid and never
disconnects the grid it leaves (the neighbours of the atom in its grid must stay connected without
it). Balancing follows the diffusion flows between neighbouring grids (the solution of the quotient
graph's Laplacian system), so weight travels along chains of grids and not only between two.
Refining then takes moves that lower the cut cost while both grids stay inside the tolerance.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import scipy.sparse as sp


class Plan:
    """A partition under local search.

    Parameters
    ----------
    cost
        Symmetric CSR cut cost between atoms.
    weights
        Balancing weight per atom.
    labels
        Grid of every atom; atoms with a negative label are fixed (not moved, not targets).
    mean
        The balance target per grid (community weight / number of grids).
    tolerance
        Relative two-sided tolerance.
    rng
        Random generator (move order).
    frozen
        Per grid, True for grids that neither give nor take atoms (oversize grids).
    """

    def __init__(self, cost: sp.csr_matrix, weights: np.ndarray, labels: np.ndarray, *, mean: float,
                 tolerance: float, rng: np.random.Generator, frozen: np.ndarray | None = None) -> None:
        self.indptr, self.indices, self.data = cost.indptr, cost.indices, cost.data
        self.weights = weights.astype(float)
        self.labels = labels.copy()
        self.k = int(labels.max()) + 1 if len(labels) else 0
        self.grid_weight = np.bincount(labels[labels >= 0], weights=self.weights[labels >= 0], minlength=self.k)
        self.grid_size = np.bincount(labels[labels >= 0], minlength=self.k)
        self.mean, self.tolerance, self.rng = mean, tolerance, rng
        self.lower, self.upper = mean * (1 - tolerance), mean * (1 + tolerance)
        self.frozen = np.zeros(self.k, dtype=bool) if frozen is None else np.asarray(frozen, dtype=bool)

    # -- moves -------------------------------------------------------------------------------
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
            lo, hi = self.indptr[node], self.indptr[node + 1]
            for other in self.indices[lo:hi]:
                other = int(other)
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

    def boundary_atoms(self) -> np.ndarray:
        rows = np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))
        mine, theirs = self.labels[rows], self.labels[self.indices]
        edge = (mine != theirs) & (mine >= 0) & (theirs >= 0)
        return np.unique(rows[edge])

    # -- balancing ---------------------------------------------------------------------------
    def excess(self) -> np.ndarray:
        w = self.grid_weight
        return np.where(self.frozen, 0.0, np.maximum(0.0, w - self.upper) + np.maximum(0.0, self.lower - w))

    def balance(self, *, rounds: int = 30) -> None:
        """Bring every grid inside the tolerance: diffusion flows first, then ejection chains."""
        for _ in range(rounds):
            if self.excess().max() <= 0:
                return
            flows = self._diffusion_flows()
            moved = False
            for source, target, amount in flows:
                moved |= self._transfer(source, target, amount)
            if not moved:
                break
        self._repair_chains()

    def _repair_chains(self, *, max_steps: int = 2000) -> None:
        """Fix the grid furthest outside the tolerance by moving atoms along a chain of grids."""
        stuck: set[int] = set()
        for _ in range(max_steps):
            excess = self.excess()
            if stuck:
                excess[list(stuck)] = 0.0
            if excess.max() <= 0:
                return
            grid = int(np.argmax(excess))
            if not self._chain(grid):
                stuck.add(grid)

    def _grid_graph(self) -> dict[int, set[int]]:
        graph: dict[int, set[int]] = {g: set() for g in range(self.k)}
        for a, b in self._quotient_edges():
            graph[int(a)].add(int(b))
            graph[int(b)].add(int(a))
        return graph

    def _chain(self, grid: int) -> bool:
        """Try chains from ``grid`` to the nearest grids with room; keep the first that helps."""
        heavy = self.grid_weight[grid] > self.upper
        graph = self._grid_graph()
        parent = {grid: -1}
        queue = deque([grid])
        ends = []
        while queue and len(ends) < 6:
            node = queue.popleft()
            for nxt in sorted(graph[node]):
                if nxt in parent or self.frozen[nxt]:
                    continue
                parent[nxt] = node
                queue.append(nxt)
                w = self.grid_weight[nxt]
                if (heavy and w < self.mean) or (not heavy and w > self.mean):
                    ends.append(nxt)
        for end in ends:
            path = [end]
            while parent[path[-1]] != -1:
                path.append(parent[path[-1]])
            path.reverse()  # grid ... end
            if self._shift_along(path, heavy):
                return True
        return False

    def _shift_along(self, path: list[int], heavy: bool) -> bool:
        """Move one atom across each link of ``path`` (outwards if heavy); undo unless it helps."""
        before = self.excess().sum()
        amount = abs(self.grid_weight[path[0]] - self.mean)
        links = list(zip(path[:-1], path[1:], strict=True))
        steps = [(b, a) for a, b in links] if not heavy else [(a, b) for a, b in reversed(links)]
        done: list[tuple[int, int]] = []
        for source, target in steps:
            atom = self._pick(source, target, amount)
            if atom < 0:
                break
            done.append((atom, source))
            self.move(atom, target)
        if len(done) == len(steps) and self.excess().sum() < before - 1e-12:
            return True
        for atom, source in reversed(done):
            self.move(atom, source)
        return False

    def _pick(self, source: int, target: int, amount: float) -> int:
        """Atom of ``source`` touching ``target`` whose weight is closest to ``amount``."""
        best, best_key = -1, None
        for atom in self._candidates(source, target):
            w = self.weights[atom]
            if w <= 0:
                continue
            key = (abs(w - amount), -self.gain(atom, target))
            if (best_key is None or key < best_key) and self.can_leave(atom):
                best, best_key = atom, key
        return best

    def _quotient_edges(self) -> np.ndarray:
        rows = np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))
        a, b = self.labels[rows], self.labels[self.indices]
        keep = (a != b) & (a >= 0) & (b >= 0)
        keep[keep] &= ~self.frozen[a[keep]] & ~self.frozen[b[keep]]
        pairs = np.unique(np.stack([a[keep], b[keep]], axis=1), axis=0)
        return pairs[pairs[:, 0] < pairs[:, 1]]

    def _diffusion_flows(self) -> list[tuple[int, int, float]]:
        pairs = self._quotient_edges()
        if len(pairs) == 0:
            return []
        lap = np.zeros((self.k, self.k))
        np.add.at(lap, (pairs[:, 0], pairs[:, 1]), -1.0)
        np.add.at(lap, (pairs[:, 1], pairs[:, 0]), -1.0)
        lap[np.diag_indices(self.k)] = -lap.sum(axis=1)
        surplus = np.where(self.frozen, 0.0, self.grid_weight - self.mean)
        potential = np.linalg.lstsq(lap, surplus, rcond=None)[0]
        flow = potential[pairs[:, 0]] - potential[pairs[:, 1]]
        out = [(int(a), int(b), float(f)) if f > 0 else (int(b), int(a), float(-f))
               for (a, b), f in zip(pairs, flow, strict=True)]
        out.sort(key=lambda item: -item[2])
        return [item for item in out if item[2] > 0.25 * self.tolerance * self.mean * 0.1]

    def _transfer(self, source: int, target: int, amount: float) -> bool:
        """Move about ``amount`` of weight from grid ``source`` to its neighbour ``target``."""
        moved = False
        for _ in range(64):
            if amount <= 0:
                break
            candidates = self._candidates(source, target)
            best, best_key = -1, None
            for atom in candidates:
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
        return moved

    def _candidates(self, source: int, target: int) -> list[int]:
        members = np.flatnonzero(self.labels == source)
        out = []
        for atom in members:
            nbrs, _ = self.neighbours(int(atom))
            if (self.labels[nbrs] == target).any():
                out.append(int(atom))
        return out

    # -- refining ----------------------------------------------------------------------------
    def _fits(self, source: int, target: int, w: float) -> bool:
        after_source, after_target = self.grid_weight[source] - w, self.grid_weight[target] + w
        before = self._excess_of(self.grid_weight[source]) + self._excess_of(self.grid_weight[target])
        after = self._excess_of(after_source) + self._excess_of(after_target)
        return after <= before + 1e-9

    def _excess_of(self, w: float) -> float:
        return max(0.0, w - self.upper) + max(0.0, self.lower - w)

    def refine(self, *, passes: int = 30) -> None:
        """Take cut-lowering moves that keep both grids inside the tolerance, until none is left."""
        for _ in range(passes):
            improved = False
            atoms = self.boundary_atoms()
            for atom in self.rng.permutation(atoms):
                atom = int(atom)
                source = self.labels[atom]
                if self.frozen[source]:
                    continue
                nbrs, _ = self.neighbours(atom)
                targets = np.unique(self.labels[nbrs])
                best, best_gain = -1, 1e-9
                for target in targets:
                    if target == source or target < 0 or self.frozen[target]:
                        continue
                    g = self.gain(atom, int(target))
                    if g > best_gain and self._fits(source, int(target), self.weights[atom]):
                        best, best_gain = int(target), g
                if best >= 0 and self.can_leave(atom):
                    self.move(atom, best)
                    improved = True
            if not improved:
                return
