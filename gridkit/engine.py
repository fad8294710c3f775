"""The partition engine, one batch of communities at a time.

Communities are independent: a community's grids depend only on its own polygon, its buildings and
the streets near it, once the metric CRS is fixed. :func:`prepare_inputs` validates the inputs once
and projects them into one metric CRS for the whole run (the UTM zone of the whole data's centre, or
the CRS the user names, so a province across two UTM zones is not cut in two CRSs);
:func:`make_batches` splits the communities into batches (street offices, 街道, by default) whose
payloads (:class:`Batch`) are plain picklable data; :func:`partition_batch` partitions one batch and
returns a picklable :class:`BatchResult`; :func:`merge_results` puts batch results back together in
the communities' order. :func:`gridkit.partition.partition` is these four steps; the batches run in
this process, in worker processes or on a Dask cluster (:mod:`gridkit.parallel`) with the same result.

Balancing measures are normalised by their target, so a mix such as
``by={"households": 0.7, "area": 0.3}`` balances 0.7 × households/300 + 0.3 × m²/10,000 per grid.
"""

from __future__ import annotations

import os
import resource
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely

from gridkit import _validate
from gridkit._bisect import EdgeList
from gridkit._refine import Plan
from gridkit.atom_partition import (
    DEFAULT_TARGETS,
    INTERIOR_PENALTY,
    best_count,
    dissolve_grids,
)
from gridkit.blocks import build_atoms, community_of_buildings
from gridkit.codes import grid_code, max_sequence, reading_order
from gridkit.crs import local_metric_crs
from gridkit.errors import GridkitError, GridkitWarning, PartitionError
from gridkit.io import read_layer, repair_polygons
from gridkit.limits import describe_balance_limit
from gridkit.metrics import deviations, polsby_popper
from gridkit.network import street_lines

__all__ = [
    "BATCH_COLUMNS",
    "Batch",
    "BatchResult",
    "Inputs",
    "Measure",
    "PartitionOptions",
    "PartitionResult",
    "building_weight",
    "check_sequence_limit",
    "make_batches",
    "merge_results",
    "parse_measure",
    "partition_batch",
    "polish_labels",
    "prepare_inputs",
    "to_output_crs",
]

Source: TypeAlias = str | os.PathLike[str] | gpd.GeoDataFrame
_MEASURES = ("households", "population", "area")
#: Community columns that name the street office (街道) a community belongs to, tried in this order.
BATCH_COLUMNS = ("street_office", "district")
#: Without a street office column, consecutive communities are batched up to this many buildings.
BATCH_BUILDINGS = 20_000
#: Streets within this distance (m) of a batch's communities travel with the batch.
STREET_MARGIN_M = 50.0


@dataclass
class PartitionResult:
    """What :func:`gridkit.partition.partition` returns; unpacks as ``grids, assignment = result``.

    Attributes
    ----------
    grids
        One polygon per grid in the communities' CRS: ``grid_id``, ``community_id``, ``seq``,
        ``households``, ``population``, ``area_m2``, ``n_buildings``, ``deviation``,
        ``polsby_popper``, ``oversize``.
    assignment
        ``building_id`` → ``grid_id`` (with ``community_id``), one row per input building.
    atoms
        The atoms in the metric CRS with their ``grid_id`` (for inspection and benchmarks).
    report
        One row per community: grids, target, balance reached, ``status`` and ``message``.
    crs
        The metric CRS the work was done in.
    batches
        One row per batch: ``batch_id``, ``communities``, ``buildings``, ``seconds``,
        ``peak_rss_mb`` and ``pid`` of the process that ran it, ``status`` and ``error``.
    alternatives
        With ``n_alternatives=K``: K plans (this one first), each with its own seed; compare
        them with :func:`gridkit.alternatives.compare_plans`.
    """

    grids: gpd.GeoDataFrame
    assignment: pd.DataFrame
    atoms: gpd.GeoDataFrame
    report: pd.DataFrame
    crs: pyproj.CRS
    batches: pd.DataFrame = field(default_factory=pd.DataFrame)
    alternatives: list[PartitionResult] = field(default_factory=list)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter((self.grids, self.assignment))


