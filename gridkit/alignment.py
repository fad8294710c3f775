"""Street alignment of atom edges (街巷定界) and the ceiling the blocks allow.

Two things, both on the atom graph of :mod:`gridkit.blocks` and both measured exactly as GUIDE §4
measures street alignment (a boundary metre counts as aligned when it lies within 5 m of a street
centreline of any class: footways, service roads and paths inside compounds included):

- :func:`aligned_edge_lengths`: per pair of neighbouring atoms, the length of their shared edge
  that lies on a street. Two atoms of different street blocks are separated by a street (that is
  how blocks are made); two cells of one block are separated by the gaps between buildings, and
  where an internal path or service road runs along such a gap, that part counts as a street too.
  The partition cuts cheaply along it.
- :func:`alignment_ceiling`: an upper bound on the share of a community's internal grid boundary
  that can lie on streets, for any plan made of these atoms that keeps every grid inside the
  tolerance. A block heavier than the upper bound must be cut through; the cheapest such cut is a
  lower bound on the boundary that has to run through the block (see :func:`block_cut_bound`).

All lengths are metres in the atoms' metric CRS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely

from gridkit.limits import quiet_highs

__all__ = [
    "STREET_WITHIN_M",
    "AlignmentCeiling",
    "aligned_edge_lengths",
    "alignment_ceiling",
    "block_cut_bound",
    "community_ceilings",
]

#: Distance (m) from a street centreline within which a grid boundary counts as "on the street".
STREET_WITHIN_M = 5.0
_STEP_M = 2.0


def _aligned_part(lines: np.ndarray, streets: np.ndarray, within_m: float) -> np.ndarray:
    """Length (m) of each of ``lines`` within ``within_m`` of any of ``streets`` (1 m steps)."""
    out = np.zeros(len(lines))
    if len(lines) == 0 or len(streets) == 0:
        return out
    pieces = shapely.segmentize(lines, _STEP_M)
    # consecutive coordinates of one part; points (where two cells touch at a corner) have no length
    parts, part_owner = shapely.get_parts(pieces, return_index=True)
    coords, part_of = shapely.get_coordinates(parts, return_index=True)
    same = part_of[1:] == part_of[:-1]
    start, end = coords[:-1][same], coords[1:][same]
    seg_owner = part_owner[part_of[:-1][same]]
    length = np.hypot(*(end - start).T)
    hit, _ = shapely.STRtree(streets).query(shapely.points((start + end) / 2), predicate="dwithin",
                                            distance=within_m)
    near = np.zeros(len(start), dtype=bool)
    near[hit] = True
    np.add.at(out, seg_owner[near], length[near])
    return out


def aligned_edge_lengths(atoms_geoms: np.ndarray, block_id: np.ndarray, shared: sp.csr_matrix,
                         streets: np.ndarray, *, within_m: float = STREET_WITHIN_M) -> sp.csr_matrix:
    """Length (m) of each shared atom edge that lies within ``within_m`` of a street centreline.

    Parameters
    ----------
    atoms_geoms
        Atom polygons (metric CRS), in matrix order.
    block_id
        Street block of each atom; edges between blocks lie on streets by construction.
    shared
        Symmetric CSR matrix of shared boundary length between atoms (m).
    streets
        Street centrelines of every class (metric CRS).
    within_m
        Distance that counts as "on the street" (GUIDE §4: 5 m).

    Returns
    -------
    scipy.sparse.csr_matrix
        Symmetric, same pattern as ``shared``, each value at most the shared length.
    """
    upper = sp.triu(shared, k=1).tocoo()
    row, col, length = upper.row, upper.col, upper.data.astype(float)
    aligned = np.where(block_id[row] != block_id[col], length, 0.0)
    inner = np.flatnonzero(block_id[row] == block_id[col])
    if len(inner) and len(streets):
        edges = shapely.intersection(shapely.boundary(atoms_geoms[row[inner]]),
                                     shapely.boundary(atoms_geoms[col[inner]]))
        aligned[inner] = np.minimum(_aligned_part(edges, streets, within_m), length[inner])
    n = shared.shape[0]
    return sp.csr_matrix((np.r_[aligned, aligned], (np.r_[row, col], np.r_[col, row])), shape=(n, n))


def block_cut_bound(row: np.ndarray, col: np.ndarray, cost: np.ndarray, weights: np.ndarray, cap: float, *,
                    time_limit: float = 2.0) -> tuple[float, bool]:
    """Lower bound on the through-block boundary of a block whose cells must go to parts ≤ ``cap``.

    However the block's cells are shared among grids (each part at most ``cap``, the upper
    bound), adding the parts one by one passes a union ``S`` of parts with
    ``|w(S) − W/2| ≤ cap/2``; the boundary between ``S`` and the rest is part of the plan's
    boundary inside the block. So the cheapest cut with ``W/2 − cap/2 ≤ w(S) ≤ W/2 + cap/2``
    is a lower bound; it is solved as a small MILP with HiGHS (the dual bound is kept when the
    time limit stops it, so the value stays a valid bound).

    Parameters
    ----------
    row, col, cost
        Edges (local cell numbers) and their non-street length (m).
    weights
        Cell weights.
    cap
        Largest weight a part of the block may hold.

    Returns
    -------
    bound, proven_optimal
        Bound in metres (0 when the block need not be cut) and whether HiGHS closed the gap.
    """
    import highspy  # noqa: PLC0415 - imported where the MILP is built

    total = float(weights.sum())
    n = len(weights)
    if total <= cap or n < 2:
        return 0.0, True
    lo, hi = total / 2 - cap / 2, total / 2 + cap / 2
    keep = cost > 1e-9
    row, col, cost = row[keep], col[keep], cost[keep]
    m = len(cost)
    if m == 0:
        return 0.0, True
    h = quiet_highs(time_limit)
    h.setOptionValue("mip_rel_gap", 1e-4)
    inf = highspy.kHighsInf
    # columns: x_i (cell in S, binary), y_e (edge cut, continuous in [0, 1])
    h.addVars(n + m, np.zeros(n + m), np.ones(n + m))
    h.changeColsCost(n + m, np.arange(n + m, dtype=np.int32), np.r_[np.zeros(n), cost])
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                            np.full(n, highspy.HighsVarType.kInteger))
    # y_e >= x_i - x_j and y_e >= x_j - x_i
    e = np.arange(m)
    starts = np.arange(0, 6 * m + 1, 3, dtype=np.int32)[: 2 * m]
    idx = np.stack([np.c_[row, col, n + e], np.c_[col, row, n + e]]).reshape(-1).astype(np.int32)
    val = np.tile(np.array([1.0, -1.0, -1.0]), 2 * m)
    h.addRows(2 * m, np.full(2 * m, -inf), np.zeros(2 * m), 6 * m, starts, idx, val)
    h.addRow(lo, hi, n, np.arange(n, dtype=np.int32), weights.astype(float))
    # symmetry: S and its complement give the same cut; put the heaviest cell in S
    first = int(np.argmax(weights))
    h.changeColBounds(first, 1.0, 1.0)
    h.run()
    info = h.getInfo()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return math.inf, True  # no balanced cut at all: the tolerance cannot hold
    bound = float(info.mip_dual_bound)
    if not np.isfinite(bound):
        bound = 0.0
    return max(0.0, bound), status == highspy.HighsModelStatus.kOptimal


@dataclass
class AlignmentCeiling:
    """The street-alignment ceiling of one community.

    Attributes
    ----------
    ceiling
        Upper bound on the share of internal grid boundary on streets (1.0 when no block must be cut).
    through_blocks_min_m
        Lower bound on the grid boundary that must run through blocks (m).
    street_max_m
        Street length available as grid boundary: the aligned length of all atom edges (m).
    blocks_cut
        Number of blocks that must be cut.
    proven
        True when every block's bound was solved to optimality (else HiGHS's dual bound was used).
    """

    ceiling: float
    through_blocks_min_m: float
    street_max_m: float
    blocks_cut: int
    proven: bool


def alignment_ceiling(block_id: np.ndarray, weights: np.ndarray, shared: sp.csr_matrix,
                      street: sp.csr_matrix, cap: float, *, time_limit: float = 2.0) -> AlignmentCeiling:
    """Upper bound on street alignment for plans of these atoms with every grid at most ``cap``.

    Parameters
    ----------
    block_id
        Street block of each atom (one community).
    weights
        Balancing weight of each atom.
    shared, street
        Symmetric CSR matrices: shared boundary length and its street-aligned part (m).
    cap
        Upper bound of a grid (``(1 + tolerance) × mean``). An atom heavier than ``cap`` is a grid
        of its own and caps its block's parts at its own weight.
    time_limit
        Seconds per block for the MILP.

    Returns
    -------
    AlignmentCeiling
        ``ceiling = S / (S + L)``: with ``S`` the street length available and ``L`` the boundary
        that must run through blocks, no plan can do better (aligned length ≤ S, interior ≥ L).
    """
    upper_shared = sp.triu(shared, k=1).tocoo()
    row, col = upper_shared.row, upper_shared.col
    aligned = np.asarray(street.tocsr()[row, col]).ravel().astype(float) if len(row) else np.zeros(0)
    interior = np.maximum(upper_shared.data - aligned, 0.0)
    street_max = float(aligned.sum())
    block_weight = np.bincount(block_id, weights=weights)
    must = np.flatnonzero(block_weight > cap + 1e-12)
    total_min, proven, cut = 0.0, True, 0
    same = block_id[row] == block_id[col]
    for b in must.tolist():
        cells = np.flatnonzero(block_id == b)
        if len(cells) < 2:
            continue  # one indivisible atom: an oversize grid, not a cut
        local = np.full(len(block_id), -1, dtype=np.int64)
        local[cells] = np.arange(len(cells))
        mine = same & (block_id[row] == b)
        part_cap = max(cap, float(weights[cells].max()))
        bound, optimal = block_cut_bound(local[row[mine]], local[col[mine]], interior[mine], weights[cells],
                                         part_cap, time_limit=time_limit)
        cut += 1
        proven &= optimal
        if np.isfinite(bound):
            total_min += bound
    ceiling = street_max / (street_max + total_min) if street_max + total_min > 0 else 1.0
    return AlignmentCeiling(float(ceiling), float(total_min), street_max, cut, bool(proven))


def community_ceilings(atoms: gpd.GeoDataFrame, streets: np.ndarray, caps: dict[object, float], *,
                       weight_column: str = "households", time_limit: float = 1.0) -> dict[object, AlignmentCeiling]:
    """The alignment ceiling of every community of ``atoms`` (metric CRS, ``block_id``).

    Parameters
    ----------
    atoms
        Atoms with ``community_id``, ``block_id`` and ``weight_column`` (as in
        :attr:`gridkit.partition.PartitionResult.atoms`), metric CRS.
    streets
        Street centrelines in that CRS, every class.
    caps
        Per community, the largest weight a grid may hold (``(1 + tolerance) × mean``, in the
        unit of ``weight_column``).
    """
    from gridkit.blocks import atom_adjacency  # noqa: PLC0415 - blocks builds on this module

    shared = atom_adjacency(atoms)
    block = atoms["block_id"].to_numpy()
    street = aligned_edge_lengths(atoms.geometry.to_numpy(), block, shared, streets)
    weights = atoms[weight_column].to_numpy(float)
    community = atoms["community_id"].to_numpy()
    out = {}
    for cid, cap in caps.items():
        idx = np.flatnonzero(community == cid)
        if len(idx) == 0 or not np.isfinite(cap):
            continue
        local = np.unique(block[idx], return_inverse=True)[1]
        out[cid] = alignment_ceiling(local, weights[idx], shared[idx][:, idx], street[idx][:, idx], cap,
                                     time_limit=time_limit)
    return out
