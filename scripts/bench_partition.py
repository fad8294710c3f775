"""Benchmark: gridkit's partition against peer partitioners, on the same atoms, in one run.

Datasets (``--datasets``):

* ``sample``: the embedded sample district (``data/samples/*.geojson``; skipped when absent);
* ``moabit``: Moabit, Berlin, as one community (~150 grids of 300 households);
* ``moabit-cut``: Moabit cut along its main roads into 15 communities;
* ``walnut``: Walnut Hills, Cincinnati: 457 census blocks used as atoms directly, no streets,
  k = round(total households / target).

Methods (``--methods``): ``gridkit``, ``metis`` (pymetis, contig=1), ``gerrychain``
(recursive_tree_part, epsilon = tolerance), ``spopt`` (MaxPHeuristic, threshold = lower bound),
``h3`` (hexagons of about community area / k, clipped).

The atoms are built once per dataset (by ``gridkit.partition``, else ``gridkit.blocks``) and shared
by every atom-based method; each peer runs per community with the number of grids gridkit chose
for that community (else round(households / target), at least 1). Every method runs in a forked
child process with a wall-clock budget (``--timeout`` seconds per method and dataset), so a peer
that fails, hangs or crashes costs one row, not the run. ``seconds`` is the method's own wall time:
for gridkit the whole ``gridkit.partition`` call (atoms included; the notes give
``partition_atoms`` alone on the shared atoms), for the peers their calls on the shared atoms, for
H3 covering, clipping and assigning buildings.

Metrics, computed here the same way for every method (GUIDE §4): ``max|dev|`` - largest
|w - mean| / mean over grids, the mean taken per community; ``in ±tol`` - share of grids inside the
tolerance; ``contig`` - share of grids whose geometry is one Polygon; ``PP`` - mean Polsby-Popper
4πA/P²; ``street`` - share of internal grid boundary (not on the community's outer boundary) lying
within 5 m of a street centreline (all street classes given); n/a without streets. Oversize grids
(one indivisible atom or building above (1 + tolerance) x the mean; gridkit's own ``oversize`` flag
for gridkit) are left out of the balance columns and counted in the notes, as GUIDE §4 says;
communities without households are left out too. Grids of atom-based methods are dissolved with
gridkit's ``dissolve_grids`` (the function gridkit uses) when it exists. For gridkit the notes
repeat ``gridkit.evaluate``'s total row as a cross-check of the metric code here.

On a 2-core machine the whole run takes about 8 minutes; spopt needs about 200 s on Moabit as
one community and is cut off by the default budget there (``--timeout 300`` lets it finish), and
GerryChain gives up (10,000 attempts per cut, or the budget) on Moabit and Walnut Hills.

Usage::

    python scripts/bench_partition.py [--datasets sample,moabit,moabit-cut,walnut]
        [--methods gridkit,metis,gerrychain,spopt,h3] [--timeout 120] [--out table.md]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
for _p in (str(REPO), str(SCRIPTS)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import peers  # noqa: E402
import realdata  # noqa: E402

from gridkit.blocks import representative_points  # noqa: E402

ALL_DATASETS = ("sample", "moabit", "moabit-cut", "walnut", "monaco", "liechtenstein")
ALL_METHODS = ("gridkit", "metis", "kahip", "gerrychain", "spopt", "h3")
STREET_BUFFER_M = 5.0
COMMUNITY_LIMIT_S = 60.0  # per community, unless its fair share of the budget is larger
SPLIT_SHARE = 0.25  # gridkit.partition's default split_share (blocks above 0.25 x target split)


# --------------------------------------------------------------------------------------------
# data


@dataclass
class Dataset:
    """One benchmark dataset in a metric CRS."""

    name: str
    communities: gpd.GeoDataFrame  # community_id, geometry
    buildings: gpd.GeoDataFrame | None  # building_id, households, population, geometry
    streets: gpd.GeoDataFrame | None
    atoms: gpd.GeoDataFrame | None = None  # community_id, households, geometry (graph order)
    shared: sp.csr_matrix | None = None
    k_by_community: dict[str, int] = field(default_factory=dict)
    atoms_from: str = ""
    notes: list[str] = field(default_factory=list)
    gridkit_result: object | None = None  # filled by the gridkit method (parent side)
    ceiling: float = float("nan")  # street-alignment ceiling of the atoms (from gridkit.evaluate)

    @property
    def crs(self) -> object:
        return self.communities.crs


def _sample_dataset() -> Dataset:
    folder = REPO / "data" / "samples"
    files = {p.stem: p for p in folder.glob("*.geojson")}

    def pick(*words: str) -> Path | None:
        for stem, path in sorted(files.items()):
            if any(w in stem.lower() for w in words):
                return path
        return None

    comm, bldg, strt = pick("communit"), pick("building"), pick("street", "road")
    if comm is None or bldg is None:
        msg = f"no sample district in {folder} (need communities and buildings GeoJSON)"
        raise FileNotFoundError(msg)
    communities = gpd.read_file(comm)
    buildings = gpd.read_file(bldg)
    streets = gpd.read_file(strt) if strt is not None else None
    crs = _metric_crs(communities)
    communities = communities.to_crs(crs)
    buildings = buildings.to_crs(crs)
    streets = streets.to_crs(crs) if streets is not None else None
    if "households" not in buildings.columns:
        msg = "sample buildings have no households column"
        raise FileNotFoundError(msg)
    return Dataset("sample", communities, buildings, streets)


def _metric_crs(gdf: gpd.GeoDataFrame) -> object:
    if gdf.crs is not None and gdf.crs.is_projected:
        return gdf.crs
    try:
        from gridkit.crs import local_metric_crs  # noqa: PLC0415

        return local_metric_crs(gdf)
    except ImportError:
        return gdf.estimate_utm_crs()


def load_dataset(name: str) -> Dataset:
    """Load one dataset (FileNotFoundError when its data is absent)."""
    if name == "sample":
        return _sample_dataset()
    if name in ("moabit", "moabit-cut"):
        data = realdata.load_moabit()
        key = "communities_whole" if name == "moabit" else "communities_cut"
        return Dataset(name, data[key], data["buildings"], data["streets"])
    if name in realdata.OSM_DISTRICTS:
        data = realdata.load_osm_district(name)
        return Dataset(name, data["communities"], data["buildings"], data["streets"])
    if name == "walnut":
        atoms = realdata.load_walnut_hills()
        atoms["community_id"] = "walnut"
        community = gpd.GeoDataFrame(
            {"community_id": ["walnut"], "name": ["Walnut Hills"]},
            geometry=[shapely.union_all(atoms.geometry.to_numpy())],
            crs=atoms.crs,
        )
        return Dataset(name, community, None, None, atoms=atoms.reset_index(drop=True), atoms_from="census blocks")
    msg = f"unknown dataset {name!r}"
    raise ValueError(msg)


# --------------------------------------------------------------------------------------------
# running a method in a child process with a budget


def _child(conn, fn: Callable[[], object]) -> None:
    try:
        value = fn()
        if isinstance(value, MethodOutput):  # peak resident memory of this child (fork: parent's pages count)
            value.extra["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        conn.send(("ok", value))
    except BaseException as err:
        conn.send(("error", f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=4)}"))
    finally:
        conn.close()


def run_isolated(fn: Callable[[], object], timeout: float) -> tuple[str, object]:
    """Run ``fn`` in a forked child; ('ok', value) | ('error', text) | ('timeout', None)."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn), daemon=True)
    proc.start()
    child.close()
    result: tuple[str, object] | None = None
    if parent.poll(timeout):
        try:
            result = parent.recv()
        except EOFError:
            result = None
        proc.join(5)
    if proc.is_alive():
        proc.kill()  # only the child we started
        proc.join()
    if result is None:
        if proc.exitcode not in (None, 0) and proc.exitcode != -signal.SIGKILL:
            return "error", f"child died with exit code {proc.exitcode}"
        return "timeout", None
    return result  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# methods