@dataclass(frozen=True)
class Measure:
    """The balanced measure: shares of households / population / area and the target of each."""

    shares: dict[str, float]
    targets: dict[str, float]

    def per_grid_target(self, community_target: float) -> dict[str, float]:
        """Target per measure for a community whose own ``target`` column holds ``community_target``."""
        if len(self.shares) == 1 and not np.isnan(community_target):
            return {next(iter(self.shares)): float(community_target)}
        return self.targets

    def label(self) -> str:
        """The measure as the report writes it (``households`` or ``households×0.70+area×0.30``)."""
        return "+".join(f"{m}×{s:.2f}" if len(self.shares) > 1 else m for m, s in self.shares.items())


def parse_measure(by: str | Mapping[str, float], target: float | Mapping[str, float] | None) -> Measure:
    """Check ``by`` and ``target`` once, at the boundary, and normalise the shares to sum to 1."""
    shares = {by: 1.0} if isinstance(by, str) else {str(k): float(v) for k, v in by.items()}
    unknown = [m for m in shares if m not in _MEASURES]
    if unknown or not shares or any(v < 0 for v in shares.values()) or sum(shares.values()) <= 0:
        raise GridkitError(f"by must be one of {_MEASURES} or a mapping of them to non-negative shares; got {by!r}")
    total = sum(shares.values())
    shares = {m: v / total for m, v in shares.items() if v > 0}
    if isinstance(target, Mapping):
        targets = {m: float(target.get(m, DEFAULT_TARGETS[m])) for m in shares}
    elif target is not None:
        if len(shares) > 1:
            raise GridkitError("a mix of measures needs target as a mapping, e.g. {'households': 300, 'area': 10000}")
        targets = {next(iter(shares)): float(target)}
    else:
        targets = {m: DEFAULT_TARGETS[m] for m in shares}
    if any(t <= 0 for t in targets.values()):
        raise GridkitError(f"target must be positive; got {targets}")
    return Measure(shares, targets)


@dataclass(frozen=True)
class PartitionOptions:
    """How every batch is partitioned (see :func:`gridkit.partition.partition` for each option)."""

    measure: Measure
    tolerance: float = 0.1
    n_grids: int | Mapping[object, int] | None = None
    seed: int = 0
    split_share: float = 0.25
    interior_penalty: float = INTERIOR_PENALTY
    sequence_digits: Literal[3, 4] = 3

    def __post_init__(self) -> None:
        if not 0 < self.tolerance < 1:
            raise GridkitError(f"tolerance must be between 0 and 1 (a share, 0.1 = ±10 %); got {self.tolerance}")
        if self.sequence_digits not in (3, 4):
            raise GridkitError(f"sequence_digits must be 3 or 4; got {self.sequence_digits!r}")
        if not self.split_share > 0:
            raise GridkitError(f"split_share must be positive; got {self.split_share}")
        if not self.interior_penalty >= 1:
            raise GridkitError(f"interior_penalty must be at least 1; got {self.interior_penalty}")


@dataclass
class Inputs:
    """Validated inputs of a whole run in one metric CRS.

    Attributes
    ----------
    communities
        Validated communities in the metric CRS (``community_id``, ``name``, ``code``, ``target``).
    buildings
        Validated buildings in the metric CRS.
    building_community
        Community row of each building (-1 outside every community with ``outside='report'``).
    lines
        Street centrelines in the metric CRS.
    crs
        The metric CRS of the whole run.
    output_crs
        The communities' own CRS, that grids are returned in.
    batch_key
        Street office (or district) of each community, or None when the communities carry none.
    """

    communities: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    building_community: np.ndarray
    lines: np.ndarray
    crs: pyproj.CRS
    output_crs: pyproj.CRS | None
    batch_key: np.ndarray | None = None


