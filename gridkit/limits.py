"""Proven balance limits: how close to equal the grids of a community can possibly be.

Buildings are indivisible, so where atoms are coarse against the target (towers of 150–400
households at a target of 300) no plan may reach ±10 %. :func:`balance_bound` proves a lower bound
on the best reachable maximum |deviation| from the atom weights alone, by an exact assignment
(bin-packing) model solved with HiGHS: atoms go to ``k`` identical grids, contiguity is relaxed
(so every real plan is a solution of the model and the bound is valid for it), and the lightest
atoms may be relaxed to a divisible fluid to keep the model small (which can only lower the
bound). The model's optimum is the bound where HiGHS proves it, otherwise its dual bound.

The report then says "best possible ≥ 0.31, found 0.42", or "optimal" when the plan found meets
the bound.
"""

from __future__ import annotations

import heapq
import os
import sys
from dataclasses import dataclass

import numpy as np

__all__ = ["BalanceBound", "balance_bound", "best_grid_count", "describe_balance_limit",
           "greedy_deviation", "quiet_highs"]

#: Atoms kept indivisible in the model (the heaviest); lighter ones become a divisible fluid.
MAX_INTEGER_ATOMS = 160
_EPS = 1e-9


_BANNER_SHOWN = False


def quiet_highs(time_limit: float) -> object:
    """A silent ``highspy.Highs`` with a time limit (s).

    HiGHS prints a banner on standard output when the first solver of a process is made; a library
    must not write to a CLI's or notebook's output, so that first construction runs with file
    descriptor 1 pointed at the null device.
    """
    import highspy  # noqa: PLC0415 - loaded on first use

    global _BANNER_SHOWN  # noqa: PLW0603 - once per process
    if _BANNER_SHOWN:
        h = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _BANNER_SHOWN = True
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    return h


@dataclass
class BalanceBound:
    """What the assignment model proves about one community and grid count.

    Attributes
    ----------
    k
        Number of (non-oversize) grids.
    lower
        No plan of ``k`` grids has a smaller maximum |deviation| (relative to the mean).
    assignment_best
        The best maximum |deviation| of an assignment the model found (contiguity ignored), or NaN.
    exact
        True when HiGHS closed the gap and no atom was relaxed (``lower`` is the optimum of the
        assignment problem).
    """

    k: int
    lower: float
    assignment_best: float
    exact: bool


def greedy_deviation(weights: np.ndarray, k: int) -> float:
    """Max |deviation| of a greedy assignment (heaviest atom to the lightest grid), contiguity ignored.

    Any assignment's deviation is an upper bound on the model's optimum: where it is already
    inside the tolerance, no proof is needed (the tolerance is reachable, up to contiguity).
    """
    weights = np.asarray(weights, dtype=float)
    total = float(weights.sum())
    if k <= 1 or total <= 0:
        return 0.0
    loads = np.zeros(int(k))
    heap = [(0.0, j) for j in range(int(k))]
    for w in np.sort(weights)[::-1].tolist():
        load, j = heapq.heappop(heap)
        loads[j] = load + w
        heapq.heappush(heap, (load + w, j))
    mean = total / k
    return float(np.abs(loads - mean).max() / mean)


def _quick_lower(weights: np.ndarray, k: int) -> float:
    """Closed-form bounds: the heaviest atom must fit in a grid; with k ≥ n, some grid is light."""
    total = float(weights.sum())
    mean = total / k
    lower = max(0.0, float(weights.max()) / mean - 1.0) if len(weights) else 1.0
    n_positive = int((weights > _EPS).sum())
    if n_positive < k:
        lower = max(lower, 1.0)  # a grid gets no weight at all
    return lower


def balance_bound(weights: np.ndarray, k: int, *, time_limit: float = 1.0,
                  max_integer_atoms: int = MAX_INTEGER_ATOMS) -> BalanceBound:
    """Lower bound on the best reachable maximum |deviation| of ``k`` grids of these atoms.

    Parameters
    ----------
    weights
        Balancing weight of each atom that is not an oversize grid of its own (any unit).
    k
        Number of grids they are shared among.
    time_limit
        Seconds for HiGHS.
    max_integer_atoms
        The heaviest atoms kept indivisible; the rest is relaxed to a divisible fluid.

    Returns
    -------
    BalanceBound

    Examples
    --------
    Three towers of 400 households and one of 100 for two grids (mean 650): the best split is
    800 / 500, ±23 %.

    >>> round(balance_bound(np.array([400.0, 400, 400, 100]), 2).lower, 3)
    0.231
    """
    weights = np.asarray(weights, dtype=float)
    k = int(k)
    total = float(weights.sum())
    if k <= 1 or total <= 0:
        return BalanceBound(k, 0.0, 0.0, True)
    quick = _quick_lower(weights, k)
    order = np.argsort(-weights, kind="stable")
    heavy = order[: max_integer_atoms]
    fluid = float(weights[order[max_integer_atoms:]].sum())
    mean = total / k
    if fluid >= k * mean * 0.999 or len(heavy) == 0:
        return BalanceBound(k, quick, float("nan"), False)
    solved = _assignment_model(weights[heavy] / mean, fluid / mean, k, time_limit=time_limit)
    lower, best, optimal = solved
    exact = optimal and fluid <= _EPS
    return BalanceBound(k, max(quick, lower), best if exact or fluid <= _EPS else float("nan"), exact)


