"""The partition engine: balanced, street-bounded grids for every community.

:func:`partition` reads and checks the inputs, cuts each community into street-bounded atoms
(:mod:`gridkit.blocks`), partitions each community's atom graph on its own
(:mod:`gridkit.atom_partition`), dissolves the atoms into grid polygons, numbers them
(:mod:`gridkit.codes`) and returns the grids in the communities' CRS with the building assignment
and a per-community report that says plainly where a target could not be met and what was done.

Balancing measures are normalised by their target, so a mix such as
``by={"households": 0.7, "area": 0.3}`` balances 0.7 × households/300 + 0.3 × m²/10,000 per grid.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely

from gridkit import _validate
from gridkit.atom_partition import (
    DEFAULT_TARGETS,
    INTERIOR_PENALTY,
    best_count,
    dissolve_grids,
    partition_atoms,
)
from gridkit.blocks import build_atoms, community_of_buildings
from gridkit.codes import grid_code, reading_order
from gridkit.crs import local_metric_crs
from gridkit.errors import GridkitError, GridkitWarning
from gridkit.io import read_layer, repair_polygons
from gridkit.limits import describe_balance_limit
from gridkit.metrics import deviations, polsby_popper
from gridkit.network import street_lines

__all__ = ["PartitionResult", "dissolve_grids", "partition", "partition_atoms"]

Source: TypeAlias = str | os.PathLike[str] | gpd.GeoDataFrame
_MEASURES = ("households", "population", "area")


@dataclass
class PartitionResult:
    """What :func:`partition` returns; unpacks as ``grids, assignment = result``.

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
    alternatives
        With ``n_alternatives=K``: K plans (this one first), each with its own seed; compare
        them with :func:`gridkit.alternatives.compare_plans`.
    """

    grids: gpd.GeoDataFrame
    assignment: pd.DataFrame
    atoms: gpd.GeoDataFrame
    report: pd.DataFrame
    crs: pyproj.CRS
    alternatives: list[PartitionResult] = field(default_factory=list)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter((self.grids, self.assignment))


@dataclass
class _Measure:
    shares: dict[str, float]
    targets: dict[str, float]

    def per_grid_target(self, community_target: float) -> dict[str, float]:
        if len(self.shares) == 1 and not np.isnan(community_target):
            return {next(iter(self.shares)): float(community_target)}
        return self.targets


def _measure(by: str | Mapping[str, float], target: float | Mapping[str, float] | None) -> _Measure:
    if isinstance(by, str):
        _validate.option("by", by)
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
    return _Measure(shares, targets)


def partition(  # noqa: PLR0913 - keyword-only options, as in osmnx
    communities: Source,
    buildings: Source,
    streets: Source | None = None,
    *,
    by: _validate.Measure | Mapping[str, float] = "households",
    target: float | Mapping[str, float] | None = None,
    tolerance: float = 0.1,
    n_grids: int | Mapping[object, int] | None = None,
    seed: int = 0,
    columns: Mapping[str, str] | None = None,
    crs: object = None,
    outside: _validate.Outside = "error",
    overlapping: _validate.Overlapping = "error",
    encoding: str | None = None,
    split_share: float = 0.25,
    interior_penalty: float = INTERIOR_PENALTY,
    progress: Callable[[str, int, int], None] | None = None,
    n_alternatives: int = 1,
    locked: Source | None = None,
    locked_codes: Sequence[str] | None = None,
) -> PartitionResult:
    """Partition every community into balanced, contiguous, street-bounded grids.

    Parameters
    ----------
    communities
        Community polygons (path or GeoDataFrame, any CRS): ``community_id``, optional ``name``,
        ``code`` (12 digits) and ``target`` (overrides ``target`` for that community).
    buildings
        Building polygons or points (any CRS): ``building_id``, ``households``, ``population``;
        missing counts are estimated from footprint × ``levels`` (with a warning).
    streets
        Street centrelines (path or GeoDataFrame, any CRS); grids are bounded by them wherever the
        balance allows. Without streets, blocks are the communities themselves.
    by
        Balanced measure: ``"households"``, ``"population"``, ``"area"`` (m²), or a mapping of
        them to shares for a weighted mix.
    target
        Target per grid in the measure's unit (households, persons or m²); defaults
        :data:`~gridkit.atom_partition.DEFAULT_TARGETS` (300 households, 1,000 persons, 10,000 m²).
        For a mix, a mapping per measure.
    tolerance
        Two-sided relative tolerance around each community's mean grid size (0.1 = ±10 %).
    n_grids
        Number of grids (per community as a mapping ``community_id → n``) instead of the target.
    seed
        Seed; the result is deterministic for a given seed. Seed 0 is the default plan; other
        seeds draw genuinely different good plans (other first cuts, then the same local search).
    columns
        Input column names where they differ from the standard ones, e.g.
        ``{"households": "hh", "community_id": "sq_id"}`` (keys: ``community_id``, ``name``, ``code``,
        ``target``, ``building_id``, ``households``, ``population``, ``levels``, ``use``). A column
        named here that the layer lacks is an error with "did you mean"; a standard column that is
        absent is looked up by common names (``户数``, ``人口``, ``社区编码`` …, with a warning).
    crs
        Metric CRS to work in; default the UTM zone of the data.
    outside
        ``"error"`` (default) for buildings outside every community, or ``"report"`` to leave
        them out of the grids and list them in the assignment with an empty ``grid_id``.
    overlapping
        ``"error"`` (default) for communities that overlap (naming both), or ``"clip"`` to give each
        overlap to the community listed first.
    encoding
        Text encoding of CSV and Shapefile inputs; default detected (UTF-8, GBK/GB18030, with a
        warning when not UTF-8).
    split_share
        A street block heavier than ``split_share`` × target is split into building cells.
    interior_penalty
        How much dearer a metre of grid boundary through a block is than one along a street.
    progress
        Called as ``progress(step, done, total)`` while communities are partitioned.
    n_alternatives
        Number of plans to make on the same atoms (seeds ``seed, seed + 1, …``); the first is
        returned and all are in ``result.alternatives``.
    locked, locked_codes
        Grids to keep exactly (polygon, code, buildings): the rows of ``locked`` with a true
        ``locked`` column and/or whose ``grid_id`` is in ``locked_codes``. The rest of each
        community is planned around them (:mod:`gridkit.locks`); the grids get a ``locked`` column
        and the report says where a lock keeps a grid outside the tolerance.

    Returns
    -------
    PartitionResult
        Grids (communities' CRS), assignment, atoms, report; unpacks as ``grids, assignment``.
    """
    _validate.fraction("tolerance", tolerance)
    _validate.option("outside", outside)
    _validate.option("overlapping", overlapping)
    names = _validate.check_column_names(columns, _validate.COLUMN_KEYS)
    if isinstance(n_alternatives, bool) or not isinstance(n_alternatives, int) or n_alternatives < 1:
        raise GridkitError(f"n_alternatives must be a whole number of plans, at least 1; got {n_alternatives!r}")
    if locked is not None:
        from gridkit.locks import locked_grids, partition_around_locked  # noqa: PLC0415

        keep = locked_grids(locked, locked_codes)
        if len(keep):
            if n_alternatives > 1:
                raise GridkitError("n_alternatives and locked grids cannot be combined yet; plan alternatives "
                                   "without locks, or lock first and plan one")
            return partition_around_locked(
                partition, communities, buildings, streets, locked=keep, columns=names, tolerance=tolerance, by=by,
                target=target, n_grids=n_grids, seed=seed, crs=crs, outside=outside, split_share=split_share,
                interior_penalty=interior_penalty, progress=progress)
    measure = _measure(by, target)
    comm = _validate.communities(
        read_layer(communities, label="communities", encoding=encoding),
        **{f"{k}_col": names.get(k) for k in ("name", "code", "target")},
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
    comm_m, bld_m = comm.to_crs(metric), bld.to_crs(metric)
    lines = street_lines(street_layer, metric)
    building_community = community_of_buildings(comm_m, bld_m, outside="report")
    _validate.buildings_outside(comm_m, bld, bld_m, building_community, outside=outside)
    targets = [measure.per_grid_target(t) for t in comm_m["target"].to_numpy(float)]
    unit = _building_weight(bld_m, building_community, measure, targets)
    area_weight = np.array([measure.shares.get("area", 0.0) / t.get("area", 1.0) for t in targets])
    atoms_obj = build_atoms(comm_m, bld_m, lines, split_weight=unit, split_above=np.full(len(comm_m), split_share),
                            area_weight=area_weight, building_community=building_community)
    atoms = atoms_obj.atoms
    atoms["weight"] = np.bincount(atoms_obj.building_atom[building_community >= 0],
                                  weights=unit[building_community >= 0], minlength=len(atoms))
    atoms["weight"] += area_weight[_community_rows(atoms, comm_m)] * atoms["area_m2"].to_numpy()

    def plan(plan_seed: int) -> PartitionResult:
        grids, labels, report = _partition_communities(
            comm_m, atoms, atoms_obj.shared, tolerance=tolerance, n_grids=n_grids, seed=plan_seed,
            interior_penalty=interior_penalty, progress=progress, street=atoms_obj.street,
        )
        plan_atoms = atoms.copy()
        plan_atoms["grid_id"] = grids["grid_id"].to_numpy()[labels]
        assignment = _assignment(bld_m, plan_atoms, atoms_obj.building_atom, building_community)
        report = _finish_report(report, comm_m, grids, tolerance, measure)
        return PartitionResult(grids=_to_output_crs(grids, comm.crs), assignment=assignment, atoms=plan_atoms,
                               report=report, crs=metric)

    result = plan(seed)
    if n_alternatives > 1:
        with warnings.catch_warnings():  # the first plan has said what there is to say
            warnings.simplefilter("ignore", GridkitWarning)
            result.alternatives = [result] + [plan(seed + i) for i in range(1, n_alternatives)]
    return result


def _to_output_crs(grids: gpd.GeoDataFrame, crs: object) -> gpd.GeoDataFrame:
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


def _community_rows(atoms: gpd.GeoDataFrame, comm: gpd.GeoDataFrame) -> np.ndarray:
    lookup = {cid: i for i, cid in enumerate(comm["community_id"])}
    return np.array([lookup[c] for c in atoms["community_id"]], dtype=np.int64)


def _building_weight(bld: gpd.GeoDataFrame, community: np.ndarray, measure: _Measure,
                     targets: list[dict[str, float]]) -> np.ndarray:
    """Normalised weight per building (a grid's worth is 1.0); 0 for buildings outside."""
    weight = np.zeros(len(bld))
    inside = community >= 0
    for name in ("households", "population"):
        share = measure.shares.get(name, 0.0)
        if share:
            per_target = np.array([t[name] for t in targets])
            weight[inside] += share * bld[name].to_numpy(float)[inside] / per_target[community[inside]]
    return weight


def _partition_communities(
    comm: gpd.GeoDataFrame, atoms: gpd.GeoDataFrame, shared: sp.csr_matrix, *, tolerance: float,
    n_grids: int | Mapping[object, int] | None, seed: int, interior_penalty: float,
    progress: Callable[[str, int, int], None] | None, street: sp.csr_matrix | None = None,
) -> tuple[gpd.GeoDataFrame, np.ndarray, list[dict]]:
    labels = np.full(len(atoms), -1, dtype=np.int64)
    pieces, report = [], []
    offset = 0
    for c, cid in enumerate(comm["community_id"]):
        if progress is not None:
            progress("partition", c, len(comm))
        idx = np.flatnonzero((atoms["community_id"] == cid).to_numpy())
        sub_atoms = atoms.iloc[idx]
        weight = sub_atoms["weight"].to_numpy(float)
        k, notes = _grid_count(weight, tolerance, n_grids, cid)
        sub_street = street[idx][:, idx] if street is not None else None
        result = best_count(sub_atoms, shared[idx][:, idx], weight, k, tolerance=tolerance, seed=seed,
                            interior_penalty=interior_penalty, fixed=_asked(n_grids, cid) is not None,
                            street=sub_street)
        grids_c = dissolve_grids(sub_atoms, result.labels)
        grids_c["community_id"] = cid
        grids_c["weight"] = np.bincount(result.labels, weights=weight, minlength=len(grids_c))
        grids_c["oversize"] = result.oversize[: len(grids_c)]
        order = reading_order(shapely.point_on_surface(grids_c.geometry.to_numpy()),
                              np.sqrt(comm.geometry.iloc[c].area / max(1, len(grids_c))))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(1, len(order) + 1)
        grids_c["seq"] = rank
        grids_c["grid_id"] = [grid_code(comm["code"].iloc[c], cid, int(s)) for s in rank]
        labels[idx] = result.labels + offset
        offset += len(grids_c)
        pieces.append(grids_c)
        normal_atoms = weight[weight <= 1 + tolerance]
        report.append({"community_id": cid, "k_planned": k, "notes": notes + result.notes,
                       "largest_atom": float(normal_atoms.max()) if len(normal_atoms) else 0.0,
                       "balance_bound": result.balance_bound})
    if progress is not None:
        progress("partition", len(comm), len(comm))
    grids = pd.concat(pieces, ignore_index=True)
    grids["deviation"] = np.concatenate([
        deviations(p["weight"].to_numpy(), p["oversize"].to_numpy()) for p in pieces
    ])
    grids["polsby_popper"] = polsby_popper(grids.geometry.to_numpy())
    columns = ["grid_id", "community_id", "seq", "households", "population", "area_m2", "n_buildings",
               "deviation", "polsby_popper", "oversize", "weight", "geometry"]
    # grids are ordered by community, then by their code
    grids = gpd.GeoDataFrame(grids[columns], crs=comm.crs)
    order = np.lexsort((grids["seq"].to_numpy(), _community_rows(grids, comm)))
    new_position = np.empty(len(order), dtype=np.int64)
    new_position[order] = np.arange(len(order))
    return grids.iloc[order].reset_index(drop=True), new_position[labels], report


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
        notes.append(f"only {positive} blocks or building cells with households for {k_rest} grids; "
                     f"made {positive} grids")
        k_rest = max(positive, 1)
    return max(1, int(over.sum()) + k_rest), notes


def _assignment(bld: gpd.GeoDataFrame, atoms: gpd.GeoDataFrame, building_atom: np.ndarray,
                building_community: np.ndarray) -> pd.DataFrame:
    inside = building_community >= 0
    grid_id = pd.Series(pd.NA, index=range(len(bld)), dtype="string")
    grid_id[inside] = atoms["grid_id"].to_numpy()[building_atom[inside]]
    community = pd.Series(pd.NA, index=range(len(bld)), dtype=object)
    community[inside] = atoms["community_id"].to_numpy()[building_atom[inside]]
    out = pd.DataFrame({"building_id": bld["building_id"].to_numpy(), "grid_id": grid_id.to_numpy(),
                        "community_id": community.to_numpy(), "estimated": bld["estimated"].to_numpy(bool)})
    out["status"] = np.where(inside, "assigned", "outside_communities")
    if (~inside).any():
        warnings.warn(f"{int((~inside).sum())} buildings lie outside every community and were left out of the "
                      "grids; they are listed in the assignment with status 'outside_communities'",
                      GridkitWarning, stacklevel=3)
    return out


def _finish_report(rows: list[dict], comm: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, tolerance: float,
                   measure: _Measure) -> pd.DataFrame:
    out = []
    for row, (_, community) in zip(rows, comm.iterrows(), strict=True):
        mine = grids[grids["community_id"] == row["community_id"]]
        normal = mine[~mine["oversize"]]
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
            "community_id": row["community_id"], "name": community["name"], "n_grids": len(mine),
            "k_planned": row["k_planned"], "n_oversize": int(mine["oversize"].sum()),
            "households": int(mine["households"].sum()), "population": int(mine["population"].sum()),
            "max_abs_deviation": float(dev.max()) if len(normal) else 0.0, "share_within_tolerance": within,
            "best_possible_deviation": bound.lower if bound is not None else float("nan"),
            "status": status, "message": "; ".join(notes),
            "by": "+".join(f"{m}×{s:.2f}" if len(measure.shares) > 1 else m for m, s in measure.shares.items()),
        })
        if notes:
            warnings.warn(f"community {row['community_id']!r}: " + "; ".join(notes), GridkitWarning, stacklevel=4)
    return pd.DataFrame(out)