@dataclass
class MethodOutput:
    """What a method hands back: grids (metric CRS, community_id, households) and its time."""

    grids: gpd.GeoDataFrame | None
    seconds: float
    failures: dict[str, str] = field(default_factory=dict)  # community_id -> reason
    notes: list[str] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)


def _k_for(ds: Dataset, community_id: str, households: float, target: float) -> int:
    """gridkit's number of grids for the community, else round(households / target), >= 1.

    A ``target`` column of the communities overrides the global target (GUIDE §3).
    """
    if community_id in ds.k_by_community:
        return ds.k_by_community[community_id]
    if "target" in ds.communities.columns:
        own = ds.communities.loc[ds.communities["community_id"].astype(str) == str(community_id), "target"]
        if len(own) and pd.notna(own.iloc[0]) and float(own.iloc[0]) > 0:
            target = float(own.iloc[0])
    return max(1, round(households / target))


def _dissolve(atoms: gpd.GeoDataFrame, labels: np.ndarray) -> gpd.GeoDataFrame:
    """One polygon per label (labels 0..k-1), households summed."""
    for module in ("gridkit.atom_partition", "gridkit.partition"):
        try:
            dissolve_grids = __import__(module, fromlist=["dissolve_grids"]).dissolve_grids
        except (ImportError, AttributeError):
            continue
        return dissolve_grids(atoms, labels)
    k = int(labels.max()) + 1
    geoms = atoms.geometry.to_numpy()
    polys = [shapely.union_all(geoms[labels == g]) for g in range(k)]
    return gpd.GeoDataFrame(
        {"label": np.arange(k),
         "households": np.bincount(labels, weights=atoms["households"].to_numpy(float), minlength=k),
         "n_atoms": np.bincount(labels, minlength=k)},
        geometry=polys, crs=atoms.crs,
    )


