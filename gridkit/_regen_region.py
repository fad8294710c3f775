"""Regions to redraw and how they are redrawn, for :mod:`gridkit.regenerate`.

Choosing regions: grids whose new weight lies outside the tolerance around the community's mean
(and further out than in the previous plan, so an unchanged plan is never touched) seed a region;
a region takes neighbouring grids, the one that brings it closest to a whole number of mean grids
first, until its weight is within half the tolerance of a whole number of grids. The number of
grids of the community follows; the mean is recomputed and the choice repeated until it is stable.

Redrawing a region: the union of its previous grids is cut into street blocks and building cells
(:func:`gridkit.blocks.build_atoms`), labelled by the previous grid of their buildings, and
balanced by local search from that labelling (few atoms move). Where that cannot reach the
tolerance, or the region must hold more or fewer grids, the region is partitioned afresh
(recursive bisection and refinement, :func:`gridkit.atom_partition.partition_atom_graph`) and then
balanced against the community's mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse import csgraph

from gridkit.atom_partition import INTERIOR_PENALTY, partition_atom_graph
from gridkit.blocks import Atoms, build_atoms, representative_points
from gridkit.engine import polish_labels


@dataclass
class Regions:
    """Regions of one community: lists of previous-grid positions and the grid count of each."""

    members: list[list[int]]
    counts: list[int]
    mean: float


def grid_adjacency(geoms: np.ndarray, *, snap_m: float = 0.05) -> sp.csr_matrix:
    """Shared boundary length (m) between polygons that touch along a line (metric CRS)."""
    n = len(geoms)
    if n < 2:
        return sp.csr_matrix((n, n))
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="dwithin", distance=snap_m)
    keep = a < b
    a, b = a[keep], b[keep]
    lines = shapely.boundary(geoms)
    length = shapely.length(shapely.intersection(lines[a], shapely.buffer(lines[b], snap_m)))
    ok = length > 4 * snap_m
    a, b, length = a[ok], b[ok], length[ok]
    return sp.csr_matrix((np.r_[length, length], (np.r_[a, b], np.r_[b, a])), shape=(n, n))


def _error(weight: float, mean: float) -> tuple[float, int]:
    count = max(1, round(weight / mean))
    return abs(weight / (count * mean) - 1), count


def choose_regions(weight: np.ndarray, old_dev: np.ndarray, normal: np.ndarray, adjacency: sp.csr_matrix, *,
                   tolerance: float, mean: float, rebuild: bool = False, force: np.ndarray | None = None) -> Regions:
    """Pick the previous grids to redraw (see the module docstring).

    Parameters
    ----------
    weight
        New weight per previous grid (normalised, one target = 1).
    old_dev
        Deviation of each previous grid in the previous plan.
    normal
        False for oversize grids (never redrawn, not in the mean).
    adjacency
        Shared boundary length between previous grids (m).
    tolerance
        Relative tolerance.
    mean
        Starting mean grid weight.
    rebuild
        Redraw the whole community.
    force
        Per previous grid, True where it must be redrawn whatever its balance (a new building
        reaches across its boundary).
    """
    total = float(weight[normal].sum())
    everything = [int(g) for g in np.flatnonzero(normal)]
    if mean <= 0 or total <= 0:  # nothing to balance (a community without households)
        return Regions([everything] if rebuild else [], [1] if rebuild else [], max(mean, 0.0))
    if rebuild:
        return Regions([everything], [max(1, round(total / mean))], mean)
    regions: list[set[int]] = []
    for _ in range(8):
        dev = weight / mean - 1
        taken = set().union(*regions) if regions else set()
        bad = normal & (np.abs(dev) > tolerance + 1e-12) & (np.abs(dev) > np.abs(old_dev) + 1e-9)
        if force is not None:
            bad |= force & normal
        seeds = [int(g) for g in np.flatnonzero(bad) if int(g) not in taken]
        regions = _grow(regions + [{g} for g in seeds], weight, normal, adjacency, tolerance=tolerance, mean=mean)
        counts = [_error(weight[list(r)].sum(), mean)[1] for r in regions]
        kept = len(everything) - sum(len(r) for r in regions)
        new_mean = total / max(1, kept + sum(counts))
        if not seeds and new_mean == mean:
            return Regions([sorted(r) for r in regions], counts, mean)
        mean = new_mean
        if any(len(r) == len(everything) for r in regions):
            break
    return Regions([everything], [max(1, round(total / mean))], mean)


def _grow(regions: list[set[int]], weight: np.ndarray, normal: np.ndarray, adjacency: sp.csr_matrix, *,
          tolerance: float, mean: float) -> list[set[int]]:
    """Add neighbours to each region until its weight is near a whole number of grids; merge on contact."""
    regions = [set(r) for r in regions]
    changed = True
    while changed:
        changed = False
        for i, region in enumerate(regions):
            if not region:
                continue
            err, _ = _error(weight[list(region)].sum(), mean)
            if err <= tolerance / 2 or region >= set(np.flatnonzero(normal).tolist()):
                continue
            best = _best_neighbour(region, weight, normal, adjacency, mean)
            if best is None:
                continue
            for j, other in enumerate(regions):
                if j != i and best in other:
                    region.update(other)
                    other.clear()
                    break
            region.add(best)
            changed = True
        regions = [r for r in regions if r]
    return regions


def _best_neighbour(region: set[int], weight: np.ndarray, normal: np.ndarray, adjacency: sp.csr_matrix,
                    mean: float) -> int | None:
    members = np.array(sorted(region))
    touching = np.asarray(adjacency[members].sum(axis=0)).ravel()
    candidates = [int(g) for g in np.flatnonzero(touching > 0) if int(g) not in region and normal[g]]
    if not candidates:
        return None
    base = float(weight[members].sum())
    return min(candidates, key=lambda g: (_error(base + float(weight[g]), mean)[0], -touching[g], g))


@dataclass
class RegionPlan:
    """A redrawn region: atoms (metric CRS), their grid label, and each building's atom."""

    atoms: gpd.GeoDataFrame
    labels: np.ndarray
    building_atom: np.ndarray
    warm: bool
    outside: int = 0
    weights: np.ndarray | None = None

    def off_ground(self, tolerance: float) -> shapely.Geometry:
        """The ground of the grids outside the tolerance (or not connected), as one geometry (metric CRS)."""
        if self.weights is None:
            return shapely.Polygon()
        k = int(self.labels.max()) + 1
        grid_weight = np.bincount(self.labels, weights=self.weights, minlength=k)
        size = np.bincount(self.labels, minlength=k)
        off = (np.abs(grid_weight - 1) > tolerance + 1e-12) & ~((size == 1) & (grid_weight > 1 + tolerance))
        return shapely.union_all(self.atoms.geometry.to_numpy()[off[self.labels]])


