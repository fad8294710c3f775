"""Street-bounded atoms (街巷定界): the pieces grids are made of.

Each community is cut by its streets into street blocks: the noded street centrelines inside the
community, together with the community boundary, are polygonized. A block that holds too much to be
one piece of a grid (more than ``split_above``, by default half the target) is tessellated into
building cells: a Voronoi tessellation of points along each building's outline, clipped to the
block, so that cell edges run through the gaps between buildings and never through a building.
Every building belongs to exactly one atom, chosen by its representative point; a building is never
split. All geometry here is in a local metric CRS (metres).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely

from gridkit.alignment import aligned_edge_lengths
from gridkit.errors import InputDataError
from gridkit.io import source_name
from gridkit.network import node_lines
from gridkit.spatial import polygon_holding, representative_points

__all__ = [
    "Atoms",
    "atom_adjacency",
    "build_atoms",
    "building_cells",
    "community_of_buildings",
    "face_owners",
    "representative_points",
    "street_blocks",
]

_SEED_SPACING_M = 6.0
_THREADS = 2
#: Atoms sharing less boundary than this (m) are not neighbours: two blocks diagonal across a
#: crossing meet at a point, or along a rounding-error edge where the streets do not cross exactly.
MIN_SHARED_M = 0.5
_SHRINK_M = 0.5
_GRID_M = 1e-3  # snap-rounding grid (m) for the rare Voronoi unions GEOS cannot node exactly


@dataclass
class Atoms:
    """Atoms of a set of communities.

    Attributes
    ----------
    atoms
        GeoDataFrame in the metric CRS, one row per atom in graph order: ``atom_id`` (0..n-1),
        ``community_id``, ``block_id``, ``kind`` ('block' or 'cell'), ``households``,
        ``population``, ``n_buildings``, ``area_m2``.
    building_atom
        Atom index of every building (positional, same order as the buildings given).
    building_community
        Community row of every building (positional; -1 where it lies outside every community
        and ``outside='report'`` was chosen).
    shared
        Symmetric CSR matrix of shared boundary length (m) between atoms of one community.
    street
        Same pattern: the part of each shared edge within 5 m of a street centreline of any class
        (:func:`gridkit.alignment.aligned_edge_lengths`); None where no streets were given.
    """

    atoms: gpd.GeoDataFrame
    building_atom: np.ndarray
    building_community: np.ndarray
    shared: sp.csr_matrix
    street: sp.csr_matrix | None = None


def community_of_buildings(
    communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, *, outside: str = "error"
) -> np.ndarray:
    """Return the community row holding each building's representative point.

    Parameters
    ----------
    communities, buildings
        Validated layers in the same (metric) CRS.
    outside
        ``'error'`` (default): a building outside every community raises an error naming it.
        ``'report'``: it gets -1 and the caller reports it.
    """
    points = representative_points(buildings.geometry.to_numpy())
    # the first (lowest-row) community wins where a point lies exactly on a shared boundary
    result = polygon_holding(points, communities.geometry.to_numpy())
    missing = np.flatnonzero(result < 0)
    if len(missing) and outside == "error":
        row = int(missing[0])
        raise InputDataError(
            f"building lies outside every community ({len(missing)} buildings in all; "
            "use outside='report' to leave them out with a report)",
            source=source_name(buildings), row=row, feature=buildings["building_id"].iloc[row],
            column="geometry",
        )
    return result


def street_blocks(community: shapely.Geometry, lines: np.ndarray) -> np.ndarray:
    """Polygonize ``lines`` inside ``community`` together with its boundary into street blocks.

    Parameters
    ----------
    community
        Community polygon (metric CRS).
    lines
        Street centrelines (metric CRS), noded or not, possibly reaching outside the community.

    Returns
    -------
    numpy.ndarray
        Polygons tiling the community.
    """
    # clip to the community's envelope plus a margin, not to the community itself: the crossing of a
    # street with the boundary must come from noding both together, or a rounding error leaves the
    # street end a hair short of the ring, a dangle that polygonize drops (two blocks become one)
    minx, miny, maxx, maxy = community.bounds
    near = shapely.clip_by_rect(lines, minx - 10, miny - 10, maxx + 10, maxy + 10) if len(lines) else lines
    parts = shapely.get_parts(near) if len(near) else np.empty(0, dtype=object)
    parts = parts[np.isin(shapely.get_type_id(parts), [1, 2])] if len(parts) else parts
    ring_parts = shapely.get_parts(shapely.boundary(community))
    noded = node_lines(np.concatenate([parts, ring_parts]))
    faces = shapely.get_parts(shapely.polygonize(noded))
    if len(faces) == 0:
        return np.array([community], dtype=object)
    inside_mask = shapely.contains_properly(community, shapely.point_on_surface(faces))
    inside_mask |= shapely.within(shapely.point_on_surface(faces), community)
    return _merge_slivers(faces[inside_mask & (shapely.area(faces) > 0)])


def _merge_slivers(faces: np.ndarray, *, min_area_m2: float = 1.0, min_width_m: float = 0.1) -> np.ndarray:
    """Join sliver faces to the neighbour they share most boundary with.

    Slivers come from near-duplicate lines (a street drawn along the community boundary, a way
    mapped twice, coordinates reprojected from lon/lat): faces under ``min_area_m2`` or thinner
    than ``min_width_m`` (twice the area over the perimeter). A sliver touching no other face
    along a line is dropped (its area is a rounding error); a merge never makes a face multipart.
    """
    area, perimeter = shapely.area(faces), shapely.length(faces)
    small = (area < min_area_m2) | (2 * area < min_width_m * perimeter)
    if not small.any() or small.all():
        return faces
    big = np.flatnonzero(~small)
    tree = shapely.STRtree(faces[big])
    out = faces.copy()
    for i in np.flatnonzero(small):
        near = big[tree.query(faces[i], predicate="intersects")]
        if len(near) == 0:
            continue
        shared = shapely.length(shapely.intersection(shapely.boundary(out[near]), shapely.boundary(faces[i])))
        j = near[int(np.argmax(shared))]
        if shared.max() > 0:
            parts = shapely.get_parts(shapely.union(out[j], faces[i]))
            out[j] = parts[np.argmax(shapely.area(parts))]
    return out[~small]


def _seed_points(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points along each building outline (shrunk slightly so touching buildings separate)."""
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    shrunk = shapely.buffer(geoms, -_SHRINK_M, join_style="mitre")
    use = np.where(is_point | shapely.is_empty(shrunk), geoms, shrunk)
    outlines = np.where(is_point, use, shapely.boundary(use))
    outlines = shapely.segmentize(outlines, _SEED_SPACING_M)
    coords, owner = shapely.get_coordinates(outlines, return_index=True)
    _, first = np.unique(np.round(coords, 2), axis=0, return_index=True)
    first.sort()
    return coords[first], owner[first]