def prepare_inputs(communities: Source, buildings: Source, streets: Source | None = None, *,
                   columns: Mapping[str, str] | None = None, crs: object = None, outside: str = "error",
                   overlapping: str = "error", encoding: str | None = None, batch_by: str | None = None,
                   target: object = None, n_grids: object = None, by: object = "households") -> Inputs:
    """Read, validate and project the inputs once for a whole run.

    Parameters
    ----------
    communities, buildings, streets, columns, outside, overlapping, encoding
        As for :func:`gridkit.partition.partition`.
    crs
        The metric CRS of the whole run; default the UTM zone of the communities' centre.
    batch_by
        Community column naming each community's street office; default the first of
        :data:`BATCH_COLUMNS` present.
    target, n_grids, by
        Only to warn where a default is silently taken (no target, no streets).
    """
    _validate.option("outside", outside)
    _validate.option("overlapping", overlapping)
    names = _validate.check_column_names(columns, _validate.COLUMN_KEYS)
    raw = read_layer(communities, label="communities", encoding=encoding)
    comm = _validate.communities(
        raw, **{f"{k}_col": names.get(k) for k in ("name", "code", "target")},
        id_col=names.get("community_id"), overlapping=overlapping,
    )
    bld = _validate.buildings(
        read_layer(buildings, label="buildings", encoding=encoding),
        **{f"{k}_col": names.get(k) for k in ("households", "population", "levels", "use")},
        id_col=names.get("building_id"),
    )
    _validate.warn_defaults(streets=streets, target=target, n_grids=n_grids, by=by, communities=comm)
    street_layer = (_validate.streets(read_layer(streets, label="streets", encoding=encoding))
                    if streets is not None else None)
    metric = pyproj.CRS.from_user_input(crs) if crs is not None else local_metric_crs(comm)
    if not metric.is_projected:
        raise GridkitError(f"crs must be a projected (metric) CRS; got {metric.to_string()}")
    comm_m, bld_m = comm.to_crs(metric), bld.to_crs(metric)
    comm_m.attrs["source"] = comm.attrs.get("source")
    key = _batch_key(raw, batch_by or names.get("street_office"))
    return Inputs(communities=comm_m, buildings=bld_m,
                  building_community=community_of_buildings(comm_m, bld_m, outside=outside),
                  lines=street_lines(street_layer, metric), crs=metric, output_crs=comm.crs, batch_key=key)


def _batch_key(raw: gpd.GeoDataFrame, column: str | None) -> np.ndarray | None:
    if column is not None and column not in raw.columns:
        raise GridkitError(f"communities have no column {column!r} to batch by",
                           source=raw.attrs.get("source"), column=column)
    for name in ([column] if column else BATCH_COLUMNS):
        if name in raw.columns:
            values = raw[name].astype("string").fillna("").to_numpy(dtype=object)
            return values
    return None


def building_weight(bld: gpd.GeoDataFrame, community: np.ndarray, measure: Measure,
                    targets: Sequence[Mapping[str, float]]) -> np.ndarray:
    """Normalised weight per building (a grid's worth is 1.0); 0 for buildings outside every community."""
    weight = np.zeros(len(bld))
    inside = community >= 0
    for name in ("households", "population"):
        share = measure.shares.get(name, 0.0)
        if share:
            per_target = np.array([t[name] for t in targets])
            weight[inside] += share * bld[name].to_numpy(float)[inside] / per_target[community[inside]]
    return weight


def _weights(comm: gpd.GeoDataFrame, bld: gpd.GeoDataFrame, building_community: np.ndarray,
             measure: Measure) -> tuple[np.ndarray, np.ndarray]:
    """Per building its normalised weight, per community its weight per m²."""
    targets = [measure.per_grid_target(t) for t in comm["target"].to_numpy(float)]
    unit = building_weight(bld, building_community, measure, targets)
    area_weight = np.array([measure.shares.get("area", 0.0) / t.get("area", 1.0) for t in targets])
    return unit, area_weight


def check_sequence_limit(inputs: Inputs, options: PartitionOptions) -> None:
    """Refuse, before any work, a community that would need more grids than its codes can number.

    The count is estimated from the community's total weight (or taken from ``n_grids``); the exact
    count can differ by an oversize grid or two, which :func:`gridkit.codes.grid_code` still checks.
    """
    limit = max_sequence(options.sequence_digits)
    comm = inputs.communities
    unit, area_weight = _weights(comm, inputs.buildings, inputs.building_community, options.measure)
    inside = inputs.building_community >= 0
    total = np.bincount(inputs.building_community[inside], weights=unit[inside], minlength=len(comm))
    total = total + area_weight * comm.geometry.area.to_numpy()
    for c, cid in enumerate(comm["community_id"]):
        asked = _asked(options.n_grids, cid)
        count = int(asked) if asked is not None else round(float(total[c]))
        if count > limit:
            more = " or sequence_digits=4 (4-digit sequence numbers, up to 9,999 grids)" \
                if options.sequence_digits == 3 else ""
            raise PartitionError(
                f"community {cid!r} would need about {count:,} grids but a {options.sequence_digits}-digit sequence "
                f"numbers at most {limit:,}: raise its target, split the community{more}",
                source=comm.attrs.get("source"), row=c, feature=cid)


