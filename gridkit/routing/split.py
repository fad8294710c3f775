"""Several wardens in one grid: min-max closed routes, each from its warden's own station.

Route first, cluster second: the single postman (or door-to-door) tour is cut into k consecutive
stretches by :func:`split_tour_depots`, then :func:`improve_routes` moves required edges between
routes and re-orders each route by local search (see its notes).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from gridkit.network import StreetNetwork
from gridkit.routing.bounds import terminal_distances
from gridkit.routing.budget import Deadline
from gridkit.routing.postman import Tour, tour_length

__all__ = ["improve_routes", "serving_steps", "split_tour", "split_tour_depots"]


def split_tour(net: StreetNetwork, tour: Tour, k: int, serving: np.ndarray) -> list[list[tuple[int, bool]]]:
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


def split_tour_depots(net: StreetNetwork, tour: Tour, depots: np.ndarray, serving: np.ndarray, *,
                      rotations: int = 3) -> list[list[tuple[int, bool]]]:
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
                             (np.argsort(-gaps, kind="stable")[:k] + 1) % n_serve])
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


def serving_steps(walk: list[tuple[int, bool]], required: set[int]) -> np.ndarray:
    """True at the first pass of the walk over each required edge (the pass that serves it)."""
    seen: set[int] = set()
    serving = np.zeros(len(walk), dtype=bool)
    for i, (e, _) in enumerate(walk):
        if e in required and e not in seen:
            seen.add(e)
            serving[i] = True
    return serving



# --------------------------------------------------------------------------------------------------
# local search on k routes: required edges move between routes, each route re-ordered


@dataclass
class _Routes:
    """k routes as sequences of required edges (index into ``req``, forward) over a terminal table."""

    dist: np.ndarray  # terminal × terminal shortest distances (m)
    start: np.ndarray  # per required edge, per direction (0 forward, 1 backward): terminal walked from
    end: np.ndarray
    length: np.ndarray  # per required edge (m)
    depot: np.ndarray  # terminal index of each route's depot
    seqs: list[list[tuple[int, int]]]

    def cost(self, r: int, seq: list[tuple[int, int]] | None = None) -> float:
        seq = self.seqs[r] if seq is None else seq
        if not seq:
            return 0.0
        idx = np.array([i for i, _ in seq])
        d = np.array([j for _, j in seq])
        a, b = self.start[idx, d], self.end[idx, d]
        home = self.depot[r]
        return float(self.dist[home, a[0]] + self.length[idx].sum() + self.dist[b[:-1], a[1:]].sum()
                     + self.dist[b[-1], home])

    def ends(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """Per slot q = 0..m: the terminal before it (depot at q = 0) and after it (depot at q = m)."""
        seq = self.seqs[r]
        home = self.depot[r]
        if not seq:
            return np.array([home]), np.array([home])
        idx = np.array([i for i, _ in seq])
        d = np.array([j for _, j in seq])
        return (np.concatenate([[home], self.end[idx, d]]), np.concatenate([self.start[idx, d], [home]]))

    def orient(self, r: int) -> None:
        """Best direction of every edge for the route's order (dynamic programming, exact)."""
        seq = self.seqs[r]
        if not seq:
            return
        home = self.depot[r]
        idx = [i for i, _ in seq]
        cost = self.dist[home, self.start[idx[0]]] + self.length[idx[0]]
        back = []
        for p in range(1, len(idx)):
            step = self.dist[self.end[idx[p - 1]][:, None], self.start[idx[p]][None, :]]
            total = cost[:, None] + step
            back.append(np.argmin(total, axis=0))
            cost = total.min(axis=0) + self.length[idx[p]]
        d = int(np.argmin(cost + self.dist[self.end[idx[-1]], home]))
        dirs = [d]
        for p in range(len(idx) - 1, 0, -1):
            d = int(back[p - 1][d])
            dirs.append(d)
        self.seqs[r] = list(zip(idx, reversed(dirs), strict=True))

    def best_insert(self, r: int, i: int) -> tuple[float, int, int]:
        """Cheapest insertion of edge i into route r: (added metres, slot, direction)."""
        before, after = self.ends(r)
        add = (self.dist[before[:, None], self.start[i][None, :]] + self.length[i]
               + self.dist[self.end[i][None, :], after[:, None]] - self.dist[before, after][:, None])
        q, d = divmod(int(np.argmin(add)), 2)
        return float(add[q, d]), q, d

    def two_opt(self, r: int) -> bool:
        """Best segment reversal of route r (directions flipped with it); True if it shortened."""
        seq = self.seqs[r]
        m = len(seq)
        if m < 2:
            return False
        before, after = self.ends(r)
        idx = np.array([i for i, _ in seq])
        d = np.array([j for _, j in seq])
        a, b = self.start[idx, d], self.end[idx, d]
        # reverse p..q: before[p] -> b[q] (reversed start), a[p] -> after[q + 1]
        delta = (self.dist[before[:m, None], b[None, :]] + self.dist[a[:, None], after[None, 1:]]
                 - self.dist[before[:m], a][:, None] - self.dist[b, after[1:]][None, :])
        delta[np.tril_indices(m)] = np.inf
        k = int(np.argmin(delta))
        if delta.flat[k] >= -1e-9:
            return False
        p, q = divmod(k, m)
        seq[p: q + 1] = [(i, 1 - j) for i, j in reversed(seq[p: q + 1])]
        return True


