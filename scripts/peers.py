"""Peer partitioners run on the same atoms as gridkit, for ``scripts/bench_partition.py``.

Every atom-based peer has the signature::

    peer(atoms, shared, weights, k, *, tolerance, seed) -> np.ndarray  # int label per atom

* ``atoms``: GeoDataFrame in a metric CRS, one row per atom; positional order = matrix order.
* ``shared``: symmetric ``scipy.sparse`` matrix of shared boundary length (m) between atoms
  (rook adjacency; > 0 means adjacent).
* ``weights``: balancing weight per atom (households), float >= 0, zeros allowed.
* ``k``: number of grids asked for. A peer may return another number of distinct labels (spopt
  max-p chooses its own); the caller counts them.

A peer raises :class:`PeerFailed` when it gives up (GerryChain finding no balanced cut, a timeout),
which the bench reports as a failed row.

Disconnected atom graphs (a multipart community, an island atom) are handled the same way by the
METIS and GerryChain peers: the k parts are shared out over the connected components in proportion
to their weight (largest remainder, at least one part per component) and each component is
partitioned on its own. If there are more components than parts, the result has more than k labels.

``h3_hexagons`` is not atom-based: it covers a community polygon with H3 cells of about the right
size and clips them to it.

Run ``python scripts/peers.py`` for a self-check on a synthetic 20 x 20 lattice of 100 m squares.
"""

from __future__ import annotations

import contextlib
import random
import signal
import threading
import warnings
from collections.abc import Iterator
from functools import partial

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

__all__ = [
    "ATOM_PEERS",
    "PeerFailed",
    "gerrychain_tree",
    "h3_hexagons",
    "metis_contig",
    "spopt_maxp",
]