def _grids_from_labels(ds: Dataset, labels: np.ndarray) -> gpd.GeoDataFrame:
    """Dissolve atoms by global labels (>= 0; atoms labelled -1 are left out)."""
    keep = labels >= 0
    atoms = ds.atoms[keep].reset_index(drop=True)
    compact = np.unique(labels[keep], return_inverse=True)[1]
    grids = _dissolve(atoms, compact)
    community = pd.Series(atoms["community_id"].to_numpy()).groupby(compact).first()
    grids["community_id"] = community.reindex(grids["label"].to_numpy()).to_numpy()
    return grids


def _atoms_by_community(ds: Dataset) -> list[tuple[str, np.ndarray]]:
    cid = ds.atoms["community_id"].to_numpy()
    return [(c, np.flatnonzero(cid == c)) for c in pd.unique(cid)]


def run_atom_peer(ds: Dataset, method: str, *, target: float, tolerance: float, seed: int,
                  budget: float) -> MethodOutput:
    """Run an atom-based peer per community on the shared atoms (inside the child)."""
    peer = peers.ATOM_PEERS[method]
    weights = ds.atoms["households"].to_numpy(float)
    labels = np.full(len(ds.atoms), -1, dtype=np.int64)
    failures: dict[str, str] = {}
    seconds = 0.0
    offset = 0
    start_all = time.perf_counter()
    k_asked = 0
    communities = _atoms_by_community(ds)
    for position, (community_id, idx) in enumerate(communities):
        w = weights[idx]
        k = _k_for(ds, community_id, w.sum(), target)
        k_asked += k
        remaining = budget - (time.perf_counter() - start_all)
        if remaining <= 1:
            failures[community_id] = "not run: time budget used up"
            continue
        # a community may take min(60 s, what is left), or its fair share of what is left if larger
        limit = max(min(COMMUNITY_LIMIT_S, remaining), remaining / (len(communities) - position))
        sub_atoms = ds.atoms.iloc[idx]
        sub_shared = ds.shared[idx][:, idx].tocsr()
        start = time.perf_counter()
        try:
            if method == "gerrychain":  # has its own SIGALRM limit
                part = peer(sub_atoms, sub_shared, w, k, tolerance=tolerance, seed=seed, time_limit=limit)
            else:
                with peers.wall_clock_limit(limit):
                    part = peer(sub_atoms, sub_shared, w, k, tolerance=tolerance, seed=seed)
        except peers.PeerFailed as err:
            failures[community_id] = err.reason
            continue
        except TimeoutError:
            failures[community_id] = f"timeout after {limit:.0f} s"
            continue
        finally:
            seconds += time.perf_counter() - start
        part = np.unique(np.asarray(part), return_inverse=True)[1]
        labels[idx] = offset + part
        offset += int(part.max()) + 1
    grids = _grids_from_labels(ds, labels) if (labels >= 0).any() else None
    return MethodOutput(grids, seconds, failures, extra={"k_asked": k_asked})