def _assignment_model(w: np.ndarray, fluid: float, k: int, *, time_limit: float) -> tuple[float, float, bool]:
    """Minimum d such that every grid's load is within [1 − d, 1 + d] (weights in means); HiGHS MILP.

    Atoms are sorted heaviest first and atom ``i`` may only go to grids ``0..i`` (the grids are
    identical: this removes symmetric copies of each solution, not solutions).
    """
    import highspy  # noqa: PLC0415

    n = len(w)
    grids = np.arange(k)
    pairs = [(i, j) for i in range(n) for j in grids[: min(i + 1, k)]]
    atom = np.array([p[0] for p in pairs], dtype=np.int32)
    grid = np.array([p[1] for p in pairs], dtype=np.int32)
    nx = len(pairs)
    # columns: x (binary, per pair), f_j (fluid per grid), d
    n_cols = nx + k + 1
    d_col = nx + k
    lower = np.zeros(n_cols)
    upper = np.r_[np.ones(nx), np.full(k, fluid), 1e6]
    h = quiet_highs(time_limit)
    h.setOptionValue("mip_rel_gap", 1e-6)
    h.setOptionValue("mip_abs_gap", 1e-6)
    h.addVars(n_cols, lower, upper)
    cost = np.zeros(n_cols)
    cost[d_col] = 1.0
    h.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), cost)
    h.changeColsIntegrality(nx, np.arange(nx, dtype=np.int32), np.full(nx, highspy.HighsVarType.kInteger))
    inf = highspy.kHighsInf
    rows_lo, rows_hi, starts, idx, val = [], [], [], [], []

    def row(lo: float, hi: float, cols: np.ndarray, values: np.ndarray) -> None:
        starts.append(len(idx))
        rows_lo.append(lo)
        rows_hi.append(hi)
        idx.extend(cols.tolist())
        val.extend(values.tolist())

    order = np.argsort(atom, kind="stable")
    bounds = np.searchsorted(atom[order], np.arange(n + 1))
    for i in range(n):  # each atom in exactly one grid
        cols = order[bounds[i]:bounds[i + 1]]
        row(1.0, 1.0, cols, np.ones(len(cols)))
    row(fluid, fluid, nx + grids, np.ones(k))  # all the fluid is placed
    by_grid = np.argsort(grid, kind="stable")
    gb = np.searchsorted(grid[by_grid], np.arange(k + 1))
    for j in range(k):  # load_j - d <= 1 and load_j + d >= 1
        cols = by_grid[gb[j]:gb[j + 1]]
        load_cols = np.r_[cols, nx + j, d_col]
        row(-inf, 1.0, load_cols, np.r_[w[atom[cols]], 1.0, -1.0])
        row(1.0, inf, load_cols, np.r_[w[atom[cols]], 1.0, 1.0])
    h.addRows(len(rows_lo), np.array(rows_lo), np.array(rows_hi), len(idx), np.array(starts, dtype=np.int32),
              np.array(idx, dtype=np.int32), np.array(val))
    return _solve(h)


def _solve(h: object) -> tuple[float, float, bool]:
    """Run HiGHS; (dual bound, best objective or NaN, proven optimal)."""
    import highspy  # noqa: PLC0415

    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    if status == highspy.HighsModelStatus.kInfeasible:
        return 1.0, float("nan"), False
    best = float(info.objective_function_value) if info.primal_solution_status == 2 else float("nan")
    dual = float(info.mip_dual_bound)
    optimal = status == highspy.HighsModelStatus.kOptimal
    if optimal and np.isfinite(best):
        dual = max(dual, best) if abs(best - dual) < 1e-5 else dual
    if not np.isfinite(dual):
        dual = 0.0
    return max(0.0, dual), best, optimal


def best_grid_count(weights: np.ndarray, k: int, *, tolerance: float, time_limit: float = 1.0,
                    candidates: tuple[int, ...] = (0, -1, 1)) -> tuple[int, dict[int, BalanceBound]]:
    """The grid count near ``k`` with the smallest proven balance bound (``k`` first on ties).

    Only counts whose bound shows the tolerance cannot be reached are given up: the target's own
    ``k`` is kept wherever its bound allows the tolerance.
    """
    bounds: dict[int, BalanceBound] = {}
    for step in candidates:
        count = k + step
        if count < 1 or count > max(1, int((np.asarray(weights) > _EPS).sum())):
            continue
        bounds[count] = balance_bound(weights, count, time_limit=time_limit)
        if step == 0 and bounds[count].lower <= tolerance + 1e-12:
            return k, bounds
    if not bounds:
        return k, bounds
    best = min(bounds, key=lambda c: (bounds[c].lower > tolerance + 1e-12, round(bounds[c].lower, 6), abs(c - k)))
    return best, bounds


def describe_balance_limit(bound: BalanceBound | None, found: float) -> str:
    """Plain words for the report: the best max |deviation| found against the proven bound."""
    if bound is None:
        return f"best max |deviation| found {found:.3f}"
    if found <= bound.lower + 1e-6:
        return f"max |deviation| {found:.3f} is optimal (no plan of {bound.k} grids does better)"
    return f"best possible >= {bound.lower:.3f} (proven for {bound.k} grids), found {found:.3f}"
