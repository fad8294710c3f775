"""Regenerate grids after the data changed: keep codes, move few households, report what changed (动态调整).

:func:`regenerate` takes a previous plan (grids and building assignment) and the current
communities, buildings and streets, and returns the smallest change that brings the plan back
inside the rules:

1. every current building is linked to a previous grid: a building listed before stays with its
   grid, a new building joins the previous grid whose area holds it, a demolished one leaves;
2. grids still inside the tolerance (or no further outside it than before) are kept exactly, with
   their geometry and code; the others, with as few neighbours as make a whole number of grids,
   are redrawn (:mod:`gridkit._regen_region`): first by moving boundary atoms from the previous
   labelling, else by partitioning the region afresh; a region that still misses the tolerance is
   widened (twice at most) by the previous grids touching its grids still outside, else by its ring
   of neighbours, taking in any other region they belong to, and the wider plan is kept only if it
   leaves no more grids outside than the regions apart. The number of grids of a community stays unless
   the target's number redraws less (or the mean drifted more than :data:`RECOUNT_BAND` tolerances
   from the target). A community whose boundary changed (or whose previous grids do not tile it) is
   redrawn whole, a new community is partitioned, the grids of a community that is gone are retired;
3. codes: a redrawn grid takes the code of the previous grid it shares most households with (an
   optimal one-to-one matching); a grid left over is a split part and takes the next sequence
   number the community never used; a previous grid left over is merged and its code retired. The
   code register (:mod:`gridkit._regen_codes`) keeps every code ever given, so none comes back.

Churn is the share of households, among the buildings present in both plans, whose grid code
changed (GUIDE §4); new and demolished buildings are counted apart.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from scipy.optimize import linear_sum_assignment

from gridkit import _regen_inputs, _validate
from gridkit._regen_codes import CodeBook, read_register
from gridkit._regen_output import CHANGES, Context, assignment_table, change_report, grids_frame, summarise
from gridkit._regen_region import RegionPlan, Regions, choose_regions, grid_adjacency, redraw_region
from gridkit.atom_partition import INTERIOR_PENALTY, dissolve_grids
from gridkit.blocks import community_of_buildings
from gridkit.crs import local_metric_crs
from gridkit.engine import Measure, Source, building_weight, parse_measure
from gridkit.errors import GridkitError, GridkitWarning
from gridkit.io import read_layer
from gridkit.metrics import deviations
from gridkit.network import street_lines

__all__ = ["CHANGES", "RegenerateResult", "regenerate"]

#: Relative area by which a community may differ from the union of its previous grids and count as unchanged.
BOUNDARY_TOLERANCE = 1e-6
#: The community's mean grid may drift this many tolerances from the target before the count is redone.
RECOUNT_BAND = 2.0
#: How many times a region that cannot be balanced is widened by a ring of neighbouring grids.
MAX_WIDEN = 2


@dataclass
class RegenerateResult:
    """What :func:`regenerate` returns; unpacks as ``grids, assignment = result``.

    Attributes
    ----------
    grids
        The new plan in the previous grids' CRS, with the columns of :func:`gridkit.partition` and
        ``change`` (kept / adjusted / split / merged / new). Kept grids carry their previous geometry.
    assignment
        ``building_id`` → ``grid_id`` for every current building, with ``community_id``,
        ``previous_grid_id`` (empty for a new building) and ``moved``.
    report
        One row per grid code, current or retired: ``grid_id``, ``community_id``, ``change``,
        ``households_before``, ``households_after``, ``moved_in``, ``moved_out``,
        ``buildings_added``, ``buildings_removed``, ``related`` (split from / merged into), ``note``.
    summary
        Totals: ``churn``, households moved and compared, grids per change, repairs made.
    register
        Every code ever given: ``grid_id``, ``community_id``, ``seq``, ``status``, ``note``.
    crs
        The metric CRS the work was done in.
    """

    grids: gpd.GeoDataFrame
    assignment: pd.DataFrame
    report: pd.DataFrame
    summary: dict
    register: pd.DataFrame
    crs: pyproj.CRS

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter((self.grids, self.assignment))


def regenerate(  # noqa: PLR0913 - keyword-only options, as partition
    previous_grids: Source,
    previous_assignment: str | os.PathLike[str] | pd.DataFrame,
    communities: Source,
    buildings: Source,
    streets: Source | None = None,
    *,
    target: float | Mapping[str, float] | None = None,
    tolerance: float = 0.1,
    by: str | Mapping[str, float] = "households",
    seed: int = 0,
    register: str | os.PathLike[str] | pd.DataFrame | None = None,
    columns: Mapping[str, str] | None = None,
    outside: _validate.Outside = "error",
    crs: object = None,
    split_share: float = 0.25,
    interior_penalty: float = INTERIOR_PENALTY,
) -> RegenerateResult:
    """Bring a previous grid plan up to date with the least change (动态调整).

    Parameters
    ----------
    previous_grids
        The previous plan's grids (path or GeoDataFrame, any CRS): ``grid_id``, ``community_id``;
        ``households`` / ``population`` and ``oversize`` are used when present. Never modified.
    previous_assignment
        The previous building → grid table (CSV path or DataFrame): ``building_id``, ``grid_id``.
    communities, buildings, streets
        The current inputs, as for :func:`gridkit.partition.partition`.
    target
        Target per grid in the measure's unit (households, persons or m²); default the communities'
        ``target`` column, else 300 households / 1,000 persons / 10,000 m². For a mix, a mapping per
        measure, as in :func:`gridkit.partition.partition`.
    tolerance
        Two-sided relative tolerance around each community's mean grid (0.1 = ±10 %).
    by
        ``"households"``, ``"population"``, ``"area"`` (m²) or a mapping of them to shares, as in
        :func:`gridkit.partition.partition`. Use the measure the previous plan was balanced by.
        By area alone a change of buildings changes no grid's weight: the plan is kept except where a
        community's boundary changed.
    seed
        Seed of the local search; the result is deterministic for a seed.
    register
        The code register of earlier runs (CSV path or table); default: the previous grids' codes.
    columns
        Input column names of the communities and buildings where they differ from the standard
        ones, as in :func:`gridkit.partition.partition`, e.g. ``{"households": "hh"}``. The previous
        grids and assignment are gridkit's own outputs and keep the standard names.
    outside
        ``"error"`` (default) for buildings outside every community, or ``"report"`` to leave them
        out of the grids and list them in the assignment with an empty ``grid_id`` and status
        ``outside_communities`` (with a warning and ``buildings_outside`` in the summary).
    crs
        Metric CRS to work in; default the UTM zone of the communities' centre (one CRS for the
        whole run, as in :func:`gridkit.partition.partition`).
    split_share, interior_penalty
        As in :func:`gridkit.partition.partition`: a street block heavier than ``split_share`` ×
        target is split into building cells, and a metre of grid boundary through a block costs
        ``interior_penalty`` metres along a street. Use the values the previous plan was made with.

    Returns
    -------
    RegenerateResult
        New grids (previous grids' CRS) with a ``change`` column, assignment, per-grid change
        report, summary (churn) and the code register.
    """
    _validate.fraction("tolerance", tolerance)
    _validate.option("outside", outside)
    measure = parse_measure(by, target)
    if not split_share > 0 or not interior_penalty >= 1:
        raise GridkitError(f"split_share must be positive and interior_penalty at least 1; got {split_share}, "
                           f"{interior_penalty}")
    ctx = _prepare(previous_grids, previous_assignment, communities, buildings, streets, measure=measure,
                   tolerance=tolerance, seed=seed, register=register,
                   columns=_validate.check_column_names(columns, _validate.COLUMN_KEYS), outside=outside,
                   crs=crs)
    ctx.split_share, ctx.interior_penalty = float(split_share), float(interior_penalty)
    for c in range(len(ctx.comm)):
        _community(ctx, c)
    for g in np.flatnonzero(ctx.grid_community < 0):
        code = ctx.prev["grid_id"].iloc[g]
        ctx.book.retire(code, "community no longer exists")
        ctx.notes[code] = "community no longer exists"
        ctx.repairs.append(f"grid {code}: community {ctx.prev['community_id'].iloc[g]!r} is not among the "
                           "communities any more; code retired")
    grids = grids_frame(ctx)
    assignment = assignment_table(ctx)
    n_outside = int((ctx.building_community < 0).sum())
    if n_outside:
        warnings.warn(f"{n_outside} buildings lie outside every community and were left out of the grids; they are "
                      "listed in the assignment with status 'outside_communities'", GridkitWarning, stacklevel=2)
    report = change_report(ctx, grids, assignment)
    summary = summarise(ctx, grids, report, assignment)
    return RegenerateResult(grids=grids, assignment=assignment, report=report, summary=summary,
                            register=ctx.book.table(), crs=ctx.comm.crs)


def _prepare(previous_grids: Source, previous_assignment: str | os.PathLike[str] | pd.DataFrame,
             communities: Source, buildings: Source, streets: Source | None, *, measure: Measure, tolerance: float,
             seed: int, register: str | os.PathLike[str] | pd.DataFrame | None, columns: dict[str, str],
             outside: str, crs: object = None) -> Context:
    comm = _validate.communities(read_layer(communities, label="communities"),
                                 **{f"{k}_col": columns.get(k) for k in ("name", "code", "target")},
                                 id_col=columns.get("community_id"))
    bld = _validate.buildings(read_layer(buildings, label="buildings"),
                              **{f"{k}_col": columns.get(k) for k in ("households", "population", "levels", "use")},
                              id_col=columns.get("building_id"))
    street_layer = _validate.streets(read_layer(streets, label="streets")) if streets is not None else None
    prev = _regen_inputs.previous_grids(read_layer(previous_grids, label="previous grids"))
    links_all = _regen_inputs.previous_assignment(previous_assignment, prev)
    links = links_all[_regen_inputs.check_known_buildings(links_all, bld["building_id"])] if len(links_all) \
        else links_all
    metric = pyproj.CRS.from_user_input(crs) if crs is not None else local_metric_crs(comm)
    comm_m, bld_m = comm.to_crs(metric), bld.to_crs(metric)
    if prev.crs is None:  # a plan without a CRS is taken to be in the communities' CRS
        prev = prev.set_crs(comm.crs)
    prev_m = prev.to_crs(metric).geometry.to_numpy()
    building_community = community_of_buildings(comm_m, bld_m, outside="report")
    _validate.buildings_outside(comm_m, bld, bld_m, building_community, outside=outside)  # type: ignore[arg-type]
    lookup = {str(cid): i for i, cid in enumerate(comm["community_id"])}
    grid_community = np.array([lookup.get(str(c), -1) for c in prev["community_id"]], dtype=np.int64)
    targets = [measure.per_grid_target(t) for t in comm_m["target"].to_numpy(float)]
    unit = building_weight(bld_m, building_community, measure, targets)
    area_weight = np.array([measure.shares.get("area", 0.0) / t.get("area", 1.0) for t in targets])
    holder, listed = _regen_inputs.holders(bld_m, building_community, prev.set_geometry(prev_m, crs=metric),
                                           grid_community, links)
    codes = dict(zip(comm["community_id"], comm["code"], strict=True))
    book = CodeBook(read_register(register), prev, codes)
    return Context(comm=comm_m, bld=bld_m, prev=prev, prev_m=prev_m, prev_crs=prev.crs,
                    lines=street_lines(street_layer, metric), unit=unit, targets=targets, area_weight=area_weight,
                    building_community=building_community, holder=holder, listed=listed,
                    listed_rows=_listed_grid_rows(prev, links, bld_m), links_all=links_all,
                    grid_community=grid_community, measure=measure, tolerance=tolerance, seed=seed, book=book,
                    building_code=np.full(len(bld_m), None, dtype=object))


def _community(ctx: Context, c: int) -> None:
    """Keep, adjust or redraw the grids of community row ``c``."""
    cid = ctx.comm["community_id"].iloc[c]
    polygon = ctx.comm.geometry.iloc[c]
    old = _rows_of(ctx, "grid_community", c)
    members = _rows_of(ctx, "building_community", c)
    whole = float(ctx.unit[members].sum()) + ctx.area_weight[c] * polygon.area  # the community in targets
    if len(old) == 0:
        total = whole
        _redraw(ctx, c, polygon, members, old, count=max(1, round(total)), mean=total / max(1, round(total)))
        return
    union = shapely.union_all(ctx.prev_m[old])
    mismatch = shapely.area(shapely.symmetric_difference(union, polygon)) / max(polygon.area, 1e-9)
    local = np.full(len(ctx.prev), -1, dtype=np.int64)
    local[old] = np.arange(len(old))
    weight = np.bincount(local[ctx.holder[members]], weights=ctx.unit[members], minlength=len(old)) \
        if len(members) else np.zeros(len(old))
    weight = weight + ctx.area_weight[c] * shapely.area(ctx.prev_m[old])
    normal, old_dev = _previous_balance(ctx, old, weight)
    mean = float(weight[normal].sum()) / max(1, int(normal.sum()))
    rebuild = bool(mismatch > BOUNDARY_TOLERANCE)
    if rebuild:
        ctx.repairs.append(f"community {cid!r}: its boundary differs from the union of its previous grids "
                           f"({mismatch:.2e} of its area); redrawn whole")
    old_mean = _old_mean(ctx, c, old, normal)
    recount = bool(abs(mean - 1) > RECOUNT_BAND * ctx.tolerance and abs(mean - 1) > abs(old_mean - 1) + 1e-9)
    if rebuild:
        count = max(1, round(whole))
        _redraw(ctx, c, polygon, members, old, count=count, mean=whole / count)
        return
    adjacency = grid_adjacency(ctx.prev_m[old])
    regions = _least_change(weight, old_dev, normal, adjacency, tolerance=ctx.tolerance, mean=mean,
                            force=_straddled(ctx, old, members), recount=recount)
    after = int(normal.sum()) - sum(map(len, regions.members)) + sum(regions.counts)
    if recount and after != int(normal.sum()):
        ctx.repairs.append(f"community {cid!r}: its mean grid drifted more than {RECOUNT_BAND:g} × tolerance from "
                           f"the target; the number of grids was redone ({int(normal.sum())} → {after})")
    done = _redraw_regions(ctx, c, regions, weight, normal, adjacency, old, members)
    _keep(ctx, old, [g for r in done for g in r[0]])
    for _, plan, region_members, region_old in done:
        _commit(ctx, c, plan, region_members, region_old, mean=regions.mean)


def _rows_of(ctx: Context, name: str, value: int) -> np.ndarray:
    """Positions where ``ctx.<name> == value``, from one groupby per array (not one scan per community or grid)."""
    cache = ctx.index
    if name not in cache:
        values = getattr(ctx, name)
        cache[name] = pd.Series(np.arange(len(values))).groupby(values).indices
    return np.asarray(cache[name].get(value, np.empty(0, dtype=np.int64)), dtype=np.int64)


def _redraw_regions(ctx: Context, c: int, regions: Regions, weight: np.ndarray, normal: np.ndarray,
                    adjacency: sp.csr_matrix, old: np.ndarray, members: np.ndarray) -> list[tuple]:
    """Plan every region; one that cannot be balanced is widened (escalated), :data:`MAX_WIDEN` times at most.

    A region is widened first by the previous grids that touch its grids still outside the tolerance,
    else by its whole ring of neighbouring grids. A neighbour that belongs to another region brings
    that whole region along (the two are redrawn as one): a grid whose excess can only leave towards
    a grid another region holds (a new building in a niche of a large one, whose cell touches only
    that building and the region's edge) is balanced only when both are redrawn together.
    """
    region_of = {int(g): i for i, r in enumerate(regions.members) for g in r}
    plans: dict[int, tuple] = {}
    absorbed: set[int] = set()
    for i, (grids_in, count) in enumerate(zip(regions.members, regions.counts, strict=True)):
        if i in absorbed:
            continue
        current, n = sorted(int(g) for g in grids_in), count
        best, baseline = None, 0
        for attempt in range(MAX_WIDEN + 1):
            region_old = old[np.array(current, dtype=np.int64)]
            region_members = members[np.isin(ctx.holder[members], region_old)]
            plan = _plan(ctx, c, shapely.union_all(ctx.prev_m[region_old]), region_members, region_old, count=n,
                         mean=regions.mean)
            if best is not None and plan.outside > baseline:
                break  # widening made it worse: the smaller region (and the regions it took in) stand
            best = ((current, plan, region_members, region_old), dict(plans), set(absorbed), dict(region_of))
            baseline = plan.outside
            if plan.outside == 0 or attempt == MAX_WIDEN:
                break
            ring = _ring(ctx, old, plan.off_ground(ctx.tolerance), normal, set(current), adjacency)
            if not ring:
                break
            for j in sorted({region_of[g] for g in ring if region_of.get(g, i) != i}):
                # the wider region must do no worse than the two apart (one not drawn yet: its grids now)
                baseline += plans[j][1].outside if j in plans else int(
                    (np.abs(weight[regions.members[j]] / regions.mean - 1) > ctx.tolerance).sum())
                ring |= set(plans.pop(j)[0]) if j in plans else {int(g) for g in regions.members[j]}
                absorbed.add(j)
            region_of.update(dict.fromkeys(ring, i))
            current = sorted(set(current) | ring)
            n = max(1, round(float(weight[current].sum()) / regions.mean))
        chosen, plans, absorbed, region_of = best
        plans[i] = chosen
    return [plans[i] for i in sorted(plans)]


def _ring(ctx: Context, old: np.ndarray, ground: shapely.Geometry, normal: np.ndarray, current: set[int],
          adjacency: sp.csr_matrix) -> set[int]:
    """Previous grids (local numbers) to add to a region: those touching ``ground``, else the region's ring."""
    outside = np.array(sorted(set(np.flatnonzero(normal).tolist()) - current), dtype=np.int64)
    if len(outside) == 0:
        return set()
    geoms = ctx.prev_m[old[outside]]
    if not shapely.is_empty(ground):
        near = shapely.STRtree(geoms).query(ground, predicate="dwithin", distance=0.05)
        shared = shapely.length(shapely.intersection(shapely.boundary(geoms[near]), shapely.buffer(ground, 0.05)))
        touching = {int(g) for g in outside[near[shared > 0.2]]}
        if touching:
            return touching
    members = sorted(current)
    touching = np.flatnonzero(np.asarray(adjacency[members].sum(axis=0)).ravel() > 0)
    return {int(g) for g in touching if normal[g]} - current


def _least_change(weight: np.ndarray, old_dev: np.ndarray, normal: np.ndarray, adjacency: sp.csr_matrix, *,
                  tolerance: float, mean: float, force: np.ndarray, recount: bool) -> Regions:
    """Regions for the present number of grids and for the number the target asks; the one redrawing less wins.

    Ties go to the present number; the weight of the grids redrawn stands for the households that may move.
    With ``recount`` (the mean drifted too far from the target) only the target's number is tried.
    """
    options = [] if recount else [
        choose_regions(weight, old_dev, normal, adjacency, tolerance=tolerance, mean=mean, force=force)]
    total = float(weight[normal].sum())
    count = max(1, round(total))
    if count != int(normal.sum()) or not options:
        options.append(choose_regions(weight, old_dev, normal, adjacency, tolerance=tolerance, mean=total / count,
                                      force=force))

    def redrawn(r: Regions) -> tuple[float, float]:
        moved = float(sum(weight[g].sum() for g in r.members))
        return moved, abs(r.mean - 1)

    return min(options, key=redrawn)


def _straddled(ctx: Context, old: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Per previous grid of ``old``: a new building it holds reaches into another grid (a building is never split)."""
    force = np.zeros(len(old), dtype=bool)
    held = members[(ctx.holder[members] >= 0) & ~ctx.listed[members]]  # new buildings: the old ones were placed
    footprints = ctx.bld.geometry.to_numpy()[held]
    polygons = shapely.get_type_id(footprints) != shapely.GeometryType.POINT
    held, footprints = held[polygons], footprints[polygons]
    if len(held) == 0:
        return force
    outside = shapely.area(shapely.difference(footprints, ctx.prev_m[ctx.holder[held]]))
    crossing = outside > 1e-6 * np.maximum(shapely.area(footprints), 1e-9)
    if not crossing.any():
        return force
    local = np.full(len(ctx.prev), -1, dtype=np.int64)
    local[old] = np.arange(len(old))
    force[local[ctx.holder[held[crossing]]]] = True
    tree = shapely.STRtree(ctx.prev_m[old])
    _, hit = tree.query(footprints[crossing], predicate="intersects")
    force[hit] = True
    return force


def _previous_balance(ctx: Context, old: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per previous grid: not oversize (now), and its deviation in the previous plan."""
    prev = ctx.prev.iloc[old]
    flagged = prev["oversize"].fillna(value=False).to_numpy(bool) if "oversize" in prev.columns \
        else np.zeros(len(old), dtype=bool)
    estimate = weight[~flagged].sum() / max(1, int((~flagged).sum()))
    normal = ~(flagged & (weight > (1 + ctx.tolerance) * estimate))
    before = _previous_weight(ctx, old)
    old_dev = deviations(before, ~normal) if before is not None else np.zeros(len(old))
    return normal, old_dev


def _previous_weight(ctx: Context, old: np.ndarray) -> np.ndarray | None:
    """Weight of the previous grids ``old`` in the previous plan (one target = 1); None when not recorded.

    Households and population come from the previous grids' columns, area from their geometry.
    """
    if len(old) == 0:
        return None
    prev = ctx.prev.iloc[old]
    c = int(ctx.grid_community[old[0]])
    total = np.zeros(len(old))
    for name, share in ctx.measure.shares.items():
        if name == "area":
            total += share * shapely.area(ctx.prev_m[old]) / ctx.targets[c]["area"]
        elif name in prev.columns:
            total += share * pd.to_numeric(prev[name], errors="coerce").fillna(0).to_numpy(float) / ctx.targets[c][name]
        else:
            return None
    return total


def _old_mean(ctx: Context, c: int, old: np.ndarray, normal: np.ndarray) -> float:
    """Mean previous grid of community row ``c`` against its target (1.0 = on target); 1.0 when unknown."""
    before = _previous_weight(ctx, old)
    if before is None or not normal.any():
        return 1.0
    return float(before[normal].mean())


def _keep(ctx: Context, old: np.ndarray, redrawn_local: list[int]) -> None:
    """Keep the previous grids no region takes: same geometry, same code."""
    redrawn = set(old[np.array(redrawn_local, dtype=np.int64)].tolist())
    for g in old:
        if int(g) in redrawn:
            continue
        code = ctx.prev["grid_id"].iloc[g]
        mine = _rows_of(ctx, "holder", int(g))
        ctx.building_code[mine] = code
        ctx.new_grids.append({"grid_id": code, "community_row": int(ctx.grid_community[g]), "change": "kept",
                              "metric": ctx.prev_m[g], "original": ctx.prev.geometry.iloc[g], "previous_row": int(g),
                              "oversize": _was_oversize(ctx, g), "related": ""})


def _was_oversize(ctx: Context, g: int) -> bool:
    if "oversize" not in ctx.prev.columns:
        return False
    value = ctx.prev["oversize"].iloc[g]
    return bool(value) if not pd.isna(value) else False


def _redraw(ctx: Context, c: int, polygon: shapely.Geometry, members: np.ndarray, old: np.ndarray, *, count: int,
            mean: float) -> None:
    """Partition ``polygon`` into ``count`` grids and give them codes against the previous grids ``old``."""
    _commit(ctx, c, _plan(ctx, c, polygon, members, old, count=count, mean=mean), members, old, mean=mean)


def _plan(ctx: Context, c: int, polygon: shapely.Geometry, members: np.ndarray, old: np.ndarray, *, count: int,
          mean: float) -> RegionPlan:
    local = np.full(len(ctx.prev), -1, dtype=np.int64)
    local[old] = np.arange(len(old))
    previous = np.where(ctx.holder[members] >= 0, local[np.maximum(ctx.holder[members], 0)], -1)
    return redraw_region(polygon, ctx.bld.iloc[members], ctx.unit[members], previous, ctx.prev_m[old], ctx.lines,
                         count=count, mean=mean if mean > 0 else 1.0, tolerance=ctx.tolerance,
                         seed=ctx.seed + ctx.regions, area_weight=float(ctx.area_weight[c]),
                         split_share=ctx.split_share, interior_penalty=ctx.interior_penalty)


def _commit(ctx: Context, c: int, plan: RegionPlan, members: np.ndarray, old: np.ndarray, *, mean: float) -> None:
    """Dissolve a redrawn region into grids, give them codes and assign its buildings."""
    ctx.regions += 1
    grids = dissolve_grids(plan.atoms, plan.labels)
    label_of_building = plan.labels[plan.building_atom]
    atoms_per_grid = np.bincount(plan.labels, minlength=len(grids))
    weight = (np.bincount(label_of_building, weights=ctx.unit[members], minlength=len(grids))
              + ctx.area_weight[c] * shapely.area(grids.geometry.to_numpy())) / (mean or 1.0)
    oversize = (atoms_per_grid == 1) & (weight > 1 + ctx.tolerance)
    continuing = ctx.listed[members]
    overlap = _overlap(ctx, members, label_of_building, continuing, grids.geometry.to_numpy(), old)
    codes, changes, related = _codes(ctx, c, overlap, old)
    for j in range(len(grids)):
        geom = grids.geometry.iloc[j]
        change, original = changes[j], None
        if change == "adjusted":
            original = _same_grid(ctx, old, overlap, j, geom, members, label_of_building)
            if original is not None:
                change = "kept"
        ctx.new_grids.append({"grid_id": codes[j], "community_row": c, "change": change, "metric": geom,
                              "original": original, "previous_row": -1, "oversize": bool(oversize[j]),
                              "related": related[j]})
    ctx.building_code[members] = np.array(codes, dtype=object)[label_of_building]


def _overlap(ctx: Context, members: np.ndarray, label: np.ndarray, continuing: np.ndarray, geoms: np.ndarray,
             old: np.ndarray) -> np.ndarray:
    """Households (plus a little for buildings and area) each new grid shares with each previous grid."""
    n_new, n_old = len(geoms), len(old)
    out = np.zeros((n_new, n_old))
    if n_old == 0:
        return out
    local = np.full(len(ctx.prev), -1, dtype=np.int64)
    local[old] = np.arange(n_old)
    listed_grid = ctx.listed_rows[members]
    use = continuing & (listed_grid >= 0) & (local[np.maximum(listed_grid, 0)] >= 0)
    hh = ctx.bld["households"].to_numpy(float)[members]
    np.add.at(out, (label[use], local[listed_grid[use]]), hh[use] + 1e-3)
    tree = shapely.STRtree(ctx.prev_m[old])
    a, b = tree.query(geoms, predicate="intersects")
    area = shapely.area(shapely.intersection(geoms[a], ctx.prev_m[old][b]))
    np.add.at(out, (a, b), 1e-9 * area)
    return out


def _listed_grid_rows(prev: gpd.GeoDataFrame, links: pd.DataFrame, bld: gpd.GeoDataFrame) -> np.ndarray:
    """Row of the previous grid each building was listed in (-1 for new buildings)."""
    row_of = pd.Series(np.arange(len(prev)), index=prev["grid_id"].to_numpy())
    previous = pd.Series(links["grid_id"].to_numpy(), index=links["building_id"].to_numpy())
    code = previous.reindex(bld["building_id"].astype(str).to_numpy())
    rows = row_of.reindex(code.to_numpy()).to_numpy()
    return np.where(pd.isna(rows), -1, rows).astype(np.int64)


def _codes(ctx: Context, c: int, overlap: np.ndarray, old: np.ndarray) -> tuple[list[str], list[str], list[str]]:
    """Codes and change kinds of the new grids of a region; retires the previous grids left over."""
    n_new, n_old = overlap.shape
    cid = ctx.comm["community_id"].iloc[c]
    old_codes = [ctx.prev["grid_id"].iloc[g] for g in old]
    rows, cols = linear_sum_assignment(overlap, maximize=True) if n_old and n_new else (np.empty(0, int),) * 2
    matched = {int(r): int(k) for r, k in zip(rows, cols, strict=True) if overlap[r, k] > 0}
    _larger_part_keeps(matched, overlap)
    codes, changes, related = [""] * n_new, ["new"] * n_new, [""] * n_new
    for j, i in matched.items():
        codes[j], changes[j] = old_codes[i], "adjusted"
    taken = set(matched.values())
    for j in range(n_new):
        if j in matched:
            continue
        source = int(np.argmax(overlap[j])) if n_old and overlap[j].max() > 0 else -1
        note = f"split from {old_codes[source]}" if source >= 0 else "new"
        codes[j], _ = ctx.book.new_code(cid, note)
        if source >= 0:
            changes[j], related[j] = "split", f"split from {old_codes[source]}"
            parent = next((r for r, k in matched.items() if k == source), None)
            if parent is not None:
                changes[parent] = "split"
                related[parent] = (related[parent] + "; " if related[parent] else "") + f"split into {codes[j]}"
    for i in range(n_old):
        if i in taken:
            continue
        into = int(np.argmax(overlap[:, i])) if n_new and overlap[:, i].max() > 0 else -1
        target = codes[into] if into >= 0 else ""
        note = f"merged into {target}" if target else "no households or area left"
        ctx.book.retire(old_codes[i], note)
        ctx.notes[old_codes[i]] = note
        if into >= 0:
            changes[into] = "merged"
            related[into] = (related[into] + "; " if related[into] else "") + f"took in {old_codes[i]}"
    return codes, changes, related


def _larger_part_keeps(matched: dict[int, int], overlap: np.ndarray) -> None:
    """Where a previous grid is split, its code goes to the part holding most of its households."""
    for j in range(overlap.shape[0]):
        if j in matched or overlap.shape[1] == 0 or overlap[j].max() <= 0:
            continue
        source = int(np.argmax(overlap[j]))
        holder = next((r for r, k in matched.items() if k == source), None)
        if holder is not None and overlap[j, source] > overlap[holder, source]:
            del matched[holder]
            matched[j] = source


def _same_grid(ctx: Context, old: np.ndarray, overlap: np.ndarray, j: int, geom: shapely.Geometry,
               members: np.ndarray, label: np.ndarray) -> shapely.Geometry | None:
    """The previous geometry of new grid ``j`` if it holds the same buildings on the same ground."""
    i = int(np.argmax(overlap[j]))
    g = old[i]
    previous = ctx.prev_m[g]
    if shapely.area(shapely.symmetric_difference(previous, geom)) > 1e-7 * max(previous.area, 1e-9):
        return None
    if not np.array_equal(np.sort(members[label == j]), _rows_of(ctx, "holder", int(g))):
        return None
    return ctx.prev.geometry.iloc[g]