def _building_points(ds: Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points, weights and community row of every building (blocks stand in for Walnut Hills)."""
    if ds.buildings is not None:
        geoms = ds.buildings.geometry.to_numpy()
        weights = ds.buildings["households"].to_numpy(float)
    else:
        geoms = ds.atoms.geometry.to_numpy()
        weights = ds.atoms["households"].to_numpy(float)
    points = representative_points(geoms)
    tree = shapely.STRtree(ds.communities.geometry.to_numpy())
    pt, cm = tree.query(points, predicate="intersects")
    community = np.full(len(points), -1, dtype=np.int64)
    community[pt[::-1]] = cm[::-1]
    lost = community < 0
    if lost.any():
        community[lost] = tree.query_nearest(points[lost], all_matches=False)[1]
    return points, weights, community


def run_h3(ds: Dataset, *, target: float, tolerance: float, seed: int, budget: float) -> MethodOutput:
    """H3 hexagons per community (inside the child)."""
    points, weights, community = _building_points(ds)
    frames, failures, seconds, k_asked = [], {}, 0.0, 0
    for row, comm in enumerate(ds.communities.itertuples()):
        mine = community == row
        k = _k_for(ds, comm.community_id, weights[mine].sum(), target)
        k_asked += k
        start = time.perf_counter()
        try:
            grids, _labels = peers.h3_hexagons(comm.geometry, ds.crs, points[mine], weights[mine], k)
        except Exception as err:
            failures[comm.community_id] = f"{type(err).__name__}: {err}"
            continue
        finally:
            seconds += time.perf_counter() - start
        frames.append(grids.assign(community_id=comm.community_id))
    grids = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=ds.crs) if frames else None
    res = sorted({int(r) for f in frames for r in f["resolution"]})
    return MethodOutput(grids, seconds, failures, notes=[f"H3 res {','.join(map(str, res))}"],
                        extra={"k_asked": k_asked})


def run_gridkit(ds: Dataset, *, target: float, tolerance: float, seed: int, budget: float) -> MethodOutput:
    """gridkit.partition on buildings, or partition_atoms on given atoms (inside the child)."""
    import gridkit  # noqa: PLC0415

    if ds.buildings is None:  # atoms given (Walnut Hills)
        partition_atoms = _gridkit_partition_atoms()
        weights = ds.atoms["households"].to_numpy(float)
        labels = np.full(len(ds.atoms), -1, dtype=np.int64)
        seconds, offset = 0.0, 0
        for community_id, idx in _atoms_by_community(ds):
            k = _k_for(ds, community_id, weights[idx].sum(), target)
            start = time.perf_counter()
            part = partition_atoms(ds.atoms.iloc[idx], ds.shared[idx][:, idx].tocsr(), weights[idx], k,
                                   tolerance=tolerance, seed=seed)
            seconds += time.perf_counter() - start
            part = np.unique(np.asarray(part), return_inverse=True)[1]
            labels[idx] = offset + part
            offset += int(part.max()) + 1
        return MethodOutput(_grids_from_labels(ds, labels), seconds, notes=["partition_atoms on the blocks"])

    start = time.perf_counter()
    res = gridkit.partition(ds.communities, ds.buildings, ds.streets, by="households", target=target,
                            tolerance=tolerance, seed=seed)
    seconds = time.perf_counter() - start
    grids = res.grids.to_crs(ds.crs)
    out = MethodOutput(grids, seconds, extra={"atoms": res.atoms})
    if hasattr(res, "report") and res.report is not None:
        out.extra["report"] = res.report
    evaluate = getattr(gridkit, "evaluate", None)
    if evaluate is not None:
        try:
            out.extra["evaluate"] = evaluate(res.grids, ds.communities, ds.buildings, res.assignment,
                                             streets=ds.streets, tolerance=tolerance, atoms=res.atoms)
        except Exception as err:
            out.notes.append(f"evaluate() failed: {type(err).__name__}: {err}")
    return out


def _gridkit_partition_atoms() -> Callable | None:
    for module in ("gridkit.partition", "gridkit.atom_partition"):
        try:
            return __import__(module, fromlist=["partition_atoms"]).partition_atoms
        except (ImportError, AttributeError):
            continue
    return None


def _time_partition_atoms(ds: Dataset, *, target: float, tolerance: float, seed: int) -> float | None:
    """Seconds of gridkit's partition_atoms alone on the shared atoms (for the notes)."""
    partition_atoms = _gridkit_partition_atoms()
    if partition_atoms is None:
        return None
    weights = ds.atoms["households"].to_numpy(float)
    seconds = 0.0
    for community_id, idx in _atoms_by_community(ds):
        k = _k_for(ds, community_id, weights[idx].sum(), target)
        start = time.perf_counter()
        partition_atoms(ds.atoms.iloc[idx], ds.shared[idx][:, idx].tocsr(), weights[idx], k,
                        tolerance=tolerance, seed=seed)
        seconds += time.perf_counter() - start
    return seconds


# --------------------------------------------------------------------------------------------
# atoms shared by the peers


def _atoms_from_gridkit_blocks(ds: Dataset, target: float) -> gpd.GeoDataFrame:
    """Build atoms with gridkit.blocks directly (when gridkit.partition is absent or failed)."""
    from gridkit.blocks import build_atoms  # noqa: PLC0415
    from gridkit.network import street_lines  # noqa: PLC0415

    lines = street_lines(ds.streets, ds.crs)
    # as gridkit.partition does: weights in grids (households / target), split above 0.25 grid
    built = build_atoms(
        ds.communities, ds.buildings, lines,
        split_weight=ds.buildings["households"].to_numpy(float) / target,
        split_above=np.full(len(ds.communities), SPLIT_SHARE),
    )
    return built.atoms


def _atoms_fallback(ds: Dataset) -> gpd.GeoDataFrame:
    """Street blocks by polygonize, buildings by representative point (no gridkit at all)."""
    lines = shapely.get_parts(ds.streets.geometry.to_numpy()) if ds.streets is not None else np.empty(0, object)
    frames = []
    points, weights, community = _building_points(ds)
    for row, comm in enumerate(ds.communities.itertuples()):
        inside = shapely.intersection(lines, comm.geometry) if len(lines) else np.empty(0, object)
        noded = shapely.union_all(np.concatenate([inside, [comm.geometry.boundary]]), grid_size=0.001)
        faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
        faces = faces[shapely.within(shapely.point_on_surface(faces), comm.geometry)]
        tree = shapely.STRtree(faces)
        mine = np.flatnonzero(community == row)
        owner = tree.query_nearest(points[mine], all_matches=False)[1]
        frames.append(gpd.GeoDataFrame(
            {"community_id": comm.community_id,
             "households": np.bincount(owner, weights=weights[mine], minlength=len(faces))},
            geometry=faces, crs=ds.crs))
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=ds.crs)