@dataclass
class Batch:
    """One batch of communities, as plain data that pickles (to a worker process or a Dask worker).

    Attributes
    ----------
    batch_id
        The street office (or ``batch-NNN``) the batch stands for.
    rows
        Community rows of the whole run, ascending.
    communities, buildings
        The batch's communities and the buildings inside them (metric CRS).
    building_rows
        Row of each of the batch's buildings in the whole run.
    building_community
        Community row of each building within the batch (0..len(communities)-1).
    lines
        Streets near the batch's communities (metric CRS).
    options
        How to partition.
    output_crs
        The CRS grids are returned in.
    """

    batch_id: str
    rows: np.ndarray
    communities: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    building_rows: np.ndarray
    building_community: np.ndarray
    lines: np.ndarray
    options: PartitionOptions
    output_crs: pyproj.CRS | None

    @property
    def cost(self) -> float:
        """Expected work: buildings plus a share for ground (largest batches are run first)."""
        return float(len(self.buildings)) + float(self.communities.geometry.area.sum()) / 2_000.0


def make_batches(inputs: Inputs, options: PartitionOptions, *, max_buildings: int = BATCH_BUILDINGS) -> list[Batch]:
    """Split a run into batches: one per street office, else consecutive communities of similar size.

    Without a street office column, communities are taken in their order and a batch is closed once
    it holds ``max_buildings`` buildings. The batching never changes the result: each community is
    partitioned on its own, with the streets near it.
    """
    comm = inputs.communities
    n = len(comm)
    if inputs.batch_key is not None:
        keys = pd.Series(inputs.batch_key)
        indices = keys.groupby(keys, sort=False).indices
        groups = [np.sort(np.asarray(rows, dtype=np.int64)) for rows in indices.values()]
        names = [str(k) if str(k) else "(no street office)" for k in indices]
    else:
        inside = inputs.building_community >= 0
        size = np.bincount(inputs.building_community[inside], minlength=n)
        groups, names, start, held = [], [], 0, 0
        for c in range(n):
            held += int(size[c])
            if held >= max_buildings or c == n - 1:
                groups.append(np.arange(start, c + 1))
                names.append(f"batch-{len(groups):03d}")
                start, held = c + 1, 0
    by_community = pd.Series(np.arange(len(inputs.buildings)))
    members = by_community.groupby(inputs.building_community).indices
    tree = shapely.STRtree(inputs.lines) if len(inputs.lines) else None
    geoms = comm.geometry.to_numpy()
    out = []
    for name, rows in zip(names, groups, strict=True):
        building_rows = np.sort(np.concatenate([members.get(int(c), np.empty(0, dtype=np.int64)) for c in rows])) \
            if len(rows) else np.empty(0, dtype=np.int64)
        local = np.full(n, -1, dtype=np.int64)
        local[rows] = np.arange(len(rows))
        if tree is not None:
            near = np.unique(tree.query(shapely.buffer(shapely.envelope(geoms[rows]), STREET_MARGIN_M))[1])
            lines = inputs.lines[near]
        else:
            lines = np.empty(0, dtype=object)
        sub = comm.iloc[rows].reset_index(drop=True)
        sub.attrs["source"] = comm.attrs.get("source")
        out.append(Batch(batch_id=name, rows=rows, communities=sub,
                         buildings=inputs.buildings.iloc[building_rows].reset_index(drop=True),
                         building_rows=building_rows,
                         building_community=local[inputs.building_community[building_rows]],
                         lines=lines, options=options, output_crs=inputs.output_crs))
    return out


@dataclass
class BatchResult:
    """What :func:`partition_batch` returns (picklable).

    Attributes
    ----------
    batch_id, rows, building_rows
        As in the :class:`Batch`.
    grids
        The batch's grids in the output CRS, ordered by community then sequence.
    building_grid
        Grid code of each of the batch's buildings.
    atoms
        The batch's atoms (metric CRS) with ``grid_id``; ``atom_id`` and ``block_id`` local to the batch.
    report
        One row per community of the batch.
    warnings
        The :class:`~gridkit.errors.GridkitWarning` messages raised, to be raised again by the caller.
    seconds, peak_rss_mb, pid
        Wall time of the batch, peak resident memory of the process that ran it (MB), its process id.
    """

    batch_id: str
    rows: np.ndarray
    building_rows: np.ndarray
    grids: gpd.GeoDataFrame
    building_grid: np.ndarray
    atoms: gpd.GeoDataFrame
    report: pd.DataFrame
    warnings: list[str]
    seconds: float
    peak_rss_mb: float
    pid: int