def _lexi_better(new: list[float], old: list[float]) -> bool:
    """True when the route lengths ``new`` are better: a shorter longest route, else a shorter total."""
    if max(new) < max(old) - 1e-9:
        return True
    return max(new) <= max(old) + 1e-9 and sum(new) < sum(old) - 1e-9


def _relocate(state: _Routes, costs: list[float]) -> tuple[int, int] | None:
    """Apply the best move of one required edge from a route to another (longest routes tried first).

    For each source route the removal saving of every edge and its cheapest insertion into every
    other route are computed at once (arrays over positions × edges × directions).
    """
    k = len(state.seqs)
    total = sum(costs)
    for r in sorted(range(k), key=lambda x: -costs[x]):
        seq = state.seqs[r]
        if not seq:
            continue
        idx = np.array([i for i, _ in seq])
        d = np.array([j for _, j in seq])
        a, b = state.start[idx, d], state.end[idx, d]
        before, after = state.ends(r)
        bef, aft = before[:-1], after[1:]
        saving = state.dist[bef, a] + state.length[idx] + state.dist[b, aft] - state.dist[bef, aft]
        removed = costs[r] - saving
        best = None
        for t in range(k):
            if t == r:
                continue
            tb, ta = state.ends(t)
            s_i, e_i = state.start[idx], state.end[idx]  # (m, 2)
            add = (state.dist[tb[:, None, None], s_i[None, :, :]] + state.length[idx][None, :, None]
                   + state.dist[e_i[None, :, :], ta[:, None, None]] - state.dist[tb, ta][:, None, None])
            flat = add.transpose(1, 0, 2).reshape(len(idx), -1)
            pick = np.argmin(flat, axis=1)
            grown = costs[t] + flat[np.arange(len(idx)), pick]
            others = max([costs[x] for x in range(k) if x not in (r, t)], default=0.0)
            new_max = np.maximum(np.maximum(removed, grown), others)
            new_sum = total - costs[r] - costs[t] + removed + grown
            order = np.lexsort((new_sum, new_max))
            p = int(order[0])
            cand = (float(new_max[p]), float(new_sum[p]))
            improves = cand[0] < max(costs) - 1e-9 or (cand[0] <= max(costs) + 1e-9 and cand[1] < total - 1e-9)
            if improves and (best is None or cand < best[0]):
                q, dd = divmod(int(pick[p]), 2)
                best = (cand, p, t, q, dd)
        if best is not None:
            _, p, t, q, dd = best
            i = state.seqs[r][p][0]
            del state.seqs[r][p]
            state.seqs[t].insert(q, (i, dd))
            return r, t
    return None


