"""Proven limits: the balance bound (HiGHS assignment model) and the street-alignment ceiling.

Both are checked against independent exact answers by enumeration on small instances, and on
real plans: no plan gridkit finds may beat a bound, and no plan's street alignment may exceed its
community's ceiling.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely
from synthetic import make_district

import gridkit
from gridkit.alignment import aligned_edge_lengths, alignment_ceiling, block_cut_bound
from gridkit.limits import balance_bound, best_grid_count, describe_balance_limit, greedy_deviation


def _best_by_enumeration(w: np.ndarray, k: int) -> float:
    mean = w.sum() / k
    best = np.inf
    for assign in itertools.product(range(k), repeat=len(w)):
        loads = np.bincount(assign, weights=w, minlength=k)
        best = min(best, float(np.abs(loads - mean).max() / mean))
    return best


@pytest.mark.parametrize("trial", range(12))
def test_balance_bound_equals_enumerated_optimum(trial):
    rng = np.random.default_rng(trial)
    n, k = int(rng.integers(3, 8)), int(rng.integers(2, 4))
    w = rng.integers(1, 400, n).astype(float)
    exact = _best_by_enumeration(w, k)
    bound = balance_bound(w, k)
    assert bound.lower == pytest.approx(exact, abs=1e-6)
    assert bound.exact
    assert greedy_deviation(w, k) >= bound.lower - 1e-9


def test_relaxed_atoms_keep_the_bound_valid():
    """With the lightest atoms relaxed to a fluid, the bound can only go down, never above the optimum."""
    rng = np.random.default_rng(5)
    w = rng.integers(50, 300, 7).astype(float)
    exact = _best_by_enumeration(w, 3)
    relaxed = balance_bound(w, 3, max_integer_atoms=3)
    assert relaxed.lower <= exact + 1e-9
    assert not relaxed.exact


def test_towers_report_the_proven_limit():
    bound = balance_bound(np.array([400.0, 400, 400, 100]), 2)
    assert bound.lower == pytest.approx(150 / 650, abs=1e-9)  # 800 / 500 around a mean of 650
    assert "optimal" in describe_balance_limit(bound, bound.lower)
    assert "best possible >= 0.231" in describe_balance_limit(bound, 0.42)


def test_grid_count_is_picked_from_the_bound():
    # six equal towers asked into 5 grids: one grid must take two (±67 %); 6 grids are equal
    w = np.full(6, 1.2)
    k, bounds = best_grid_count(w, 5, tolerance=0.1)
    assert k == 6
    assert bounds[6].lower == pytest.approx(0.0, abs=1e-9)
    assert bounds[5].lower == pytest.approx(2.4 / 1.44 - 1, abs=1e-6)
    assert bounds[4].lower > 0.1


def _lattice(n: int) -> tuple[np.ndarray, np.ndarray]:
    row, col = [], []
    for i in range(n):
        for j in range(n):
            if i + 1 < n:
                row.append(i * n + j)
                col.append((i + 1) * n + j)
            if j + 1 < n:
                row.append(i * n + j)
                col.append(i * n + j + 1)
    return np.array(row), np.array(col)


@pytest.mark.parametrize("cap", [15.0, 10.0, 7.0, 4.0])
def test_block_cut_bound_equals_enumeration(cap):
    row, col = _lattice(4)
    rng = np.random.default_rng(int(cap))
    cost = rng.uniform(1, 3, len(row))
    w = rng.integers(1, 3, 16).astype(float)
    total = w.sum()
    lo, hi = total / 2 - cap / 2, total / 2 + cap / 2
    best = np.inf
    for mask in range(1, 2**16 - 1):
        side = (mask >> np.arange(16)) & 1 == 1
        if lo <= w[side].sum() <= hi:
            best = min(best, float(cost[side[row] != side[col]].sum()))
    bound, optimal = block_cut_bound(row, col, cost, w, cap)
    if total <= cap:
        assert bound == 0.0
    else:
        assert optimal
        assert bound == pytest.approx(best, rel=1e-6)


def test_block_cut_bound_is_below_every_partition_into_capped_parts():
    """Any split of the block into parts of at most cap cuts at least the bound (here: 4 strips)."""
    row, col = _lattice(4)
    cost = np.ones(len(row))
    w = np.ones(16)
    bound, _ = block_cut_bound(row, col, cost, w, 4.0)
    strips = np.repeat(np.arange(4), 4)  # rows of the lattice: 3 straight cuts of 4 edges
    assert float(cost[strips[row] != strips[col]].sum()) >= bound - 1e-9


def test_ceiling_bounds_the_alignment_of_real_plans(sample, sample_result):
    table = gridkit.evaluate(sample_result.grids, sample.communities, sample.buildings, sample_result.assignment,
                             streets=sample.streets, atoms=sample_result.atoms)
    assert "street_alignment_ceiling" in table.columns
    rows = table[table["street_alignment"].notna()]
    assert (rows["street_alignment"] <= rows["street_alignment_ceiling"] + 1e-9).all()
    assert (table["street_alignment_ceiling"] <= 1.0 + 1e-12).all()


def test_a_block_that_must_be_cut_lowers_the_ceiling():
    """One block heavier than the upper bound must be cut: the ceiling falls below 1."""
    d = make_district(2, 2, per_side=4, households=(30, 40), seed=1)
    result = gridkit.partition(d.communities, d.buildings, d.streets, target=300, tolerance=0.1)
    atoms = result.atoms
    block = np.unique(atoms["block_id"].to_numpy(), return_inverse=True)[1]
    shared = gridkit.blocks.atom_adjacency(atoms)
    street = aligned_edge_lengths(atoms.geometry.to_numpy(), block, shared, d.streets.geometry.to_numpy())
    cap = 1.1 * atoms["households"].sum() / len(result.grids)
    ceiling = alignment_ceiling(block, atoms["households"].to_numpy(float), shared, street, cap)
    assert ceiling.blocks_cut >= 1
    assert 0 < ceiling.ceiling < 1
    assert ceiling.through_blocks_min_m > 0


def test_internal_path_counts_as_street():
    """A footway between two cells of one block makes their shared edge aligned."""
    cells = np.array([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)], dtype=object)
    shared = gridkit.blocks.atom_adjacency_matrix(cells)
    path = np.array([shapely.LineString([(10.5, -5), (10.5, 15)])], dtype=object)
    aligned = aligned_edge_lengths(cells, np.array([0, 0]), shared, path)
    assert aligned[0, 1] == pytest.approx(10.0, abs=1.0)
    far = np.array([shapely.LineString([(40, -5), (40, 15)])], dtype=object)
    assert aligned_edge_lengths(cells, np.array([0, 0]), shared, far)[0, 1] == 0.0
    # different blocks: on a street by construction
    assert aligned_edge_lengths(cells, np.array([0, 1]), shared, far)[0, 1] == pytest.approx(10.0)


def test_report_names_the_proven_limit(sample_result):
    report = sample_result.report
    assert "best_possible_deviation" in report.columns
    failing = report[report["status"] == "tolerance_not_reached"]
    for _, row in failing.iterrows():
        assert row["best_possible_deviation"] <= row["max_abs_deviation"] + 1e-9
        assert "best possible" in row["message"] or "optimal" in row["message"]