def partition_batch(batch: Batch, progress: Callable[[str, int, int], None] | None = None) -> BatchResult:
    """Partition every community of one batch into balanced, contiguous, street-bounded grids.

    Parameters
    ----------
    batch
        A payload made by :func:`make_batches`.
    progress
        Called as ``progress(batch_id, done, total)`` after each community.

    Returns
    -------
    BatchResult
        Grids (output CRS), the grid of each building, atoms, per-community report and warnings.

    Examples
    --------
    >>> from gridkit.engine import make_batches, parse_measure, partition_batch, prepare_inputs
    >>> from gridkit.engine import PartitionOptions
    >>> from gridkit.samples import load_sample
    >>> s = load_sample()
    >>> inputs = prepare_inputs(s.communities, s.buildings, s.streets)
    >>> batch = make_batches(inputs, PartitionOptions(parse_measure("households", None)))[0]
    >>> result = partition_batch(batch)
    >>> len(result.grids) > 0
    True
    """
    started = time.perf_counter()
    options = batch.options
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GridkitWarning)
        comm, bld, bc = batch.communities, batch.buildings, batch.building_community
        unit, area_weight = _weights(comm, bld, bc, options.measure)
        made = build_atoms(comm, bld, batch.lines, split_weight=unit,
                           split_above=np.full(len(comm), options.split_share), area_weight=area_weight,
                           building_community=bc)
        atoms = made.atoms
        inside = bc >= 0
        atoms["weight"] = np.bincount(made.building_atom[inside], weights=unit[inside], minlength=len(atoms))
        atom_community = _rows_of(atoms["community_id"], comm["community_id"])
        atoms["weight"] += area_weight[atom_community] * atoms["area_m2"].to_numpy()
        grids, labels, rows = _partition_communities(batch, atoms, atom_community, made.shared, progress,
                                                     street=made.street)
        atoms["grid_id"] = grids["grid_id"].to_numpy()[labels]
        report = _finish_report(rows, comm, grids, options.tolerance, options.measure)
        building_grid = np.full(len(bld), pd.NA, dtype=object)
        building_grid[inside] = atoms["grid_id"].to_numpy()[made.building_atom[inside]]
        grids = to_output_crs(grids, batch.output_crs) if batch.output_crs is not None else grids
    messages = [str(w.message) for w in caught if issubclass(w.category, GridkitWarning)]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return BatchResult(batch_id=batch.batch_id, rows=batch.rows, building_rows=batch.building_rows, grids=grids,
                       building_grid=building_grid, atoms=atoms, report=report, warnings=messages,
                       seconds=time.perf_counter() - started, peak_rss_mb=peak, pid=os.getpid())


def _rows_of(values: pd.Series, ids: pd.Series) -> np.ndarray:
    """Position in ``ids`` of every value (one hash lookup each)."""
    index = pd.Index(ids.to_numpy())
    return index.get_indexer(values.to_numpy()).astype(np.int64)


def to_output_crs(grids: gpd.GeoDataFrame, crs: object) -> gpd.GeoDataFrame:
    """Grids in ``crs``, valid there and again when projected back to the metric CRS.

    A grid whose ring passes within a rounding error of itself (where four blocks meet at a
    jittered crossing) can come out self-intersecting after a round trip through lon/lat. Such
    grids are opened by a micrometre (``buffer(-1e-6).buffer(1e-6)``, mitred) before projecting;
    the others are left exactly as they are.
    """
    out = grids.to_crs(crs)
    geoms = repair_polygons(out.geometry.to_numpy())
    back = gpd.GeoSeries(geoms, crs=crs).to_crs(grids.crs).to_numpy()
    fragile = ~shapely.is_valid(back) | ~shapely.is_valid(geoms)
    if fragile.any():
        metric = grids.geometry.to_numpy()[fragile]
        opened = shapely.buffer(shapely.buffer(metric, -1e-6, join_style="mitre"), 1e-6, join_style="mitre")
        geoms = geoms.copy()
        geoms[fragile] = repair_polygons(gpd.GeoSeries(opened, crs=grids.crs).to_crs(crs).to_numpy())
    return out.set_geometry(geoms, crs=crs)