def prepare_atoms(ds: Dataset, gridkit_out: MethodOutput | None, target: float) -> None:
    """Fill ds.atoms / ds.shared / ds.k_by_community, preferring gridkit's own atoms and k."""
    if ds.atoms is not None and ds.shared is not None:  # given atoms, graph already built
        if gridkit_out is not None and gridkit_out.grids is not None:
            counts = gridkit_out.grids.groupby("community_id").size()
            ds.k_by_community = {str(c): int(n) for c, n in counts.items()}
        return
    if ds.atoms is None and gridkit_out is not None and "atoms" in gridkit_out.extra:
        ds.atoms, ds.atoms_from = gridkit_out.extra["atoms"], "gridkit.partition"
    if ds.atoms is None:
        try:
            ds.atoms, ds.atoms_from = _atoms_from_gridkit_blocks(ds, target), "gridkit.blocks.build_atoms"
        except Exception as err:
            ds.notes.append(f"gridkit atoms unavailable ({type(err).__name__}: {err}); fallback blocks")
            ds.atoms, ds.atoms_from = _atoms_fallback(ds), "bench fallback (street blocks)"
    ds.atoms = ds.atoms.to_crs(ds.crs).reset_index(drop=True)
    try:
        from gridkit.blocks import atom_adjacency  # noqa: PLC0415

        ds.shared = atom_adjacency(ds.atoms).tocsr()
    except ImportError:
        ds.shared = _adjacency(ds.atoms)
    if gridkit_out is not None and gridkit_out.grids is not None:
        counts = gridkit_out.grids.groupby("community_id").size()
        ds.k_by_community = {str(c): int(n) for c, n in counts.items()}


def _adjacency(atoms: gpd.GeoDataFrame) -> sp.csr_matrix:
    geoms = atoms.geometry.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    same = atoms["community_id"].to_numpy()
    keep = same[left] == same[right]
    left, right = left[keep], right[keep]
    length = shapely.length(shapely.intersection(shapely.boundary(geoms[left]), shapely.boundary(geoms[right])))
    ok = length > 1e-6
    n = len(geoms)
    m = sp.coo_matrix((length[ok], (left[ok], right[ok])), shape=(n, n))
    return (m + m.T).tocsr()


# --------------------------------------------------------------------------------------------
# metrics


def street_buffer(ds: Dataset) -> shapely.Geometry | None:
    if ds.streets is None or len(ds.streets) == 0:
        return None
    lines = ds.streets.to_crs(ds.crs).geometry.to_numpy()
    area = shapely.union_all(ds.communities.geometry.to_numpy()).buffer(STREET_BUFFER_M + 1)
    lines = lines[shapely.intersects(lines, area)]
    return shapely.union_all(shapely.buffer(lines, STREET_BUFFER_M))