def building_cells(block: shapely.Geometry, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tessellate ``block`` into cells around the buildings ``geoms``.

    Returns
    -------
    cells
        Polygons tiling ``block``; each holds at least one building's representative point.
    building_cell
        Cell index of each building in ``geoms``.
    """
    coords, owner = _seed_points(geoms)
    # footprints that overlap (it happens in real data) share one cell, so each lies whole in its grid
    group = overlap_groups(geoms)
    owner = group[owner]
    # a deterministic millimetre jitter breaks the cocircular seeds of rectangular outlines
    coords = coords + np.random.default_rng(len(coords)).uniform(-1e-3, 1e-3, coords.shape)
    if len(geoms) < 2 or len(np.unique(owner)) < 2:
        return np.array([block], dtype=object), np.zeros(len(geoms), dtype=np.int64)
    regions = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(coords), extend_to=block, ordered=True)
    )
    # shapely.is_valid wraps GEOS in warnings.catch_warnings, which is not thread-safe: run on the
    # tessellation threads it can leave the caller's warnings silenced; the bare ufunc cannot
    invalid = ~shapely.lib.is_valid(regions)
    if invalid.any():  # cocircular seeds can give spikes a rounding error wide
        regions[invalid] = [_polygonal(shapely.make_valid(r)) for r in regions[invalid]]
    owners = np.unique(owner)
    merged = np.asarray([_union_coverage(regions[owner == b]) for b in owners], dtype=object)
    footprints = np.asarray([geoms[o] if (group == o).sum() == 1 else shapely.union_all(geoms[group == o])
                             for o in owners], dtype=object)
    merged = _claim_footprints(merged, footprints)
    parts = shapely.get_parts(shapely.intersection(merged, block))
    parts = parts[np.isin(shapely.get_type_id(parts), [3]) & (shapely.area(parts) > 0)]
    reps = representative_points(geoms)
    building_part = polygon_holding(reps, parts)
    lost = building_part < 0
    if lost.any():
        building_part[lost] = shapely.STRtree(parts).query_nearest(reps[lost], all_matches=False)[1]
    kept = np.unique(building_part)
    return _absorb_orphans(parts, kept, building_part)


def overlap_groups(geoms: np.ndarray) -> np.ndarray:
    """For each building, the lowest position among the footprints it overlaps (by area, transitively).

    Footprints that only touch stay apart; a point building is its own group.
    """
    group = np.arange(len(geoms))
    if len(geoms) < 2:
        return group
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left):
        shared = shapely.area(shapely.intersection(geoms[left], geoms[right])) > 0
        left, right = left[shared], right[shared]
    if not len(left):
        return group
    graph = sp.coo_matrix((np.ones(len(left)), (left, right)), shape=(len(geoms), len(geoms)))
    _, label = sp.csgraph.connected_components(graph, directed=False)
    first = np.full(label.max() + 1, len(geoms))
    np.minimum.at(first, label, np.arange(len(geoms)))
    return first[label]


def _claim_footprints(cells: np.ndarray, footprints: np.ndarray) -> np.ndarray:
    """Give every building its whole footprint: cells cede all footprints, then each takes its own.

    Voronoi regions of outline points follow the gaps between buildings but can clip a corner of a
    neighbour where points are sparse; this makes sure no cell boundary crosses a building. Where
    footprints overlap (it happens in real data) the lower-numbered building keeps the overlap.
    """
    polygonal = np.isin(shapely.get_type_id(footprints), [3, 6])
    if not polygonal.any():
        return cells
    own = footprints[polygonal].copy()
    tree = shapely.STRtree(own)
    left, right = tree.query(own, predicate="overlaps")
    for i in np.unique(right[left < right]):
        own[i] = shapely.difference(own[i], shapely.union_all(own[left[(right == i) & (left < i)]]))
    # cells cede the foreign footprints that reach into them (few: Voronoi edges run between buildings)
    which = np.flatnonzero(polygonal)
    out = cells.copy()
    tree = shapely.STRtree(own)
    for predicate in ("overlaps", "contains"):
        cell_idx, foot_idx = tree.query(out, predicate=predicate)
        foreign = which[foot_idx] != cell_idx
        for i in np.unique(cell_idx[foreign]):
            out[i] = shapely.difference(out[i], shapely.union_all(own[foot_idx[foreign & (cell_idx == i)]]))
    missing = ~shapely.covers(out[which], own)
    out[which[missing]] = shapely.union(out[which[missing]], own[missing])
    return out


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    parts = shapely.get_parts(geom)
    return shapely.union_all(parts[shapely.get_type_id(parts) == shapely.GeometryType.POLYGON])


def _union_coverage(polygons: np.ndarray) -> shapely.Geometry:
    """Union of polygons forming an exact coverage (Voronoi regions), robust fallback otherwise."""
    if len(polygons) == 1:
        return polygons[0]
    try:
        return shapely.coverage_union_all(polygons)
    except shapely.errors.GEOSException:
        return shapely.union_all(polygons, grid_size=_GRID_M)


def _absorb_orphans(parts: np.ndarray, kept: np.ndarray, building_part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge the pieces holding no building into the kept neighbour sharing the longest edge."""
    owner = np.full(len(parts), -1, dtype=np.int64)
    owner[kept] = np.arange(len(kept))
    orphans = np.flatnonzero(owner < 0)
    if len(orphans):
        shared = atom_adjacency_matrix(parts)
        for _ in range(len(orphans)):
            pending = orphans[owner[orphans] < 0]
            if len(pending) == 0:
                break
            progressed = False
            for orphan in pending:
                row = shared.getrow(orphan)
                nbrs, lengths = row.indices, row.data
                mask = owner[nbrs] >= 0
                if mask.any():
                    owner[orphan] = owner[nbrs[mask][np.argmax(lengths[mask])]]
                    progressed = True
            if not progressed:
                break
        pending = orphans[owner[orphans] < 0]
        if len(pending):
            tree = shapely.STRtree(parts[kept])
            owner[pending] = tree.query_nearest(parts[pending], all_matches=False)[1]
    cells = np.array(
        [shapely.union_all(parts[owner == i]) if (owner == i).sum() > 1 else parts[kept[i]]
         for i in range(len(kept))],
        dtype=object,
    )
    return cells, owner[building_part]


def consistent_coverage(
    polygons: np.ndarray, *, sliver_m2: float = 1e-3
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rebuild polygons from their common noded line work, and measure their shared edges.

    Cells clipped from different blocks meet along a street with vertices that differ by rounding
    errors; unions of such polygons can keep sliver gaps of 1e-11 m and split a grid in two. Noding
    all outlines together and polygonizing gives faces with exactly shared edges; each face goes
    back to the polygon it lies in: the one holding its interior point where exactly one polygon holds
    it clear of every boundary, else the polygon it overlaps most (a point can fall in a hairline
    overlap of two neighbours, or on a boundary within rounding). A polygon whose faces meet only at
    a point keeps its largest piece where the others are slivers under ``sliver_m2``. No area is
    lost: a piece of a polygon that no face brought back (polygonize drops a ring it cannot close) is
    given back to it. Each noded edge separates at most two faces, which gives the adjacency without
    any overlay.

    Returns
    -------
    polygons, left, right, length
        The rebuilt polygons, and the pairs of polygons (``left < right``) sharing ``length`` metres.
    """
    empty = np.empty(0, dtype=np.int64)
    if len(polygons) <= 1:
        return polygons, empty, empty, np.empty(0)
    # the union nodes the outlines (one part per segment); merging at degree-2 nodes leaves one
    # line per edge between junctions, fewer and faster to polygonize and to pair
    edges = shapely.get_parts(shapely.line_merge(shapely.union_all(shapely.boundary(polygons))))
    faces = shapely.get_parts(shapely.polygonize(edges))
    owner = face_owners(polygons, faces)
    face_of_edge, edge_of_face = _incidence(edges, faces)
    _adopt_slivers(faces, owner, edges, face_of_edge, edge_of_face)
    keep = owner >= 0  # what is left in no polygon is a hole of the input (a courtyard outside it)
    out = _group_faces(polygons, faces[keep], owner[keep], sliver_m2=sliver_m2)
    left, right, length = _edge_pairs(edges, owner, face_of_edge, edge_of_face)
    faceless = np.setdiff1d(np.arange(len(polygons)), owner[keep])
    short = _give_back(polygons, out, np.isin(np.arange(len(polygons)), owner[keep]), sliver_m2=sliver_m2)
    remeasure = np.union1d(faceless, short)
    if len(remeasure):  # polygonize dropped a ring (rare): measure those polygons by overlay
        drop = np.isin(left, short) | np.isin(right, short)
        left, right, length = _add_overlay_pairs(out, remeasure, left[~drop], right[~drop], length[~drop])
    return out, left, right, length


#: A face's interior point closer than this (m) to the boundary of the polygon holding it is not
#: trusted: the face is given to the polygon it overlaps most.
_POINT_CLEARANCE_M = 1e-6


def face_owners(polygons: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Index of the polygon each face lies in (-1 for none), robust to hairline overlaps.

    A face of the noded arrangement lies inside or outside each polygon as a whole, so its interior
    point decides, where exactly one polygon holds that point at least :data:`_POINT_CLEARANCE_M`
    from its boundary. Every other face (the point in two polygons, in none, or on a boundary within
    rounding) goes to the polygon covering most of its area, or to none if no polygon covers half of
    it. Where two polygons cover a face alike (a genuine overlap: a building cell that claimed its
    footprint across a street reaches into the next block) the smaller polygon takes it, then the
    lower index.
    """
    owner = np.full(len(faces), -1, dtype=np.int64)
    if len(faces) == 0:
        return owner
    tree = shapely.STRtree(polygons)
    points = shapely.point_on_surface(faces)
    face_idx, poly_idx = tree.query(points, predicate="within")
    hits = np.bincount(face_idx, minlength=len(faces))
    single = hits[face_idx] == 1
    owner[face_idx[single]] = poly_idx[single]
    sure = np.zeros(len(faces), dtype=bool)
    one = np.flatnonzero(owner >= 0)
    sure[one] = shapely.distance(points[one], shapely.boundary(polygons[owner[one]])) >= _POINT_CLEARANCE_M
    doubt = np.flatnonzero(~sure)
    if len(doubt) == 0:
        return owner
    owner[doubt] = -1
    f, p = tree.query(faces[doubt], predicate="intersects")
    if len(f) == 0:
        return owner
    share = _overlap_area(faces[doubt][f], polygons[p]) / np.maximum(shapely.area(faces[doubt][f]), 1e-300)
    # per face: largest share first (to a part in a million), then the smaller polygon, then the lower index
    order = np.lexsort((p, shapely.area(polygons[p]), -np.round(share, 6), f))
    f, p, share = f[order], p[order], share[order]
    first = np.r_[True, f[1:] != f[:-1]]
    best = first & (share >= 0.5)
    owner[doubt[f[best]]] = p[best]
    return owner


def _overlap_area(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Area of ``a & b`` pairwise; snap-rounded on the millimetre grid where GEOS cannot node exactly."""
    try:
        return shapely.area(shapely.intersection(a, b))
    except shapely.errors.GEOSException:
        return np.array([shapely.area(shapely.intersection(x, y, grid_size=_GRID_M))
                         for x, y in zip(a, b, strict=True)])


def _give_back(polygons: np.ndarray, out: np.ndarray, has_faces: np.ndarray, *, sliver_m2: float) -> np.ndarray:
    """Give each rebuilt polygon back the pieces of its input that no rebuilt polygon covers.

    Returns the indices of the polygons changed (their shared edges must be measured again).
    """
    lost = shapely.area(polygons) - shapely.area(out)
    suspect = np.flatnonzero(has_faces & (lost > sliver_m2))
    changed = []
    if len(suspect) == 0:
        return np.empty(0, dtype=np.int64)
    tree = shapely.STRtree(out)
    for i in suspect:
        near = tree.query(polygons[i], predicate="intersects")
        try:
            missing = shapely.difference(polygons[i], shapely.union_all(out[near]))
        except shapely.errors.GEOSException:
            missing = shapely.difference(polygons[i], shapely.union_all(out[near], grid_size=_GRID_M),
                                         grid_size=_GRID_M)
        parts = shapely.get_parts(missing)
        parts = parts[shapely.area(parts) > sliver_m2] if len(parts) else parts
        if len(parts) == 0:
            continue
        merged = shapely.union_all(np.r_[np.array([out[i]], dtype=object), parts])
        out[i] = merged
        changed.append(int(i))
    return np.asarray(changed, dtype=np.int64)


def _add_overlay_pairs(polygons: np.ndarray, subset: np.ndarray, left: np.ndarray, right: np.ndarray,
                       length: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add the shared boundary lengths of ``subset`` with every polygon, measured by intersection."""
    here, there = shapely.STRtree(polygons).query(polygons[subset], predicate="intersects")
    here = subset[here]
    keep = here != there
    here, there = here[keep], there[keep]
    shared = shapely.length(shapely.intersection(shapely.boundary(polygons[here]), shapely.boundary(polygons[there])))
    keep = shared >= MIN_SHARED_M
    a, b = np.minimum(here, there)[keep], np.maximum(here, there)[keep]
    pairs = np.unique(np.stack([np.r_[left, a], np.r_[right, b]], axis=1), axis=0, return_index=True)
    values = np.r_[length, shared[keep]][pairs[1]]
    return pairs[0][:, 0], pairs[0][:, 1], values


def _group_faces(polygons: np.ndarray, faces: np.ndarray, owner: np.ndarray, *, sliver_m2: float) -> np.ndarray:
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(len(polygons) + 1))
    out = polygons.copy()
    for i in np.flatnonzero(np.diff(bounds) > 0):
        group = faces[order[bounds[i]:bounds[i + 1]]]
        merged = group[0] if len(group) == 1 else shapely.coverage_union_all(group)
        parts = shapely.get_parts(merged)
        if len(parts) > 1:
            area = shapely.area(parts)
            parts = parts[(area >= sliver_m2) | (area == area.max())]
            merged = parts[0] if len(parts) == 1 else shapely.MultiPolygon(list(parts))
        out[i] = merged
    return out


def _incidence(edges: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(face, edge) pairs: a face's ring is made of the very edges it came from, so "covers" is exact."""
    face_idx, edge_idx = shapely.STRtree(edges).query(shapely.boundary(faces), predicate="covers")
    return face_idx, edge_idx


def _adopt_slivers(faces: np.ndarray, owner: np.ndarray, edges: np.ndarray, face_idx: np.ndarray,
                   edge_idx: np.ndarray, *, max_width_m: float = 0.1, max_area_m2: float = 1.0) -> None:
    """Give each sliver face in no polygon to the owner of the face it shares most edge length with.

    A hairline gap between two blocks (their street edges a rounding error apart) has no area to
    speak of but separates the blocks: dropped, it would leave them without a common edge.
    """
    area, perimeter = shapely.area(faces), shapely.length(faces)
    sliver = (owner < 0) & ((area < max_area_m2) | (2 * area < max_width_m * perimeter))
    if not sliver.any():
        return
    length = shapely.length(edges)
    for _ in range(8):  # slivers next to slivers are adopted in later rounds
        pending = np.flatnonzero(sliver & (owner < 0))
        if len(pending) == 0:
            return
        order = np.argsort(edge_idx, kind="stable")
        by_edge = np.split(face_idx[order], np.flatnonzero(np.diff(edge_idx[order])) + 1)
        edge_ids = np.unique(edge_idx[order])
        best: dict[int, dict[int, float]] = {}
        for edge, sides in zip(edge_ids.tolist(), by_edge, strict=True):
            if len(sides) != 2:
                continue
            for me, other in ((sides[0], sides[1]), (sides[1], sides[0])):
                if owner[me] < 0 and sliver[me] and owner[other] >= 0:
                    votes = best.setdefault(int(me), {})
                    votes[int(owner[other])] = votes.get(int(owner[other]), 0.0) + float(length[edge])
        if not best:
            return
        for face, votes in best.items():
            owner[face] = max(votes, key=votes.__getitem__)


def _edge_pairs(edges: np.ndarray, owner: np.ndarray, face_idx: np.ndarray,
                edge_idx: np.ndarray) -> tuple[np.ndarray, ...]:
    """Pairs of owners on the two sides of each noded edge, with the summed edge length."""
    sides = owner[face_idx]
    order = np.lexsort((sides, edge_idx))
    edge_idx, sides = edge_idx[order], sides[order]
    first = np.r_[True, edge_idx[1:] != edge_idx[:-1]]
    start = np.flatnonzero(first)
    count = np.diff(np.r_[start, len(edge_idx)])
    two = count == 2  # an edge with a face on each side
    a, b = sides[start[two]], sides[start[two] + 1]
    between = (a != b) & (a >= 0) & (b >= 0)
    left, right = a[between], b[between]
    length = shapely.length(edges[edge_idx[start[two][between]]])
    pair = np.stack([left, right], axis=1)
    unique, inverse = np.unique(pair, axis=0, return_inverse=True)
    total = np.bincount(inverse.ravel(), weights=length, minlength=len(unique))
    keep = total >= MIN_SHARED_M
    return unique[keep, 0], unique[keep, 1], total[keep]


def atom_adjacency_matrix(geoms: np.ndarray) -> sp.csr_matrix:
    """Symmetric sparse matrix of shared boundary length (m) between polygons (rook adjacency)."""
    n = len(geoms)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    boundaries = shapely.boundary(geoms)
    length = shapely.length(shapely.intersection(boundaries[left], boundaries[right]))
    touching = length >= MIN_SHARED_M
    left, right, length = left[touching], right[touching], length[touching]
    matrix = sp.coo_matrix(
        (np.concatenate([length, length]), (np.concatenate([left, right]), np.concatenate([right, left]))),
        shape=(n, n),
    )
    return matrix.tocsr()


def atom_adjacency(atoms: gpd.GeoDataFrame) -> sp.csr_matrix:
    """Shared boundary length (m) between atoms of the same community, as a symmetric CSR matrix.

    Parameters
    ----------
    atoms
        Atoms in a metric CRS with a ``community_id`` column; positional order is matrix order.
    """
    matrix = atom_adjacency_matrix(atoms.geometry.to_numpy()).tocoo()
    community = atoms["community_id"].to_numpy()
    same = community[matrix.row] == community[matrix.col]
    return sp.csr_matrix((matrix.data[same], (matrix.row[same], matrix.col[same])), shape=matrix.shape)


def build_atoms(
    communities: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    lines: np.ndarray,
    *,
    split_weight: np.ndarray,
    split_above: np.ndarray,
    area_weight: np.ndarray | None = None,
    building_community: np.ndarray | None = None,
    outside: str = "error",
) -> Atoms:
    """Cut every community into street blocks and split heavy blocks into building cells.

    Parameters
    ----------
    communities, buildings
        Validated layers in one metric CRS.
    lines
        Street centrelines in that CRS.
    split_weight
        Per building, the measure that decides splitting (households, population, …).
    split_above
        Per community row, the block weight above which a block is split into building cells.
    area_weight
        Per community row, weight per m² of block area added to the block weight (for balancing by
        area); default 0.
    building_community
        Community row of each building if already known (see :func:`community_of_buildings`).
    outside
        What to do with buildings outside every community (see :func:`community_of_buildings`).
    """
    if building_community is None:
        building_community = community_of_buildings(communities, buildings, outside=outside)
    if area_weight is None:
        area_weight = np.zeros(len(communities))
    geoms = buildings.geometry.to_numpy()
    line_tree = shapely.STRtree(lines) if len(lines) else None
    atom_geoms: list[np.ndarray] = []
    atom_community: list[np.ndarray] = []
    atom_block: list[np.ndarray] = []
    building_atom = np.full(len(buildings), -1, dtype=np.int64)
    next_atom, next_block = 0, 0
    pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for c, community in enumerate(communities.geometry.to_numpy()):
        first = len(atom_geoms)
        near = lines[np.sort(line_tree.query(community))] if line_tree is not None else np.empty(0, dtype=object)
        blocks = street_blocks(community, near)
        members = np.flatnonzero(building_community == c)
        block_of = _block_of_buildings(blocks, geoms[members])
        in_blocks = [members[block_of == b] for b in range(len(blocks))]
        heavy = [len(ids) > 1 and split_weight[ids].sum() + area_weight[c] * block.area > split_above[c]
                 for block, ids in zip(blocks, in_blocks, strict=True)]
        # GEOS releases the GIL: tessellating blocks on two threads uses both cores
        with ThreadPoolExecutor(max_workers=_THREADS) as pool:
            tessellated = list(pool.map(building_cells, [blocks[b] for b in range(len(blocks)) if heavy[b]],
                                        [geoms[in_blocks[b]] for b in range(len(blocks)) if heavy[b]]))
        cuts = iter(tessellated)
        for b, block in enumerate(blocks):
            in_block = in_blocks[b]
            if heavy[b]:
                cells, cell_of = next(cuts)
            else:
                cells, cell_of = np.array([block], dtype=object), np.zeros(len(in_block), dtype=np.int64)
            building_atom[in_block] = next_atom + cell_of
            atom_geoms.append(cells)
            atom_community.append(np.full(len(cells), c))
            atom_block.append(np.full(len(cells), next_block))
            next_atom += len(cells)
            next_block += 1
        if len(atom_geoms) > first:
            made, left, right, length = consistent_coverage(np.concatenate(atom_geoms[first:]))
            offset = next_atom - len(made)
            atom_geoms[first:] = [made]
            pairs.append((left + offset, right + offset, length))
    block = np.concatenate(atom_block)
    cells_per_block = np.bincount(block)
    atoms = gpd.GeoDataFrame({
        "atom_id": np.arange(len(block)),
        "community_id": communities["community_id"].to_numpy()[np.concatenate(atom_community)],
        "block_id": block,
        "kind": np.where(cells_per_block[block] > 1, "cell", "block"),
    }, geometry=np.concatenate(atom_geoms), crs=communities.crs)
    placed = building_atom >= 0
    for col in ("households", "population"):
        atoms[col] = np.bincount(building_atom[placed], weights=buildings[col].to_numpy(float)[placed],
                                 minlength=len(atoms)).astype(np.int64)
    atoms["n_buildings"] = np.bincount(building_atom[placed], minlength=len(atoms))
    atoms["area_m2"] = atoms.geometry.area
    left, right, length = (np.concatenate(x) for x in zip(*pairs, strict=True)) if pairs else (
        np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0))
    shared = sp.csr_matrix((np.r_[length, length], (np.r_[left, right], np.r_[right, left])),
                           shape=(len(atoms), len(atoms)))
    street = aligned_edge_lengths(atoms.geometry.to_numpy(), block, shared, lines) if len(lines) else None
    return Atoms(atoms=atoms, building_atom=building_atom, building_community=building_community, shared=shared,
                 street=street)


def _block_of_buildings(blocks: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """Block index holding each building's representative point (nearest block if on no block)."""
    result = np.full(len(geoms), -1, dtype=np.int64)
    if len(geoms) == 0:
        return result
    reps = representative_points(geoms)
    result = polygon_holding(reps, blocks)
    lost = result < 0
    if lost.any():
        result[lost] = shapely.STRtree(blocks).query_nearest(reps[lost], all_matches=False)[1]
    return result