_GRID_COLUMNS = ["grid_id", "community_id", "seq", "households", "population", "area_m2", "n_buildings",
                 "deviation", "polsby_popper", "oversize", "weight", "geometry"]


def _partition_communities(batch: Batch, atoms: gpd.GeoDataFrame, atom_community: np.ndarray,
                           shared: sp.csr_matrix, progress: Callable[[str, int, int], None] | None,
                           street: sp.csr_matrix | None = None,
                           ) -> tuple[gpd.GeoDataFrame, np.ndarray, list[dict]]:
    comm, options = batch.communities, batch.options
    labels = np.full(len(atoms), -1, dtype=np.int64)
    pieces, report, remaps = [], [], []
    offset = 0
    of_community = pd.Series(np.arange(len(atoms))).groupby(atom_community).indices
    for c, cid in enumerate(comm["community_id"]):
        idx = of_community.get(c, np.empty(0, dtype=np.int64))
        sub_atoms = atoms.iloc[idx]
        weight = sub_atoms["weight"].to_numpy(float)
        k, notes = _grid_count(weight, options.tolerance, options.n_grids, cid)
        sub_street = street[idx][:, idx] if street is not None else None
        result = best_count(sub_atoms, shared[idx][:, idx], weight, k, tolerance=options.tolerance,
                            seed=options.seed, interior_penalty=options.interior_penalty,
                            fixed=_asked(options.n_grids, cid) is not None, street=sub_street)
        grids_c = dissolve_grids(sub_atoms, result.labels)
        grids_c["community_id"] = cid
        grids_c["weight"] = np.bincount(result.labels, weights=weight, minlength=len(grids_c))
        grids_c["oversize"] = result.oversize[: len(grids_c)]
        order = reading_order(shapely.point_on_surface(grids_c.geometry.to_numpy()),
                              np.sqrt(comm.geometry.iloc[c].area / max(1, len(grids_c))))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(1, len(order) + 1)
        grids_c["seq"] = rank
        grids_c["grid_id"] = [grid_code(comm["code"].iloc[c], cid, int(s), digits=options.sequence_digits)
                              for s in rank]
        grids_c["deviation"] = deviations(grids_c["weight"].to_numpy(), grids_c["oversize"].to_numpy())
        labels[idx] = result.labels + offset
        remaps.append(offset + rank - 1)
        offset += len(grids_c)
        pieces.append(grids_c.iloc[np.argsort(rank)])
        normal_atoms = weight[weight <= 1 + options.tolerance]
        report.append({"community_id": cid, "k_planned": k, "notes": notes + result.notes,
                       "largest_atom": float(normal_atoms.max()) if len(normal_atoms) else 0.0,
                       "balance_bound": result.balance_bound})
        if progress is not None:
            progress(batch.batch_id, c + 1, len(comm))
    grids = gpd.GeoDataFrame(pd.concat(pieces, ignore_index=True), crs=comm.crs) if pieces else \
        gpd.GeoDataFrame(columns=_GRID_COLUMNS, geometry="geometry", crs=comm.crs)
    grids["polsby_popper"] = polsby_popper(grids.geometry.to_numpy())
    grids = gpd.GeoDataFrame(grids[_GRID_COLUMNS], crs=comm.crs)
    # labels count grids in dissolve order; the grids are now in code order within each community
    remap = np.concatenate(remaps) if remaps else np.empty(0, dtype=np.int64)
    return grids, remap[labels] if len(labels) else labels, report


def _asked(n_grids: int | Mapping[object, int] | None, cid: object) -> int | None:
    if n_grids is None:
        return None
    return n_grids.get(cid) if isinstance(n_grids, Mapping) else n_grids