def oversize_flags(grids: gpd.GeoDataFrame, tolerance: float) -> np.ndarray:
    """Grids made of one indivisible unit heavier than the upper bound (GUIDE §4), counted apart.

    gridkit's own ``oversize`` column where present; otherwise a grid of one atom (or one
    building, for H3) whose households exceed (1 + tolerance) x its community's total / grids.
    """
    if "oversize" in grids.columns:
        return grids["oversize"].fillna(False).to_numpy(bool)
    units_col = "n_atoms" if "n_atoms" in grids.columns else "n_buildings" if "n_buildings" in grids.columns else None
    if units_col is None:
        return np.zeros(len(grids), dtype=bool)
    hh = grids["households"].to_numpy(float)
    community = grids["community_id"].astype(str)
    bound = (1 + tolerance) * community.map(grids.groupby(community)["households"].mean()).to_numpy(float)
    return (grids[units_col].to_numpy() == 1) & (hh > bound)


def metrics(grids: gpd.GeoDataFrame, *, tolerance: float, buffer: shapely.Geometry | None,
            communities: gpd.GeoDataFrame) -> dict[str, float]:
    """The bench columns for one method's grids (metric CRS, community_id, households).

    The internal boundary is the union of the grid outlines minus the community's own outline
    (buffered by 1 cm), as GUIDE §4 says; taking the outline of the grids' union instead would
    also drop the rims of sliver holes between grids.
    """
    outline = dict(zip(communities["community_id"].astype(str), communities.geometry.boundary, strict=True))
    geoms = grids.geometry.to_numpy()
    hh = grids["households"].to_numpy(float)
    community = grids["community_id"].astype(str).to_numpy()
    oversize = oversize_flags(grids, tolerance)
    deviations = []
    for c in np.unique(community):
        mine = community == c
        w, normal = hh[mine], ~oversize[mine]
        if not normal.any():
            continue
        mean = w[normal].mean()
        if mean > 0:
            deviations.append((w[normal] - mean) / mean)
    dev = np.abs(np.concatenate(deviations)) if deviations else np.array([np.nan])
    area, perimeter = shapely.area(geoms), shapely.length(geoms)
    pp = np.where(perimeter > 0, 4 * np.pi * area / np.maximum(perimeter, 1e-12) ** 2, np.nan)
    out = {
        "k": len(grids),
        "n_oversize": int(oversize.sum()),
        "max_dev": float(np.nanmax(dev)),
        "in_tol": float(np.mean(dev <= tolerance + 1e-9)) if deviations else np.nan,
        "contig": float(np.mean(shapely.get_type_id(geoms) == 3)),
        "pp": float(np.nanmean(pp)),
        "street": np.nan,
    }
    if buffer is not None:
        internal_total = aligned = 0.0
        for c in np.unique(community):
            mine = geoms[community == c]
            if len(mine) < 2:
                continue
            edge = outline.get(c)
            outer = (edge if edge is not None else shapely.union_all(mine).boundary).buffer(0.01)
            internal = shapely.union_all(shapely.boundary(mine)).difference(outer)
            internal_total += internal.length
            aligned += internal.intersection(buffer).length
        out["street"] = aligned / internal_total if internal_total > 0 else np.nan
    return out


# --------------------------------------------------------------------------------------------
# the run


def _fmt(value: float, spec: str) -> str:
    return "n/a" if value is None or (isinstance(value, float) and np.isnan(value)) else format(value, spec)


def _status(out_status: str, output: MethodOutput | None, n_communities: int) -> str:
    if out_status != "ok":
        return out_status
    if output.grids is None:
        timeouts = [r for r in output.failures.values() if r.startswith(("timeout", "not run"))]
        return "timeout" if output.failures and len(timeouts) == len(output.failures) else "failed"
    if output.failures:
        return f"partial ({n_communities - len(output.failures)}/{n_communities})"
    return "ok"


def _notes(output: MethodOutput | None) -> list[str]:
    if output is None:
        return []
    notes = list(output.notes)
    if output.grids is not None:
        n_over = int(output.extra.get("n_oversize", 0) or 0)
        if n_over:
            notes.append(f"{n_over} oversize grid(s) left out of balance")
    k_asked = output.extra.get("k_asked")
    if k_asked is not None and output.grids is not None and len(output.grids) != k_asked:
        notes.insert(0, f"asked k={k_asked}")
    if output.failures:
        reasons: dict[str, list[str]] = {}
        for c, r in output.failures.items():
            reasons.setdefault(r.splitlines()[0][:90], []).append(c)
        for r, cs in reasons.items():
            where = cs[0] if len(cs) == 1 else f"{len(cs)} communities"
            notes.append(f"{where}: {r}")
    return notes