def redraw_region(  # noqa: PLR0913 - keyword-only options
        polygon: shapely.Geometry, buildings: gpd.GeoDataFrame, unit: np.ndarray, previous: np.ndarray,
                  old_geoms: np.ndarray, lines: np.ndarray, *, count: int, mean: float, tolerance: float,
                  seed: int, area_weight: float = 0.0, split_share: float = 0.25,
                  interior_penalty: float = INTERIOR_PENALTY) -> RegionPlan:
    """Partition ``polygon`` (metric CRS) into ``count`` grids of about ``mean`` weight each.

    Parameters
    ----------
    polygon
        The region: the union of the previous grids being redrawn (or a whole community).
    buildings
        The buildings inside it (metric CRS).
    unit
        Weight per building (one target = 1).
    previous
        Per building, the local number (0..) of its previous grid, -1 for none.
    old_geoms
        The previous grids of the region (metric CRS), in local-number order.
    lines
        Street centrelines (metric CRS).
    count, mean, tolerance
        Grids wanted, the community's mean grid weight, the relative tolerance.
    seed
        Seed for the local search.
    area_weight
        Weight per m² of ground (one target = 1), for balancing by area.
    split_share
        A street block heavier than ``split_share`` × target is split into building cells.
    interior_penalty
        How much dearer a metre of grid boundary through a block is than one along a street.
    """
    made = _atoms(polygon, buildings, unit, lines, area_weight, split_share)
    atoms, shared = made.atoms, made.shared
    weights = (np.bincount(made.building_atom, weights=unit, minlength=len(atoms))
               + area_weight * atoms["area_m2"].to_numpy(float)) / mean
    rng = np.random.default_rng(seed)

    def polish(labels: np.ndarray) -> np.ndarray:
        return polish_labels(atoms, shared, weights, labels, tolerance=tolerance, interior_penalty=interior_penalty,
                             rng=rng)

    start = _starting_labels(atoms, made.building_atom, previous, unit, old_geoms)
    warm = None
    if start is not None and int(start.max()) + 1 == count == len(old_geoms):
        warm = polish(start)
        if _key(warm, weights, shared, tolerance)[0] == 0:
            return RegionPlan(atoms, warm, made.building_atom, warm=True, outside=0, weights=weights)
    fresh = partition_atom_graph(atoms, shared, weights, count, tolerance=tolerance, seed=seed,
                                 interior_penalty=interior_penalty).labels
    fresh = polish(fresh)
    fresh_key = _key(fresh, weights, shared, tolerance)
    if warm is not None and (warm_key := _key(warm, weights, shared, tolerance)) <= fresh_key:
        return RegionPlan(atoms, warm, made.building_atom, warm=True, outside=warm_key[0], weights=weights)
    return RegionPlan(atoms, fresh, made.building_atom, warm=False, outside=fresh_key[0], weights=weights)