class PeerFailed(RuntimeError):  # noqa: N818 - the bench reports `reason`
    """A peer gave up; ``reason`` says why (shown in the bench's notes column)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------------------------
# shared helpers


def _adjacency(shared: sp.spmatrix, n: int) -> sp.csr_matrix:
    """Symmetric CSR adjacency with positive entries only and no diagonal."""
    adj = sp.csr_matrix(shared, dtype=float)
    if adj.shape != (n, n):
        msg = f"shared matrix is {adj.shape}, expected ({n}, {n})"
        raise ValueError(msg)
    adj = adj.maximum(adj.T).tocsr()
    adj.setdiag(0)
    adj.data[adj.data < 0] = 0
    adj.eliminate_zeros()
    adj.sort_indices()
    return adj


def _check(weights: np.ndarray, k: int) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 1:
        msg = "weights must be one-dimensional"
        raise ValueError(msg)
    if (weights < 0).any() or not np.isfinite(weights).all():
        msg = "weights must be finite and >= 0"
        raise ValueError(msg)
    if k < 1:
        msg = f"k must be >= 1, got {k}"
        raise ValueError(msg)
    return weights


def _allocate_parts(k: int, component_weights: np.ndarray) -> np.ndarray:
    """Share k parts over components: largest remainder on weight, at least one each."""
    m = len(component_weights)
    if m >= k:
        return np.ones(m, dtype=int)
    total = component_weights.sum()
    share = (component_weights / total * k) if total > 0 else np.full(m, k / m)
    parts = np.maximum(1, np.floor(share).astype(int))
    while parts.sum() > k:  # the minimum of one pushed us over: take from the largest surplus
        i = int(np.argmax(np.where(parts > 1, parts - share, -np.inf)))
        parts[i] -= 1
    remainder = share - parts
    for i in np.argsort(-remainder)[: k - parts.sum()]:
        parts[i] += 1
    return parts


def _components(adj: sp.csr_matrix) -> list[np.ndarray]:
    n_comp, comp = connected_components(adj, directed=False)
    order = np.argsort(comp, kind="stable")
    bounds = np.searchsorted(comp[order], np.arange(n_comp + 1))
    return [order[bounds[c] : bounds[c + 1]] for c in range(n_comp)]


def _by_component(
    adj: sp.csr_matrix,
    weights: np.ndarray,
    k: int,
    solve_one,
) -> np.ndarray:
    comps = _components(adj)
    parts = _allocate_parts(k, np.array([weights[c].sum() for c in comps]))
    labels = np.empty(len(weights), dtype=np.int64)
    offset = 0
    for idx, k_c in zip(comps, parts, strict=True):
        if k_c == 1 or len(idx) == 1:
            labels[idx] = offset
            offset += 1
            continue
        sub = adj[idx][:, idx].tocsr()
        sub_labels = np.asarray(solve_one(sub, weights[idx], int(k_c), idx), dtype=np.int64)
        labels[idx] = offset + sub_labels
        offset += int(k_c)
    return labels


@contextlib.contextmanager
def wall_clock_limit(seconds: float | None) -> Iterator[None]:
    """Raise TimeoutError after ``seconds`` of wall time (SIGALRM; only in the main thread)."""
    if not seconds or seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _handler(_signum, _frame):
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, _handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------------------------
# METIS


def metis_contig(
    atoms: gpd.GeoDataFrame,
    shared: sp.spmatrix,
    weights: np.ndarray,
    k: int,
    *,
    tolerance: float,
    seed: int,
) -> np.ndarray:
    """K-way METIS with contiguous parts (``Options(contig=1)``).

    Vertex weights are the weights rounded to integers (zeros are fine for METIS; an all-zero
    component gets weight 1 per atom), edge weights the shared boundary length in whole metres
    (at least 1). ``ufactor = 1000 * tolerance``, so METIS aims at max part <= (1 + tolerance) x
    mean; it has no lower bound. ``recursive=False`` is forced: pymetis picks recursive
    bisection for k <= 8 by default, and METIS ignores ``contig`` there. METIS refuses ``contig``
    on a disconnected graph ("A contiguous partition is requested for a non-contiguous input
    graph", surfacing as ``RuntimeError: Caught an unknown exception!``), hence the per-component
    split. With ``contig`` METIS may leave parts empty: on Walnut Hills it returns 49 non-empty
    parts of the 56 asked; the labels are returned as METIS gives them (gaps included).
    """
    import pymetis  # noqa: PLC0415

    weights = _check(weights, k)
    n = len(weights)
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    if k > n:
        msg = f"k={k} > {n} atoms"
        raise PeerFailed(msg)
    adj = _adjacency(shared, n)
    int_weights = np.rint(weights).astype(np.int64)

    def solve_one(sub: sp.csr_matrix, w: np.ndarray, k_c: int, idx: np.ndarray) -> np.ndarray:
        vw = int_weights[idx]
        if vw.sum() == 0:
            vw = np.ones_like(vw)
        if k_c > len(idx):
            msg = f"component of {len(idx)} atoms asked for {k_c} parts"
            raise PeerFailed(msg)
        ew = np.maximum(1, np.rint(sub.data)).astype(np.int64)
        options = pymetis.Options(contig=1, seed=int(seed), ufactor=max(1, round(1000 * tolerance)))
        try:
            _cut, parts = pymetis.part_graph(
                k_c,
                pymetis.CSRAdjacency(sub.indptr.astype(np.int64), sub.indices.astype(np.int64)),
                vweights=vw,
                eweights=ew,
                options=options,
                recursive=False,
            )
        except RuntimeError as err:
            msg = f"METIS: {err}"
            raise PeerFailed(msg) from err
        return np.asarray(parts, dtype=np.int64)

    return _by_component(adj, weights, k, solve_one)


# --------------------------------------------------------------------------------------------
# KaHIP


def kahip_strong(
    atoms: gpd.GeoDataFrame,
    shared: sp.spmatrix,
    weights: np.ndarray,
    k: int,
    *,
    tolerance: float,
    seed: int,
) -> np.ndarray:
    """KaHIP's kaffpa in STRONG mode (the ``kahip`` package on PyPI).

    Vertex weights are the weights rounded to integers (an all-zero component gets 1 per atom),
    edge weights the shared boundary length in whole metres (at least 1), ``imbalance =
    tolerance``: KaHIP bounds each part from above by (1 + tolerance) x mean, has no lower bound
    and no contiguity option (parts can come out in pieces; the bench counts them). Run per
    connected component like METIS, so parts never span two components.
    """
    import kahip  # noqa: PLC0415

    weights = _check(weights, k)
    n = len(weights)
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    if k > n:
        msg = f"k={k} > {n} atoms"
        raise PeerFailed(msg)
    adj = _adjacency(shared, n)
    int_weights = np.rint(weights).astype(np.int64)

    def solve_one(sub: sp.csr_matrix, w: np.ndarray, k_c: int, idx: np.ndarray) -> np.ndarray:
        vw = int_weights[idx]
        if vw.sum() == 0:
            vw = np.ones_like(vw)
        ew = np.maximum(1, np.rint(sub.data)).astype(np.int64)
        _cut, parts = kahip.kaffpa(vw.tolist(), sub.indptr.tolist(), ew.tolist(), sub.indices.tolist(), int(k_c),
                                   float(tolerance), True, int(seed), kahip.STRONG)
        return np.asarray(parts, dtype=np.int64)

    return _by_component(adj, weights, k, solve_one)


# --------------------------------------------------------------------------------------------
# GerryChain


def gerrychain_tree(
    atoms: gpd.GeoDataFrame,
    shared: sp.spmatrix,
    weights: np.ndarray,
    k: int,
    *,
    tolerance: float,
    seed: int,
    time_limit: float | None = 60.0,
    max_attempts: int = 10_000,
) -> np.ndarray:
    """GerryChain ``recursive_tree_part`` (two-sided balance: every part within ±tolerance).

    GerryChain 1.0 moved ``recursive_tree_part`` to ``gerrychain.partition`` (the
    ``gerrychain.tree`` name is a deprecated alias), takes a ``gerrychain.Graph`` and an ``rng``.
    Attempts are capped through ``bipartition_tree(max_attempts=...)`` (default there: 100,000,
    i.e. hours on coarse units) and the whole call by a SIGALRM wall-clock limit
    (``time_limit`` seconds, main thread only); both end in ``PeerFailed``. ``node_repeats`` stays
    0: GerryChain 1.0 warns that it brings nothing with its default memoised cut finder, which
    searches every root of each tree already. ``pop_target`` is the component's total / parts.
    """
    import networkx as nx  # noqa: PLC0415
    from gerrychain import Graph  # noqa: PLC0415
    from gerrychain.partition import recursive_tree_part  # noqa: PLC0415
    from gerrychain.tree import bipartition_tree  # noqa: PLC0415

    weights = _check(weights, k)
    n = len(weights)
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    if k > n:
        msg = f"k={k} > {n} atoms"
        raise PeerFailed(msg)
    random.seed(seed)
    rng = random.Random(seed)
    adj = _adjacency(shared, n)
    bipartition = partial(bipartition_tree, max_attempts=max_attempts, warn_attempts=max_attempts + 1)

    def solve_one(sub: sp.csr_matrix, w: np.ndarray, k_c: int, _idx: np.ndarray) -> np.ndarray:
        graph = nx.Graph()
        graph.add_nodes_from((i, {"pop": float(w[i])}) for i in range(len(w)))
        upper = sp.triu(sub, k=1).tocoo()
        graph.add_edges_from(zip(upper.row.tolist(), upper.col.tolist(), strict=True))
        assignment = recursive_tree_part(
            Graph.from_networkx(graph),
            parts=list(range(k_c)),
            pop_target=float(w.sum()) / k_c,
            pop_col="pop",
            epsilon=tolerance,
            node_repeats=0,
            bipartition_tree_fn=bipartition,
            rng=rng,
        )
        return np.array([assignment[i] for i in range(len(w))], dtype=np.int64)

    try:
        with warnings.catch_warnings(), wall_clock_limit(time_limit):
            warnings.simplefilter("ignore")
            return _by_component(adj, weights, k, solve_one)
    except TimeoutError as err:
        msg = f"timeout after {time_limit:.0f} s"
        raise PeerFailed(msg) from err
    except PeerFailed:
        raise
    except Exception as err:  # RuntimeError (max attempts), PopulationBalanceError, ...
        msg = f"{type(err).__name__}: {str(err)[:120] or 'no balanced cut'}"
        raise PeerFailed(msg) from err


# --------------------------------------------------------------------------------------------
# spopt max-p


def spopt_maxp(
    atoms: gpd.GeoDataFrame,
    shared: sp.spmatrix,
    weights: np.ndarray,
    k: int,
    *,
    tolerance: float,
    seed: int,
    top_n: int = 2,
    max_iterations_construction: int = 10,
    max_iterations_sa: int = 1,
) -> np.ndarray:
    """spopt ``MaxPHeuristic``: as many contiguous regions as possible, each >= a floor.

    The floor is the lower bound of the balance band, ``(1 - tolerance) * total / k``; there is
    no upper bound, so max-p picks its own number of regions (usually fewer than k). The
    homogeneity attributes are the atom centroids (x, y), so its within-region distance
    objective favours compact regions. Randomness comes from NumPy's global generator
    (``np.random.seed(seed)``). max-p computes a dense n x n attribute distance matrix and its
    simulated annealing runs ``max_no_move = n`` steps per pass, so the construction iterations
    and SA passes are kept small. Labels are returned 0-based (spopt's are 1-based).
    """
    import libpysal  # noqa: PLC0415
    from spopt.region import MaxPHeuristic  # noqa: PLC0415

    weights = _check(weights, k)
    n = len(weights)
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    total = float(weights.sum())
    if total <= 0:
        msg = "total weight is 0"
        raise PeerFailed(msg)
    adj = _adjacency(shared, n)
    neighbors = {i: adj.indices[adj.indptr[i] : adj.indptr[i + 1]].tolist() for i in range(n)}
    lengths = {i: adj.data[adj.indptr[i] : adj.indptr[i + 1]].tolist() for i in range(n)}
    w = libpysal.weights.W(neighbors, lengths, ids=list(range(n)), silence_warnings=True)
    centroids = shapely.centroid(np.asarray(atoms.geometry.values))
    frame = gpd.GeoDataFrame(
        {
            "weight": weights,
            "x": shapely.get_x(centroids),
            "y": shapely.get_y(centroids),
        },
        geometry=np.asarray(atoms.geometry.values),
        crs=atoms.crs,
    )
    threshold = (1.0 - tolerance) * total / k
    np.random.seed(seed)  # noqa: NPY002 - spopt draws from the global generator
    model = MaxPHeuristic(
        frame,
        w,
        ["x", "y"],
        "weight",
        threshold,
        top_n=top_n,
        max_iterations_construction=max_iterations_construction,
        max_iterations_sa=max_iterations_sa,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.solve()
    labels = model.labels_
    if labels is None:
        msg = "max-p found no feasible regions"
        raise PeerFailed(msg)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != n:
        msg = f"max-p returned {len(labels)} labels for {n} atoms"
        raise PeerFailed(msg)
    if (labels <= 0).any():
        msg = f"max-p left {(labels <= 0).sum()} atoms unassigned"
        raise PeerFailed(msg)
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)


# --------------------------------------------------------------------------------------------
# H3


def _h3_resolution(target_area_m2: float) -> int:
    """H3 resolution whose average hexagon area is closest to the target (by ratio)."""
    import h3  # noqa: PLC0415

    areas = np.array([h3.average_hexagon_area(res, unit="m^2") for res in range(16)])
    return int(np.argmin(np.abs(np.log(areas / target_area_m2))))


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal parts of each geometry (clipping can leave lines and points)."""
    out = geoms.copy()
    for i in np.flatnonzero(~np.isin(shapely.get_type_id(geoms), [3, 6])):
        parts = shapely.get_parts(geoms[i])
        polys = parts[np.isin(shapely.get_type_id(parts), [3, 6])]
        out[i] = shapely.union_all(polys) if len(polys) else shapely.Polygon()
    return out


def h3_hexagons(
    community_polygon_metric: shapely.Geometry,
    crs: object,
    buildings_points: gpd.GeoSeries | np.ndarray,
    weights: np.ndarray,
    k: int,
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """H3 hexagons of about the community's area / k, clipped to the community.

    The resolution is the one whose average hexagon area (``h3.average_hexagon_area``) is closest
    to area / k in ratio. Cells are those overlapping the community
    (``h3shape_to_cells_experimental(contain="overlap")``) plus one ring around them (so the
    clipped cells cover the community even where the spherical overlap test and the planar
    clip disagree); each is clipped to the community in the metric CRS and empty pieces are
    dropped. A clipped hexagon can be multipart where the boundary is concave. No balance, no
    streets.

    Parameters
    ----------
    community_polygon_metric
        Community (Multi)Polygon in the metric CRS ``crs``.
    crs
        The metric CRS (anything pyproj accepts).
    buildings_points
        One point per building, metric CRS.
    weights
        Households per building.
    k
        Number of grids the hexagon size is matched to.

    Returns
    -------
    (grids, labels)
        ``grids``: GeoDataFrame in ``crs`` with ``h3_cell`` and ``households``; ``labels``: the
        grid row of each building (the containing piece, else the nearest one).
    """
    import h3  # noqa: PLC0415

    weights = np.asarray(weights, dtype=float)
    area = community_polygon_metric.area
    res = _h3_resolution(area / max(k, 1))
    wgs = gpd.GeoSeries([community_polygon_metric], crs=crs).to_crs(4326).iloc[0]
    shape = h3.geo_to_h3shape(wgs)
    try:
        cells = set(h3.h3shape_to_cells_experimental(shape, res, contain="overlap"))
    except (AttributeError, TypeError):  # older h3: centre containment only
        cells = set(h3.h3shape_to_cells(shape, res))
    if not cells:  # community smaller than a cell: start from the cell at its centre
        point = wgs.representative_point()
        cells = {h3.latlng_to_cell(point.y, point.x, res)}
    ring = set()
    for cell in cells:
        ring.update(h3.grid_disk(cell, 1))
    cells = sorted(cells | ring)
    hexes = [shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in cells]
    hexes_metric = gpd.GeoSeries(hexes, crs=4326).to_crs(crs).to_numpy()
    clipped = _polygonal(shapely.intersection(hexes_metric, community_polygon_metric))
    keep = ~shapely.is_empty(clipped) & (shapely.area(clipped) > 1e-6)
    grids = gpd.GeoDataFrame(
        {"h3_cell": np.asarray(cells)[keep], "resolution": res},
        geometry=clipped[keep],
        crs=crs,
    ).reset_index(drop=True)

    points = np.asarray(buildings_points.to_numpy() if hasattr(buildings_points, "to_numpy") else buildings_points,
                        dtype=object)
    labels = np.full(len(points), -1, dtype=np.int64)
    if len(points):
        tree = shapely.STRtree(grids.geometry.to_numpy())
        pt_idx, grid_idx = tree.query(points, predicate="intersects")
        first = np.unique(pt_idx, return_index=True)
        labels[first[0]] = grid_idx[first[1]]
        missing = np.flatnonzero(labels < 0)
        if len(missing):
            labels[missing] = tree.nearest(points[missing])
    grids["households"] = np.bincount(labels, weights=weights, minlength=len(grids))
    grids["n_buildings"] = np.bincount(labels, minlength=len(grids))
    return grids, labels


#: Atom-based peers by bench name.
ATOM_PEERS = {
    "metis": metis_contig,
    "kahip": kahip_strong,
    "gerrychain": gerrychain_tree,
    "spopt": spopt_maxp,
}


# --------------------------------------------------------------------------------------------
# self-check


def _lattice(side: int = 20, cell: float = 100.0, seed: int = 0) -> tuple[gpd.GeoDataFrame, sp.csr_matrix, np.ndarray]:
    """A side x side lattice of square atoms (cell metres), rook shared lengths, random weights."""
    xs, ys = np.meshgrid(np.arange(side), np.arange(side))
    xs, ys = xs.ravel(), ys.ravel()
    boxes = shapely.box(xs * cell, ys * cell, (xs + 1) * cell, (ys + 1) * cell)
    atoms = gpd.GeoDataFrame({"atom_id": np.arange(side * side)}, geometry=boxes, crs=3857)
    index = ys * side + xs
    right = index[xs < side - 1]
    up = index[ys < side - 1]
    rows = np.concatenate([right, up])
    cols = np.concatenate([right + 1, up + side])
    shared = sp.coo_matrix((np.full(len(rows), cell), (rows, cols)), shape=(side * side,) * 2)
    shared = (shared + shared.T).tocsr()
    weights = np.random.default_rng(seed).integers(0, 40, side * side).astype(float)
    return atoms, shared, weights


def _balance(labels: np.ndarray, weights: np.ndarray, tolerance: float) -> str:
    sums = np.bincount(np.unique(labels, return_inverse=True)[1], weights=weights)
    dev = (sums - sums.mean()) / sums.mean()
    return (
        f"k={len(sums)} sums={sums.astype(int).tolist()} max|dev|={np.abs(dev).max():.3f} "
        f"inside±{tolerance:g}={np.mean(np.abs(dev) <= tolerance + 1e-12):.2f}"
    )


def _contiguous(atoms: gpd.GeoDataFrame, labels: np.ndarray) -> float:
    dissolved = atoms.assign(label=labels).dissolve("label")
    return float((dissolved.geom_type == "Polygon").mean())


def _main() -> None:
    import time  # noqa: PLC0415

    atoms, shared, weights = _lattice()
    k, tolerance = 8, 0.1
    print(f"lattice 20x20, total weight {weights.sum():.0f}, k={k}, mean {weights.sum() / k:.1f}")
    for name, peer in ATOM_PEERS.items():
        start = time.perf_counter()
        try:
            labels = peer(atoms, shared, weights, k, tolerance=tolerance, seed=0)
        except PeerFailed as err:
            print(f"{name:11s} FAILED: {err.reason}")
            continue
        seconds = time.perf_counter() - start
        print(f"{name:11s} {seconds:6.2f} s  {_balance(labels, weights, tolerance)} "
              f"contiguous={_contiguous(atoms, labels):.2f}")
    # a disconnected graph: drop the edges between columns 9 and 10
    coo = shared.tocoo()
    x_r, x_c = coo.row % 20, coo.col % 20
    cut = ((x_r == 9) & (x_c == 10)) | ((x_r == 10) & (x_c == 9))
    split = sp.csr_matrix((coo.data[~cut], (coo.row[~cut], coo.col[~cut])), shape=shared.shape)
    for name in ("metis", "gerrychain"):
        labels = ATOM_PEERS[name](atoms, split, weights, k, tolerance=tolerance, seed=0)
        crosses = len(set(labels[np.arange(400) % 20 < 10]) & set(labels[np.arange(400) % 20 >= 10]))
        print(f"{name:11s} on two components: {_balance(labels, weights, tolerance)} "
              f"labels shared by both halves: {crosses}")
    community = shapely.union_all(atoms.geometry.to_numpy())
    points = atoms.geometry.centroid.to_numpy()
    start = time.perf_counter()
    grids, labels = h3_hexagons(community, atoms.crs, points, weights, k)
    seconds = time.perf_counter() - start
    print(f"{'h3':11s} {seconds:6.2f} s  res={grids.resolution.iloc[0]} {_balance(labels, weights, tolerance)} "
          f"contiguous={(grids.geom_type == 'Polygon').mean():.2f} "
          f"coverage gap={abs(grids.union_all().area - community.area) / community.area:.1e}")


if __name__ == "__main__":
    _main()