def make_row(ds: Dataset, method: str, status: str, output: MethodOutput | None, extra_notes: list[str], *,
             args: argparse.Namespace, buffer: shapely.Geometry | None) -> dict[str, object]:
    """One table row: the metrics of a method's grids plus its time, status and notes."""
    row: dict[str, object] = {"dataset": ds.name, "method": method}
    if output is not None and output.grids is not None:
        try:
            row.update(metrics(output.grids, tolerance=args.tolerance, buffer=buffer, communities=ds.communities))
            output.extra["n_oversize"] = row["n_oversize"]
        except Exception as err:
            extra_notes = [*extra_notes, f"metrics failed: {type(err).__name__}: {err}"]
    row["ceiling"] = ds.ceiling
    row["peak_mb"] = output.extra.get("peak_mb", np.nan) if output is not None else np.nan
    row["seconds"] = output.seconds if output is not None else np.nan
    row["status"] = _status(status, output, len(ds.communities))
    row["notes"] = "; ".join([*_notes(output), *extra_notes])
    print(f"  {method:10s} {row['status']:12s} k={row.get('k', '-')} "
          f"{_fmt(row['seconds'], '.1f')} s {row['notes'][:150]}", file=sys.stderr, flush=True)
    return row


def _first_line(value: object, fallback: str) -> str:
    return str(value).splitlines()[0][:200] if value else fallback


def bench_gridkit(ds: Dataset, args: argparse.Namespace) -> tuple[str, MethodOutput | None, list[str]]:
    """Run gridkit in a child; prepare the shared atoms from its result (or without it)."""
    opts = {"target": args.target, "tolerance": args.tolerance, "seed": args.seed}
    status, value = run_isolated(lambda: run_gridkit(ds, **opts, budget=args.gridkit_timeout), args.gridkit_timeout)
    output = value if status == "ok" else None
    notes = [] if status == "ok" else [_first_line(value, f"killed after {args.gridkit_timeout:.0f} s")]
    prepare_atoms(ds, output, args.target)
    notes.append(f"atoms: {len(ds.atoms)} from {ds.atoms_from}")
    if output is not None and ds.buildings is not None:
        alone = run_isolated(lambda: _time_partition_atoms(ds, **opts), args.timeout)
        if alone[0] == "ok" and alone[1] is not None:
            notes.append(f"partition_atoms alone {alone[1]:.1f} s")
        evaluation = output.extra.get("evaluate")
        if isinstance(evaluation, pd.DataFrame) and len(evaluation):
            notes.append(_evaluate_note(evaluation))
            if "street_alignment_ceiling" in evaluation.columns:
                ds.ceiling = float(evaluation["street_alignment_ceiling"].iloc[-1])
        notes.extend(_bound_notes(output.extra.get("report")))
    return ("failed" if status == "error" else status), output, notes


def bench_dataset(ds: Dataset, methods: list[str], args: argparse.Namespace) -> list[dict[str, object]]:
    """All rows of one dataset: gridkit first (its atoms and grid counts feed the peers)."""
    opts = {"target": args.target, "tolerance": args.tolerance, "seed": args.seed}
    buffer = street_buffer(ds)
    rows: list[dict[str, object]] = []
    if ds.atoms is not None:  # atoms given (census blocks): graph first, gridkit partitions them too
        prepare_atoms(ds, None, args.target)
    if "gridkit" in methods:
        status, output, notes = bench_gridkit(ds, args)
    else:
        prepare_atoms(ds, None, args.target)
    print(f"{ds.name}: {len(ds.communities)} communities, {len(ds.atoms)} atoms from {ds.atoms_from}, "
          f"{int(ds.atoms['households'].sum())} households", file=sys.stderr, flush=True)
    if "gridkit" in methods:
        rows.append(make_row(ds, "gridkit", status, output, notes, args=args, buffer=buffer))
    for method in methods:
        if method == "h3":
            fn = lambda: run_h3(ds, **opts, budget=args.timeout)  # noqa: E731
        elif method in peers.ATOM_PEERS:
            fn = lambda m=method: run_atom_peer(ds, m, **opts, budget=args.timeout)  # noqa: E731
        else:
            continue
        status, value = run_isolated(fn, args.timeout + 30)
        if status == "ok":
            rows.append(make_row(ds, method, "ok", value, [], args=args, buffer=buffer))
        else:
            note = _first_line(value, f"killed after {args.timeout + 30:.0f} s")
            rows.append(make_row(ds, method, "failed" if status == "error" else "timeout", None, [note],
                                 args=args, buffer=buffer))
    return rows