def _prefix(state: _Routes, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Costs of the heads and tails of route r at every cut c = 0..m.

    The head runs from the depot through the first c edges (ending at ``last[c]``), the tail from
    ``first[c]`` through the rest back to the depot.
    """
    seq = state.seqs[r]
    home = state.depot[r]
    if not seq:
        return np.zeros(1), np.zeros(1), np.array([home]), np.array([home])
    idx = np.array([i for i, _ in seq])
    d = np.array([j for _, j in seq])
    a, b = state.start[idx, d], state.end[idx, d]
    hop = state.dist[b[:-1], a[1:]]
    head = np.concatenate([[0.0], np.cumsum(state.length[idx] + np.concatenate([[state.dist[home, a[0]]], hop]))])
    out = state.length[idx] + np.concatenate([hop, [state.dist[b[-1], home]]])
    tail = np.concatenate([np.cumsum(out[::-1])[::-1], [0.0]])
    return head, tail, np.concatenate([[home], b]), np.concatenate([a, [home]])


def _swap_tails(state: _Routes, costs: list[float]) -> tuple[int, int] | None:
    """Best exchange of route ends between the longest route and another from the same depot (2-opt*).

    Route r = A1 A2 and t = B1 B2 become A1 B2 and B1 A2.
    """
    k = len(state.seqs)
    r = int(np.argmax(costs))
    total, longest = sum(costs), max(costs)
    head_r, tail_r, last_r, first_r = _prefix(state, r)
    best = None
    for t in range(k):
        if t == r or state.depot[t] != state.depot[r]:
            continue
        head_t, tail_t, last_t, first_t = _prefix(state, t)
        new_r = head_r[:, None] + state.dist[last_r[:, None], first_t[None, :]] + tail_t[None, :]
        new_t = head_t[None, :] + state.dist[last_t[None, :], first_r[:, None]] + tail_r[:, None]
        others = max([costs[x] for x in range(k) if x not in (r, t)], default=0.0)
        new_max = np.maximum(np.maximum(new_r, new_t), others)
        new_sum = total - costs[r] - costs[t] + new_r + new_t
        flat = np.lexsort((new_sum.ravel(), new_max.ravel()))[0]
        p, q = divmod(int(flat), new_r.shape[1])
        cand = (float(new_max[p, q]), float(new_sum[p, q]))
        if (cand[0] < longest - 1e-9 or (cand[0] <= longest + 1e-9 and cand[1] < total - 1e-9)) and (
                best is None or cand < best[0]):
            best = (cand, t, p, q)
    if best is None:
        return None
    _, t, p, q = best
    seq_r, seq_t = state.seqs[r], state.seqs[t]
    state.seqs[r], state.seqs[t] = seq_r[:p] + seq_t[q:], seq_t[:q] + seq_r[p:]
    return r, t


def _local_search(state: _Routes, deadline: Deadline | None) -> list[float]:
    """2-opt and exact directions on every changed route, then edge moves between routes, until none helps."""
    changed = set(range(len(state.seqs)))
    costs = [state.cost(r) for r in range(len(state.seqs))]
    while deadline is None or not deadline.expired():
        for r in changed:
            while state.two_opt(r):
                pass
            state.orient(r)
            costs[r] = state.cost(r)
        moved = _relocate(state, costs) or _swap_tails(state, costs)
        if moved is None:
            break
        changed = set(moved)
    return [state.cost(r) for r in range(len(state.seqs))]


def _perturb(state: _Routes, rng: np.random.Generator, share: float) -> None:
    """Ruin and recreate: take edges out, put each back where the longest route grows least.

    Half the time the edges taken are a random share, half the time the share nearest to a random
    edge (a neighbourhood of the streets); they go back farthest from the depots first.
    """
    pool = [(r, p) for r, seq in enumerate(state.seqs) for p in range(len(seq))]
    n_out = min(len(pool), max(1, int(share * len(pool))))
    if rng.random() < 0.5:
        out = {pool[j] for j in rng.choice(len(pool), size=n_out, replace=False)}
    else:
        r0, p0 = pool[int(rng.integers(len(pool)))]
        seed = state.seqs[r0][p0][0]
        near = np.array([state.dist[state.start[seed, 0], state.start[state.seqs[r][p][0]]].min() for r, p in pool])
        out = {pool[j] for j in np.argsort(near, kind="stable")[:n_out]}
    taken = [state.seqs[r][p][0] for r, p in out]
    state.seqs = [[s for p, s in enumerate(seq) if (r, p) not in out] for r, seq in enumerate(state.seqs)]
    costs = [state.cost(r) for r in range(len(state.seqs))]
    far = np.array([state.dist[state.depot][:, state.start[i]].min() for i in taken])
    for i in np.array(taken)[np.argsort(-far, kind="stable")]:
        options = []
        for t in range(len(state.seqs)):
            add, q, d = state.best_insert(t, int(i))
            options.append((costs[t] + add, add, t, q, d))
        _, add, t, q, d = min(options)
        state.seqs[t].insert(q, (int(i), d))
        costs[t] += add


def improve_routes(net: StreetNetwork, walks: list[list[tuple[int, bool]]], depots: np.ndarray,
                   required: np.ndarray, *, deadline: Deadline | None = None, max_terminals: int = 1500,
                   max_stall: int = 25, seed: int = 0) -> list[list[tuple[int, bool]]]:
    """Shorten the longest of k closed routes covering ``required``, each from its own depot.

    The routes become sequences of required edges (each served by the first route that walks it),
    joined by shortest paths. Local search (as in Ahr & Reinelt's min-max k-CPP neighbourhoods):
    move one required edge to the best place of another route (or of its own) when that shortens the
    longest route, or keeps it and shortens the total; reverse stretches of a route (2-opt); re-choose
    every edge's direction exactly for the route's order. Then, while the deadline allows, ruin and
    recreate (a random share of the edges re-inserted where the longest route grows least) followed
    by the same local search, keeping the best, until ``max_stall`` rounds in a row bring nothing or
    half the time left at the start has passed. Finally a required edge that another route walks
    anyway is dropped from its own route. Needs the shortest distances between the required edges'
    end nodes: above ``max_terminals`` of them the walks are returned unchanged.

    Returns
    -------
    list
        One closed walk per depot, every required edge walked by some route.
    """
    required = np.unique(np.asarray(required, dtype=np.int64))
    depots = np.asarray(depots, dtype=np.int64)
    k = len(walks)
    if k < 2 or len(required) == 0:
        return walks
    terminals = np.unique(np.concatenate([net.eu[required], net.ev[required], depots]))
    if len(terminals) > max_terminals or (deadline is not None and deadline.expired()):
        return walks
    where = np.full(len(net.node_ids), -1, dtype=np.int64)
    where[terminals] = np.arange(len(terminals))
    pos = {int(e): i for i, e in enumerate(required)}
    seqs: list[list[tuple[int, int]]] = [[] for _ in range(k)]
    seen: set[int] = set()
    for r, walk in enumerate(walks):
        for e, fwd in walk:
            i = pos.get(int(e))
            if i is not None and i not in seen:
                seen.add(i)
                seqs[r].append((i, 0 if fwd else 1))
    if len(seen) < len(required):
        return walks
    su, sv = where[net.eu[required]], where[net.ev[required]]
    state = _Routes(dist=terminal_distances(net, terminals), start=np.stack([su, sv], axis=1),
                    end=np.stack([sv, su], axis=1), length=net.length[required], depot=where[depots], seqs=seqs)
    before = [tour_length(net, w) for w in walks]
    best_costs = _local_search(state, deadline)
    best = [list(s) for s in state.seqs]
    rng = np.random.default_rng(seed)
    stall = 0
    ils = Deadline(None if deadline is None or deadline.seconds is None else deadline.left() / 2)
    while stall < max_stall and not ils.expired():
        _perturb(state, rng, share=float(rng.uniform(0.05, 0.3)))
        costs = _local_search(state, deadline)
        stall += 1
        if _lexi_better(costs, best_costs):
            best_costs, best, stall = costs, [list(s) for s in state.seqs], 0
        else:
            state.seqs = [list(s) for s in best]
    state.seqs = best
    out = _realise(net, state, terminals, required, depots)
    if max(tour_length(net, w) for w in out) > max(before) + 1e-6:
        return walks
    return out


def _realise(net: StreetNetwork, state: _Routes, terminals: np.ndarray, required: np.ndarray,
             depots: np.ndarray) -> list[list[tuple[int, bool]]]:
    """Closed walks of the sequences, then each edge another route walks anyway dropped from its own."""
    cache: dict[int, np.ndarray] = {}

    def path(a: int, b: int) -> list[tuple[int, bool]]:
        if a == b:
            return []
        if a not in cache:
            cache[a] = net.shortest([a])[1][0]
        return net.path(cache[a], a, b)

    def walk_of(r: int) -> list[tuple[int, bool]]:
        walk: list[tuple[int, bool]] = []
        here = int(depots[r])
        for i, d in state.seqs[r]:
            e = int(required[i])
            a, b = (int(net.eu[e]), int(net.ev[e])) if d == 0 else (int(net.ev[e]), int(net.eu[e]))
            walk += path(here, a)
            walk.append((e, d == 0))
            here = b
        return walk + path(here, int(depots[r]))

    walks = [walk_of(r) for r in range(len(state.seqs))]
    req_set = set(required.tolist())
    for r in sorted(range(len(walks)), key=lambda x: -tour_length(net, walks[x])):
        others = set()
        for t, w in enumerate(walks):
            if t != r:
                others |= {e for e, _ in w}
        keep = [(i, d) for i, d in state.seqs[r] if int(required[i]) not in others]
        if len(keep) == len(state.seqs[r]):
            continue
        saved = state.seqs[r]
        state.seqs[r] = keep
        state.orient(r)
        trial = walk_of(r)
        covered = others | {e for e, _ in trial}
        if req_set <= covered and tour_length(net, trial) < tour_length(net, walks[r]) - 1e-9:
            walks[r] = trial
        else:
            state.seqs[r] = saved
    return walks