def _grid_count(weight: np.ndarray, tolerance: float, n_grids: int | Mapping[object, int] | None,
                cid: object) -> tuple[int, list[str]]:
    """Number of grids for one community (weights normalised: one grid's target is 1.0)."""
    notes: list[str] = []
    over = weight > 1 + tolerance
    rest = weight[~over].sum()
    asked = _asked(n_grids, cid)
    if asked is not None:
        return max(1, int(asked)), notes
    k_rest = max(1, round(rest)) if rest > 0 else 0
    if weight.sum() < 1 - tolerance:
        notes.append(f"the community holds {weight.sum():.2f} of one grid's target, less than the lower "
                     "bound; it was made one grid")
    mean = rest / k_rest if k_rest else 0.0
    if k_rest and rest >= 1 - tolerance and abs(mean - 1) > tolerance:
        notes.append(f"no whole number of grids fits the target: {k_rest} grid(s) average {mean:.2f} of it "
                     f"(±{tolerance:.0%} is measured against the community's own mean)")
    positive = int((weight[~over] > 0).sum())
    if k_rest > max(positive, 1):
        notes.append(f"only {positive} non-empty atoms for {k_rest} grids; made {positive} grids")
        k_rest = max(positive, 1)
    return max(1, int(over.sum()) + k_rest), notes


def _finish_report(rows: list[dict], comm: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, tolerance: float,
                   measure: Measure) -> pd.DataFrame:
    out = []
    of_community = pd.Series(np.arange(len(grids))).groupby(grids["community_id"].to_numpy()).indices
    names = comm["name"].to_numpy()
    for c, row in enumerate(rows):
        mine = grids.iloc[of_community.get(row["community_id"], np.empty(0, dtype=np.int64))]
        normal = mine[~mine["oversize"].to_numpy(bool)]
        dev = normal["deviation"].abs()
        within = float((dev <= tolerance + 1e-12).mean()) if len(normal) else 1.0
        notes = list(row["notes"])
        status = "ok"
        bound = row.get("balance_bound")
        if len(normal) and within < 1.0:
            status = "tolerance_not_reached"
            notes.append(f"±{tolerance:.0%} not reached for {int((dev > tolerance + 1e-12).sum())} of "
                         f"{len(normal)} grids; {describe_balance_limit(bound, float(dev.max()))} (buildings are "
                         "large against the target: the largest block or building cell that is not oversize "
                         f"holds {row['largest_atom']:.2f} of a grid's target)")
        if any("less than the lower bound" in n for n in notes):
            status = "below_target"
        out.append({
            "community_id": row["community_id"], "name": names[c], "n_grids": len(mine),
            "k_planned": row["k_planned"], "n_oversize": int(mine["oversize"].sum()),
            "households": int(mine["households"].sum()), "population": int(mine["population"].sum()),
            "max_abs_deviation": float(dev.max()) if len(normal) else 0.0, "share_within_tolerance": within,
            "best_possible_deviation": bound.lower if bound is not None else float("nan"),
            "status": status, "message": "; ".join(notes), "by": measure.label(),
        })
        if notes:
            warnings.warn(f"community {row['community_id']!r}: " + "; ".join(notes), GridkitWarning, stacklevel=4)
    return pd.DataFrame(out)


def merge_results(inputs: Inputs, results: Sequence[BatchResult]) -> PartitionResult:
    """Put batch results together: grids by community (input order) then code, buildings in input order.

    Warnings the batches raised are raised again here, in the communities' order. Buildings of
    batches missing from ``results`` (failed batches) get an empty ``grid_id`` and status
    ``batch_failed``.
    """
    results = sorted(results, key=lambda r: int(r.rows[0]) if len(r.rows) else -1)
    crs_out = inputs.output_crs if inputs.output_crs is not None else inputs.crs
    pieces = [r.grids for r in results if len(r.grids)]
    grids = gpd.GeoDataFrame(pd.concat(pieces, ignore_index=True), crs=crs_out) if pieces else \
        gpd.GeoDataFrame(columns=_GRID_COLUMNS, geometry="geometry", crs=crs_out)
    order = np.lexsort((grids["seq"].to_numpy(int), _rows_of(grids["community_id"],
                                                            inputs.communities["community_id"])))
    grids = grids.iloc[order].reset_index(drop=True)
    atoms_parts, atom_offset, block_offset = [], 0, 0
    for r in results:
        a = r.atoms.copy()
        a["atom_id"] = a["atom_id"].to_numpy() + atom_offset
        a["block_id"] = a["block_id"].to_numpy() + block_offset
        atom_offset += len(a)
        block_offset += int(r.atoms["block_id"].max()) + 1 if len(r.atoms) else 0
        atoms_parts.append(a)
    atoms = gpd.GeoDataFrame(pd.concat(atoms_parts, ignore_index=True), crs=inputs.crs) if atoms_parts else \
        gpd.GeoDataFrame(geometry=[], crs=inputs.crs)
    assignment = _assignment(inputs, results)
    report = pd.concat([r.report for r in results], ignore_index=True) if results else pd.DataFrame()
    if len(report):
        report = report.iloc[np.argsort(_rows_of(report["community_id"], inputs.communities["community_id"]),
                                        kind="stable")].reset_index(drop=True)
    for r in results:
        for message in r.warnings:
            warnings.warn(message, GridkitWarning, stacklevel=3)
    table = pd.DataFrame([{"batch_id": r.batch_id, "communities": len(r.rows), "buildings": len(r.building_rows),
                           "grids": len(r.grids), "seconds": round(r.seconds, 3),
                           "peak_rss_mb": round(r.peak_rss_mb, 1), "pid": r.pid, "status": "ok", "error": ""}
                          for r in results])
    return PartitionResult(grids=grids, assignment=assignment, atoms=atoms, report=report, crs=inputs.crs,
                           batches=table)