def _bound_notes(report: pd.DataFrame | None) -> list[str]:
    """The proven balance bound of every community where the tolerance was not met."""
    if not isinstance(report, pd.DataFrame) or "best_possible_deviation" not in report.columns:
        return []
    failing = report[report["status"] != "ok"]
    picks = [f"{r.community_id} best possible >= {r.best_possible_deviation:.3f}, found {r.max_abs_deviation:.3f}"
             for r in failing.itertuples() if pd.notna(r.best_possible_deviation)]
    if not picks:
        return []
    more = f"; +{len(picks) - 6} more" if len(picks) > 6 else ""
    return ["proven: " + "; ".join(picks[:6]) + more]


def _evaluate_note(evaluation: pd.DataFrame) -> str:
    """gridkit.evaluate's own total row, to cross-check the bench's metric code."""
    total = evaluation.iloc[-1]
    names = {"max_abs_deviation": "max dev", "share_within_tolerance": "in tol", "n_noncontiguous": "non-contig",
             "mean_polsby_popper": "PP", "street_alignment": "street", "coverage_gap": "gap"}
    picks = [f"{short} {float(total[col]):.3g}" for col, short in names.items()
             if col in evaluation.columns and pd.notna(total[col])]
    return "evaluate(): " + (", ".join(picks) if picks else "ok")


def to_markdown(table: pd.DataFrame, tolerance: float) -> str:
    head = ["dataset", "method", "k", "max abs dev", f"in ±{tolerance:g}", "contiguous", "mean PP",
            "street aligned", "street ceiling", "seconds", "peak MB", "status", "notes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * 9 + ["---"] * 2) + "|"]
    for r in table.to_dict("records"):
        cells = [
            r["dataset"], r["method"], _fmt(r.get("k", np.nan), ".0f"),
            _fmt(r.get("max_dev", np.nan), ".3f"), _fmt(r.get("in_tol", np.nan), ".2f"),
            _fmt(r.get("contig", np.nan), ".2f"), _fmt(r.get("pp", np.nan), ".3f"),
            _fmt(r.get("street", np.nan), ".2f"), _fmt(r.get("ceiling", np.nan), ".2f"),
            _fmt(r.get("seconds", np.nan), ".2f"), _fmt(r.get("peak_mb", np.nan), ".0f"),
            r["status"], str(r["notes"]).replace("|", "/"),
        ]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(ALL_DATASETS))
    parser.add_argument("--methods", default=",".join(ALL_METHODS))
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per peer per dataset")
    parser.add_argument("--gridkit-timeout", type=float, default=900.0, help="seconds for gridkit per dataset")
    parser.add_argument("--target", type=float, default=300.0, help="households per grid")
    parser.add_argument("--tolerance", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the markdown table here")
    args = parser.parse_args(argv)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = (set(datasets) - set(ALL_DATASETS)) | (set(methods) - set(ALL_METHODS))
    if unknown:
        parser.error(f"unknown dataset/method: {', '.join(sorted(unknown))}")
    warnings.filterwarnings("ignore")

    rows: list[dict[str, object]] = []
    skipped: list[str] = []
    for name in datasets:
        try:
            ds = load_dataset(name)
        except FileNotFoundError as err:
            skipped.append(f"{name}: {err}")
            print(f"{name}: skipped ({err})", file=sys.stderr)
            continue
        try:
            rows.extend(bench_dataset(ds, methods, args))
        except Exception as err:
            traceback.print_exc()
            rows.append({"dataset": name, "method": "-", "status": "failed",
                         "notes": f"dataset setup failed: {type(err).__name__}: {err}"})
    table = pd.DataFrame(rows)
    text = to_markdown(table, args.tolerance) if len(table) else "(no rows)"
    footer = [
        "",
        f"target {args.target:g} households (a community `target` column overrides it), "
        f"tolerance ±{args.tolerance:g}, seed {args.seed}; "
        "peers use gridkit's number of grids per community; seconds = the method alone.",
    ]
    footer += [f"skipped {s}" for s in skipped]
    text = text + "\n" + "\n".join(footer)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