def _atoms(polygon: shapely.Geometry, buildings: gpd.GeoDataFrame, unit: np.ndarray, lines: np.ndarray,
           area_weight: float = 0.0, split_share: float = 0.25) -> Atoms:
    """Street blocks and building cells of ``polygon`` that tile it exactly (the region as one community)."""
    comm = gpd.GeoDataFrame({"community_id": ["region"]}, geometry=[polygon], crs=buildings.crs)
    return build_atoms(comm, buildings.reset_index(drop=True), lines, split_weight=unit,
                       split_above=np.array([split_share]), area_weight=np.array([area_weight]),
                       building_community=np.zeros(len(buildings), dtype=np.int64))


def _starting_labels(atoms: gpd.GeoDataFrame, building_atom: np.ndarray, previous: np.ndarray, unit: np.ndarray,
                     old_geoms: np.ndarray) -> np.ndarray | None:
    """Previous grid of each atom: that of most of its buildings' weight, else the one holding its point."""
    n, k = len(atoms), len(old_geoms)
    if k == 0:
        return None
    labels = np.full(n, -1, dtype=np.int64)
    known = previous >= 0
    if known.any():
        score = sp.csr_matrix((unit[known] + 1e-6, (building_atom[known], previous[known])), shape=(n, k)).toarray()
        has = score.sum(axis=1) > 0
        labels[has] = np.argmax(score[has], axis=1)
    rest = np.flatnonzero(labels < 0)
    if len(rest):
        points = representative_points(atoms.geometry.to_numpy()[rest])
        tree = shapely.STRtree(old_geoms)
        labels[rest] = tree.query_nearest(points, all_matches=False)[1]
    if len(np.unique(labels)) != k:
        return None
    return labels


def _key(labels: np.ndarray, weights: np.ndarray, shared: sp.csr_matrix, tolerance: float) -> tuple[int, float]:
    """(grids outside the tolerance or not connected, max |deviation| from the mean of 1)."""
    k = int(labels.max()) + 1
    grid_weight = np.bincount(labels, weights=weights, minlength=k)
    single = np.bincount(labels, minlength=k) == 1
    dev = np.abs(grid_weight - 1)
    outside = (dev > tolerance + 1e-12) & ~(single & (grid_weight > 1 + tolerance))
    broken = 0
    coo = shared.tocoo()
    for g in range(k):
        nodes = np.flatnonzero(labels == g)
        if len(nodes) > 1:
            local = np.full(len(labels), -1)
            local[nodes] = np.arange(len(nodes))
            keep = (local[coo.row] >= 0) & (local[coo.col] >= 0)
            sub = sp.csr_matrix((np.ones(keep.sum()), (local[coo.row[keep]], local[coo.col[keep]])),
                                shape=(len(nodes), len(nodes)))
            broken += int(csgraph.connected_components(sub, directed=False)[0] > 1)
    return int(outside.sum()) + broken, float(dev[~single].max()) if (~single).any() else 0.0