def _assignment(inputs: Inputs, results: Sequence[BatchResult]) -> pd.DataFrame:
    bld, bc = inputs.buildings, inputs.building_community
    n = len(bld)
    grid_id = np.full(n, pd.NA, dtype=object)
    done = np.zeros(n, dtype=bool)
    for r in results:
        grid_id[r.building_rows] = r.building_grid
        done[r.building_rows] = True
    inside = bc >= 0
    community = np.full(n, pd.NA, dtype=object)
    community[inside & done] = inputs.communities["community_id"].to_numpy()[bc[inside & done]]
    out = pd.DataFrame({"building_id": bld["building_id"].to_numpy(), "grid_id": grid_id,
                        "community_id": community, "estimated": bld["estimated"].to_numpy(bool)})
    out["status"] = np.where(inside & done, "assigned", np.where(inside, "batch_failed", "outside_communities"))
    if (~inside).any():
        warnings.warn(f"{int((~inside).sum())} buildings lie outside every community and were left out of the "
                      "grids; they are listed in the assignment with status 'outside_communities'",
                      GridkitWarning, stacklevel=4)
    return out


def polish_labels(atoms: gpd.GeoDataFrame, shared: sp.csr_matrix, weights: np.ndarray, labels: np.ndarray, *,
                  tolerance: float, interior_penalty: float, rng: np.random.Generator) -> np.ndarray:
    """Balance a labelling of atoms against a mean grid of 1 by local search that moves few atoms.

    Used by :mod:`gridkit.regenerate` to repair a previous plan: grids of a single atom heavier than
    the upper bound are frozen; the rest are balanced, recombined where stuck, then refined
    (cheaper cuts: a metre through a block costs ``interior_penalty`` metres of street).

    Parameters
    ----------
    atoms
        Atoms (metric CRS) with ``block_id``.
    shared
        Shared boundary length between atoms (m).
    weights
        Weight per atom (one grid = 1).
    labels
        Starting grid (0..k-1) of each atom.
    tolerance
        Relative tolerance.
    interior_penalty
        Cost factor of a cut through a block.
    rng
        Random generator of the search.
    """
    from gridkit.atom_partition import cut_cost, street_edges_from_blocks  # noqa: PLC0415

    street = street_edges_from_blocks(shared, atoms["block_id"].to_numpy())
    graph = EdgeList.from_matrix(cut_cost(shared, street, interior_penalty=interior_penalty))
    interior = graph.cost > np.asarray(shared.tocsr()[graph.row, graph.col]).ravel() * (1 + 1e-9)
    xy = shapely.get_coordinates(shapely.centroid(atoms.geometry.to_numpy()))
    k = int(labels.max()) + 1
    size = np.bincount(labels, minlength=k)
    frozen = (size == 1) & (np.bincount(labels, weights=weights, minlength=k) > 1 + tolerance)
    plan = Plan(graph, weights, labels, mean=1.0, tolerance=tolerance, rng=rng, frozen=frozen, xy=xy,
                interior=interior)
    plan.balance()
    plan.recombine()
    plan.refine()
    return plan.labels
